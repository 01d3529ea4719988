"""Foundation statistics against R, run live (Rscript), to 1e-6 or tighter."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from remission.stats.contingency import (
    choose_test,
    cochran_armitage,
    exact_trend,
    fisher_exact,
    pearson_chi2,
)
from remission.stats.descriptive import rank_test, summarise_continuous
from remission.stats.proportions import clopper_pearson, newcombe_diff, wilson
from tests.rlive import run_r

TOL = 1e-9
XN = [(0, 5), (1, 4), (3, 4), (4, 4), (7, 12), (11, 12), (26, 33), (20, 30), (0, 1), (50, 97)]


@pytest.mark.r
def test_clopper_pearson_and_wilson_match_r() -> None:
    xs = np.array([x for x, _ in XN])
    ns = np.array([n for _, n in XN])
    out = run_r(
        """
        cp <- t(mapply(function(a, b) binom.test(a, b)$conf.int, x, n))
        wl <- t(mapply(function(a, b) suppressWarnings(prop.test(a, b, correct = FALSE))$conf.int,
                x, n))
        cp90 <- t(mapply(function(a, b) binom.test(a, b, conf.level = 0.9)$conf.int, x, n))
        out <- list(cp_lo = cp[, 1], cp_hi = cp[, 2], wl_lo = wl[, 1], wl_hi = wl[, 2],
                    cp90_lo = cp90[, 1], cp90_hi = cp90[, 2])
        """, x=xs, n=ns)
    for i, (x, n) in enumerate(XN):
        lo, hi = clopper_pearson(x, n)
        assert lo == pytest.approx(out["cp_lo"][i], abs=TOL)
        assert hi == pytest.approx(out["cp_hi"][i], abs=TOL)
        lo, hi = wilson(x, n)
        assert lo == pytest.approx(out["wl_lo"][i], abs=TOL)
        assert hi == pytest.approx(out["wl_hi"][i], abs=TOL)
        lo, hi = clopper_pearson(x, n, conf=0.9)
        assert lo == pytest.approx(out["cp90_lo"][i], abs=TOL)
        assert hi == pytest.approx(out["cp90_hi"][i], abs=TOL)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "lo", "hi"),
    [  # Newcombe, Stat Med 1998;17:873-890, Table II, method 10 (4 decimals as printed)
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
    ],
)
def test_newcombe_difference_matches_published_values(x1, n1, x2, n2, lo, hi) -> None:
    d, a, b = newcombe_diff(x1, n1, x2, n2)
    assert d == pytest.approx(x1 / n1 - x2 / n2)
    assert round(a, 4) == lo and round(b, 4) == hi


TABLES = [
    np.array([[12, 5], [3, 9]]),
    np.array([[3, 1], [1, 3]]),
    np.array([[1, 3, 3], [2, 0, 0], [1, 0, 1], [0, 1, 2]]),
    np.array([[2, 2, 5], [2, 1, 0]]),
    np.array([[10, 7, 9], [8, 14, 4], [3, 6, 12]]),
    np.array([[0, 4, 1], [5, 0, 2]]),
]


@pytest.mark.r
@pytest.mark.parametrize("table", TABLES, ids=lambda t: "x".join(map(str, t.shape)))
def test_chisq_and_fisher_match_r(table: np.ndarray) -> None:
    out = run_r(
        """
        m <- matrix(t, nrow = r, byrow = TRUE)
        out <- list(
          chi = unname(suppressWarnings(chisq.test(m, correct = FALSE))$statistic),
          p = suppressWarnings(chisq.test(m, correct = FALSE))$p.value,
          p_yates = suppressWarnings(chisq.test(m, correct = TRUE))$p.value,
          fisher = fisher.test(m)$p.value)
        """,
        t=table.ravel(), r=[table.shape[0]])
    stat, _, p = pearson_chi2(table)
    assert stat == pytest.approx(out["chi"], rel=1e-12)
    assert p == pytest.approx(out["p"], rel=1e-9)
    assert pearson_chi2(table, correct=True)[2] == pytest.approx(out["p_yates"], rel=1e-9)
    assert fisher_exact(table) == pytest.approx(out["fisher"], rel=1e-6, abs=1e-12)


def test_choose_test_rule_at_the_expected_count_boundary() -> None:
    name, _, why = choose_test(np.array([[5, 5], [5, 5]]))  # every expected count exactly 5
    assert name == "Pearson chi-square" and "all expected" in why
    name, _, why = choose_test(np.array([[6, 4], [4, 5]]))  # smallest expected 81/19 = 4.26
    assert name == "Fisher's exact" and "4.26" in why


@pytest.mark.r
@pytest.mark.parametrize(
    ("succ", "tot", "scores"),
    [([3, 3, 5], [4, 3, 5], None), ([1, 2, 3, 6], [10, 10, 10, 10], None),
     ([2, 5, 9], [12, 12, 12], [0.5, 1.0, 1.5])],
)
def test_cochran_armitage_matches_prop_trend_test(succ, tot, scores) -> None:
    sc = scores or list(range(1, len(succ) + 1))
    out = run_r("""r <- suppressWarnings(prop.trend.test(x, n, score = s))
                   out <- list(chi = unname(r$statistic), p = r$p.value)""",
                x=np.array(succ), n=np.array(tot), s=np.array(sc, dtype=float))
    chi, p = cochran_armitage(np.array(succ), np.array(tot), None if scores is None
                              else np.array(scores))
    assert chi == pytest.approx(out["chi"], rel=1e-10)
    assert p == pytest.approx(out["p"], rel=1e-9)


@pytest.mark.parametrize(
    ("succ", "tot"),
    [([3, 3, 5], [4, 3, 5]), ([0, 1, 3], [3, 3, 3]), ([1, 1, 2, 4], [4, 3, 3, 5]),
     ([5, 9, 14], [20, 20, 20])],
)
def test_exact_trend_equals_brute_force_enumeration(succ, tot) -> None:
    """Oracle: enumerate every way of placing the m successes into the groups."""
    m, scores = sum(succ), np.arange(1, len(tot) + 1)
    e_t = scores @ (np.array(tot) * m / sum(tot))
    t_obs = scores @ np.array(succ)
    p = 0.0
    for x in itertools.product(*(range(n + 1) for n in tot)):
        if sum(x) != m:
            continue
        pr = math.prod(math.comb(n, k) for n, k in zip(tot, x, strict=True)) / math.comb(
            sum(tot), m)
        if abs(scores @ np.array(x) - e_t) >= abs(t_obs - e_t) - 1e-9:
            p += pr
    assert exact_trend(np.array(succ), np.array(tot)) == pytest.approx(p, rel=1e-12)


@pytest.mark.r
def test_rank_tests_match_wilcox_and_kruskal() -> None:
    a = np.array([1.2, 3.4, 2.2, 5.0, 4.1])
    b = np.array([6.3, 7.7, 2.9, 8.1])
    at = np.array([1, 2, 2, 3, 4, 4.0])
    bt = np.array([2, 3, 5, 5, 6.0])
    c = np.array([3.3, 9.1, 4.4])
    out = run_r(
        """out <- list(exact = wilcox.test(a, b)$p.value,
                       ties = suppressWarnings(wilcox.test(at, bt))$p.value,
                       kw = kruskal.test(list(a, b, c))$p.value,
                       kws = unname(kruskal.test(list(at, bt, c))$statistic))""",
        a=a, b=b, at=at, bt=bt, c=c)
    assert rank_test([a, b])[2] == pytest.approx(out["exact"], rel=1e-12)
    _, _, p, why = rank_test([at, bt])
    assert p == pytest.approx(out["ties"], rel=1e-9) and "ties" in why
    assert rank_test([a, b, c])[2] == pytest.approx(out["kw"], rel=1e-9)
    assert rank_test([at, bt, c])[1] == pytest.approx(out["kws"], rel=1e-9)


@pytest.mark.r
def test_summary_quantiles_match_r_type7() -> None:
    x = np.array([22.42, 58, 4.76, 20, 20, 65.54, 9.1, 69.63, 7.93, 3.09, 49.99, 22.8])
    out = run_r("q <- quantile(x, c(.25, .5, .75)); out <- list(q = unname(q), sd = sd(x))", x=x)
    s = summarise_continuous(__import__("pandas").Series(x))
    assert [s["q1"], s["median"], s["q3"]] == pytest.approx(out["q"], rel=1e-12)
    assert s["sd"] == pytest.approx(out["sd"], rel=1e-12)


def test_exact_trend_skips_non_integer_scores_and_large_n() -> None:
    assert math.isnan(exact_trend(np.array([1, 2]), np.array([3, 3]), np.array([0.5, 1.25])))
    assert math.isnan(exact_trend(np.array([300, 400]), np.array([600, 600])))


def test_fisher_monte_carlo_close_to_exact() -> None:
    from remission.stats.contingency import fisher_monte_carlo

    t = np.array([[1, 3, 3], [2, 0, 0], [1, 0, 1], [0, 1, 2]])
    p = fisher_monte_carlo(t, n_sim=4000)
    assert p == fisher_monte_carlo(t, n_sim=4000)  # seeded: reproducible
    assert abs(p - fisher_exact(t)) < 0.03  # 3 Monte-Carlo SEs at p ~ 0.38, B = 4000
