"""Confidence intervals for proportions and differences of proportions.

Clopper–Pearson ("exact") is the default for response rates in small single-arm
studies; the Wald interval is never offered because its coverage is poor at the n of
early-phase cell-therapy trials (Brown, Cai & DasGupta, Stat Sci 2001;16:101-133).
"""

from __future__ import annotations

import math

from remission.stats._special import special as _special


def clopper_pearson(x: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval of a proportion (Clopper & Pearson, Biometrika
    1934;26:404-13); equals R ``binom.test(x, n)$conf.int``.

    Parameters
    ----------
    x : int
        Number of events (e.g. responders), 0 <= x <= n.
    n : int
        Number of patients.
    conf : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(lower, upper)``; ``(nan, nan)`` when ``n`` is 0. The lower limit is 0 when
        ``x`` is 0 and the upper 1 when ``x`` is ``n``.

    Raises
    ------
    ValueError
        When ``x`` is outside 0..n or ``conf`` outside (0, 1).

    Examples
    --------
    7 responders of 20 (R 4.2.2 ``binom.test(7, 20)$conf.int``: 0.1539092 0.5921885):

    >>> lo, hi = clopper_pearson(7, 20)
    >>> round(lo, 7), round(hi, 7)
    (0.1539092, 0.5921885)
    """
    _check(x, n, conf)
    if n == 0:
        return (math.nan, math.nan)
    special = _special()  # scipy loaded on use: not on a report's import path

    a = 1.0 - conf
    lo = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, a / 2))
    hi = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - a / 2))
    return (lo, hi)


def wilson(x: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score confidence interval of a proportion, without continuity correction
    (Wilson, JASA 1927;22:209-12); equals R ``prop.test(x, n, correct = FALSE)$conf.int``.

    Parameters
    ----------
    x : int
        Number of events, 0 <= x <= n.
    n : int
        Number of patients.
    conf : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(lower, upper)``, clipped to [0, 1]; ``(nan, nan)`` when ``n`` is 0.

    Raises
    ------
    ValueError
        When ``x`` is outside 0..n or ``conf`` outside (0, 1).

    Examples
    --------
    R 4.2.2 ``prop.test(7, 20, correct = FALSE)$conf.int``: 0.1811918 0.5671457; and for
    0 of 10: 0 0.2775328.

    >>> [round(v, 7) for v in wilson(7, 20)]
    [0.1811918, 0.5671457]
    >>> [round(v, 7) for v in wilson(0, 10)]
    [0.0, 0.2775328]
    """
    _check(x, n, conf)
    if n == 0:
        return (math.nan, math.nan)
    special = _special()  # scipy loaded on use: not on a report's import path

    z = float(special.ndtri(1 - (1 - conf) / 2))
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_diff(
    x1: int, n1: int, x2: int, n2: int, conf: float = 0.95
) -> tuple[float, float, float]:
    """Difference of two independent proportions, p1 - p2, with Newcombe's hybrid score
    interval (method 10, from the two Wilson intervals, no continuity correction;
    Newcombe, Stat Med 1998;17:873-90).

    Parameters
    ----------
    x1, n1 : int
        Events and patients of the first group.
    x2, n2 : int
        Events and patients of the second group.
    conf : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(difference, lower, upper)``.

    Raises
    ------
    ValueError
        When a count is outside 0..n or ``conf`` outside (0, 1).
    ZeroDivisionError
        When a group has no patients.

    Examples
    --------
    Newcombe's example (a), 56/70 vs 48/80, method 10: 0.0524 to 0.3339 (Table II):

    >>> d, lo, hi = newcombe_diff(56, 70, 48, 80)
    >>> round(d, 4), round(lo, 4), round(hi, 4)
    (0.2, 0.0524, 0.3339)
    """
    l1, u1 = wilson(x1, n1, conf)
    l2, u2 = wilson(x2, n2, conf)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (d, lo, hi)


def _check(x: int, n: int, conf: float) -> None:
    if not (0 <= x <= n):
        raise ValueError(f"need 0 <= x <= n, got x={x}, n={n}")
    if not (0 < conf < 1):
        raise ValueError(f"confidence level must be in (0, 1), got {conf}")
