"""The log-logistic model: mean function, Jacobian, self-starting values, parameters.

Parameterisation as R ``stats::SSfpl`` on log dose (see :mod:`remission.lab.doseresponse`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special

PARAMS: tuple[str, ...] = ("A", "B", "xmid", "scal")
MODELS: dict[str, dict[str, float]] = {"LL.4": {}, "LL.3": {"B": 0.0}}


def ll_curve(logdose: np.ndarray, A, B, xmid, scal) -> np.ndarray:
    """Four-parameter log-logistic mean response (R ``SSfpl`` on log dose).

    ``A + (B - A) / (1 + exp((xmid - logdose) / scal))``: ``A`` is the response at zero dose,
    ``B`` at infinite dose, ``exp(xmid)`` the dose halfway between them (relative IC50).

    Parameters
    ----------
    logdose : ndarray of float
        Natural log of dose.
    A, B : float or ndarray
        Response at the low and high asymptote (units of the response, e.g. % of vehicle).
    xmid : float or ndarray
        Log dose of the midpoint.
    scal : float or ndarray
        Scale on log dose (> 0; the Hill slope is ``1 / scal``).

    Returns
    -------
    ndarray of float
        Mean response at each dose.

    References
    ----------
    Pinheiro JC, Bates DM. Mixed-Effects Models in S and S-PLUS. Springer 2000 (SSfpl).

    Examples
    --------
    With ``xmid = log 3`` and ``scal = 0.5``, dose 1 gives ``1 / (1 + exp(2 log 3)) = 1/10``
    of the way from A = 100 to B = 0, and dose 3 half of it:

    >>> ll_curve(np.log([1.0, 3.0]), 100, 0, np.log(3.0), 0.5).round(10).tolist()
    [90.0, 50.0]
    """
    f = special.expit((np.asarray(logdose) - xmid) / scal)
    return A + (B - A) * f


def jacobian(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Partial derivatives of :func:`ll_curve` with respect to ``(A, B, xmid, scal)``.

    Parameters
    ----------
    u : ndarray of float
        Log doses, shape (..., m).
    p : ndarray of float
        Parameters ``(A, B, xmid, scal)``, shape (..., 4).

    Returns
    -------
    ndarray of float
        Shape (..., m, 4): ``1 - f``, ``f``, ``-(B - A) f (1 - f) / scal``,
        ``-(B - A) f (1 - f) z / scal`` with ``z = (u - xmid) / scal``, ``f = expit(z)``.

    Examples
    --------
    At the midpoint f = 1/2: d/dxmid = -(0 - 100) / 4 / 0.5 = 50, d/dscal = 0:

    >>> jacobian(np.array([0.0]), np.array([100.0, 0.0, 0.0, 0.5])).tolist()
    [[0.5, 0.5, 50.0, 0.0]]
    """
    A, B, xmid, scal = (p[..., i, None] for i in range(4))
    z = (u - xmid) / scal
    f = special.expit(z)
    g = f * (1.0 - f)
    d = B - A
    return np.stack([1.0 - f, f, -d * g / scal, -d * g * z / scal], axis=-1)


def self_start(u: np.ndarray, y: np.ndarray, fixed: Mapping[str, float]) -> np.ndarray:
    """Starting values for a log-logistic fit, in the spirit of R ``SSfpl``.

    Asymptotes: mean response at the lowest and highest dose (or the fixed values);
    ``xmid`` and ``scal`` from a straight-line fit of the logit of the response scaled
    between them (clipped to 0.02-0.98) against log dose.

    Parameters
    ----------
    u : ndarray of float
        Log doses.
    y : ndarray of float
        Responses.
    fixed : mapping of str to float
        Fixed asymptotes (``{"B": 0.0}`` for LL.3).

    Returns
    -------
    ndarray of float
        ``(A, B, xmid, scal)``.

    Examples
    --------
    A = mean(101, 97) at the lowest dose, B = mean(4, 2) at the highest:

    >>> dose = np.repeat([0.1, 0.3, 1, 3, 10, 30, 100], 2)
    >>> y = np.array([101, 97, 99, 95, 88, 84, 60, 52, 25, 21, 9, 7, 4, 2.0])
    >>> u = np.log(dose)
    >>> self_start(u, y, {})[:2].tolist(), self_start(u, y, {"B": 0})[:2].tolist()
    ([99.0, 3.0], [99.0, 0.0])
    """
    lo, hi = u.min(), u.max()
    a0 = float(np.mean(y[u == lo]))
    b0 = float(np.mean(y[u == hi]))
    a0 = fixed.get("A", a0)
    b0 = fixed.get("B", b0)
    span = b0 - a0
    if abs(span) < 1e-12 * max(1.0, abs(a0)):
        span = (np.ptp(y) or 1.0) * (1 if b0 >= a0 else -1)
    pad = 0.05 * span
    frac = np.clip((y - (a0 - pad)) / (span + 2 * pad), 0.02, 0.98)
    zz = special.logit(frac)
    scal0 = (hi - lo) / 8.0 if hi > lo else 1.0
    xmid0 = 0.5 * (lo + hi)
    if np.ptp(u) > 0:
        slope, intercept = np.polyfit(u, zz, 1)
        if slope > 0 and np.isfinite(slope):
            scal0 = 1.0 / slope
            xmid0 = float(np.clip(-intercept / slope, lo - (hi - lo), hi + (hi - lo)))
    return np.array([a0, b0, xmid0, scal0])


def free_parameters(fixed: Mapping[str, float]) -> tuple[str, ...]:
    """Names of the parameters estimated when ``fixed`` are held constant.

    Parameters
    ----------
    fixed : mapping of str to float
        Fixed parameters; only the asymptotes ``A`` and ``B`` may be fixed.

    Returns
    -------
    tuple of str
        The free parameters in ``(A, B, xmid, scal)`` order.

    Raises
    ------
    ValueError
        An unknown name, or ``xmid`` / ``scal`` fixed.

    Examples
    --------
    >>> free_parameters({}), free_parameters(MODELS["LL.3"])
    (('A', 'B', 'xmid', 'scal'), ('A', 'xmid', 'scal'))
    >>> try:
    ...     free_parameters({"xmid": 1.0})
    ... except ValueError as e:
    ...     print(e)
    only the asymptotes A and B may be fixed
    """
    bad = set(fixed) - set(PARAMS)
    if bad:
        raise ValueError(f"unknown fixed parameter(s) {sorted(bad)}; allowed {PARAMS}")
    if "xmid" in fixed or "scal" in fixed:
        raise ValueError("only the asymptotes A and B may be fixed")
    return tuple(n for n in PARAMS if n not in fixed)
