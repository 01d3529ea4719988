"""Publication layout ("Table 1 as in a paper") from ``Result.display``: pivot, templates,
N headers, two-level rows, P lookup, HTML <details>, docx cells, reproducibility.

Expected cell texts are written out by hand from the tidy values (e.g. 7/12 = 58.33 % ->
"7 (58.3%)"); the pivot computes nothing, so the oracle is the tidy table itself.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from remission.report import ReportBundle, StudyInfo, write_report
from remission.report.format import (
    CELL_TEMPLATES,
    MISSING,
    find_tests,
    publication_table,
)
from remission.report.html import render_html
from remission.results import Result, ResultSet

ROOT = Path(__file__).resolve().parents[1]
NAN = math.nan
EVIL = '<b onmouseover="x">&</b>'


def _frame(rows: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index")


def grades() -> Result:
    """CRS grades, tidy order A, Overall, B; 'grade 2' listed before 'grade 1'; B lacks
    'grade 2' (absent cell)."""
    rows = {
        "grade 2 | A": {"grade": "grade 2", "group": "A", "n": 1, "N": 4, "pct": 25.0},
        "grade 1 | A": {"grade": "grade 1", "group": "A", "n": 3, "N": 4, "pct": 75.0},
        "grade 2 | Overall": {"grade": "grade 2", "group": "Overall", "n": 5, "N": 12,
                              "pct": 100 * 5 / 12},
        "grade 1 | Overall": {"grade": "grade 1", "group": "Overall", "n": 7, "N": 12,
                              "pct": 100 * 7 / 12},
        "grade 1 | B": {"grade": "grade 1", "group": "B", "n": 0, "N": 8, "pct": 0.0},
    }
    return Result("safety.crs", "CRS", _frame(rows), "Counts.", section="safety",
                  display={"rows": "grade", "columns": "group", "cell": "n_pct"})


def continuous(missing_b: int = 0) -> Result:
    def rec(var, g, n, med, q1, q3, lo, hi, miss=0):
        return {"variable": var, "group": g, "n": n, "missing": miss, "median": med, "q1": q1,
                "q3": q3, "min": lo, "max": hi, "mean": med, "sd": 1.0}

    rows = {
        "age | Overall": rec("Age, years", "Overall", 12, 30.5, 17.75, 38.75, 10.0, 48.0),
        "age | A": rec("Age, years", "A", 4, 23.5, 17.75, 33.5, 17.0, 47.0),
        "age | B": rec("Age, years", "B", 8 - missing_b, 47.0, 39.0, 47.5, 31.0, 48.0,
                       missing_b),
        "delta | Overall": rec("Change, %", "Overall", 12, -0.25, -1.5, 0.75, -3.0, 2.0),
        "delta | A": rec("Change, %", "A", 4, NAN, NAN, NAN, NAN, NAN),
        "delta | B": rec("Change, %", "B", 8, 0.5, 0.25, 1.0, 0.0, 2.0),
    }
    return Result("baseline.continuous", "Continuous", _frame(rows), "Median (IQR).",
                  section="baseline",
                  display={"rows": "variable", "columns": "group", "cell": "median_iqr"})


def categorical(missing: bool = False) -> Result:
    rows = {}
    for var, cats in (("Sex", {"F": (7, 3, 4), "M": (5, 1, 4)}),
                      ("CNS disease", {"No": (10, 4, 6), "Yes": (2, 0, 2)})):
        for cat, counts in cats.items():
            for g, k, n in zip(("Overall", "A", "B"), counts, (12, 4, 8), strict=True):
                rows[f"{var} = {cat} | {g}"] = {"variable": var, "category": cat, "group": g,
                                                "n": k, "N": n, "pct": 100 * k / n}
    if missing:  # one patient of A without a value: N of A differs between rows
        rows["CNS disease = No | A"]["n"] = 3
        for key in ("CNS disease = No | A", "CNS disease = Yes | A"):
            rows[key]["N"] = 3
            rows[key]["pct"] = 100 * rows[key]["n"] / 3
        rows["CNS disease = (missing) | A"] = {"variable": "CNS disease",
                                              "category": "(missing)", "group": "A", "n": 1,
                                              "N": 4, "pct": NAN}
    return Result("baseline.categorical", "Categorical", _frame(rows), "Counts.",
                  section="baseline",
                  display={"rows": ["variable", "category"], "columns": "group",
                           "cell": "n_pct"})


def make_tests(section: str = "baseline", dup: bool = False) -> Result:
    rows = {
        "age": {"variable": "Age, years", "test": "Kruskal-Wallis", "statistic": 3.46,
                "p": 0.17712},
        "delta": {"variable": "Change, %", "test": "Wilcoxon rank-sum", "statistic": 2.0,
                  "p": 0.0004},
        "sex": {"variable": "Sex", "test": "Fisher's exact", "statistic": NAN, "p": 0.7727},
        "cns": {"variable": "CNS disease", "test": "Kruskal-Wallis", "statistic": 1.0,
                "p": 1.0},
    }
    if dup:
        rows["sex2"] = dict(rows["sex"])
    return Result("baseline.tests", "Tests", _frame(rows), "Tests.", section=section)


def rates(conf: float = 0.95) -> Result:
    rows = {
        "ORR | Overall": {"endpoint": "Overall response", "group": "Overall", "n": 11, "N": 12,
                          "pct": 100 * 11 / 12, "ci_low": 61.520383, "ci_high": 99.789241},
        "ORR | B": {"endpoint": "Overall response", "group": "B", "n": 3, "N": 3,
                    "pct": 100.0, "ci_low": 29.240177, "ci_high": 100.0},
        "CR | B": {"endpoint": "Complete remission", "group": "B", "n": 0, "N": 3,
                   "pct": 0.0, "ci_low": 0.0, "ci_high": 70.759823},
        "ORR | C": {"endpoint": "Overall response", "group": "C", "n": 0, "N": 0,
                    "pct": NAN, "ci_low": NAN, "ci_high": NAN},
    }
    return Result("response.rates", "Rates", _frame(rows), "Clopper-Pearson.",
                  params={"conf": conf}, section="efficacy",
                  display={"rows": "endpoint", "columns": "group", "cell": "pct_ci"})


def texts(t) -> list[list[str]]:
    return [[label, *(c.text for c in cells)] for label, cells in t.rows]


# --------------------------------------------------------------------------- pivot


def test_registry_names():
    assert set(CELL_TEMPLATES) == {"n_pct", "median_iqr", "median_range", "pct_ci"}


def test_n_pct_overall_first_row_order_missing_cell_and_n_headers():
    t = publication_table(grades())
    assert t.index_header == "Grade"
    assert t.columns == ("Overall (N = 12)", "A (N = 4)", "B (N = 8)")
    assert texts(t) == [
        ["grade 2", "5 (41.7%)", "1 (25.0%)", MISSING],  # first appearance, absent in B
        ["grade 1", "7 (58.3%)", "3 (75.0%)", "0 (0.0%)"],
    ]
    assert t.row_kinds == ("", "")
    assert t.notes == ("Data are n (%).",)
    # traceability: the hover text names the tidy row key and the unrounded values
    assert t.rows[1][1][0].raw == ("grade 1 | Overall: n=7; N=12; pct=58.333333333333336")
    assert t.rows[0][1][2].raw == "not in the tidy table"


def test_n_pct_two_level_rows_headings_and_indent():
    t = publication_table(categorical())
    assert t.index_header == "Characteristic"
    assert t.columns == ("Overall (N = 12)", "A (N = 4)", "B (N = 8)")
    assert texts(t) == [
        ["Sex", "", "", ""],
        ["F", "7 (58.3%)", "3 (75.0%)", "4 (50.0%)"],
        ["M", "5 (41.7%)", "1 (25.0%)", "4 (50.0%)"],
        ["CNS disease", "", "", ""],
        ["No", "10 (83.3%)", "4 (100.0%)", "6 (75.0%)"],
        ["Yes", "2 (16.7%)", "0 (0.0%)", "2 (25.0%)"],
    ]
    assert t.row_kinds == ("group", "sub", "sub", "group", "sub", "sub")


def test_two_level_rows_interleaved_are_grouped_under_their_heading():
    rows = {
        "x=a": {"variable": "X", "category": "a", "group": "G", "n": 1, "N": 2, "pct": 50.0},
        "y=a": {"variable": "Y", "category": "a", "group": "G", "n": 2, "N": 2, "pct": 100.0},
        "x=b": {"variable": "X", "category": "b", "group": "G", "n": 1, "N": 2, "pct": 50.0},
    }
    r = Result("baseline.categorical", "t", _frame(rows), "m",
               display={"rows": ["variable", "category"], "columns": "group", "cell": "n_pct"})
    t = publication_table(r)
    assert [label for label, _ in t.rows] == ["X", "a", "b", "Y", "a"]


def test_n_pct_denominators_differ_within_group_header_without_n_cells_n_over_n():
    t = publication_table(categorical(missing=True))
    assert t.columns == ("Overall (N = 12)", "A", "B (N = 8)")
    rows = texts(t)
    assert rows[4] == ["No", "10 (83.3%)", "3/3 (100.0%)", "6 (75.0%)"]
    assert rows[5] == ["Yes", "2 (16.7%)", "0/3 (0.0%)", "2 (25.0%)"]
    assert rows[6] == ["(missing)", MISSING, "1", MISSING]  # a count has no share
    assert rows[1][2] == "3/4 (75.0%)"
    assert "n/N (%)" in t.notes[0]


def test_median_iqr_heading_median_range_negative_and_missing_rows():
    t = publication_table(continuous())
    assert t.columns == ("Overall (N = 12)", "A (N = 4)", "B (N = 8)")
    assert texts(t) == [
        ["Age, years", "", "", ""],
        ["Median (IQR)", "30.5 (17.8–38.8)", "23.5 (17.8–33.5)", "47 (39–47.5)"],
        ["Range", "10–48", "17–47", "31–48"],
        ["Change, %", "", "", ""],
        ["Median (IQR)", "-0.25 (-1.5 to 0.75)", MISSING, "0.5 (0.25–1)"],
        ["Range", "-3 to 2", MISSING, "0–2"],
    ]
    assert t.row_kinds == ("group", "sub", "sub") * 2
    assert t.notes == ("Data are median (IQR) and range.",)


def test_median_iqr_missing_values_add_a_missing_row_and_drop_the_n_header():
    t = publication_table(continuous(missing_b=2))
    assert t.columns == ("Overall (N = 12)", "A (N = 4)", "B")  # n of B is not its size
    rows = texts(t)
    assert rows[3] == ["Missing, n", "0", "0", "2"]
    assert [r[0] for r in rows].count("Missing, n") == 1  # only where something is missing


def test_median_range_template():
    r = continuous()
    r = Result(r.name, r.title, r.table, r.method, section=r.section,
               display={"rows": "variable", "columns": "group", "cell": "median_range"})
    t = publication_table(r)
    assert texts(t) == [["Age, years", "30.5 (10–48)", "23.5 (17–47)", "47 (31–48)"],
                        ["Change, %", "-0.25 (-3 to 2)", MISSING, "0.5 (0–2)"]]
    assert t.notes == ("Data are median (range).",)


def test_pct_ci_template_bounds_100_percent_zero_and_missing():
    t = publication_table(rates())
    assert t.columns == ("Overall (N = 12)", "B (N = 3)", "C (N = 0)")
    assert texts(t) == [
        ["Overall response", "91.7% (61.5–99.8)", "100.0% (29.2–100.0)", MISSING],
        ["Complete remission", MISSING, "0.0% (0.0–70.8)", MISSING],  # absent, then empty
    ]
    assert t.notes == ("Data are % (95% CI).",)
    assert publication_table(rates(conf=0.9)).notes == ("Data are % (90% CI).",)


def test_pct_ci_with_differing_denominators_prints_n_over_n():
    r = rates()
    tab = r.table.copy()
    tab.loc["CR | B", ["n", "N", "pct"]] = [1, 2, 50.0]  # 2 of 3 evaluable for CR in B
    t = publication_table(Result(r.name, r.title, tab, r.method, params=r.params,
                                 display=r.display))
    assert t.columns[1] == "B"
    assert texts(t)[0][2] == "3/3, 100.0% (29.2–100.0)"
    assert texts(t)[1][2] == "1/2, 50.0% (0.0–70.8)"


@pytest.mark.parametrize("display", [
    {},
    {"rows": "grade", "columns": "group", "cell": "mean_sd"},      # unknown template
    {"rows": "nope", "columns": "group", "cell": "n_pct"},         # missing rows column
    {"rows": "grade", "columns": "arm", "cell": "n_pct"},          # missing columns column
    {"rows": "grade", "columns": "group", "cell": "median_iqr"},   # template needs median
    {"rows": "grade", "columns": ["group"], "cell": "n_pct"},      # columns must be one name
])
def test_display_that_does_not_fit_gives_none(display):
    r = grades()
    assert publication_table(Result(r.name, r.title, r.table, r.method,
                                    display=display)) is None


def test_two_tidy_rows_for_one_cell_fall_back_rather_than_hide_one():
    r = grades()
    tab = pd.concat([r.table, r.table.iloc[[0]].rename(index=lambda k: k + " (dup)")])
    assert publication_table(Result(r.name, r.title, tab, r.method, display=r.display)) is None


def test_max_rows_truncates_and_counts():
    t = publication_table(categorical(), max_rows=4)
    assert len(t.rows) == len(t.row_kinds) == 4 and t.n_rows_total == 6 and t.truncated


# --------------------------------------------------------------------------- P column


def test_p_column_looked_up_by_variable_with_test_footnotes():
    res = ResultSet([continuous(), categorical(), make_tests()])
    t = publication_table(res["baseline.continuous"], find_tests(res["baseline.continuous"], res))
    assert t.columns[-1] == "P"
    rows = texts(t)
    assert rows[0] == ["Age, years", "", "", "", "0.177ᵃ"]
    assert rows[3] == ["Change, %", "", "", "", "<0.001ᵇ"]
    assert all(r[-1] == "" for r in rows if r[0] in ("Median (IQR)", "Range"))
    assert t.notes[1:] == ("ᵃ Kruskal-Wallis test.", "ᵇ Wilcoxon rank-sum test.")
    assert t.rows[0][1][-1].raw == "baseline.tests | age: p=0.17712; test=Kruskal-Wallis"
    c = publication_table(res["baseline.categorical"],
                          find_tests(res["baseline.categorical"], res))
    crow = texts(c)
    assert crow[0][-1] == "0.773ᵃ" and crow[3][-1] == "1ᵇ"   # letters per table
    assert crow[1][-1] == crow[2][-1] == ""
    assert c.notes[1:] == ("ᵃ Fisher's exact test.", "ᵇ Kruskal-Wallis test.")


def test_p_column_on_plain_rows_and_unmatched_rows_print_dash():
    rr = rates()
    t_tab = _frame({"ORR": {"endpoint": "Overall response", "test": "Fisher's exact",
                            "p": 0.583333}})
    res = ResultSet([rr, Result("response.tests", "t", t_tab, "m", section="efficacy")])
    t = publication_table(rr, find_tests(rr, res))
    assert texts(t)[0][-1] == "0.583ᵃ" and texts(t)[1][-1] == MISSING
    assert t.notes[-1] == "ᵃ Fisher's exact test."


def test_no_p_column_when_tests_absent_elsewhere_ambiguous_or_unmatched():
    cont = continuous()
    assert find_tests(cont, ResultSet([cont])) is None
    other = ResultSet([cont, make_tests(section="efficacy")])
    assert find_tests(cont, other) is None
    dup = ResultSet([categorical(), make_tests(dup=True)])
    t = publication_table(dup["baseline.categorical"],
                          find_tests(dup["baseline.categorical"], dup))
    assert texts(t)[0][-1] == MISSING and texts(t)[3][-1] == "1ᵃ"  # Sex ambiguous: no p
    g = grades()
    none_match = Result("safety.tests", "t", _frame({"x": {"grade": "grade 9", "test": "T",
                                                           "p": 0.5}}), "m", section="safety")
    t = publication_table(g, find_tests(g, ResultSet([g, none_match])))
    assert "P" not in t.columns and all(len(c) == 3 for _, c in t.rows)


# --------------------------------------------------------------------------- renderers


def bundle(evil: bool = False) -> ReportBundle:
    cat = categorical()
    if evil:
        tab = cat.table.copy()
        tab["variable"] = tab["variable"].replace("Sex", EVIL)
        tab["group"] = tab["group"].replace("B", EVIL)
        cat = Result(cat.name, cat.title, tab, cat.method, section="baseline",
                     display=cat.display)
    study = StudyInfo(name="pub", disease="AML", products=("CAR-T",), day0="infusion",
                      n_patients=12)
    return ReportBundle(study, ResultSet([continuous(), cat, make_tests(), rates(),
                                          grades()]),
                        software={"remission": "0.1.0"})


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    return write_report(bundle(), tmp_path_factory.mktemp("pub") / "out")


def test_html_publication_table_first_and_tidy_in_details(written):
    html = written["html"].read_text("utf-8")
    art = html.split("id='res-baseline.categorical'")[1].split("</article>")[0]
    pub, rest = art.split("<details class='tidy'><summary>Data (tidy)</summary>")
    assert "<table class='pub'>" in pub
    assert "<th scope='col' class='num'>Overall (N = 12)</th>" in pub
    assert "<tr class='grp'><th scope='row'>Sex</th>" in pub
    assert "<th scope='row' class='sub'>F</th>" in pub and ">7 (58.3%)</td>" in pub
    assert ">0.773ᵃ</td>" in pub and "ᵃ Fisher&#x27;s exact test." in pub
    assert "Data are n (%)." in pub
    tidy = rest.split("</details>")[0]
    assert "<table>" in tidy and "Sex = F | Overall" in tidy and "58.3" in tidy
    # a Result without display has no <details>
    tests_art = html.split("id='res-baseline.tests'")[1].split("</article>")[0]
    assert "<details" not in tests_art and "class='pub'" not in tests_art
    assert "<script" not in html.lower()


def test_html_falls_back_to_tidy_when_display_does_not_fit():
    g = grades()
    bad = Result(g.name, g.title, g.table, g.method, section="safety",
                 display={"rows": "grade", "columns": "group", "cell": "unknown"})
    b = ReportBundle(StudyInfo("s", "AML", ("x",), "d"), ResultSet([bad]))
    html = render_html(b)
    assert "<details class='tidy'" not in html and "class='pub'" not in html and "n (%)" in html


def test_publication_html_escapes_names():
    html = render_html(bundle(evil=True))
    assert EVIL not in html
    assert "&lt;b onmouseover=&quot;x&quot;&gt;&amp;&lt;/b&gt;" in html
    assert "&lt;b onmouseover=&quot;x&quot;&gt;&amp;&lt;/b&gt; (N = 8)" in html


def test_docx_has_publication_table_only_with_bold_headings_and_indent(written):
    from docx import Document

    doc = Document(str(written["docx"]))
    assert len(doc.tables) == 5  # one per Result, the tidy tables are not repeated
    cat = doc.tables[1]
    assert [c.text for c in cat.rows[0].cells] == [  # "(N = n)" on its own line
        "Characteristic", "Overall\n(N = 12)", "A\n(N = 4)", "B\n(N = 8)", "P"]
    assert [c.text for c in cat.rows[1].cells] == ["Sex", "", "", "", "0.773ᵃ"]
    assert [c.text for c in cat.rows[2].cells] == ["F", "7 (58.3%)", "3 (75.0%)", "4 (50.0%)",
                                                   ""]
    head_xml = cat.rows[1].cells[0]._tc.xml
    sub_xml = cat.rows[2].cells[0]._tc.xml
    assert "<w:b/>" in head_xml and "w:ind" not in head_xml
    assert "<w:keepNext/>" in head_xml  # a heading never ends a page alone
    assert 'w:ind w:left="288"' in sub_xml and "<w:b/>" not in sub_xml
    assert "<w:noWrap/>" in cat.rows[2].cells[1]._tc.xml  # numbers never wrap
    assert 'w:insideH w:val="nil"' in cat._tbl.xml  # journal rules, no grid
    tidy_tbl = doc.tables[2]._tbl.xml  # baseline.tests has no display: grid as before
    assert "w:tblBorders" not in tidy_tbl
    rates_t = doc.tables[3]
    assert [c.text for c in rates_t.rows[1].cells] == [
        "Overall response", "91.7% (61.5–99.8)", "100.0% (29.2–100.0)", MISSING]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Data are median (IQR) and range.\nᵃ Kruskal-Wallis test." in text
    assert "Data are % (95% CI)." in text


def test_results_json_stays_tidy(written):
    data = json.loads(written["json"].read_text("utf-8"))
    cat = next(r for r in data["results"] if r["name"] == "baseline.categorical")
    assert cat["columns"] == ["variable", "category", "group", "n", "N", "pct"]
    assert cat["rows"][0] == {"row": "Sex = F | Overall", "variable": "Sex", "category": "F",
                              "group": "Overall", "n": 7, "N": 12, "pct": 100 * 7 / 12}
    assert cat["display"] == {"rows": ["variable", "category"], "columns": "group",
                              "cell": "n_pct"}


_RENDER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.test_report_publication import bundle
from remission.report import write_report
write_report(bundle(), Path(sys.argv[1]))
"""


