"""write_report: self-contained HTML, Word tables, JSON; escaping, audit, reproducibility."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.report import FigureItem, ReportBundle, StudyInfo, write_report
from remission.report.html import render_html
from remission.report.methods import methods_paragraph, references
from remission.report.terminal import render
from remission.results import Result, ResultSet

ROOT = Path(__file__).resolve().parents[1]
EVIL = '<script>alert("x")</script> & <img src=x onerror=1>'


def _results() -> list[Result]:
    rates = pd.DataFrame(
        {"n": [3, 2, 5], "N": [4, 3, 5], "prop": [0.75, 2 / 3, 1.0],
         "ci_lo": [0.19412044967368097, 0.094299324811470, 0.47817249010215],
         "ci_hi": [0.99369053470082, 0.99159624384, 1.0]},
        index=pd.Index(["A", "B", "C"], name="Dose group"),
    )
    trend = pd.DataFrame({"statistic": [10.8271], "p": [0.0009999]},
                         index=pd.Index(["MRD-negative CR"], name="Endpoint"))
    crs = pd.DataFrame({"n": [12, 4], "pct": [100.0, 33.33333333333333]},
                       index=pd.Index(["Any grade", "Grade ≥3"], name="CRS"))
    audit = pd.DataFrame(
        {"reported": ["75%", "3", "n.r."], "computed": [0.75, 4.0, np.nan],
         "verdict": ["agrees", "disagrees", "cannot be checked"]},
        index=pd.Index(["claim-1", "claim-2", "claim-3"], name="Claim"),
    )
    return [
        Result("response.rates", "Overall response by dose group", rates,
               method="Proportions with exact Clopper–Pearson confidence intervals.",
               rationale="Exact intervals because groups have fewer than 30 patients.",
               references=("Clopper CJ, Pearson ES. Biometrika 1934;26:404-13.",),
               params={"conf_level": 0.95, "test": "Clopper–Pearson exact interval"},
               section="efficacy"),
        Result("response.trend", f"Dose trend {EVIL}", trend,
               method="Cochran–Armitage test for trend across ordered dose groups.",
               warnings=(f"Only 12 patients {EVIL}", "Trend test has low power."),
               references=("Armitage P. Biometrics 1955;11:375-86.",
                           "Clopper CJ, Pearson ES. Biometrika 1934;26:404-13."),
               params={"test": "Cochran–Armitage trend test"}, section="efficacy"),
        Result("safety.crs", "Cytokine release syndrome", crs,
               method="Counts of patients by worst grade.", section="safety"),
        Result("audit.claims", "Reported numbers vs recomputed", audit,
               method="Each claim compared with the recomputed cell.", section="audit"),
    ]


def build_bundle(with_figure: bool = True) -> ReportBundle:
    from tests.test_plot_figures import cll1_adsl

    figures = []
    if with_figure:
        from remission.plot import response_by_group

        figures.append(FigureItem("fig.response", "Best response by dose group",
                                  "Counts and % of each dose group.", "efficacy",
                                  response_by_group(cll1_adsl())))
    study = StudyInfo(
        name="CLL-1 CAR-T after allo-HSCT relapse", disease="AML",
        products=("donor-derived CLL-1 CAR-T",), day0="CAR-T infusion",
        reference="Zhang M et al. Front Immunol 2025;15:1491341", n_patients=12,
        cohort_label="Dose group",
        criteria={"response": "as_recorded", "crs": "lee2014",
                  "neurotoxicity": "cres_cartox2018"},
        synthetic=True,
    )
    return ReportBundle(study=study, results=ResultSet(_results()), figures=figures,
                        software={"remission": "0.1.0", "numpy": "2.4.6"})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    return write_report(build_bundle(), tmp_path_factory.mktemp("rep") / "out")


def test_html_is_self_contained(rendered):
    html = rendered["html"].read_text("utf-8")
    urls = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)""", html, flags=re.I)
    assert urls, "expected the embedded figure and internal links"
    assert not [u for u in urls if re.match(r"(https?:)?//", u, flags=re.I)]
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert any(u.startswith("data:image/svg+xml;base64,") for u in urls)


