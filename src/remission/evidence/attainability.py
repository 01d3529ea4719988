"""Is a reported mean, or median with range, attainable with n integer observations?

``grim_mean``: a mean of n integers (or of values with ``granularity``) printed with
d decimals must equal ``k·g/n`` for an integer k, after rounding (GRIM test, Brown &
Heathers 2017). ``median_range_attainable``: for n values on a grid, the median is one
value (n odd) or the midpoint of two (n even); it lies within [min, max]; with n = 1
all three coincide and with n = 2 the median is the midrange (Hozo et al. 2005 use
the same order-statistic constraints).

References
----------
Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-9.
Hozo SP, Djulbegovic B, Hozo I. BMC Med Res Methodol 2005;5:13.
"""

from __future__ import annotations

import math

import pandas as pd

from remission.evidence.proportions import Printed
from remission.results import Result


def grim_mean(mean: float | str, n: int, granularity: float = 1.0,
              label: str = "mean") -> Result:
    """GRIM: which sums of n values on a ``granularity`` grid print as ``mean`` (Brown NJL,
    Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-9).

    Parameters
    ----------
    mean : float or str
        The mean as printed (a string keeps its decimals: ``"3.40"``).
    n : int
        Number of values.
    granularity : float, default 1
        Grid of the values (1 for whole numbers such as scores or days).
    label : str, default "mean"
        Row label and name suffix of the Result.

    Returns
    -------
    remission.results.Result
        ``attainable`` and the sums that print as ``mean`` (``nearest_sums``); a warning
        when none does.

    Examples
    --------
    15 whole numbers: 52/15 = 3.4667 prints as 3.47, but no sum prints as 3.48 (52/15 =
    3.467, 53/15 = 3.533):

    >>> row = grim_mean("3.47", 15).table.loc["mean"]
    >>> bool(row["attainable"]), row["nearest_sums"]
    (True, '52')
    >>> grim_mean("3.48", 15).warnings
    ('a mean of 3.48 is not attainable with n = 15 values on a grid of 1',)
    """
    pm = Printed.parse(mean)
    lo = math.floor((pm.value - pm.half_width()) * n / granularity) - 1
    hi = math.ceil((pm.value + pm.half_width()) * n / granularity) + 1
    ks = [k for k in range(lo, hi + 1) if pm.matches(k * granularity / n)]
    table = pd.DataFrame({"n": [n], "reported": [str(mean)], "attainable": [bool(ks)],
                          "nearest_sums": [", ".join(f"{k * granularity:g}" for k in ks)]},
                         index=[label])
    warns = () if ks else (f"a mean of {mean} is not attainable with n = {n} values on a "
                           f"grid of {granularity:g}",)
    return Result(name=f"evidence.grim.{label}", title=f"GRIM check: {label}", table=table,
                  method="GRIM consistency test of a reported mean against n.",
                  rationale="Means of n grid-valued numbers take only values k·g/n.",
                  warnings=warns, section="audit",
                  references=("Brown NJL, Heathers JAJ. Soc Psychol Personal Sci "
                              "2017;8:363-9.",),
                  params={"mean": str(mean), "n": n, "granularity": granularity})