def test_publication_render_byte_identical_across_processes(tmp_path, written):
    code = _RENDER.format(root=str(ROOT))
    for seed in ("1", "4242"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env, cwd=ROOT,
                       timeout=120)
        for name in ("report.html", "results.json", "tables.docx"):
            assert (out / name).read_bytes() == (written["html"].parent / name).read_bytes()
    with zipfile.ZipFile(io.BytesIO((tmp_path / "1" / "tables.docx").read_bytes())) as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}


def _wide_pub(n_groups: int) -> Result:
    rows = {}
    for g in ["Overall", *(f"Dose level {k}" for k in range(1, n_groups))]:
        for cat, k in (("CR", 7), ("PR", 3)):
            rows[f"{cat} | {g}"] = {"category": cat, "group": g, "n": k, "N": 120,
                                    "pct": 100 * k / 120}
    return Result("response.categories", "BOR", _frame(rows), "Counts.", section="efficacy",
                  display={"rows": "category", "columns": "group", "cell": "n_pct"})


def test_docx_size_and_orientation_from_measured_width():
    from remission.report.word import min_width, publication_fit, text_twips

    # em widths: "10 (83.3%)" = 5 digits x 0.58 + 4 narrow (space . ( )) x 0.3 + "%" 0.9
    # = 5.0 em; 9 pt = 180 twips per em
    assert text_twips("10 (83.3%)", 18) == 900
    narrow = publication_table(_wide_pub(3))
    assert publication_fit(narrow, 8640) == (18, False)
    wide = publication_table(_wide_pub(9))
    assert min_width(wide, 16) > 8640
    assert publication_fit(wide, 8640) == (16, True)


