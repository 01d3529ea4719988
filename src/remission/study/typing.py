"""Turn text cells into typed columns, logging every bad cell with its line and column."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from remission.errors import ProblemLog
from remission.study.schema import NO, SEX_CODES, YES, Column

MISSING = {"", "na", "n/a", "nan", "none", "null", "/", "-", "."}


def is_missing(v: str) -> bool:
    """Whether a cell means "no value": blank, or NA, N/A, NaN, None, null, "/", "-", "."
    in any case and with surrounding spaces.

    Parameters
    ----------
    v : str
        The cell text.

    Returns
    -------
    bool

    Examples
    --------
    >>> [is_missing(v) for v in ("", " N/A ", "-", "0", "none", "NR")]
    [True, True, True, False, True, False]
    """
    return v.strip().lower() in MISSING


def type_table(
    df: pd.DataFrame,
    columns: tuple[Column, ...],
    label: str,
    log: ProblemLog,
    anchor: pd.Series | None = None,
    extra_allowed: dict[str, tuple[str, ...]] | None = None,
    build: bool = True,
) -> pd.DataFrame | None:
    """Return a copy of ``df`` with known columns typed; problems go to ``log``.

    Numbers, integers, days, yes/no and categories are converted; missing cells
    (:func:`is_missing`) become NaN or ``""``; every value that cannot be converted or is
    out of range is a problem naming the file, line, column, value and what was
    expected, and is left missing. Unknown columns are kept as text.

    Parameters
    ----------
    df : pandas.DataFrame
        A table from :func:`remission.study.tables.read_table` (strings, index = line).
    columns : tuple of Column
        The table's schema (:mod:`remission.study.schema`).
    label : str
        File name used in problems.
    log : ProblemLog
        Collects the problems.
    anchor : pandas.Series, optional
        Per-row anchor date (day 0) used to convert ISO dates in ``day`` columns.
    extra_allowed : dict, optional
        Additional allowed values of category columns (from study.toml).
    build : bool, default True
        False: every cell is checked and its problems logged as with True, but the typed
        table is not built (None is returned): for a caller that wants the problems only
        (the web's check of a typed day; building the columns cost most of the time on a
        few rows).

    Returns
    -------
    pandas.DataFrame or None
        A typed copy of ``df`` (None when ``build`` is False).

    Examples
    --------
    >>> from remission.study.schema import Column
    >>> cols = (Column("patient_id", "text", required=True),
    ...         Column("age", "number", lo=0, hi=120),
    ...         Column("sex", "category", allowed=("M", "F")))
    >>> df = pd.DataFrame({"patient_id": ["1", "2", "3"], "age": ["34", "NA", "230"],
    ...                    "sex": ["male", "F", "x"]}, index=pd.Index([2, 3, 4], name="line"))
    >>> log = ProblemLog()
    >>> type_table(df, cols, "patients.csv", log)["age"].tolist()
    [34.0, nan, nan]
    >>> [(p.row, p.column, p.value, p.message) for p in log.problems]
    [(4, 'age', '230', 'value out of range'), (4, 'sex', 'x', 'invalid value')]
    """
    out = df.copy() if build else None
    spec = {c.name: c for c in columns}
    for col in columns:
        if col.required and col.name not in df.columns:
            log.add(
                label,
                "required column is missing",
                row=df.attrs.get("header_line", 1),
                column=col.name,
                expected=f"a column named '{col.name}' (found: {', '.join(df.columns)})",
            )
    for name in df.columns:
        c = spec.get(name)
        if c is None:
            continue
        allowed = c.allowed + tuple((extra_allowed or {}).get(name, ()))
        values = _typed_values(df[name], c, label, log, anchor, allowed)
        if out is not None:
            out[name] = _typed_series(values, df.index, c)
    return out


def _typed_values(
    s: pd.Series,
    c: Column,
    label: str,
    log: ProblemLog,
    anchor: pd.Series | None,
    allowed: tuple[str, ...],
) -> list:
    """The typed value of each cell of ``s`` (None when missing or bad; problems logged)."""
    values: list = []
    for line, raw in s.items():
        v = str(raw)
        if is_missing(v):
            if c.required:
                log.add(label, "value is missing", row=line, column=c.name, expected=_expect(c))
            values.append(None)
            continue
        typed = _convert(v, c, anchor, line, allowed)
        if typed is _BAD:
            log.add(label, "invalid value", row=line, column=c.name, value=v, expected=_expect(c))
            values.append(None)
            continue
        if isinstance(typed, float | int) and not _in_range(typed, c):
            log.add(
                label, "value out of range", row=line, column=c.name, value=v, expected=_expect(c)
            )
            values.append(None)
            continue
        values.append(typed)
    return values


def _typed_series(values: list, index: pd.Index, c: Column) -> pd.Series:
    """The column of ``values`` (:func:`_typed_values`) in ``c``'s type."""
    if c.kind in ("number",):
        return pd.Series([np.nan if v is None else v for v in values], index=index, dtype=float)
    if c.kind in ("integer", "day"):
        return pd.Series(values, index=index, dtype="Int64")
    return pd.Series(["" if v is None else v for v in values], index=index, dtype=object)


