"""Number formatting shared by every renderer (HTML, Word, terminal).

One module owns how a number looks so that the HTML report, the Word tables and the
terminal agree to the character. Renderers never compute: this module only turns the
values a :class:`~remission.results.Result` already holds into text.

Conventions (documented in ``docs/report.md``):

* p-values follow R's ``format.pval(p, digits = 3, eps = 0.001)`` applied to one value:
  ``p < 0.001`` prints ``"<0.001"``, otherwise 3 significant digits with trailing zeros
  dropped (``0.05`` -> ``"0.05"``, ``1`` -> ``"1"``), rounding as R does (on the binary
  value, C ``sprintf`` semantics). Reference: R Core Team, *R: A Language and Environment
  for Statistical Computing*, ``?format.pval`` and ``?format``.
* Percentages have one decimal, rounded **half up on the shortest decimal representation**
  of the value after removing float noise beyond 12 significant digits (``12.25`` ->
  ``"12.3"``, ``0.1225`` as a proportion -> ``"12.3%"``, ``23/80*100 =
  28.749999999999996`` -> ``"28.8"``), the
  convention of SAS ``ROUND`` used in most clinical table shells (ICH E3 leaves the rule to
  the sponsor; we state ours). A non-zero value that would print as 0.0 prints ``"<0.1"``
  and a value below 100 % that would print as 100.0 prints ``">99.9"``, so a table never
  claims "none" or "all" when that is false.
* Counts with proportions print ``"n (x.x%)"``; confidence intervals print ``"lo–hi"`` (en
  dash), or ``"lo to hi"`` when a bound is negative, where a dash would read as a minus.
* Other numbers: integers as integers; floats to 3 significant digits without exponent for
  ``1e-3 <= |x| < 1e6`` (``|x| >= 1000`` is rounded to an integer), otherwise ``1.23e-04``.
* Missing values print as an em dash ``"—"``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

MISSING = "—"
EN_DASH = "–"
P_EPS = 0.001
P_DIGITS = 3
AUDIT_DIGITS = 6


# --------------------------------------------------------------------------- scalars


def is_missing(v: Any) -> bool:
    """True for None, NaN, pandas NA/NaT."""
    if v is None:
        return True
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is a hard dependency
        pass
    if isinstance(v, float):
        return math.isnan(v)
    dtype = getattr(v, "dtype", None)
    return dtype is not None and dtype.kind == "f" and bool(v != v)


def _as_float(v: Any) -> float:
    return float(v)


def _signif_text(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, trailing zeros dropped, fixed notation.

    Rounds on the binary value like C ``sprintf("%.*e")`` (what R's ``format`` does).
    """
    if x == 0:
        return "0"
    mant, exp_s = f"{x:.{digits - 1}e}".split("e")
    exp = int(exp_s)
    sig = len(mant.replace("-", "").replace(".", "").rstrip("0")) or 1
    decimals = max(0, sig - 1 - exp)
    return f"{x:.{decimals}f}"


def format_p(p: Any, eps: float = P_EPS, digits: int = P_DIGITS) -> str:
    """p-value as R's ``format.pval(p, digits = 3, eps = 0.001)`` prints a single value."""
    if is_missing(p):
        return MISSING
    x = _as_float(p)
    if x < eps:
        return "<" + _signif_text(eps, digits)
    return _signif_text(x, digits)


#: Significant digits kept before half-up rounding: removes binary noise such as
#: 23/80*100 = 28.749999999999996 (a tie written as 28.75 by anyone counting by hand).
CLEAN_DIGITS = 12


def _decimal(value: Any) -> Decimal:
    """Shortest decimal representation of ``value``, float noise beyond 12 digits removed."""
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if d == 0 or not d.is_finite():
        return d
    return d.quantize(Decimal(1).scaleb(d.adjusted() - CLEAN_DIGITS + 1), rounding=ROUND_HALF_EVEN)


