"""Formatting rules at their boundaries; p-values checked against R's format.pval live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remission.report.format import (
    MISSING,
    conf_level_label,
    display_table,
    format_ci,
    format_n_pct,
    format_number,
    format_p,
    format_percent,
    format_proportion,
    format_verdict,
)
from remission.results import Result
from tests.rlive import run_r

P_VALUES = [
    0.001, 0.0009999, 0.05, 1.0, 0.0, 0.00099999999, 0.0010000001, 0.049999, 0.04995,
    0.9995, 0.99949, 0.12345, 0.0012345, 0.0015, 0.00105, 0.1, 0.5, 0.999, 0.9999,
    0.01, 0.0123, 0.2345, 0.02345, 0.3456789, 0.0625, 0.03125, 1 / 3, 2 / 3, 0.045,
    0.0045, 0.0455, 0.00455, 0.995, 0.9949, 0.1005, 0.1015, 0.125, 0.0125, 0.00125,
]


@pytest.mark.r
def test_p_values_match_r_format_pval():
    out = run_r(
        'out <- list(s = vapply(p, function(v) format.pval(v, digits = 3, eps = 0.001), ""))',
        p=np.array(P_VALUES),
    )
    got = [format_p(p) for p in P_VALUES]
    assert got == out["s"]


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.001, "0.001"), (0.0009999, "<0.001"), (0.05, "0.05"), (1.0, "1"), (0.0, "<0.001"),
     (0.9995, "1"), (0.12345, "0.123"), (0.0012345, "0.00123"), (np.nan, MISSING),
     (None, MISSING)],
)
def test_p_boundaries(p, text):
    assert format_p(p) == text


@pytest.mark.parametrize(
    ("pct", "text"),
    # Rule: round half UP on the decimal representation (SAS ROUND convention).
    [(12.25, "12.3%"), (12.35, "12.4%"), (12.45, "12.5%"), (0.05, "0.1%"), (0.04, "<0.1%"),
     (99.95, ">99.9%"), (99.94, "99.9%"), (0.0, "0.0%"), (100.0, "100.0%"),
     (33.333333333333336, "33.3%"), (66.66666666666667, "66.7%"), (2.675, "2.7%")],
)
def test_percent_round_half_up(pct, text):
    # 99.95 would round to 100.0 but is not all: it prints ">99.9%".
    assert format_percent(pct) == text


@pytest.mark.parametrize(
    ("prop", "text"),
    [(0.125, "12.5%"), (0.1225, "12.3%"), (0.1235, "12.4%"), (0.0005, "0.1%"),
     (0.0004999, "<0.1%"), (0.9995, ">99.9%"), (1.0, "100.0%"), (1 / 3, "33.3%"),
     (1 / 6, "16.7%"), (1 / 8, "12.5%"), (7 / 16, "43.8%")],
)
def test_proportion_half_up_on_decimal_repr(prop, text):
    # 0.1225 is stored as 0.12249999999999999778; half-up on its decimal repr gives 12.3,
    # as a reader expects from "49 of 400", where binary rounding would print 12.2.
    assert format_proportion(prop) == text


def test_python_binary_rounding_differs_which_is_why_we_use_decimal():
    assert f"{0.1225 * 100:.1f}" == "12.2"
    assert format_proportion(0.1225) == "12.3%"


def test_n_pct_and_ci_and_numbers():
    assert format_n_pct(3, prop=0.75) == "3 (75.0%)"
    assert format_n_pct(np.int64(4), 33.333333333333336) == "4 (33.3%)"
    assert format_n_pct(5) == "5"
    assert format_n_pct(np.nan, prop=0.5) == MISSING
    assert format_ci(0.194, 0.994) == "0.194–0.994"
    assert format_ci(-0.25, 1.5) == "-0.25 to 1.5"
    assert format_ci(np.nan, np.nan) == MISSING
    assert format_number(12345.6) == "12346"
    assert format_number(123.456) == "123"
    assert format_number(0.000123) == "1.23e-04"
    assert format_number(2.0) == "2"
    assert format_number(True) == "Yes"
    assert format_number(np.float64("inf")) == "∞"


def test_verdict_words_never_colour_alone():
    assert format_verdict("agrees") == "✓ agrees"
    assert format_verdict("DISAGREE") == "✗ disagrees"
    assert format_verdict("unverifiable") == "? cannot be checked"
    assert format_verdict(None) == "? cannot be checked"


def test_conf_level_label():
    assert conf_level_label({"conf_level": 0.95}) == "95% CI"
    assert conf_level_label({"conf_level": 90}) == "90% CI"
    assert conf_level_label({}) == "CI"


def test_display_table_column_conventions():
    table = pd.DataFrame(
        {"n": [3.0, np.nan], "N": [4, 5], "prop": [0.75, np.nan],
         "hr": [0.456789, 1.5], "hr_lo": [0.2, 0.9], "hr_hi": [1.1, 2.5],
         "p_trend": [0.03, 0.5], "median_days": [12.0, 30.0], "group": ["x", "y"]},
        index=pd.Index(["a", "b"], name="Arm"),
    )
    r = Result("t", "T", table, method="m", params={"conf_level": 0.95})
    dt = display_table(r)
    assert dt.columns == ("n (%)", "N", "HR", "HR 95% CI", "P for trend", "Median, days",
                          "Group")  # reader-facing labels (report.format.human_label)
    assert [c.text for c in dt.rows[0][1]] == [
        "3 (75.0%)", "4", "0.457", "0.2–1.1", "0.03", "12", "x"]
    assert [c.text for c in dt.rows[1][1]] == [MISSING, "5", "1.5", "0.9–2.5", "0.5", "30", "y"]
    assert dt.rows[0][1][0].raw == "3.0; 0.75"
    assert dt.numeric == (True, True, True, True, True, True, False)


def test_multiindex_rows_flattened():
    idx = pd.MultiIndex.from_tuples([("A", "CR"), ("A", "PR")], names=["Dose", "Response"])
    r = Result("t", "T", pd.DataFrame({"n": [1, 2]}, index=idx), method="m")
    dt = display_table(r)
    assert dt.index_header == "Dose | Response"
    assert [k for k, _ in dt.rows] == ["A | CR", "A | PR"]


def test_pipeline_style_columns_pair_and_ci_low_high():
    table = pd.DataFrame(
        {"N": [12], "any_grade": [12], "any_grade_pct": [100.0], "n": [11],
         "pct": [91.66666666666667], "ci_low": [61.520383484905594],
         "ci_high": [99.78924067681398], "trend_p": [0.18930417265614313]},
        index=["ORR | Overall"],
    )
    dt = display_table(Result("t", "T", table, method="m", params={"conf": 0.95}))
    assert dt.columns == ("N", "Any grade, n (%)", "n (%)", "95% CI (%)", "P for trend")
    assert [c.text for c in dt.rows[0][1]] == [
        "12", "12 (100.0%)", "11 (91.7%)", "61.5–99.8", "0.189"]


def test_params_formatted_for_method_line():
    from remission.report.format import format_param

    assert format_param("grade>=3 p", 0.7727272727272745) == "0.773"
    assert format_param("grade>=3 trend p (Cochran-Armitage)", 0.00001) == "<0.001"
    assert format_param("conf_level", 0.95) == "0.95"
    assert format_param("system", "Lee 2014") == "Lee 2014"
    assert format_param("levels", [1.23456, 2]) == "1.23, 2"



def test_audit_tables_show_six_significant_digits():
    table = pd.DataFrame({"reported": [58.33], "recomputed": [58.333333333333336],
                          "difference": [0.0033333333333], "verdict": ["agrees"]},
                         index=["eff.mrdneg_pct"])
    dt = display_table(Result("audit.x", "A", table, method="m", section="audit"))
    assert [c.text for c in dt.rows[0][1]] == ["58.33", "58.3333", "0.00333333", "✓ agrees"]
    assert format_number(1234.5678, 6) == "1234.57"


def test_duplicate_and_tuple_column_labels():
    table = pd.DataFrame([[1, 2.5, 0.04]], columns=["x", "x", "p"], index=["r"])
    dt = display_table(Result("t", "T", table, method="m"))
    assert dt.columns == ("X", "X", "P")
    assert [c.text for c in dt.rows[0][1]] == ["1", "2.5", "0.04"]
    cols = pd.MultiIndex.from_tuples([("ORR", "n"), ("ORR", "N")])
    dt2 = display_table(Result("t", "T", pd.DataFrame([[3, 4]], columns=cols, index=["A"]),
                               method="m"))
    assert dt2.columns == ("ORR | n", "ORR | N")


def _exact_half_up_pct(k: int, n: int) -> str:
    """Hand oracle: k/n as a percentage, one decimal, half up, in exact rational arithmetic."""
    from fractions import Fraction

    tenths = Fraction(1000 * k, n)
    q = int(tenths) + (1 if tenths - int(tenths) >= Fraction(1, 2) else 0)
    if k > 0 and q == 0:
        return "<0.1%"
    if k < n and q >= 1000:
        return ">99.9%"
    return f"{q // 10}.{q % 10}%"


def test_percent_of_counts_matches_exact_rational_half_up_exhaustive_small_n():
    # every k/n with n <= 200, computed the three ways an analysis might store it
    for n in range(1, 201):
        for k in range(n + 1):
            want = _exact_half_up_pct(k, n)
            assert format_proportion(k / n) == want, (k, n)
            assert format_percent(k / n * 100) == want, (k, n)
            assert format_percent(100 * k / n) == want, (k, n)


@given(st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@settings(max_examples=500, deadline=None)
def test_percent_of_counts_matches_exact_rational_half_up_large_n(kn):
    k, n = kn
    want = _exact_half_up_pct(k, n)
    assert format_proportion(k / n) == want
    assert format_percent(k / n * 100) == want


@pytest.mark.r
def test_random_p_values_match_r_format_pval():
    rng = np.random.default_rng(20261123)
    p = np.concatenate([10 ** rng.uniform(-4, 0, 400), rng.uniform(0, 1, 100),
                        np.round(rng.uniform(0, 1, 100), 4)])
    out = run_r(
        'out <- list(s = vapply(p, function(v) format.pval(v, digits = 3, eps = 0.001), ""))',
        p=p,
    )
    assert [format_p(v) for v in p] == out["s"]


def test_value_types():
    from remission.report.format import format_value

    assert format_value(np.bool_(True)) == "Yes"
    assert format_value(pd.NA) == MISSING
    assert format_value(pd.NaT) == MISSING
    assert format_value(pd.Timestamp("2024-03-01")) == "2024-03-01"
    assert format_value(None) == MISSING
    assert format_value(np.int64(7)) == "7"


def test_percent_ci_bounds_are_not_guarded():
    t = pd.DataFrame({"n": [11], "N": [12], "pct": [91.7], "ci_low": [0.04], "ci_high": [99.96]},
                     index=["ORR"])
    dt = display_table(Result("t", "T", t, method="m", params={"conf_level": 0.95}))
    assert dt.rows[0][1][2].text == "0.0–100.0"
    t2 = pd.DataFrame({"n": [1], "prop": [0.5], "ci_lo": [0.0004], "ci_hi": [0.9996]}, index=["x"])
    dt2 = display_table(Result("t", "T", t2, method="m"))
    assert dt2.rows[0][1][1].text == "0.0–100.0"
