"""Biomarker summaries (hand) and rank tests against R cor.test/wilcox.test/kruskal.test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.kinetics.associations import (
    associations,
    biomarker_summary,
    kruskal_test,
    mann_whitney_test,
    spearman_test,
)
from tests.rlive import run_r

pytestmark = pytest.mark.r


def test_biomarker_summary_hand():
    obs = pd.DataFrame({
        "patient_id": ["P1"] * 6 + ["P2"] * 2,
        "day": [-3, -1, 2, 5, 5, 40, 3, 6],
        "variable": ["il6"] * 8,
        "value": [9.0, 10.0, 50.0, 400.0, 380.0, 900.0, 7.0, 7.0],
    })
    s = biomarker_summary(obs, ["il6"]).set_index("patient_id")
    assert s.loc["P1", "baseline"] == 10.0  # last value on or before day 0
    assert s.loc["P1", "peak"] == 400.0 and s.loc["P1", "peak_day"] == 5  # day 40 outside 1-30
    assert s.loc["P1", "fold_change"] == 40.0
    assert s.loc["P2", "peak_day"] == 3 and pd.isna(s.loc["P2", "fold_change"])


@pytest.mark.parametrize("n,ties", [(6, False), (9, False), (10, False), (25, False),
                                    (25, True)])
def test_spearman_matches_r(n, ties):
    rng = np.random.default_rng(n + ties)
    x = rng.normal(size=n)
    y = x * 0.4 + rng.normal(size=n)
    if ties:
        y = np.round(y)
    rho, p, _, _ = spearman_test(x, y)
    r = run_r("t <- suppressWarnings(cor.test(d$x, d$y, method = 'spearman'));"
              "out <- list(rho = unname(t$estimate), p = t$p.value)",
              d=pd.DataFrame({"x": x, "y": y}))
    assert rho == pytest.approx(r["rho"], abs=1e-12)
    assert p == pytest.approx(r["p"], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("nx,ny,ties", [(5, 7, False), (12, 9, False), (12, 9, True),
                                        (55, 60, False)])
def test_mann_whitney_matches_r(nx, ny, ties):
    rng = np.random.default_rng(nx * ny)
    x = rng.lognormal(1.0, 1, nx)
    y = rng.lognormal(0.3, 1, ny)
    if ties:
        x, y = np.round(x), np.round(y)
    w, p, _ = mann_whitney_test(x, y)
    r = run_r("t <- suppressWarnings(wilcox.test(x, y)); out <- list(w = unname(t$statistic),"
              " p = t$p.value)", x=x, y=y)
    assert w == pytest.approx(r["w"], abs=1e-9)
    assert p == pytest.approx(r["p"], rel=1e-9, abs=1e-12)


def test_kruskal_matches_r():
    rng = np.random.default_rng(5)
    g = np.repeat([0, 1, 2, 3], [6, 5, 4, 3])
    x = np.round(rng.lognormal(g * 0.5, 1), 1)
    h, df, p = kruskal_test([x[g == k] for k in range(4)])
    r = run_r("t <- kruskal.test(d$x, d$g); out <- list(h = unname(t$statistic),"
              " df = unname(t$parameter), p = t$p.value)", d=pd.DataFrame({"x": x, "g": g}))
    assert h == pytest.approx(r["h"], rel=1e-12)
    assert df == r["df"]
    assert p == pytest.approx(r["p"], rel=1e-10)


def test_associations_result_matches_r():
    rng = np.random.default_rng(11)
    n = 30
    grade = rng.integers(0, 4, n)
    cmax = np.exp(8 + 0.5 * grade + rng.normal(0, 0.7, n))
    resp = rng.random(n) < 0.6
    pts = pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "cmax": cmax,
                        "crs_grade": grade, "responder": resp})
    res = associations(pts, ["cmax"])
    r = run_r("""
      s <- suppressWarnings(cor.test(d$cmax, d$crs_grade, method = 'spearman'))
      k <- kruskal.test(d$cmax, factor(d$crs_grade))
      w <- wilcox.test(d$cmax[d$responder == 'True'], d$cmax[d$responder == 'False'])
      out <- list(rho = unname(s$estimate), ps = s$p.value, h = unname(k$statistic),
                  pk = k$p.value, w = unname(w$statistic), pw = w$p.value)
    """, d=pts)
    assert res.cell("cmax | spearman vs crs_grade", "statistic") == pytest.approx(r["rho"])
    assert res.cell("cmax | spearman vs crs_grade", "p_value") == pytest.approx(r["ps"],
                                                                                rel=1e-9)
    assert res.cell("cmax | kruskal by crs_grade", "p_value") == pytest.approx(r["pk"], rel=1e-9)
    assert res.cell("cmax | mann-whitney by responder", "statistic") == r["w"]
    assert res.cell("cmax | mann-whitney by responder", "p_value") == pytest.approx(r["pw"],
                                                                                   rel=1e-9)
