"""Dose-response curves: 4- and 3-parameter log-logistic fits, IC50 and group comparisons.

Parameterisation (identical to R ``stats::SSfpl`` applied to log dose)::

    y = A + (B - A) / (1 + exp((xmid - log(dose)) / scal))

``A`` is the response as dose -> 0 (top of an inhibition curve), ``B`` the response as
dose -> infinity, ``xmid = log(IC50)`` the log-dose at the midpoint between the two
asymptotes (the *relative* IC50/EC50), ``scal`` the slope scale on the log-dose axis.
In drc's LL.4 notation (Ritz et al. 2015), ``f = c + (d - c) / (1 + exp(b (log x -
log e)))``, this is ``d = A``, ``c = B``, ``e = exp(xmid)`` and ``b = +1/scal`` (a
falling viability curve has ``scal > 0`` and drc's ``b > 0``); ``1/scal`` is the Hill
slope. The 3-parameter model (drc LL.3) fixes the *lower* asymptote at 0: ``B`` for a
falling curve, ``A`` for a rising one (:func:`asymptotes_fixed`); either asymptote may be
fixed at any value via ``fixed=`` (or ``lower=``/``upper=`` in
:func:`dose_response_results`, ``fix_lower``/``fix_upper`` in lab.toml).

Fitting is ordinary least squares (Levenberg-Marquardt); standard errors are the usual
linearisation ``s^2 (J'J)^-1`` with ``s^2 = RSS / (n - p)`` exactly as ``summary.nls``
(Bates & Watts 1988). The IC50 confidence interval is a delta-method (Wald) interval on
the log scale, ``exp(xmid +/- t_{df} se(xmid))``, which is what drc reports for
``ED(..., interval = "delta")`` after fitting on log dose; it is never negative and is
asymmetric on the dose scale. A profile-likelihood interval (:func:`profile_ic50_ci`) is
reported beside it; it is more accurate when the curvature is strong (few doses, IC50
near the edge of the range). Curves are compared by the extra-sum-of-squares F test
(R ``anova(nls_reduced, nls_full)``) and potency ratios get a Fieller interval (Fieller
1954), as drc ``EDcomp(..., interval = "fieller")``.

``fit_many`` fits thousands of curves at once with a batched Levenberg-Marquardt in
numpy, falling back to the per-curve scipy solver for the curves it cannot settle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import optimize, special, stats

from remission.lab._common import (
    REF_BATES_WATTS,
    REF_FIELLER,
    REF_RITZ_2015,
    SECTION,
    fmt_key,
    new_figure,
    table,
)
from remission.results import Result

PARAMS: tuple[str, ...] = ("A", "B", "xmid", "scal")
MODELS: dict[str, dict[str, float]] = {"LL.4": {}, "LL.3": {"B": 0.0}}


# --------------------------------------------------------------------------- model


def ll_curve(logdose: np.ndarray, A, B, xmid, scal) -> np.ndarray:
    """Log-logistic mean response at ``logdose`` (SSfpl parameterisation)."""
    f = special.expit((np.asarray(logdose) - xmid) / scal)
    return A + (B - A) * f


def _jacobian(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """d mean / d (A, B, xmid, scal); ``p`` has shape (..., 4), ``u`` (..., m)."""
    A, B, xmid, scal = (p[..., i, None] for i in range(4))
    z = (u - xmid) / scal
    f = special.expit(z)
    g = f * (1.0 - f)
    d = B - A
    return np.stack([1.0 - f, f, -d * g / scal, -d * g * z / scal], axis=-1)


def _start(u: np.ndarray, y: np.ndarray, fixed: Mapping[str, float]) -> np.ndarray:
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


# --------------------------------------------------------------------------- single fit


@dataclass(frozen=True)
class CurveFit:
    """One fitted log-logistic curve (see module docstring for the parameterisation)."""

    model: str
    params: dict[str, float]
    se: dict[str, float]
    free: tuple[str, ...]
    vcov: np.ndarray
    n: int
    df: int
    rss: float
    sigma: float
    r_squared: float
    converged: bool
    dose_min: float
    dose_max: float
    ic50: float
    ic50_lower: float
    ic50_upper: float
    conf: float
    flags: tuple[str, ...] = ()
    lack_of_fit: dict[str, float] = field(default_factory=dict)

    @property
    def hill(self) -> float:
        """Hill slope 1/scal (equal to drc's b)."""
        return 1.0 / self.params["scal"]

    def predict(self, dose: np.ndarray) -> np.ndarray:
        p = self.params
        return ll_curve(np.log(np.asarray(dose, dtype=float)), p["A"], p["B"], p["xmid"], p["scal"])


def asymptotes_fixed(model: str, dose: Sequence[float], response: Sequence[float],
                     lower: float | None = None, upper: float | None = None
                     ) -> dict[str, float]:
    """Which of ``A`` (low-dose) and ``B`` (high-dose asymptote) are fixed, and at what.

    ``lower``/``upper`` name the asymptote with the lower/higher value, as drc's ``c``
    and ``d``: for a falling curve (mean response at the lowest dose >= at the highest)
    the lower one is ``B``, for a rising curve it is ``A``. ``model="LL.3"`` fixes the
    lower asymptote at 0 unless ``lower`` says otherwise (drc ``LL.3``).

    Parameters
    ----------
    model : {"LL.4", "LL.3"}
    dose, response : array
        The data of the curve (or of all curves of one drug, for joint fits).
    lower, upper : float, optional
        Values at which to fix the lower / upper asymptote.

    Returns
    -------
    dict
        ``{"A": value}``, ``{"B": value}``, both or neither.

    Examples
    --------
    >>> asymptotes_fixed("LL.3", [1, 10, 100], [95, 50, 5])
    {'B': 0.0}
    >>> asymptotes_fixed("LL.3", [1, 10, 100], [5, 50, 95], upper=100)
    {'A': 0.0, 'B': 100.0}
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}")
    if model == "LL.3" and lower is None:
        lower = 0.0
    if lower is None and upper is None:
        return {}
    x = np.asarray(dose, float)
    y = np.asarray(response, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[ok], y[ok]
    falling = bool(y[x == x.min()].mean() >= y[x == x.max()].mean()) if x.size else True
    out: dict[str, float] = {}
    if lower is not None:
        out["B" if falling else "A"] = float(lower)
    if upper is not None:
        out["A" if falling else "B"] = float(upper)
    return out


def _free_names(fixed: Mapping[str, float]) -> tuple[str, ...]:
    bad = set(fixed) - set(PARAMS)
    if bad:
        raise ValueError(f"unknown fixed parameter(s) {sorted(bad)}; allowed {PARAMS}")
    if "xmid" in fixed or "scal" in fixed:
        raise ValueError("only the asymptotes A and B may be fixed")
    return tuple(n for n in PARAMS if n not in fixed)


def _lsq(u, y, p0: np.ndarray, free_idx: list[int], max_nfev: int = 400
         ) -> tuple[np.ndarray, bool]:
    """Per-curve least squares with MINPACK LM from ``p0``; returns full parameter vector."""
    full = p0.copy()

    def resid(q):
        full[free_idx] = q
        return ll_curve(u, *full) - y

    def jac(q):
        full[free_idx] = q
        return _jacobian(u, full)[..., free_idx]

    try:
        sol = optimize.least_squares(
            resid, p0[free_idx], jac=jac, method="lm", xtol=1e-13, ftol=1e-13, gtol=1e-13,
            max_nfev=max_nfev,
        )
    except (ValueError, FloatingPointError):
        return p0, False
    out = p0.copy()
    out[free_idx] = sol.x
    return out, bool(sol.success) and bool(np.all(np.isfinite(sol.x)))


def _best_fit(u, y, fixed: Mapping[str, float], start: np.ndarray | None = None,
              max_nfev: int = 400):
    free = _free_names(fixed)
    free_idx = [PARAMS.index(n) for n in free]
    p0 = _start(u, y, fixed) if start is None else np.asarray(start, float).copy()
    for k, v in fixed.items():
        p0[PARAMS.index(k)] = v
    candidates = [p0]
    # a few extra starts guard against a poor self-start (shallow or very steep curves)
    for mult in (0.3, 3.0):
        q = p0.copy()
        q[3] = p0[3] * mult
        candidates.append(q)
    best, best_rss, best_ok = p0, np.inf, False
    for c in candidates:
        p, ok = _lsq(u, y, c, free_idx, max_nfev)
        rss = float(np.sum((ll_curve(u, *p) - y) ** 2))
        if np.isfinite(rss) and rss < best_rss * (1 - 1e-12):
            best, best_rss, best_ok = p, rss, ok
    return best, best_ok


def _covariance(u, y, p, free_idx, df) -> tuple[np.ndarray, float, float]:
    r = ll_curve(u, *p) - y
    rss = float(r @ r)
    J = _jacobian(u, p)[:, free_idx]
    s2 = rss / df if df > 0 else np.nan
    try:
        # via QR as R does (better conditioned than inverting J'J directly)
        _, R = np.linalg.qr(J)
        rinv = np.linalg.inv(R)
        cov = s2 * rinv @ rinv.T
    except np.linalg.LinAlgError:
        cov = np.full((len(free_idx), len(free_idx)), np.nan)
    return cov, rss, s2


def lack_of_fit_test(dose: np.ndarray, response: np.ndarray, rss: float, n_par: int) -> dict:
    """Lack-of-fit F test against the one-way ANOVA on dose (needs replicates).

    Pure-error SS is the within-dose SS (= RSS of R ``lm(y ~ factor(dose))``); the
    remainder of the model RSS is lack of fit (Bates & Watts 1988, sec. 3.10; drc
    ``modelFit``).
    """
    d = pd.DataFrame({"d": dose, "y": response})
    grp = d.groupby("d")["y"]
    sspe = float(((d["y"] - grp.transform("mean")) ** 2).sum())
    df_pe = len(d) - grp.ngroups
    df_lof = grp.ngroups - n_par
    if df_pe <= 0 or df_lof <= 0 or sspe <= 0:
        return {"F": np.nan, "df_lof": df_lof, "df_pe": df_pe, "p": np.nan}
    f = ((rss - sspe) / df_lof) / (sspe / df_pe)
    return {"F": f, "df_lof": df_lof, "df_pe": df_pe, "p": float(stats.f.sf(f, df_lof, df_pe))}


def _flags(p: dict[str, float], se: dict[str, float], lo: float, hi: float, n_doses: int,
           converged: bool, spacing: float = 0.0) -> tuple[str, ...]:
    """Ambiguity flags for a fitted curve (thresholds stated in each message)."""
    out = []
    if not converged:
        out.append("fit did not converge")
    ic50 = np.exp(p["xmid"])
    if not lo <= ic50 <= hi:
        out.append(f"IC50 {ic50:.4g} outside the tested dose range [{lo:.4g}, {hi:.4g}]")
    f_lo = special.expit((np.log(lo) - p["xmid"]) / p["scal"])
    f_hi = special.expit((np.log(hi) - p["xmid"]) / p["scal"])
    if f_lo > 0.2:
        out.append(
            f"no low-dose plateau: at the lowest dose the curve has already covered {f_lo:.0%} "
            "of its span (> 20%)"
        )
    if f_hi < 0.8:
        out.append(
            f"no high-dose plateau: at the highest dose the curve has covered only {f_hi:.0%} "
            "of its span (< 80%)"
        )
    if np.isfinite(se.get("xmid", np.nan)) and se["xmid"] > np.log(10):
        out.append("IC50 poorly determined: SE of log IC50 > log(10) (CI spans > 100-fold)")
    if not np.all(np.isfinite(list(se.values()))):
        out.append("standard errors not estimable (singular Jacobian)")
    if spacing > 0 and p["scal"] < 0.1 * spacing:
        out.append(
            "transition steeper than the dose spacing resolves (scal < 0.1 x log-dose step): "
            "the IC50 is only bracketed by two adjacent doses"
        )
    if n_doses < 5:
        out.append(f"only {n_doses} distinct doses (>= 5 recommended for a 4-parameter fit)")
    return tuple(out)


def fit_curve(dose: Sequence[float], response: Sequence[float], model: str = "LL.4",
              fixed: Mapping[str, float] | None = None, conf: float = 0.95,
              start: Sequence[float] | None = None, max_nfev: int = 400) -> CurveFit:
    """Fit one log-logistic curve by least squares.

    ``model`` is ``"LL.4"`` (A, B, xmid, scal free) or ``"LL.3"`` (the lower asymptote
    fixed at 0, as drc LL.3: B for a falling curve, A for a rising one); ``fixed``
    (e.g. ``{"A": 100}``) replaces that choice.
    Doses must be > 0 (the model is on log dose); drop vehicle controls beforehand.
    """
    x = np.asarray(dose, dtype=float)
    y = np.asarray(response, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("dose and response must be 1-D arrays of equal length")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if np.any(x <= 0):
        raise ValueError("doses must be > 0 for a log-logistic fit (remove vehicle controls)")
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}")
    fx = asymptotes_fixed(model, x, y) if fixed is None else dict(fixed)
    free = _free_names(fx)
    free_idx = [PARAMS.index(n) for n in free]
    u = np.log(x)
    n = y.size
    dfree = n - len(free)
    if dfree <= 0 or np.unique(x).size < len(free):
        raise ValueError(f"need more than {len(free)} observations and distinct doses")
    p, converged = _best_fit(u, y, fx, start=None if start is None else np.asarray(start),
                             max_nfev=max_nfev)
    return _finish(model, u, x, y, p, free, free_idx, converged, conf)


def _finish(model, u, x, y, p, free, free_idx, converged, conf) -> CurveFit:
    n = y.size
    df = n - len(free)
    cov, rss, _ = _covariance(u, y, p, free_idx, df)
    se_v = np.sqrt(np.diag(cov))
    params = dict(zip(PARAMS, map(float, p), strict=True))
    se = {nm: float(s) for nm, s in zip(free, se_v, strict=True)}
    tq = stats.t.ppf(0.5 + conf / 2, df)
    sx = se.get("xmid", np.nan)
    tss = float(np.sum((y - y.mean()) ** 2))
    lo, hi = float(x.min()), float(x.max())
    lof = lack_of_fit_test(x, y, rss, len(free))
    with np.errstate(over="ignore"):
        ci = (float(np.exp(p[2] - tq * sx)), float(np.exp(p[2] + tq * sx)))
    return CurveFit(
        model=model, params=params, se=se, free=free, vcov=cov, n=n, df=df, rss=rss,
        sigma=float(np.sqrt(rss / df)), r_squared=1 - rss / tss if tss > 0 else np.nan,
        converged=converged, dose_min=lo, dose_max=hi, ic50=float(np.exp(p[2])),
        ic50_lower=ci[0], ic50_upper=ci[1],
        conf=conf, flags=_flags(params, se, lo, hi, np.unique(x).size, converged,
                                float(np.min(np.diff(np.unique(u)))) if n > 1 else 0.0),
        lack_of_fit=lof,
    )


def profile_ic50_ci(dose: Sequence[float], response: Sequence[float], fit: CurveFit,
                    conf: float | None = None, max_width: float = 12.0) -> tuple[float, float]:
    """Profile-likelihood CI for the IC50 (Bates & Watts 1988, ch. 6).

    ``tau(v) = sign(v - xmid_hat) sqrt(RSS_v - RSS_min) / s`` where ``RSS_v`` minimises
    the RSS with ``xmid = v``; the limits solve ``tau = +/- t_{df}`` exactly (brentq), the
    same cut-off as MASS ``confint.nls``, which interpolates a spline through a profile
    grid instead. A limit not reached within ``max_width`` log units is returned as NaN
    (the data do not bound the IC50 on that side).
    """
    x = np.asarray(dose, float)
    y = np.asarray(response, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    u, y = np.log(x[ok]), y[ok]
    conf = fit.conf if conf is None else conf
    free = [n for n in fit.free if n != "xmid"]
    fi = [PARAMS.index(n) for n in free]
    p_hat = np.array([fit.params[k] for k in PARAMS])
    s = fit.sigma
    tq = stats.t.ppf(0.5 + conf / 2, fit.df)
    warm = {1: p_hat.copy(), -1: p_hat.copy()}

    def tau(v: float, side: int) -> float:
        start = warm[side].copy()
        start[2] = v
        p, _ = _lsq(u, y, start, fi)
        rss = float(np.sum((ll_curve(u, *p) - y) ** 2))
        if rss < float(np.sum((ll_curve(u, *start) - y) ** 2)):
            warm[side] = p
        return side * np.sqrt(max(rss - fit.rss, 0.0)) / s

    out = []
    x_hat = p_hat[2]
    se = fit.se.get("xmid", np.nan)
    step0 = se if np.isfinite(se) and se > 0 else 0.5
    for side in (-1, 1):
        warm[side] = p_hat.copy()
        lo_v, hi_v = x_hat, x_hat + side * step0
        lim = np.nan
        while abs(hi_v - x_hat) <= max_width:
            if abs(tau(hi_v, side)) >= tq:
                a, b = sorted((lo_v, hi_v))
                lim = optimize.brentq(lambda v, sd=side: abs(tau(v, sd)) - tq, a, b,
                                      xtol=1e-10, rtol=1e-12)
                break
            lo_v, hi_v = hi_v, x_hat + 2 * (hi_v - x_hat)
        out.append(float(np.exp(lim)) if np.isfinite(lim) else np.nan)
    return out[0], out[1]


def absolute_ic50(fit: CurveFit, level: float = 50.0) -> tuple[float, float, float]:
    """Dose at which the fitted curve crosses ``level`` (e.g. 50 % of vehicle), with a
    delta-method CI on the log scale: ``(estimate, lower, upper)``; NaNs when the curve
    never reaches ``level`` (it lies outside the asymptotes).

    ``log x = xmid + scal * log((level - A) / (B - level))``, from inverting the model;
    the gradient is taken analytically in the free parameters.
    """
    p = fit.params
    a_, b_ = p["A"], p["B"]
    q = (level - a_) / (b_ - level)
    if not q > 0 or not np.isfinite(q):
        return np.nan, np.nan, np.nan
    lq = np.log(q)
    u = p["xmid"] + p["scal"] * lq
    grad = {
        "A": p["scal"] * (-1.0 / (level - a_)),
        "B": p["scal"] * (-1.0 / (b_ - level)),
        "xmid": 1.0,
        "scal": lq,
    }
    g = np.array([grad[n] for n in fit.free])
    se = float(np.sqrt(g @ fit.vcov @ g))
    tq = stats.t.ppf(0.5 + fit.conf / 2, fit.df)
    with np.errstate(over="ignore"):
        return float(np.exp(u)), float(np.exp(u - tq * se)), float(np.exp(u + tq * se))


# --------------------------------------------------------------------------- many curves


@dataclass(frozen=True)
class BatchFit:
    """Fits of N curves: arrays of shape (N, 4) for params/se and (N,) for the rest."""

    params: np.ndarray
    se: np.ndarray
    rss: np.ndarray
    df: np.ndarray
    converged: np.ndarray
    fallback: np.ndarray  # True where the per-curve solver was used

    @property
    def ic50(self) -> np.ndarray:
        return np.exp(self.params[:, 2])


def fit_many(dose: np.ndarray, response: np.ndarray, model: str = "LL.4",
             max_iter: int = 200, tol: float = 1e-10) -> BatchFit:
    """Fit N curves at once. ``dose``/``response`` are (N, m); NaN response = missing.

    Batched Levenberg-Marquardt (Marquardt 1963 diagonal scaling) over all curves in
    numpy from the self-start; doubtful fits (unsettled, steeper than the dose grid,
    midpoint > 1 log unit outside the doses) are retried from two other starting slopes
    and the lowest RSS kept. A curve still unsettled, or with non-finite standard errors,
    is refitted with :func:`fit_curve`'s per-curve solver.
    """
    X = np.asarray(dose, float)
    Y = np.asarray(response, float)
    if X.shape != Y.shape or X.ndim != 2:
        raise ValueError("dose and response must both be (N curves, m points)")
    W = (np.isfinite(Y) & np.isfinite(X) & (X > 0)).astype(float)
    U = np.where(W > 0, np.log(np.where(X > 0, X, 1.0)), 0.0)
    Y0 = np.where(W > 0, Y, 0.0)
    fx = MODELS[model]  # LL.3 here fixes B (the high-dose asymptote): falling curves only
    free = _free_names(fx)
    fi = [PARAMS.index(k) for k in free]
    P0 = _start_many(U, Y0, W, fx)
    P, cur_rss, done = _lm_batch(U, Y0, W, P0, fi, max_iter, tol)
    # further starting slopes only where the first fit looks doubtful: not settled, a
    # transition steeper than the dose grid (a typical local minimum), the midpoint far
    # outside the doses, or a non-positive scale; clean fits keep their single start
    umin = np.min(np.where(W > 0, U, np.inf), axis=1)
    umax = np.max(np.where(W > 0, U, -np.inf), axis=1)
    with np.errstate(invalid="ignore"):
        steps = np.diff(np.sort(np.where(W > 0, U, np.inf), axis=1), axis=1)
        spacing = np.min(np.where(np.isfinite(steps) & (steps > 1e-12), steps, np.inf), 1)
        doubtful = (~done | ~np.isfinite(P[:, 3]) | (P[:, 3] <= 0.1 * spacing)
                    | (P[:, 2] < umin - 1.0) | (P[:, 2] > umax + 1.0))
    idx = np.flatnonzero(doubtful & np.all(np.isfinite(P0), axis=1))
    for mult in (0.3, 3.0):
        if idx.size == 0:
            break
        Pm = P0[idx].copy()
        Pm[:, 3] *= mult
        p2, r2, d2 = _lm_batch(U[idx], Y0[idx], W[idx], Pm, fi, max_iter, tol)
        better = d2 & ((r2 < cur_rss[idx] * (1 - 1e-12)) | ~done[idx])
        j = idx[better]
        P[j], cur_rss[j], done[j] = p2[better], r2[better], True
    return _finish_many(X, Y, W, U, P, cur_rss, done, fi, model)


def _start_many(U, Y0, W, fx) -> np.ndarray:
    """Vectorised :func:`_start` over rows (masked by W)."""
    N = U.shape[0]
    big = np.inf
    umin = np.min(np.where(W > 0, U, big), axis=1)
    umax = np.max(np.where(W > 0, U, -big), axis=1)
    with np.errstate(all="ignore"):
        at_lo = (umin[:, None] == U) & (W > 0)
        at_hi = (umax[:, None] == U) & (W > 0)
        a0 = (Y0 * at_lo).sum(1) / at_lo.sum(1)
        b0 = (Y0 * at_hi).sum(1) / at_hi.sum(1)
        a0 = np.full(N, fx["A"]) if "A" in fx else a0
        b0 = np.full(N, fx["B"]) if "B" in fx else b0
        span = b0 - a0
        ptp = np.max(np.where(W > 0, Y0, -big), 1) - np.min(np.where(W > 0, Y0, big), 1)
        tiny = np.abs(span) < 1e-12 * np.maximum(1.0, np.abs(a0))
        span = np.where(tiny, np.where(ptp > 0, ptp, 1.0) * np.where(b0 >= a0, 1, -1), span)
        pad = 0.05 * span
        frac = np.clip((Y0 - (a0 - pad)[:, None]) / (span + 2 * pad)[:, None], 0.02, 0.98)
        zz = special.logit(frac)
        n = W.sum(1)
        mu = (U * W).sum(1) / n
        mz = (zz * W).sum(1) / n
        sxx = (W * (U - mu[:, None]) ** 2).sum(1)
        sxz = (W * (U - mu[:, None]) * (zz - mz[:, None])).sum(1)
        slope = sxz / sxx
        intercept = mz - slope * mu
        rng_u = umax - umin
        ok = (slope > 0) & np.isfinite(slope)
        scal0 = np.where(ok, 1.0 / slope, np.where(rng_u > 0, rng_u / 8.0, 1.0))
        xmid0 = np.where(ok, np.clip(-intercept / slope, umin - rng_u, umax + rng_u),
                         0.5 * (umin + umax))
    P = np.column_stack([a0, b0, xmid0, scal0])
    P[n < 2] = np.nan
    return P


def _lm_batch(U, Y0, W, P, fi, max_iter, tol):
    """Batched Levenberg-Marquardt; returns (params, rss, converged)."""
    N = U.shape[0]
    P = P.copy()

    def rss_of(p, idx):
        r = (Y0[idx] - ll_curve(U[idx], p[:, 0, None], p[:, 1, None], p[:, 2, None],
                                p[:, 3, None])) * W[idx]
        return np.einsum("nm,nm->n", r, r), r

    lam = np.full(N, 1e-3)
    active = np.all(np.isfinite(P), axis=1)
    done = np.zeros(N, bool)
    cur_rss, _ = rss_of(P, np.arange(N))
    eye = np.eye(len(fi))
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            idx = np.flatnonzero(active & ~done)
            if idx.size == 0:
                break
            p = P[idx]
            _, r = rss_of(p, idx)
            J = _jacobian(U[idx], p)[..., fi] * W[idx, :, None]
            JtJ = np.einsum("nmi,nmj->nij", J, J)
            g = np.einsum("nmi,nm->ni", J, r)
            dg = np.einsum("nii->ni", JtJ)
            dg = np.maximum(dg, 1e-12 * dg.max(axis=1, keepdims=True) + 1e-300)
            # relative-offset convergence of R nls (Bates & Watts 1981): the squared norm
            # of the residual's projection on the tangent plane, g' (J'J)^-1 g, relative to
            # the RSS, from the UNDAMPED Gauss-Newton system (a damped step would shrink
            # with lambda and fake convergence). We ask offset^2 < 1e-14 (offset 1e-7),
            # stricter than nls's default offset 1e-5.
            try:
                gn = np.linalg.solve(JtJ + 1e-12 * dg[:, :, None] * eye, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                gn = np.einsum("nij,nj->ni", np.linalg.pinv(JtJ), g)
            rss_now = cur_rss[idx]
            offset2 = np.einsum("ni,ni->n", gn, g) / (rss_now + 1e-300)
            exact = rss_now <= 1e-24 * (1.0 + np.einsum("nm,nm->n", Y0[idx], Y0[idx]))
            conv = np.isfinite(offset2) & ((np.abs(offset2) < 1e-14) | exact)
            done[idx[conv]] = True
            keep = ~conv
            idx, p, g, JtJ, dg = idx[keep], p[keep], g[keep], JtJ[keep], dg[keep]
            if idx.size == 0:
                break
            Amat = JtJ + lam[idx, None, None] * dg[:, :, None] * eye
            try:
                step = np.linalg.solve(Amat, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.einsum("nij,nj->ni", np.linalg.pinv(Amat), g)
            pn = p.copy()
            pn[:, fi] += step
            new_rss, _ = rss_of(pn, idx)
            acc = np.isfinite(new_rss) & (new_rss <= cur_rss[idx]) & (pn[:, 3] > 0)
            ia = idx[acc]
            P[ia] = pn[acc]
            cur_rss[ia] = new_rss[acc]
            lam[ia] = np.maximum(lam[ia] / 10, 1e-12)
            ir = idx[~acc]
            lam[ir] *= 10
            active[ir[lam[ir] > 1e10]] = False  # stalled: leave to the per-curve solver
    return P, cur_rss, done


def _finish_many(X, Y, W, U, P, cur_rss, done, fi, model) -> BatchFit:
    """Standard errors for the batch; per-curve refit of anything unsettled."""
    N = X.shape[0]
    P = P.copy()
    cur_rss = cur_rss.copy()
    npar = len(fi)
    n_obs = W.sum(axis=1)
    df = n_obs - npar
    bad = ~done | ~np.all(np.isfinite(P), axis=1) | (P[:, 3] <= 0) | (df <= 0)
    J = _jacobian(U, P)[..., fi] * W[..., None]
    JtJ = np.einsum("nmi,nmj->nij", J, J)
    SE = np.full((N, 4), np.nan)
    with np.errstate(all="ignore"):
        try:
            inv = np.linalg.inv(JtJ)
        except np.linalg.LinAlgError:
            inv = np.linalg.pinv(JtJ)
        s2 = cur_rss / np.where(df > 0, df, np.nan)
        SE[:, fi] = np.sqrt(np.einsum("nii->ni", inv) * s2[:, None])
    bad |= ~np.all(np.isfinite(SE[:, fi]), axis=1)
    fallback = np.zeros(N, bool)
    converged = done.copy()
    for i in np.flatnonzero(bad):
        m = W[i] > 0
        fallback[i] = True
        try:
            # curves the batch could not settle are mostly non-estimable (an asymptote
            # drifting to infinity); a modest budget keeps them from dominating run time
            f = fit_curve(X[i, m], Y[i, m], model=model, max_nfev=100)
        except ValueError:
            converged[i] = False
            continue
        P[i] = [f.params[k] for k in PARAMS]
        SE[i] = [f.se.get(k, np.nan) for k in PARAMS]
        cur_rss[i] = f.rss
        converged[i] = f.converged
    return BatchFit(params=P, se=SE, rss=cur_rss, df=df, converged=converged, fallback=fallback)


# --------------------------------------------------------------------------- joint fits


@dataclass(frozen=True)
class JointFit:
    """Several groups fitted together; ``shared`` parameters take one value for all."""

    groups: tuple[str, ...]
    shared: tuple[str, ...]
    names: tuple[str, ...]  # coefficient names, e.g. "xmid" or "xmid[KD]"
    coef: np.ndarray
    vcov: np.ndarray
    rss: float
    df: int


def _joint_design(groups: tuple[str, ...], shared: Sequence[str], free: Sequence[str]):
    names, index = [], {}
    for prm in free:
        if prm in shared:
            index[prm] = {g: len(names) for g in groups}
            names.append(prm)
        else:
            index[prm] = {}
            for g in groups:
                index[prm][g] = len(names)
                names.append(f"{prm}[{g}]")
    return names, index


def fit_joint(dose: np.ndarray, response: np.ndarray, group: np.ndarray,
              shared: Sequence[str] = (), model: str = "LL.4",
              fixed: Mapping[str, float] | None = None) -> JointFit:
    """Least-squares fit of one curve per group with ``shared`` parameters in common
    (as R ``nls`` with indexed parameters, e.g. ``A[g]``)."""
    x = np.asarray(dose, float)
    y = np.asarray(response, float)
    g = np.asarray(group).astype(str)
    groups = tuple(str(k) for k in pd.unique(g))
    fx = asymptotes_fixed(model, x, y) if fixed is None else dict(fixed)
    free = _free_names(fx)
    if set(shared) - set(free):
        raise ValueError(f"shared parameters must be among the free ones {free}")
    names, index = _joint_design(groups, shared, free)
    u = np.log(x)
    gi = {k: np.flatnonzero(g == k) for k in groups}
    # start from separate fits; shared parameters start at the mean
    sep = {k: fit_curve(x[gi[k]], y[gi[k]], model=model, fixed=fx) for k in groups}
    c0 = np.zeros(len(names))
    for prm in free:
        for k in groups:
            c0[index[prm][k]] = 0.0
        for k in groups:
            c0[index[prm][k]] += sep[k].params[prm] / (len(groups) if prm in shared else 1)

    def full_params(c):
        P = np.empty((y.size, 4))
        for j, prm in enumerate(PARAMS):
            if prm in fx:
                P[:, j] = fx[prm]
            else:
                for k in groups:
                    P[gi[k], j] = c[index[prm][k]]
        return P

    def resid(c):
        P = full_params(c)
        return ll_curve(u, P[:, 0], P[:, 1], P[:, 2], P[:, 3]) - y

    def jac(c):
        P = full_params(c)
        Jp = _jacobian(u[:, None], P)[:, 0, :]
        J = np.zeros((y.size, len(names)))
        for prm in free:
            j = PARAMS.index(prm)
            for k in groups:
                J[gi[k], index[prm][k]] += Jp[gi[k], j]
        return J

    sol = optimize.least_squares(resid, c0, jac=jac, method="lm", xtol=1e-15, ftol=1e-15,
                                 gtol=1e-15, max_nfev=20000)
    r = resid(sol.x)
    rss = float(r @ r)
    df = y.size - len(names)
    _, R = np.linalg.qr(jac(sol.x))
    rinv = np.linalg.inv(R)
    vcov = rss / df * rinv @ rinv.T
    return JointFit(groups=groups, shared=tuple(shared), names=tuple(names), coef=sol.x,
                    vcov=vcov, rss=rss, df=df)


def extra_ss_f_test(reduced: JointFit, full: JointFit) -> dict[str, float]:
    """Extra-sum-of-squares F test of nested least-squares fits (R ``anova.nls``)."""
    ddf = reduced.df - full.df
    f = ((reduced.rss - full.rss) / ddf) / (full.rss / full.df)
    return {"F": f, "df1": ddf, "df2": full.df, "p": float(stats.f.sf(f, ddf, full.df)),
            "rss_reduced": reduced.rss, "rss_full": full.rss}


def fieller_ratio(a: float, b: float, var_a: float, var_b: float, cov_ab: float, df: float,
                  conf: float = 0.95) -> tuple[float, float, float, float]:
    """Ratio a/b with Fieller's (1954) interval; returns (ratio, lower, upper, g).

    ``g = t^2 var_b / b^2``; when ``g >= 1`` the denominator is not significantly
    different from 0 and the interval is unbounded (returned as NaN, NaN).
    """
    t = stats.t.ppf(0.5 + conf / 2, df)
    rho = a / b
    g = t * t * var_b / (b * b)
    if g >= 1:
        return rho, np.nan, np.nan, g
    disc = var_a - 2 * rho * cov_ab + rho * rho * var_b - g * (var_a - cov_ab**2 / var_b)
    centre = rho - g * cov_ab / var_b
    half = t / abs(b) * np.sqrt(max(disc, 0.0))
    return rho, (centre - half) / (1 - g), (centre + half) / (1 - g), g


def compare_curves(dose, response, group, reference: str | None = None, model: str = "LL.4",
                   shared: Sequence[str] = ("xmid",), conf: float = 0.95,
                   fixed: Mapping[str, float] | None = None) -> dict:
    """Test whether curves differ in ``shared`` parameters and estimate potency ratios.

    Full model: all free parameters group-specific. Reduced: ``shared`` parameters
    common (default ``xmid``, i.e. "same IC50"; pass all four for "same curve").
    Potency ratios IC50[g] / IC50[reference] come from the full joint fit (pooled
    residual variance) with Fieller CIs on the dose scale and Wald CIs on the log scale.
    """
    full = fit_joint(dose, response, group, shared=(), model=model, fixed=fixed)
    red = fit_joint(dose, response, group, shared=shared, model=model, fixed=fixed)
    test = extra_ss_f_test(red, full)
    groups = full.groups
    ref = reference if reference is not None else groups[0]
    if ref not in groups:
        raise ValueError(f"reference {ref!r} not among groups {groups}")
    i_ref = full.names.index(f"xmid[{ref}]")
    ratios = {}
    tq = stats.t.ppf(0.5 + conf / 2, full.df)
    for k in groups:
        if k == ref:
            continue
        i = full.names.index(f"xmid[{k}]")
        e_k, e_r = np.exp(full.coef[i]), np.exp(full.coef[i_ref])
        V = full.vcov
        rho, lo, hi, gval = fieller_ratio(
            e_k, e_r, e_k**2 * V[i, i], e_r**2 * V[i_ref, i_ref], e_k * e_r * V[i, i_ref],
            full.df, conf,
        )
        dl = full.coef[i] - full.coef[i_ref]
        sdl = np.sqrt(V[i, i] + V[i_ref, i_ref] - 2 * V[i, i_ref])
        ratios[k] = {"ratio": rho, "fieller_lower": lo, "fieller_upper": hi, "g": gval,
                     "log_lower": float(np.exp(dl - tq * sdl)),
                     "log_upper": float(np.exp(dl + tq * sdl))}
    return {"test": test, "full": full, "reduced": red, "reference": ref, "ratios": ratios}


# --------------------------------------------------------------------------- Results


def normalise_to_vehicle(data: pd.DataFrame) -> pd.DataFrame:
    """Response as % of the mean vehicle (dose 0) wells of the same plate, group and drug.

    Raises ValueError naming the strata that have no vehicle wells or a zero mean.
    """
    d = data.copy()
    keys = [c for c in ("plate", "group", "drug") if c in d]
    veh = d[d["dose"] == 0].groupby(keys)["response"].mean()
    idx = pd.MultiIndex.from_frame(d[keys]) if len(keys) > 1 else pd.Index(d[keys[0]])
    base = veh.reindex(idx).to_numpy()
    bad = ~np.isfinite(base) | (base == 0)
    if bad.any():
        strata = sorted({" / ".join(map(str, np.atleast_1d(k))) for k in idx[bad]})
        raise ValueError(f"no usable vehicle (dose 0) wells for: {', '.join(strata)}")
    d["response"] = 100.0 * d["response"].to_numpy() / base
    return d


def _prepare(data: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    d = data.copy()
    if "drug" not in d:
        d["drug"] = "drug"
    zero = d["dose"] <= 0
    if zero.any():
        notes.append(
            f"{int(zero.sum())} well(s) with dose 0 (vehicle) excluded from the log-logistic "
            "fit; normalise to them before fitting if responses are raw signals"
        )
        d = d[~zero]
    return d, notes


def reach_warning(fit: CurveFit, level: float = 50.0) -> str | None:
    """Say how far a curve gets when it never crosses ``level`` within the tested doses.

    Responses are % of vehicle: a falling curve must come down to ``level`` (50 = 50 %
    inhibition), a rising one (e.g. % killing) up to it. ``None`` when it does.
    """
    p = fit.params
    ends = fit.predict(np.array([fit.dose_min, fit.dose_max]))
    falling = p["A"] >= p["B"]
    reached = ends.min() <= level if falling else ends.max() >= level
    if reached:
        return None
    mid = 0.5 * (p["A"] + p["B"])
    if falling:
        best = float(ends.min())
        what = (f"never reaches {100 - level:.0f}% inhibition: at the highest dose tested "
                f"({fit.dose_max:.4g}) the fitted response is {best:.1f}% of vehicle "
                f"({100 - best:.1f}% inhibition; lower asymptote {p['B']:.1f}%)")
    else:
        best = float(ends.max())
        what = (f"never reaches a response of {level:.0f}: at most {best:.1f} within the "
                f"tested doses (upper asymptote {p['B']:.1f})")
    return (f"{what}; the IC50 shown is the relative one, half-way between the fitted "
            f"asymptotes (response {mid:.1f}), not the dose giving {level:.0f}% of vehicle")


def dose_response_results(data: pd.DataFrame, model: str = "LL.4",
                          reference: str | None = None, conf: float = 0.95,
                          response_label: str = "response",
                          absolute_level: float | None = None,
                          lower: float | None = None,
                          upper: float | None = None) -> list[Result]:
    """Fit every (drug, group) curve of a tidy plate table and compare groups per drug.

    Parameters
    ----------
    data : DataFrame
        Columns ``group``, ``dose``, ``response`` (``drug`` and ``dose_unit`` optional),
        one row per well; replicates are rows with the same dose. Responses are % of
        vehicle.
    model : {"LL.4", "LL.3"}
        LL.3 fixes the lower asymptote at 0 (drc LL.3).
    reference : str, optional
        Denominator group of potency ratios.
    conf : float
        Confidence level.
    response_label : str
        Shown in the title.
    absolute_level : float, optional
        Also report the absolute IC50, the dose where the curve crosses this level.
    lower, upper : float, optional
        Fix the lower / upper asymptote (the one with the lower / higher value) at this
        value for every curve of every drug (lab.toml ``fix_lower`` / ``fix_upper``).

    Returns
    -------
    list of Result
        ``lab.doseresponse.fits`` and, with two or more groups, ``.compare``. A curve
        that cannot be fitted, or whose profile interval fails, is a warning of its own;
        the other curves are still reported.

    Examples
    --------
    >>> d = pd.DataFrame({"group": "a", "dose": np.repeat([1, 3, 10, 30, 100], 2),
    ...                   "response": [99, 97, 88, 90, 52, 49, 13, 11, 4, 3]})
    >>> dose_response_results(d)[0].table["ic50"].round(1).tolist()
    [9.9]
    """
    d, notes = _prepare(data)
    unit = str(d["dose_unit"].iloc[0]) if "dose_unit" in d and len(d) else ""
    rows, warns = [], list(notes)
    comp_rows = []
    for drug, dd in d.groupby("drug", sort=False):
        groups = list(pd.unique(dd["group"].astype(str)))
        ref = reference if reference in groups else groups[0]
        if reference is not None and reference not in groups and len(groups) > 1:
            warns.append(f"{drug}: reference group {reference!r} absent; using {ref!r}")
        fx = asymptotes_fixed(model, dd["dose"], dd["response"], lower, upper)
        for grp in groups:
            sub = dd[dd["group"].astype(str) == grp]
            try:
                f = fit_curve(sub["dose"], sub["response"], model=model, conf=conf,
                              fixed=fx)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
                warns.append(f"{drug} / {grp}: not fitted ({exc})")
                continue
            reach = reach_warning(f, 50.0 if absolute_level is None else absolute_level)
            flags = f.flags + ((reach,) if reach else ())
            for fl in flags:
                warns.append(f"{drug} / {grp}: {fl}")
            try:
                prof = profile_ic50_ci(sub["dose"], sub["response"], f)
            except (ValueError, RuntimeError, np.linalg.LinAlgError,
                    FloatingPointError) as exc:  # e.g. brentq's bracket not holding
                prof = (np.nan, np.nan)
                warns.append(f"{drug} / {grp}: profile-likelihood IC50 interval could not "
                             f"be computed ({exc}); only the delta-method interval is given")
            else:
                if not np.all(np.isfinite(prof)):
                    warns.append(f"{drug} / {grp}: profile-likelihood IC50 interval "
                                 "unbounded")
            rows.append({
                "key": fmt_key(drug, grp), "drug": drug, "group": grp, "model": model,
                "n": f.n, "doses": int(sub["dose"].nunique()),
                "top_A": f.params["A"], "se_A": f.se.get("A", np.nan),
                "bottom_B": f.params["B"], "se_B": f.se.get("B", np.nan),
                "log_ic50": f.params["xmid"], "se_log_ic50": f.se["xmid"],
                "ic50": f.ic50, "ic50_lower": f.ic50_lower, "ic50_upper": f.ic50_upper,
                "ic50_profile_lower": prof[0], "ic50_profile_upper": prof[1],
                "dose_unit": unit, "hill_slope": f.hill, "scal": f.params["scal"],
                "se_scal": f.se["scal"], "residual_se": f.sigma, "df": f.df,
                **({} if absolute_level is None else dict(zip(
                    ("ic50_absolute", "ic50_absolute_lower", "ic50_absolute_upper"),
                    absolute_ic50(f, absolute_level), strict=True))),
                "r_squared": f.r_squared, "lack_of_fit_F": f.lack_of_fit["F"],
                "lack_of_fit_p": f.lack_of_fit["p"], "flags": "; ".join(flags),
            })
        if len(groups) >= 2:
            try:
                c_ic = compare_curves(dd["dose"], dd["response"], dd["group"].astype(str),
                                      reference=ref, model=model, conf=conf, fixed=fx)
                shared_all = tuple(n for n in PARAMS if n not in fx)
                c_all = compare_curves(dd["dose"], dd["response"], dd["group"].astype(str),
                                       reference=ref, model=model, shared=shared_all,
                                       conf=conf, fixed=fx)
            except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
                warns.append(f"{drug}: groups not compared ({exc})")
                continue
            for k, rr in c_ic["ratios"].items():
                comp_rows.append({
                    "key": fmt_key(drug, f"{k} vs {ref}"), "drug": drug, "group": k,
                    "reference": ref, "potency_ratio": rr["ratio"],
                    "fieller_lower": rr["fieller_lower"], "fieller_upper": rr["fieller_upper"],
                    "log_wald_lower": rr["log_lower"], "log_wald_upper": rr["log_upper"],
                    "F_same_ic50": c_ic["test"]["F"], "df1_same_ic50": c_ic["test"]["df1"],
                    "df2": c_ic["test"]["df2"], "p_same_ic50": c_ic["test"]["p"],
                    "F_same_curve": c_all["test"]["F"], "df1_same_curve": c_all["test"]["df1"],
                    "p_same_curve": c_all["test"]["p"],
                })
                if np.isnan(rr["fieller_lower"]):
                    warns.append(f"{drug} {k} vs {ref}: Fieller interval unbounded (g >= 1)")
    fixtxt = ", ".join(f"{nm} asymptote fixed at {v:g}" for nm, v in
                       (("lower", 0.0 if model == "LL.3" and lower is None else lower),
                        ("upper", upper)) if v is not None)
    method = (
        f"{model} log-logistic model y = A + (B - A)/(1 + exp((log IC50 - log dose)/scal)) "
        + (f"({fixtxt}) " if fixtxt else "") +
        "(R SSfpl parameterisation on log dose) fitted by least squares per drug and group; "
        f"IC50 {conf:.0%} CI by the delta method on log IC50 with t quantiles on the residual df, "
        "and by profile likelihood (exact root of the profile t statistic)."
    )
    refs = (REF_BATES_WATTS, REF_RITZ_2015)
    out = [Result(
        name="lab.doseresponse.fits", title=f"Dose-response fits ({response_label})",
        table=table(rows), method=method,
        rationale="Four-parameter log-logistic is the standard model for cell-viability "
        "dose-response; replicates enter as separate observations (no averaging).",
        warnings=tuple(warns), references=refs,
        params={"model": model, "conf": conf, "dose_unit": unit,
                "absolute_level": absolute_level,
                **{k: v for k, v in (("fix_lower", lower), ("fix_upper", upper))
                   if v is not None}},
        section=SECTION,
    )]
    if comp_rows:
        out.append(Result(
            name="lab.doseresponse.compare", title="Dose-response comparison between groups",
            table=table(comp_rows),
            method="Extra-sum-of-squares F tests of joint least-squares fits: group-specific "
            "curves vs a common log IC50 (other parameters group-specific), and vs one common "
            "curve. Potency ratio IC50(group)/IC50(reference) from the full joint fit with a "
            "Fieller interval on the dose scale and a Wald interval on the log scale.",
            rationale="The F test compares nested nonlinear models fitted to all wells; the "
            "Fieller interval respects the uncertainty of both IC50s in the ratio.",
            references=(REF_BATES_WATTS, REF_RITZ_2015, REF_FIELLER),
            params={"model": model, "conf": conf}, section=SECTION,
        ))
    return out


def plot_dose_response(data: pd.DataFrame, model: str = "LL.4",
                       name: str = "lab.doseresponse.curves", lower: float | None = None,
                       upper: float | None = None) -> Figure:
    """Replicate points, group means and fitted curves per drug (log dose axis)."""
    d, _ = _prepare(data)
    drugs = list(pd.unique(d["drug"]))
    fig = new_figure(name, width=5.0 * len(drugs), height=4.0)
    axes = fig.subplots(1, len(drugs), squeeze=False)[0]
    unit = str(d["dose_unit"].iloc[0]) if "dose_unit" in d and len(d) else ""
    for ax, drug in zip(axes, drugs, strict=True):
        dd = d[d["drug"] == drug]
        fx = asymptotes_fixed(model, dd["dose"], dd["response"], lower, upper)
        for i, (grp, sub) in enumerate(dd.groupby("group", sort=False)):
            col = f"C{i}"
            ax.scatter(sub["dose"], sub["response"], s=12, alpha=0.5, color=col)
            m = sub.groupby("dose")["response"].mean()
            ax.scatter(m.index, m.values, s=30, color=col, marker="D")
            try:
                f = fit_curve(sub["dose"], sub["response"], model=model, fixed=fx)
                xs = np.geomspace(sub["dose"].min() / 2, sub["dose"].max() * 2, 200)
                ax.plot(xs, f.predict(xs), color=col, label=f"{grp} (IC50 {f.ic50:.3g})")
                ax.axvline(f.ic50, color=col, ls=":", lw=0.8)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError):
                ax.plot([], [], color=col, label=f"{grp} (not fitted)")
        ax.set_xscale("log")
        ax.set_xlabel(f"{drug} dose ({unit})" if unit else f"{drug} dose")
        ax.set_ylabel("response")
        ax.legend(fontsize=8)
    return fig
