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
    """Log-logistic mean response at ``logdose`` (SSfpl parameterisation)."""
    f = special.expit((np.asarray(logdose) - xmid) / scal)
    return A + (B - A) * f


def jacobian(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """d mean / d (A, B, xmid, scal); ``p`` has shape (..., 4), ``u`` (..., m)."""
    A, B, xmid, scal = (p[..., i, None] for i in range(4))
    z = (u - xmid) / scal
    f = special.expit(z)
    g = f * (1.0 - f)
    d = B - A
    return np.stack([1.0 - f, f, -d * g / scal, -d * g * z / scal], axis=-1)


def self_start(u: np.ndarray, y: np.ndarray, fixed: Mapping[str, float]) -> np.ndarray:
    """Self-starting values in the spirit of SSfpl: asymptotes from the extreme doses,
    xmid and scal from a linear regression of the logit of the scaled response."""
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
    bad = set(fixed) - set(PARAMS)
    if bad:
        raise ValueError(f"unknown fixed parameter(s) {sorted(bad)}; allowed {PARAMS}")
    if "xmid" in fixed or "scal" in fixed:
        raise ValueError("only the asymptotes A and B may be fixed")
    return tuple(n for n in PARAMS if n not in fixed)
