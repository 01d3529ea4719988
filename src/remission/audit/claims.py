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
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from remission.errors import ProblemLog
from remission.results import ResultSet
from remission.study.config import toml_error_line

AGREES, DISAGREES, CANNOT = "agrees", "disagrees", "cannot be checked"
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


def read_claims(path: Path) -> list[Claim]:
    """Parse claims.toml; raises InputError with every malformed claim."""
    log = ProblemLog()
    label = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        log.add(label, f"malformed TOML: {exc}", row=toml_error_line(exc), expected="valid TOML")
        log.raise_if_any()
    claims = []
    seen: set[str] = set()
    for i, c in enumerate(data.get("claim", []), start=1):
        where = f"claim[{i}]"
        for k in c:
            if k not in _KEYS:
                log.add(label, "unknown key", column=f"{where}.{k}",
                        expected="one of " + ", ".join(sorted(_KEYS)))
        cid = str(c.get("id", where))
        if cid in seen:
            log.add(label, "duplicate claim id", column=f"{where}.id", value=cid)
        seen.add(cid)
        checkable = bool(c.get("checkable", True))
        if "reported" not in c:
            log.add(label, "claim has no reported value", column=f"{where}.reported")
        if checkable:
            if "result" in c:
                if not {"row", "column"} <= set(c):
                    log.add(label, "a result claim needs row and column", column=where)
            elif c.get("dataset") == "ADSL":
                if c.get("stat") not in _STATS:
                    log.add(label, "unknown stat", column=f"{where}.stat", value=c.get("stat"),
                            expected="one of " + ", ".join(_STATS))
            else:
                log.add(label, "claim says neither result nor dataset", column=where,
                        expected="result/row/column, dataset='ADSL' + stat, or checkable=false")
        elif not c.get("why"):
            log.add(label, "an uncheckable claim must say why", column=f"{where}.why")
        claims.append(Claim(
            id=cid, text=str(c.get("text", "")), source=str(c.get("source", "")),
            reported=c.get("reported"), result=c.get("result"), row=c.get("row"),
            column=c.get("column"), dataset=c.get("dataset"), where=c.get("where"),
            var=c.get("var"), stat=c.get("stat"), checkable=checkable, why=str(c.get("why", "")),
            note=str(c.get("note", ""))))
    log.raise_if_any()
    return claims


def decimals_of(reported: Any) -> int:
    """Printed decimals of a reported value ("58.33" -> 2, 7 -> 0, 30.5 -> 1)."""
    s = str(reported)
    return len(s.split(".")[1]) if "." in s else 0


def agrees_at_rounding(recomputed: float, reported: Any) -> bool:
    """True if ``recomputed`` prints as ``reported`` at its printed precision.

    Either rounding convention (half-up as most software prints, half-even as R's
    ``round``) is accepted, since the paper's is unknown."""
    dec = decimals_of(reported)
    q = Decimal(1).scaleb(-dec)
    target = Decimal(str(reported))
    d = Decimal(repr(float(recomputed)))
    return any(d.quantize(q, rounding=r) == target for r in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def evaluate(claim: Claim, results: ResultSet, adsl: pd.DataFrame) -> dict[str, Any]:
    rec: dict[str, Any] = {"source": claim.source, "text": claim.text,
                           "reported": claim.reported, "recomputed": None, "difference": None,
                           "verdict": CANNOT, "why": claim.why}
    if not claim.checkable:
        return rec
    try:
        value = _recompute(claim, results, adsl)
    except (KeyError, ValueError, SyntaxError, TypeError) as exc:
        rec["why"] = f"cannot recompute: {exc}"
        return rec
    if value is None or (isinstance(value, float) and math.isnan(value)):
        rec["why"] = "recomputed value is missing (no data)"
        return rec
    rec["recomputed"] = float(value)
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
    sub = adsl.query(claim.where, engine="python") if claim.where else adsl
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


def _fmt(x: float) -> str:
    return f"{x:.4g}"
