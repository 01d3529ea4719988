"""Write the SYNTHETIC lab example folder examples/synthetic-lab/ (deterministic).

Simulates the in-vitro arm of a CLL1-knock-down study (seed 000): venetoclax 8-point
dose-response in triplicate (shCtrl vs shCLL1), qPCR with two reference genes, annexin V/PI
at 48 h, a 6 x 6 venetoclax x CAR-T effector:target killing matrix and a ~2,000-gene x
6-sample count matrix. Every number is generated here from stated parameters: NOT data.

Run: .venv/bin/python scripts/make_synthetic_lab.py [--out examples/synthetic-lab]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from remission.lab.enrichment import builtin_genesets

SEED = 20261123
GROUPS = ("shCtrl", "shCLL1")
VEN_NM = 1000.0 / 3.0 ** np.arange(8)  # 1000 nM, 3-fold, 8 points


def _hill(x, top, bottom, ic50, h):
    x = np.asarray(x, float)
    with np.errstate(divide="ignore"):
        r = np.where(x > 0, (x / ic50) ** h, 0.0)
    return bottom + (top - bottom) / (1 + r)


def dose_response(rng) -> pd.DataFrame:
    truth = {"shCtrl": (100, 8, 180.0, 1.1), "shCLL1": (100, 5, 45.0, 1.2)}
    rows, k = [], 0
    for grp in GROUPS:
        for dose in [0.0, *sorted(VEN_NM)]:
            for rep in range(1, 4):
                y = _hill(dose, *truth[grp]) + rng.normal(0, 3.5)
                well = f"{'ABCDEFGH'[k // 12]}{k % 12 + 1:02d}"
                k += 1
                rows.append({"plate": "P1", "well": well, "group": grp, "drug": "venetoclax",
                             "dose": round(float(dose), 4), "dose_unit": "nM",
                             "replicate": rep, "response": round(float(y), 2)})
    return pd.DataFrame(rows)


def qpcr_table(rng) -> pd.DataFrame:
    base = {"CLEC12A": 23.5, "MCL1": 21.8, "GAPDH": 17.2, "ACTB": 16.4}
    shift = {"CLEC12A": 2.3, "MCL1": 0.8, "GAPDH": 0.0, "ACTB": 0.0}
    rows = []
    for grp in GROUPS:
        for b in range(1, 4):
            bio = rng.normal(0, 0.25)
            for gene, ct in base.items():
                mu = ct + bio + (shift[gene] if grp == "shCLL1" else 0.0) + rng.normal(0, 0.15)
                for r in range(1, 4):
                    rows.append({"sample": f"{grp}-{b}", "group": grp, "gene": gene,
                                 "replicate": r, "ct": round(float(mu + rng.normal(0, 0.07)),
                                                             3)})
    return pd.DataFrame(rows)


def flow(rng) -> pd.DataFrame:
    rows = []
    p_apo = {("shCtrl", 0): 0.07, ("shCtrl", 100): 0.22, ("shCLL1", 0): 0.09,
             ("shCLL1", 100): 0.41}
    for grp in GROUPS:
        for dose in (0, 100):
            for b in range(1, 4):
                p = float(np.clip(p_apo[(grp, dose)] + rng.normal(0, 0.025), 0.01, 0.95))
                tot = int(rng.integers(9000, 11000))
                early = int(rng.binomial(tot, p * 0.55))
                late = int(rng.binomial(tot, p * 0.45))
                nec = int(rng.binomial(tot, 0.015))
                rows.append({"sample": f"{grp}-VEN{dose}-{b}", "group": grp,
                             "drug": "venetoclax", "dose": dose, "time_h": 48,
                             "q_viable": tot - early - late - nec, "q_early": early,
                             "q_late": late, "q_necrotic": nec})
    return pd.DataFrame(rows)


def synergy_matrix(rng) -> pd.DataFrame:
    ven = np.array([0, 10, 30, 100, 300, 1000.0])
    et = np.array([0, 0.25, 0.5, 1, 2, 4.0])
    y_ven = 100 - _hill(ven, 100, 0, 400.0, 1.0)  # % kill by venetoclax alone
    y_et = 100 - _hill(et, 100, 0, 1.5, 1.4)  # % specific lysis by CAR-T alone
    rows = []
    for i, a in enumerate(ven):
        for j, b in enumerate(et):
            bliss = y_ven[i] + y_et[j] - y_ven[i] * y_et[j] / 100
            bonus = 12 * (i > 0) * (j > 0) * (1 - bliss / 100)  # mild synergy built in
            for r in range(1, 4):
                y = np.clip(bliss + bonus + rng.normal(0, 3), -5, 105)
                rows.append({"drug_row": "venetoclax (nM)", "dose_row": a,
                             "drug_col": "CLL1 CAR-T (E:T)", "dose_col": b, "replicate": r,
                             "response": round(float(y), 2)})
    return pd.DataFrame(rows)


def counts(rng, n_genes: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    curated = sorted({g for _, genes in builtin_genesets().values() for g in genes})
    names = curated + [f"SYNG{i:05d}" for i in range(n_genes - len(curated))]
    mu = rng.lognormal(5.0, 1.6, n_genes)
    lfc = np.zeros(n_genes)
    de = rng.choice(np.arange(len(curated), n_genes), 120, replace=False)
    lfc[de] = rng.normal(0, 1.8, de.size)
    effects = {"CLEC12A": -3.0, "MCL1": -1.3, "BCL2A1": -1.0, "BCL2L1": -0.2, "BCL2": 0.3}
    for g, v in effects.items():
        lfc[names.index(g)] = v
        mu[names.index(g)] = max(mu[names.index(g)], 1500.0)
    disp = 0.02 + 2.0 / np.sqrt(mu)
    samples = [f"{g}-{i}" for g in GROUPS for i in range(1, 4)]
    sf = np.exp(rng.normal(0, 0.15, 6))
    mat = np.empty((n_genes, 6), dtype=int)
    for j, s in enumerate(samples):
        m = mu * sf[j] * (2.0 ** lfc if s.startswith("shCLL1") else 1.0)
        n = 1.0 / disp
        mat[:, j] = rng.negative_binomial(n, n / (n + m))
    cts = pd.DataFrame(mat, columns=samples)
    cts.insert(0, "gene", names)
    sheet = pd.DataFrame({"sample": samples, "group": [s.split("-")[0] for s in samples]})
    return cts, sheet


LAB_TOML = """# SYNTHETIC example from scripts/make_synthetic_lab.py -- not experimental data
[lab]
name = "SYNTHETIC CLL1 knock-down x venetoclax (in vitro)"
synthetic = true
control_group = "shCtrl"