def test_html_contents_titles_values_escaping_warnings_audit(rendered):
    html = rendered["html"].read_text("utf-8")
    for title in ("Overall response by dose group", "Cytokine release syndrome",
                  "Reported numbers vs recomputed"):
        assert title in html
    assert "3 (75.0%)" in html            # n (x.x%)
    assert "19.4–99.4" in html            # CI of a proportion, in %
    assert "95% CI (%)" in html
    assert "&lt;0.001" in html            # p = 0.0009999, escaped "<"
    assert "12 (100.0%)" in html and "4 (33.3%)" in html
    assert EVIL not in html and "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "class='warnings'" in html and "Trend test has low power." in html
    for word in ("✓ agrees", "✗ disagrees", "? cannot be checked"):
        assert word in html
    assert "v-disagrees" in html
    assert "SYNTHETIC DATA" in html
    # sections in bundle.SECTIONS order, only those present
    heads = re.findall(r"<h2>([^<]+)</h2>", html)
    assert heads == ["Efficacy", "Safety", "Audit of reported numbers", "Methods", "References"]
    assert "Figure 1.</strong> Best response by dose group." in html
    assert "<h3>Table 1. Overall response by dose group</h3>" in html  # same k as the docx


def test_references_deduplicated_and_methods_paragraph():
    bundle = build_bundle(with_figure=False)
    refs = references(bundle)
    assert refs == ["Clopper CJ, Pearson ES. Biometrika 1934;26:404-13.",
                    "Armitage P. Biometrics 1955;11:375-86."]
    text = methods_paragraph(bundle)
    for piece in ("exact Clopper–Pearson confidence intervals", "Cochran–Armitage test",
                  "Counts of patients by worst grade", "Clopper–Pearson exact interval and "
                  "Cochran–Armitage trend test", "Lee et al. 2014", "CARTOX 2018",
                  "as recorded by the investigators", "remission 0.1.0 and numpy 2.4.6",
                  "two-sided at the 95% level", "fewer than 30 patients"):
        assert piece in text, piece
    assert text.count("Counts of patients by worst grade") == 1


