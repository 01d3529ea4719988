"""Fine–Gray proportional subdistribution-hazards regression, as R ``cmprsk::crr``.

Subjects failing from a competing cause stay in the risk set after their failure with
inverse-probability-of-censoring weight ``G(t-)/G(T_j-)`` (``G`` = Kaplan–Meier of the
censoring distribution, left-continuous). Coefficients maximise the weighted Breslow
partial likelihood (Newton–Raphson); the variance is the sandwich
``H^-1 (sum_i (eta_i + psi_i)(eta_i + psi_i)') H^-1`` of Fine & Gray (1999), where
``eta_i`` is subject i's score residual and ``psi_i`` the correction for estimating G,
computed as crr does (single censoring group, no time-varying covariates).
All risk-set sums are prefix/suffix sums, so the cost is O(n log n).

References
----------
Fine JP, Gray RJ. J Am Stat Assoc 1999;94:496-509.
Gray RJ. cmprsk: Subdistribution Analysis of Competing Risks (R package), crr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from remission.results import Result
from remission.stats.survival._input import check_survival, z_value


@dataclass
class FineGrayFit:
    names: list[str]
    coef: np.ndarray
    var: np.ndarray
    loglik: float
    n: int
    events: int
    converged: bool

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))


def _censoring_km_left(t: np.ndarray, cens: np.ndarray) -> np.ndarray:
    """G(t_i-) for each subject: KM of censoring just before t_i."""
    ut, inv = np.unique(t, return_inverse=True)
    n_at = np.bincount(inv, minlength=len(ut)).astype(float)
    c = np.bincount(inv, weights=cens.astype(float), minlength=len(ut))
    risk = np.cumsum(n_at[::-1])[::-1]
    g = np.cumprod(1 - c / risk)
    g_left = np.concatenate([[1.0], g[:-1]])
    return g_left[inv]


class _Parts:
    """Risk-set sums at the distinct cause-1 failure times for a given beta."""

    def __init__(self, t, ici, x, gl, beta):
        self.r = np.exp(x @ beta)
        fail = ici == 1
        self.tk, dk = np.unique(t[fail], return_counts=True)
        self.dk = dk.astype(float)
        # G(t_k-), read at the first subject tied at t_k
        self.gk = gl[np.searchsorted(t, self.tk, side="left")]
        r, comp = self.r, ici == 2
        rx = r[:, None] * x
        rxx = rx[:, :, None] * x[:, None, :]

        def suffix(v):  # sum over subjects with t >= t_k
            cum = np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, 0)])
            return cum[-1] - cum[np.searchsorted(t, self.tk, side="left")]

        def prefix_comp(v):  # sum over competing subjects with t < t_k, weighted 1/G(t_j-)
            w = np.where(comp, 1 / gl, 0.0).reshape(-1, *([1] * (v.ndim - 1)))
            cum = np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v * w, 0)])
            return cum[np.searchsorted(t, self.tk, side="left")]

        gk = self.gk
        self.s0 = suffix(r) + gk * prefix_comp(r)
        self.s1 = suffix(rx) + gk[:, None] * prefix_comp(rx)
        self.s2 = suffix(rxx) + gk[:, None, None] * prefix_comp(rxx)
        self.xbar = self.s1 / self.s0[:, None]
        self.loglik = float((x[fail] @ beta).sum() - (self.dk * np.log(self.s0)).sum())
        self.score = x[fail].sum(0) - (self.dk[:, None] * self.xbar).sum(0)
        self.info = (self.dk[:, None, None] * (self.s2 / self.s0[:, None, None]
                     - self.xbar[:, :, None] * self.xbar[:, None, :])).sum(0)


def fit_finegray_arrays(time: np.ndarray, status: np.ndarray, x: np.ndarray, cause: int = 1,
                        names: Sequence[str] | None = None, max_iter: int = 50) -> FineGrayFit:
    """Fit the Fine–Gray model; ``status`` 0 = censored, ``cause`` = event of interest."""
    o = np.argsort(time, kind="stable")
    t, st, x = np.asarray(time, float)[o], np.asarray(status)[o], np.asarray(x, float)[o]
    ici = np.where(st == cause, 1, np.where(st == 0, 0, 2))
    gl = _censoring_km_left(t, ici == 0)
    p = x.shape[1]
    beta = np.zeros(p)
    parts = _Parts(t, ici, x, gl, beta)
    converged = False
    for _ in range(max_iter):
        if np.max(np.abs(parts.score) * np.maximum(np.abs(beta), 1)) < max(
                abs(parts.loglik), 1) * 1e-12:
            converged = True
            break
        step = linalg.solve(parts.info, parts.score, assume_a="pos")
        for _h in range(30):
            new = _Parts(t, ici, x, gl, beta + step)
            if np.isfinite(new.loglik) and new.loglik >= parts.loglik - 1e-12 * abs(
                    parts.loglik):
                break
            step = step / 2
        beta, parts = beta + step, new
        if np.max(np.abs(step)) < 1e-11:
            converged = True
            break
    var = _sandwich(t, ici, x, gl, parts)
    return FineGrayFit(list(names or [f"x{i}" for i in range(p)]), beta, var, parts.loglik,
                       len(t), int((ici == 1).sum()), converged)


def _sandwich(t, ici, x, gl, P: _Parts) -> np.ndarray:
    n, p = x.shape
    r = P.r
    w0 = P.dk / P.s0                           # d_k / S0_k
    c0 = np.cumsum(w0)
    c1 = np.cumsum(w0[:, None] * P.xbar, 0)
    g0 = np.cumsum(P.gk * w0)
    g1 = np.cumsum((P.gk * w0)[:, None] * P.xbar, 0)
    kk = np.searchsorted(P.tk, t, side="right")  # number of failure times <= t_i
    z0, z1 = np.concatenate([[0.0], c0]), np.vstack([np.zeros((1, p)), c1])
    h0, h1 = np.concatenate([[0.0], g0]), np.vstack([np.zeros((1, p)), g1])
    eta = -r[:, None] * (x * z0[kk][:, None] - z1[kk])
    comp = ici == 2
    tail0 = h0[-1] - h0[kk]
    tail1 = h1[-1] - h1[kk]
    eta[comp] -= (r[comp] / gl[comp])[:, None] * (x[comp] * tail0[comp][:, None]
                                                    - tail1[comp])
    fail = ici == 1
    kf = np.searchsorted(P.tk, t[fail], side="left")
    eta[fail] += x[fail] - P.xbar[kf]
    # censoring correction psi_i
    ut, first = np.unique(t, return_index=True)
    y_at = n - first                                            # number with t >= u
    ncen = np.bincount(np.searchsorted(ut, t[ici == 0]), minlength=len(ut)).astype(float)
    wcomp = np.where(comp, r / gl, 0.0)
    bcum0 = np.concatenate([[0.0], np.cumsum(wcomp)])
    bcum1 = np.vstack([np.zeros((1, p)), np.cumsum(wcomp[:, None] * x, 0)])
    b0, b1 = bcum0[first], bcum1[first]                        # comp subjects with t < u
    kq = np.searchsorted(P.tk, ut, side="left")                 # failure times >= u
    e0 = h0[-1] - h0[kq]
    e1 = h1[-1] - h1[kq]
    q = b1 * e0[:, None] - b0[:, None] * e1                     # q(u), (U, p)
    dec = -(q * (ncen / y_at**2)[:, None])
    ss2 = np.cumsum(dec, 0)                                     # through each u
    ui = np.searchsorted(ut, t)
    psi = ss2[ui]
    cen = ici == 0
    psi[cen] += q[ui[cen]] / y_at[ui[cen]][:, None]
    s = eta + psi
    hinv = linalg.inv(P.info)
    return hinv @ (s.T @ s) @ hinv


def fine_gray(data: pd.DataFrame, time: str, status: str, covariates: Sequence[str], *,
              cause: int = 1, conf: float = 0.95, name: str = "survival.finegray",
              section: str = "efficacy", **_: Any) -> Result:
    """Subdistribution hazard ratios (SHR) with Wald CIs, as ``crr``."""
    from remission.stats.survival.cox import _check_frame, check_design, design

    data, _ = _check_frame(data, [time, status, *covariates])
    codes = sorted(int(c) for c in pd.unique(pd.to_numeric(data[status], errors="coerce"))
                   if np.isfinite(c))
    t, s, _ = check_survival(data[time], data[status], event_codes=codes or [0],
                             timefix=False)
    x, names, _ = design(data, covariates)
    check_design(x, names)
    fit = fit_finegray_arrays(t, s, x, cause, names)
    z = z_value(conf)
    se = fit.se
    zz = fit.coef / se
    tab = pd.DataFrame({"coef": fit.coef, "SHR": np.exp(fit.coef),
                        "SHR_lo": np.exp(fit.coef - z * se), "SHR_hi": np.exp(fit.coef + z * se),
                        "se": se, "z": zz, "p": 2 * stats.norm.sf(np.abs(zz))}, index=names)
    warns = () if fit.converged else ("Newton–Raphson did not converge",)
    return Result(
        name=name, title="Fine–Gray subdistribution hazards model", table=tab, section=section,
        method=("Fine–Gray proportional subdistribution hazards regression for cause "
                f"{cause} (IPCW risk sets, Breslow ties), sandwich variance, {conf:.0%} Wald "
                "CIs (as R cmprsk::crr)."),
        rationale=("Covariate effects on the cumulative incidence in the presence of "
                   "competing events."),
        warnings=warns,
        references=("Fine JP, Gray RJ. J Am Stat Assoc 1999;94:496-509.",
                    "Gray RJ. cmprsk (R package): crr."),
        params={"cause": cause, "conf": conf, "n": fit.n, "events": fit.events,
                "loglik": fit.loglik},
    )
