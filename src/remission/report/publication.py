"""Publication layout of a Result (``Result.display``): the table a manuscript prints.

One row per characteristic (or per category under a bold characteristic heading), one
column per group ("Overall" first) headed "Group (N = n)", each cell written by a named
template in the report's :class:`~remission.numbers.NumberStyle`. Everything here only
rearranges and formats values the tidy table already holds; it computes no statistic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remission.numbers import (
    MISSING,
    NumberStyle,
    format_ci,
    format_count,
    format_number,
    format_value,
    get_style,
    is_missing,
)
from remission.report.labels import conf_level_label
from remission.report.tables import Cell, DisplayTable, raw_text

#
# ``Result.display = {"rows": ..., "columns": ..., "cell": ...}`` asks for the layout of a
# manuscript table: one row per characteristic (or per category under a bold characteristic
# heading), one column per group ("Overall" first) headed "Group (N = n)", and each cell
# written by a named template. Everything below only rearranges and formats values the
# tidy table already holds; it computes no statistic. Layout follows CONSORT 2010 item 15
# (baseline characteristics per group; median with 25th-75th centiles for skewed data;
# Moher D et al., BMJ 2010;340:c869) as clinical journals print it: continuous variables
# as "median (IQR)" with the range on its own row, categorical variables as "n (%)".

SUPERSCRIPT = "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"
OVERALL = "Overall"
#: Header of the row-label column by the ``rows`` column name (else the name, capitalised).
STUB_HEADERS = {"variable": "Characteristic"}
_CI_PAIRS = (("ci_low", "ci_high"), ("ci_lo", "ci_hi"), ("ci_lower", "ci_upper"),
             ("lower", "upper"))


@dataclass(frozen=True)
class CellTemplate:
    """How one tidy row becomes one or more cells of a publication table.

    ``lines`` are ``(sub-row label, formatter)``: a one-line template fills the row of
    the row key; a template with several lines (``median_iqr``) puts the row key as a
    bold heading and one indented sub-row per line. ``optional`` lines appear only when
    some cell of that row key has something to say (e.g. a non-zero missing count).
    """

    label: str  # what a cell shows, for the table note: "n (%)"
    needs: tuple[str, ...]
    lines: tuple[tuple[str, Any], ...]
    optional: frozenset[str] = frozenset()


def _v(rec: Mapping[str, Any], col: str) -> Any:
    return rec.get(col)


#: ``num(value, column)``: a summary column's value as text (see :func:`summary_formatter`).
SummaryText = Callable[[Any, str], str]


def summary_formatter(style: NumberStyle, decimals: int | None,
                      kinds: Mapping[str, str]) -> SummaryText:
    """How the summaries of one variable print: ``num(value, column)``.

    ``kinds`` (``Result.display["summaries"]``) says what each summary column is
    (``{"median": "location", "min": "value", "mean": "calculated", ...}``); ``decimals``
    (``Result.display["decimals"][variable]``) the decimals the variable was recorded
    with. A column not in ``kinds``, or an unknown precision, prints by
    :func:`~remission.numbers.format_number`; otherwise the style decides
    (:meth:`~remission.numbers.NumberStyle.summary`: the journal styles print to the
    data's precision, remission's default keeps 3 significant digits).

    Parameters
    ----------
    style : NumberStyle
        The report's number style.
    decimals : int or None
        Decimals the variable was recorded with; None when unknown.
    kinds : mapping of str to str
        Summary column -> ``"location"``, ``"value"`` or ``"calculated"``.

    Returns
    -------
    callable
        ``num(value, column) -> str``.

    Examples
    --------
    >>> num = summary_formatter(get_style("jama"), 0, {"median": "location", "mean": "calculated"})
    >>> num(63.5, "median"), num(64.0, "median"), num(47.667, "mean"), num(2.345, "other")
    ('63.5', '64', '47.7', '2.35')
    """
    def num(value: Any, column: str) -> str:
        kind = kinds.get(column)
        if kind is None or decimals is None:
            return format_number(value)
        return style.summary(value, kind, decimals)

    return num


def _fmt_n_pct(rec: Mapping[str, Any], show_denominator: bool, style: NumberStyle,
               num: SummaryText) -> str:
    n, N = _v(rec, "n"), _v(rec, "N")
    share = _v(rec, "pct")
    if is_missing(n):
        return MISSING
    text = style.n_pct(n, share, prop=_v(rec, "prop"), denominator=N)
    has_share = not (is_missing(share) and is_missing(_v(rec, "prop")))
    if show_denominator and has_share and not is_missing(N):
        head = f"{format_count(n)}/{format_count(N)}"
        return head + text[len(format_count(n)):]
    return text


def _fmt_median_iqr(rec: Mapping[str, Any], show_denominator: bool, style: NumberStyle,
                    num: SummaryText) -> str:
    if is_missing(_v(rec, "median")):
        return MISSING
    iqr = format_ci(rec["q1"], rec["q3"], lambda v: num(v, "q1"), lambda v: num(v, "q3"))
    return f"{num(rec['median'], 'median')} ({iqr})"


def _fmt_range(rec: Mapping[str, Any], show_denominator: bool, style: NumberStyle,
               num: SummaryText) -> str:
    return format_ci(_v(rec, "min"), _v(rec, "max"), lambda v: num(v, "min"),
                     lambda v: num(v, "max"))


def _fmt_missing(rec: Mapping[str, Any], show_denominator: bool, style: NumberStyle,
                 num: SummaryText) -> str:
    return format_count(_v(rec, "missing"))


def _fmt_median_range(rec: Mapping[str, Any], show_denominator: bool, style: NumberStyle,
                      num: SummaryText) -> str:
    if is_missing(_v(rec, "median")):
        return MISSING
    rng = format_ci(rec["min"], rec["max"], lambda v: num(v, "min"), lambda v: num(v, "max"))
    return f"{num(rec['median'], 'median')} ({rng})"


def _fmt_pct_ci(rec: Mapping[str, Any], show_denominator: bool, style: NumberStyle,
                num: SummaryText) -> str:
    pct = _v(rec, "pct")
    if is_missing(pct):
        return MISSING
    lo, hi = next(((rec[a], rec[b]) for a, b in _CI_PAIRS if a in rec and b in rec),
                  (None, None))
    N = _v(rec, "N")
    text = style.percent(pct, N)
    if not (is_missing(lo) and is_missing(hi)):
        text += f" ({format_ci(lo, hi, lambda v: style.percent_value(v, N, guard=False))})"
    n = _v(rec, "n")
    if show_denominator and not is_missing(n) and not is_missing(N):
        text = f"{format_count(n)}/{format_count(N)}, {text}"
    return text


#: Named cell templates for ``Result.display["cell"]``.
CELL_TEMPLATES: dict[str, CellTemplate] = {
    "n_pct": CellTemplate("n (%)", ("n",), (("", _fmt_n_pct),)),
    "median_iqr": CellTemplate(
        "median (IQR) and range", ("median", "q1", "q3"),
        (("Median (IQR)", _fmt_median_iqr), ("Range", _fmt_range), ("Missing, n", _fmt_missing)),
        optional=frozenset({"Missing, n"})),
    "median_range": CellTemplate("median (range)", ("median", "min", "max"),
                                 (("", _fmt_median_range),)),
    "pct_ci": CellTemplate("% ({ci})", ("pct",), (("", _fmt_pct_ci),)),
}


def _as_list(x: Any) -> list[str]:
    if isinstance(x, str):
        return [x]
    if isinstance(x, list | tuple):
        return [str(c) for c in x]
    return []


def _unique(values: Sequence[Any]) -> Any:
    """The one non-missing value of ``values``, or None if there are none or several."""
    seen = {v for v in values if not is_missing(v)}
    return next(iter(seen)) if len(seen) == 1 else None


def _group_sizes(records: Sequence[Mapping[str, Any]]) -> Any:
    """Group size printed in the header: the ``N`` shared by every row of the group; for
    tables without ``N`` (continuous summaries), the ``n`` shared by every row when no
    value is missing. None when rows disagree (cells then print ``n/N``)."""
    if records and "N" in records[0]:
        return _unique([r["N"] for r in records])
    if (records and "n" in records[0] and "missing" in records[0]
            and all(not is_missing(r["missing"]) and float(r["missing"]) == 0 for r in records)):
        return _unique([r["n"] for r in records])
    return None


def _raw_cell(key: str, rec: Mapping[str, Any], cols: Sequence[str]) -> str:
    vals = "; ".join(f"{c}={raw_text(rec[c])}" for c in cols if c in rec)
    return f"{key}: {vals}"


def find_tests(result: Any, results: Any) -> Any:
    """The sibling test Result a publication table may take its P column from.

    Parameters
    ----------
    result : Result
        A Result with a publication layout (``display["rows"]``).
    results : ResultSet or mapping of str to Result
        The report's Results, looked up by name.

    Returns
    -------
    Result or None
        ``<prefix>.tests`` (``baseline.continuous`` -> ``baseline.tests``) when it is in
        ``results``, in the same section, with columns ``test``, ``p`` and the first
        ``display["rows"]`` column; None otherwise (also when ``result`` has no
        ``display["rows"]``).

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.results import Result, ResultSet
    >>> t = pd.DataFrame({"variable": ["Female", "Female"], "group": ["A", "B"],
    ...                   "n": [2, 1], "N": [4, 5], "pct": [50.0, 20.0]})
    >>> r = Result("baseline.categorical", "Table 1", t, "Counts", section="baseline",
    ...            display={"rows": "variable", "columns": "group", "cell": "n_pct"})
    >>> tests = Result("baseline.tests", "Tests", pd.DataFrame(
    ...     {"variable": ["Female"], "test": ["Fisher exact"], "p": [0.52]}), "Fisher",
    ...     section="baseline")
    >>> find_tests(r, ResultSet([r, tests])).name
    'baseline.tests'
    >>> find_tests(r, ResultSet([r])) is None
    True
    """
    rows = _as_list((result.display or {}).get("rows"))
    if not rows:
        return None
    name = result.name.split(".", 1)[0] + ".tests"
    if name == result.name or name not in results:
        return None
    tests = results[name]
    cols = set(map(str, tests.table.columns))
    if tests.section != result.section or not {"test", "p", rows[0]} <= cols:
        return None
    return tests


def _p_lookup(tests: Any, key_col: str) -> dict[Any, tuple[Any, str, str]]:
    """``{row value: (p, test name, row key)}``; ambiguous (duplicated) values are dropped."""
    t = tests.table
    keys = t[key_col].tolist()
    out: dict[Any, tuple[Any, str, str]] = {}
    dup = {k for k, c in Counter(keys).items() if c > 1}
    for rk, k, p, test in zip(tests.row_keys(), keys, t["p"].tolist(), t["test"].tolist(),
                              strict=True):
        if k not in dup:
            out[k] = (p, "" if is_missing(test) else str(test), rk)
    return out


def publication_table(result: Any, tests: Any = None,
                      max_rows: int | None = None,
                      group_labels: Mapping[str, str] | None = None,
                      style: NumberStyle | str | None = None) -> DisplayTable | None:
    """The manuscript layout of ``result`` per ``result.display``, or None if it has none.

    Rows keep the order of first appearance of their key (for two-level ``rows``: the
    first level as a bold heading, the second indented below it), columns the order of
    first appearance of the group with ``"Overall"`` first, each headed ``"A (N = 4)"``
    (``N`` shared by the group's rows; when rows of a group have different denominators
    the header has no N and the cells print ``n/N``). A row key absent from a group
    prints ``"—"``. ``tests`` (see :func:`find_tests`) adds a ``P`` column looked up by
    the first ``rows`` value, with superscript letters naming the test in the notes.
    Returns None when ``display`` is empty or does not fit the table (unknown template,
    missing column, two tidy rows for one cell), so the renderer falls back to the tidy
    table rather than hide a row. ``group_labels`` (cohort code -> label from study.toml)
    heads a column with the cohort's label ("0.5×10⁶/kg (N = 4)") instead of its code;
    ``style`` is the report's number style (default ``"remission"``).

    The ``cell`` templates are :data:`CELL_TEMPLATES`: ``n_pct`` ("n (%)"),
    ``median_iqr`` (median (IQR), range and missing rows), ``median_range`` and
    ``pct_ci`` (percentage with its confidence interval). The layout follows CONSORT 2010
    item 15 as clinical journals print a baseline table.

    Parameters
    ----------
    result : Result
        The tidy Result; ``result.display`` gives ``rows`` (one column name or two),
        ``columns`` (the group column) and ``cell`` (a template name).
    tests : Result, optional
        The sibling test Result (:func:`find_tests`) supplying the ``P`` column.
    max_rows : int, optional
        Keep the first rows only (the note under the table says how many there are).
    group_labels : mapping of str to str, optional
        Cohort code -> label for the column headers.
    style : NumberStyle or str, optional
        Number style (:data:`remission.numbers.STYLES`); default ``"remission"``.

    Returns
    -------
    DisplayTable or None
        The layout with ``row_kinds`` and table notes (what the cells are, which test
        each superscript letter names), or None as described above.

    References
    ----------
    Moher D, Hopewell S, Schulz KF, et al. CONSORT 2010 explanation and elaboration:
    updated guidelines for reporting parallel group randomised trials. BMJ
    2010;340:c869 (item 15, baseline data).

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.results import Result, ResultSet
    >>> t = pd.DataFrame({"variable": ["Female", "Female"], "group": ["A", "B"],
    ...                   "n": [2, 1], "N": [4, 5], "pct": [50.0, 20.0]})
    >>> r = Result("baseline.categorical", "Table 1", t, "Counts", section="baseline",
    ...            display={"rows": "variable", "columns": "group", "cell": "n_pct"})
    >>> tests = Result("baseline.tests", "Tests", pd.DataFrame(
    ...     {"variable": ["Female"], "test": ["Fisher exact"], "p": [0.52]}), "Fisher",
    ...     section="baseline")
    >>> dt = publication_table(r, tests)
    >>> dt.index_header, dt.columns
    ('Characteristic', ('A (N = 4)', 'B (N = 5)', 'P'))
    >>> [(key, [c.text for c in cells]) for key, cells in dt.rows]
    [('Female', ['2 (50.0%)', '1 (20.0%)', '0.52ᵃ'])]
    >>> dt.notes
    ('Data are n (%).', 'ᵃ Fisher exact test.')
    >>> publication_table(Result("x", "x", t, "Counts")) is None  # no display
    True
    """
    st = get_style(style)
    disp = result.display or {}
    rows_by = _as_list(disp.get("rows"))
    col_by = disp.get("columns")
    tmpl = CELL_TEMPLATES.get(str(disp.get("cell")))
    table = result.table
    names = [str(c) for c in table.columns]
    if (not rows_by or not isinstance(col_by, str) or tmpl is None
            or not set(rows_by) | {col_by} | set(tmpl.needs) <= set(names)):
        return None
    keys = result.row_keys()
    records = [dict(zip(names, rec, strict=True))
               for rec in table.to_numpy(dtype=object).tolist()]

    groups: list[Any] = []
    by_group: dict[Any, list[Mapping[str, Any]]] = {}
    cells: dict[tuple[tuple[Any, ...], Any], tuple[str, Mapping[str, Any]]] = {}
    order: list[tuple[Any, ...]] = []
    seen: set[tuple[Any, ...]] = set()
    for key, rec in zip(keys, records, strict=True):
        g = rec[col_by]
        if g not in by_group:
            groups.append(g)
            by_group[g] = []
        by_group[g].append(rec)
        rk = tuple(rec[c] for c in rows_by)
        if (rk, g) in cells:  # two tidy rows for one cell: the layout would hide one
            return None
        if rk not in seen:
            seen.add(rk)
            order.append(rk)
        cells[(rk, g)] = (key, rec)
    groups.sort(key=lambda g: 0 if str(g) == OVERALL else 1)  # stable: Overall first

    sizes = {g: _group_sizes(by_group[g]) for g in groups}
    headers = []
    for g in groups:
        n = sizes[g]
        name = (group_labels or {}).get(str(g)) or format_value(g)
        headers.append(f"{name} (N = {format_count(n)})" if n is not None else name)
    show_den = {g: sizes[g] is None for g in groups}
    # rows sharing a heading (first level) stay together, in order of first appearance
    if len(rows_by) > 1:
        heads: dict[Any, list[tuple[Any, ...]]] = {}
        for rk in order:
            heads.setdefault(rk[:-1], []).append(rk)
        order = [rk for block in heads.values() for rk in block]

    p_of = _p_lookup(tests, rows_by[0]) if tests is not None else {}
    letters: dict[str, str] = {}
    used_p = False

    def p_cell(first_value: Any) -> Cell:
        nonlocal used_p
        hit = p_of.get(first_value)
        if hit is None:
            return Cell(MISSING if p_of else "", "")
        p, test, rk = hit
        text = st.p(p)
        if not is_missing(p) and test:
            i = len(letters)
            mark = letters.setdefault(test, SUPERSCRIPT[i] if i < len(SUPERSCRIPT)
                                      else f"[{i + 1}]")
            text += mark
        used_p = True
        return Cell(text, f"{tests.name} | {rk}: p={raw_text(p)}; test={test}", "p")

    raw_cols = [c for c in names if c not in rows_by and c != col_by]
    multi_line = len(tmpl.lines) > 1
    out_rows: list[tuple[str, tuple[Cell, ...]]] = []
    kinds: list[str] = []
    dec_of = disp.get("decimals") if isinstance(disp.get("decimals"), Mapping) else {}
    kinds_of = disp.get("summaries") if isinstance(disp.get("summaries"), Mapping) else {}
    blank = tuple(Cell("") for _ in groups)
    last_head: tuple[Any, ...] | None = None
    for rk in order:
        head = rk[:-1] if len(rows_by) > 1 else (rk if multi_line else None)
        leaf = format_value(rk[-1])
        p_here = head is None  # under a heading, P sits on the heading row
        if head is not None and head != last_head:
            label = " | ".join(format_value(x) for x in head)
            extra = (p_cell(head[0]),) if p_of else ()
            out_rows.append((label, blank + extra))
            kinds.append("group")
        last_head = head
        d = dec_of.get(rk[0])
        num = summary_formatter(st, d if isinstance(d, int) and not isinstance(d, bool)
                                else None, kinds_of)
        for i, (sub, fmt) in enumerate(tmpl.lines):
            recs = [cells.get((rk, g)) for g in groups]
            if sub in tmpl.optional and not any(
                    r is not None and not is_missing(r[1].get("missing"))
                    and float(r[1]["missing"]) > 0 for r in recs):
                continue
            row_cells = tuple(
                Cell(fmt(r[1], show_den[g], st, num), _raw_cell(r[0], r[1], raw_cols))
                if r is not None else Cell(MISSING, "not in the tidy table")
                for r, g in zip(recs, groups, strict=True))
            if p_of:
                row_cells += (p_cell(rk[0]) if p_here and i == 0 else Cell(""),)
            if multi_line and len(rows_by) > 1:
                label, kind = f"{leaf}, {sub[0].lower()}{sub[1:]}", "sub"
            elif multi_line:
                label, kind = sub, "sub"
            else:
                label, kind = leaf, ("sub" if head is not None else "")
            out_rows.append((label, row_cells))
            kinds.append(kind)

    columns = tuple(headers) + (("P",) if p_of else ())
    if p_of and not used_p:  # no row matched a test: no P column
        columns = columns[:-1]
        out_rows = [(k, c[:-1]) for k, c in out_rows]
    notes = [_template_note(tmpl, result.params, any(show_den.values()))]
    if used_p:
        notes += [f"{m} {t}" + ("" if t.lower().endswith("test") else " test") + "."
                  for t, m in letters.items()]
    n_total = len(out_rows)
    if max_rows is not None:
        out_rows, kinds = out_rows[:max_rows], kinds[:max_rows]
    stub = STUB_HEADERS.get(rows_by[0], rows_by[0][:1].upper() + rows_by[0][1:])
    return DisplayTable(
        index_header=stub,
        columns=columns,
        rows=tuple(out_rows),
        n_rows_total=n_total,
        numeric=(True,) * len(columns),
        row_kinds=tuple(kinds),
        notes=tuple(notes),
    )


def _template_note(tmpl: CellTemplate, params: Mapping[str, Any], denominators: bool) -> str:
    label = tmpl.label.format(ci=conf_level_label(params))
    if denominators and tmpl.label == "n (%)":
        label = "n/N (%) where denominators differ within a group, else n (%)"
    elif denominators and tmpl.label.startswith("%"):
        label = "n/N, " + label + " where denominators differ within a group"
    return f"Data are {label}."
