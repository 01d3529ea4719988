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