_BAD = object()


def _convert(
    v: str, c: Column, anchor: pd.Series | None, line: int, allowed: tuple[str, ...]
) -> object:
    if c.kind == "text":
        return v
    if c.kind == "number":
        x = parse_number(v.replace("×10^", "e").replace("x10^", "e"))
        return _BAD if x is None else x
    if c.kind in ("integer", "day"):
        if c.kind == "day" and anchor is not None and _looks_like_date(v):
            try:
                d = pd.Timestamp(v)
                a = anchor.get(line)
                if a is None or pd.isna(a):
                    return _BAD
                return int((d - pd.Timestamp(a)).days)
            except (ValueError, TypeError):
                return _BAD
        v2 = v[1:] if v[:1] in "Dd" and _NUMBER.fullmatch(v[1:]) else v  # "D15" as printed
        x = parse_number(v2)
        if x is None or not x.is_integer():
            return _BAD
        return int(x)
    if c.kind == "yesno":
        low = v.lower()
        if low in YES:
            return "Yes"
        if low in NO:
            return "No"
        return _BAD
    if c.kind == "category":
        if c.name == "sex":
            return SEX_CODES.get(v.lower(), v if v in allowed else _BAD)
        if v in allowed:
            return v
        folded = {a.lower(): a for a in allowed}
        return folded.get(v.lower(), _BAD)
    return v


# A number as people type it: ASCII digits only (Python's float() would also take "1_0" as 10
# and Arabic-Indic or full-width digits), optional sign, decimals and exponent.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", flags=re.ASCII)
LARGEST = 1e15  # beyond any count, day or dose: an overflow or a pasted identifier


def parse_number(v: str) -> float | None:
    """The number written in ``v``, or None if it is not a plain decimal number.

    Parameters
    ----------
    v : str
        Cell text (already stripped).

    Returns
    -------
    float or None
        None for text, digit separators (``1_0``), non-ASCII digits, NaN, infinities and
        magnitudes above 1e15.

    Examples
    --------
    >>> parse_number("1.5e6"), parse_number("1_0"), parse_number("١٢"), parse_number("inf")
    (1500000.0, None, None, None)
    """
    if not _NUMBER.fullmatch(v):
        return None
    x = float(v)
    return x if math.isfinite(x) and abs(x) <= LARGEST else None


def _looks_like_date(v: str) -> bool:
    return len(v) == 10 and v[4] == "-" and v[7] == "-"


def _in_range(x: float, c: Column) -> bool:
    if c.lo is not None and x < c.lo:
        return False
    return not (c.hi is not None and x > c.hi)


def _expect(c: Column) -> str:
    if c.kind == "category":
        return "one of " + ", ".join(c.allowed)
    if c.kind == "yesno":
        return "Yes or No"
    kind = {"number": "a number", "integer": "a whole number", "day": "a whole day number"}.get(
        c.kind, "text"
    )
    if c.kind == "day":
        kind += " relative to infusion (day 0), or a date YYYY-MM-DD with an anchor date"
    rng = ""
    if c.lo is not None and c.hi is not None:
        rng = f" from {c.lo:g} to {c.hi:g}"
    elif c.lo is not None:
        rng = f" >= {c.lo:g}"
    unit = f" ({c.unit})" if c.unit else ""
    return f"{kind}{rng}{unit}"
