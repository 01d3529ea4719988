"""Per-patient fit of the Stein 2019 multiphasic CAR-T kinetics model.

Stein AM et al., CPT Pharmacometrics Syst Pharmacol 2019;8:285-295 (models.md §1.1):

    t <  Tmax: C(t) = Cmax/foldx · exp(rho·t),  rho = ln(foldx)/Tmax
    t >= Tmax: C(t) = Cmax·[(1 - FB)·exp(-alpha·(t - Tmax)) + FB·exp(-beta·(t - Tmax))]

Fitted by least squares on the log scale (the model's residual is additive on log C,
Stein 2019 Table 1) with parameters log foldx, log Tmax, log Cmax, log alpha,
logit FB, log beta. Only quantifiable (> 0) samples enter. Covariance =
s²·(JᵀJ)⁻¹ with the (analytic, :func:`stein_log_conc_jac`) Jacobian J of the log-scale
residuals at the optimum and s² = RSS/(n - p), as R ``nls``/``summary.nls`` (which
differentiates numerically; agreement ~1e-7); standard errors are on the fitted
(transformed) scale and 95 % CIs are back-transformed Wald intervals with a
t(n - p) quantile. Needs more samples than parameters (n >= 7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from remission.results import Result

__all__ = ["PARAMS", "fit_stein", "stein_conc", "stein_log_conc", "stein_log_conc_jac"]

PARAMS = ("foldx", "tmax", "cmax", "alpha", "fb", "beta")
#: Typical values (Stein 2019 Table 1), used as starting values.
TYPICAL = {"foldx": 3900.0, "tmax": 9.3, "cmax": 24000.0, "alpha": 0.16, "fb": 0.0079,
           "beta": 0.0032}


def _to_theta(p: dict[str, float]) -> np.ndarray:
    return np.array([np.log(p["foldx"]), np.log(p["tmax"]), np.log(p["cmax"]),
                     np.log(p["alpha"]), np.log(p["fb"] / (1 - p["fb"])), np.log(p["beta"])])


def _from_theta(th: np.ndarray) -> dict[str, float]:
    with np.errstate(over="ignore"):  # an extreme estimate or CI bound back-transforms to inf
        return _from_theta_inner(th)


def _from_theta_inner(th: np.ndarray) -> dict[str, float]:
    return {"foldx": float(np.exp(th[0])), "tmax": float(np.exp(th[1])),
            "cmax": float(np.exp(th[2])), "alpha": float(np.exp(th[3])),
            "fb": float(1 / (1 + np.exp(-th[4]))), "beta": float(np.exp(th[5]))}


def stein_log_conc(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log C(t) of the Stein 2019 model for transformed parameters ``theta``.

    Parameters
    ----------
    t : ndarray of float
        Days after infusion.
    theta : ndarray of float
        ``(log foldx, log Tmax, log Cmax, log alpha, logit FB, log beta)``.

    Returns
    -------
    ndarray of float
        Natural log of the concentration (unit of Cmax) at each t.

    References
    ----------
    Stein AM, et al. CPT Pharmacometrics Syst Pharmacol 2019;8:285-295.

    Examples
    --------
    At Tmax the model is Cmax:

    >>> th = np.log([100.0, 10.0, 1000.0, 0.5, 0.1 / 0.9, 0.01])
    >>> round(float(np.exp(stein_log_conc(np.array([10.0]), th))[0]), 6)
    1000.0
    """
    lf, ltm, lc, la, lgfb, lb = theta
    tm = np.exp(ltm)
    t = np.asarray(t, dtype=float)
    rise = lc + lf * (t / tm - 1.0)
    fb = 1.0 / (1.0 + np.exp(-lgfb))
    dt = np.maximum(t - tm, 0.0)
    # the optimiser may try parameters at the edge (fb -> 1, huge rates): -inf/inf there are
    # valid values of the model, not errors
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        fall = lc + np.logaddexp(np.log1p(-fb) - np.exp(la) * dt,
                                 np.log(fb) - np.exp(lb) * dt)
    return np.where(t < tm, rise, fall)