def test_docx_one_table_per_result_with_cell_text(rendered):
    from docx import Document

    doc = Document(str(rendered["docx"]))
    assert len(doc.tables) == 4
    t0 = doc.tables[0]
    assert [c.text for c in t0.rows[0].cells] == ["Dose group", "n (%)", "N", "95% CI (%)"]
    assert [c.text for c in t0.rows[1].cells] == ["A", "3 (75.0%)", "4", "19.4–99.4"]
    assert doc.tables[1].cell(1, 2).text == "<0.001"
    assert [r.cells[3].text for r in doc.tables[3].rows[1:]] == [
        "✓ agrees", "✗ disagrees", "? cannot be checked"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Table 1. Overall response by dose group" in text
    assert "Method: Proportions with exact Clopper–Pearson" in text
    assert f"Warning: Only 12 patients {EVIL}" in text
    assert doc.core_properties.created.year == 2000


def test_results_json_round_trips(rendered):
    data = json.loads(rendered["json"].read_text("utf-8"))
    assert [r["name"] for r in data["results"]] == [
        "response.rates", "response.trend", "safety.crs", "audit.claims"]
    by_name = {r.name: r for r in _results()}
    for rec in data["results"]:
        orig = by_name[rec["name"]]
        assert rec == orig.to_dict()
        back = pd.DataFrame([{c: row[c] for c in rec["columns"]} for row in rec["rows"]],
                            index=[row["row"] for row in rec["rows"]])
        exp = orig.table.copy()
        exp.index = orig.row_keys()
        pd.testing.assert_frame_equal(back, exp, check_dtype=False, check_names=False)
    assert data["study"]["criteria"]["crs"] == "lee2014"
    assert data["software"] == {"numpy": "2.4.6", "remission": "0.1.0"}
    raw = rendered["json"].read_text("utf-8")
    assert raw == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_two_renders_byte_identical_even_across_processes(tmp_path, rendered):
    again = write_report(build_bundle(), tmp_path / "again")
    code = ("import sys; from pathlib import Path; from tests.test_report_render import "
            "build_bundle; from remission.report import write_report; "
            "write_report(build_bundle(), Path(sys.argv[1]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "proc")], cwd=ROOT, env=env,
                   check=True, timeout=120)
    for key, path in rendered.items():
        assert path.read_bytes() == again[key].read_bytes(), key
        assert path.read_bytes() == (tmp_path / "proc" / path.name).read_bytes(), key


class _Boom:
    def savefig(self, *args, **kwargs):
        raise RuntimeError("figure failed")


def test_failure_midway_leaves_no_partial_output(tmp_path):
    bundle = build_bundle(with_figure=False)
    bundle.figures.append(FigureItem("fig.bad", "Bad", "", "efficacy", _Boom()))
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(bundle, tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []  # no staged temp directory left behind
    old = tmp_path / "old"
    old.mkdir()
    (old / "report.html").write_text("previous")
    with pytest.raises(RuntimeError):
        write_report(bundle, old)
    assert sorted(p.name for p in old.iterdir()) == ["report.html"]
    assert (old / "report.html").read_text() == "previous"


def test_unknown_section_goes_to_other_and_empty_table():
    bundle = build_bundle(with_figure=False)
    bundle.results.add(Result("x.empty", "Nothing here", pd.DataFrame({"a": []}),
                              method="None.", section="weird"))
    html = render_html(bundle)
    assert "<h2>Other analyses</h2>" in html and "No rows." in html


def test_terminal_render_plain_text():
    text = render(_results())
    assert "Overall response by dose group  [response.rates]" in text
    assert "3 (75.0%)" in text and "<0.001" in text
    assert "! Warning: Trend test has low power." in text
    assert "✗ disagrees" in text
    assert "<td" not in text
    lines = text.splitlines()
    i = lines.index("Overall response by dose group  [response.rates]")
    assert lines[i + 2].split() == ["Dose", "group", "n", "(%)", "N", "95%", "CI", "(%)"]
    assert lines[i + 4].split() == ["A", "3", "(75.0%)", "4", "19.4–99.4"]


def test_long_tables_are_truncated_in_html_and_docx_not_json(tmp_path):
    big = pd.DataFrame({"value": np.arange(2500, dtype=float) / 7},
                       index=pd.Index([f"P{i}" for i in range(2500)], name="Patient"))
    bundle = build_bundle(with_figure=False)
    bundle.results.add(Result("listing.big", "Listing", big, method="Listing."))
    paths = write_report(bundle, tmp_path / "o")
    html = paths["html"].read_text("utf-8")
    assert "First 2000 of 2500 rows shown" in html
    data = json.loads(paths["json"].read_text("utf-8"))
    assert len(data["results"][-1]["rows"]) == 2500
    from docx import Document

    assert len(Document(str(paths["docx"])).tables[-1].rows) == 2001


def test_html_is_well_formed(rendered):
    from html.parser import HTMLParser

    void = {"meta", "img", "br", "hr", "link", "input"}

    class Check(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str] = []
            self.errors: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in void:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            if not self.stack or self.stack[-1] != tag:
                self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            else:
                self.stack.pop()

    c = Check()
    c.feed(rendered["html"].read_text("utf-8"))
    assert c.errors == [] and c.stack == []


def test_methods_criteria_accept_codes_or_display_labels():
    import dataclasses

    bundle = build_bundle(with_figure=False)
    for crit in ({"response": "as_recorded", "crs": "astct2019"},
                 {"response": "as recorded by the investigators",
                  "crs": "ASTCT consensus 2019 (Lee DW et al. Biol Blood Marrow Transplant "
                         "2019;25:625-38)"}):
        bundle.study = dataclasses.replace(bundle.study, criteria=crit)
        text = methods_paragraph(bundle)
        assert text.startswith("Response was assessed as recorded by the investigators; "
                               "cytokine release syndrome was graded according to ASTCT "
                               "consensus 2019 (Lee DW et al."), text
        assert "according to as" not in text


def test_malicious_column_names_row_keys_and_study_name_escaped(tmp_path):
    import dataclasses

    bundle = build_bundle(with_figure=False)
    bundle.study = dataclasses.replace(bundle.study, name=EVIL)
    bundle.results.add(Result("x.evil", "T", pd.DataFrame({EVIL: [1]}, index=[EVIL]),
                              method=EVIL, rationale=EVIL, references=(EVIL,),
                              params={EVIL: EVIL}))
    html = render_html(bundle)
    assert "<script" not in html.lower() and "<img src=x" not in html
    paths = write_report(bundle, tmp_path / "o")
    from docx import Document

    t = Document(str(paths["docx"])).tables[-1]
    assert t.cell(0, 1).text == EVIL and t.cell(1, 0).text == EVIL
    assert json.loads(paths["json"].read_text("utf-8"))["study"]["name"] == EVIL


def test_docx_wide_tables_on_landscape_pages(tmp_path):
    from docx import Document
    from docx.enum.section import WD_ORIENT

    bundle = build_bundle(with_figure=False)
    wide = pd.DataFrame([list(range(10))], columns=[f"c{i}" for i in range(10)], index=["r"])
    bundle.results.add(Result("x.wide", "Wide", wide, method="m", section="other"))
    doc = Document(str(write_report(bundle, tmp_path / "o")["docx"]))
    orient = [s.orientation for s in doc.sections]
    assert orient == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    assert doc.sections[1].page_width > doc.sections[1].page_height
    assert len(doc.tables) == 5 and doc.tables[4].cell(1, 10).text == "9"


def test_empty_bundle_renders(tmp_path):
    bundle = ReportBundle(StudyInfo("Empty", "AML", (), "day 0"), ResultSet())
    paths = write_report(bundle, tmp_path / "o")
    assert "<h1>Empty</h1>" in paths["html"].read_text("utf-8")
    assert json.loads(paths["json"].read_text("utf-8"))["results"] == []
    assert render([]) == "\n"
