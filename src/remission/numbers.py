"""How a number looks: the one place every renderer (HTML, Word, terminal, figures) asks.

This module turns values a :class:`~remission.results.Result` already holds into text; it
computes no statistic. It sits in the bottom layer so figures (``remission.plot``) and
reports (``remission.report``) share it without importing each other.

Two things live here:

* scalar formatters (:func:`format_p`, :func:`format_percent`, :func:`format_number`, ...)
  with remission's default conventions, documented in ``docs/report.md``;
* :class:`NumberStyle`, a named set of reporting rules chosen in study.toml
  (``[report] number_style``): ``"remission"`` (the default, the conventions below),
  ``"nejm"`` and ``"jama"`` (journal rules, each rule citing the text it implements; see
  :data:`STYLES`).

Default conventions (``number_style = "remission"``):

* p-values follow R's ``format.pval(p, digits = 3, eps = 0.001)`` applied to one value:
  ``p < 0.001`` prints ``"<0.001"``, otherwise 3 significant digits with trailing zeros
  dropped (``0.05`` -> ``"0.05"``, ``1`` -> ``"1"``), rounding as R does (on the binary
  value, C ``sprintf`` semantics). Reference: R Core Team, *R: A Language and Environment
  for Statistical Computing*, ``?format.pval`` and ``?format``.
* Percentages have one decimal, rounded **half up on the shortest decimal representation**
  of the value after removing float noise beyond 12 significant digits (``12.25`` ->
  ``"12.3"``, ``0.1225`` as a proportion -> ``"12.3%"``, ``23/80*100 =
  28.749999999999996`` -> ``"28.8"``), the convention of SAS ``ROUND`` used in most
  clinical table shells (ICH E3 leaves the rule to the sponsor; we state ours). A non-zero
  value that would print as 0.0 prints ``"<0.1"`` and a value below 100 % that would print
  as 100.0 prints ``">99.9"``, so a table never claims "none" or "all" when that is false.
* Counts with proportions print ``"n (x.x%)"``; confidence intervals print ``"lo–hi"`` (en
  dash), or ``"lo to hi"`` when a bound is negative, where a dash would read as a minus.
* Other numbers: integers as integers; floats to 3 significant digits without exponent for
  ``1e-3 <= |x| < 1e6`` (``|x| >= 1000`` is rounded to an integer), otherwise ``1.23e-04``.
* Missing values print as an em dash ``"—"``.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

MISSING = "—"
NOT_REACHED = "NR"  # a time-to-event quantile the curve never reached
EN_DASH = "–"
P_EPS = 0.001
P_DIGITS = 3
AUDIT_DIGITS = 6

# --------------------------------------------------------------------------- scalars


def is_missing(v: Any) -> bool:
    """True for None, NaN, pandas NA/NaT.

    Parameters
    ----------
    v : Any
        Any cell value.

    Returns
    -------
    bool
        True for ``None``, a float NaN, ``pd.NA``, ``pd.NaT`` and a numpy floating NaN;
        False otherwise (text, including ``""``, is not missing).

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0)
    (True, True, False)
    """
    if v is None:
        return True
    # pd.NA and pd.NaT exist only once pandas is imported: not imported here, so that a
    # process that only formats numbers (the report's figure process) never loads it
    pd = sys.modules.get("pandas")
    if pd is not None and (v is getattr(pd, "NA", None) or v is getattr(pd, "NaT", None)):
        return True
    if isinstance(v, float):
        return math.isnan(v)
    dtype = getattr(v, "dtype", None)
    return dtype is not None and dtype.kind == "f" and bool(v != v)


def is_number(v: Any) -> bool:
    """True for a real number (int, float, numpy scalar), not a bool, str or missing value.

    Parameters
    ----------
    v : Any
        Any cell value.

    Returns
    -------
    bool
        True for Python ``int``/``float`` (NaN included: it is a float; test
        :func:`is_missing` too) and numpy integer/unsigned/float scalars; False for bools
        (Python or numpy), text, ``None`` and anything else.

    Examples
    --------
    >>> is_number(0.3), is_number("0.3"), is_number(True), is_number(None)
    (True, False, False, False)
    """
    if v is None or isinstance(v, bool | str) or _is_bool(v):
        return False
    if isinstance(v, int | float):
        return True
    return getattr(getattr(v, "dtype", None), "kind", "") in "iuf" and hasattr(v, "dtype")


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
    """p-value as R's ``format.pval(p, digits = 3, eps = 0.001)`` prints a single value.

    A value that is not a number (text in a p column) is printed as it is, never raised.

    Parameters
    ----------
    p : Any
        The p-value, in [0, 1]; missing prints ``"—"``, text prints as it is.
    eps : float, default 0.001
        Values below ``eps`` print as ``"<"`` followed by ``eps``.
    digits : int, default 3
        Significant digits (trailing zeros dropped; rounded on the binary value as C
        ``sprintf``, as R does).

    Returns
    -------
    str
        The p-value without ``"P ="``.

    References
    ----------
    R Core Team, *R: A Language and Environment for Statistical Computing*, ``?format.pval``
    and ``?format`` (:data:`R_REF`).

    Examples
    --------
    >>> format_p(0.04567), format_p(0.0004), format_p(1.0), format_p("n/a")
    ('0.0457', '<0.001', '1', 'n/a')
    """
    if is_missing(p):
        return MISSING
    if not is_number(p):
        return str(p)
    x = float(p)
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

    Parameters
    ----------
    pct : Any
        A percentage on the 0–100 scale (float, int or Decimal); missing prints ``"—"``.
    decimals : int, default 1
        Decimal places, rounded half up on the shortest decimal representation.
    guard : bool, default True
        Print a non-zero value that would round to zero as ``"<0.1"`` and a value below
        100 that would round to 100 as ``">99.9"`` (for ``decimals=1``).

    Returns
    -------
    str
        The number without a ``%`` sign; ``"-0.0"`` is printed ``"0.0"``.

    Raises
    ------
    ValueError
        When ``pct`` is text that is not a number.

    References
    ----------
    SAS ``ROUND`` (half up), the convention of most clinical table shells; ICH E3 leaves the
    rounding rule to the sponsor (see the module docstring).

    Examples
    --------
    >>> format_percent_value(12.25), format_percent_value(0.04), format_percent_value(40, 0)
    ('12.3', '<0.1', '40')
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
    """A 0–100 percentage with its sign: ``"12.3%"``.

    Parameters
    ----------
    pct : Any
        A percentage on the 0–100 scale; missing prints ``"—"`` (no sign).
    decimals : int, default 1
        Decimal places (half up; the ``<0.1``/``>99.9`` guard of
        :func:`format_percent_value` applies).

    Returns
    -------
    str
        The percentage followed by ``%``.

    Raises
    ------
    ValueError
        When ``pct`` is text that is not a number.

    Examples
    --------
    >>> format_percent(12.25)
    '12.3%'
    """
    text = format_percent_value(pct, decimals)
    return text if text == MISSING else text + "%"


def format_proportion(prop: Any, decimals: int = 1) -> str:
    """A 0–1 proportion as a percentage: ``0.125`` -> ``"12.5%"``.

    Scaling is done in decimal arithmetic on ``repr(prop)`` so the half-up rule sees the
    number as written (``0.1225`` -> ``"12.3%"``), not its binary neighbour.

    Parameters
    ----------
    prop : Any
        A proportion on the 0–1 scale; missing prints ``"—"``.
    decimals : int, default 1
        Decimal places of the percentage (half up, with the ``<0.1``/``>99.9`` guard).

    Returns
    -------
    str
        The percentage followed by ``%``.

    Raises
    ------
    ValueError
        When ``prop`` is text that is not a number.

    Examples
    --------
    >>> format_proportion(0.1225)
    '12.3%'
    """
    if is_missing(prop):
        return MISSING
    return format_percent(prop_to_pct(prop), decimals)


def prop_to_pct(prop: Any) -> Decimal:
    """A 0–1 proportion on the 0–100 scale, exactly (decimal arithmetic on its repr).

    Parameters
    ----------
    prop : Any
        A proportion on the 0–1 scale (anything ``float()`` accepts).

    Returns
    -------
    Decimal
        ``repr(float(prop))`` read as a Decimal, times 100, so no binary rounding error
        enters the scaling.

    Raises
    ------
    ValueError
        When ``prop`` is text that is not a number.

    Examples
    --------
    23 of 80 is 28.75% exactly; binary floating point gives a value just below the tie:

    >>> prop_to_pct(23 / 80), 23 / 80 * 100
    (Decimal('28.7500'), 28.749999999999996)
    """
    return Decimal(repr(float(prop))) * 100


def format_count(n: Any) -> str:
    """A count: whole numbers without decimals (``3.0`` -> ``"3"``).

    Parameters
    ----------
    n : Any
        A count (int, float or numpy scalar); missing prints ``"—"``.

    Returns
    -------
    str
        A whole number without decimals; a non-integer value (not a count, but it may
        occur in a weighted table) by :func:`format_number`.

    Raises
    ------
    ValueError
        When ``n`` is text that is not a number.

    Examples
    --------
    >>> format_count(3.0), format_count(None)
    ('3', '—')
    """
    if is_missing(n):
        return MISSING
    x = float(n)
    return str(int(x)) if x.is_integer() else format_number(x)


def format_n_pct(n: Any, pct: Any = None, *, prop: Any = None, decimals: int = 1) -> str:
    """``"n (x.x%)"`` from a count and its percentage (0–100) or proportion (0–1).

    Parameters
    ----------
    n : Any
        The count; missing prints ``"—"``.
    pct : Any, optional
        Its percentage on the 0–100 scale.
    prop : Any, optional
        Its proportion on the 0–1 scale (keyword only; used instead of ``pct`` when both
        are given).
    decimals : int, default 1
        Decimal places of the percentage (half up, ``<0.1``/``>99.9`` guard).

    Returns
    -------
    str
        ``"n (x.x%)"``; the count alone when neither share is given (or both missing).

    Examples
    --------
    >>> format_n_pct(3, prop=0.75), format_n_pct(3, 75.0, decimals=0)
    ('3 (75.0%)', '3 (75%)')
    """
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
    """General number: integers as is, floats to ``digits`` significant digits.

    Parameters
    ----------
    x : Any
        The number; missing prints ``"—"``, a bool ``"Yes"``/``"No"``, ±inf ``"∞"``/``"−∞"``.
    digits : int, default 3
        Significant digits of a float (trailing zeros dropped).

    Returns
    -------
    str
        Integers (Python or numpy) as they are; floats in fixed notation for
        ``1e-3 <= |x| < 1e6`` (rounded to an integer once ``|x| >= 10**digits``), otherwise
        in exponent notation with ``digits`` significant digits (``"1.23e-04"``).

    Raises
    ------
    ValueError
        When ``x`` is text that is not a number.

    Examples
    --------
    >>> format_number(123.456), format_number(0.000123), format_number(2.0)
    ('123', '1.23e-04', '2')
    """
    if is_missing(x):
        return MISSING
    if _is_bool(x):
        return "Yes" if x else "No"
    if isinstance(x, int) or (hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu"):
        return str(int(x))
    v = float(x)
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


def format_ci(lo: Any, hi: Any, fmt: Any = None, fmt_hi: Any = None) -> str:
    """Interval ``"lo–hi"`` (en dash), ``"lo to hi"`` if a bound is negative.

    ``fmt`` formats the bounds (default :func:`format_number`); ``fmt_hi``, if given, the
    upper bound (a range whose ends are different summaries, e.g. Q1 and Q3).

    Parameters
    ----------
    lo, hi : Any
        The lower and upper bound; one missing bound prints ``"—"`` in its place, both
        missing print ``"—"`` alone.
    fmt : callable, optional
        Formats each bound (value -> str); default :func:`format_number`.
    fmt_hi : callable, optional
        Formats the upper bound instead of ``fmt``.

    Returns
    -------
    str
        ``"lo–hi"`` with an en dash, or ``"lo to hi"`` when either bound is negative.

    Examples
    --------
    >>> format_ci(0.194, 0.994), format_ci(-0.25, 1.5)
    ('0.194–0.994', '-0.25 to 1.5')
    """
    if is_missing(lo) and is_missing(hi):
        return MISSING
    f = fmt or format_number
    a, b = f(lo), (fmt_hi or f)(hi)
    neg = any(is_number(v) and float(v) < 0 for v in (lo, hi))
    return f"{a} to {b}" if neg else f"{a}{EN_DASH}{b}"


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or getattr(getattr(v, "dtype", None), "kind", "") == "b"


def format_value(v: Any) -> str:
    """Any cell value with no column-specific rule.

    Parameters
    ----------
    v : Any
        A cell value of any type.

    Returns
    -------
    str
        ``"—"`` for missing, text as it is, ``"Yes"``/``"No"`` for bools, dates and
        timestamps in ISO 8601 (the date alone at midnight), numbers by
        :func:`format_number`, anything else by ``str``.

    Examples
    --------
    >>> format_value("CR"), format_value(True), format_value(0.12345)
    ('CR', 'Yes', '0.123')
    """
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


# --------------------------------------------------------------------------- journal styles
#
# Sources of the journal rules (the text each rule implements, paraphrased):
#
# NEJM  Harrington D, D'Agostino RB Sr, Gatsonis C, et al. New guidelines for statistical
#       reporting in the Journal. N Engl J Med 2019;381:285-6, and the Journal's "Statistical
#       Reporting Guidelines" (Author Center, New Manuscripts), quoted verbatim in
#       Aguinis H et al. BMJ Evid Based Med 2021;26:108 (doi:10.1136/bmjebm-2019-111264),
#       Table 1: P values larger than 0.01 to two decimal places, those between 0.01 and
#       0.001 to three decimal places, and those smaller than 0.001 as P<0.001.
# AMA   AMA Manual of Style, 10th ed. (JAMA and the JAMA Network journals), chapter 4
#       "Visual presentation of data", tables: P values to 2 digits to the right of the
#       decimal point unless the first 2 digits are zeros, then 3 (P = .002); P values
#       below .001 as "P < .001"; a percentage contains no more digits than its
#       denominator (9 of 28 is 32%, not 32.1%); section 20.8 (significant digits and
#       rounding numbers): when rounding to 2
#       digits would make P appear nonsignificant (P = .046), 3 digits may be kept; JAMA
#       omits the zero before the decimal point of P (it cannot exceed 1).
# Cole  Cole TJ. Too many digits: the presentation of numerical data. Arch Dis Child
#       2015;100:608-9 ("rule of four" for ratios): round a ratio to two significant
#       digits if its leading non-zero digit is four or more, otherwise to three: three
#       decimals from 0.040 to 0.399, two from 0.40 to 3.99, one from 4.0 to 39.9;
#       the confidence limits each by the same rule (22.68 (7.51 to 73.67) -> 22.7
#       (7.5 to 74)).

# AMA-P Same Manual, 10th ed., section 20.8 (significant digits), on the precision of a
#       measurement and of what is calculated from it: numbers are rounded to reflect the
#       precision of the instrument or measurement ("for a scale accurate to 0.1 kg, a
#       weight should be expressed as 75.2 kg, not 75.23 kg"), and "numbers that result
#       from calculations, such as means and SDs, should be expressed to no more than 1
#       significant digit beyond the accuracy of the instrument" (mean (SD) of weights from
#       a 0.1-kg scale: 62.45 (4.13) kg; adult age recorded in years: mean 47.7 years);
#       chapter 4 (tables): "Additional digits (including zeros) should not be added ... to
#       provide all data entries with the same number of digits". NEJM's guidelines set no
#       rule for summaries of continuous variables; the nejm style applies this one.

#: The references a report cites for its number style (``NumberStyle.references``).
NEJM_REF = ("Harrington D, D'Agostino RB Sr, Gatsonis C, et al. New guidelines for "
            "statistical reporting in the Journal. N Engl J Med 2019;381:285-6")
AMA_REF = ("AMA Manual of Style: A Guide for Authors and Editors. 10th ed. Oxford University "
           "Press; 2007: chapter 4 (visual presentation of data) and section 20.8 (significant "
           "digits and rounding numbers)")
COLE_REF = ("Cole TJ. Too many digits: the presentation of numerical data. Arch Dis Child "
            "2015;100:608-9")
R_REF = "R Core Team. R: A language and environment for statistical computing (format.pval)"


def _fixed_half_up(x: Any, decimals: int) -> str:
    """``x`` to ``decimals`` places, half up on its decimal representation."""
    return f"{_half_up(x, decimals):.{decimals}f}"


def p_nejm(p: float) -> str:
    """P as NEJM's statistical reporting guidelines (2019) write it.

    > 0.01: two decimals; 0.001–0.01: three decimals; < 0.001: ``"<0.001"``. A value
    below 1 that would round to 1.00 prints ``">0.99"`` (never "P=1.00" for P<1), the same
    guard remission applies to percentages.

    Parameters
    ----------
    p : float
        The p-value, in [0, 1], a number (missing values and text are handled by
        :meth:`NumberStyle.p` before this is called).

    Returns
    -------
    str
        The p-value without ``"P ="``, rounded half up on its decimal representation.

    References
    ----------
    Harrington D, D'Agostino RB Sr, Gatsonis C, et al. New guidelines for statistical
    reporting in the Journal. N Engl J Med 2019;381:285-6 (:data:`NEJM_REF`).

    Examples
    --------
    >>> [p_nejm(x) for x in (0.2345, 0.0123, 0.00999, 0.00456, 0.0009, 0.999)]
    ['0.23', '0.01', '0.010', '0.005', '<0.001', '>0.99']
    """
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return _fixed_half_up(p, 3)
    text = _fixed_half_up(p, 2)
    if p < 1 and text == "1.00":
        return ">0.99"
    return text


def p_ama(p: float) -> str:
    """P as the AMA Manual of Style (JAMA) writes it: no leading zero.

    2 decimals unless the first two decimals are zeros (P < .01, then 3); below .001 as
    ``"<.001"``; kept at 3 decimals when rounding to 2 would lift it to .05 (0.046 is
    ``".046"``, not ``".05"``); a value below 1 that would round to 1.00 is ``">.99"``.

    Parameters
    ----------
    p : float
        The p-value, in [0, 1], a number (missing values and text are handled by
        :meth:`NumberStyle.p`).

    Returns
    -------
    str
        The p-value without ``"P ="`` and without its leading zero, rounded half up.

    References
    ----------
    AMA Manual of Style, 10th ed., chapter 4 and section 20.8 (:data:`AMA_REF`).

    Examples
    --------
    >>> [p_ama(x) for x in (0.2345, 0.046, 0.0123, 0.002, 0.0004, 0.996)]
    ['.23', '.046', '.01', '.002', '<.001', '>.99']
    """
    if p < 0.001:
        return "<.001"
    if p < 0.01:
        text = _fixed_half_up(p, 3)
    else:
        text = _fixed_half_up(p, 2)
        if p < 0.05 and text == "0.05":
            text = _fixed_half_up(p, 3)
        if p < 1 and text == "1.00":
            return ">.99"
    return text[1:] if text.startswith("0.") else text


def ratio_rule_of_four(x: Any) -> str:
    """A ratio (HR, OR, RR) by Cole's rule of four: 2 significant digits if the leading
    non-zero digit is 4-9, else 3; trailing zeros kept (they carry precision).

    Parameters
    ----------
    x : Any
        A positive ratio or confidence limit; missing prints ``"—"``, text as it is, zero,
        negative and infinite values by :func:`format_number`.

    Returns
    -------
    str
        Rounded half up on the decimal representation; a value whose significant digits
        end before the decimal point prints as a whole number (73.67 -> ``"74"``,
        1234 -> ``"1230"``).

    References
    ----------
    Cole TJ. Too many digits: the presentation of numerical data. Arch Dis Child
    2015;100:608-9 (:data:`COLE_REF`).

    Examples
    --------
    >>> [ratio_rule_of_four(v) for v in (0.1234, 0.456, 1.5, 3.994, 22.68, 7.51, 73.67)]
    ['0.123', '0.46', '1.50', '3.99', '22.7', '7.5', '74']
    """
    if is_missing(x):
        return MISSING
    if not is_number(x):
        return str(x)
    v = float(x)
    if math.isinf(v) or v <= 0:
        return format_number(v)
    d = _decimal(v)
    lead = int(str(abs(d.normalize()).as_tuple().digits[0]))
    sig = 2 if lead >= 4 else 3
    decimals = sig - 1 - d.adjusted()
    if decimals < 0:
        q = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        return f"{q:.0f}"
    return _fixed_half_up(v, decimals)


def percent_decimals_ama(denominator: Any) -> int:
    """Decimals of a percentage with no more digits than its denominator (AMA).

    A percentage from 10 to 99 has two digits before the point, so denominators below
    100 get none and 100-999 get one. Remission prints at most one decimal (a second
    would add precision that the rule allows but few tables show); denominators below
    10 also get none (the rule cannot be met without rounding to tens, which no journal
    prints).

    Parameters
    ----------
    denominator : Any
        The number of patients the percentage is of (anything ``float()`` accepts).

    Returns
    -------
    int
        0 for a denominator below 100, 1 otherwise.

    Raises
    ------
    ValueError
        When ``denominator`` is text that is not a number.

    References
    ----------
    AMA Manual of Style, 10th ed., chapter 4 (:data:`AMA_REF`).

    Examples
    --------
    >>> [percent_decimals_ama(n) for n in (7, 28, 99, 100, 4000)]
    [0, 0, 0, 1, 1]
    """
    n = float(denominator)
    return 0 if n < 100 else 1


#: Most decimals a recorded value may have for its precision to be known. A value that
#: needs more (1e-9, or 1/3 computed rather than recorded) leaves the variable without a
#: recorded precision, and its summaries keep the general 3-significant-digit format.
MAX_RECORDED_DECIMALS = 6

_NUMBER_TEXT = re.compile(r"\s*[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*", re.ASCII)


def decimals_of_text(text: str) -> int | None:
    """Decimals a number is written with (``"13.50"`` -> 2); None if it is not a number.

    Trailing zeros count (a value typed as ``13.50`` was recorded to 0.01); an exponent
    moves the point (``"2.5e-2"`` -> 3, ``"1.5e3"`` -> 0).

    Parameters
    ----------
    text : str
        A number as written in a source file (surrounding spaces allowed; a sign and an
        ``e``/``E`` exponent allowed).

    Returns
    -------
    int or None
        Decimal places, never negative; None when the text is not a plain number.

    Examples
    --------
    >>> [decimals_of_text(t) for t in ("63", "13.50", "0.95", "2.5e-2", "1.5E3", "7.", "x")]
    [0, 2, 2, 3, 0, 0, None]
    """
    m = _NUMBER_TEXT.fullmatch(str(text))
    if m is None or not (m.group(1) or m.group(2)):
        return None
    frac = len(m.group(2) or "")
    return max(0, frac - int(m.group(3) or 0))


def recorded_decimals(values: Any, texts: Any = None) -> int | None:
    """Decimals a variable was recorded with: the most decimals any of its values has.

    With ``texts`` (the cells as written in the source file, aligned with ``values``), the
    decimals are read from the text, so trailing zeros count (``13.50``). Without it they
    are derived from the values as read (floats): the smallest ``d`` <= 6 such that every
    finite value times 10**d is a whole number, after removing float noise beyond 12
    significant digits (``1.1`` is 1.1000000000000001 as a double but was recorded to one
    decimal). Missing values (None, NaN) and text that is not a number are ignored.

    Parameters
    ----------
    values : sequence of float
        The variable's values (one per patient; missing allowed).
    texts : sequence of str, optional
        The same cells as written in the source file.

    Returns
    -------
    int or None
        0 for whole numbers, 1 for one decimal, ...; None when no value is present or
        some value needs more than :data:`MAX_RECORDED_DECIMALS` decimals.

    Examples
    --------
    >>> recorded_decimals([63, 71, float("nan"), 48])
    0
    >>> recorded_decimals([12.1, 9.8, None, 13.0]), recorded_decimals([1.1, 1.2], ["1.10", "1.2"])
    (1, 2)
    >>> recorded_decimals([float("nan")]), recorded_decimals([1 / 3])
    (None, None)
    """
    best = -1
    if texts is not None:
        for v, t in zip(values, texts, strict=True):
            if is_missing(v) or not is_number(v) or not math.isfinite(float(v)):
                continue
            d = decimals_of_text(t)
            if d is None:
                d = _value_decimals(float(v))
            if d is None or d > MAX_RECORDED_DECIMALS:
                return None
            best = max(best, d)
        return best if best >= 0 else None
    seen: set[float] = set()
    for v in values:
        if is_missing(v) or not is_number(v):
            continue
        x = float(v)
        if not math.isfinite(x) or x in seen:
            continue
        seen.add(x)
        d = _value_decimals(x)
        if d is None:
            return None
        best = max(best, d)
    return best if best >= 0 else None


def _value_decimals(x: float) -> int | None:
    """Decimals of one float as recorded (None beyond :data:`MAX_RECORDED_DECIMALS`)."""
    d = _decimal(x)
    if d == 0:
        return 0
    exp = d.normalize().as_tuple().exponent
    assert isinstance(exp, int)  # finite
    dec = max(0, -exp)
    return dec if dec <= MAX_RECORDED_DECIMALS else None


#: What each summary of a continuous variable is, for :func:`format_summary`:
#: ``"value"`` a recorded value (minimum, maximum), ``"location"`` an order statistic that
#: may fall between two recorded values (median, quartiles), ``"calculated"`` a mean or SD.
SUMMARY_KINDS: dict[str, str] = {
    "min": "value", "max": "value", "median": "location", "q1": "location",
    "q3": "location", "mean": "calculated", "sd": "calculated"}


def summary_places(value: Any, kind: str, decimals: int) -> int:
    """Decimal places of a summary of data recorded to ``decimals`` places (AMA 20.8).

    The precision is the variable's (its instrument's), not each value's: a variable
    with values 13.0 and 12.1 was recorded to 0.1 even if a CSV wrote the first as ``13``.

    * ``"value"`` (minimum, maximum): ``decimals`` -- recorded values, printed as
      precisely as they were measured ("75.2 kg, not 75.23 kg" for a 0.1-kg scale);
    * ``"location"`` (median, quartiles): ``decimals`` when the value lies on the
      recorded grid (a recorded value, or a midpoint that happens to be one), else
      ``decimals + 1``: the midpoint of two recorded values for an even n is exact there
      (63.5 years), an interpolated quartile is rounded to it ("no more than 1 significant
      digit beyond the accuracy of the instrument");
    * ``"calculated"`` (mean, SD): ``decimals + 1`` always (62.45 (4.13) kg from a 0.1-kg
      scale; 47.7 years from ages in whole years).

    A value counts as on the grid when it equals its rounding to ``decimals`` places after
    removing float noise beyond 12 significant digits.

    Parameters
    ----------
    value : Any
        The summary value (read only for ``"location"``).
    kind : str
        ``"value"``, ``"location"`` or ``"calculated"`` (:data:`SUMMARY_KINDS`).
    decimals : int
        Decimals the variable was recorded with (:func:`recorded_decimals`).

    Returns
    -------
    int
        Decimal places to print the summary with.

    Raises
    ------
    ValueError
        When ``kind`` is none of the three.

    References
    ----------
    AMA Manual of Style, 10th ed., section 20.8 and chapter 4 (:data:`AMA_REF`).

    Examples
    --------
    >>> summary_places(63.5, "location", 0), summary_places(64.0, "location", 0)
    (1, 0)
    >>> summary_places(71.25, "location", 0), summary_places(13.0, "value", 1)
    (1, 1)
    >>> summary_places(62.4523, "calculated", 1), summary_places(75.2, "value", 1)
    (2, 1)
    """
    if kind == "value":
        return decimals
    if kind == "calculated":
        return decimals + 1
    if kind != "location":
        raise ValueError(f"unknown summary kind {kind!r}; known: value, location, calculated")
    on_grid = _decimal(value) == _half_up(value, decimals)
    return decimals if on_grid else decimals + 1


def format_summary(value: Any, kind: str, decimals: int | None) -> str:
    """A summary of a continuous variable to the precision of the data as recorded.

    The rule (AMA Manual of Style, 10th ed., 20.8 and chapter 4; see
    :func:`summary_places`): minimum and maximum to the recorded decimals; median and
    quartiles to the recorded decimals when they fall on the recorded grid and otherwise
    one more (the midpoint of two recorded values is exact there); mean and SD to one
    decimal more than recorded; rounding half up on the decimal representation (as the
    percentages). ``decimals=None`` (precision unknown) falls back
    to :func:`format_number`.

    Parameters
    ----------
    value : float
        The summary (missing prints ``"—"``).
    kind : str
        ``"value"``, ``"location"`` or ``"calculated"`` (see :data:`SUMMARY_KINDS`).
    decimals : int or None
        Decimals the variable was recorded with (:func:`recorded_decimals`).

    Returns
    -------
    str

    Examples
    --------
    >>> [format_summary(v, k, 0) for v, k in ((63.5, "location"), (64.0, "location"),
    ...  (47.6667, "calculated"), (71.25, "location"), (34.0, "value"))]
    ['63.5', '64', '47.7', '71.3', '34']
    >>> format_summary(62.4523, "calculated", 1), format_summary(0.0123, "calculated", None)
    ('62.45', '0.0123')
    """
    if is_missing(value):
        return MISSING
    if decimals is None or not is_number(value) or not math.isfinite(float(value)):
        return format_number(value)
    places = summary_places(value, kind, decimals)
    r = _half_up(value, places)
    if r == 0:
        r = abs(r)  # no "-0.0"
    return f"{r:.{places}f}"


@dataclass(frozen=True)
class NumberStyle:
    """A named set of number reporting rules (``[report] number_style`` in study.toml).

    Attributes
    ----------
    name : str
        Key in :data:`STYLES` (``"remission"``, ``"nejm"``, ``"jama"``).
    title : str
        What a report's Methods paragraph says about its number style.
    p_rule : str
        ``"r"`` (R format.pval, 3 significant digits), ``"nejm"`` or ``"ama"``.
    percent_rule : str
        ``"one_decimal"`` or ``"ama_denominator"`` (decimals from the denominator).
    ratio_rule : str
        ``"signif3"`` (3 significant digits) or ``"rule_of_four"`` (Cole 2015).
    summary_rule : str
        Summaries of continuous variables (median, quartiles, range, mean, SD):
        ``"signif3"`` (3 significant digits) or ``"recorded"`` (to the precision of the
        data as recorded, :func:`format_summary`, AMA 20.8).
    references : tuple of str
        The texts the rules implement.
    """

    name: str
    title: str
    p_rule: str = "r"
    percent_rule: str = "one_decimal"
    ratio_rule: str = "signif3"
    summary_rule: str = "signif3"
    references: tuple[str, ...] = ()

    def p(self, value: Any) -> str:
        """A p-value by this style (text in a p column printed as it is).

        Examples
        --------
        >>> STYLES["nejm"].p(0.0456), STYLES["jama"].p(0.0456), STYLES["remission"].p(0.0456)
        ('0.05', '.046', '0.0456')
        """
        if is_missing(value):
            return MISSING
        if not is_number(value) or self.p_rule == "r":
            return format_p(value)
        x = float(value)
        return p_nejm(x) if self.p_rule == "nejm" else p_ama(x)

    def percent_decimals(self, denominator: Any = None) -> int:
        """Decimals of a percentage whose denominator is ``denominator`` (None: unknown).

        Examples
        --------
        >>> STYLES["jama"].percent_decimals(28), STYLES["jama"].percent_decimals(None)
        (0, 1)
        """
        if (self.percent_rule == "ama_denominator" and denominator is not None
                and is_number(denominator) and not is_missing(denominator)):
            return percent_decimals_ama(denominator)
        return 1

    def percent_value(self, pct: Any, denominator: Any = None, guard: bool = True) -> str:
        """A 0–100 percentage without its sign (see :func:`format_percent_value`)."""
        if not is_missing(pct) and not is_number(pct) and not isinstance(pct, Decimal):
            return str(pct)
        return format_percent_value(pct, self.percent_decimals(denominator), guard)

    def percent(self, pct: Any, denominator: Any = None) -> str:
        """A 0–100 percentage with its sign: ``"32%"`` for 9 of 28 in the JAMA style.

        Examples
        --------
        >>> STYLES["jama"].percent(9 / 28 * 100, 28), STYLES["remission"].percent(9 / 28 * 100)
        ('32%', '32.1%')
        """
        text = self.percent_value(pct, denominator)
        if text == MISSING or not (is_number(pct) or isinstance(pct, Decimal)):
            return text
        return text + "%"

    def proportion(self, prop: Any, denominator: Any = None) -> str:
        """A 0–1 proportion as a percentage with its sign."""
        if is_missing(prop):
            return MISSING
        if not is_number(prop):
            return str(prop)
        return self.percent(prop_to_pct(prop), denominator)

    def n_pct(self, n: Any, pct: Any = None, *, prop: Any = None, denominator: Any = None
              ) -> str:
        """``"n (x%)"`` from a count and its percentage or proportion.

        Examples
        --------
        >>> STYLES["jama"].n_pct(9, prop=9 / 28, denominator=28)
        '9 (32%)'
        """
        return format_n_pct(n, pct, prop=prop, decimals=self.percent_decimals(denominator))

    def ratio(self, value: Any) -> str:
        """A ratio estimate or one of its confidence limits.

        Examples
        --------
        >>> STYLES["nejm"].ratio(0.7512), STYLES["remission"].ratio(0.7512)
        ('0.75', '0.751')
        """
        if self.ratio_rule == "rule_of_four":
            return ratio_rule_of_four(value)
        return format_value(value)

    def summary(self, value: Any, kind: str, decimals: int | None) -> str:
        """A median, quartile, minimum, maximum, mean or SD of a continuous variable
        recorded to ``decimals`` places (None: unknown); ``kind`` as :data:`SUMMARY_KINDS`.

        Examples
        --------
        >>> STYLES["jama"].summary(63.5, "location", 0), STYLES["remission"].summary(63.5,
        ...     "location", 0), STYLES["nejm"].summary(47.66667, "calculated", 0)
        ('63.5', '63.5', '47.7')
        >>> STYLES["jama"].summary(13.0, "value", 1), STYLES["remission"].summary(13.0,
        ...     "value", 1)
        ('13.0', '13')
        """
        if self.summary_rule == "recorded":
            return format_summary(value, kind, decimals)
        return format_number(value)


#: The styles study.toml can name in ``[report] number_style``.
STYLES: dict[str, NumberStyle] = {
    "remission": NumberStyle(
        "remission", "P values as R's format.pval with 3 significant digits (P<0.001 below "
        "0.001); percentages to one decimal, rounded half up", references=(R_REF,)),
    "nejm": NumberStyle(
        "nejm", "P values as the NEJM statistical reporting guidelines (two decimals above "
        "0.01, three from 0.001 to 0.01, P<0.001 below); ratios by Cole's rule of four; "
        "percentages to one decimal, rounded half up; medians, quartiles and ranges to the "
        "precision of the recorded data (one more decimal for a median or quartile between "
        "two recorded values), means and SDs to one decimal more (AMA Manual of Style "
        "20.8)",
        p_rule="nejm", ratio_rule="rule_of_four", summary_rule="recorded",
        references=(NEJM_REF, COLE_REF, AMA_REF)),
    "jama": NumberStyle(
        "jama", "P values as the AMA Manual of Style (two decimals, three below .01, "
        "P<.001 below .001, no leading zero); percentages with no more digits than their "
        "denominator; ratios by Cole's rule of four; medians, quartiles and ranges to the "
        "precision of the recorded data (one more decimal for a median or quartile between "
        "two recorded values), means and SDs to one decimal more",
        p_rule="ama", percent_rule="ama_denominator", ratio_rule="rule_of_four",
        summary_rule="recorded", references=(AMA_REF, COLE_REF)),
}
DEFAULT_STYLE = STYLES["remission"]


def get_style(style: NumberStyle | str | None) -> NumberStyle:
    """The :class:`NumberStyle` named ``style`` (None: the default).

    Parameters
    ----------
    style : NumberStyle or str or None
        A style, a key of :data:`STYLES` (``"remission"``, ``"nejm"``, ``"jama"``) or None.

    Returns
    -------
    NumberStyle
        The style itself, the named style, or :data:`DEFAULT_STYLE` for None.

    Raises
    ------
    ValueError
        When ``style`` names no style (the message lists the known ones).

    Examples
    --------
    >>> get_style("nejm").name, get_style(None).name
    ('nejm', 'remission')
    """
    if style is None:
        return DEFAULT_STYLE
    if isinstance(style, NumberStyle):
        return style
    try:
        return STYLES[style]
    except KeyError:
        raise ValueError(f"unknown number style {style!r}; known: {sorted(STYLES)}") from None