def median_range_attainable(median: float, low: float, high: float, n: int,
                            granularity: float = 1.0, label: str = "median") -> Result:
    """Check a reported median (range) against n values on a ``granularity`` grid.

    With an odd n the median is one of the values (a multiple of the grid), with an even
    n the mean of two (a multiple of half the grid); it lies within the range; n = 1 and
    n = 2 fix it further.

    Parameters
    ----------
    median, low, high : float
        The median and range as printed.
    n : int
        Number of values.
    granularity : float, default 1
        Grid of the values (1 for whole days).
    label : str, default "median"
        Row label and name suffix of the Result.

    Returns
    -------
    remission.results.Result
        ``attainable`` and ``why`` (every reason it cannot be), warned when not.

    Examples
    --------
    A median of 7.5 days from 9 patients' whole days cannot be (9 is odd):

    >>> median_range_attainable(7.5, 2, 14, 9).warnings
    ('with n = 9 the median must be a multiple of 1',)
    >>> bool(median_range_attainable(7.5, 2, 14, 10).table.loc["median", "attainable"])
    True
    """
    reasons = []
    if not low <= median <= high:
        reasons.append("median outside the range")
    step = granularity if n % 2 else granularity / 2
    if abs(median / step - round(median / step)) > 1e-9:
        reasons.append(f"with n = {n} the median must be a multiple of {step:g}")
    if n == 1 and not (low == median == high):
        reasons.append("with n = 1 median, minimum and maximum coincide")
    if n == 2 and abs(median - (low + high) / 2) > 1e-9:
        reasons.append("with n = 2 the median is the midpoint of the range")
    if n >= 3 and low == high and median != low:
        reasons.append("a zero-width range forces the median to equal it")
    table = pd.DataFrame({"n": [n], "median": [median], "low": [low], "high": [high],
                          "attainable": [not reasons], "why": ["; ".join(reasons)]},
                         index=[label])
    return Result(name=f"evidence.median.{label}", title=f"Median/range check: {label}",
                  table=table, section="audit",
                  method="Order-statistic constraints on a median and range of n values.",
                  rationale="A median of n grid values is a grid value or a half-grid midpoint.",
                  warnings=tuple(reasons),
                  references=("Hozo SP et al. BMC Med Res Methodol 2005;5:13.",),
                  params={"n": n, "granularity": granularity})


def _grid_index(x: float, step: float) -> int | None:
    """``k`` with ``x == k * step`` (to 1e-9 of a step), else None."""
    k = round(x / step)
    return k if abs(x / step - k) <= 1e-9 else None


def _grid_text(ks: range, step: float, limit: int = 12) -> str:
    """The values ``k * step`` for k in ``ks``, listed when few, else as a progression."""
    if len(ks) == 0:
        return "none"
    if len(ks) <= limit:
        return ", ".join(f"{k * step:.10g}" for k in ks)
    return (f"multiples of {step:.10g} from {ks[0] * step:.10g} to {ks[-1] * step:.10g} "
            f"({len(ks)} values)")