def test_docx_numeric_columns_keep_their_width_text_columns_wrap():
    from remission.report.word import CELL_PAD, column_widths, text_twips

    r = continuous()
    tab = r.table.replace({"Age, years": "Age at infusion of CAR-T cells, years"})
    t = publication_table(Result(r.name, r.title, tab, r.method, display=r.display))
    need = [max(text_twips(c[j].text, 18) for _, c in t.rows) + CELL_PAD for j in range(3)]
    assert need[0] == text_twips("-0.25 (-1.5 to 0.75)", 18) + CELL_PAD
    width = sum(need) + 1500  # too narrow for the labels on one line, wide enough to wrap
    widths = column_widths(t, width, size_half_pt=18)
    assert widths[1:] == need  # numbers keep their one-line width
    assert widths[0] == 1500  # the label column takes what is left
    roomy = column_widths(t, 20000, size_half_pt=18)
    assert sum(roomy) <= 20000 and roomy[1] > need[0]  # slack shared when all fits


def test_terminal_prints_publication_layout_with_p_and_notes():
    from remission.report.terminal import render

    text = render(bundle().results)
    block = text.split("[baseline.categorical]")[1].split("\n\n")[0]
    lines = block.splitlines()
    assert lines[2].split() == ["Characteristic", "Overall", "(N", "=", "12)", "A", "(N", "=",
                                "4)", "B", "(N", "=", "8)", "P"]
    assert lines[4].split() == ["Sex", "0.773ᵃ"]
    assert lines[5].startswith("  F ") and lines[5].split()[1:] == [
        "7", "(58.3%)", "3", "(75.0%)", "4", "(50.0%)"]
    assert "Data are n (%)." in lines and "ᵃ Fisher's exact test." in lines


def test_two_level_rows_with_a_multi_line_template():
    rows = {f"{v} {s} | G": {"variable": v, "subgroup": s, "group": "G", "n": 5, "missing": 0,
                             "median": 2.0, "q1": 1.0, "q3": 3.0, "min": 0.0, "max": 4.0}
            for v in ("CRP, mg/L",) for s in ("day 0", "day 7")}
    r = Result("kinetics.summary", "t", _frame(rows), "m",
               display={"rows": ["variable", "subgroup"], "columns": "group",
                        "cell": "median_iqr"})
    t = publication_table(r)
    assert t.columns == ("G (N = 5)",)
    assert texts(t) == [["CRP, mg/L", ""],
                        ["day 0, median (IQR)", "2 (1–3)"], ["day 0, range", "0–4"],
                        ["day 7, median (IQR)", "2 (1–3)"], ["day 7, range", "0–4"]]
    assert t.row_kinds == ("group", "sub", "sub", "sub", "sub")
