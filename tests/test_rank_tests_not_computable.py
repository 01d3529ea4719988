"""Rank tests on samples whose values are all tied (very small studies): the p-value is
not computable, as in R, and the result says why instead of leaking a RuntimeWarning.

Oracle: R 4.2.2 (2022-11-10 r83330), run by hand and live in
``test_all_tied_matches_r_live``::

    > wilcox.test(c(1, 1), c(1, 1))      # W = 2, p-value = NA
    > wilcox.test(c(2, 2), c(2))         # W = 1, p-value = NA
    > wilcox.test(c(5, 5, 5), c(5, 5))   # W = 3, p-value = NA
    > wilcox.test(numeric(0), c(1, 2))   # Error: not enough (non-missing) 'x' observations
    > kruskal.test(list(c(10, 10), 10))  # chi-squared = NaN, df = 1, p-value = NA

(each with the warning "cannot compute exact p-value with ties"). R's two-sample
statistic is ``z = (W - m n / 2 - CORRECTION) / SIGMA`` with ``SIGMA = 0`` when every
value is tied, so 0/0 = NaN and ``PVAL = NA``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from remission.kinetics.associations import associations, kruskal_test, mann_whitney_test
from remission.stats.descriptive import rank_test
from remission.stats.paired import NO_VARIANCE, mann_whitney, paired_changes
from tests.rlive import run_r

#: (x, y, R's W); R's p-value is NA for each (R 4.2.2, see the module docstring).
TIED = [([1.0, 1.0], [1.0, 1.0], 2.0), ([2.0, 2.0], [2.0], 1.0),
        ([5.0, 5.0, 5.0], [5.0, 5.0], 3.0)]


@pytest.fixture(autouse=True)
def _no_runtime_warning():
    """Any warning (0/0 in numpy) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize(("x", "y", "w"), TIED)
def test_all_tied_gives_r_statistic_and_no_p_with_reason(x, y, w):
    r = mann_whitney(x, y)
    assert r["statistic"] == w and math.isnan(r["p"])
    assert r["method"].endswith(NO_VARIANCE) and "exact not possible: ties" in r["method"]
    assert (r["n1"], r["n2"]) == (len(x), len(y))


def test_one_value_different_is_computable():
    # the guard is sigma == 0 only: one untied value gives R's finite p
    # (R 4.2.2 wilcox.test(c(1, 1), c(1, 2)): W = 1, p-value = 0.61707507745197387)
    r = mann_whitney([1.0, 1.0], [1.0, 2.0])
    assert r["statistic"] == 1.0 and r["p"] == pytest.approx(0.61707507745197387, rel=1e-12)


def test_empty_sample_not_computable():
    r = mann_whitney([], [1.0, 2.0])
    assert math.isnan(r["statistic"]) and math.isnan(r["p"])
    assert r["method"] == "not computable: no non-missing values in x"
    assert "in y" in mann_whitney([1.0, None], [None])["method"]


def test_callers_carry_the_reason():
    # descriptive rank test (baseline tables), kinetic associations and paired changes
    test, w, p, note = rank_test([np.array([3.0]), np.array([3.0])])
    assert (test, w) == ("Wilcoxon rank-sum", 0.5) and math.isnan(p) and NO_VARIANCE in note
    w, p, how = mann_whitney_test([7.0, 7.0], [7.0])
    assert w == 1.0 and math.isnan(p) and NO_VARIANCE in how
    pts = pd.DataFrame({"cmax": [10.0, 10.0, 10.0], "crs_grade": [0, 1, 1],
                        "responder": [True, False, False]})
    res = associations(pts, ["cmax"])
    row = res.table.loc["cmax | mann-whitney by responder"]
    assert math.isnan(row["p_value"]) and NO_VARIANCE in row["detail"]
    row = res.table.loc["cmax | kruskal by crs_grade"]
    assert math.isnan(row["statistic"]) and math.isnan(row["p_value"])
    assert row["detail"].startswith("not computable: all values tied")
    h, df, p = kruskal_test([[10.0, 10.0], [10.0]])
    assert math.isnan(h) and df == 1 and math.isnan(p)
    df = pd.DataFrame({"variable": "CD4", "arm": ["a", "a", "b", "b"],
                       "pre": [1.0, 2.0, 3.0, 4.0], "post": [2.0, 4.0, 6.0, 8.0]})
    res = paired_changes(df, "pre", "post", arm="arm")
    assert math.isnan(res.cell("CD4 | ratio", "p"))  # every post/pre ratio is 2
    assert NO_VARIANCE in res.cell("CD4 | ratio", "test")


@pytest.mark.r
def test_all_tied_matches_r_live():
    code = """
    w <- function(x, y) suppressWarnings(wilcox.test(x, y))
    r1 <- w(c(1, 1), c(1, 1)); r2 <- w(c(2, 2), 2); r3 <- w(c(5, 5, 5), c(5, 5))
    r4 <- w(c(1, 1), c(1, 2)); k <- kruskal.test(list(c(10, 10), 10))
    out <- list(w = c(r1$statistic, r2$statistic, r3$statistic),
                na = c(is.na(r1$p.value), is.na(r2$p.value), is.na(r3$p.value)),
                p4 = r4$p.value, k = c(is.nan(k$statistic), is.na(k$p.value)))
    """
    r = run_r(code)
    assert r["w"] == [w for *_, w in TIED] and r["na"] == [True, True, True]
    for x, y, _ in TIED:
        assert math.isnan(mann_whitney(x, y)["p"])
    assert mann_whitney([1.0, 1.0], [1.0, 2.0])["p"] == pytest.approx(r["p4"], rel=1e-12)
    assert r["k"] == [True, True] and all(map(math.isnan, kruskal_test([[10, 10], [10]])[::2]))
