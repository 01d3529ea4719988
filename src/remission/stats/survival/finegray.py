"""Fine–Gray proportional subdistribution-hazards regression, as R ``cmprsk::crr``.

Subjects failing from a competing cause stay in the risk set after their failure with
inverse-probability-of-censoring weight ``G_g(t)/G_g(T_j)`` (``G_g`` = Kaplan–Meier of
the censoring distribution in the subject's censoring group ``g``). Coefficients
maximise the weighted Breslow partial likelihood (Newton–Raphson); the variance is the
sandwich ``H^-1 (sum_i (eta_i + psi_i)(eta_i + psi_i)') H^-1`` of Fine & Gray (1999),
where ``eta_i`` is subject i's score residual and ``psi_i`` the correction for
estimating G, computed as crr's Fortran ``crrvv`` does (including its censoring
groups, ``cengroup``; no time-varying covariates). All risk-set sums are prefix/suffix
sums, so the cost is O(n log n) per censoring group.

Where ``G`` is read (``censoring=``)
------------------------------------
``"crr"`` (default) reads each group's censoring Kaplan–Meier exactly as crr does:
``approx(..., method = "constant")`` at ``t * (1 - 100 eps)``, on knots starting at
``-10 eps`` with value 1 and ending at ``max(time) * (1 + 10 eps)`` with value 0. For
``t > 0`` that is the left limit ``G(t-)``; at ``t = 0`` it is ``G(0)``, which already
counts censorings at time 0. ``"left"`` is the textbook left limit ``G(t-)`` at every
time (``G(0-) = 1``); the two differ only when a competing event and a censoring both
occur at time 0.

References
----------
Fine JP, Gray RJ. J Am Stat Assoc 1999;94:496-509.
Gray RJ. cmprsk: Subdistribution Analysis of Competing Risks (R package), crr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import linalg, stats

from remission.errors import ProblemLog
from remission.results import Result
from remission.stats.design import check_design, check_frame, design
from remission.stats.survival._input import (
    aeq_times,
    model_frame,
    omitted_warning,
    strict_keywords,
    z_value,
)

_EPS = float(np.finfo(float).eps)


@dataclass
class FineGrayFit:
    names: list[str]
    coef: np.ndarray
    var: np.ndarray
    loglik: float
    n: int
    events: int
    converged: bool
    groups: int = 1

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))


def _censoring_weights(t: np.ndarray, cens: np.ndarray, group: np.ndarray,
                      censoring: Literal["crr", "left"] = "crr") -> np.ndarray:
    """``W[g, i]``: censoring-survival of group ``g`` read at subject i's time.

    One row per censoring group (codes ``0..G-1`` in ``group``); the Kaplan–Meier of
    each group's censoring times, with R ``survfit``'s merging of floating-point
    near-ties, is read just below each time as crr does (see the module docstring),
    or at the exact left limit with ``censoring="left"``.
    """
    if censoring not in ("crr", "left"):
        raise ValueError(f"censoring must be 'crr' or 'left', got {censoring!r}")
    ng = int(group.max()) + 1 if len(group) else 1
    out = np.empty((ng, len(t)))
    for g in range(ng):
        m = group == g
        tg, _ = aeq_times(t[m])
        ut, inv = np.unique(tg, return_inverse=True)
        n_at = np.cumsum(np.bincount(inv, minlength=len(ut))[::-1])[::-1].astype(float)
        c = np.bincount(inv, weights=cens[m].astype(float), minlength=len(ut))
        surv = np.cumprod(1 - c / n_at)
        knots = np.concatenate([[min(0.0, ut[0]) - 10 * _EPS], ut,
                                [ut[-1] * (1 + 10 * _EPS)]])
        vals = np.concatenate([[1.0], surv, [0.0]])
        if censoring == "crr":
            idx = np.searchsorted(knots, t * (1 - 100 * _EPS), side="right") - 1
        else:
            idx = np.searchsorted(knots, t, side="left") - 1
        out[g] = vals[np.maximum(idx, 0)]
    return out


class _Parts:
    """Risk-set sums at the distinct cause-1 failure times for a given beta."""

    def __init__(self, t, ici, x, w, cg, beta):
        self.r = np.exp(x @ beta)
        fail = ici == 1
        self.tk, dk = np.unique(t[fail], return_counts=True)
        self.dk = dk.astype(float)
        first = np.searchsorted(t, self.tk, side="left")
        self.gk = w[:, first]                       # (G, K): G_g at each failure time
        self.gl = w[cg, np.arange(len(t))]           # own group's G at own time
        r, comp = self.r, ici == 2
        rx = r[:, None] * x
        rxx = rx[:, :, None] * x[:, None, :]

        def suffix(v):  # sum over subjects with t >= t_k
            cum = np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, 0)])
            return cum[-1] - cum[first]

        s0, s1, s2 = suffix(r), suffix(rx), suffix(rxx)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_gl = np.where(comp, 1 / self.gl, 0.0)
        for g in range(w.shape[0]):
            wg = np.where(cg == g, inv_gl, 0.0)
            if not wg.any():
                continue

            def prefix(v, wg=wg):  # competing subjects of group g with t < t_k
                ww = wg.reshape(-1, *([1] * (v.ndim - 1)))
                cum = np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v * ww, 0)])
                return cum[first]

            gk = self.gk[g]
            s0 = s0 + gk * prefix(r)
            s1 = s1 + gk[:, None] * prefix(rx)
            s2 = s2 + gk[:, None, None] * prefix(rxx)
        self.s0, self.s1, self.s2 = s0, s1, s2
        self.xbar = self.s1 / self.s0[:, None]
        self.loglik = float((x[fail] @ beta).sum() - (self.dk * np.log(self.s0)).sum())
        self.score = x[fail].sum(0) - (self.dk[:, None] * self.xbar).sum(0)
        self.info = (self.dk[:, None, None] * (self.s2 / self.s0[:, None, None]
                     - self.xbar[:, :, None] * self.xbar[:, None, :])).sum(0)


def _fit_arrays(time: np.ndarray, status: np.ndarray, x: np.ndarray, *,
                        failcode: float = 1, cencode: float = 0,
                        cengroup: np.ndarray | None = None,
                        censoring: Literal["crr", "left"] = "crr",
                        names: Sequence[str] | None = None,
                        max_iter: int = 50) -> FineGrayFit:
    """Fit the Fine–Gray model on arrays, as ``crr(time, status, x, cengroup, failcode,
    cencode)``.

    Parameters
    ----------
    time, status : array
        Follow-up time (>= 0) and status code per subject: ``failcode`` is the event of
        interest, ``cencode`` a censoring, any other code a competing event.
    x : array (n, p)
        Covariates.
    failcode, cencode : number
        As crr's arguments of the same names.
    cengroup : array, optional
        Censoring groups: the censoring distribution is estimated separately in each.
    censoring : {"crr", "left"}
        Where the censoring distribution is read (module docstring).
    names : list of str, optional
        Covariate names.
    max_iter : int
        Newton–Raphson iterations.

    Returns
    -------
    FineGrayFit
        Coefficients, sandwich variance, log pseudo-likelihood, counts, convergence.

    Examples
    --------
    >>> t = np.array([1., 2, 3, 4, 5, 6]); s = np.array([1, 2, 1, 0, 1, 2])
    >>> _fit_arrays(t, s, np.array([[0.], [1], [0], [1], [1], [0]])).converged
    True
    """
    o = np.argsort(np.asarray(time, float), kind="stable")
    t, st, x = np.asarray(time, float)[o], np.asarray(status)[o], np.asarray(x, float)[o]
    cg_raw = np.zeros(len(t), int) if cengroup is None else np.asarray(cengroup)[o]
    cg = np.unique(cg_raw, return_inverse=True)[1].ravel()
    ici = np.where(st == failcode, 1, np.where(st == cencode, 0, 2))
    w = _censoring_weights(t, ici == 0, cg, censoring)
    p = x.shape[1]
    beta = np.zeros(p)
    parts = _Parts(t, ici, x, w, cg, beta)
    converged = False
    for _ in range(max_iter):
        if np.max(np.abs(parts.score) * np.maximum(np.abs(beta), 1)) < max(
                abs(parts.loglik), 1) * 1e-12:
            converged = True
            break
        step = linalg.solve(parts.info, parts.score, assume_a="pos")
        for _h in range(30):
            new = _Parts(t, ici, x, w, cg, beta + step)
            if np.isfinite(new.loglik) and new.loglik >= parts.loglik - 1e-12 * abs(
                    parts.loglik):
                break
            step = step / 2
        beta, parts = beta + step, new
        if np.max(np.abs(step)) < 1e-11:
            converged = True
            break
    var = _sandwich(t, ici, x, cg, parts)
    return FineGrayFit(list(names or [f"x{i}" for i in range(p)]), beta, var, parts.loglik,
                       len(t), int((ici == 1).sum()), converged, int(cg.max()) + 1)


def _sandwich(t, ici, x, cg, P: _Parts) -> np.ndarray:
    """crr's ``crrvv``: score residuals eta_i plus the censoring correction psi_i."""
    n, p = x.shape
    ng = P.gk.shape[0]
    r, gl = P.r, P.gl
    fail, comp, cen = ici == 1, ici == 2, ici == 0
    w0 = P.dk / P.s0                           # d_k / S0_k
    c0 = np.cumsum(w0)
    c1 = np.cumsum(w0[:, None] * P.xbar, 0)
    kk = np.searchsorted(P.tk, t, side="right")  # number of failure times <= t_i
    z0, z1 = np.concatenate([[0.0], c0]), np.vstack([np.zeros((1, p)), c1])
    eta = -r[:, None] * (x * z0[kk][:, None] - z1[kk])
    kf = np.searchsorted(P.tk, t[fail], side="left")
    eta[fail] += x[fail] - P.xbar[kf]
    ut, first = np.unique(t, return_index=True)
    ui = np.searchsorted(ut, t)
    kq = np.searchsorted(P.tk, ut, side="left")  # first failure time >= u
    psi = np.zeros((n, p))
    fail_idx = np.searchsorted(P.tk, t, side="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_gl = np.where(comp, 1 / gl, 0.0)
    for g in range(ng):
        ing = cg == g
        gk = P.gk[g]
        # competing subjects of g after their failure: weight G_g(t_k)/G_g(T_j)
        h0 = np.concatenate([[0.0], np.cumsum(gk * w0)])
        h1 = np.vstack([np.zeros((1, p)), np.cumsum((gk * w0)[:, None] * P.xbar, 0)])
        cm = comp & ing
        tail0, tail1 = h0[-1] - h0[kk[cm]], h1[-1] - h1[kk[cm]]
        eta[cm] -= (r[cm] * inv_gl[cm])[:, None] * (x[cm] * tail0[:, None] - tail1)
        # q_g(u): crr sums only failures of group g (crrvv, qu(k, icg(j1)))
        dkg = np.bincount(fail_idx[fail & ing], minlength=len(P.tk)).astype(float)
        e_w = dkg * gk / P.s0
        e0 = np.concatenate([np.cumsum((e_w)[::-1])[::-1], [0.0]])[kq]
        e1 = np.vstack([np.cumsum((e_w[:, None] * P.xbar)[::-1], 0)[::-1],
                        np.zeros((1, p))])[kq]
        wcomp = np.where(cm, r * inv_gl, 0.0)
        b0 = np.concatenate([[0.0], np.cumsum(wcomp)])[first]          # t_j < u
        b1 = np.vstack([np.zeros((1, p)), np.cumsum(wcomp[:, None] * x, 0)])[first]
        q = b1 * e0[:, None] - b0[:, None] * e1                         # (U, p)
        y_at = np.cumsum(np.bincount(ui[ing], minlength=len(ut))[::-1])[::-1].astype(float)
        ncen = np.bincount(ui[cen & ing], minlength=len(ut)).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            dec = np.where(ncen[:, None] > 0, -q * (ncen / y_at**2)[:, None], 0.0)
        ss2 = np.cumsum(dec, 0)
        psi[ing] = ss2[ui[ing]]
        cgm = cen & ing
        psi[cgm] += q[ui[cgm]] / y_at[ui[cgm]][:, None]
    s = eta + psi
    hinv = linalg.inv(P.info)
    return hinv @ (s.T @ s) @ hinv


@strict_keywords
def fine_gray(time: Any, status: Any, covariates: Any, *, data: pd.DataFrame | None = None,
              failcode: float = 1, cencode: float = 0, cengroup: Any = None,
              censoring: Literal["crr", "left"] = "crr", conf: float = 0.95,
              missing: Literal["error", "omit"] = "error", name: str = "survival.finegray",
              section: str = "efficacy") -> Result:
    """Subdistribution hazard ratios (SHR) with Wald CIs, as ``cmprsk::crr``.

    Parameters
    ----------
    time, status : str or array-like
        Follow-up time and status code: columns of ``data``, or the values (crr's
        ``ftime``, ``fstatus``).
    covariates : list of str, or DataFrame / mapping / array
        Covariate columns of ``data`` (text columns get treatment contrasts, first level
        = reference); without ``data``, as :func:`~remission.stats.survival.coxph.cox`.
    data : DataFrame, optional
        One row per subject, holding the named columns.
    failcode, cencode : number
        Status code of the event of interest and of a censoring, as crr; any other code
        is a competing event.
    cengroup : str or array-like, optional
        Censoring groups, a column of ``data`` or the values (crr's ``cengroup``): a
        separate censoring distribution is estimated in each group.
    censoring : {"crr", "left"}
        Read G as crr does (default) or at the textbook left limit G(t-) (differs only
        with competing events and censorings at time 0).
    conf : float
        Confidence level of the Wald CIs.
    missing : {"error", "omit"}
        Missing values are reported as input errors, or ``"omit"`` drops incomplete rows
        (R's ``na.omit``, crr's default) with a warning.
    name, section : str
        Result name and report section.

    Returns
    -------
    Result
        Rows = coefficients; columns ``coef, SHR, SHR_lo, SHR_hi, se, z, p``.

    Raises
    ------
    InputError
        Missing columns or values, bad times or codes, no event of interest, constant or
        collinear covariates.
    TypeError
        Unknown keyword arguments (say so rather than fit something else), or the table
        passed first (``data=`` is a keyword).

    References
    ----------
    Fine JP, Gray RJ. J Am Stat Assoc 1999;94:496-509.

    Examples
    --------
    R ``crr(t, s, cbind(x))`` gives coefficient 1.604471 (se 1.037020):

    >>> df = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
    ...                    "s": [1, 2, 0, 1, 1, 2, 1, 0, 2, 1, 1, 0],
    ...                    "x": [0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0]})
    >>> fine_gray("t", "s", ["x"], data=df).table.loc["x", ["coef", "se"]].round(6).tolist()
    [1.604471, 1.03702]
    """
    data, cols, covariates = model_frame("fine_gray", data, covariates,
                                         {"time": time, "status": status, "cengroup": cengroup})
    time, status, cengroup = cols["time"], cols["status"], cols["cengroup"]
    if missing not in ("error", "omit"):
        raise ValueError(f"missing must be 'error' or 'omit', got {missing!r}")
    needed = [time, status, *covariates, *([cengroup] if cengroup else [])]
    data, dropped = check_frame(data, needed, missing)
    log = ProblemLog()
    tt = pd.to_numeric(data[time], errors="coerce").to_numpy(float)
    ss = pd.to_numeric(data[status], errors="coerce").to_numpy(float)
    for i in np.flatnonzero(~np.isfinite(tt) | (tt < 0)):
        log.add("model data", "time must be a number >= 0", row=int(i) + 2, column=time,
                value=data[time].iloc[i], expected="a follow-up time >= 0")
    for i in np.flatnonzero(~np.isfinite(ss)):
        log.add("model data", "status must be a numeric code", row=int(i) + 2,
                column=status, value=data[status].iloc[i],
                expected=f"failcode {failcode}, cencode {cencode} or a competing-event code")
    if failcode == cencode:
        log.add("model data", "failcode equals cencode", column=status, value=failcode,
                expected="different codes for the event of interest and censoring")
    elif len(ss) and not (ss == failcode).any():
        log.add("model data", "no event of interest", column=status, value=failcode,
                expected=f"failcode among the codes present {sorted(set(ss[np.isfinite(ss)]))}")
    log.raise_if_any()
    x, names, _ = design(data, covariates)
    check_design(x, names)
    groups = None if cengroup is None else data[cengroup].astype(str).to_numpy()
    fit = _fit_arrays(tt, ss, x, failcode=failcode, cencode=cencode,
                              cengroup=groups, censoring=censoring, names=names)
    z = z_value(conf)
    se = fit.se
    zz = fit.coef / se
    tab = pd.DataFrame({"coef": fit.coef, "SHR": np.exp(fit.coef),
                        "SHR_lo": np.exp(fit.coef - z * se), "SHR_hi": np.exp(fit.coef + z * se),
                        "se": se, "z": zz, "p": 2 * stats.norm.sf(np.abs(zz))}, index=names)
    warns = [] if fit.converged else ["Newton–Raphson did not converge"]
    if dropped:
        warns.extend(omitted_warning(dropped))
    where = ("read just below each time as crr (G(0) at time 0)" if censoring == "crr"
             else "read at the left limit G(t-)")
    grp = (f", estimated separately in {fit.groups} censoring groups ({cengroup})"
           if cengroup else "")
    return Result(
        name=name, title="Fine–Gray subdistribution hazards model", table=tab, section=section,
        method=("Fine–Gray proportional subdistribution hazards regression for status "
                f"{failcode:g} (censoring code {cencode:g}; other codes competing), IPCW risk "
                f"sets with the censoring Kaplan–Meier {where}{grp}, Breslow ties, "
                f"sandwich variance, {conf:.0%} Wald CIs (as R cmprsk::crr)."),
        rationale=("Covariate effects on the cumulative incidence in the presence of "
                   "competing events."),
        warnings=tuple(warns),
        references=("Fine JP, Gray RJ. J Am Stat Assoc 1999;94:496-509.",
                    "Gray RJ. cmprsk (R package): crr."),
        params={"failcode": failcode, "cencode": cencode, "cengroup": cengroup,
                "censoring": censoring, "conf": conf, "n": fit.n, "events": fit.events,
                "loglik": fit.loglik, "omitted": dropped},
    )