def _half_up(value: Any, decimals: int) -> Decimal:
    """Round half up on the (noise-cleaned) decimal representation of ``value``."""
    return _decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_percent_value(pct: Any, decimals: int = 1, guard: bool = True) -> str:
    """A percentage already on the 0–100 scale, without the ``%`` sign.

    ``guard`` applies the ``<0.1`` / ``>99.9`` rule (off for confidence bounds, where
    "19.4–>99.9" would read badly and a bound of 100.0 claims nothing about patients).
    """
    if is_missing(pct):
        return MISSING
    x = _decimal(pct)
    r = _half_up(x, decimals)
    if guard and x > 0 and r == 0:
        return "<" + str(Decimal(1).scaleb(-decimals))
    if guard and 0 < x < 100 and r >= 100:
        return ">" + str(Decimal(100) - Decimal(1).scaleb(-decimals))
    if x < 0 and r == 0:
        r = abs(r)
    return f"{r:.{decimals}f}"


def format_percent(pct: Any, decimals: int = 1) -> str:
    """A 0–100 percentage with its sign: ``"12.3%"``."""
    text = format_percent_value(pct, decimals)
    return text if text == MISSING else text + "%"


def format_proportion(prop: Any, decimals: int = 1) -> str:
    """A 0–1 proportion as a percentage: ``0.125`` -> ``"12.5%"``.

    Scaling is done in decimal arithmetic on ``repr(prop)`` so the half-up rule sees the
    number as written (``0.1225`` -> ``"12.3%"``), not its binary neighbour.
    """
    if is_missing(prop):
        return MISSING
    return format_percent(Decimal(repr(float(prop))) * 100, decimals)


def format_count(n: Any) -> str:
    if is_missing(n):
        return MISSING
    x = float(n)
    return str(int(x)) if x.is_integer() else format_number(x)


def format_n_pct(n: Any, pct: Any = None, *, prop: Any = None, decimals: int = 1) -> str:
    """``"n (x.x%)"`` from a count and its percentage (0–100) or proportion (0–1)."""
    if is_missing(n):
        return MISSING
    if prop is not None and not is_missing(prop):
        share = format_proportion(prop, decimals)
    elif pct is not None and not is_missing(pct):
        share = format_percent(pct, decimals)
    else:
        return format_count(n)
    return f"{format_count(n)} ({share})"


