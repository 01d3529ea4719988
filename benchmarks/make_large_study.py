"""Generate a large SYNTHETIC study folder (deterministic) for the report benchmark.

Usage: python benchmarks/make_large_study.py OUT_DIR [--n 10000] [--seed 1]
Shaped like the CLL-1 example (three dose groups, recorded responses and grades, an AE
summary), with per-patient adverse events so the AE table is computed from records.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

TERMS = [("Anemia", 1, 5), ("Neutrophil count decreased", 1, 4), ("Platelet count decreased", 1, 4),
         ("Fatigue", 1, 3), ("Hypotension", 1, 5), ("Hypoxia", 2, 5), ("Fever", 1, 3)]


def make(out: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    dose = rng.choice([5e5, 1e6, 1.5e6], size=n)
    resp = rng.choice(["MRD-CR", "MRD+CR", "PR", "NR"], p=[0.55, 0.2, 0.15, 0.1], size=n)
    tx = rng.random(n) < 0.6
    p = pd.DataFrame({
        "patient_id": [f"S{i:06d}" for i in range(1, n + 1)],
        "age": rng.integers(1, 80, n),
        "sex": rng.choice(["M", "F"], n),
        "prior_lines": rng.integers(1, 10, n),
        "baseline_burden_pct": np.round(rng.uniform(1, 90, n), 2),
        "cll1_positivity_pct": np.round(rng.uniform(80, 100, n), 1),
        "cart_dose_per_kg": dose,
        "cns_leukemia": rng.choice(["Yes", "No"], p=[0.1, 0.9], size=n),
        "extramedullary": rng.choice(["Yes", "No"], p=[0.15, 0.85], size=n),
        "transduction_pct": np.round(rng.uniform(5, 70, n), 2),
        "best_response": resp,
        "crs_grade": rng.choice([0, 1, 2, 3, 4], p=[0.05, 0.3, 0.35, 0.25, 0.05], size=n),
        "cres_grade": rng.choice([0, 1, 2, 3, 4], p=[0.75, 0.12, 0.06, 0.05, 0.02], size=n),
        "therapy_after_cart": np.where(tx, "Haplo-HSCT", "No"),
        "neutrophil_engraftment_day": np.where(tx, rng.integers(10, 25, n), -1),
    })
    p["neutrophil_engraftment_day"] = p["neutrophil_engraftment_day"].astype(object).where(tx, "")
    p.to_csv(out / "patients.csv", index=False)
    rows = []
    for term, lo, hi in TERMS:
        has = rng.random(n) < 0.6
        grades = rng.integers(lo, hi, n)  # hi exclusive: no grade 5 deaths in the synthetic AEs
        rows.append(pd.DataFrame({"patient_id": p["patient_id"][has], "term": term,
                                  "grade": grades[has], "onset_day": rng.integers(0, 28, n)[has]}))
    pd.concat(rows).to_csv(out / "adverse_events.csv", index=False)
    (out / "study.toml").write_text(
        'format = 1\n\n[study]\nname = "SYNTHETIC benchmark study"\ndisease = "AML"\n'
        'products = ["CLL-1 CAR-T"]\nday0 = "CAR-T infusion"\nsynthetic = true\n\n'
        '[cohorts]\nlabel = "Dose group"\ncolumn = "cart_dose_per_kg"\nordered = true\n'
        'levels = [{ name = "A", value = 5e5 }, { name = "B", value = 1e6 },'
        ' { name = "C", value = 1.5e6 }]\n\n'
        '[criteria]\nresponse = "as_recorded"\ncrs = "lee2014"\n'
        'neurotoxicity = "cres_cartox2018"\n\n[response]\nresponders = ["MRD-CR", "MRD+CR", "PR"]\n'
        'complete = ["MRD-CR", "MRD+CR"]\nmrd_negative = ["MRD-CR"]\n')
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    print(make(a.out, a.n, a.seed))
