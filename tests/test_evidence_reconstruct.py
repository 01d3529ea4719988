"""Evidence reconstruction: P values checked against R, seed claims reproduced."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remission.errors import InputError
from remission.evidence.attainability import grim_mean, median_range_attainable
from remission.evidence.claims import reconstruct_claims
from remission.evidence.proportions import Printed, reconstruct_two_proportions
from remission.stats.contingency import pearson_chi2
from tests.rlive import run_r

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.r
def test_candidate_pvalues_match_r() -> None:
    res = reconstruct_two_proportions("83", "33", "0.057", n1_max=12, n2_max=21)
    t = res.table
    r = run_r("""
      out <- list(pe = numeric(0), ya = numeric(0), fi = numeric(0), mp = numeric(0))
      for (i in seq_len(nrow(d))) {
        m <- matrix(c(d$x1[i], d$n1[i] - d$x1[i], d$x2[i], d$n2[i] - d$x2[i]), 2, byrow = TRUE)
        out$pe <- c(out$pe, suppressWarnings(chisq.test(m, correct = FALSE)$p.value))
        out$ya <- c(out$ya, suppressWarnings(chisq.test(m, correct = TRUE)$p.value))
        out$fi <- c(out$fi, fisher.test(m)$p.value)
        k <- d$x1[i] + d$x2[i]; n <- d$n1[i] + d$n2[i]
        pr <- dhyper(0:k, d$n1[i], d$n2[i], k); po <- dhyper(d$x1[i], d$n1[i], d$n2[i], k)
        out$mp <- c(out$mp, sum(pr[pr < po * (1 - 1e-7)]) + 0.5 * sum(pr[abs(pr - po) <=
                    po * 1e-7]))
      }""", d=t[["x1", "n1", "x2", "n2"]].reset_index(drop=True))
    np.testing.assert_allclose(t["p_pearson"], r["pe"], rtol=1e-10)
    np.testing.assert_allclose(t["p_yates"], r["ya"], rtol=1e-10)
    np.testing.assert_allclose(t["p_fisher"], r["fi"], rtol=1e-9)
    np.testing.assert_allclose(t["p_midp"], r["mp"], rtol=1e-9)


def test_seed000_reproduced_by_uncorrected_chisq() -> None:
    (res,) = reconstruct_claims(ROOT / "examples/seed000-ven-cll1/claims.toml")
    assert res.row_keys() == ["26/33 vs 20/30"]
    assert res.cell("26/33 vs 20/30", "reproduces") == "pearson"
    assert res.cell("26/33 vs 20/30", "p_pearson") == pytest.approx(0.279, abs=5e-4)
    assert res.params["tests_reproducing"] == ["pearson"]


def test_seed003_subgroup_tables_found() -> None:
    orr, mrd, rr, mrdpos, joint = reconstruct_claims(
        ROOT / "examples/seed003-blina-ven/claims.toml")
    assert joint.row_keys() == ["n1=6, n2=9"]
    hit = orr.table[orr.table["reproduces"] != ""]
    assert list(hit.index) == ["5/6 vs 3/9"] and hit["reproduces"].iloc[0] == "pearson"
    hit = mrd.table[mrd.table["reproduces"] != ""]
    assert list(hit.index) == ["4/6 vs 2/9"] and hit["reproduces"].iloc[0] == "pearson"
    assert any("Cochran" in w for w in orr.warnings)
    assert len(orr.table) == 14  # 83% -> 5/6, 10/12; 33% -> k/3k for k = 1..7
    assert rr.row_keys() == ["10/12 vs 14/21"] and rr.cell("10/12 vs 14/21", "reproduces") == ""
    assert (mrdpos.table["reproduces"] == "").all() and mrdpos.warnings


def test_printed_parsing_and_rounding() -> None:
    p = Printed.parse("<0.0001")
    assert p.relation == "<" and p.matches(0.00009) and not p.matches(0.0001)
    q = Printed.parse("66.70%")
    assert q.decimals == 2 and q.matches(66.704) and not q.matches(66.706)
    assert Printed.parse("P = 0.05").value == 0.05


def test_grim_and_median_checks() -> None:
    # GRIM: mean 5.19 with n = 28 integers: 145/28 = 5.179, 146/28 = 5.214 -> impossible
    assert not grim_mean("5.19", 28).cell("mean", "attainable")
    assert grim_mean("5.18", 28).cell("mean", "attainable")  # 145/28 = 5.1786
    assert not median_range_attainable(4.5, 1, 9, 7).cell("median", "attainable")
    assert median_range_attainable(4.5, 1, 9, 8).cell("median", "attainable")
    assert not median_range_attainable(4, 1, 9, 2).cell("median", "attainable")


def test_bad_claims_file(tmp_path: Path) -> None:
    f = tmp_path / "claims.toml"
    f.write_text('[[comparison]]\nlabel = "x"\npct1 = "abc"\nwhat = 1\n')
    with pytest.raises(InputError) as ei:
        reconstruct_claims(f)
    cols = sorted(p.column for p in ei.value.problems)
    assert cols == ["pct1", "pct2", "what"]


@given(st.integers(1, 40), st.integers(1, 40), st.data())
@settings(max_examples=40, deadline=None)
def test_true_table_is_always_recovered(n1: int, n2: int, data) -> None:
    """Print a random table's percentages (1 decimal) and Pearson P (3 decimals) the way a
    paper would; the reconstruction must list that table and say Pearson reproduces it."""
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    if x1 + x2 in (0, n1 + n2):
        return  # chi-square undefined with an empty margin
    chi = pearson_chi2(np.array([[x1, n1 - x1], [x2, n2 - x2]]), correct=False)[2]
    pct1 = f"{Decimal(100 * x1 / n1).quantize(Decimal('0.1'), ROUND_HALF_UP)}"
    pct2 = f"{Decimal(100 * x2 / n2).quantize(Decimal('0.1'), ROUND_HALF_UP)}"
    p = f"{Decimal(chi).quantize(Decimal('0.001'), ROUND_HALF_UP)}"
    res = reconstruct_two_proportions(pct1, pct2, p, n1=n1, n2=n2)
    key = f"{x1}/{n1} vs {x2}/{n2}"
    assert key in res.row_keys()
    assert "pearson" in res.cell(key, "reproduces")
