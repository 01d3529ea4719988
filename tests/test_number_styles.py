"""Journal number styles (remission.numbers.STYLES) at every threshold, against the text of
each rule, and the column roles that tell renderers which rule applies.

Sources (the rule each test checks is quoted in paraphrase next to it):

* NEJM: Harrington D et al. N Engl J Med 2019;381:285-6 and the Journal's Statistical
  Reporting Guidelines: "P values larger than 0.01 should be reported to two decimal
  places, those between 0.01 and 0.001 to three decimal places; P values smaller than
  0.001 should be reported as P<0.001".
* AMA Manual of Style 10th ed., chapter 4 (tables) and 20.8: P to 2 digits after the
  decimal point unless the first 2 are zeros, then 3 (P = .002); below .001 "P < .001";
  3 digits may be kept when rounding to 2 makes P look nonsignificant (P = .046); a
  percentage has no more digits than its denominator (9 of 28 -> 32%, not 32.1%).
* Cole TJ. Arch Dis Child 2015;100:608-9, "rule of four": a ratio to 2 significant digits
  if its leading non-zero digit is 4 or more, otherwise 3 -- three decimals from 0.040 to
  0.399, two from 0.40 to 3.99, one from 4.0 to 39.9; 22.68 (7.51 to 73.67) -> 22.7 (7.5
  to 74).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.numbers import STYLES, p_ama, p_nejm, percent_decimals_ama, ratio_rule_of_four
from remission.report.tables import display_table
from remission.results import Result
from remission.roles import infer_roles


# ---------------------------------------------------------------- hand oracles (exact)
def _round_half_up(x: Fraction, decimals: int) -> Fraction:
    scale = 10 ** decimals
    return Fraction(int(x * scale + Fraction(1, 2)), scale)


def _nejm_oracle(x: Fraction) -> str:
    if x < Fraction(1, 1000):
        return "<0.001"
    d = 3 if x < Fraction(1, 100) else 2
    r = _round_half_up(x, d)
    if d == 2 and x < 1 and r == 1:
        return ">0.99"
    return f"{float(r):.{d}f}"


def _ama_oracle(x: Fraction) -> str:
    if x < Fraction(1, 1000):
        return "<.001"
    d = 3 if x < Fraction(1, 100) else 2
    r = _round_half_up(x, d)
    if d == 2 and x < Fraction(5, 100) and r == Fraction(5, 100):
        d, r = 3, _round_half_up(x, 3)
    if d == 2 and x < 1 and r == 1:
        return ">.99"
    text = f"{float(r):.{d}f}"
    return text[1:] if text.startswith("0.") else text


def test_nejm_p_rule_exhaustive_on_a_grid_of_five_decimals():
    # every P from 0.00000 to 1.00000 in steps of 0.00001, as a decimal literal
    for k in range(0, 100001):
        x = Fraction(k, 100000)
        assert p_nejm(float(f"{k / 100000:.5f}")) == _nejm_oracle(x), k


def test_ama_p_rule_exhaustive_on_a_grid_of_five_decimals():
    for k in range(0, 100001):
        x = Fraction(k, 100000)
        assert p_ama(float(f"{k / 100000:.5f}")) == _ama_oracle(x), k


@pytest.mark.parametrize(("p", "nejm", "jama"), [
    (0.5, "0.50", ".50"),            # > 0.01: two decimals
    (0.0123, "0.01", ".01"),
    (0.01, "0.01", ".01"),           # boundary: 0.01 itself has two decimals
    (0.00999, "0.010", ".010"),      # 0.001-0.01: three decimals
    (0.002, "0.002", ".002"),        # AMA's own example "P = .002"
    (0.001, "0.001", ".001"),        # boundary: 0.001 is not < 0.001
    (0.000999, "<0.001", "<.001"),   # below 0.001
    (0.0, "<0.001", "<.001"),
    (0.046, "0.05", ".046"),         # AMA: keep 3 digits if 2 would read nonsignificant
    (0.044, "0.04", ".04"),
    (0.0501, "0.05", ".05"),
    (0.996, ">0.99", ">.99"),        # never "1.00" for a P below 1
    (1.0, "1.00", "1.00"),
])
def test_p_thresholds(p, nejm, jama):
    assert STYLES["nejm"].p(p) == nejm
    assert STYLES["jama"].p(p) == jama


def test_default_style_is_r_format_pval_unchanged():
    assert STYLES["remission"].p(0.0456) == "0.0456"
    assert STYLES["remission"].p(0.0004) == "<0.001"


@pytest.mark.parametrize(("x", "text"), [
    (0.040, "0.040"), (0.0399, "0.0399"), (0.399, "0.399"), (0.40, "0.40"), (3.99, "3.99"),
    (4.0, "4.0"), (39.9, "39.9"), (40.0, "40"), (1.5, "1.50"), (0.7512, "0.75"),
    (22.68, "22.7"), (7.51, "7.5"), (73.67, "74"), (0.1235, "0.124"), (0.455, "0.46"),
])
def test_rule_of_four(x, text):
    # Cole 2015: three decimals 0.040-0.399, two 0.40-3.99, one 4.0-39.9; his example
    # 22.68 (7.51 to 73.67) -> 22.7 (7.5 to 74); ties rounded half up.
    assert ratio_rule_of_four(x) == text


def test_ama_percent_has_no_more_digits_than_its_denominator():
    jama = STYLES["jama"]
    assert jama.percent(9 / 28 * 100, 28) == "32%"  # the Manual's example
    assert [percent_decimals_ama(n) for n in (1, 9, 10, 99, 100, 999, 1000)] == [
        0, 0, 0, 0, 1, 1, 1]
    # every k/n with n < 100 is a whole percentage, half up, computed exactly
    for n in range(1, 100):
        for k in range(n + 1):
            exact = Fraction(100 * k, n)
            want = int(exact + Fraction(1, 2))
            if k > 0 and want == 0:
                text = "<1%"
            elif k < n and want == 100:
                text = ">99%"
            else:
                text = f"{want}%"
            assert jama.proportion(k / n, n) == text, (k, n)
    assert jama.percent(32.14, None) == "32.1%"  # denominator unknown: one decimal


# ---------------------------------------------------------------- roles
def test_text_in_a_p_named_column_is_a_value_not_a_crash():
    # issue 13: "a text value in a *_p column raises"
    t = pd.DataFrame({"trend_p": ["not estimable", 0.04], "p": [0.2, np.nan]}, index=["a", "b"])
    roles = infer_roles(["trend_p", "p"], [t["trend_p"].tolist(), t["p"].tolist()])
    assert [r.kind for r in roles] == ["value", "p"]
    dt = display_table(Result("t", "T", t, "m"))
    assert [c.text for c in dt.rows[0][1]] == ["not estimable", "0.2"]


def test_declared_roles_win_over_names():
    t = pd.DataFrame({"est": [0.4567], "l95": [0.21], "u95": [0.993], "wald": [0.0456]},
                     index=["age"])
    r = Result("t", "T", t, "m", params={"conf": 0.95},
               roles={"est": "ratio", "l95": "ci_low:est", "u95": "ci_high:est",
                      "wald": "p"})
    dt = display_table(r, style="nejm")
    assert dt.columns == ("Est", "Est 95% CI", "Wald")
    assert [c.text for c in dt.rows[0][1]] == ["0.46", "0.210–0.99", "0.05"]
    # the same table without declared roles: nothing guessed from these names
    plain = display_table(Result("t", "T", t, "m"), style="nejm")
    assert [c.text for c in plain.rows[0][1]] == ["0.457", "0.21", "0.993", "0.0456"]


def test_unknown_declared_role_raises_at_construction():
    with pytest.raises(ValueError, match="unknown column role"):
        Result("t", "T", pd.DataFrame({"x": [1]}), "m", roles={"x": "pvalue"})


def test_cox_declares_its_roles_and_prints_by_the_style():
    from remission.survival import cox

    rng = np.random.default_rng(3)
    d = pd.DataFrame({"t": rng.exponential(10, 60), "e": rng.integers(0, 2, 60),
                      "x": rng.integers(0, 2, 60)})
    res = cox("t", "e", ["x"], data=d)
    assert res.roles["HR"] == "ratio" and res.roles["HR_lo"] == "ci_low:HR"
    dt = display_table(res, style="nejm")
    hr = dt.rows[0][1][dt.columns.index("HR")].text
    assert hr == ratio_rule_of_four(res.table.loc["x", "HR"])


# ---------------------------------------------------------------- study.toml and report
def test_number_style_in_study_toml_reaches_the_report(tmp_path: Path):
    import shutil

    from remission.pipeline import bundle_for, validate_folder
    from remission.report.methods import methods_paragraph

    root = Path(__file__).resolve().parents[1]
    dst = tmp_path / "s"
    shutil.copytree(root / "examples" / "cll1-post-hsct", dst)
    toml = dst / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[report]\nnumber_style = "jama"\n',
                    encoding="utf-8")
    validate_folder(dst)
    bundle = bundle_for(dst, figures=False)
    assert bundle.study.number_style == "jama"
    text = methods_paragraph(bundle)
    assert "AMA Manual of Style" in text
    tests = bundle.results["response.tests"]
    dt = display_table(tests, style=bundle.study.number_style)
    pcol = dt.columns.index("P")
    for (_, cells), p in zip(dt.rows, tests.table["p"], strict=True):
        assert cells[pcol].text == STYLES["jama"].p(p)
        assert not cells[pcol].text.startswith("0.")


def test_unknown_number_style_is_a_problem_with_its_line(tmp_path: Path):
    import shutil

    from remission.errors import InputError
    from remission.pipeline import validate_folder

    root = Path(__file__).resolve().parents[1]
    dst = tmp_path / "s"
    shutil.copytree(root / "examples" / "cll1-post-hsct", dst)
    toml = dst / "study.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text + '\n[report]\nnumber_style = "lancet"\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        validate_folder(dst)
    (prob,) = [p for p in exc.value.problems if p.column == "report.number_style"]
    assert prob.row == len(text.splitlines()) + 3
    assert "nejm" in prob.expected


def test_survival_results_declare_their_roles():
    from remission.stats.survival import kaplan_meier, rmst

    rng = np.random.default_rng(1)
    t = np.round(rng.exponential(300, 40)) + 1
    e, g = rng.integers(0, 2, 40), rng.choice(["A", "B"], 40)
    km = kaplan_meier(t, e, g, landmarks=[180])
    assert km.roles["median_lo"] == "ci_low:median" and km.roles["S@180_hi"] == "ci_high:S@180"
    assert km.roles["events"] == "count"
    rm = rmst(t, e, g, tau=365)
    assert [str(r) for r in rm.column_roles()] == [
        "estimate", "estimate", "ci_low:estimate", "ci_high:estimate", "p"]


def test_km_median_not_reached_prints_nr_not_a_dash():
    # A Kaplan-Meier median (or a limit of its CI) that is missing was not reached: the
    # curve (or its confidence band) never fell to 0.5. Survival reports print "NR"
    # ("median not reached (95% CI 230-NR)"); a dash would read as "unknown".
    from remission.stats.survival import kaplan_meier

    # Oracle: R 4 survival, run live on 2026-11-30 (same data):
    #   t <- c(5, 8, 10, 12, 14, 16, 18, 20, 22, 24, 1, 2, 3, 4, 6, 7, 9, 11, 13, 15)
    #   e <- c(1, 1, rep(0, 8), rep(1, 10)); g <- rep(c("A", "B"), each = 10)
    #   summary(survfit(Surv(t, e) ~ g))$table[, c("median", "0.95LCL", "0.95UCL")]
    #   g=A: NA NA NA;  g=B: 6.5 3 NA
    # group A: 2 deaths in 10 -> S never reaches 0.5 (median NR); group B: all die, S(6) = 5/10
    t = np.array([5, 8, 10, 12, 14, 16, 18, 20, 22, 24, 1, 2, 3, 4, 6, 7, 9, 11, 13, 15])
    e = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] + [1] * 10)
    g = np.array(["A"] * 10 + ["B"] * 10)
    km = kaplan_meier(t, e, g)
    assert np.isnan(km.table.loc["A", "median"]) and km.table.loc["B", "median"] == 6.5
    dt = display_table(km)
    med = dt.columns.index("Median")
    ci = next(i for i, c in enumerate(dt.columns) if c.startswith("Median") and "CI" in c)
    rows = {r[0]: [c.text for c in r[1]] for r in dt.rows}
    assert rows["A"][med] == "NR"
    assert rows["B"][med] == "6.5"  # S = 0.5 exactly on [6, 7): R takes the midpoint
    assert rows["A"][ci] == "NR–NR"  # neither band reached 0.5 (R survfit: NA NA NA)
    assert rows["B"][ci] == "3–NR"  # R survfit: 0.95LCL 3, UCL NA
    # hand-built: median reached, upper limit not reached
    r = Result("km", "KM", pd.DataFrame({"median": [230.0], "median_lo": [120.0],
                                         "median_hi": [np.nan]}, index=["all"]), "m",
               roles={"median": "event_time", "median_lo": "ci_low:median",
                      "median_hi": "ci_high:median"})
    assert [c.text for c in display_table(r).rows[0][1]] == ["230", "120–NR"]
