"""Paired / rank tests, McNemar and p.adjust against R, run live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.stats.paired import (
    mann_whitney,
    mcnemar,
    p_adjust,
    paired_changes,
    paired_t,
    wilcoxon_signed_rank,
)
from tests.rlive import run_r

pytestmark = pytest.mark.r

rng = np.random.default_rng(3)
PRE = np.round(rng.uniform(5, 60, 11), 3)            # no ties -> exact
POST = np.round(PRE * rng.uniform(0.5, 1.6, 11), 3)
PRE_T = np.array([8, 5, 7, 9, 12, 5, 8, 10, 6, 7, 9, 11, 4, 8.0])   # ties -> normal
POST_T = np.array([5, 5, 6, 7, 13, 3, 6, 10, 5, 4, 8, 9, 4, 6.0])   # zeros too
A = np.round(rng.normal(1.2, 0.3, 11), 4)
B = np.round(rng.normal(0.9, 0.3, 10), 4)
BIG1, BIG2 = np.round(rng.normal(0, 1, 60), 5), np.round(rng.normal(0.3, 1, 55), 5)


def test_against_r() -> None:
    r = run_r("""
      w1 <- wilcox.test(post, pre, paired = TRUE); w2 <- suppressWarnings(
        wilcox.test(postt, pret, paired = TRUE))
      w3 <- suppressWarnings(wilcox.test(postt, pret, paired = TRUE, correct = FALSE))
      m1 <- wilcox.test(a, b); m2 <- wilcox.test(big1, big2)
      m3 <- suppressWarnings(wilcox.test(round(a, 1), round(b, 1)))
      tt <- t.test(post, pre, paired = TRUE)
      tab <- matrix(c(10, 7, 2, 15), 2)
      pp <- c(0.01, 0.04, 0.03, 0.005, 0.2, 0.04)
      out <- list(w1 = c(w1$statistic, w1$p.value), w2 = c(w2$statistic, w2$p.value),
        w3 = w3$p.value, m1 = c(m1$statistic, m1$p.value), m2 = c(m2$statistic, m2$p.value),
        m3 = m3$p.value, tt = c(tt$statistic, tt$p.value, tt$conf.int),
        mc = mcnemar.test(tab)$p.value, mc0 = mcnemar.test(tab, correct = FALSE)$p.value,
        holm = p.adjust(pp, "holm"), bh = p.adjust(pp, "BH"),
        hoch = p.adjust(pp, "hochberg"), by = p.adjust(pp, "BY"))
    """, pre=PRE, post=POST, pret=PRE_T, postt=POST_T, a=A, b=B, big1=BIG1, big2=BIG2)
    w = wilcoxon_signed_rank(POST, PRE)
    assert w["method"] == "exact"
    assert [w["statistic"], w["p"]] == pytest.approx(r["w1"], rel=1e-12)
    w = wilcoxon_signed_rank(POST_T, PRE_T)
    assert "normal" in w["method"]
    assert [w["statistic"], w["p"]] == pytest.approx(r["w2"], rel=1e-12)
    assert wilcoxon_signed_rank(POST_T, PRE_T, correct=False)["p"] == pytest.approx(r["w3"],
                                                                                   rel=1e-12)
    m = mann_whitney(A, B)
    assert m["method"] == "exact" and [m["statistic"], m["p"]] == pytest.approx(r["m1"],
                                                                                rel=1e-12)
    assert [*mann_whitney(BIG1, BIG2).values()][:2] == pytest.approx(r["m2"], rel=1e-12)
    assert mann_whitney(np.round(A, 1), np.round(B, 1))["p"] == pytest.approx(r["m3"], rel=1e-12)
    t = paired_t(POST, PRE)
    assert [t["statistic"], t["p"], t["lower"], t["upper"]] == pytest.approx(r["tt"], rel=1e-10)
    tab = np.array([[10, 2], [7, 15]])
    assert mcnemar(tab)["p"] == pytest.approx(r["mc"], rel=1e-12)
    assert mcnemar(tab, correct=False)["p"] == pytest.approx(r["mc0"], rel=1e-12)
    pp = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04]
    np.testing.assert_allclose(p_adjust(pp, "holm"), r["holm"], rtol=1e-14)
    np.testing.assert_allclose(p_adjust(pp, "BH"), r["bh"], rtol=1e-14)
    np.testing.assert_allclose(p_adjust(pp, "hochberg"), r["hoch"], rtol=1e-14)
    np.testing.assert_allclose(p_adjust(pp, "BY"), r["by"], rtol=1e-14)


def test_paired_changes_result() -> None:
    n = len(A) + len(B)
    df = pd.DataFrame({"variable": ["NKT"] * n, "arm": ["combo"] * len(A) + ["mono"] * len(B),
                       "pre": np.r_[PRE, PRE[:10]], "post": np.r_[POST, POST[:10]] * np.r_[
                           A, B]})
    res = paired_changes(df, "pre", "post", arm="arm")
    assert res.row_keys() == ["NKT | combo", "NKT | mono", "NKT | ratio"]
    ratio = df["post"] / df["pre"]
    assert res.cell("NKT | ratio", "p") == pytest.approx(
        mann_whitney(ratio[:11], ratio[11:])["p"])
    assert (res.table["p_adj"] >= res.table["p"]).all()


def test_text_values_are_reported_blanks_dropped() -> None:
    from remission.errors import InputError

    with pytest.raises(InputError) as ei:
        wilcoxon_signed_rank(["1.2", "abc", 3, 4], [1, 2, "n/a", 5])
    assert sorted((p.column, p.row) for p in ei.value.problems) == [("x", 3), ("y", 4)]
    w = wilcoxon_signed_rank([1.5, None, 3.2, 4.1, 2.2], [1.0, 2.0, 2.1, 3.0, 2.9])
    assert w["n"] == 4  # incomplete pair dropped, as R


# R 4.2.2, committed so a run without R still checks them:
#   for (m in c("holm","hochberg","BH","BY","bonferroni"))
#     cat(m, sprintf("%.12g", p.adjust(c(0.01, NA, 0.04, 0.03, NaN, 0.02), m)), "\n")
# R drops NA before n = length(p) and returns NA in place.
P_WITH_NA = [0.01, np.nan, 0.04, 0.03, np.nan, 0.02]
R_P_ADJUST_WITH_NA = {
    "holm": [0.04, np.nan, 0.06, 0.06, np.nan, 0.06],
    "hochberg": [0.04, np.nan, 0.04, 0.04, np.nan, 0.04],
    "BH": [0.04, np.nan, 0.04, 0.04, np.nan, 0.04],
    "BY": [0.0833333333333, np.nan, 0.0833333333333, 0.0833333333333, np.nan,
           0.0833333333333],
    "bonferroni": [0.04, np.nan, 0.16, 0.12, np.nan, 0.08],
}


@pytest.mark.parametrize("method", sorted(R_P_ADJUST_WITH_NA))
def test_p_adjust_missing_p_stays_missing_and_is_not_counted_as_r(method: str) -> None:
    np.testing.assert_allclose(p_adjust(P_WITH_NA, method), R_P_ADJUST_WITH_NA[method],
                               rtol=1e-11)


@pytest.mark.r
def test_p_adjust_missing_p_live_r() -> None:
    r = run_r('p <- c(0.01, NA, 0.04, 0.03, NaN, 0.02)\n'
              'out <- lapply(c(holm="holm", hochberg="hochberg", BH="BH", BY="BY",'
              ' bonferroni="bonferroni"), function(m) p.adjust(p, m))')
    for method, values in r.items():
        np.testing.assert_allclose(p_adjust(P_WITH_NA, method),
                                   np.asarray(values, float), rtol=1e-14)


def test_paired_changes_keeps_a_not_computable_p_out_of_the_adjustment() -> None:
    # Two variables: one with every pre/post difference zero (p not computable, R NA),
    # one with a real difference. Holm over the one computable p is that p itself
    # (R: p.adjust(c(NA, p), "holm") == c(NA, p)); filling NA with 1 doubled it.
    d = pd.DataFrame({
        "variable": ["a"] * 6 + ["b"] * 6,
        "pre": [1.0, 2, 3, 4, 5, 6, 1.0, 2, 3, 4, 5, 6],
        "post": [1.0, 2, 3, 4, 5, 6, 2.0, 4, 5, 7, 9, 11],
    })
    t = paired_changes(d, "pre", "post").table
    assert np.isnan(t.loc["a", "p"]) and np.isnan(t.loc["a", "p_adj"])
    assert t.loc["b", "p_adj"] == pytest.approx(t.loc["b", "p"], rel=1e-15)


def test_mcnemar_refuses_a_table_that_is_not_2x2_counts() -> None:
    # a 3 x 2 table was silently read as its first 2 x 2 cells, text was a bare
    # "could not convert" ValueError, a missing count a NaN statistic
    from remission.errors import InputError

    with pytest.raises(InputError) as ei:
        mcnemar([[3, 4], [5, 6], [1, 1]])
    assert [(p.column, p.value) for p in ei.value.problems] == [(None, (3, 2))]
    with pytest.raises(InputError) as ei:
        mcnemar([[3, "x"], [float("nan"), -2]])
    assert [(p.row, p.column) for p in ei.value.problems] == [
        (None, "cell (1, 2)"), (None, "cell (2, 1)"), (None, "cell (2, 2)")]
    assert "(got 'x')" in str(ei.value)


def test_p_adjust_reports_text_with_its_line() -> None:
    # was a bare "could not convert string to float" ValueError
    from remission.errors import InputError

    with pytest.raises(InputError) as ei:
        p_adjust([0.01, "x", 0.3, "0.2"])
    assert [(p.row, p.column, p.value) for p in ei.value.problems] == [(3, "p", "x")]
