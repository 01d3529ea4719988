"""Summaries of continuous variables to the precision of the data as recorded (journal
number styles ``nejm`` and ``jama``; ``remission`` keeps 3 significant digits).

The rule (remission.numbers.format_summary) implements the AMA Manual of Style, 10th ed.,
section 20.8 (Significant digits), whose text reads:

    "numbers should be rounded to reflect the precision of the instrument or
    measurement; for example, for a scale accurate to 0.1 kg, a weight should be
    expressed as 75.2 kg, not 75.23 kg. [...] Numbers that result from calculations,
    such as means and SDs, should be expressed to no more than 1 significant digit beyond
    the accuracy of the instrument. Thus, the mean (SD) of weights of individuals weighed
    on a scale accurate to 0.1 kg should be expressed as 62.45 (4.13) kg. Adult age is
    reported rounded to 1-year increments, so the mean could be expressed as, for
    example, 47.7 years."

Minimum and maximum are recorded values (recorded decimals); median and quartiles are
recorded values or fall between two (recorded decimals on the grid, else one more: the
midpoint of two values for an even n is exact there); mean and SD get one decimal more.
Every expected string below is worked by hand from the data (type-7 quartiles, as R).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from remission.numbers import (
    SUMMARY_KINDS,
    decimals_of_text,
    format_summary,
    recorded_decimals,
    summary_places,
)
from remission.report.publication import find_tests, publication_table
from remission.report.tables import display_table
from remission.stats.descriptive import table1

NAN = math.nan


# ------------------------------------------------------------ recorded decimals
@pytest.mark.parametrize(("values", "want"), [
    ([63, 71, NAN, 48], 0),                       # integer ages with a missing value
    ([63.0, 71.0, 48.0], 0),                      # integers read as floats
    ([12.1, 9.8, NAN, 13.0, 10.4], 1),            # haemoglobin g/dL, 13.0 read as 13
    ([0.85, 1.2, 0.9, 1.07], 2),                  # creatinine mg/dL
    ([0.1 + 0.2, 1.5], 1),                        # float noise: 0.30000000000000004
    ([-1.25, 3.0], 2),                            # negative values
    ([1e15, 2e14], 0),                            # huge values (the parser's largest)
    ([1e-6, 0.5], 6),                             # six decimals: still known
    ([1e-7, 0.5], None),                          # seven: beyond MAX_RECORDED_DECIMALS
    ([1 / 3, 0.5], None),                         # a computed value has no precision
    ([NAN, None, pd.NA], None),                   # all missing
    ([], None),
    ([math.inf, 2.5], 1),                         # infinities ignored
    (pd.Series([5, 7, None], dtype="Int64"), 0),  # nullable integers
])
def test_recorded_decimals_from_values(values, want):
    assert recorded_decimals(values) == want


def test_recorded_decimals_from_source_text_counts_trailing_zeros():
    # text wins over the float: "1.20" was recorded to 0.01 although the double is 1.2
    assert recorded_decimals([1.2, 0.9], ["1.20", "0.90"]) == 2
    assert recorded_decimals([1.2, 0.9]) == 1
    assert recorded_decimals([1500.0, NAN], ["1.5e3", "NA"]) == 0
    assert recorded_decimals([0.025], ["2.5e-2"]) == 3
    assert recorded_decimals([NAN], ["NA"]) is None
    assert [decimals_of_text(t) for t in (" 70.50 ", "+3", "-0.5", ".5", "1e", "")] == \
        [2, 0, 1, 1, None, None]


# ------------------------------------------------------------ the rule, by its published text
def test_rule_reproduces_the_ama_manual_examples():
    # "the mean (SD) of weights ... on a scale accurate to 0.1 kg should be expressed as
    # 62.45 (4.13) kg": four weights recorded to 0.1 kg with mean 62.45 and SD 4.1316
    weights = [56.3, 63.8, 64.7, 65.0]
    d = recorded_decimals(weights)
    s = pd.Series(weights)
    assert d == 1
    assert format_summary(s.mean(), "calculated", d) == "62.45"
    assert format_summary(s.std(), "calculated", d) == "4.13"
    # "for a scale accurate to 0.1 kg, a weight should be expressed as 75.2 kg, not 75.23"
    assert format_summary(75.23, "value", 1) == "75.2"
    # "Adult age is reported rounded to 1-year increments, so the mean could be expressed
    # as, for example, 47.7 years"
    ages = [45, 48, 50]
    assert format_summary(sum(ages) / 3, "calculated", recorded_decimals(ages)) == "47.7"


@pytest.mark.parametrize(("value", "kind", "d", "want"), [
    (63.5, "location", 0, "63.5"),      # midpoint of 63 and 64: exact with one more decimal
    (64.0, "location", 0, "64"),        # midpoint of 63 and 65 is a recorded value
    (71.25, "location", 0, "71.3"),     # interpolated quartile: one more decimal, half up
    (71.24, "location", 0, "71.2"),
    (0.985, "location", 2, "0.985"),
    (13.0, "value", 1, "13.0"),         # a maximum recorded to 0.1 keeps its zero
    (34.0, "value", 0, "34"),
    (59.0, "calculated", 0, "59.0"),    # a mean of whole numbers: one decimal, always
    (-0.04, "calculated", 0, "0.0"),    # no negative zero
    (NAN, "calculated", 1, "—"),
    (0.0123, "calculated", None, "0.0123"),  # unknown precision: 3 significant digits
])
def test_format_summary_cases(value, kind, d, want):
    assert format_summary(value, kind, d) == want


def test_places_at_every_position_of_a_grid():
    # brute force over a grid: with d recorded decimals, recorded values and their
    # midpoints are printed exactly (never rounded), means one decimal beyond d
    for d in (0, 1, 2):
        step = 10 ** -d
        grid = [round(k * step, d) for k in range(-30, 31)]
        for a in grid:
            assert summary_places(a, "location", d) == d
            assert float(format_summary(a, "value", d)) == a
            for b in grid[::7]:
                mid = (a + b) / 2
                text = format_summary(mid, "location", d)
                assert float(text) == pytest.approx(mid, abs=1e-12), (a, b, text)
                assert len(text.partition(".")[2]) <= d + 1
            assert len(format_summary(a / 3, "calculated", d).partition(".")[2]) == d + 1
    with pytest.raises(ValueError):
        summary_places(1.0, "median", 0)


# ------------------------------------------------------------ table 1, hand oracle
def _adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "COHORT": ["All"] * 6, "COHORTN": [1] * 6,
        "age": [34, 51, 63, 64, 70, 72],                         # years, even n = 6
        "hb": [12.1, 9.8, NAN, 13.0, 10.4, 11.7],                # g/dL, one missing
        "creat": [0.85, 1.20, 0.90, 1.07, NAN, NAN],             # mg/dL, n = 4 (even)
        "blank": [NAN] * 6,                                      # nothing recorded
    })


# hand calculation (type-7 quartiles: h = (n - 1) p + 1)
# age: sorted 34 51 63 64 70 72; median (63+64)/2 = 63.5; Q1 h=2.25: 51 + .25*12 = 54;
#      Q3 h=4.75: 64 + .75*6 = 68.5; mean 354/6 = 59; SD sqrt(1020/5) = 14.283
# hb:  sorted 9.8 10.4 11.7 12.1 13.0; median 11.7, Q1 10.4, Q3 12.1; mean 57/5 = 11.4;
#      SD sqrt(6.70/4) = 1.2942
# creat: sorted .85 .90 1.07 1.20; median (.90+1.07)/2 = .985; Q1 h=1.75: .85+.75*.05 =
#      .8875; Q3 h=3.25: 1.07+.25*.13 = 1.1025; mean 4.02/4 = 1.005; SD sqrt(.0773/3) = .16052
ORACLE = {
    "jama": {
        "Age": ("63.5 (54–68.5)", "34–72", "59.0", "14.3"),
        "Hb": ("11.7 (10.4–12.1)", "9.8–13.0", "11.40", "1.29"),
        "Creatinine": ("0.985 (0.888–1.103)", "0.85–1.20", "1.005", "0.161"),
        "Blank": ("—", "—", "—", "—"),
    },
    "remission": {  # the default style: unchanged, 3 significant digits
        "Age": ("63.5 (54–68.5)", "34–72", "59", "14.3"),
        "Hb": ("11.7 (10.4–12.1)", "9.8–13", "11.4", "1.29"),
        "Creatinine": ("0.985 (0.887–1.1)", "0.85–1.2", "1", "0.161"),
        "Blank": ("—", "—", "—", "—"),
    },
}
ORACLE["nejm"] = ORACLE["jama"]
LABELS = {"age": "Age", "hb": "Hb", "creat": "Creatinine", "blank": "Blank"}


@pytest.mark.parametrize("style", ["jama", "nejm", "remission"])
def test_table1_prints_each_variable_to_its_recorded_precision(style):
    (cont, *_) = table1(_adsl(), list(LABELS), [], LABELS)
    assert cont.display["decimals"] == {"Age": 0, "Hb": 1, "Creatinine": 2, "Blank": None}
    assert cont.display["summaries"] == SUMMARY_KINDS
    pub = publication_table(cont, style=style)
    rows = dict(pub.rows)
    labels = [lab for lab, _ in pub.rows]
    tidy = display_table(cont, style=style)
    col = {c: i for i, c in enumerate(tidy.columns)}
    for var, (med_iqr, rng, mean, sd) in ORACLE[style].items():
        i = labels.index(var)
        assert labels[i + 1] == "Median (IQR)" and labels[i + 2] == "Range"
        assert pub.rows[i + 1][1][0].text == med_iqr, var
        assert pub.rows[i + 2][1][0].text == rng, var
        (cells,) = [c for k, c in tidy.rows if k.startswith(f"{_key(var)} |")]
        assert (cells[col["Mean"]].text, cells[col["SD"]].text) == (mean, sd), var
    assert "Missing, n" in rows  # hb, creat and blank have missing values


def _key(label: str) -> str:
    return {v: k for k, v in LABELS.items()}[label]


def test_decimals_from_the_source_text_override_the_values():
    # creatinine .8 1.2 .9 1.1 typed as "0.80", "1.20", ...: recorded to 0.01, which the
    # floats alone cannot tell (they read as one decimal)
    adsl = _adsl().assign(creat=[0.8, 1.2, 0.9, 1.1, NAN, NAN])
    # sorted .8 .9 1.1 1.2: median 1.0; Q1 h=1.75: .8+.75*.1 = .875; Q3 1.1+.25*.1 = 1.125
    (cont, *_) = table1(adsl, ["creat"], [], LABELS)
    assert cont.display["decimals"] == {"Creatinine": 1}
    texts = [c[0].text for _, c in publication_table(cont, style="jama").rows]
    assert texts[1:3] == ["1.0 (0.88–1.13)", "0.8–1.2"]
    (cont, *_) = table1(adsl, ["creat"], [], LABELS, decimals={"creat": 2})
    assert cont.display["decimals"] == {"Creatinine": 2}
    texts = [c[0].text for _, c in publication_table(cont, style="jama").rows]
    assert texts[1:3] == ["1.00 (0.875–1.125)", "0.80–1.20"]


def test_each_group_column_uses_the_variable_precision():
    adsl = _adsl()
    adsl["COHORT"] = ["A", "A", "A", "B", "B", "B"]
    adsl["COHORTN"] = [1, 1, 1, 2, 2, 2]
    res = {r.name: r for r in table1(adsl, ["age"], [], LABELS)}
    cont = res["baseline.continuous"]
    pub = publication_table(cont, find_tests(cont, res), style="jama")
    assert pub.columns == ("Overall (N = 6)", "A (N = 3)", "B (N = 3)", "P")
    rows = {lab: [c.text for c in cells] for lab, cells in pub.rows}
    # A: 34 51 63 -> median 51, Q1 h=1.5: 34+.5*17 = 42.5, Q3 51+.5*12 = 57
    # B: 64 70 72 -> median 70, Q1 64+.5*6 = 67, Q3 70+.5*2 = 71
    assert rows["Median (IQR)"][:3] == ["63.5 (54–68.5)", "51 (42.5–57)", "70 (67–71)"]
    assert rows["Range"][:3] == ["34–72", "34–63", "64–72"]


# ------------------------------------------------------------ a study folder, end to end
def test_study_folder_decimals_reach_the_jama_table(tmp_path: Path):
    from remission.pipeline import analyse
    from remission.study import load_study

    (tmp_path / "study.toml").write_text(
        'format = 1\n[study]\nname = "precision"\ndisease = "AML"\nproducts = ["CAR-T"]\n'
        'day0 = "infusion"\n[report]\nnumber_style = "jama"\n', encoding="utf-8")
    (tmp_path / "patients.csv").write_text(
        "patient_id,age,weight_kg,transduction_pct\n"
        "P1,34,70,20.50\n"
        "P2,51,81.2,31.20\n"
        "P3,63,NA,18.70\n"
        "P4,64,64.4,40.10\n", encoding="utf-8")
    study = load_study(tmp_path)
    assert study.decimals == {"age": 0, "weight_kg": 1, "transduction_pct": 2}
    a = analyse(study, figures=False)
    cont = a.results["baseline.continuous"]
    rows = [(lab, cells[0].text) for lab, cells in publication_table(cont, style="jama").rows]
    labels = [lab for lab, _ in rows]
    i = labels.index("Weight, kg")
    # weights 70 (written "70"), 81.2, 64.4: median 70.0, Q1 h=1.5: 64.4+.5*5.6 = 67.2,
    # Q3 70+.5*11.2 = 75.6, range 64.4-81.2
    assert rows[i + 1:i + 3] == [("Median (IQR)", "70.0 (67.2–75.6)"),
                                 ("Range", "64.4–81.2")]
    j = labels.index("Transduction rate, %")
    # typed to 0.01 ("20.50", "31.20", "18.70", "40.10") although every double has one
    # decimal: sorted 18.70 20.50 31.20 40.10; median (20.50+31.20)/2 = 25.85 (on the
    # 0.01 grid); Q1 h=1.75: 18.70+.75*1.80 = 20.05; Q3 h=3.25: 31.20+.25*8.90 = 33.425
    assert rows[j + 1:j + 3] == [("Median (IQR)", "25.85 (20.05–33.425)"),
                                 ("Range", "18.70–40.10")]
    k = labels.index("Age, years")
    # ages 34 51 63 64: median (51+63)/2 = 57 (a whole year: no decimal); Q1 h=1.75:
    # 34+.75*17 = 46.75 -> 46.8; Q3 h=3.25: 63+.25*1 = 63.25 -> 63.3 (half up)
    assert rows[k + 1:k + 3] == [("Median (IQR)", "57 (46.8–63.3)"), ("Range", "34–64")]
