"""RMST against R print.survfit(rmean = tau) and a direct R integration of the KM."""

from __future__ import annotations

import numpy as np
import pytest

from remission.stats.survival.restricted_mean import _rmst_arrays, rmst
from tests.rlive import run_r

pytestmark = pytest.mark.r

R = """
library(survival)
one <- function(tt, ss, tau) {
  f <- survfit(Surv(tt, ss) ~ 1); tb <- summary(f, rmean = tau)$table
  # independent check: integrate the KM step function and Greenwood-type variance by hand
  sm <- summary(f, censored = TRUE); keep <- sm$time <= tau
  tm <- c(0, sm$time[keep], tau); sv <- c(1, sm$surv[keep])
  area <- sum(diff(tm) * sv)
  c(unname(tb["rmean"]), unname(tb["se(rmean)"]), area)
}
l <- survival::lung; l$status <- l$status - 1
a <- survival::aml
out <- list(lung = one(l$time, l$status, 365), lung_m = one(l$time[l$sex == 1],
  l$status[l$sex == 1], 500), lung_f = one(l$time[l$sex == 2], l$status[l$sex == 2], 500),
  aml = one(a$time, a$status, 40), ov = one(survival::ovarian$futime,
  survival::ovarian$fustat, 1000), l = l[, c("time", "status", "sex")], a = a[, 1:2],
  ov_d = survival::ovarian[, c("futime", "fustat")])
"""


def test_rmst_matches_r() -> None:
    r = run_r(R)
    lu, a, ov = r["l"], r["a"], r["ov_d"]
    lt, ls, sx = (np.array(lu[k], float) for k in ("time", "status", "sex"))
    cases = [(lt, ls, 365, "lung"), (lt[sx == 1], ls[sx == 1], 500, "lung_m"),
             (lt[sx == 2], ls[sx == 2], 500, "lung_f"),
             (np.array(a["time"], float), np.array(a["status"]), 40, "aml"),
             (np.array(ov["futime"], float), np.array(ov["fustat"]), 1000, "ov")]
    for t, s, tau, key in cases:
        m, v = _rmst_arrays(t, s.astype(int), tau)
        assert m == pytest.approx(r[key][0], rel=1e-10), key
        assert m == pytest.approx(r[key][2], rel=1e-10), key
        assert np.sqrt(v) == pytest.approx(r[key][1], rel=1e-9), key
    res = rmst(lt, ls, sx, tau=500)
    d = r["lung_m"][0] - r["lung_f"][0]
    se = np.hypot(r["lung_m"][1], r["lung_f"][1])
    assert res.cell("difference", "estimate") == pytest.approx(d, rel=1e-10)
    assert res.cell("difference", "se") == pytest.approx(se, rel=1e-9)


def test_rmst_hand() -> None:
    # deaths at 1 and 2 among 2 patients: S=0.5 on [1,2), 0 after; RMST(3) = 1 + 0.5 = 1.5
    m, v = _rmst_arrays(np.array([1.0, 2.0]), np.array([1, 1]), 3.0)
    assert m == 1.5
    # h1 = 1/(2*1) = 0.5, area after t1 = 0.5 -> var = 0.125; h2 uses n-d = 0 -> 0
    assert v == pytest.approx(0.125)
