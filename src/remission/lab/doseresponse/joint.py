"""Several groups' curves fitted jointly: shared parameters, extra-sum-of-squares F test
(R ``anova(nls_reduced, nls_full)``) and Fieller intervals of potency ratios (drc
``EDcomp(..., interval = "fieller")``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from remission.lab.doseresponse.fit import (
    asymptotes_fixed,
    fit_curve,
)
from remission.lab.doseresponse.model import (
    PARAMS,
    free_parameters,
    jacobian,
    ll_curve,
)


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
    """Least-squares fit of one curve per group with ``shared`` parameters in common.

    As R ``nls`` with indexed parameters (e.g. ``A[g]``); groups are sorted.

    Parameters
    ----------
    dose : ndarray of float
        Doses (> 0).
    response : ndarray of float
        Responses.
    group : ndarray
        Group label of each observation.
    shared : sequence of str, default ()
        Parameters with one value for all groups (e.g. ``("xmid",)`` = same IC50).
    model : {"LL.4", "LL.3"}, default "LL.4"
        Which parameters are free (as :func:`fit_curve`).
    fixed : mapping of str to float, optional
        Fixed asymptotes, replacing the model's choice.

    Returns
    -------
    JointFit
        ``groups``, ``shared``, coefficient ``names`` (``"xmid"`` or
        ``"xmid[kd]"``), ``coef``, ``vcov``, ``rss`` and residual ``df``.

    References
    ----------
    Bates DM, Watts DG. Nonlinear Regression Analysis and Its Applications. Wiley 1988.

    Examples
    --------
    R (``gi`` = 1 for ctl, 2 for kd) ``full <- nls(response ~ A[gi] + (B[gi] - A[gi]) /
    (1 + exp((xmid[gi] - log(dose)) / scal[gi])), ...)`` and ``red``, the same with one
    ``xmid``, give RSS 138.4723008 (full) and 671.3086713 (reduced), xmid = 1.2738108 (ctl)
    and 2.1706374 (kd), and ``anova(red, full)`` F = 76.959 on 1 and 20 df, p = 2.726e-08:

    >>> dose = np.tile(np.repeat([0.1, 0.3, 1, 3, 10, 30, 100], 2), 2)
    >>> y = np.array([101, 97, 99, 95, 88, 84, 60, 52, 25, 21, 9, 7, 4, 2,
    ...               100, 98, 97, 96, 93, 90, 80, 74, 48, 44, 15, 12, 5, 3.0])
    >>> g = np.repeat(["ctl", "kd"], 14)
    >>> full, red = fit_joint(dose, y, g), fit_joint(dose, y, g, shared=("xmid",))
    >>> round(full.rss, 4), round(red.rss, 4), full.df, red.df
    (138.4723, 671.3087, 20, 21)
    >>> dict(zip(full.names[4:6], full.coef[4:6].round(6).tolist()))
    {'xmid[ctl]': 1.273811, 'xmid[kd]': 2.170637}
    """
    x = np.asarray(dose, float)
    y = np.asarray(response, float)
    g = np.asarray(group).astype(str)
    groups = tuple(str(k) for k in pd.unique(g))
    fx = asymptotes_fixed(model, x, y) if fixed is None else dict(fixed)
    free = free_parameters(fx)
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
        Jp = jacobian(u[:, None], P)[:, 0, :]
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
    """Extra-sum-of-squares F test of nested least-squares fits (R ``anova(reduced, full)``).

    ``F = ((RSS_r - RSS_f) / (df_r - df_f)) / (RSS_f / df_f)``.

    Parameters
    ----------
    reduced : JointFit
        The fit with parameters in common.
    full : JointFit
        The fit with group-specific parameters.

    Returns
    -------
    dict of str to float
        ``F, df1, df2, p, rss_reduced, rss_full``.

    References
    ----------
    Bates DM, Watts DG. Nonlinear Regression Analysis and Its Applications. Wiley 1988,
    sec. 3.5.

    Examples
    --------
    R (``gi`` = 1 for ctl, 2 for kd) ``full <- nls(response ~ A[gi] + (B[gi] - A[gi]) /
    (1 + exp((xmid[gi] - log(dose)) / scal[gi])), ...)`` and ``red``, the same with one
    ``xmid``, give RSS 138.4723008 (full) and 671.3086713 (reduced), xmid = 1.2738108 (ctl)
    and 2.1706374 (kd), and ``anova(red, full)`` F = 76.959 on 1 and 20 df, p = 2.726e-08;
    by hand F = (671.3087 - 138.4723) / (138.4723 / 20) = 76.959:

    >>> dose = np.tile(np.repeat([0.1, 0.3, 1, 3, 10, 30, 100], 2), 2)
    >>> y = np.array([101, 97, 99, 95, 88, 84, 60, 52, 25, 21, 9, 7, 4, 2,
    ...               100, 98, 97, 96, 93, 90, 80, 74, 48, 44, 15, 12, 5, 3.0])
    >>> g = np.repeat(["ctl", "kd"], 14)
    >>> t = extra_ss_f_test(fit_joint(dose, y, g, shared=("xmid",)), fit_joint(dose, y, g))
    >>> round(t["F"], 3), t["df1"], t["df2"], float(f"{t['p']:.4g}")
    (76.959, 1, 20, 2.726e-08)
    """
    ddf = reduced.df - full.df
    f = ((reduced.rss - full.rss) / ddf) / (full.rss / full.df)
    return {"F": f, "df1": ddf, "df2": full.df, "p": float(stats.f.sf(f, ddf, full.df)),
            "rss_reduced": reduced.rss, "rss_full": full.rss}


def fieller_ratio(a: float, b: float, var_a: float, var_b: float, cov_ab: float, df: float,
                  conf: float = 0.95) -> tuple[float, float, float, float]:
    """Ratio a / b with Fieller's confidence interval.

    ``g = t^2 var_b / b^2`` with t the two-sided quantile on ``df``; limits
    ``(rho - g cov/var_b +/- t/|b| sqrt(var_a - 2 rho cov + rho^2 var_b - g (var_a -
    cov^2/var_b))) / (1 - g)``. When ``g >= 1`` the denominator is not significantly
    different from 0 and the interval is unbounded (returned as NaN, NaN).

    Parameters
    ----------
    a, b : float
        Numerator and denominator estimates.
    var_a, var_b, cov_ab : float
        Their variances and covariance.
    df : float
        Degrees of freedom of the t quantile.
    conf : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of (float, float, float, float)
        ``(ratio, lower, upper, g)``.

    References
    ----------
    Fieller EC. Some problems in interval estimation. J R Stat Soc B 1954;16:175-185.

    Examples
    --------
    R ``t <- qt(.975, 20); g <- t^2 * 0.01; (2 + c(-1, 1) * t * sqrt(0.04 + 4 * 0.01 - g *
    0.04)) / (1 - g)`` gives 1.4808910, 2.7010766:

    >>> r, lo, hi, gg = fieller_ratio(2.0, 1.0, 0.04, 0.01, 0.0, df=20)
    >>> r, round(float(lo), 6), round(float(hi), 6), round(float(gg), 6)
    (2.0, 1.480891, 2.701077, 0.043512)
    >>> fieller_ratio(2.0, 0.1, 0.04, 0.01, 0.0, df=20)[1:3]
    (nan, nan)
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

    Parameters
    ----------
    dose, response : array-like of float
        Doses (> 0) and responses.
    group : array-like
        Group of each observation.
    reference : str, optional
        Denominator group of the potency ratios; default the first group (sorted).
    model : {"LL.4", "LL.3"}, default "LL.4"
        Which parameters are free.
    shared : sequence of str, default ("xmid",)
        Parameters tested for equality.
    conf : float, default 0.95
        Confidence level of the ratio intervals.
    fixed : mapping of str to float, optional
        Fixed asymptotes.

    Returns
    -------
    dict
        ``test`` (:func:`extra_ss_f_test`), ``full`` and ``reduced`` (JointFit),
        ``reference`` and ``ratios``: group -> ``ratio, fieller_lower, fieller_upper,
        g, log_lower, log_upper``.

    References
    ----------
    Fieller EC. J R Stat Soc B 1954;16:175-185. Ritz C, et al. PLoS One 2015;10:e0146021
    (drc EDcomp).

    Examples
    --------
    R (``gi`` = 1 for ctl, 2 for kd) ``full <- nls(response ~ A[gi] + (B[gi] - A[gi]) /
    (1 + exp((xmid[gi] - log(dose)) / scal[gi])), ...)`` and ``red``, the same with one
    ``xmid``, give RSS 138.4723008 (full) and 671.3086713 (reduced), xmid = 1.2738108 (ctl)
    and 2.1706374 (kd), and ``anova(red, full)`` F = 76.959 on 1 and 20 df, p = 2.726e-08;
    the potency ratio is exp(2.1706374 - 1.2738108) = 2.4518101:

    >>> dose = np.tile(np.repeat([0.1, 0.3, 1, 3, 10, 30, 100], 2), 2)
    >>> y = np.array([101, 97, 99, 95, 88, 84, 60, 52, 25, 21, 9, 7, 4, 2,
    ...               100, 98, 97, 96, 93, 90, 80, 74, 48, 44, 15, 12, 5, 3.0])
    >>> g = np.repeat(["ctl", "kd"], 14)
    >>> c = compare_curves(dose, y, g, reference="ctl")
    >>> round(c["test"]["F"], 3), round(float(c["ratios"]["kd"]["ratio"]), 6)
    (76.959, 2.45181)
    >>> bool(c["ratios"]["kd"]["fieller_lower"] < 2.45181 < c["ratios"]["kd"]["fieller_upper"])
    True
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