[doseresponse]
model = "LL.4"
reference = "shCtrl"
absolute_level = 50             # responses are % of vehicle: also report absolute IC50

[qpcr]
reference_genes = ["GAPDH", "ACTB"]
sd_threshold = 0.3

[apoptosis]
control_group = "shCtrl"

[synergy]
response_type = "inhibition"
n_boot = 100
seed = 20261123

[rnaseq]
control_group = "shCtrl"
treatment_group = "shCLL1"
alpha = 0.05
lfc_threshold = 1.0
highlight = ["MCL1", "BCL2", "BCL2L1", "CLEC12A"]
"""

README = """# SYNTHETIC lab example

Everything in this folder is **synthetic**, generated by `scripts/make_synthetic_lab.py`
(seed 20261123) from parameters written in that script; it is not experimental data.
It mirrors the in-vitro design of a CLL1-knock-down venetoclax study (shCtrl vs shCLL1):

- `doseresponse.csv`: venetoclax 8-point 3-fold dilution (0.46-1000 nM) + vehicle, triplicate
- `qpcr.csv`: CLEC12A and MCL1 vs GAPDH and ACTB, 3 biological x 3 technical replicates
- `apoptosis.csv`: annexin V/PI quadrant counts at 48 h, vehicle and 100 nM venetoclax
- `synergy.csv`: 6 x 6 venetoclax x CLL1 CAR-T effector:target matrix, triplicate
- `rnaseq_counts.csv`, `rnaseq_samples.csv`: 2,000 genes x 6 samples (3 vs 3)

Analyse with `remission lab report examples/synthetic-lab` or
`remission.lab.analyse_folder("examples/synthetic-lab")`. Formats: docs/lab-formats.md.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "examples"
                                          / "synthetic-lab"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    dose_response(rng).to_csv(out / "doseresponse.csv", index=False)
    qpcr_table(rng).to_csv(out / "qpcr.csv", index=False)
    flow(rng).to_csv(out / "apoptosis.csv", index=False)
    synergy_matrix(rng).to_csv(out / "synergy.csv", index=False)
    cts, sheet = counts(rng)
    cts.to_csv(out / "rnaseq_counts.csv", index=False)
    sheet.to_csv(out / "rnaseq_samples.csv", index=False)
    (out / "lab.toml").write_text(LAB_TOML, encoding="utf-8")
    (out / "README.md").write_text(README, encoding="utf-8")
    print(f"wrote SYNTHETIC lab example to {out}")


if __name__ == "__main__":
    main()