def stein_log_conc_jac(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Analytic Jacobian d log C(t) / d theta (n × 6), piecewise as the model.

    Rise: d/dlf = t/Tmax - 1, d/dlTmax = -lf·t/Tmax, d/dlCmax = 1. Fall, with
    A = (1 - FB)e^(-alpha·dt), B = FB·e^(-beta·dt), S = A + B: d/dlCmax = 1,
    d/dlTmax = Tmax(alpha·A + beta·B)/S, d/dlalpha = -alpha·dt·A/S, d/dlbeta = -beta·dt·B/S,
    d/dlogitFB = FB(1 - FB)(e^(-beta·dt) - e^(-alpha·dt))/S.

    Parameters
    ----------
    t : ndarray of float
        Days after infusion.
    theta : ndarray of float
        Transformed parameters (as :func:`stein_log_conc`).

    Returns
    -------
    ndarray of float
        Shape (len(t), 6).

    Examples
    --------
    Central finite differences of :func:`stein_log_conc` agree on the rise and the fall:

    >>> th = np.log([100.0, 10.0, 1000.0, 0.5, 0.1 / 0.9, 0.01])
    >>> t, h = np.array([5.0, 20.0]), 1e-6
    >>> num = np.column_stack([(stein_log_conc(t, th + h * e) - stein_log_conc(t, th - h * e))
    ...                        / (2 * h) for e in np.eye(6)])
    >>> bool(np.abs(stein_log_conc_jac(t, th) - num).max() < 1e-8)
    True
    """
    lf, ltm, _lc, la, lgfb, lb = theta
    tm, a, b = np.exp(ltm), np.exp(la), np.exp(lb)
    fb = 1.0 / (1.0 + np.exp(-lgfb))
    t = np.asarray(t, dtype=float)
    rise = t < tm
    dt = np.maximum(t - tm, 0.0)
    ea, eb = np.exp(-a * dt), np.exp(-b * dt)
    big_a, big_b = (1.0 - fb) * ea, fb * eb
    tot = big_a + big_b
    j = np.zeros((len(t), 6))
    j[:, 0] = np.where(rise, t / tm - 1.0, 0.0)
    j[:, 1] = np.where(rise, -lf * t / tm, tm * (a * big_a + b * big_b) / tot)
    j[:, 2] = 1.0
    j[:, 3] = np.where(rise, 0.0, -a * dt * big_a / tot)
    j[:, 4] = np.where(rise, 0.0, fb * (1.0 - fb) * (eb - ea) / tot)
    j[:, 5] = np.where(rise, 0.0, -b * dt * big_b / tot)
    return j


def stein_conc(t: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """Concentration C(t) of the Stein 2019 model for natural-scale parameters.

    Parameters
    ----------
    t : ndarray of float
        Days after infusion.
    params : dict of str to float
        ``foldx, tmax`` (days), ``cmax`` (concentration unit), ``alpha, beta`` (per
        day), ``fb`` (0-1) (:data:`PARAMS`).

    Returns
    -------
    ndarray of float
        C(t) in the unit of ``cmax``.

    References
    ----------
    Stein AM, et al. CPT Pharmacometrics Syst Pharmacol 2019;8:285-295.

    Examples
    --------
    By hand: C(0) = Cmax / foldx = 10; C(5) = 10 exp(ln(100) / 10 * 5) = 100; C(10) = Cmax;
    C(20) = 1000 (0.9 e^-5 + 0.1 e^-0.1) = 96.548:

    >>> p = {"foldx": 100.0, "tmax": 10.0, "cmax": 1000.0, "alpha": 0.5, "fb": 0.1,
    ...      "beta": 0.01}
    >>> stein_conc(np.array([0, 5, 10, 20.0]), p).round(3).tolist()
    [10.0, 100.0, 1000.0, 96.548]
    """
    return np.exp(stein_log_conc(t, _to_theta(params)))


#: Nominal reach of the transformed parameters in a local fit's record (only the Tmax
#: entries, the interval, are used: the search does not bound the others).
_BOX = np.array([40.0, np.inf, 40.0, 30.0, 30.0, 30.0])
#: Parameters that can sit at a natural bound: index -> (name, text of the bound at
#: theta = -inf, at +inf).
_BOUNDS = {3: ("alpha", "0 (no fast decline)", None),
           4: ("fb", "0 (no slow phase)", "1 (no fast phase)"),
           5: ("beta", "0 (no slow decline: a plateau)", None)}


class _Piece:
    """Model, residuals and Jacobian of one patient's local fit with Tmax inside
    ``[exp(lo_t), exp(lo_t + w)]`` (log Tmax = lo_t + w·expit(x[1])), for MINPACK.

    The arithmetic is that of :func:`stein_log_conc` and :func:`stein_log_conc_jac`
    operation for operation (so the fits are bit-identical to calling them), with the
    pieces both need (Tmax, FB, the rates, the branch of each sample) computed once per
    point and kept for the Jacobian, which MINPACK asks for at the point it last
    evaluated."""

    __slots__ = ("_key", "_parts", "lo_t", "t", "w", "y")

    def __init__(self, t: np.ndarray, y: np.ndarray, lo_t: float, w: float) -> None:
        self.t, self.y, self.lo_t, self.w = t, y, lo_t, w
        self._key = None
        self._parts = None

    def _at(self, x: np.ndarray):
        key = x.tobytes()
        if key != self._key:
            t = self.t
            e = special.expit(x[1])
            lf, lc, la, lgfb, lb = x[0], x[2], x[3], x[4], x[5]
            tm = np.exp(self.lo_t + self.w * e)
            a, b = np.exp(la), np.exp(lb)
            fb = 1.0 / (1.0 + np.exp(-lgfb))
            q = t / tm
            dt = np.maximum(t - tm, 0.0)
            self._parts = (e, lf, lc, tm, a, b, fb, q, dt, t < tm)
            self._key = key
        return self._parts

    def resid(self, x: np.ndarray) -> np.ndarray:
        """y - log C(t) at ``x`` (as :func:`stein_log_conc`)."""
        _e, lf, lc, _tm, a, b, fb, q, dt, rise = self._at(x)
        up = lc + lf * (q - 1.0)
        down = lc + np.logaddexp(np.log1p(-fb) - a * dt, np.log(fb) - b * dt)
        return self.y - np.where(rise, up, down)

    def jac(self, x: np.ndarray) -> np.ndarray:
        """d resid / d x (as :func:`stein_log_conc_jac`, negated, the Tmax column by the
        chain rule of the expit)."""
        e, lf, _lc, tm, a, b, fb, q, dt, rise = self._at(x)
        t = self.t
        ea, eb = np.exp(-a * dt), np.exp(-b * dt)
        big_a, big_b = (1.0 - fb) * ea, fb * eb
        tot = big_a + big_b
        j = np.empty((len(t), 6))
        j[:, 0] = np.where(rise, q - 1.0, 0.0)
        j[:, 1] = np.where(rise, -lf * t / tm, tm * (a * big_a + b * big_b) / tot)
        j[:, 2] = 1.0
        j[:, 3] = np.where(rise, 0.0, -a * dt * big_a / tot)
        j[:, 4] = np.where(rise, 0.0, fb * (1.0 - fb) * (eb - ea) / tot)
        j[:, 5] = np.where(rise, 0.0, -b * dt * big_b / tot)
        j = -j
        j[:, 1] *= self.w * e * (1 - e)
        return j


#: ``least_squares``' texts for MINPACK's ``info`` codes that are not a success.
_NOT_CONVERGED = {0: "Improper input parameters status returned from `leastsq`",
                  5: "The maximum number of function evaluations is exceeded."}


def _local_fit(t: np.ndarray, y: np.ndarray, lo_t: float, hi_t: float, th0: np.ndarray):
    """Levenberg–Marquardt (MINPACK ``lmder``, as ``least_squares(method="lm")`` with the
    default Jacobian scaling) from ``th0`` with Tmax started in the middle of
    ``[exp(lo_t), exp(hi_t)]``; ``(theta, rss, success, message, lo, hi)`` or None when
    the start or the end is not finite."""
    piece = _Piece(t, y, lo_t, hi_t - lo_t)
    x0 = th0.copy()
    x0[1] = 0.0  # the middle of the interval
    if not np.all(np.isfinite(piece.resid(x0))):
        return None  # least_squares refuses such a start
    try:  # far-off starts may overflow on the way; such runs simply lose
        x, _cov, info, _msg, ier = optimize.leastsq(
            piece.resid, x0, Dfun=piece.jac, full_output=True, xtol=1e-12, ftol=1e-12,
            gtol=1e-12, maxfev=400)
    except (ValueError, FloatingPointError):
        return None
    cost = 0.5 * np.dot(info["fvec"], info["fvec"])
    if not (np.all(np.isfinite(x)) and np.isfinite(cost)):
        return None
    th = x.copy()
    th[1] = lo_t + (hi_t - lo_t) * special.expit(x[1])
    if abs(x[1]) > 30:  # on an end of the interval: exactly there
        th[1] = hi_t if x[1] > 0 else lo_t
    lo, hi = -_BOX.copy(), _BOX.copy()
    lo[1], hi[1] = lo_t, hi_t
    # MINPACK 6-8: the tolerances are below what rounding allows: at the optimum
    return (th, 2 * float(cost), ier != 0 and ier != 5,
            _NOT_CONVERGED.get(ier, "converged"), lo, hi)


def _rss_lower_bounds(t: np.ndarray, y: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A lower bound of the RSS of any fit with Tmax in ``[u_j, u_j+1]``, per interval j.

    Whatever the parameters, the model is a straight line in t (log scale) on the
    samples before u_j (the rise) and non-increasing on the samples after u_j+1 (a sum of
    two decaying exponentials). So the RSS is at least that of the least-squares line
    through the first plus that of the antitonic (isotonic, decreasing) regression of
    the second: both relaxations of the model. The samples on u_j and u_j+1 are left out:
    Tmax = exp(log u_j) may round to just below u_j, and with a huge alpha the fall can
    drop right after Tmax, so they may sit on either piece.
    """
    order = np.argsort(t, kind="stable")
    ts, ys = t[order], y[order]
    out = np.empty(len(u) - 1)
    for j in range(len(u) - 1):
        left, right = ts < u[j], ts > u[j + 1]
        bound = 0.0
        if left.sum() > 2:
            design = np.column_stack([np.ones(left.sum()), ts[left]])
            coef = np.linalg.lstsq(design, ys[left], rcond=None)[0]
            r = ys[left] - design @ coef
            bound += float(r @ r)
        if right.sum() > 1:
            iso = optimize.isotonic_regression(ys[right], increasing=False).x
            r = ys[right] - iso
            bound += float(r @ r)
        out[j] = bound
    return out


#: An interval whose RSS lower bound exceeds the best RSS so far by this factor (plus
#: :data:`_SKIP_ABS`) cannot hold the best fit, a fit at the best (0.1 %) or a rival
#: (5 %): its local fit is not run. The margin is far above the bound's rounding.
_SKIP_REL = 1.06
_SKIP_ABS = 1e-9


def _fit_one(t: np.ndarray, c: np.ndarray, start: dict[str, float] | None):
    """Least squares over every interval between sampling days (see :func:`fit_stein`).

    Returns ``((best, t, y, fits, starts), n)`` with ``best = (theta, rss, success,
    message, lo, hi)`` of the lowest RSS (the earliest interval among ties within 1e-9),
    ``fits`` the local fits run and ``starts`` the local fits the search comprises, or
    ``(None, n)``. An interval whose RSS lower bound (:func:`_rss_lower_bounds`) rules it
    out is not fitted; it counts as a start when its start is finite (Levenberg–Marquardt
    only accepts steps that lower the RSS, so from a finite start it ends at a finite
    point), as the full search did.
    """
    ok = (c > 0) & ~np.isnan(c) & ~np.isnan(t)
    t, y = t[ok], np.log(c[ok])
    n, p = len(t), len(PARAMS)
    u = np.unique(t[t > 0])
    if n <= p or len(u) < 2:
        return None, n
    s0 = dict(TYPICAL)
    if start:
        s0.update(start)
    else:
        imax = int(np.argmax(y))
        s0.update(cmax=float(np.exp(y[imax])), tmax=float(max(t[imax], 0.5)))
        first = y[0] if t[0] < t[imax] else y[imax] - np.log(100)
        s0["foldx"] = float(np.exp(max(y[imax] - first, 0.1)))
    data_start = _to_theta(s0)
    floor = _rss_lower_bounds(t, y, u)

    fits = []  # (theta, rss, success, message, lo, hi) of each local fit
    starts = 0
    best = None
    # intervals from the one holding the data-driven Tmax outwards, each started from the
    # best fit so far (continuation) and the first also from the data-driven start
    j0 = int(np.clip(np.searchsorted(u, s0["tmax"], side="right") - 1, 0, len(u) - 2))
    order = sorted(range(len(u) - 1), key=lambda j: (abs(j - j0), j))
    with np.errstate(all="ignore"):  # the optimiser may try extreme values (inf there)
        for j in order:
            # Tmax inside [u_j, u_j+1] as log Tmax = a + (b - a) expit(phi): unconstrained
            # Levenberg–Marquardt (MINPACK) on a smooth piece of the RSS
            lo_t, hi_t = np.log(u[j]), np.log(u[j + 1])
            th0 = data_start if best is None else best[0]
            if best is not None and floor[j] > _SKIP_REL * best[1] + _SKIP_ABS:
                x0 = th0.copy()
                x0[1] = 0.0
                starts += bool(np.all(np.isfinite(
                    _Piece(t, y, lo_t, hi_t - lo_t).resid(x0))))
                continue
            fit = _local_fit(t, y, lo_t, hi_t, th0)
            if fit is None:
                continue
            starts += 1
            fits.append(fit)
            if best is None or fit[1] < best[1] * (1 - 1e-9):
                best = fit
    if best is None:
        return None, n
    fits = [best, *(f for f in fits if f is not best)]
    return (best, t, y, fits, starts), n


def _multistart_notes(pid, fits) -> tuple[list[str], int]:
    """How many starts reached the best fit; warn about rival local minima."""
    rss0 = fits[0][1]
    tm0 = float(np.exp(fits[0][0][1]))
    # "at the best": within 0.1 %; a local fit that runs Tmax onto an end of its interval
    # (a kink) stops up to ~1e-5 short of that point's RSS
    same = sum(1 for f in fits if f[1] <= rss0 * (1 + 1e-3) + 1e-12)
    notes = []
    for f in fits[1:]:
        tm = float(np.exp(f[0][1]))
        # a rival in another interval between sampling days (named by the interval: where
        # in it a flat or shallow minimum stops is not a property of the data)
        # (fits at the best RSS are counted in starts_at_best: which of them comes first
        # is up to rounding)
        if (rss0 * (1 + 1e-3) + 1e-12 < f[1] <= rss0 * 1.05 + 1e-12
                and abs(np.log(tm / tm0)) > 0.05 and f[4][1] != fits[0][4][1]):
            a, b = np.exp(f[4][1]), np.exp(f[5][1])
            notes.append(f"{pid}: Tmax poorly identified: another local minimum with Tmax "
                         f"between days {a:.6g} and {b:.6g} has an RSS within 5% of the best")
            break
    return notes, same


#: Condition number of the Jacobian above which Wald SEs are not reported: the inverse
#: (JᵀJ)⁻¹ loses about 2·log10(cond) of the 16 digits, so they would not be stable.
COND_MAX = 1e6
#: Significant digits of the reported numbers: the polished fit determines them (a
#: 1e-15 relative change of the data moves a well-conditioned fit by < 1e-12).
DIGITS = 8
#: A singular value below this fraction of the largest marks a flat direction of the RSS
#: (an exact trade-off between parameters); the parameters it moves are not identified.
NOT_IDENTIFIED = 1e-10


def _rss(t: np.ndarray, y: np.ndarray, th: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        r = y - stein_log_conc(t, th)
        return float(r @ r) if np.all(np.isfinite(r)) else np.inf


def _polish(t: np.ndarray, y: np.ndarray, th: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Gauss-Newton steps on the free parameters (halved while they do not lower the RSS)
    to the stationary point, where JᵀJ δ = Jᵀr has δ ≈ 0: the search stops on its
    tolerances up to ~1e-7 away in a curved valley; these steps make the optimum a function
    of the data, not of where the iterations stopped."""
    th = th.copy()
    with np.errstate(all="ignore"):
        r = y - stein_log_conc(t, th)
        rss = float(r @ r) if np.all(np.isfinite(r)) else np.inf
        for _ in range(100):
            jac = stein_log_conc_jac(t, th)[:, free]
            if not (np.all(np.isfinite(jac)) and np.all(np.isfinite(r))):
                break
            delta = np.linalg.lstsq(jac, r, rcond=None)[0]
            small = np.all(np.abs(delta) <= 1e-6 * (1 + np.abs(th[free])))
            step = 1.0
            while step >= 1.0 / 1024:
                cand = th.copy()
                cand[free] += step * delta
                r_new = y - stein_log_conc(t, cand)
                new = float(r_new @ r_new) if np.all(np.isfinite(r_new)) else np.inf
                # near the optimum the RSS changes below its rounding: take the full step
                if new <= rss or (small and np.isfinite(new)):
                    break
                step /= 2
            else:
                break
            done = np.all(np.abs(cand[free] - th[free]) <= 4e-16 * (1 + np.abs(th[free])))
            th, rss, r = cand, new, r_new
            if done:
                break
    return th


def _sides(th: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """``th``, or when Tmax sits on an end of its interval (a sampling day, a kink of the
    RSS) ``th`` with Tmax just on either side of that day: the one-sided Jacobians of the
    two smooth pieces meeting there (which side a sample on that day falls on is otherwise
    up to the last bit of exp(log Tmax))."""
    width = hi[1] - lo[1]
    for edge in (lo[1], hi[1]):
        if abs(th[1] - edge) < 1e-6 * max(width, 1e-300):
            out = []
            for sign in (-1, 1):
                x = th.copy()
                x[1] = edge + sign * 1e-7 * width
                out.append(x)
            return out
    return [th]


def _lost(t: np.ndarray, th: np.ndarray, lo: np.ndarray, hi: np.ndarray,
          free: np.ndarray) -> tuple[np.ndarray, float]:
    """Free parameters the data do not determine (moved by a flat direction of the RSS on
    either side of a kink) and the largest condition number of the Jacobian."""
    lost, cond = set(), 0.0
    for x in _sides(th, lo, hi):
        idx, c = _flat(t, x, free)
        lost.update(idx.tolist())
        cond = max(cond, c)
    return np.array(sorted(lost), dtype=int), cond


def _flat(t: np.ndarray, th: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, float]:
    """Indices of the free parameters moved by a flat direction of the RSS (a singular
    value of the Jacobian below :data:`NOT_IDENTIFIED` of the largest), and the condition
    number of the Jacobian."""
    with np.errstate(all="ignore"):
        jac = stein_log_conc_jac(t, th)[:, free]
    if not np.all(np.isfinite(jac)):
        return np.flatnonzero(free), np.inf
    _, sv, vt = np.linalg.svd(jac)
    cond = np.inf if sv[-1] == 0 else float(sv[0] / sv[-1])
    flat = vt[sv <= sv[0] * NOT_IDENTIFIED]
    return np.flatnonzero(free)[(np.abs(flat) > 1e-8).any(axis=0)], cond


def _settle(t: np.ndarray, y: np.ndarray, best) -> tuple[np.ndarray, np.ndarray,
                                                        dict[int, str]]:
    """The reported optimum from the best local fit: each rate and FB is tried at its
    natural bound (rate 0, FB 0 or 1; theta ±inf) and Tmax on an end of its
    interval on that sampling day (where the RSS has a kink), each only if that fits as
    well (RSS within 1e-9 relative); then Gauss-Newton polishes the other parameters.
    Returns theta, the free mask and, per fixed parameter, why."""
    th, rss, lo, hi = best[0].copy(), best[1], best[4], best[5]
    free = np.ones(len(PARAMS), dtype=bool)
    fixed: dict[int, str] = {}

    def attempt(k: int, value: float, why: str) -> None:
        nonlocal th, free, rss
        cand = th.copy()
        cand[k] = value
        f = free.copy()
        f[k] = False
        cand = _polish(t, y, cand, f)
        new = _rss(t, y, cand)
        if new <= rss * (1 + 1e-9):
            th, free, rss = cand, f, min(rss, new)
            fixed[k] = why

    # every bound is tried (a fit approaches a bound only asymptotically, so how far it
    # got says nothing); FB first: at FB 0 beta, at FB 1 alpha has no effect (not
    # identified, never "at a bound")
    for k, sign in ((4, -1), (4, 1), (3, -1), (5, -1)):
        par, at_low, at_high = _BOUNDS[k]
        text = at_low if sign < 0 else at_high
        if not free[k] or (k == 5 and th[4] == -np.inf) or (k == 3 and th[4] == np.inf):
            continue
        attempt(k, sign * np.inf, f"{par} at its bound {text}")
    # Tmax on a sampling day: a kink, unless the RSS is flat there (then not identified)
    for edge in (lo[1], hi[1]):
        if abs(th[1] - edge) < 1e-6 and not len(_lost(t, th, lo, hi, free)[0]):
            attempt(1, edge, f"tmax on sampling day {np.exp(edge):.6g}, where the RSS has "
                             "a kink (not differentiable)")
    return _polish(t, y, th, free), free, fixed


def _fast_first(th: np.ndarray, free: np.ndarray, fixed: dict[int, str]
                ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """The labelling of a fit with alpha >= beta (alpha the fast decline, beta the slow).

    The fall ``(1 - FB)·exp(-alpha·dt) + FB·exp(-beta·dt)`` is unchanged when alpha and
    beta swap and FB becomes 1 - FB, so every fit has a twin with the same RSS, and which
    of the two a local search reaches is up to rounding (a fit with beta at 0, a plateau,
    has its twin with alpha at 0). Stein 2019 derives the fall from effector cells that
    decline at rate alpha while becoming memory cells at ``k = FB·(alpha - beta)``, which
    decline at beta (models.md §1.1): ``k >= 0`` needs ``alpha >= beta``, so the twin with
    alpha < beta is swapped. FB = 1 (only the beta phase; alpha has no effect) is the twin
    of FB = 0 (only the alpha phase), and is swapped too. The free mask and the reasons of
    fixed parameters follow their parameters.
    """
    if not (th[4] == np.inf or (th[4] != -np.inf and th[3] < th[5])):
        return th, free, fixed
    th, free = th.copy(), free.copy()
    th[3], th[5], th[4] = th[5], th[3], -th[4]
    free[3], free[5] = free[5], free[3]
    out = {}
    for k, why in fixed.items():
        k = {3: 5, 5: 3}.get(k, k)
        if k in _BOUNDS:
            par, at_low, at_high = _BOUNDS[k]
            why = f"{par} at its bound {at_low if th[k] < 0 else at_high}"
        out[k] = why
    return th, free, out


def _sig(x: float) -> float:
    """``x`` to :data:`DIGITS` significant digits (non-finite values unchanged)."""
    if not np.isfinite(x) or x == 0:
        return float(x)
    return float(f"{x:.{DIGITS - 1}e}")


def fit_stein(data: pd.DataFrame, *, value: str = "value", start: dict[str, float] | None = None,
              level: float = 0.95, name: str = "kinetics.stein") -> Result:
    """Fit the Stein 2019 model per patient by least squares on log concentration.

    Only quantifiable (> 0) samples enter; a patient needs at least 7. The log-scale RSS
    is smooth only between sampling days (a sample changes branch when Tmax passes it), so
    Tmax is searched in every interval between two sampling days (Levenberg–Marquardt with
    Tmax kept inside the interval; the interval of the data-driven start first, then
    outwards, each started from the best fit so far) and the lowest RSS kept; a rival
    local minimum in another interval (RSS 0.1-5 % above the best) is a warning. An
    interval whose RSS lower bound (:func:`_rss_lower_bounds`: a line through the samples
    before it, an antitonic regression of those after it) is above 1.06 times the best RSS
    so far can hold neither the best fit nor a rival and is not fitted: the results are
    those of fitting every interval (``tests/test_kinetics_stein_fast.py``).

    The reported optimum is then made a function of the data, not of where iterations
    stopped:

    * a parameter at a bound of the model (alpha or beta 0, FB 0 or 1; the fit only
      approaches it as the transformed parameter runs to ±inf) is put exactly there when
      that fits as well (RSS within 1e-9), status ``"at its bound ..."``;
    * Tmax on a sampling day (a kink of the RSS) is put exactly on it, status ``"on
      sampling day d"``;
    * Gauss-Newton steps take the other parameters to the stationary point;
    * of the two labellings with the same RSS (alpha and beta swapped, FB for 1 - FB) the
      one with alpha >= beta is reported: alpha the fast decline, beta the slow, as Stein
      2019's effector-to-memory derivation needs (FB = 1 is reported as its twin FB = 0);
    * parameters moved by a flat direction of the RSS (a singular value of the Jacobian
      below 1e-10 of the largest, e.g. one quantifiable sample before the peak) are not
      identified: estimate missing, status ``"not identified"``.

    Wald SEs and CIs are given only when none of these applies and the condition number of
    the Jacobian is at most :data:`COND_MAX`; otherwise they are missing and a warning
    says why (with the condition number). Numbers are rounded to :data:`DIGITS`
    significant digits (R ``nls`` agrees to ~1e-7), so a 1e-15 relative change of the
    data leaves them unchanged.

    Parameters
    ----------
    data : DataFrame
        ``patient_id, day`` and the concentration column.
    value : str, default "value"
        The concentration column.
    start : dict of str to float, optional
        Natural-scale starting values; default from the data and Stein 2019 Table 1.
    level : float, default 0.95
        Confidence level of the back-transformed Wald intervals (t on n - 6 df).
    name : str, default "kinetics.stein"
        Name of the Result.

    Returns
    -------
    Result
        Rows ``patient | parameter``: ``estimate`` (natural scale), ``theta``,
        ``se_transformed``, ``ci_low, ci_high``, ``status`` (estimated, at its bound,
        on sampling day, not identified), ``n, rss``, ``condition`` (of the Jacobian of
        the free parameters; missing when singular), ``converged``, ``starts`` (local
        fits run) and ``starts_at_best`` (those within 0.1 % of the best RSS).

    References
    ----------
    Stein AM, et al. CPT Pharmacometrics Syst Pharmacol 2019;8:285-295.

    Examples
    --------
    Samples generated from known parameters are fitted back to them:

    >>> p = {"foldx": 100.0, "tmax": 10.0, "cmax": 1000.0, "alpha": 0.5, "fb": 0.1,
    ...      "beta": 0.01}
    >>> days = np.array([0, 3, 7, 10, 14, 21, 28, 60, 90.0])
    >>> d = pd.DataFrame({"patient_id": "P1", "day": days, "value": stein_conc(days, p)})
    >>> fit_stein(d).table["estimate"].round(6).tolist()
    [100.0, 10.0, 1000.0, 0.5, 0.1, 0.01]

    With no slow phase in the data (a single exponential decline) FB sits at its bound 0,
    beta then has no effect (not identified), and no Wald interval is given:

    >>> p1 = {**p, "fb": 1e-300}
    >>> d1 = d.assign(value=stein_conc(days, p1))
    >>> r = fit_stein(d1)
    >>> r.table[["estimate", "status"]].values.tolist()[3:]
    [[0.5, 'estimated'], [0.0, 'at its bound 0 (no slow phase)'], [nan, 'not identified']]
    >>> bool(r.table["ci_low"].isna().all())
    True
    """
    rows = []
    warnings = []
    for pid, g in data.groupby("patient_id", sort=True):
        t = g["day"].to_numpy(dtype=float)
        c = g[value].to_numpy(dtype=float)
        out, n = _fit_one(t, c, start)
        if out is None:
            warnings.append(f"{pid}: {n} quantifiable samples, need >= 7; not fitted")
            continue
        fit, fits = out[0], out[3]
        notes, same = _multistart_notes(pid, fits)
        warnings += notes
        if not fit[2]:
            warnings.append(f"{pid}: least squares did not converge ({fit[3]})")
        p = len(PARAMS)
        th, free, fixed = _fast_first(*_settle(out[1], out[2], fit))
        rss = _rss(out[1], out[2], th)
        s2 = rss / (n - p)
        se = np.full(p, np.nan)
        status = {k: "estimated" for k in range(p)}
        lost, cond = _lost(out[1], th, fit[4], fit[5], free)
        if cond > 1 / NOT_IDENTIFIED:  # singular: its digits are rounding noise
            cond = np.inf
        with np.errstate(all="ignore"):  # d(model)/d(theta) (SEs only when not at a kink)
            jac = stein_log_conc_jac(out[1], th)[:, free]
        if len(lost):
            names = ", ".join(PARAMS[k] for k in lost)
            for k in lost:
                status[k] = "not identified"
                th[k] = np.nan
            warnings.append(f"{pid}: {names} not identified: the RSS is flat along a "
                            "direction that moves them (singular Jacobian, condition number "
                            f"> {1 / NOT_IDENTIFIED:.0e}), so the data do not determine them "
                            "(e.g. one quantifiable sample before the peak); reported as "
                            "missing, with no SE or CI")
        if fixed:
            for k, why in fixed.items():
                status[k] = why.split(" ", 1)[1].split(",")[0]
            warnings.append(f"{pid}: {'; '.join(fixed.values())}: the Wald approximation "
                            "does not hold there, so no SE or CI is computable for any "
                            "parameter of this patient (the estimates are the least-squares "
                            "fit)")
        if fixed or len(lost):
            pass  # no SE: said above
        elif cond > COND_MAX:
            warnings.append(f"{pid}: Jacobian near-singular (condition number {cond:.2g} > "
                            f"{COND_MAX:.0e}): the data hardly distinguish some parameters "
                            "(e.g. too few samples per phase), so SE and CI are not "
                            "computable; the estimates are the least-squares fit")
        else:
            var = np.diag(s2 * np.linalg.inv(jac.T @ jac))
            se = np.sqrt(np.where(var >= 0, var, np.nan))
        q = stats.t.ppf(0.5 + level / 2, n - p)
        est = _from_theta(th)
        with np.errstate(over="ignore", invalid="ignore"):  # a wide CI may reach inf
            lo = _from_theta(th - q * se)
            hi = _from_theta(th + q * se)
        for k, par in enumerate(PARAMS):
            rows.append({"patient_id": str(pid), "parameter": par, "estimate": _sig(est[par]),
                         "theta": _sig(th[k]), "se_transformed": _sig(se[k]),
                         "ci_low": _sig(lo[par]), "ci_high": _sig(hi[par]),
                         "status": status[k], "n": n, "rss": _sig(rss),
                         "condition": _sig(cond),
                         "converged": fit[2], "starts": out[4],
                         "starts_at_best": same})
    table = pd.DataFrame(rows)
    if not table.empty:
        table.index = table["patient_id"] + " | " + table["parameter"]
    return Result(
        name=name,
        title="Stein 2019 multiphasic CAR-T kinetic model, per-patient fits",
        table=table,
        method=("Closed-form Stein 2019 model fitted per patient by least squares on log "
                "concentration (parameters log foldx, log Tmax, log Cmax, log alpha, logit FB, "
                "log beta), Levenberg–Marquardt with Tmax searched in every interval between "
                "sampling days (the RSS is only piecewise smooth in Tmax); parameters at a "
                "bound of the model or Tmax on a sampling day fixed there, the rest polished "
                "by Gauss-Newton, parameters along a flat direction of the RSS not "
                f"identified; SE from s²(JᵀJ)⁻¹ when the Jacobian's condition number is at "
                f"most {COND_MAX:.0e} and no parameter is fixed; {level:.0%} Wald CIs with "
                f"t(n-6) quantile, back-transformed; {DIGITS} significant digits."),
        rationale="Log-scale additive residual as in Stein 2019; transformations keep "
                  "parameters in their domain.",
        warnings=tuple(warnings),
        references=("Stein AM et al., CPT Pharmacometrics Syst Pharmacol 2019;8:285-295",),
        params={"level": level, "start": start or "data-driven"},
        section="kinetics",
    )
