"""Who does not respond in seed 000 at the shipped values (docs/simulation.md, session 8).

200 virtual patients per arm of the seed-000 design (follow-up cut at the calibration
horizon, 42 days), random stream 12; CR/PR (best response as the ELN 2022 engine
derives it) by arm within quarters of the patient's relative CLL-1 density and within
bands of the CLL-1-positive share of blasts.

Run (about 30 s):
    PYTHONPATH=src nice -n 10 python benchmarks/sim_abc/seed000_nonresponders.py
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from remission.sim.calibrate import RESPONDERS, S000, calibration_design
from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.trial import run_trial


def main() -> int:
    d = calibration_design(load_design(DESIGN_DIR / S000))
    d = dataclasses.replace(d, arms=tuple(dataclasses.replace(a, n=200) for a in d.arms))
    p = run_trial(d, seed=12, workers=0, observations=False).patients
    p["resp"] = p["best_response"].isin(RESPONDERS)
    print("CR/PR by arm:", p.groupby("arm")["resp"].mean().round(3).to_dict())
    p["density quarter"] = pd.qcut(p["antigen_density_patient"], 4)
    p["CLL1+ % of blasts"] = pd.cut(p["cll1_positivity_pct"], [0, 30, 60, 80, 90, 100])
    for col in ("density quarter", "CLL1+ % of blasts"):
        t = p.groupby([col, "arm"], observed=True)["resp"].agg(["mean", "size"])
        print(t.unstack("arm").round(3).to_string(), "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