def format_number(x: Any, digits: int = 3) -> str:
    """General number: integers as is, floats to ``digits`` significant digits."""
    if is_missing(x):
        return MISSING
    if _is_bool(x):
        return "Yes" if x else "No"
    if isinstance(x, int) or (hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu"):
        return str(int(x))
    v = _as_float(x)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-3:
        return f"{v:.{digits - 1}e}"
    if a >= 10**digits:
        return f"{v:.0f}"
    return _signif_text(v, digits)


def format_ci(lo: Any, hi: Any, fmt: Any = None) -> str:
    """Interval ``"lo–hi"`` (en dash), ``"lo to hi"`` if a bound is negative."""
    if is_missing(lo) and is_missing(hi):
        return MISSING
    f = fmt or format_number
    a, b = f(lo), f(hi)
    neg = (not is_missing(lo) and float(lo) < 0) or (not is_missing(hi) and float(hi) < 0)
    return f"{a} to {b}" if neg else f"{a}{EN_DASH}{b}"


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or getattr(getattr(v, "dtype", None), "kind", "") == "b"


def format_value(v: Any) -> str:
    """Any cell value with no column-specific rule."""
    if is_missing(v):
        return MISSING
    if isinstance(v, str):
        return v
    if _is_bool(v):
        return "Yes" if v else "No"
    if hasattr(v, "isoformat") and not isinstance(v, int | float):
        text = v.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    try:
        return format_number(v)
    except (TypeError, ValueError):
        return str(v)


# --------------------------------------------------------------------------- verdicts

VERDICT_CLASSES = ("agrees", "disagrees", "cannot be checked")
_AGREE = {"agrees", "agree", "agreed", "match", "matches", "ok", "consistent", "yes", "true"}
_DISAGREE = {"disagrees", "disagree", "mismatch", "differs", "inconsistent", "no", "false"}


def verdict_class(v: Any) -> str:
    """Normalise an audit verdict to one of :data:`VERDICT_CLASSES`."""
    if is_missing(v):
        return "cannot be checked"
    text = str(v).strip().lower().replace("_", " ").replace("-", " ")
    if text in _AGREE:
        return "agrees"
    if text in _DISAGREE:
        return "disagrees"
    return "cannot be checked"


VERDICT_SYMBOL = {"agrees": "✓", "disagrees": "✗", "cannot be checked": "?"}


def format_verdict(v: Any) -> str:
    """Verdict with a symbol and words, never colour alone: ``"✗ disagrees"``."""
    cls = verdict_class(v)
    return f"{VERDICT_SYMBOL[cls]} {cls}"


# --------------------------------------------------------------------------- tables

_P_RE = re.compile(r"^(p|q|pval|pvalue|p\.value|p_value|padj|p_adj|p\.adj|fdr)$|^p_|_p$|_pval$")
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
    kind: str  # p | npct | ci | pct | prop | verdict | count | plain
    sources: tuple[int, ...]  # column positions in the table
    percent_ci: bool = False


_P_WORD = re.compile(r"(^|[^a-z0-9])(p|p-value|p value)([^a-z0-9]|$)")


def _is_p(name: str) -> bool:
    """Column/param names meaning a p-value: ``p``, ``p_value``, ``trend_p``, ``grade>=3 p``."""
    low = name.lower()
    return bool(_P_RE.search(low) or _P_WORD.search(low))


def format_param(key: str, value: Any) -> str:
    """A Result parameter for the Method line: p-values and numbers formatted, text as is."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_param(str(k), v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(format_param(key, v) for v in items)
    if isinstance(value, bool) or is_missing(value):
        return format_value(value)
    if _is_p(key):
        try:
            return format_p(value)
        except (TypeError, ValueError):
            return str(value)
    return format_value(value)


def _stem_join(stem: str, suffix: str) -> str:
    return f"{stem}_{suffix}" if stem else suffix


def conf_level_label(params: Mapping[str, Any]) -> str:
    """``"95% CI"`` from ``params['conf_level']`` (0–1 or 0–100); ``"CI"`` if absent."""
    for key in ("conf_level", "conf.level", "confidence", "level", "conf"):
        if key in params and not is_missing(params[key]):
            try:
                lvl = float(params[key])
            except (TypeError, ValueError):
                continue
            pct = lvl * 100 if lvl <= 1 else lvl
            return f"{format_number(pct)}% CI"
    return "CI"


def _col_name(c: Any) -> str:
    return " | ".join(str(x) for x in c) if isinstance(c, tuple) else str(c)


#: Whole column names with a fixed reader-facing label.
_EXACT_LABELS = {
    "n": "n", "N": "N", "pct": "%", "prop": "Proportion", "p": "P", "p_value": "P",
    "pvalue": "P", "p_trend": "P for trend", "trend_p": "P for trend", "df": "df",
    "sd": "SD", "se": "SE", "iqr": "IQR", "q1": "Q1", "q3": "Q3",
}
#: Tokens (between underscores) written as the field writes them.
_TOKEN_LABELS = {
    "ic50": "IC50", "ec50": "EC50", "ic90": "IC90", "auc": "AUC", "auc0": "AUC0",
    "cmax": "Cmax", "tmax": "Tmax", "hr": "HR", "or": "OR", "rr": "RR", "ci": "CI",
    "crs": "CRS", "icans": "ICANS", "cres": "CRES", "anc": "ANC", "mrd": "MRD", "orr": "ORR",
    "os": "OS", "efs": "EFS", "pfs": "PFS", "rfs": "RFS", "cir": "CIR", "dor": "DOR",
    "ae": "AE", "gvhd": "GVHD", "hsct": "HSCT", "id": "ID", "lfc": "log2 fold change",
    "fdr": "FDR", "padj": "adjusted P", "cv": "CV", "se": "SE", "sd": "SD", "n": "n",
    "p": "P", "pct": "%", "ddct": "ΔΔCt", "dct": "ΔCt", "ct": "Ct", "rmst": "RMST",
}
_UNIT_SUFFIX = {"days": "days", "day": "day", "kg": "kg", "years": "years", "pct": "%",
                "hours": "hours", "h": "hours"}


def human_label(name: str) -> str:
    """A column name as a reader sees it: words, field abbreviations, unit after a comma.

    Parameters
    ----------
    name : str
        Column name in the tidy table (kept as is in results.json).

    Returns
    -------
    str
        E.g. ``worst_grade_3`` -> "Worst grade 3", ``median_days`` -> "Median, days",
        ``F_same_ic50`` -> "F same IC50", ``cmax`` -> "Cmax".

    Examples
    --------
    >>> human_label("worst_grade_3"), human_label("median_days"), human_label("hr")
    ('Worst grade 3', 'Median, days', 'HR')
    >>> human_label("F_same_ic50"), human_label("p_trend"), human_label("Overall")
    ('F same IC50', 'P for trend', 'Overall')
    """
    if name in _EXACT_LABELS:
        return _EXACT_LABELS[name]
    if not isinstance(name, str) or " " in name or ("_" not in name and name != name.lower()):
        return str(name)  # already a label ("Overall", "Dose group", "F")
    tokens = [t for t in name.split("_") if t]
    if not tokens:
        return name
    unit = ""
    if len(tokens) > 1 and tokens[-1].lower() in _UNIT_SUFFIX:
        unit = _UNIT_SUFFIX[tokens.pop().lower()]
    words = [_TOKEN_LABELS.get(t.lower(), t) for t in tokens]
    if words[0] == tokens[0] and words[0].islower():
        words[0] = words[0][:1].upper() + words[0][1:]
    text = " ".join(words)
    return f"{text}, {unit}" if unit else text


def _plan_columns(columns: Sequence[Any], params: Mapping[str, Any]) -> list[_Col]:
    """Decide how each column displays, pairing n/prop and lo/hi columns by name.

    Matching is case-insensitive except for counts: ``n`` (or ``<stem>_n``) is a count
    to pair with a proportion, while ``N`` is a denominator shown on its own. A column
    ``X`` with a companion ``X_pct`` (0–100) or ``X_prop`` (0–1) prints as ``X, n (%)``.
    """
    names = [_col_name(c) for c in columns]
    used: set[int] = set()
    plan: list[_Col] = []
    ci_label = conf_level_label(params)

    def find(low: str) -> int | None:
        for j, n in enumerate(names):
            if j not in used and n.lower() == low and n != "N":
                return j
        return None

    for col, name in enumerate(names):
        if col in used:
            continue
        low = name.lower()
        # count + share pairs: n & prop/pct, <stem>_n & <stem>_prop/pct, X & X_prop/pct
        if not low.endswith(("_pct", "_prop")) and low not in ("pct", "prop"):
            if name == "n":
                stem, head = "", "n (%)"
            elif name.endswith("_n"):
                stem, head = low[:-2], f"{human_label(name[:-2])}, n (%)"
            else:
                stem, head = low, f"{human_label(name)}, n (%)"
            other = next((o for o in (find(_stem_join(stem, sh)) for sh in ("prop", "pct"))
                          if o is not None), None)
            if other is not None:
                used.update({col, other})
                share = "prop" if names[other].lower().endswith("prop") else "pct"
                plan.append(_Col(head, f"npct_{share}", (col, other)))
                continue
            if name == "n" or name.endswith("_n"):
                used.add(col)
                plan.append(_Col(human_label(name), "count", (col,)))
                continue
        # confidence-interval pairs (the column order is kept at the lower bound)
        paired = False
        for lo_suf, hi_suf in _CI_SUFFIXES:
            if low == lo_suf or low.endswith("_" + lo_suf):
                stem = low[: -len(lo_suf)].rstrip("_")
                hi = find(_stem_join(stem, hi_suf))
                if hi is not None:
                    used.update({col, hi})
                    lows = {n.lower() for n in names}
                    share = next((s for s in ("prop", "pct") if _stem_join(stem, s) in lows), "")
                    header = f"{human_label(name[: len(stem)]) if stem else ''} {ci_label}".strip()
                    kind = {"prop": "ci_prop", "pct": "ci_pct", "": "ci"}[share]
                    plan.append(_Col(header + (" (%)" if share else ""), kind,
                                     (col, hi)))
                    paired = True
                    break
        if paired:
            continue
        used.add(col)
        if low == "verdict" or low.endswith("_verdict"):
            plan.append(_Col(human_label(name), "verdict", (col,)))
        elif _is_p(low):
            plan.append(_Col(human_label(name), "p", (col,)))
        elif low == "pct" or low.endswith("_pct"):
            plan.append(_Col(human_label(name), "pct", (col,)))
        elif low == "prop" or low.endswith("_prop"):
            plan.append(_Col(human_label(name), "prop", (col,)))
        else:
            plan.append(_Col(human_label(name), "plain", (col,)))
    return plan


def _raw(v: Any) -> str:
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


def _cell(col: _Col, vals: Sequence[Any], integral: bool, digits: int = 3) -> Cell:
    raw = "; ".join(_raw(v) for v in vals)
    kind = col.kind
    if kind == "p":
        return Cell(format_p(vals[0]), raw, "p")
    if kind == "npct_prop":
        return Cell(format_n_pct(vals[0], prop=vals[1]), raw)
    if kind == "npct_pct":
        return Cell(format_n_pct(vals[0], vals[1]), raw)
    if kind == "ci":
        return Cell(format_ci(vals[0], vals[1]), raw)
    if kind == "ci_prop":
        return Cell(format_ci(vals[0], vals[1], _prop_value), raw)
    if kind == "ci_pct":
        return Cell(format_ci(vals[0], vals[1], _pct_bound), raw)
    if kind == "pct":
        return Cell(format_percent_value(vals[0]), raw)
    if kind == "prop":
        return Cell(format_proportion(vals[0]), raw)
    if kind == "verdict":
        return Cell(format_verdict(vals[0]), raw, "verdict:" + verdict_class(vals[0]))
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


def _prop_value(prop: Any) -> str:
    if is_missing(prop):
        return MISSING
    return format_percent_value(Decimal(repr(float(prop))) * 100, guard=False)


def _pct_bound(pct: Any) -> str:
    return format_percent_value(pct, guard=False)


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


def display_table(result: Any, max_rows: int | None = None) -> DisplayTable:
    """Turn ``result.table`` into text cells using the column conventions above.

    ``max_rows`` keeps the first rows only (the complete table is always in
    ``results.json``); renderers say so under the table.
    """
    table = result.table
    plan = _plan_columns(list(table.columns), result.params)
    # Audit tables compare a printed number with a recomputed one: show 6 significant
    # digits there, or "58.33 reported vs 58.3 recomputed" would look like a mismatch.
    digits = AUDIT_DIGITS if any(c.kind == "verdict" for c in plan) else 3
    keys = result.row_keys()
    n_total = len(keys)
    n_show = n_total if max_rows is None else min(n_total, max_rows)
    integral = {
        id(c): c.kind == "plain" and _integral_column(table.iloc[:, c.sources[0]]) for c in plan
    }
    columns_data = [[table.iloc[:n_show, s].tolist() for s in c.sources] for c in plan]
    rows = []
    for i in range(n_show):
        cells = tuple(
            _cell(c, [src[i] for src in data], integral[id(c)], digits)
            for c, data in zip(plan, columns_data, strict=True)
        )
        rows.append((keys[i], cells))
    idx = table.index
    names = [n for n in getattr(idx, "names", [idx.name]) if n is not None]
    numeric = tuple(
        c.kind not in ("plain", "verdict")
        or getattr(table.dtypes.iloc[c.sources[0]], "kind", "O") in "iuf"
        for c in plan
    )
    return DisplayTable(
        index_header=" | ".join(str(n) for n in names),
        columns=tuple(c.header for c in plan),
        rows=tuple(rows),
        n_rows_total=n_total,
        numeric=numeric,
    )


# --------------------------------------------------------------------------- publication layout
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


def _fmt_n_pct(rec: Mapping[str, Any], show_denominator: bool = False) -> str:
    n, N = _v(rec, "n"), _v(rec, "N")
    share = _v(rec, "pct")
    if is_missing(n):
        return MISSING
    text = format_n_pct(n, share, prop=_v(rec, "prop"))
    has_share = not (is_missing(share) and is_missing(_v(rec, "prop")))
    if show_denominator and has_share and not is_missing(N):
        head = f"{format_count(n)}/{format_count(N)}"
        return head + text[len(format_count(n)):]
    return text


def _fmt_median_iqr(rec: Mapping[str, Any], show_denominator: bool = False) -> str:
    if is_missing(_v(rec, "median")):
        return MISSING
    return f"{format_number(rec['median'])} ({format_ci(rec['q1'], rec['q3'])})"


def _fmt_range(rec: Mapping[str, Any], show_denominator: bool = False) -> str:
    return format_ci(_v(rec, "min"), _v(rec, "max"))


def _fmt_missing(rec: Mapping[str, Any], show_denominator: bool = False) -> str:
    return format_count(_v(rec, "missing"))


def _fmt_median_range(rec: Mapping[str, Any], show_denominator: bool = False) -> str:
    if is_missing(_v(rec, "median")):
        return MISSING
    return f"{format_number(rec['median'])} ({format_ci(rec['min'], rec['max'])})"


def _fmt_pct_ci(rec: Mapping[str, Any], show_denominator: bool = False) -> str:
    pct = _v(rec, "pct")
    if is_missing(pct):
        return MISSING
    lo, hi = next(((rec[a], rec[b]) for a, b in _CI_PAIRS if a in rec and b in rec),
                  (None, None))
    text = format_percent(pct)
    if not (is_missing(lo) and is_missing(hi)):
        text += f" ({format_ci(lo, hi, _pct_bound)})"
    n, N = _v(rec, "n"), _v(rec, "N")
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
    vals = "; ".join(f"{c}={_raw(rec[c])}" for c in cols if c in rec)
    return f"{key}: {vals}"


def find_tests(result: Any, results: Any) -> Any:
    """The sibling test Result a publication table may take its P column from.

    ``<prefix>.tests`` (``baseline.continuous`` -> ``baseline.tests``) in the same section,
    with columns ``test``, ``p`` and the first ``display["rows"]`` column. None otherwise.
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
                      group_labels: Mapping[str, str] | None = None) -> DisplayTable | None:
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
    heads a column with the cohort's label ("0.5×10⁶/kg (N = 4)") instead of its code.
    """
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
        text = format_p(p)
        if not is_missing(p) and test:
            i = len(letters)
            mark = letters.setdefault(test, SUPERSCRIPT[i] if i < len(SUPERSCRIPT)
                                      else f"[{i + 1}]")
            text += mark
        used_p = True
        return Cell(text, f"{tests.name} | {rk}: p={_raw(p)}; test={test}", "p")

    raw_cols = [c for c in names if c not in rows_by and c != col_by]
    multi_line = len(tmpl.lines) > 1
    out_rows: list[tuple[str, tuple[Cell, ...]]] = []
    kinds: list[str] = []
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
        for i, (sub, fmt) in enumerate(tmpl.lines):
            recs = [cells.get((rk, g)) for g in groups]
            if sub in tmpl.optional and not any(
                    r is not None and not is_missing(r[1].get("missing"))
                    and float(r[1]["missing"]) > 0 for r in recs):
                continue
            row_cells = tuple(
                Cell(fmt(r[1], show_den[g]), _raw_cell(r[0], r[1], raw_cols))
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
