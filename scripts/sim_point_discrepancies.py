"""Where the shipped point parameters miss seeds 002 and 000, and why (docs/simulation.md).

Simulates, with the shipped parameters (the ABC posterior medians):

* seed 002 (CLL-1 CAR-T, three dose groups), 100 trials' worth of virtual patients
  (stream 2, the check's stream), with observations: the day-14 response categories as
  the ELN 2022 engine derives them; how many non-responders have a *marrow* partial
  response (blasts 5-25 % and >= 50 % below baseline) that ELN 2022 does not call PR
  because its PR needs CR counts (ANC >= 1.0, platelets >= 100) during CLL-1 aplasia;
  the antigen density of non-responders; the CAR peak day (true and on the sampling
  days) of responders and non-responders;
* seed 000 (VEN lead-in vs none), 600 patients per arm (stream 1): CR/PR by arm, the
  paired effect (common random numbers: patient i is the same person in both arms),
  and what the non-responders look like.

Run (about 1 min on one core):
    PYTHONPATH=src nice -n 10 .venv/bin/python scripts/sim_point_discrepancies.py
"""

from __future__ import annotations

import pandas as pd

from remission.sim.calibrate import RESPONDERS, calibration_design
from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.trial import run_trial


def _share(s: pd.Series) -> dict[float, float]:
    return s.value_counts(normalize=True).sort_index().round(3).to_dict()


def seed002() -> None:
    d = calibration_design(load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"))
    res = run_trial(d, n=400, seed=2, workers=0, observations=True)
    pts = res.patients.set_index("patient_id")
    obs = res.observations
    mb = obs[(obs["variable"] == "marrow_blasts") & (obs["day"] == 14)]
    pts["marrow_d14"] = mb.set_index("patient_id")["value"].astype(float)
    resp = pts["response_at_day"].isin(RESPONDERS)
    nr = pts[pts["response_at_day"] == "NR"]
    marrow_pr = ((nr["marrow_d14"] >= 5) & (nr["marrow_d14"] <= 25)
                 & (nr["marrow_d14"] <= 0.5 * nr["baseline_burden_pct"]))
    print(f"seed 002: {len(pts)} virtual patients (stream 2)")
    print("  day-14 response:", _share(pts["response_at_day"]))
    print(f"  CR+PR {resp.mean():.3f}; NR {len(nr) / len(pts):.3f}, of whom marrow PR "
          f"{marrow_pr.mean():.3f} (= {marrow_pr.sum() / len(pts):.3f} of all); "
          f"CR+PR counting marrow PR {(resp.sum() + marrow_pr.sum()) / len(pts):.3f}")
    print(f"  grade 4 neutropenia {(pts['neutropenia_grade'] >= 4).mean():.3f}")
    print(f"  antigen density median: NR {nr['antigen_density_patient'].median():.2f}, "
          f"all {pts['antigen_density_patient'].median():.2f}")
    print(f"  true CAR peak day: median {pts['car_peak_day'].median():.1f}, quartiles "
          f"{pts['car_peak_day'].quantile(0.25):.1f}-{pts['car_peak_day'].quantile(0.75):.1f}")
    print("  sampled peak day, all:", _share(pts["car_peak_day_sampled"]))
    print("  sampled peak day, responders:", _share(pts.loc[resp, "car_peak_day_sampled"]))
    print("  sampled peak day, NR:", _share(nr["car_peak_day_sampled"]))


def seed000() -> None:
    d = load_design(DESIGN_DIR / "seed000_ven_leadin_cll1_cart.toml")
    pts = run_trial(d, n=600, seed=1, workers=0, observations=False).patients
    print(f"seed 000: {len(pts)} virtual patients (stream 1)")
    r = {}
    for arm, g in pts.groupby("arm"):
        ok = g["best_response"].isin(RESPONDERS)
        r[arm] = ok.set_axis(g["patient_id"].str.rsplit("-", n=1).str[1])
        nr = g[~ok]
        print(f"  {arm}: CR/PR {ok.mean():.3f}; non-responders' antigen density median "
              f"{nr['antigen_density_patient'].median():.2f} (all "
              f"{g['antigen_density_patient'].median():.2f}); baseline blasts median "
              f"{g['baseline_burden_pct'].median():.1f} %; death by day 28 "
              f"{(g['death_day'] <= 28).mean():.3f}")
    v, n = r["VEN"], r["noVEN"]
    print(f"  difference {v.mean() - n.mean():.3f}; paired: respond only with VEN "
          f"{(v & ~n).mean():.3f}, only without {(~v & n).mean():.3f}")


if __name__ == "__main__":
    seed002()
    seed000()
