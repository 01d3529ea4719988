"""Fine–Gray regression against R cmprsk::crr (coefficients and sandwich SEs), run live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.stats.survival.finegray import fine_gray, fit_finegray_arrays
from tests.rlive import run_r

pytestmark = pytest.mark.r

R = """
library(cmprsk)
m <- survival::mgus2
m$etime <- with(m, ifelse(pstat == 1, ptime, futime))
m$ev <- with(m, ifelse(pstat == 1, 1, 2 * death))
m <- na.omit(m[, c("etime", "ev", "age", "sex", "mspike")])
X <- cbind(age = m$age, male = as.numeric(m$sex == "M"), ms = m$mspike)
fit <- function(tt, ss, X, fc) { f <- crr(tt, ss, X, failcode = fc, gtol = 1e-12,
  maxiter = 100); list(b = unname(f$coef), se = unname(sqrt(diag(f$var)))) }
p <- survival::pbc[1:40, c("time", "status", "age", "bili")]   # small n
out <- list(m = m, c1 = fit(m$etime, m$ev, X, 1), c2 = fit(m$etime, m$ev, X, 2),
            p = p, pc2 = fit(p$time, p$status, cbind(p$age, log(p$bili)), 2))
"""


@pytest.fixture(scope="module")
def r():
    return run_r(R)


def test_mgus2_both_causes(r) -> None:
    m = pd.DataFrame(r["m"])
    x = np.column_stack([m.age, (m.sex == "M").astype(float), m.mspike])
    for cause, key in [(1, "c1"), (2, "c2")]:
        f = fit_finegray_arrays(m.etime.to_numpy(float), m.ev.to_numpy(), x, cause)
        assert f.converged
        np.testing.assert_allclose(f.coef, r[key]["b"], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(f.se, r[key]["se"], rtol=1e-8)


def test_small_pbc_and_result(r) -> None:
    p = pd.DataFrame(r["p"])
    p["logbili"] = np.log(p["bili"])
    res = fine_gray(p, "time", "status", ["age", "logbili"], cause=2)
    np.testing.assert_allclose(res.table["coef"], r["pc2"]["b"], rtol=1e-8)
    np.testing.assert_allclose(res.table["se"], r["pc2"]["se"], rtol=1e-8)
    assert res.row_keys() == ["age", "logbili"]
    assert res.cell("logbili", "SHR") == pytest.approx(np.exp(r["pc2"]["b"][1]), rel=1e-8)
