"""Column roles of a Result table: what each column *is*, so renderers never guess.

A Result may declare roles (``Result(..., roles={"HR": "ratio", "HR_lo": "ci_low:HR",
"HR_hi": "ci_high:HR", "p": "p"})``); columns it does not declare get a role inferred
here, once, from the column's name **and its values** (a column named ``*_p`` that holds
text is a value, not a p-value). Renderers read :meth:`remission.results.Result.
column_roles` and format by role.

Roles (``kind[:of]``; ``of`` names the column the role qualifies):

=============  =====================================================================
``count``      a number of patients/events (printed as a whole number)
``denominator`` the N a percentage of the same row is taken of
``percent``    a percentage on the 0–100 scale; ``percent:n`` pairs it with count ``n``
``proportion`` a share on the 0–1 scale; ``proportion:n`` pairs it with count ``n``
``estimate``   a point estimate (median, mean, coefficient ...)
``event_time`` a quantile of a time-to-event distribution (Kaplan–Meier median): a
               missing value, or a missing confidence limit of it, means *not reached*
               and prints ``NR`` (the convention of survival reports, e.g. "median not
               reached (95% CI 230–NR)"; R ``print.survfit`` prints NA)
``ratio``      a ratio estimate (hazard, odds, risk ratio)
``ci_low``     lower confidence limit; ``ci_low:HR`` is the limit of column ``HR``
``ci_high``    upper confidence limit, paired with the ``ci_low`` of the same ``of``
``p``          a p-value
``verdict``    an audit verdict (agrees / disagrees / cannot be checked)
``value``      anything else (text, labels, numbers with no special rule)
=============  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("count", "denominator", "percent", "proportion", "estimate", "event_time", "ratio",
         "ci_low",
         "ci_high", "p", "verdict", "value")

_P_RE = re.compile(r"^(p|q|pval|pvalue|p\.value|p_value|padj|p_adj|p\.adj|fdr)$|^p_|_p$|_pval$")
_P_WORD = re.compile(r"(^|[^a-z0-9])(p|p-value|p value)([^a-z0-9]|$)")
_RATIO_RE = re.compile(r"^(hr|or|rr|irr|sir|odds_ratio|hazard_ratio|risk_ratio)$")
_CI_SUFFIXES = (
    ("ci_lo", "ci_hi"), ("ci_low", "ci_high"), ("ci_lower", "ci_upper"),
    ("lo", "hi"), ("low", "high"), ("lower", "upper"),
)


@dataclass(frozen=True)
class Role:
    """The role of one column: ``kind`` (see :data:`KINDS`) and the column it qualifies."""

    kind: str
    of: str | None = None

    def __str__(self) -> str:
        return self.kind if self.of is None else f"{self.kind}:{self.of}"


def parse_role(text: str | Role) -> Role:
    """Parse a role written as ``kind[:of]``: ``"ci_low:HR"`` -> ``Role("ci_low", "HR")``.

    Parameters
    ----------
    text : str or Role
        ``kind`` or ``kind:of`` (spaces around either part are dropped); a :class:`Role`
        is checked and returned as is.

    Returns
    -------
    Role
        ``of`` is None when the text has no ``:of`` part.

    Raises
    ------
    ValueError
        When the kind is not one of :data:`KINDS`.

    Examples
    --------
    >>> parse_role("ci_low:HR"), parse_role("p")
    (Role(kind='ci_low', of='HR'), Role(kind='p', of=None))
    """
    if isinstance(text, Role):
        role = text
    else:
        kind, _, of = str(text).partition(":")
        role = Role(kind.strip(), of.strip() or None)
    if role.kind not in KINDS:
        raise ValueError(f"unknown column role {role.kind!r}; known: {', '.join(KINDS)}")
    return role


def is_p_name(name: str) -> bool:
    """Whether a column or parameter name means a p-value.

    Case-insensitive: ``p``, ``q``, ``pval``, ``pvalue``, ``p.value``, ``p_value``,
    ``padj``, ``p_adj``, ``p.adj``, ``fdr``, names starting ``p_`` or ending ``_p`` or
    ``_pval``, and names with ``p``, ``p-value`` or ``p value`` as a separate word
    (``grade>=3 p``).

    Parameters
    ----------
    name : str
        The column or parameter name.

    Returns
    -------
    bool
        True for a p-value name (the values are not looked at: see
        :func:`infer_roles` for the check that they are numbers).

    Examples
    --------
    >>> is_p_name("trend_p"), is_p_name("grade>=3 p"), is_p_name("pct")
    (True, True, False)
    """
    low = name.lower()
    return bool(_P_RE.search(low) or _P_WORD.search(low))


def col_name(c: Any) -> str:
    """A column label as text (tuple labels of a MultiIndex joined with ``" | "``).

    Parameters
    ----------
    c : Any
        A DataFrame column label.

    Returns
    -------
    str
        ``str(c)``, or the parts of a tuple label joined with ``" | "``.

    Examples
    --------
    >>> col_name(("CR", "n")), col_name(3)
    ('CR | n', '3')
    """
    return " | ".join(str(x) for x in c) if isinstance(c, tuple) else str(c)


def _numeric(values: Sequence[Any]) -> bool:
    """Every non-missing value is a real number (bools and text are not)."""
    from remission.numbers import is_missing, is_number

    return all(is_missing(v) or is_number(v) for v in values)


def infer_roles(names: Sequence[str], values: Sequence[Sequence[Any]],
                declared: Mapping[str, str | Role] | None = None) -> list[Role]:
    """Roles of the columns ``names`` (``values[j]`` = column j's values).

    Declared roles win; the rest follow remission's naming conventions, checked against
    the values: a count/share pair (``n`` & ``pct``/``prop``, ``X_n`` & ``X_pct``, ``X`` &
    ``X_prop``), ``N`` (case-sensitive) a denominator, ``*_lo``/``*_hi`` (and
    ``ci_low``/``ci_high``, ``lower``/``upper``) a confidence interval of the column with
    that stem (or of the percentage beside it), ``verdict``, p-value names (only when the
    values are numbers), ``pct``/``prop`` shares and ``HR``/``OR``/``RR`` ratios.

    Parameters
    ----------
    names : sequence of str
        Column names, in order.
    values : sequence of sequences
        ``values[j]`` holds column j's values (missing values are ignored when deciding
        whether a column is numeric; bools and text are not numbers).
    declared : Mapping, optional
        Declared roles, ``{column: "kind[:of]" or Role}``; these win over inference.

    Returns
    -------
    list of Role
        One role per name, in order; ``Role("value")`` where no rule applies.

    Raises
    ------
    ValueError
        When a declared role has an unknown kind.

    Examples
    --------
    >>> r = infer_roles(["n", "pct", "ci_low", "ci_high", "p"], [[1], [50.0], [1.0], [99.0],
    ...                 ["n/a"]])
    >>> [str(x) for x in r]
    ['count', 'percent:n', 'ci_low:pct', 'ci_high:pct', 'value']
    """
    declared = {str(k): parse_role(v) for k, v in (declared or {}).items()}
    out: list[Role | None] = [declared.get(n) for n in names]
    lows = [n.lower() for n in names]
    numeric = [_numeric(v) for v in values]

    def free(j: int) -> bool:
        return out[j] is None

    def find(low: str) -> int | None:
        for j, n in enumerate(names):
            if free(j) and lows[j] == low and n != "N":
                return j
        return None

    def join(stem: str, suffix: str) -> str:
        return f"{stem}_{suffix}" if stem else suffix

    for j, name in enumerate(names):
        if not free(j):
            continue
        low = lows[j]
        if not low.endswith(("_pct", "_prop")) and low not in ("pct", "prop"):
            stem = "" if name == "n" else (low[:-2] if name.endswith("_n") else low)
            share = next((o for o in (find(join(stem, s)) for s in ("prop", "pct"))
                          if o is not None and o != j), None)
            if share is not None and numeric[j]:
                out[j] = Role("count")
                kind = "proportion" if lows[share].endswith("prop") else "percent"
                out[share] = Role(kind, name)
                continue
            if (name == "n" or name.endswith("_n")) and numeric[j]:
                out[j] = Role("count")
                continue
        paired = False
        for lo_suf, hi_suf in _CI_SUFFIXES:
            if low == lo_suf or low.endswith("_" + lo_suf):
                stem = low[: -len(lo_suf)].rstrip("_")
                hi = find(join(stem, hi_suf))
                if hi is not None and numeric[j] and numeric[hi]:
                    of_low = next((s for s in (join(stem, "prop"), join(stem, "pct"), stem)
                                   if s and s in lows), None)
                    of = names[lows.index(of_low)] if of_low else None
                    out[j], out[hi] = Role("ci_low", of), Role("ci_high", of)
                    paired = True
                    break
        if paired:
            continue
        if low == "verdict" or low.endswith("_verdict"):
            out[j] = Role("verdict")
        elif name == "N" and numeric[j]:
            out[j] = Role("denominator")
        elif is_p_name(low) and numeric[j]:
            out[j] = Role("p")
        elif (low == "pct" or low.endswith("_pct")) and numeric[j]:
            out[j] = Role("percent")
        elif (low == "prop" or low.endswith("_prop")) and numeric[j]:
            out[j] = Role("proportion")
        elif _RATIO_RE.match(low) and numeric[j]:
            out[j] = Role("ratio")
        else:
            out[j] = Role("value")
    return [r if r is not None else Role("value") for r in out]
