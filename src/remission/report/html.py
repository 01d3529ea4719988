"""ReportBundle -> one self-contained HTML file.

Everything is inline: CSS in a ``<style>`` element, figures as ``data:`` URIs of SVG,
no scripts, no external URLs, so the file opens offline and can be archived with a
manuscript. All text from Results and the study is escaped with :func:`html.escape`.
Generation is one pass over the Results (linear in the size of the tables).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from remission.core.bundle import SECTIONS, FigureItem, ReportBundle
from remission.method_text import method_line
from remission.report.figures import figure_svg, svg_data_uri
from remission.report.methods import (
    methods_paragraph,
    ordered_results,
    references,
    result_reference_numbers,
    section_of,
)
from remission.report.publication import find_tests, publication_table
from remission.report.tables import DisplayTable, display_table
from remission.results import Result

#: Rows shown per table in HTML and Word; the complete table is always in results.json.
MAX_TABLE_ROWS = 2000

CSS = """
:root{--ink:#1a1a1a;--muted:#555;--rule:#c8c8c8;--warn-bg:#fff4d6;--warn:#8a5a00;
--ok:#0072B2;--bad:#D55E00;--na:#6b6b6b}
*{box-sizing:border-box}
body{font:15px/1.45 "Helvetica Neue",Arial,sans-serif;color:var(--ink);max-width:1100px;
margin:0 auto;padding:0 1.2em 3em}
header{border-bottom:2px solid var(--ink);margin-bottom:1em}
h1{font-size:1.6em;margin:.6em 0 .2em}h2{font-size:1.3em;border-bottom:1px solid var(--rule);
margin-top:2em}h3{font-size:1.05em;margin:1.4em 0 .3em}
dl.study{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0 1em}
dl.study dt{font-weight:600;color:var(--muted)}dl.study dd{margin:0}
.synthetic{background:#000;color:#fff;font-weight:700;padding:.5em 1em;margin-top:.8em;
letter-spacing:.04em}
nav.toc{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--rule);
padding:.35em 0;margin:0 0 1em}
nav.toc ol{display:flex;gap:.4em 1.3em;list-style:none;margin:0;padding:0;font-size:.9em;
overflow-x:auto;white-space:nowrap;scrollbar-width:thin}
nav.toc a{text-decoration:none}
details.section>summary{cursor:pointer;list-style:none}
details.section>summary::-webkit-details-marker{display:none}
details.section>summary h2::before{content:"▾ ";color:var(--muted);font-size:.8em}
details.section:not([open])>summary h2::before{content:"▸ "}
section{scroll-margin-top:2.6em}
table{border-collapse:collapse;margin:.3em 0;font-size:.92em;font-variant-numeric:tabular-nums}
th,td{padding:.25em .7em;border-bottom:1px solid var(--rule);vertical-align:baseline}
thead th{border-bottom:2px solid var(--ink);text-align:left}
td.num,th.num{text-align:right;white-space:nowrap}
th[scope=row]{text-align:left;font-weight:normal}
th.key{font:12px ui-monospace,Menlo,Consolas,monospace;color:var(--muted);font-weight:normal}
.tablewrap{overflow-x:auto;max-width:100%;
background:linear-gradient(to right,#fff 30%,rgba(255,255,255,0)) left/2em 100% no-repeat local,
linear-gradient(to left,#fff 30%,rgba(255,255,255,0)) right/2em 100% no-repeat local,
radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.28),transparent) left/.9em 100% no-repeat scroll,
radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.28),transparent) right/.9em 100% no-repeat
scroll}
.rname{font:12px ui-monospace,Menlo,Consolas,monospace;color:var(--muted)}
.method,.refs,.note{font-size:.85em;color:var(--muted);margin:.3em 0}
.warnings{background:var(--warn-bg);border-left:5px solid var(--warn);padding:.4em .8em;
margin:.4em 0;font-size:.9em}
.warnings strong{color:var(--warn)}.warnings ul{margin:.2em 0;padding-left:1.3em}
td.verdict{font-weight:600;white-space:nowrap}
.v-agrees{color:var(--ok);background:#e6f1f8}
.v-disagrees{color:var(--bad);background:#fbe9df;outline:2px solid var(--bad)}
.v-cannot-be-checked{color:var(--na);background:#f0f0f0;font-style:italic}
table.pub thead th{text-align:center;vertical-align:bottom}
table.pub thead th:first-child{text-align:left}
table.pub td.num{text-align:center}
table.pub{border-top:1px solid var(--ink)}table.pub tbody th,table.pub tbody td{border:none}
table.pub tbody tr:last-child>*{border-bottom:1px solid var(--ink)}
tr.grp th{font-weight:700;padding-top:.6em}th.sub{padding-left:1.8em}
details.tidy{margin:.3em 0;font-size:.92em}details.tidy summary{cursor:pointer;color:var(--muted)}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:var(--muted)}
footer{margin-top:3em;font-size:.8em;color:var(--muted)}
@media (max-width:640px){body{font-size:14px;padding:0 .7em 2em}
dl.study{grid-template-columns:1fr}dl.study dd{margin-bottom:.3em}
h1{font-size:1.3em}th,td{padding:.2em .45em}
figure{overflow-x:auto}figure img{max-width:max(100%,560px)}}
@media print{nav{display:none}article,figure{break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def _anchor(prefix: str, name: str) -> str:
    return prefix + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _render_table(dt: DisplayTable, caption: str = "") -> str:
    """An HTML table; each cell's ``title`` holds the unrounded value(s) for traceability.

    Publication tables (``dt.row_kinds`` set) print heading rows in bold and indent the
    rows below them.
    """
    # An unnamed index holds the row keys claims address: shown muted, as a key column.
    keycls = "" if dt.index_header else " class='key'"
    kinds = dt.row_kinds or ("",) * len(dt.rows)
    tcls = " class='pub'" if dt.row_kinds else ""
    out: list[str] = [f"<div class='tablewrap'><table{tcls}>"]
    if caption:
        out.append(f"<caption>{_e(caption)}</caption>")
    head = [f"<th scope='col'{keycls}>{_e(dt.index_header or 'key')}</th>"]
    for col, num in zip(dt.columns, dt.numeric or [False] * len(dt.columns), strict=True):
        cls = " class='num'" if num else ""
        head.append(f"<th scope='col'{cls}>{_e(col)}</th>")
    out.append("<thead><tr>" + "".join(head) + "</tr></thead><tbody>")
    numeric = dt.numeric or (False,) * len(dt.columns)
    for (key, cells), kind in zip(dt.rows, kinds, strict=True):
        rowcls = " class='grp'" if kind == "group" else ""
        thcls = " class='sub'" if kind == "sub" else keycls
        tds = [f"<th scope='row'{thcls}>{_e(key)}</th>"]
        for cell, num in zip(cells, numeric, strict=True):
            cls = []
            if cell.kind.startswith("verdict:"):
                cls += ["verdict", "v-" + cell.kind.split(":", 1)[1].replace(" ", "-")]
            elif num:
                cls.append("num")
            attr = f" class='{' '.join(cls)}'" if cls else ""
            title = f" title='{_e(cell.raw)}'" if cell.raw else ""
            tds.append(f"<td{attr}{title}>{_e(cell.text)}</td>")
        out.append(f"<tr{rowcls}>" + "".join(tds) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _table_block(dt: DisplayTable) -> list[str]:
    out = [_render_table(dt) if dt.rows else "<p class='note'>No rows.</p>"]
    if dt.truncated:
        out.append(
            f"<p class='note'>First {len(dt.rows)} of {dt.n_rows_total} rows shown; the "
            "complete table is in results.json.</p>"
        )
    if dt.notes:
        out.append("<p class='note'>" + "<br>".join(_e(n) for n in dt.notes) + "</p>")
    return out


def _render_result(r: Result, refs: list[str], max_rows: int = MAX_TABLE_ROWS,
                  dt: DisplayTable | None = None, number: int | None = None,
                  pub: DisplayTable | None = None, style: str = "remission") -> str:
    """One Result: "Table k." title (same k as in tables.docx), table, method, warnings.

    With a publication layout ``pub`` (see :func:`~remission.report.format.
    publication_table`) that is the table shown; the tidy table follows in a collapsed
    ``<details>`` element (no script needed), so the data of record stay one click away.
    """
    dt = dt if dt is not None else display_table(r, max_rows=max_rows, style=style)
    label = f"Table {number}. " if number is not None else ""
    out = [
        f"<article class='result' id='{_e(_anchor('res-', r.name))}'>",
        f"<h3>{label}{_e(r.title)}</h3>",
        f"<p class='rname'>{_e(r.name)}</p>",
    ]
    if pub is not None:
        out += _table_block(pub)
        out.append("<details class='tidy'><summary>Data (tidy)</summary>")
        out += _table_block(dt)
        out.append("</details>")
    else:
        out += _table_block(dt)
    line = method_line(r.method, r.rationale, r.params, style)
    out.append(f"<p class='method'><strong>Method:</strong> {_e(line)}</p>")
    if r.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in r.warnings)
        out.append(
            "<div class='warnings' role='note'><strong>⚠ Warning"
            f"{'s' if len(r.warnings) > 1 else ''}</strong><ul>{items}</ul></div>"
        )
    nums = result_reference_numbers(r, refs)
    if nums:
        links = ", ".join(f"<a href='#ref-{n}'>[{n}]</a>" for n in nums)
        out.append(f"<p class='refs'>References: {links}</p>")
    out.append("</article>")
    return "".join(out)


def disagreements_first(r: Result) -> Result:
    """An audit Result with its disagreements listed first (then not checkable, then
    agreements), so a reader sees what is wrong before what is right; others unchanged.

    Parameters
    ----------
    r : Result
        Any Result.

    Returns
    -------
    Result
        ``r`` itself unless its table has a ``verdict`` column in another order.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"verdict": ["agrees", "disagrees"]}, index=["a", "b"])
    >>> list(disagreements_first(Result("audit.x", "x", t, "", "")).table.index)
    ['b', 'a']
    """
    if "verdict" not in r.table.columns or r.table.empty:
        return r
    rank = {"disagrees": 0, "cannot be checked": 1, "agrees": 2}
    order = r.table["verdict"].map(lambda v: rank.get(str(v), 1)).to_numpy()
    table = r.table.iloc[order.argsort(kind="stable")]
    if table.index.equals(r.table.index):
        return r
    from dataclasses import replace

    return replace(r, table=table)


def _render_figure(item: FigureItem, number: int,
                  to_svg: Callable[[Any], bytes] = figure_svg) -> str:
    uri = svg_data_uri(to_svg(item.figure))
    cap = f"<strong>Figure {number}.</strong> {_e(item.title)}."
    if item.caption:
        cap += " " + _e(item.caption)
    return (
        f"<figure id='{_e(_anchor('fig-', item.name))}'>"
        f"<img src='{uri}' alt='{_e(item.title)}'>"
        f"<figcaption>{cap}</figcaption></figure>"
    )


def _header(bundle: ReportBundle) -> str:
    s = bundle.study
    out = ["<header>"]
    if s.synthetic:
        out.append(
            "<div class='synthetic' role='alert'>SYNTHETIC DATA — simulated patients, "
            "not a clinical study. Do not use for clinical decisions.</div>"
        )
    out.append(f"<h1>{_e(s.name)}</h1><dl class='study'>")
    rows = [
        ("Disease", s.disease),
        ("Products", ", ".join(s.products)),
        ("Patients (n)", str(s.n_patients) if s.n_patients else ""),  # lab/aggregate: none
        ("Day 0", s.day0),
        ("Cohorts", s.cohort_label),
        ("Reference", s.reference),
    ]
    out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows if v]
    out.append("</dl></header>")
    return "".join(out)


def publication_tables(bundle: ReportBundle,
                       max_rows: int = MAX_TABLE_ROWS) -> dict[str, DisplayTable | None]:
    """Publication layout of every Result that declares ``display`` (None for the others).

    Parameters
    ----------
    bundle : ReportBundle
        The report (its cohort labels and number style head and format the tables).
    max_rows : int, default :data:`MAX_TABLE_ROWS`
        Rows shown per table.

    Returns
    -------
    dict of str to DisplayTable or None
        By Result name: :func:`~remission.report.publication.publication_table` of the
        Result with its tests (:func:`~remission.report.publication.find_tests`), None
        for a Result without ``display`` or whose ``display`` does not fit its table.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import ResultSet
    >>> t = pd.DataFrame({"variable": ["Female"], "group": ["0.5"], "n": [2], "N": [4],
    ...                   "pct": [50.0]})
    >>> r = Result("baseline.sex", "Sex", t, "Counts", section="baseline",
    ...            display={"rows": "variable", "columns": "group", "cell": "n_pct"})
    >>> plain = Result("safety.ae", "AEs", pd.DataFrame({"n": [1]}), "Counts")
    >>> b = ReportBundle(StudyInfo("S", "AML", ("CAR-T",), "infusion",
    ...                            cohort_labels={"0.5": "0.5×10⁶/kg"}),
    ...                  ResultSet([r, plain]))
    >>> pubs = publication_tables(b)
    >>> pubs["baseline.sex"].columns, pubs["safety.ae"]
    (('0.5×10⁶/kg (N = 4)',), None)
    """
    res = bundle.results
    labels = bundle.study.cohort_labels
    style = bundle.study.number_style
    return {r.name: publication_table(r, find_tests(r, res), max_rows, labels, style)
            if r.display else None for r in res}


def render_html(bundle: ReportBundle, max_rows: int = MAX_TABLE_ROWS,
                tables: Mapping[str, DisplayTable] | None = None,
                publication: Mapping[str, DisplayTable | None] | None = None) -> str:
    """The complete report as one HTML string (UTF-8, no external resources).

    Sections in the order of :data:`~remission.core.bundle.SECTIONS` (only those with a
    Result or figure), each Result numbered "Table k." as in tables.docx (audit tables
    with disagreements first), figures as embedded SVG, then the Methods paragraph, the
    software versions and the numbered references. All text is HTML-escaped.

    Parameters
    ----------
    bundle : ReportBundle
        The report.
    max_rows : int, default :data:`MAX_TABLE_ROWS`
        Rows shown per table (a note points to results.json for the rest).
    tables : mapping of str to DisplayTable, optional
        Tidy display tables already built for another renderer, by Result name (built
        here when absent).
    publication : mapping of str to DisplayTable or None, optional
        Publication layouts already built (:func:`publication_tables`).

    Returns
    -------
    str
        The HTML document, ending with a newline.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import ResultSet
    >>> r = Result("safety.ae", "Adverse events <grade 3>", pd.DataFrame({"n": [1]}),
    ...            "Counts", section="safety", references=("Ref A",))
    >>> html = render_html(ReportBundle(StudyInfo("S & Co", "AML", ("CAR-T",), "day 0"),
    ...                                 ResultSet([r])))
    >>> "<h3>Table 1. Adverse events &lt;grade 3&gt;</h3>" in html
    True
    >>> "<title>S &amp; Co — remission report</title>" in html, "<script" in html
    (True, False)
    >>> "<li id='ref-1'>Ref A</li>" in html, html.endswith("</html>\\n")
    (True, True)
    """
    tables = tables or {}
    pubs = publication if publication is not None else publication_tables(bundle, max_rows)
    refs = references(bundle)
    results = ordered_results(bundle)
    present = {section_of(r.section) for r in results} | {
        section_of(f.section) for f in bundle.figures
    }
    sections = [(k, t) for k, t in SECTIONS if k in present]
    body: list[str] = [_header(bundle)]
    toc = "".join(f"<li><a href='#sec-{k}'>{_e(t)}</a></li>" for k, t in sections)
    toc += "<li><a href='#methods'>Methods</a></li>"
    if refs:
        toc += "<li><a href='#references'>References</a></li>"
    body.append(f"<nav class='toc' aria-label='Contents'><ol>{toc}</ol></nav>")
    number = {r.name: k for k, r in enumerate(results, 1)}
    fig_no = 0
    for key, title in sections:
        # each section folds (no script): <details open> with the heading as its summary
        body.append(f"<section id='sec-{key}'><details class='section' open><summary>"
                    f"<h2>{_e(title)}</h2></summary>")
        for r in results:
            if section_of(r.section) != key:
                continue
            shown, dt = disagreements_first(r), tables.get(r.name)
            if shown is not r:
                dt = display_table(shown, max_rows=max_rows, style=bundle.study.number_style)
            body.append(_render_result(shown, refs, max_rows, dt, number[r.name],
                                      pubs.get(r.name), bundle.study.number_style))
        for item in bundle.figures:
            if section_of(item.section) == key:
                fig_no += 1
                body.append(_render_figure(item, fig_no))
        body.append("</details></section>")
    body.append("<section id='methods'><details class='section' open><summary><h2>Methods</h2>"
                f"</summary><p>{_e(methods_paragraph(bundle))}</p>")
    if bundle.software:
        sw = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v)}</td></tr>"
                     for k, v in bundle.software.items())
        body.append(f"<table class='software'><thead><tr><th>Software</th><th>Version</th>"
                    f"</tr></thead><tbody>{sw}</tbody></table>")
    body.append("</details></section>")
    if refs:
        items = "".join(f"<li id='ref-{i}'>{_e(t)}</li>" for i, t in enumerate(refs, 1))
        body.append("<section id='references'><details class='section' open><summary>"
                    f"<h2>References</h2></summary><ol>{items}</ol></details></section>")
    body.append(
        "<footer>Produced by remission. Every number is traceable: hover a cell for its "
        "unrounded value; results.json holds every Result in full precision.</footer>"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(bundle.study.name)} — remission report</title>"
        f"<style>{CSS}</style></head><body>" + "".join(body) + "</body></html>\n"
    )
