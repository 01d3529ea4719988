"""Reader-facing words for a Result: column labels, confidence-level labels, audit verdicts.

Presentation only: these functions turn names and values a Result already holds into the
words a clinician reads (``worst_grade_3`` -> "Worst grade 3", ``"disagree"`` ->
"✗ disagrees"). Numbers are formatted by :mod:`remission.numbers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remission.numbers import NumberStyle, format_number, format_value, get_style, is_missing
from remission.roles import is_p_name

# --------------------------------------------------------------------------- verdicts

VERDICT_CLASSES = ("agrees", "disagrees", "cannot be checked")
_AGREE = {"agrees", "agree", "agreed", "match", "matches", "ok", "consistent", "yes", "true"}
_DISAGREE = {"disagrees", "disagree", "mismatch", "differs", "inconsistent", "no", "false"}


def verdict_class(v: Any) -> str:
    """Normalise an audit verdict to one of :data:`VERDICT_CLASSES`.

    Parameters
    ----------
    v : any
        A verdict as written by an audit or a user: case is ignored and ``_``, ``-``
        read as spaces; synonyms such as ``"match"``, ``"ok"``, ``"yes"`` mean agreement and
        ``"mismatch"``, ``"differs"``, ``"no"`` disagreement.

    Returns
    -------
    str
        ``"agrees"``, ``"disagrees"`` or ``"cannot be checked"`` (missing values and
        any word not recognised).

    Examples
    --------
    >>> verdict_class("Match"), verdict_class("DIFFERS"), verdict_class(None)
    ('agrees', 'disagrees', 'cannot be checked')
    >>> verdict_class("maybe")
    'cannot be checked'
    """
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
    """Verdict with a symbol and words, never colour alone: ``"✗ disagrees"``.

    Parameters
    ----------
    v : any
        A verdict, normalised by :func:`verdict_class`.

    Returns
    -------
    str
        ``"✓ agrees"``, ``"✗ disagrees"`` or ``"? cannot be checked"``.

    Examples
    --------
    >>> format_verdict("mismatch"), format_verdict(float("nan"))
    ('✗ disagrees', '? cannot be checked')
    """
    cls = verdict_class(v)
    return f"{VERDICT_SYMBOL[cls]} {cls}"



def format_param(key: str, value: Any, style: NumberStyle | str | None = None) -> str:
    """A Result parameter as text: p-values (by name) in the number style, text as is.

    Parameters
    ----------
    key : str
        The parameter's name; a P-value name (:func:`remission.roles.is_p_name`) is
        formatted as a P value.
    value : any
        Text is returned unchanged; mappings print as ``key: value`` pairs, sequences
        comma-separated (sets sorted), booleans and missing values by
        :func:`remission.numbers.format_value`.
    style : NumberStyle or str, optional
        Number style for P values (:data:`remission.numbers.STYLES`); the default style
        when None.

    Returns
    -------
    str
        The value as the report prints it.

    Examples
    --------
    >>> format_param("grade>=3 p", 0.7727), format_param("levels", [1.23456, 2])
    ('0.773', '1.23, 2')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_param(str(k), v, style)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(format_param(key, v, style) for v in items)
    if isinstance(value, bool) or is_missing(value):
        return format_value(value)
    if is_p_name(key):
        return get_style(style).p(value)
    return format_value(value)

def conf_level_label(params: Mapping[str, Any]) -> str:
    """``"95% CI"`` from ``params['conf_level']`` (0–1 or 0–100); ``"CI"`` if absent.

    Parameters
    ----------
    params : mapping
        A Result's parameters; the first of ``conf_level``, ``conf.level``,
        ``confidence``, ``level``, ``conf`` that holds a number is used (a level of 1 or
        less is a proportion, above 1 a percentage).

    Returns
    -------
    str
        ``"<level>% CI"``, or ``"CI"`` when no key holds a number.

    Examples
    --------
    >>> conf_level_label({"conf_level": 0.95}), conf_level_label({"level": 90})
    ('95% CI', '90% CI')
    >>> conf_level_label({"conf_level": "wide"})
    'CI'
    """
    for key in ("conf_level", "conf.level", "confidence", "level", "conf"):
        if key in params and not is_missing(params[key]):
            try:
                lvl = float(params[key])
            except (TypeError, ValueError):
                continue
            pct = lvl * 100 if lvl <= 1 else lvl
            return f"{format_number(pct)}% CI"
    return "CI"



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


