"""Cumulative incidence and Gray's test against R cmprsk::cuminc, run live."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from remission.stats.survival.competing import _cif_at, _gray_statistic, cif_core, cuminc
from tests.rlive import run_r

pytestmark = pytest.mark.r

# mgus2: progression (1) vs death without progression (2); pbc: transplant (1) vs death (2)
R = """
library(cmprsk); library(survival)
m <- survival::mgus2
m$etime <- with(m, ifelse(pstat == 1, ptime, futime))
m$ev <- with(m, ifelse(pstat == 1, 1, 2 * death))
p <- survival::pbc[, c("time", "status", "trt", "edema")]
p <- p[!is.na(p$trt), ]
tp <- c(12, 60, 120, 240, 360)
res <- function(tm, st, g, strata = NULL, rho = 0) {
  ci <- if (is.null(strata)) cuminc(tm, st, g, rho = rho) else cuminc(tm, st, g, strata, rho = rho)
  tpp <- timepoints(ci, tp[tp <= max(tm)])
  list(est = c(t(tpp$est)), var = c(t(tpp$var)), stat = unname(ci$Tests[, 1]),
       p = unname(ci$Tests[, 2]), rows = rownames(tpp$est))
}
tpb <- c(365, 1000, 2000, 3000)
pres <- function(g, strata = NULL, rho = 0) {
  ci <- if (is.null(strata)) cuminc(p$time, p$status, g, rho = rho)
        else cuminc(p$time, p$status, g, strata, rho = rho)
  tpp <- timepoints(ci, tpb)
  list(est = c(t(tpp$est)), var = c(t(tpp$var)), stat = unname(ci$Tests[, 1]),
       p = unname(ci$Tests[, 2]), rows = rownames(tpp$est))
}
sm <- data.frame(t = c(2, 3, 3, 5, 6, 6, 8, 9, 11, 12, 14, 15),
                 s = c(1, 2, 1, 0, 1, 1, 2, 0, 1, 2, 0, 1),
                 g = rep(c("a", "b"), 6))                      # n = 12, tied times
ci_s <- cuminc(sm$t, sm$s, sm$g); tps <- timepoints(ci_s, c(3, 6, 10, 15))
out <- list(sm = sm, sm_est = c(t(tps$est)), sm_var = c(t(tps$var)),
            sm_rows = rownames(tps$est), sm_stat = unname(ci_s$Tests[, 1]),
            mg = res(m$etime, m$ev, m$sex), pb = pres(p$trt), pbs = pres(p$trt, p$edema),
            pbr = pres(p$trt, rho = 1), pbe = pres(p$edema), pbes = pres(p$edema, p$trt),
            m = m[, c("etime", "ev", "sex")], p = p, tp = tp,
            tpb = tpb)
