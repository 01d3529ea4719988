"""Make the committed R deSolve reference of the simulation model.

Runs ``benchmarks/r/sim_desolve.R`` (the model written independently in R, solved with
deSolve's ``lsoda`` at rtol 1e-10) on two virtual patients -- a venetoclax + Flu/Cy +
CLL1 CAR-T course and a venetoclax + blinatumomab (9 -> 28 ug/day) course, 49 days each
-- and writes their parameters, schedules and R's 19 states on every day to
``tests/data/sim_desolve_reference.json``. ``tests/test_sim_desolve.py`` checks remission's
solver against these numbers without R, and against R run live when it is installed.

Usage: ``PYTHONPATH=src python benchmarks/sim_desolve_reference.py``
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
OUT = HERE.parent / "tests" / "data" / "sim_desolve_reference.json"
RTOL = 1e-10


def cases() -> list[dict]:
    """The two patients: parameters (remission's names) and daily schedules."""
    from remission.sim.params import typical
    from remission.sim.population import build_patients
    from remission.sim.solver import Schedule

    out = []
    for kind, product, antigen, pid in (("cart", "car_t", "CLL1", 3), ("blin", "none", "CD19", 5)):
        _, p = build_patients(7, np.array([pid]), {}, typical(), product, antigen)
        s = Schedule.empty(-13, 35)

        def i(d: int, s: Schedule = s) -> int:
            return d - s.first_day

        if kind == "cart":
            for d in range(-12, -5):
                s.ven_mg[i(d)] = 400.0
            for d in (-5, -4, -3):
                s.fc_units[i(d)] = 1.0
            s.car_per_kg[i(0)] = 1.0e6
        else:
            for d in range(-7, 0):
                s.ven_mg[i(d)] = 400.0
            for d in range(0, 28):
                s.blin_ug_day[i(d)] = 9.0 if d < 7 else 28.0
        out.append({"name": kind, "params": {k: float(np.asarray(v)[0]) for k, v in p.items()},
                    "schedule": {"day": s.days.tolist(), "ven_mg": s.ven_mg.tolist(),
                                 "fc_units": s.fc_units.tolist(),
                                 "car_per_kg": s.car_per_kg.tolist(),
                                 "car_cells": s.car_cells.tolist(),
                                 "blin_ug_day": s.blin_ug_day.tolist()}})
    return out


def run_r(case: dict, rtol: float, tmp: Path) -> np.ndarray:
    """R deSolve's states (days x 19) for one case."""
    import pandas as pd

    pd.DataFrame({k: [v] for k, v in case["params"].items()}).to_csv(
        tmp / "params.csv", index=False, float_format="%.17g")
    pd.DataFrame(case["schedule"]).to_csv(tmp / "schedule.csv", index=False,
                                          float_format="%.17g")
    spec = tmp / "spec.json"
    spec.write_text(json.dumps({"params_csv": str(tmp / "params.csv"),
                                "schedule_csv": str(tmp / "schedule.csv"), "n_r": 1,
                                "n_acc": 1, "method": "lsoda", "rtol": rtol,
                                "atol": 1e-14}))
    proc = subprocess.run(["Rscript", "--vanilla", str(HERE / "r" / "sim_desolve.R"),
                           str(spec), str(tmp / "out.json")], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"sim_desolve.R failed: {proc.stderr[-2000:]}")
    return np.asarray(json.loads((tmp / "out.json").read_text())["output"]["states"][0], float)


def main() -> int:
    version = subprocess.run(
        ["Rscript", "--vanilla", "-e", 'cat(R.version.string, "; deSolve ", '
         'as.character(packageVersion("deSolve")), sep = "")'],
        check=True, capture_output=True, text=True).stdout.strip()
    res = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases():
            res.append({**case, "states": run_r(case, RTOL, Path(tmp)).tolist()})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "made_by": "PYTHONPATH=src python benchmarks/sim_desolve_reference.py "
                   "(benchmarks/r/sim_desolve.R, lsoda)",
        "r": version, "rtol": RTOL, "atol": 1e-14,
        "date": dt.date.today().isoformat(),
        "states": "19 disease states at the start of every day, before its doses",
        "cases": res}, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
