"""Claims: numbers a paper reports, each tied to what remission recomputes.

``claims.toml`` holds ``[[claim]]`` tables. A claim is checked in one of three ways:

* ``result`` + ``row`` + ``column``: a cell of a Result (e.g. ``response.rates``,
  ``"ORR | Overall"``, ``"pct"``);
* ``dataset = "ADSL"`` + ``stat`` (count | median | min | max | mean | pct) with an optional
  ``where`` (a pandas query over ADSL) and ``var``: a statistic over a subset of patients,
  for statements that cut the data in ways no standard table does;
* ``checkable = false`` + ``why``: the data needed are not in the study (stated, not guessed).

``reported`` is written as printed (a string keeps its decimals: "58.33"); agreement means
the recomputed value rounds to the printed value at the printed precision.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from remission.errors import ProblemLog
from remission.results import ResultSet
from remission.study.config import read_toml_text, toml_error_line

AGREES, DISAGREES, CANNOT = "agrees", "disagrees", "cannot be checked"
UNRESOLVED = "cannot recompute"  # start of ``why`` when a claim names what the data lack
_KEYS = {"id", "text", "source", "result", "row", "column", "dataset", "where", "var", "stat",
         "reported", "checkable", "why", "note"}
_STATS = ("count", "median", "min", "max", "mean", "pct")


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    source: str
    reported: Any
    result: str | None = None
    row: str | None = None
    column: str | None = None
    dataset: str | None = None
    where: str | None = None
    var: str | None = None
    stat: str | None = None
    checkable: bool = True
    why: str = ""
    note: str = ""
    line: int | None = None  # line of its [[claim]] header in the claims file


def read_claims(path: Path, label: str | None = None) -> list[Claim]:
    """Parse claims.toml; raises InputError with every malformed claim (with its line).

    Parameters
    ----------
    path : Path
        The claims file.
    label : str, optional
        Name used in problems (default: the file name).

    Returns
    -------
    list of Claim
        In file order.

    Examples
    --------
    >>> from remission.errors import InputError
    >>> try:
    ...     read_claims(Path("/nonexistent/claims.toml"))
    ... except InputError as exc:
    ...     print(exc.problems[0].message)
    claims file is missing
    """
    log = ProblemLog()
    label = label or path.name
    claims = _parse_claims(path, label, log)
    log.raise_if_any()
    return claims


def claim_lines(text: str, table: str = "claim") -> list[int]:
    """Line of each ``[[table]]`` header, in order (the n-th claim starts there).

    Parameters
    ----------
    text : str
        The TOML text of a claims file.
    table : str, default "claim"
        The array-of-tables name.

    Returns
    -------
    list of int
        1-based lines.

    Examples
    --------
    >>> claim_lines("[[claim]]\\nid = 1\\n\\n[[claim]]\\n")
    [1, 4]
    """
    pat = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
    return [i for i, ln in enumerate(text.splitlines(), start=1) if pat.match(ln)]


def _parse_claims(path: Path, label: str, log: ProblemLog) -> list[Claim]:
    if path.is_dir():
        log.add(label, "is a folder, not a file", expected="a claims.toml file")
        return []
    if not path.exists():
        log.add(label, "claims file is missing",
                expected="the file named by [audit] claims in study.toml, in the study folder")
        return []
    text = read_toml_text(path, label, log)
    if text is None:
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        log.add(label, f"malformed TOML: {exc}", row=toml_error_line(exc), expected="valid TOML")
        return []
    raw = data.get("claim", [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        log.add(label, "claims must be [[claim]] tables", column="claim", row=1,
                expected="[[claim]] tables")
        return []
    lines = claim_lines(text)
    claims = []
    seen: set[str] = set()
    for i, c in enumerate(raw, start=1):
        where = f"claim[{i}]"
        line = lines[i - 1] if i - 1 < len(lines) else None

        def add(message: str, key: str | None = None, _line: int | None = line,
                _where: str = where, **kw: Any) -> None:
            log.add(label, message, row=_line, column=f"{_where}.{key}" if key else _where, **kw)

        for k in c:
            if k not in _KEYS:
                add("unknown key", k, expected="one of " + ", ".join(sorted(_KEYS)))
        for k in ("id", "text", "source", "result", "row", "column", "dataset", "where", "var",
                  "stat", "why", "note"):
            if k in c and not isinstance(c[k], str):
                add("must be a string (in quotes)", k, value=c[k], expected="text in quotes")
        cid = str(c.get("id", where))
        if cid in seen:
            add("duplicate claim id", "id", value=cid, expected="a unique id per claim")
        seen.add(cid)
        checkable = c.get("checkable", True)
        if not isinstance(checkable, bool):
            add("must be true or false (without quotes)", "checkable", value=checkable,
                expected="true or false")
            checkable = True
        rep = c.get("reported")
        if "reported" not in c:
            add("claim has no reported value", "reported", expected="the number as printed")
        elif checkable and not _printed_number(rep):
            add("reported value is not a number", "reported", value=rep,
                expected='a finite number as printed, e.g. 7 or "58.33"')
        if checkable:
            if "result" in c:
                if not {"row", "column"} <= set(c):
                    add("a result claim needs row and column", expected="row = ..., column = ...")
            elif c.get("dataset") == "ADSL":
                if c.get("stat") not in _STATS:
                    add("unknown stat", "stat", value=c.get("stat"),
                        expected="one of " + ", ".join(_STATS))
                elif c["stat"] in ("median", "min", "max", "mean") and "var" not in c:
                    add(f"stat {c['stat']!r} needs var", "var", expected="an ADSL variable")
                if isinstance(c.get("where"), str):
                    try:
                        compile(c["where"], "<where>", "eval")
                    except SyntaxError as exc:
                        add(f"where is not a valid expression: {exc.msg}", "where",
                            value=c["where"], expected="a pandas query over ADSL variables")
            else:
                add("claim says neither result nor dataset",
                    expected="result/row/column, dataset='ADSL' + stat, or checkable=false")
        elif not c.get("why"):
            add("an uncheckable claim must say why", "why")
        if log:
            continue
        claims.append(Claim(
            id=cid, text=str(c.get("text", "")), source=str(c.get("source", "")),
            reported=c.get("reported"), result=c.get("result"), row=c.get("row"),
            column=c.get("column"), dataset=c.get("dataset"), where=c.get("where"),
            var=c.get("var"), stat=c.get("stat"), checkable=checkable, why=str(c.get("why", "")),
            note=str(c.get("note", "")), line=line))
    return claims


def _printed_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return math.isfinite(v)
    if isinstance(v, str):
        return re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", v.strip(), flags=re.ASCII) is not None
    return False


def decimals_of(reported: Any) -> int:
    """Printed decimals of a reported value ("58.33" -> 2, 7 -> 0, 30.5 -> 1).

    A reported value is best given as the string printed in the paper: ``"58.30"`` has two
    decimals, the number 58.30 only one.

    Parameters
    ----------
    reported : str or number
        The value as printed.

    Returns
    -------
    int

    Examples
    --------
    >>> decimals_of("58.33"), decimals_of(7), decimals_of(30.5), decimals_of("58.30")
    (2, 0, 1, 2)
    """
    s = str(reported)
    return len(s.split(".")[1]) if "." in s else 0


def agrees_at_rounding(recomputed: float, reported: Any) -> bool:
    """True if ``recomputed`` prints as ``reported`` at its printed precision.

    Either rounding convention (half-up as most software prints, half-even as R's
    ``round``) is accepted, since the paper's is unknown.

    Parameters
    ----------
    recomputed : float
        The value recomputed from the data.
    reported : str or number
        The value as printed (its decimals set the precision, see :func:`decimals_of`).

    Returns
    -------
    bool

    Examples
    --------
    7/12 = 58.333...% printed as 58.3 agrees, as 58.4 does not; 2.5 printed as 2 (R's
    half-even) or 3 (half-up) agrees either way:

    >>> agrees_at_rounding(100 * 7 / 12, "58.3"), agrees_at_rounding(100 * 7 / 12, "58.4")
    (True, False)
    >>> agrees_at_rounding(2.5, 2), agrees_at_rounding(2.5, 3)
    (True, True)
    """
    dec = decimals_of(reported)
    q = Decimal(1).scaleb(-dec)
    target = Decimal(str(reported))
    d = Decimal(repr(float(recomputed)))
    return any(d.quantize(q, rounding=r) == target for r in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def evaluate(claim: Claim, results: ResultSet, adsl: pd.DataFrame) -> dict[str, Any]:
    """Recompute one claim from the analyses (or from ADSL) and compare it with the
    printed value at its printed precision (:func:`agrees_at_rounding`).

    A claim naming a result, row, column or ADSL variable the data do not have is
    "cannot be checked" with the reason, never an error.

    Parameters
    ----------
    claim : Claim
        One ``[[claim]]`` of claims.toml (:func:`read_claims`).
    results : ResultSet
        The study's Results (a ``result`` claim reads ``result``/``row``/``column``).
    adsl : pandas.DataFrame
        ADSL (a ``dataset = "ADSL"`` claim computes ``stat`` of ``var`` over ``where``).

    Returns
    -------
    dict
        ``source``, ``text``, ``reported``, ``recomputed``, ``difference``, ``verdict``
        ("agrees", "disagrees" or "cannot be checked") and ``why``.

    Examples
    --------
    >>> from remission.results import Result
    >>> rs = ResultSet([Result("response.rates", "Response",
    ...                        pd.DataFrame({"pct": [700 / 12]}, index=["ORR | Overall"]),
    ...                        "proportion")])
    >>> c = Claim(id="orr", text="ORR 60%", source="Abstract", reported=60,
    ...           result="response.rates", row="ORR | Overall", column="pct")
    >>> r = evaluate(c, rs, pd.DataFrame())
    >>> r["verdict"], r["why"]
    ('disagrees', 'data give 58.33; printed 60 (off by -1.667)')
    """
    rec: dict[str, Any] = {"source": claim.source, "text": claim.text,
                           "reported": claim.reported, "recomputed": None, "difference": None,
                           "verdict": CANNOT, "why": claim.why}
    if not claim.checkable:
        return rec
    try:
        value = _recompute(claim, results, adsl)
    except Exception as exc:  # a claim naming something the data do not have: reported, not fatal
        rec["why"] = f"{UNRESOLVED}: {_reason(exc)}"
        return rec
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        rec["why"] = "recomputed value is missing (no data)"
        return rec
    try:
        value = float(value)
    except (TypeError, ValueError):
        rec["why"] = f"{UNRESOLVED}: the cell holds {value!r}, not a number"
        return rec
    if not math.isfinite(value):
        rec["why"] = "recomputed value is not finite"
        return rec
    rec["recomputed"] = value
    try:
        reported = float(claim.reported)
    except (TypeError, ValueError):
        rec["why"] = f"reported value {claim.reported!r} is not a number"
        return rec
    rec["difference"] = float(value) - reported
    if agrees_at_rounding(float(value), claim.reported):
        rec["verdict"] = AGREES
        rec["why"] = f"equal at the printed precision ({decimals_of(claim.reported)} decimals)"
    else:
        rec["verdict"] = DISAGREES
        rec["why"] = (f"data give {_fmt(float(value))}; printed {claim.reported} "
                      f"(off by {_fmt(float(value) - reported)})")
    if claim.note:
        rec["why"] += f". {claim.note}"
    return rec


def _recompute(claim: Claim, results: ResultSet, adsl: pd.DataFrame) -> float | None:
    if claim.result is not None:
        return results[claim.result].cell(str(claim.row), str(claim.column))
    sub = _where(adsl, claim.where) if claim.where else adsl
    if claim.stat == "count":
        return float(len(sub))
    if claim.stat == "pct":
        return 100.0 * len(sub) / len(adsl)
    if claim.var is None:
        raise ValueError(f"stat {claim.stat!r} needs var")
    x = sub[claim.var].dropna().astype(float)
    if x.empty:
        return None
    return float({"median": x.median, "min": x.min, "max": x.max, "mean": x.mean}[
        str(claim.stat)]())


def _where(adsl: pd.DataFrame, expr: str) -> pd.DataFrame:
    """``adsl.query(expr, engine="python")``, evaluated on the columns named in ``expr``.

    ``DataFrame.query`` makes a Series of every column before it parses the expression
    (about 5 ms for a 46-column ADSL, per claim, on the report's path: docs/performance.md).
    Every column the expression can name appears in its text (as a name, or between
    backticks), so evaluating it on the columns whose name occurs in the text gives the
    same rows, and the same error for a name ADSL lacks; the rows are then taken from the
    whole ADSL exactly as ``query`` takes them.

    Examples
    --------
    >>> adsl = pd.DataFrame({"AGE": [30, 60], "SEX": ["F", "M"], "my var": [1, 2]})
    >>> _where(adsl, "AGE > 40 and `my var` == 2").equals(
    ...     adsl.query("AGE > 40 and `my var` == 2", engine="python"))
    True
    """
    named = [c for c in adsl.columns if str(c) in expr]
    # level/target as DataFrame.query passes them (names after @ resolve in the caller)
    res = adsl[named].eval(expr, engine="python", level=1, target=None)
    try:
        return adsl.loc[res]
    except ValueError:  # as DataFrame.query
        return adsl[res]


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"not found: {exc.args[0] if exc.args else exc}"
    return str(exc) or type(exc).__name__


def _fmt(x: float) -> str:
    return f"{x:.4g}"
