"""Benchmark: KM + log-rank + Cox (5 covariates) + CIF on synthetic patients.

Prints one row per analysis with remission's and lifelines' wall time on the same data
and their ratio (lifelines / remission; > 1 means remission is faster). Run:

    .venv/bin/python benchmarks/bench_survival.py           # 100,000 patients
    .venv/bin/python benchmarks/bench_survival.py --quick   # 2,000 patients (smoke)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def make_data(n: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[:, 0] = rng.integers(0, 2, n)  # arm
    beta = np.array([-0.5, 0.3, 0.0, 0.2, -0.1])
    t_rel = rng.exponential(400 / np.exp(x @ beta))
    t_nrm = rng.exponential(1500, n)
    cens = rng.uniform(30, 1000, n)
    t = np.minimum.reduce([t_rel, t_nrm, cens])
    status = np.where(t == t_rel, 1, np.where(t == t_nrm, 2, 0))
    t = np.ceil(t)  # whole days: realistic ties
    d = pd.DataFrame(x, columns=["arm", "age", "burden", "dose", "prior"])
    d["time"], d["status"], d["event"] = t, status, (status > 0).astype(int)
    return d


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    n = 2_000 if args.quick else args.n
    d = make_data(n)
    covs = ["arm", "age", "burden", "dose", "prior"]

    from lifelines import AalenJohansenFitter, CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test as ll_logrank

    from remission.stats.survival.competing import cif_core
    from remission.stats.survival.cox import cox_fit
    from remission.stats.survival.km import KaplanMeier
    from remission.stats.survival.logrank import logrank_test

    a = d["arm"] == 1
    rows = []
    rows.append(("Kaplan–Meier", timed(lambda: KaplanMeier().fit(d["time"], d["event"])),
                 timed(lambda: KaplanMeierFitter().fit(d["time"], d["event"]))))
    rows.append(("log-rank (2 groups)",
                 timed(lambda: logrank_test(d["time"], d["event"], d["arm"])),
                 timed(lambda: ll_logrank(d["time"][a], d["time"][~a], d["event"][a],
                                          d["event"][~a]))))
    rows.append(("Cox PH, Efron, 5 covariates",
                 timed(lambda: cox_fit(d, "time", "event", covs)),
                 timed(lambda: CoxPHFitter().fit(d[["time", "event", *covs]], "time",
                                                 "event"))))

    def lifelines_aj() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            AalenJohansenFitter(calculate_variance=True, seed=1).fit(d["time"], d["status"],
                                                                      event_of_interest=1)

    rows.append(("CIF (Aalen–Johansen + variance)",
                 timed(lambda: cif_core(d["time"].to_numpy(), d["status"].to_numpy(), 1)),
                 timed(lifelines_aj)))
    tot_r = sum(r[1] for r in rows)
    tot_l = sum(r[2] for r in rows)
    rows.append(("TOTAL", tot_r, tot_l))
    print(f"survival benchmark: n = {n:,} patients, {int(d['event'].sum()):,} events, "
          f"{d['time'].nunique():,} distinct times")
    print(f"{'analysis':34s} {'remission s':>12s} {'lifelines s':>12s} {'ratio':>8s}")
    for name, r, ll in rows:
        print(f"{name:34s} {r:12.3f} {ll:12.3f} {ll / r:8.2f}")
    print("ratio = lifelines time / remission time (same data, same process)")


if __name__ == "__main__":
    main()
