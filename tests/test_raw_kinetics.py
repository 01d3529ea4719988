"""Kinetics pieces the raw-data pipeline relies on: the Stein Jacobian, NE handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.kinetics import associations
from remission.kinetics.stein import _to_theta, stein_log_conc, stein_log_conc_jac
from tests.rlive import run_r

TRUE = {"foldx": 2000.0, "tmax": 10.0, "cmax": 20000.0, "alpha": 0.2, "fb": 0.02, "beta": 0.005}


def test_analytic_jacobian_equals_central_differences():
    t = np.array([0.5, 1, 3, 5, 7, 9, 11, 14, 17, 21, 28, 42, 60, 90.0])
    th = _to_theta(TRUE)
    h = 1e-6
    num = np.column_stack([
        (stein_log_conc(t, th + h * e) - stein_log_conc(t, th - h * e)) / (2 * h)
        for e in np.eye(6)])
    np.testing.assert_allclose(stein_log_conc_jac(t, th), num, rtol=1e-6, atol=1e-8)


@pytest.mark.r
def test_associations_with_missing_responder_match_r():
    """A nullable responder flag with NA (NE patients) is dropped, as R drops them."""
    rng = np.random.default_rng(3)
    cmax = np.round(rng.lognormal(8, 1, 15), 1)
    resp = pd.array([True, False, pd.NA] * 5, dtype="boolean")
    grade = np.array([0, 1, 2, 3, 4] * 3, dtype=float)
    df = pd.DataFrame({"cmax": cmax, "crs_grade": grade, "responder": resp})
    a = associations(df, ["cmax"])
    out = run_r("""
        w <- wilcox.test(d$cmax[d$r %in% 1], d$cmax[d$r %in% 0])
        out <- list(w = unname(w$statistic), p = w$p.value, n = sum(!is.na(d$r)))
    """, d=pd.DataFrame({"cmax": cmax, "r": resp.astype("Float64")}))
    row = "cmax | mann-whitney by responder"
    assert a.cell(row, "statistic") == pytest.approx(out["w"], rel=1e-12)
    assert a.cell(row, "p_value") == pytest.approx(out["p"], rel=1e-9)
    assert a.cell(row, "n") == out["n"] == 10