def range_attainable(low: float, high: float, n: int, granularity: float = 1.0,
                     label: str = "range", source: str = "",
                     values: pd.Series | None = None, var: str | None = None,
                     unit: str = "", no_data_why: str = "") -> Result:
    """What n values on a ``granularity`` grid, every one of them in [low, high], can give.

    A claim such as "CAR-NK cells reached peak concentration between days 7 and 14" says
    only that each of the n patients' values lies in the interval; the interval need not
    be the observed minimum and maximum. The claim is attainable when ``low <= high`` and
    both ends lie on the grid. Its median is then a grid value in [low, high] when n is
    odd, a multiple of half the grid when n is even (the midpoint of two grid values);
    its mean is a multiple of ``granularity / n`` in [low, high] (a sum of n grid values
    divided by n, as in the GRIM test). Nothing narrows it further without each
    patient's value: given ``values`` (one per patient, e.g. an ADSL column), the claim
    is checked against them.

    Parameters
    ----------
    low, high : float
        The interval as printed.
    n : int
        Number of patients the claim covers.
    granularity : float, default 1
        Grid of the values (1 for whole days).
    label : str, default "range"
        Row label and name suffix of the Result.
    source : str, default ""
        The sentence the claim transcribes.
    values : pandas.Series, optional
        Each patient's value (index: patient id); missing values are allowed.
    var : str, optional
        Name of the variable ``values`` came from (for the verdict's reason).
    unit : str, default ""
        Unit of the values (e.g. "day"), shown with the interval.
    no_data_why : str, default ""
        Reason given when ``values`` is None (default: no per-patient values).

    Returns
    -------
    remission.results.Result
        One row: ``attainable``, ``problems`` (why not), ``medians`` and ``means`` (the
        values n patients can give), ``verdict`` ("agrees", "disagrees" or "cannot be
        checked") and ``why``; a warning for each problem and for a disagreement.

    References
    ----------
    Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-9 (means of n grid
    values are multiples of the grid over n).

    Examples
    --------
    Five patients' peak days, whole days in 7..14: the median is one of the five values,
    an integer 7..14; the mean a multiple of 1/5:

    >>> row = range_attainable(7, 14, 5, label="peak day").table.loc["peak day"]
    >>> row["medians"]
    '7, 8, 9, 10, 11, 12, 13, 14'
    >>> row["means"]
    'multiples of 0.2 from 7 to 14 (36 values)'
    >>> row["verdict"]
    'cannot be checked'
    >>> range_attainable(14, 7, 5).warnings
    ('low 14 is above high 7',)
    >>> import pandas as pd
    >>> days = pd.Series([7, 9, 10, 14, 16], index=["P1", "P2", "P3", "P4", "P5"])
    >>> r = range_attainable(7, 14, 5, values=days, var="peak_day").table.iloc[0]
    >>> r["verdict"], r["why"]
    ('disagrees', 'peak_day of 1 of 5 patients outside [7, 14]: P5 = 16')
    """
    problems: list[str] = []
    if not low <= high:
        problems.append(f"low {low:.10g} is above high {high:.10g}")
    if n < 1:
        problems.append(f"n = {n}: at least one patient is needed")
    k_lo, k_hi = _grid_index(low, granularity), _grid_index(high, granularity)
    for end, k in (("low", k_lo), ("high", k_hi)):
        if k is None:
            problems.append(f"{end} {(low if end == 'low' else high):.10g} is not a "
                            f"multiple of the grid {granularity:.10g}")
    if problems or k_lo is None or k_hi is None:
        medians = means = "none"
    else:
        half = n % 2 == 0
        m_step = granularity / 2 if half else granularity
        medians = _grid_text(range(k_lo * (2 if half else 1), k_hi * (2 if half else 1) + 1),
                             m_step)
        means = _grid_text(range(k_lo * n, k_hi * n + 1), granularity / n)
    interval = f"[{low:.10g}, {high:.10g}]" + (f" {unit}" if unit else "")
    verdict, why = "cannot be checked", no_data_why or (
        f"no per-patient values: the claim says only that each of {n} values lies in "
        f"{interval}, so the median is one of {medians} and the mean one of {means}; "
        "nothing narrows it further without each patient's value")
    if values is not None:
        verdict, why = _range_verdict(values, low, high, n, interval, var or "value")
    warns = tuple(problems) + ((f"{label}: {why}",) if verdict == "disagrees" else ())
    table = pd.DataFrame({"n": [n], "low": [low], "high": [high],
                          "granularity": [granularity], "attainable": [not problems],
                          "problems": ["; ".join(problems)], "medians": [medians],
                          "means": [means], "text": [source], "verdict": [verdict],
                          "why": [why]}, index=[label])
    return Result(name=f"evidence.range.{label}", title=f"Range check: {label}", table=table,
                  section="audit",
                  method=("Every one of n values on a grid lies in [low, high]: attainable "
                          "medians (grid values, or half-grid midpoints when n is even) and "
                          "means (multiples of grid/n) within the interval; checked against "
                          "each patient's value when the data are given."),
                  rationale=("A range claim without per-patient values fixes only which "
                             "medians and means n patients could have."),
                  warnings=warns,
                  references=("Brown NJL, Heathers JAJ. Soc Psychol Personal Sci "
                              "2017;8:363-9.",),
                  params={"n": n, "granularity": granularity, "unit": unit,
                          "var": var or ""})


def _range_verdict(values: pd.Series, low: float, high: float, n: int, interval: str,
                   var: str) -> tuple[str, str]:
    x = pd.to_numeric(values, errors="coerce")
    have = x.dropna()
    out = have[(have < low) | (have > high)]
    if not out.empty:
        listed = ", ".join(f"{k} = {v:.10g}" for k, v in out.items())
        return "disagrees", (f"{var} of {len(out)} of {len(have)} patients outside "
                             f"{interval}: {listed}")
    if len(x) != n:
        return "disagrees", f"the data have {len(x)} patients, the claim {n}"
    if len(have) < n:
        return "cannot be checked", (f"{var} is missing for {n - len(have)} of {n} patients "
                                     f"(the others lie in {interval})")
    return "agrees", f"all {n} values of {var} lie in {interval}"
