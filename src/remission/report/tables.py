"""The tidy table of a Result as text cells, identical for HTML, Word and the terminal.

Each column is formatted by its **role** (:meth:`remission.results.Result.column_roles`:
declared by the analysis or inferred once from name and values), never by guessing from
its name here: a count and its percentage print as ``"n (x%)"``, a pair of confidence
limits as one ``"lo–hi"`` column in the precision of their estimate, p-values and ratios
by the report's :class:`~remission.numbers.NumberStyle`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remission.numbers import (
    AUDIT_DIGITS,
    NOT_REACHED,
    NumberStyle,
    format_ci,
    format_count,
    format_number,
    format_value,
    get_style,
    is_missing,
    is_number,
    prop_to_pct,
)
from remission.report.labels import conf_level_label, format_verdict, human_label, verdict_class
from remission.roles import Role, col_name

_CI_SUFFIXES = (
    ("ci_lo", "ci_hi"), ("ci_low", "ci_high"), ("ci_lower", "ci_upper"),
    ("lo", "hi"), ("low", "high"), ("lower", "upper"),
)

@dataclass(frozen=True)
class Cell:
    """One displayed cell: text, the raw value(s) behind it, and a kind for styling."""

    text: str
    raw: str = ""
    kind: str = ""  # "", "p", "verdict:agrees", ...


@dataclass(frozen=True)
class DisplayTable:
    """A Result table turned into text, identical for every renderer."""

    index_header: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]
    n_rows_total: int
    numeric: tuple[bool, ...] = ()  # per column: right-align (numbers) or not (text)
    #: per row, publication layout only: "" plain, "group" bold heading, "sub" indented
    row_kinds: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # lines printed under the table (cell legend, test marks)

    @property
    def truncated(self) -> bool:
        return self.n_rows_total > len(self.rows)



@dataclass(frozen=True)
class _Col:
    header: str
    kind: str  # p | npct_pct | npct_prop | ci | ci_pct | ci_prop | ci_ratio | pct | prop |
    #            ratio | verdict | count | plain
    sources: tuple[int, ...]  # column positions in the table


def _ci_stem(name: str) -> str | None:
    """``"HR_lo"`` -> ``"HR"``, ``"ci_low"`` -> ``""``; None when no known suffix."""
    low = name.lower()
    for suffixes in _CI_SUFFIXES:
        for suf in suffixes:
            if low == suf:
                return ""
            if low.endswith("_" + suf):
                return name[: -len(suf) - 1]
    return None


def _plan_columns(names: Sequence[str], roles: Sequence[Role], params: Mapping[str, Any]
                 ) -> list[_Col]:
    """How each column displays, from the columns' roles: count/share pairs and
    confidence-limit pairs become one column at the position of their first member."""
    used: set[int] = set()
    plan: list[_Col] = []
    ci_label = conf_level_label(params)
    kind_of = {n: r.kind for n, r in zip(names, roles, strict=True)}

    for j, (name, role) in enumerate(zip(names, roles, strict=True)):
        if j in used:
            continue
        used.add(j)
        kind = role.kind
        if kind == "count":
            share = next((k for k, r in enumerate(roles) if k not in used and r.of == name
                          and r.kind in ("percent", "proportion")), None)
            if share is not None:
                used.add(share)
                head = ("n (%)" if name == "n" else
                        f"{human_label(name[:-2])}, n (%)" if name.endswith("_n") else
                        f"{human_label(name)}, n (%)")
                tag = "prop" if roles[share].kind == "proportion" else "pct"
                plan.append(_Col(head, f"npct_{tag}", (j, share)))
            else:
                plan.append(_Col(human_label(name), "count", (j,)))
        elif kind in ("ci_low", "ci_high"):
            want = "ci_high" if kind == "ci_low" else "ci_low"
            other = next((k for k, r in enumerate(roles) if k not in used and r.kind == want
                          and r.of == role.of), None)
            if other is None:
                plan.append(_Col(human_label(name), "plain", (j,)))
                continue
            used.add(other)
            lo, hi = (j, other) if kind == "ci_low" else (other, j)
            of_kind = kind_of.get(role.of or "", "")
            tag = {"percent": "ci_pct", "proportion": "ci_prop", "ratio": "ci_ratio",
                   "event_time": "ci_time"}.get(
                of_kind, "ci")
            stem = _ci_stem(names[lo])
            if stem is None:
                stem = role.of or ""
            head = f"{human_label(stem) if stem else ''} {ci_label}".strip()
            plan.append(_Col(head + (" (%)" if tag in ("ci_pct", "ci_prop") else ""), tag,
                             (lo, hi)))
        else:
            simple = {"p": "p", "percent": "pct", "proportion": "prop", "verdict": "verdict",
                      "ratio": "ratio", "event_time": "event_time"}.get(kind, "plain")
            plan.append(_Col(human_label(name), simple, (j,)))
    return plan


def raw_text(v: Any) -> str:
    """The unrounded value behind a cell (shown on hover; ``"NA"`` when missing).

    Parameters
    ----------
    v : any
        A table value.

    Returns
    -------
    str
        ``"NA"`` for a missing value, the shortest round-trip ``repr`` of a float
        (numpy scalars included), else ``str(v)``.

    Examples
    --------
    >>> import numpy as np
    >>> raw_text(0.1 + 0.2), raw_text(np.float32(0.5)), raw_text(None), raw_text("CR")
    ('0.30000000000000004', '0.5', 'NA', 'CR')
    """
    if is_missing(v):
        return "NA"
    if isinstance(v, float):
        return repr(v)
    if hasattr(v, "item"):
        try:
            return repr(v.item())
        except (ValueError, AttributeError):
            pass
    return str(v)


def _bounds(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    """A confidence-limit formatter that leaves text limits as text."""
    return lambda v: fmt(v) if is_missing(v) or is_number(v) else str(v)


def _cell(col: _Col, vals: Sequence[Any], integral: bool, style: NumberStyle,
          denominator: Any = None, digits: int = 3) -> Cell:
    raw = "; ".join(raw_text(v) for v in vals)
    kind = col.kind
    if kind == "p":
        return Cell(style.p(vals[0]), raw, "p")
    if kind == "npct_prop":
        return Cell(style.n_pct(vals[0], prop=vals[1], denominator=denominator), raw)
    if kind == "npct_pct":
        return Cell(style.n_pct(vals[0], vals[1], denominator=denominator), raw)
    if kind == "ci":
        return Cell(format_ci(vals[0], vals[1], _bounds(format_number)), raw)
    if kind == "event_time":
        return Cell(NOT_REACHED if is_missing(vals[0]) else format_number(vals[0]), raw)
    if kind == "ci_time":  # a band that never reached 0.5 gives a limit not reached
        if is_missing(vals[0]) and is_missing(vals[1]):
            return Cell(f"{NOT_REACHED}–{NOT_REACHED}", raw)
        return Cell(format_ci(vals[0], vals[1], lambda v: NOT_REACHED if is_missing(v)
                              else _bounds(format_number)(v)), raw)
    if kind == "ci_ratio":
        return Cell(format_ci(vals[0], vals[1], _bounds(style.ratio)), raw)
    if kind == "ci_prop":
        return Cell(format_ci(vals[0], vals[1], _bounds(
            lambda v: style.percent_value(prop_to_pct(v), denominator, guard=False))), raw)
    if kind == "ci_pct":
        return Cell(format_ci(vals[0], vals[1], _bounds(
            lambda v: style.percent_value(v, denominator, guard=False))), raw)
    if kind == "pct":
        return Cell(style.percent_value(vals[0], denominator), raw)
    if kind == "prop":
        return Cell(style.proportion(vals[0], denominator), raw)
    if kind == "verdict":
        return Cell(format_verdict(vals[0]), raw, "verdict:" + verdict_class(vals[0]))
    if kind == "ratio" and style.ratio_rule != "signif3":
        return Cell(style.ratio(vals[0]), raw)
    if kind == "count" or integral:
        v = vals[0]
        if not is_missing(v) and not isinstance(v, str):
            try:
                return Cell(format_count(v), raw)
            except (TypeError, ValueError):
                pass
    v = vals[0]
    if digits != 3 and isinstance(v, int | float) and not isinstance(v, bool):
        return Cell(format_number(v, digits), raw)
    return Cell(format_value(v), raw)


def _integral_column(series: Any) -> bool:
    """A float column whose every non-missing value is a whole number (counts read as float)."""
    kind = getattr(series.dtype, "kind", "O")
    if kind in "iu":
        return True
    if kind != "f":
        return False
    vals = series.dropna().to_numpy()
    if len(vals) == 0:
        return False
    import numpy as np

    return bool(np.all(np.isfinite(vals)) and np.all(vals == np.round(vals)))


def _summary_columns(result: Any, plan: Sequence[_Col], names: Sequence[str],
                     style: NumberStyle, n_rows: int
                     ) -> tuple[dict[int, str], list[int | None]]:
    """Summary columns printed to the data's precision: ``({plan position: kind}, decimals
    per row)``, from ``display["summaries"]`` and ``display["decimals"]`` (keyed by the
    row's ``display["rows"]`` value); empty unless the style prints summaries so."""
    disp = getattr(result, "display", None) or {}
    kinds, decs, by = disp.get("summaries"), disp.get("decimals"), disp.get("rows")
    if (style.summary_rule == "signif3" or not isinstance(kinds, Mapping)
            or not isinstance(decs, Mapping) or not isinstance(by, str) or by not in names):
        return {}, [None] * n_rows
    at = {j: str(kinds[names[c.sources[0]]]) for j, c in enumerate(plan)
          if c.kind == "plain" and len(c.sources) == 1 and names[c.sources[0]] in kinds}
    labels = result.table.iloc[:n_rows, names.index(by)].tolist()
    per_row = [d if isinstance(d, int) and not isinstance(d, bool) else None
               for d in (decs.get(v) if isinstance(v, str) else None for v in labels)]
    return at, per_row


def display_table(result: Any, max_rows: int | None = None,
                  style: NumberStyle | str | None = None) -> DisplayTable:
    """Turn ``result.table`` into text cells by the columns' roles.

    Parameters
    ----------
    result : Result
        Any Result.
    max_rows : int, optional
        Keep the first rows only (the complete table is always in ``results.json``);
        renderers say so under the table.
    style : NumberStyle or str, optional
        Number style (study.toml ``[report] number_style``); default ``"remission"``.

    Returns
    -------
    DisplayTable
        Headers, text cells with their raw values, alignment.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.results import Result
    >>> t = pd.DataFrame({"HR": [0.4567], "HR_lo": [0.21], "HR_hi": [0.993], "p": [0.0456]},
    ...                  index=["age"])
    >>> dt = display_table(Result("x", "X", t, "m", params={"conf": 0.95}), style="nejm")
    >>> dt.columns, [c.text for c in dt.rows[0][1]]
    (('HR', 'HR 95% CI', 'P'), ['0.46', '0.210–0.99', '0.05'])
    """
    st = get_style(style)
    table = result.table
    names = [col_name(c) for c in table.columns]
    roles = result.column_roles()
    plan = _plan_columns(names, roles, result.params)
    # Audit tables compare a printed number with a recomputed one: show 6 significant
    # digits there, or "58.33 reported vs 58.3 recomputed" would look like a mismatch.
    digits = AUDIT_DIGITS if any(c.kind == "verdict" for c in plan) else 3
    keys = result.row_keys()
    n_total = len(keys)
    n_show = n_total if max_rows is None else min(n_total, max_rows)
    integral = {
        id(c): c.kind in ("plain", "ratio") and _integral_column(table.iloc[:, c.sources[0]])
        for c in plan
    }
    den_col = next((j for j, r in enumerate(roles) if r.kind == "denominator"), None)
    dens = table.iloc[:n_show, den_col].tolist() if den_col is not None else [None] * n_show
    columns_data = [[table.iloc[:n_show, s].tolist() for s in c.sources] for c in plan]
    summary_kind, row_decimals = _summary_columns(result, plan, names, st, n_show)
    rows = []
    for i in range(n_show):
        cells = tuple(
            Cell(st.summary(data[0][i], summary_kind[j], row_decimals[i]), raw_text(data[0][i]))
            if j in summary_kind and row_decimals[i] is not None
            else _cell(c, [src[i] for src in data], integral[id(c)], st, dens[i], digits)
            for j, (c, data) in enumerate(zip(plan, columns_data, strict=True))
        )
        rows.append((keys[i], cells))
    idx = table.index
    index_names = [n for n in getattr(idx, "names", [idx.name]) if n is not None]
    numeric = tuple(
        c.kind not in ("plain", "verdict")
        or getattr(table.dtypes.iloc[c.sources[0]], "kind", "O") in "iuf"
        for c in plan
    )
    return DisplayTable(
        index_header=" | ".join(str(n) for n in index_names),
        columns=tuple(c.header for c in plan),
        rows=tuple(rows),
        n_rows_total=n_total,
        numeric=numeric,
    )
