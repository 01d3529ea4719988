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
from scipy import optimize, stats

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


def _fit_one(t: np.ndarray, c: np.ndarray, start: dict[str, float] | None):
    ok = (c > 0) & ~np.isnan(c) & ~np.isnan(t)
    t, y = t[ok], np.log(c[ok])
    n, p = len(t), len(PARAMS)
    if n <= p:
        return None, n
    s0 = dict(TYPICAL)
    if start:
        s0.update(start)
    else:
        imax = int(np.argmax(y))
        s0.update(cmax=float(np.exp(y[imax])), tmax=float(max(t[imax], 0.5)))
        first = y[0] if t[0] < t[imax] else y[imax] - np.log(100)
        s0["foldx"] = float(np.exp(max(y[imax] - first, 0.1)))

    def resid(th):
        return y - stein_log_conc(t, th)

    def jac(th):
        return -stein_log_conc_jac(t, th)

    def run(th0, max_nfev):
        try:  # far-off starts may overflow on the way; such runs simply lose
            with np.errstate(all="ignore"):
                return optimize.least_squares(resid, th0, method="lm", jac=jac,
                                              xtol=1e-14, ftol=1e-14, gtol=1e-14,
                                              max_nfev=max_nfev)
        except (ValueError, FloatingPointError):
            return None

    def ok(f):
        return f is not None and np.all(np.isfinite(f.x)) and np.isfinite(f.cost)

    primary = run(_to_theta(s0), 20000)
    if not ok(primary):
        return None, n
    # Profile over the intervals between sampling days: the log-scale RSS is only
    # piecewise smooth in Tmax (a sample switches from the rising to the falling branch
    # as Tmax passes it), so a local search can stop in the wrong interval. From the
    # best fit so far, restart with Tmax in the middle of each neighbouring interval
    # (other parameters kept); move while that lowers the RSS.
    u = np.unique(t)
    fits, best, seen = [primary], primary, set()
    while True:
        j = int(np.clip(np.searchsorted(u, np.exp(best.x[1]), side="right") - 1, 0,
                        len(u) - 2))
        seen.add(j)
        moved = False
        for jj in (j - 1, j + 1):
            if jj < 0 or jj > len(u) - 2 or jj in seen:
                continue
            seen.add(jj)
            th0 = best.x.copy()
            th0[1] = np.log((u[jj] + u[jj + 1]) / 2)
            f = run(th0, 2000)
            if ok(f):
                fits.append(f)
                if f.cost < best.cost * (1 - 1e-9):
                    best, moved = f, True
        if not moved:
            break
    fits = [best, *(f for f in fits if f is not best)]
    return (fits[0], t, y, fits), n


def _multistart_notes(pid, fits) -> tuple[list[str], int]:
    """How many starts reached the best fit; warn about rival local minima."""
    best = fits[0]
    rss0 = 2 * best.cost
    tm0 = float(np.exp(best.x[1]))
    same = sum(1 for f in fits if 2 * f.cost <= rss0 * (1 + 1e-8) + 1e-12)
    notes = []
    for f in fits[1:]:
        tm = float(np.exp(f.x[1]))
        if 2 * f.cost <= rss0 * 1.05 + 1e-12 and abs(np.log(tm / tm0)) > 0.05:
            notes.append(f"{pid}: Tmax poorly identified: another local minimum at Tmax "
                         f"{tm:.3g} (vs {tm0:.3g}) has an RSS within 5% of the best")
            break
    return notes, same


def fit_stein(data: pd.DataFrame, *, value: str = "value", start: dict[str, float] | None = None,
              level: float = 0.95, name: str = "kinetics.stein") -> Result:
    """Fit the Stein 2019 model per patient by least squares on log concentration.

    Only quantifiable (> 0) samples enter; a patient needs at least 7. Several starts are
    run (the data-driven start, then Tmax in each neighbouring interval between sampling
    days, moving while the RSS falls) and the lowest RSS kept; a rival local minimum with a
    clearly different Tmax and an RSS within 5 % is a warning.

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
        ``se_transformed``, ``ci_low, ci_high, n, rss, converged, starts,
        starts_at_best``.

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
        if not fit.success:
            warnings.append(f"{pid}: least squares did not converge ({fit.message})")
        p = len(PARAMS)
        rss = float(np.sum(fit.fun ** 2))
        s2 = rss / (n - p)
        jac = -fit.jac  # d(model)/d(theta)
        try:
            cov = s2 * np.linalg.inv(jac.T @ jac)
            var = np.diag(cov)
            se = np.sqrt(np.where(var >= 0, var, np.nan))
            if np.isnan(se).any():  # near-singular: the inverse has negative variances
                warnings.append(f"{pid}: ill-conditioned fit, some standard errors not "
                                "computable")
        except np.linalg.LinAlgError:
            se = np.full(p, np.nan)
            warnings.append(f"{pid}: singular Jacobian, no standard errors")
        q = stats.t.ppf(0.5 + level / 2, n - p)
        est = _from_theta(fit.x)
        with np.errstate(over="ignore"):  # a very wide CI may back-transform to inf
            lo = _from_theta(fit.x - q * se)
            hi = _from_theta(fit.x + q * se)
        for k, par in enumerate(PARAMS):
            rows.append({"patient_id": str(pid), "parameter": par, "estimate": est[par],
                         "theta": float(fit.x[k]), "se_transformed": float(se[k]),
                         "ci_low": lo[par], "ci_high": hi[par], "n": n, "rss": rss,
                         "converged": bool(fit.success), "starts": len(fits),
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
                f"log beta), Levenberg–Marquardt from the data-driven start, then restarted "
                "with Tmax in neighbouring intervals between sampling days while the RSS "
                "falls (the RSS is only piecewise smooth in Tmax); SE from "
                f"s²(JᵀJ)⁻¹; {level:.0%} Wald CIs with t(n-6) quantile, back-transformed."),
        rationale="Log-scale additive residual as in Stein 2019; transformations keep "
                  "parameters in their domain.",
        warnings=tuple(warnings),
        references=("Stein AM et al., CPT Pharmacometrics Syst Pharmacol 2019;8:285-295",),
        params={"level": level, "start": start or "data-driven"},
        section="kinetics",
    )
