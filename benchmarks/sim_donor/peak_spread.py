"""What sets the spread of seed 002's CAR peak day (docs/simulation.md, "Donor-derived
CAR-T").

Seed 002 (Zhang 2025) published a median peak on day 9, all 12 peaks within days 7-11.
For each case, 40 virtual trials of seed 002 at the published size on SCREENING stream
6 (not the judged check stream 2): the share of peaks on each sampling day (3, 7, 9,
11, 14, 21, 28), the true (daily) peak day's median, and the median antigen density,
baseline burden and response of the patients whose sampled peak is early (day 3),
within days 7-11, or late (day 14 or later).

Run (about 1 min niced):
    PYTHONPATH=src nice -n 10 python benchmarks/sim_donor/peak_spread.py \
        > benchmarks/sim_donor/peak_spread.txt
"""

from __future__ import annotations

import pandas as pd

from remission.sim.calibrate import COMPLETE, S002, calibration_design, simulate_replicates
from remission.sim.design import DESIGN_DIR, load_design

CASES = {
    "shipped (car_allo_recognition 0)": {},
    "allo 0.3": {"car_allo_recognition": 0.3},
    "allo 0.3, car_expansion 0.8": {"car_allo_recognition": 0.3, "car_expansion": 0.8},
    "allo 0.3, ld_car_boost 0": {"car_allo_recognition": 0.3, "ld_car_boost": 0.0},
    "allo 0.3, car_memory_reactivation 0.1": {"car_allo_recognition": 0.3,
                                              "car_memory_reactivation": 0.1},
    "allo 0.3, car_resting_fraction 0.9": {"car_allo_recognition": 0.3,
                                           "car_resting_fraction": 0.9},
    "screened candidate (not shipped)": {
        "car_allo_recognition": 0.3, "car_neg_kill_fraction": 0.2, "car_expansion": 0.8,
        "il6_car": 60.0, "car_resting_fraction": 0.85, "car_memory_reactivation": 0.15},
}


def main() -> int:
    d = calibration_design(load_design(DESIGN_DIR / S002))
    pd.set_option("display.width", 200)
    rows, groups = [], []
    for name, over in CASES.items():
        pts = simulate_replicates(d, 40, seed=6, overrides=over)
        day = pts["car_peak_day_sampled"]
        share = day.value_counts(normalize=True).reindex([3, 7, 9, 11, 14, 21, 28],
                                                         fill_value=0.0)
        rows.append({"case": name, **{f"d{int(k)}": round(v, 3) for k, v in share.items()},
                     "in 7-11": round(float(day.between(7, 11).mean()), 3),
                     "true peak median": pts["car_peak_day"].median()})
        grp = pd.cut(day, [0, 5, 12, 100], labels=["early (d3)", "7-11", "late (>=14)"])
        g = pts.assign(group=grp, complete=pts["response_at_day"].isin(COMPLETE))
        t = g.groupby("group", observed=False).agg(
            n=("patient_id", "size"), density=("antigen_density_patient", "median"),
            burden=("baseline_burden_pct", "median"), cr_d14=("complete", "mean"),
            peak_cells=("car_peak_cells_per_ul", "median")).round(3)
        groups.append(t.assign(case=name).reset_index())
    print("# seed 002, 40 trials (480 patients) per case, stream 6")
    print("## share of sampled CAR peaks by day")
    print(pd.DataFrame(rows).to_string(index=False))
    print("\n## who peaks early, in range, late")
    print(pd.concat(groups)[["case", "group", "n", "density", "burden", "cr_d14",
                             "peak_cells"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