"""


@pytest.fixture(scope="module")
def r():
    return run_r(R)


def _check_est(t, s, g, res, times):
    rows = res["rows"]  # "group cause" in R's order
    est = np.array([np.nan if v is None else v for v in res["est"]]).reshape(len(rows), -1)
    var = np.array([np.nan if v is None else v for v in res["var"]]).reshape(len(rows), -1)
    for i, row in enumerate(rows):
        grp, cause = row.rsplit(" ", 1)
        w = np.asarray(g).astype(str) == grp
        e, v = _cif_at(cif_core(np.asarray(t, float)[w], np.asarray(s)[w], int(cause)), times)
        np.testing.assert_allclose(e, est[i], rtol=1e-10, atol=1e-14, err_msg=row,
                                   equal_nan=True)
        np.testing.assert_allclose(v, var[i], rtol=1e-9, atol=1e-16, err_msg=row,
                                   equal_nan=True)


def test_mgus2_ties_estimates_and_gray(r) -> None:
    m = r["m"]
    t, s, g = np.array(m["etime"], float), np.array(m["ev"]), np.array(m["sex"])
    tp = [x for x in r["tp"] if x <= t.max()]
    _check_est(t, s, g, r["mg"], tp)
    for cause in (1, 2):
        stat, df, p = _gray_statistic(t, s, g, cause)
        assert stat == pytest.approx(r["mg"]["stat"][cause - 1], rel=1e-9)
        assert p == pytest.approx(r["mg"]["p"][cause - 1], rel=1e-8)
        assert df == 1


def test_pbc_three_groups(r) -> None:
    p = r["p"]
    t, s, g = np.array(p["time"], float), np.array(p["status"]), np.array(p["edema"])
    assert len(np.unique(g)) == 3
    _check_est(t, s, np.array([f"{v:g}" for v in g]), r["pbe"], r["tpb"])
    for key, kw in [("pbe", {}), ("pbes", {"strata": np.array(p["trt"])})]:
        for cause in (1, 2):
            stat, df, pv = _gray_statistic(t, s, g, cause, **kw)
            assert df == 2
            assert stat == pytest.approx(r[key]["stat"][cause - 1], rel=1e-8), (key, cause)
            assert pv == pytest.approx(r[key]["p"][cause - 1], rel=1e-7), (key, cause)


def test_pbc_two_groups_strata_rho(r) -> None:
    p = r["p"]
    t, s, g = np.array(p["time"], float), np.array(p["status"]), np.array(p["trt"])
    _check_est(t, s, g, r["pb"], r["tpb"])
    for key, kw in [("pb", {}), ("pbs", {"strata": np.array(p["edema"])}),
                    ("pbr", {"rho": 1.0})]:
        for cause in (1, 2):
            stat, _, pv = _gray_statistic(t, s, g, cause, **kw)
            assert stat == pytest.approx(r[key]["stat"][cause - 1], rel=1e-8), (key, cause)
            assert pv == pytest.approx(r[key]["p"][cause - 1], rel=1e-7), (key, cause)


def test_small_n_with_ties(r) -> None:
    sm = r["sm"]
    t, s, g = np.array(sm["t"], float), np.array(sm["s"]), np.array(sm["g"])
    res = {"rows": r["sm_rows"], "est": r["sm_est"], "var": r["sm_var"]}
    _check_est(t, s, g, res, [3, 6, 10, 15])
    for cause in (1, 2):
        got = _gray_statistic(t, s, g, cause)[0]
        assert got == pytest.approx(r["sm_stat"][cause - 1], rel=1e-9)


def test_cuminc_result_and_ci_hand() -> None:
    # n=5, no censoring: times 1(c1) 2(c2) 3(c1) 4(c1) 5(c2): F1(3) = 1/5 + 3/5*1/3 = 0.4
    res = cuminc([1, 2, 3, 4, 5], [1, 2, 1, 1, 2], times=[3])
    assert res.cell("all | 1 | 3", "est") == pytest.approx(0.4)
    lo, hi = res.cell("all | 1 | 3", "lower"), res.cell("all | 1 | 3", "upper")
    assert 0 < lo < 0.4 < hi < 1


def test_aalen_johansen_class_matches_core(r) -> None:
    from remission.stats.survival import AalenJohansen

    m = r["m"]
    t, s = np.array(m["etime"], float), np.array(m["ev"])
    aj = AalenJohansen(cause=1).fit(t, s)
    core = cif_core(t, s, 1)
    np.testing.assert_array_equal(aj.summary["est"], core["est"])
    assert (aj.summary["lower"] <= aj.summary["est"]).all()
    assert aj.at([0.5])["est"].iloc[0] == 0.0


def test_cif_curves_result() -> None:
    from remission.stats.survival.competing import cif_curves

    res = cif_curves([1, 2, 3, 4, 5], [1, 2, 1, 1, 2], cause=1)
    assert res.row_keys() == ["all | 0", "all | 1", "all | 2", "all | 3"]
    assert res.cell("all | 2", "est") == pytest.approx(0.4)  # hand value as above


# R 4.2.2, cmprsk: cuminc(t2, s2, g2)$Tests with the data below gives
#   cause 1: stat 2.785318, pv 0.0951318, df 1;  cause 2: stat -1, pv 1, df 1
# (cmprsk's sentinel for a singular variance); and with no relapse at all (t3, s3, g3)
# cause 2: stat -1, pv 1, df 2. The same R code runs live below.
T2, S2, G2 = [1, 2, 3, 4, 5, 6, 7, 8], [1, 0, 1, 0, 2, 0, 2, 0], list("AAAABBBB")
T3, S3, G3 = [9, 0, 0, 0, 0, 1, 12, 0, 0], [0, 0, 0, 0, 0, 0, 2, 0, 0], list("AAABBBCCC")


def _gray_checks(r1: Any, r3: Any, ref: dict) -> None:
    assert r1.loc["test | 1", "stat"] == pytest.approx(ref["stat1"], rel=1e-6)
    assert r1.loc["test | 1", "p"] == pytest.approx(ref["p1"], rel=1e-6)
    assert ref["stat2"] == -1 and np.isnan(r1.loc["test | 2", "stat"])
    assert np.isnan(r1.loc["test | 2", "p"])
    assert ref["stat3"] == -1 and np.isnan(r3.loc["test | 2", "stat"])


def test_gray_singular_variance_is_no_test_not_a_crash() -> None:
    # was: scipy LinAlgError from `remission report` on a study with [endpoints.cir] and
    # no relapse (examples/cll1-post-hsct)
    from remission.stats.survival.competing import gray

    r1 = gray(T2, S2, G2)
    r3 = cuminc(T3, S3, G3)
    _gray_checks(r1.table, r3.table, {"stat1": 2.785318, "p1": 0.0951318, "stat2": -1,
                                      "stat3": -1})
    assert any("Gray's test for 2 not computed" in w for w in r1.warnings)
    assert any("Gray's test for 2 not computed" in w for w in r3.warnings)
    assert not any("for 1 not computed" in w for w in r1.warnings)


@pytest.mark.r
def test_gray_singular_variance_as_cmprsk_live() -> None:
    from remission.stats.survival.competing import gray

    ref = run_r("""suppressPackageStartupMessages(library(cmprsk))
      a <- cuminc(c(1, 2, 3, 4, 5, 6, 7, 8), c(1, 0, 1, 0, 2, 0, 2, 0),
                  c("A", "A", "A", "A", "B", "B", "B", "B"))$Tests
      b <- cuminc(c(9, 0, 0, 0, 0, 1, 12, 0, 0), c(0, 0, 0, 0, 0, 0, 2, 0, 0),
                  rep(c("A", "B", "C"), each = 3))$Tests
      out <- list(stat1 = a["1", "stat"], p1 = a["1", "pv"], stat2 = a["2", "stat"],
                  stat3 = b["2", "stat"])""")
    _gray_checks(gray(T2, S2, G2).table, cuminc(T3, S3, G3).table, ref)
