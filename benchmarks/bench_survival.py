"""Survival benchmark: remission against R survival/cmprsk and lifelines, side by side.

Workloads (synthetic patients, whole-day times so ties are realistic, two arms, five
covariates, relapse and non-relapse mortality as competing causes):

1. ``survival pipeline`` -- KM by arm (medians, S(180), S(365)) + log-rank + Cox PH
   (Efron, 5 covariates) with Harrell's C and its SE + cumulative incidence of both
   causes by arm (estimate and Gray's variance at 180/365 days) + Gray's test.
   Baseline: R ``survfit``, ``survdiff``, ``coxph`` + ``concordance``, ``cmprsk::cuminc``
   (``benchmarks/r/survival.R``), timed inside R with ``proc.time()`` after the data are
   read. Outputs compared with R at rtol 1e-8 (every output; Cox log-likelihood 1e-10).
2. ``KM + log-rank + Cox + C`` -- the part lifelines implements with the same estimands
   (lifelines has no Gray test, and its ``AalenJohansenFitter`` breaks tied times by
   random jitter, a different estimand from the exact CIF; so no CIF here).
   Baseline: lifelines ``KaplanMeierFitter``, ``logrank_test``, ``CoxPHFitter`` and its
   ``concordance_index_``. Compared at rtol 1e-8 (KM, log-rank, C) and 1e-5 (Cox
   coefficients and SEs: lifelines stops Newton-Raphson at its default step tolerance
   1e-7, looser than R's and remission's).
3. ``concordance`` -- Harrell's C of a fixed risk score with many tied scores, against
   R ``survival::concordance`` (C, SE, pair counts) and lifelines ``concordance_index``.

Run: ``python benchmarks/bench_survival.py [--quick] [--n N] [--reps R]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness as hz  # noqa: E402

COVS = ["arm", "age", "burden", "dose", "prior"]
LANDMARKS = [180.0, 365.0]


def make_data(n: int, seed: int = 2026) -> pd.DataFrame:
    """n patients: arm + 4 continuous covariates, relapse (1) / NRM (2) / censored (0)."""
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
    d = pd.DataFrame(np.round(x, 6), columns=COVS)  # 6 decimals: the CSV is exact
    d["time"], d["status"], d["event"] = t, status, (status > 0).astype(int)
    return d


def make_scores(n: int, seed: int = 7) -> pd.DataFrame:
    """time/event plus a risk score with ties (rounded to 2 decimals)."""
    d = make_data(n, seed)
    rng = np.random.default_rng(seed)
    score = np.round(0.5 * d["arm"] - 0.3 * d["age"] + rng.normal(0, 1, n), 2)
    return pd.DataFrame({"time": d["time"], "event": d["event"], "score": score})


# --------------------------------------------------------------------------- workers
def w_remission(data: str, out: str, with_cr: bool = True) -> None:
    d = pd.read_csv(data)
    t_load = time.perf_counter()  # library load, as R's library() calls: timed apart
    from remission.stats.survival import load_kernels
    from remission.survival import cox, cuminc, kaplan_meier, logrank
    load_kernels()
    t0 = time.perf_counter()
    load_s = t0 - t_load
    km = kaplan_meier("time", "event", "arm", data=d, landmarks=LANDMARKS).table
    lr = logrank("time", "event", "arm", data=d).table
    cx = cox("time", "event", COVS, data=d)
    res: dict = {
        "km_median": km["median"].to_numpy(),
        "km_surv": km[[f"S@{x:g}" for x in LANDMARKS]].to_numpy().ravel(),
        "logrank_chisq": float(lr.loc["test", "chisq"]),
        "cox_coef": cx.table.loc[COVS, "coef"].to_numpy(),
        "cox_se": cx.table.loc[COVS, "se"].to_numpy(),
        "cox_loglik": cx.params["loglik"],
        "concordance": float(cx.table.loc["concordance", "value"]),
        "concordance_se": float(cx.table.loc["concordance", "se"]),
    }
    if with_cr:
        ci = cuminc("time", "status", "arm", data=d, times=LANDMARKS).table
        est = ci[ci["group"] != ""]  # rows group-major, then cause, then time
        res["cif_est"] = est["est"].to_numpy()
        res["cif_var"] = (est["se"] ** 2).to_numpy()
        res["gray_stat"] = ci.loc[[f"test | {c}" for c in (1, 2)], "stat"].to_numpy()
    secs = time.perf_counter() - t0
    hz.emit(out, res, secs, load_s)


def w_lifelines(data: str, out: str) -> None:
    d = pd.read_csv(data)
    t_load = time.perf_counter()
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test
    t0 = time.perf_counter()
    load_s = t0 - t_load
    med, surv = [], []
    for arm in (0.0, 1.0):
        m = d["arm"] == arm
        kmf = KaplanMeierFitter().fit(d.loc[m, "time"], d.loc[m, "event"])
        med.append(kmf.median_survival_time_)
        surv.extend(kmf.survival_function_at_times(LANDMARKS).to_numpy())
    a = d["arm"] == 1
    lr = logrank_test(d["time"][~a], d["time"][a], d["event"][~a], d["event"][a])
    cph = CoxPHFitter().fit(d[["time", "event", *COVS]], "time", "event")
    res = {"km_median": np.where(np.isinf(med), np.nan, med), "km_surv": np.array(surv),
           "logrank_chisq": float(lr.test_statistic),
           "cox_coef": cph.params_[COVS].to_numpy(),
           "cox_se": cph.standard_errors_[COVS].to_numpy(),
           "cox_loglik": float(cph.log_likelihood_),
           "concordance": float(cph.concordance_index_)}
    secs = time.perf_counter() - t0
    hz.emit(out, res, secs, load_s)


def w_conc_remission(data: str, out: str) -> None:
    d = pd.read_csv(data)
    t_load = time.perf_counter()
    from remission.stats.survival import load_kernels
    from remission.stats.survival.concordance import concordance
    load_kernels()
    t0 = time.perf_counter()
    load_s = t0 - t_load
    c, se, counts = concordance(d["time"], d["event"], d["score"])
    secs = time.perf_counter() - t0
    hz.emit(out, {"concordance": c, "concordance_se": se,
                  "counts": [counts[k] for k in ("concordant", "discordant", "tied.x",
                                                 "tied.y")]}, secs, load_s)


def w_conc_lifelines(data: str, out: str) -> None:
    d = pd.read_csv(data)
    t_load = time.perf_counter()
    from lifelines.utils import concordance_index
    t0 = time.perf_counter()
    load_s = t0 - t_load
    # lifelines scores "higher = longer survival": pass the negated risk score
    c = concordance_index(d["time"], -d["score"], d["event"])
    secs = time.perf_counter() - t0
    hz.emit(out, {"concordance": float(c)}, secs, load_s)


WORKERS = {"remission": w_remission,
           "remission-nocr": lambda a, b: w_remission(a, b, with_cr=False),
           "lifelines": w_lifelines, "conc-remission": w_conc_remission,
           "conc-lifelines": w_conc_lifelines}


# --------------------------------------------------------------------------- comparisons
def cmp_r(o: dict) -> list[hz.Check]:
    r, m = o["R survival+cmprsk"], o["remission"]
    checks = [hz.close(k, m[k], r[k], 1e-8) for k in
              ("km_median", "km_surv", "logrank_chisq", "concordance", "concordance_se",
               "cif_est", "cif_var", "gray_stat")]
    checks += [hz.close(k, m[k], r[k], 1e-8, 1e-10) for k in ("cox_coef", "cox_se")]
    checks.append(hz.close("cox_loglik", m["cox_loglik"], r["cox_loglik"], 1e-10))
    return checks


def cmp_lifelines(o: dict) -> list[hz.Check]:
    ll, m = o["lifelines"], o["remission"]
    checks = [hz.close(k, m[k], ll[k], 1e-8) for k in ("km_median", "km_surv",
                                                      "logrank_chisq")]
    checks += [hz.close(k, m[k], ll[k], 1e-5, 1e-7) for k in ("cox_coef", "cox_se")]
    checks.append(hz.close("cox_loglik", m["cox_loglik"], ll["cox_loglik"], 1e-9))
    checks.append(hz.close("concordance", m["concordance"], ll["concordance"], 1e-8))
    return checks


def cmp_conc(o: dict) -> list[hz.Check]:
    m, r, ll = o["remission"], o["R survival"], o["lifelines"]
    return [hz.close("concordance vs R", m["concordance"], r["concordance"], 1e-12),
            hz.close("concordance_se vs R", m["concordance_se"], r["concordance_se"], 1e-8),
            hz.close("pair counts vs R", m["counts"], r["counts"], 0),
            hz.close("concordance vs lifelines", m["concordance"], ll["concordance"], 1e-8)]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if hz.worker_call(argv, WORKERS):
        return 0
    ap = hz.common_args(__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="patients (default 100,000)")
    a = ap.parse_args(argv)
    n = a.n or (2_000 if a.quick else 100_000)
    reps = a.reps or (2 if a.quick else 5)
    data_dir = hz.OUT_DIR / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    surv_csv = data_dir / f"survival-{n}.csv"
    conc_csv = data_dir / f"concordance-{n}.csv"
    make_data(n).to_csv(surv_csv, index=False)
    make_scores(n).to_csv(conc_csv, index=False)
    me = Path(__file__).resolve()
    rdir = HERE / "r"
    wl = [
        hz.Workload(f"survival pipeline, n={n:,}", surv_csv,
                    [hz.python_side("remission", me, "remission"),
                     hz.r_side("R survival+cmprsk", rdir / "survival.R")],
                    cmp_r, targets={"R survival+cmprsk": 0.5},
                    note="KM by arm + log-rank + Cox (5 cov.) + C + CIF x2 causes + Gray"),
        hz.Workload(f"KM + log-rank + Cox + C, n={n:,}", surv_csv,
                    [hz.python_side("remission", me, "remission-nocr"),
                     hz.python_side("lifelines", me, "lifelines")],
                    cmp_lifelines, targets={"lifelines": 0.2},
                    note="estimands lifelines implements (no CIF: lifelines jitters ties)"),
        hz.Workload(f"concordance, n={n:,}", conc_csv,
                    [hz.python_side("remission", me, "conc-remission"),
                     hz.r_side("R survival", rdir / "concordance.R"),
                     hz.python_side("lifelines", me, "conc-lifelines")],
                    cmp_conc, note="Harrell's C + IJ SE of a tied score"),
    ]
    return hz.run_all("survival", wl, a, reps, argv,
                      {"n": n, "reps": reps})


if __name__ == "__main__":
    sys.exit(main())
