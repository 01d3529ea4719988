"""Confidence intervals for proportions and differences of proportions.

Clopper–Pearson ("exact") is the default for response rates in small single-arm
studies; the Wald interval is never offered because its coverage is poor at the n of
early-phase cell-therapy trials (Brown, Cai & DasGupta, Stat Sci 2001;16:101-133).
"""

from __future__ import annotations

import math


def clopper_pearson(x: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact binomial CI (Clopper & Pearson, Biometrika 1934).

    Equals R ``binom.test(x, n)$conf.int``."""
    _check(x, n, conf)
    if n == 0:
        return (math.nan, math.nan)
    from scipy import special  # scipy loaded on use: not on a report's import path

    a = 1.0 - conf
    lo = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, a / 2))
    hi = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - a / 2))
    return (lo, hi)


def wilson(x: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score CI without continuity correction (Wilson, JASA 1927);
    equals R ``prop.test(x, n, correct = FALSE)$conf.int``."""
    _check(x, n, conf)
    if n == 0:
        return (math.nan, math.nan)
    from scipy import special  # scipy loaded on use: not on a report's import path

    z = float(special.ndtri(1 - (1 - conf) / 2))
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_diff(
    x1: int, n1: int, x2: int, n2: int, conf: float = 0.95
) -> tuple[float, float, float]:
    """Difference p1 - p2 with Newcombe's hybrid score CI (method 10, no continuity
    correction; Newcombe, Stat Med 1998;17:873-890). Returns (difference, lower, upper)."""
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
