"""ReportBundle -> ``tables.docx``: every Result as a Word table ready for a manuscript.

Each table has a title paragraph ("Table k. ..."), a header row that repeats across
pages, and a footnote with the method, the rationale for the test, warnings and
references. Cell text comes from :mod:`remission.report.format`, so Word and HTML agree.

Byte reproducibility: python-docx stamps core properties with the current time and
``zipfile`` stamps every entry with it; both are set to :data:`FIXED_TIME` (or
``SOURCE_DATE_EPOCH`` when set, the reproducible-builds convention,
https://reproducible-builds.org/specs/source-date-epoch/).

Each table is written as one XML string parsed by lxml, not cell by cell through the
python-docx API, so its cost grows linearly with the number of cells.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from remission.core.bundle import ReportBundle
from remission.io.cells import neutralise
from remission.method_text import method_line
from remission.report.html import MAX_TABLE_ROWS, publication_tables
from remission.report.methods import methods_paragraph, ordered_results
from remission.report.tables import DisplayTable, display_table
from remission.results import Result

FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0, tzinfo=dt.UTC)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Tables with more columns than this (row labels included) get a landscape page.
LANDSCAPE_ABOVE = 8
#: Indent (twips, 0.2 inch) of rows under a bold heading row in publication tables.
SUB_INDENT = 288
#: Publication tables: horizontal rules above and below only (header rule is per cell).
PUB_BORDERS = (
    '<w:tblBorders><w:top w:val="single" w:sz="8" w:space="0" w:color="auto"/>'
    '<w:left w:val="nil"/><w:bottom w:val="single" w:sz="8" w:space="0" w:color="auto"/>'
    '<w:right w:val="nil"/><w:insideH w:val="nil"/><w:insideV w:val="nil"/></w:tblBorders>'
)
_VERDICT_FILL = {"agrees": "E6F1F8", "disagrees": "FBE9DF", "cannot be checked": "F0F0F0"}


def _fixed_time() -> dt.datetime:
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde and sde.strip().isdigit():
        return dt.datetime.fromtimestamp(int(sde), tz=dt.UTC)
    return FIXED_TIME


def _x(text: Any) -> str:
    """XML-escaped text with characters XML 1.0 forbids removed.

    ``&``, ``>`` and ``<`` in that order, as ``xml.sax.saxutils.escape`` (whose module
    imports urllib.request, http.client and ssl: a cost on the cold report's path).

    Examples
    --------
    >>> _x("a < b & c > d")
    'a &lt; b &amp; c &gt; d'
    """
    return (_BAD_XML.sub("", str(text)).replace("&", "&amp;").replace(">", "&gt;")
            .replace("<", "&lt;"))


def _run(text: str, bold: bool = False, size_half_pt: int | None = None) -> str:
    rpr = ""
    if bold or size_half_pt:
        rpr = "<w:rPr>" + ("<w:b/>" if bold else "") + (
            f'<w:sz w:val="{size_half_pt}"/>' if size_half_pt else "") + "</w:rPr>"
    lines = str(text).split("\n")  # a newline is a line break in the cell
    body = "<w:br/>".join(f'<w:t xml:space="preserve">{_x(x)}</w:t>' for x in lines)
    return f"<w:r>{rpr}{body}</w:r>"


def _cell(text: str, width: int, *, bold: bool = False, right: bool = False,
          fill: str = "", size: int | None = None, indent: int = 0,
          align: str = "", keep_next: bool = False, border_bottom: bool = False,
          no_wrap: bool = False) -> str:
    tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    if border_bottom:
        tcpr += '<w:tcBorders><w:bottom w:val="single" w:sz="8" w:space="0" ' \
                'w:color="auto"/></w:tcBorders>'
    if fill:
        tcpr += f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>'
    if no_wrap:
        tcpr += "<w:noWrap/>"
    jc = align or ("right" if right else "")
    ppr = "<w:pPr>" + ("<w:keepNext/>" if keep_next else "") + (
        '<w:spacing w:before="0" w:after="0"/>') + (
        f'<w:ind w:left="{indent}"/>' if indent else "") + (
        f'<w:jc w:val="{jc}"/>' if jc else "") + "</w:pPr>"
    text = neutralise(text)  # a table pasted into a spreadsheet must not run formulas
    return f"<w:tc><w:tcPr>{tcpr}</w:tcPr><w:p>{ppr}{_run(text, bold, size)}</w:p></w:tc>"


def text_twips(text: str, size_half_pt: int) -> int:
    """Approximate printed width (twips) of one line of ``text`` in a proportional font.

    Character classes in em: narrow punctuation and i/l/space 0.3, wide letters and
    ``%``/``—`` 0.9, upper case 0.7, everything else (digits, lower case, en dash)
    0.58 -- the advance widths of Arial/Calibri/Times rounded up (digits: Times 0.5,
    Calibri 0.507, Arial 0.556 em), enough to size a column so its numbers do not wrap.
    Cells of numeric columns also carry ``w:noWrap`` for fonts wider still.

    Parameters
    ----------
    text : str
        One line of text.
    size_half_pt : int
        Font size in half-points (Word's unit: 18 is 9 pt).

    Returns
    -------
    int
        Width in twips (1/20 pt, 1440 per inch), rounded to the nearest twip.

    Examples
    --------
    >>> text_twips("10", 20)  # two digits of 0.58 em at 10 pt: 1.16 em x 200 twips
    232
    >>> text_twips("M", 18), text_twips("i", 18)
    (162, 54)
    """
    em = 0.0
    for ch in text:
        if ch in " .,:;'()[]|!iljfrt":
            em += 0.3
        elif ch in "%—MWmw@":
            em += 0.9
        elif ch.isupper():
            em += 0.7
        else:
            em += 0.58
    return int(em * size_half_pt * 10 + 0.5)  # 1 pt = 20 twips, size in half-points


#: Left + right cell margins of the default table style plus a little slack (twips).
CELL_PAD = 260
#: Narrowest row-label column of a publication table before numbers are squeezed (1 inch).
MIN_TEXT_COL = 1440


def column_widths(t: DisplayTable, text_width: int, cap: int = 40,
                  size_half_pt: int = 0) -> list[int]:
    """Column widths (twips) proportional to the longest text in each column (capped), so
    short numeric columns do not take as much room as free-text ones.

    With ``size_half_pt`` widths come from the measured text (:func:`text_twips`):
    numeric columns get the width their longest cell needs and the text columns (row
    labels, free text) share what is left and wrap, so "30.5 (17.8–38.8)" or a p-value
    never breaks across lines while a long label may. Headers may wrap at spaces, so
    their longest word counts.

    Parameters
    ----------
    t : DisplayTable
        The table (row-label column first).
    text_width : int
        Width available for the table, twips.
    cap : int, default 40
        Longest text counted, in characters, for the proportional widths.
    size_half_pt : int, default 0
        Font size in half-points; 0 gives widths proportional to the text length only.

    Returns
    -------
    list of int
        One width (twips) per column, row labels first; each at least 400.

    Examples
    --------
    >>> from remission.report.tables import Cell, DisplayTable
    >>> t = DisplayTable("Characteristic", ("n",), (("Age, years", (Cell("12"),)),), 1,
    ...                  numeric=(True,))
    >>> column_widths(t, 9000)  # longest texts 14 and 2 characters, +2 each: 16:4
    [7200, 1800]
    >>> sum(column_widths(t, 9000, size_half_pt=18)) <= 9000
    True
    """
    cols = [[t.index_header, *(k for k, _ in t.rows)]]
    cols += [[h, *(cells[j].text for _, cells in t.rows)] for j, h in enumerate(t.columns)]
    chars = [min(max(max(len(x) for x in s.split("\n")) for s in col), cap) + 2
             for col in cols]
    total = sum(chars)
    proportional = [max(text_width * c // total, 400) for c in chars]
    if not size_half_pt:
        return proportional
    need = [max(max(text_twips(w, size_half_pt) for w in col[0].split() or [""]),
                *(text_twips(x, size_half_pt) for s in col[1:] for x in s.split("\n")))
            + CELL_PAD for col in cols]  # a header may wrap at spaces, a number may not
    if sum(need) <= text_width:  # everything fits on one line: share the slack
        return [text_width * w // sum(need) for w in need]
    numeric = (False, *(t.numeric or (False,) * len(t.columns)))
    fixed = sum(w for w, n in zip(need, numeric, strict=True) if n)
    text_need = sum(w for w, n in zip(need, numeric, strict=True) if not n)
    n_text = sum(1 for n in numeric if not n)
    if text_width - fixed < MIN_TEXT_COL * n_text:  # cannot fit: proportional, as before
        return proportional
    text_room = text_width - fixed
    return [w if n else max(text_room * w // max(text_need, 1), 400)
            for w, n in zip(need, numeric, strict=True)]


def publication_fit(t: DisplayTable, portrait_width: int) -> tuple[int, bool]:
    """Font size (half-points) and orientation for a publication table: 9 pt if its
    numeric columns and a 1-inch label column fit the portrait text width, else 8 pt,
    else 8 pt on a landscape page.

    Parameters
    ----------
    t : DisplayTable
        A publication table.
    portrait_width : int
        Text width of a portrait page, twips.

    Returns
    -------
    tuple of (int, bool)
        Font size in half-points (18 or 16) and whether the page is landscape.

    Examples
    --------
    >>> from remission.report.tables import Cell, DisplayTable
    >>> t = DisplayTable("", ("A",), (("x", (Cell("1"),)),), 1, numeric=(True,))
    >>> publication_fit(t, 9360), publication_fit(t, 1000)
    ((18, False), (16, True))
    """
    for size in (18, 16):
        if min_width(t, size) <= portrait_width:
            return size, False
    return 16, True


def min_width(t: DisplayTable, size: int) -> int:
    """Narrowest width (twips) at which no number wraps: numeric columns at their
    measured width, each text column (row labels included) at :data:`MIN_TEXT_COL`.

    Parameters
    ----------
    t : DisplayTable
        The table.
    size : int
        Font size in half-points.

    Returns
    -------
    int
        Width in twips.

    Examples
    --------
    >>> from remission.report.tables import Cell, DisplayTable
    >>> t = DisplayTable("", ("n", "Note"), (("x", (Cell("12"), Cell("text"))),), 1,
    ...                  numeric=(True, False))
    >>> min_width(t, 20) == 2 * MIN_TEXT_COL + text_twips("12", 20) + CELL_PAD
    True
    """
    numeric = t.numeric or (False,) * len(t.columns)
    total = MIN_TEXT_COL
    for j, (h, n) in enumerate(zip(t.columns, numeric, strict=True)):
        if not n:
            total += MIN_TEXT_COL
            continue
        head = h.replace(" (N = ", "\n(N = ") if t.row_kinds else h
        words = [text_twips(w, size) for w in head.split()] or [0]
        cells = [text_twips(x, size) for _, c in t.rows for x in c[j].text.split("\n")]
        total += max(*words, *cells) + CELL_PAD
    return total


def _table_xml(t: DisplayTable, style_id: str, text_width: int,
              size: int | None = None) -> str:
    """A ``w:tbl`` element for ``t`` (header row repeats on each page).

    Tables wider than 7 columns use 8 pt text, others 9 pt, so typical manuscript tables
    fit a portrait page. Publication tables (``t.row_kinds``) are set as journals set
    Table 1: rules only above and below the header and under the last row, bold heading
    rows kept with the rows below them (indented), centred group columns whose header
    puts "(N = n)" on its own line, and numeric columns wide enough not to wrap.
    """
    pub = bool(t.row_kinds)
    if pub:
        t = replace(t, columns=tuple(c.replace(" (N = ", "\n(N = ") for c in t.columns))
    if size is None:
        size = 16 if len(t.columns) + 1 > 7 else 18  # half-points
    widths = column_widths(t, text_width, size_half_pt=size)
    kinds = t.row_kinds or ("",) * len(t.rows)
    centre = "center" if pub else ""
    numeric = t.numeric or (False,) * len(t.columns)
    borders = PUB_BORDERS if pub else ""
    parts = [
        f'<w:tbl xmlns:w="{_W}"><w:tblPr><w:tblStyle w:val="{style_id}"/>'
        f'<w:tblW w:w="0" w:type="auto"/>{borders}<w:tblLook w:val="04A0" w:firstRow="1" '
        'w:lastRow="0" w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        "</w:tblPr><w:tblGrid>",
        *(f'<w:gridCol w:w="{w}"/>' for w in widths),
        "</w:tblGrid>",
        '<w:tr><w:trPr><w:tblHeader/></w:trPr>',
        _cell(t.index_header, widths[0], bold=True, size=size, border_bottom=pub),
        *(_cell(c, w, bold=True, right=n, size=size, align=centre, border_bottom=pub)
          for c, w, n in zip(t.columns, widths[1:], numeric, strict=True)),
        "</w:tr>",
    ]
    for (key, cells), kind in zip(t.rows, kinds, strict=True):
        head = kind == "group"
        parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>" if pub else "<w:tr>")
        parts.append(_cell(key, widths[0], size=size, bold=head, keep_next=head,
                           indent=SUB_INDENT if kind == "sub" else 0))
        for c, w, n in zip(cells, widths[1:], numeric, strict=True):
            fill = ""
            if c.kind.startswith("verdict:"):
                fill = _VERDICT_FILL.get(c.kind.split(":", 1)[1], "")
            parts.append(_cell(c.text, w, right=n and not fill, fill=fill,
                               bold=c.kind == "verdict:disagrees", size=size, align=centre,
                               keep_next=head, no_wrap=pub and n))
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


def footnote_text(r: Result, truncated: tuple[int, int] | None = None,
                  notes: tuple[str, ...] = (), style: str = "remission") -> list[str]:
    """Lines under a table: table notes (cell legend, test marks), the Method line
    (method, rationale and parameters as sentences), warnings, references.

    Parameters
    ----------
    r : Result
        The Result the table shows.
    truncated : tuple of (int, int), optional
        ``(rows shown, rows in total)`` when the table was cut.
    notes : tuple of str, default ()
        The display table's notes, printed first.
    style : str, default ``"remission"``
        Number style of the parameters in the Method line.

    Returns
    -------
    list of str
        One footnote line each, ending with ``"Source: result <name>"``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = Result("os.km", "OS", pd.DataFrame(), "Kaplan-Meier",
    ...            warnings=("few events",), references=("Kaplan 1958", "Greenwood 1926"))
    >>> for line in footnote_text(r, truncated=(2000, 2500)):
    ...     print(line)
    Method: Kaplan-Meier.
    Warning: few events
    References: Kaplan 1958; Greenwood 1926
    First 2000 of 2500 rows shown; complete table in results.json.
    Source: result os.km
    """
    lines = [*notes, "Method: " + method_line(r.method, r.rationale, r.params, style)]
    lines += [f"Warning: {w}" for w in r.warnings]
    if r.references:
        lines.append("References: " + "; ".join(r.references))
    if truncated:
        lines.append(f"First {truncated[0]} of {truncated[1]} rows shown; complete table in "
                     "results.json.")
    lines.append(f"Source: result {r.name}")
    return lines


def render_docx(bundle: ReportBundle, max_rows: int = MAX_TABLE_ROWS,
                tables: Mapping[str, DisplayTable] | None = None,
                publication: Mapping[str, DisplayTable | None] | None = None) -> bytes:
    """``tables.docx`` as bytes, identical for identical bundles.

    A Result with a publication layout (``Result.display``) appears in that layout only;
    its tidy table is in report.html (collapsed) and results.json. Document and zip
    timestamps are fixed (``SOURCE_DATE_EPOCH`` when set, else :data:`FIXED_TIME`).

    Parameters
    ----------
    bundle : ReportBundle
        The report.
    max_rows : int, default :data:`~remission.report.html.MAX_TABLE_ROWS`
        Rows per table (the footnote says when a table was cut).
    tables : mapping of str to DisplayTable, optional
        Tidy display tables already built, by Result name.
    publication : mapping of str to DisplayTable or None, optional
        Publication layouts already built
        (:func:`~remission.report.html.publication_tables`).

    Returns
    -------
    bytes
        The .docx file (a zip).

    Examples
    --------
    >>> import io, zipfile
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import ResultSet
    >>> r = Result("safety.ae", "Adverse events", pd.DataFrame({"n": [1]}), "Counts")
    >>> b = ReportBundle(StudyInfo("S", "AML", ("CAR-T",), "day 0"), ResultSet([r]))
    >>> data = render_docx(b)
    >>> data == render_docx(b)
    True
    >>> z = zipfile.ZipFile(io.BytesIO(data))
    >>> {i.date_time for i in z.infolist()}
    {(2000, 1, 1, 0, 0, 0)}
    >>> import re
    >>> re.findall(r"<w:t[^>]*>([^<]*)</w:t>", z.read("word/document.xml").decode())[:9]
    ['S: tables', 'Disease: AML; Products: CAR-T', 'Table 1. ', 'Adverse events', \
'n', '0', '1', 'Method: Counts.', 'Source: result safety.ae']
    """
    pubs = publication if publication is not None else publication_tables(bundle, max_rows)
    from docx import Document
    from docx.oxml import parse_xml
    from docx.shared import Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10)
    style_id = doc.styles["Table Grid"].style_id
    sec = doc.sections[0]
    text_width = int((sec.page_width - sec.left_margin - sec.right_margin) / 635)  # EMU->twip

    s = bundle.study
    doc.add_heading(f"{s.name}: tables", level=1)
    if s.synthetic:
        doc.add_paragraph().add_run(
            "SYNTHETIC DATA — simulated patients, not a clinical study.").bold = True
    meta = [f"Disease: {s.disease}" if s.disease else "",
            f"Products: {', '.join(s.products)}" if s.products else "",
            f"Patients: {s.n_patients}" if s.n_patients else ""]
    meta = [m for m in meta if m]
    if s.reference:
        meta.append(f"Reference: {s.reference}")
    doc.add_paragraph(_clean("; ".join(meta)))

    body = doc.element.body
    portrait_width = text_width
    landscape = False
    for k, r in enumerate(ordered_results(bundle), 1):
        t = (pubs.get(r.name) or (tables or {}).get(r.name)
             or display_table(r, max_rows=max_rows, style=bundle.study.number_style))
        if t.row_kinds:  # publication table: size and orientation from its measured width
            size, wide = publication_fit(t, portrait_width)
        else:  # wide by column count, or numbers that cannot fit a portrait page unwrapped
            size = 16 if len(t.columns) + 1 > 7 else 18
            wide = (len(t.columns) + 1 > LANDSCAPE_ABOVE
                    or min_width(t, size) > portrait_width)
        if wide != landscape:
            _new_section(doc, wide)
            landscape = wide
        sec = doc.sections[-1]
        text_width = int((sec.page_width - sec.left_margin - sec.right_margin) / 635)
        p = doc.add_paragraph()
        p.paragraph_format.keep_with_next = True
        p.add_run(f"Table {k}. ").bold = True
        p.add_run(_clean(r.title)).bold = True
        if t.rows:
            body.insert_element_before(parse_xml(_table_xml(t, style_id, text_width, size)),
                                       "w:sectPr")
        else:
            doc.add_paragraph("No rows.")
        trunc = (len(t.rows), t.n_rows_total) if t.truncated else None
        for line in footnote_text(r, trunc, t.notes, bundle.study.number_style):
            fp = doc.add_paragraph()
            fp.paragraph_format.space_after = Pt(0)
            run = fp.add_run(_clean(line))
            run.font.size = Pt(8)
            if line.startswith("Warning:"):
                run.bold = True
        doc.add_paragraph()

    if landscape:
        _new_section(doc, False)
    doc.add_heading("Methods", level=2)
    doc.add_paragraph(_clean(methods_paragraph(bundle)))

    cp = doc.core_properties
    when = _fixed_time().replace(tzinfo=None)
    cp.author = "remission"
    cp.last_modified_by = "remission"
    cp.title = _clean(f"{s.name}: tables")
    cp.created = when
    cp.modified = when
    cp.last_printed = when
    cp.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    return _normalise_zip(buf.getvalue(), _fixed_time())


def _new_section(doc: Any, landscape: bool) -> None:
    """Start a new page in landscape (wide tables) or back in portrait orientation."""
    from docx.enum.section import WD_ORIENT, WD_SECTION

    prev = doc.sections[-1]
    sec = doc.add_section(WD_SECTION.NEW_PAGE)
    w, h = prev.page_width, prev.page_height
    if landscape:
        sec.orientation = WD_ORIENT.LANDSCAPE
        sec.page_width, sec.page_height = max(w, h), min(w, h)
    else:
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = min(w, h), max(w, h)


def _clean(text: str) -> str:
    return _BAD_XML.sub("", text)


def _normalise_zip(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite a zip with fixed entry timestamps and attributes (same order, same content)."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=stamp)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()
