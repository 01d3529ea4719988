"""Profile-likelihood confidence limits: the one bracketing search both Firth models use.

A profile interval is where the (penalised) likelihood-ratio statistic crosses its
chi-square critical value on each side of the estimate. The crossing is bracketed by
walking outward from the estimate with a doubling step, then solved with Brent's method;
a side that never crosses within the allowed doublings is unbounded (±inf), as R's
``logistf`` and ``coxphf`` report for separated data.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

__all__ = ["profile_limits"]


def profile_limits(f: Callable[[float], float], estimate: float, first_step: float, *,
                   max_doublings: int, xtol: float = 2e-12,
                   rtol: float = 4 * np.finfo(float).eps) -> tuple[float, float]:
    """Lower and upper roots of ``f`` around ``estimate`` (``f(estimate) < 0``).

    Parameters
    ----------
    f : callable
        ``f(b) = LR(b) - critical value``: negative inside the interval, >= 0 outside.
    estimate : float
        The point estimate (inside the interval).
    first_step : float
        First distance from the estimate tried on each side; doubled until ``f >= 0``.
    max_doublings : int
        How many doublings before a side is declared unbounded.
    xtol, rtol : float
        Tolerances of :func:`scipy.optimize.brentq`.

    Returns
    -------
    (float, float)
        The limits; ``-inf`` / ``inf`` for a side that does not close.

    Examples
    --------
    The likelihood-ratio interval of a normal mean with known unit variance, n = 4,
    mean 1: LR(b) = 4 (1 - b)^2, so the 95 % limits are 1 ± 1.959964 / 2.

    >>> lo, hi = profile_limits(lambda b: 4 * (1 - b) ** 2 - 3.841459, 1.0, 0.1,
    ...                         max_doublings=20)
    >>> round(lo, 6), round(hi, 6)
    (0.020018, 1.979982)
    """
    out = []
    for sgn in (-1, 1):
        step = first_step
        edge = estimate + sgn * step
        k = 0
        while f(edge) < 0 and k < max_doublings:
            step *= 2
            edge = estimate + sgn * step
            k += 1
        if f(edge) < 0:
            out.append(sgn * np.inf)
            continue
        out.append(float(optimize.brentq(f, *sorted((estimate, edge)), xtol=xtol,
                                         rtol=rtol)))
    return out[0], out[1]
