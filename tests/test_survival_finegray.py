"""Fine–Gray regression against R cmprsk::crr (coefficients and sandwich SEs).

Reference values from ``tests/rref/finegray_crr.R`` are committed
(``tests/rref/finegray_crr.json``) and checked on every run; tests marked ``r`` rerun
R live.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.errors import InputError
from remission.stats.survival.finegray import (
    _censoring_weights,
    _fit_arrays,
    fine_gray,
)
from tests import rref
from tests.rlive import run_r

TOL = 1e-8  # docs/survival.md, table row fine_gray


@pytest.fixture(scope="module")
def ref():
    return rref.committed("finegray_crr")


def _check(res, r, key):
    np.testing.assert_allclose(res.table["coef"], r[key]["b"], rtol=TOL, atol=1e-12)
    np.testing.assert_allclose(res.table["se"], r[key]["se"], rtol=TOL)


@pytest.mark.r
def test_time_zero_censorings_and_competing_events_as_crr(ref) -> None:
    """crr reads G at t(1 - 100 eps): G(0), not G(0-), for competing events at 0."""
    p = pd.DataFrame(ref["p"])
    assert ((p.time == 0) & (p.status == 0)).sum() == 2
    assert ((p.time == 0) & (p.status == 1)).sum() == 2
    _check(fine_gray("time", "status", ["age", "logbili"], data=p, failcode=2), ref, "zero_c2")
    _check(fine_gray("time", "status", ["age", "logbili"], data=p, failcode=1), ref, "zero_c1")


@pytest.mark.r
def test_textbook_left_limit_differs_only_at_time_zero(ref) -> None:
    p = pd.DataFrame(ref["p"])
    left = fine_gray("time", "status", ["age", "logbili"], data=p, failcode=2, censoring="left")
    # G(0-) = 1 instead of crr's G(0) = 1 - 2/80: a real, visible difference
    assert np.max(np.abs(left.table["coef"] / np.array(ref["zero_c2"]["b"]) - 1)) > 1e-4
    m = pd.DataFrame(ref["m"])  # no time-zero records: both readings agree with crr
    res = fine_gray("etime", "ev", ["age", "male", "mspike"], data=m, censoring="left")
    _check(res, ref, "nogrp_c1")


def test_censoring_weights_read_like_crr() -> None:
    t = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 3.0])
    cens = np.array([True, False, False, True, False, False])
    g = np.zeros(6, int)
    crr = _censoring_weights(t, cens, g, "crr")[0]
    left = _censoring_weights(t, cens, g, "left")[0]
    # hand calculation: KM of censoring drops by 1/6 at 0 and by 1/3 at 2 (3 at risk)
    np.testing.assert_allclose(crr, [5 / 6, 5 / 6, 5 / 6, 5 / 6, 5 / 6, 5 / 9])
    np.testing.assert_allclose(left, [1, 1, 5 / 6, 5 / 6, 5 / 6, 5 / 9])


@pytest.mark.r
def test_failcode_cencode_codes_as_crr(ref) -> None:
    p = pd.DataFrame(ref["p"])
    res = fine_gray("time", "code", ["age", "logbili"], data=p, failcode=3, cencode=9)
    _check(res, ref, "zero_codes")
    assert res.params["failcode"] == 3 and res.params["cencode"] == 9


@pytest.mark.r
def test_cengroup_as_crr(ref) -> None:
    """crr's crrvv sums q_g(u) over the failures of group g only; matching that (not
    all failures) is what brings the SE from 0.2% off to rounding."""
    m = pd.DataFrame(ref["m"])
    cov = ["age", "male", "mspike"]
    _check(fine_gray("etime", "ev", cov, data=m, cengroup="sex"), ref, "grp_sex_c1")
    _check(fine_gray("etime", "ev", cov, data=m, cengroup="sex", failcode=2), ref, "grp_sex_c2")
    _check(fine_gray("etime", "ev", cov, data=m, cengroup="band"), ref, "grp_band_c1")
    # the groups matter: ignoring them gives crr's single-group answer, not this one
    one = fine_gray("etime", "ev", cov, data=m)
    _check(one, ref, "nogrp_c1")
    assert abs(one.table["se"].iloc[1] / ref["grp_sex_c1"]["se"][1] - 1) > 1e-4


@pytest.mark.r
def test_missing_values_like_other_estimators(ref) -> None:
    p = pd.DataFrame(ref["p"])
    bad = pd.concat([p, pd.DataFrame({"time": [5.0], "status": [2], "code": [3],
                                      "age": [np.nan], "logbili": [1.0]})],
                    ignore_index=True)
    with pytest.raises(InputError, match="missing='omit'") as e:
        fine_gray("time", "status", ["age", "logbili"], data=bad, failcode=2)
    assert "line 82" in str(e.value)
    res = fine_gray("time", "status", ["age", "logbili"], data=bad, failcode=2, missing="omit")
    _check(res, ref, "zero_c2")  # crr's na.omit
    assert any("1 row(s) with missing values omitted" in w for w in res.warnings)


def test_bad_codes_and_unknown_arguments(ref) -> None:
    p = pd.DataFrame(ref["p"])
    with pytest.raises(InputError, match="no event of interest"):
        fine_gray("time", "status", ["age"], data=p, failcode=7)
    with pytest.raises(InputError, match="failcode equals cencode"):
        fine_gray("time", "status", ["age"], data=p, failcode=0)
    with pytest.raises(TypeError):
        fine_gray("time", "status", ["age"], data=p, cause=2)  # old name: no silent cause 1


@pytest.mark.r
def test_live_r_matches_committed_reference(ref) -> None:
    live = rref.live("finegray_crr")
    for key in ["zero_c2", "zero_c1", "zero_codes", "grp_sex_c1", "grp_sex_c2",
                "grp_band_c1", "nogrp_c1"]:
        np.testing.assert_allclose(live[key]["b"], ref[key]["b"], rtol=1e-10)
        np.testing.assert_allclose(live[key]["se"], ref[key]["se"], rtol=1e-10)


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


@pytest.mark.r
def test_mgus2_both_causes(r) -> None:
    m = pd.DataFrame(r["m"])
    x = np.column_stack([m.age, (m.sex == "M").astype(float), m.mspike])
    for cause, key in [(1, "c1"), (2, "c2")]:
        f = _fit_arrays(m.etime.to_numpy(float), m.ev.to_numpy(), x, failcode=cause)
        assert f.converged
        np.testing.assert_allclose(f.coef, r[key]["b"], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(f.se, r[key]["se"], rtol=1e-8)


@pytest.mark.r
def test_small_pbc_and_result(r) -> None:
    p = pd.DataFrame(r["p"])
    p["logbili"] = np.log(p["bili"])
    res = fine_gray("time", "status", ["age", "logbili"], data=p, failcode=2)
    np.testing.assert_allclose(res.table["coef"], r["pc2"]["b"], rtol=1e-8)
    np.testing.assert_allclose(res.table["se"], r["pc2"]["se"], rtol=1e-8)
    assert res.row_keys() == ["age", "logbili"]
    assert res.cell("logbili", "SHR") == pytest.approx(np.exp(r["pc2"]["b"][1]), rel=1e-8)
