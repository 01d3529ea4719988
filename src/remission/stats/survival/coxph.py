"""Cox proportional-hazards regression (Efron ties), as R ``survival::coxph``.

Own Newton–Raphson on the Efron partial likelihood (``_coxcore``) so that the score
test, the information matrix and the ``cox.zph`` test are all computed exactly as R
does; supports strata and (start, stop] counting-process data (time-dependent
covariates such as transplant). Reports HR with Wald CI, and the likelihood-ratio,
Wald and score (log-rank) global tests printed by ``summary(coxph)``.

The proportional-hazards check follows R >= 4.0 ``cox.zph(transform = "km")``: a score
test, at the fitted beta, for adding ``x * g(t)`` terms, with ``g`` the left-continuous
``1 - KM(t)`` centred over events, using the full 2p information matrix.

References
----------
Cox DR. J R Stat Soc B 1972;34:187-220.
Efron B. J Am Stat Assoc 1977;72:557-65.
Andersen PK, Gill RD. Ann Stat 1982;10:1100-20 (counting process).
Grambsch PM, Therneau TM. Biometrika 1994;81:515-26.
Therneau TM, Grambsch PM. Modeling Survival Data. Springer 2000.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from remission.errors import InputError, Problem
from remission.results import Result
from remission.stats.design import check_design, check_frame, design
from remission.stats.profile import profile_limits
from remission.stats.survival._coxcore import COMPILED_FROM, efron_stratum
from remission.stats.survival._input import (
    check_survival,
    model_frame,
    omitted_warning,
    strict_keywords,
    z_value,
)

COX_REFS = (
    "Cox DR. J R Stat Soc B 1972;34:187-220.",
    "Efron B. J Am Stat Assoc 1977;72:557-65.",
    "Andersen PK, Gill RD. Ann Stat 1982;10:1100-20.",
    "Therneau TM. survival: coxph, cox.zph (R package).",
)


@dataclass
class _CoxFit:
    """Fitted Cox model on numeric design ``x`` (columns ``names``); the public entry
    is :func:`cox`, which returns its Result."""

    names: list[str]
    coef: np.ndarray
    var: np.ndarray
    loglik0: float
    loglik: float
    score_test: float
    iterations: int
    n: int
    events: int
    x: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    start: np.ndarray | None
    strata: np.ndarray
    terms: dict[str, list[int]] = field(default_factory=dict)
    converged: bool = True
    monotone: bool = False
    ties: str = "efron"
    dropped: int = 0
    infinite: list[int] = field(default_factory=list)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))

    def wald_test(self) -> float:
        return float(self.coef @ np.linalg.pinv(self.var) @ self.coef)


_ORDER_CACHE: dict[int, Any] = {}


def _orders(stop, start, strata):
    """Per-stratum (mask, stop order, start order), cached for one fit's arrays."""
    key = (id(stop), id(start), id(strata))
    hit = _ORDER_CACHE.get(key)
    if hit is not None and hit[0] is stop and hit[1] is start and hit[2] is strata:
        return hit[3]
    out = []
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        # contiguous strata (_fit_arrays sorts by stratum, stop) are sliced as views
        m = slice(idx[0], idx[-1] + 1) if idx[-1] - idx[0] + 1 == len(idx) else idx
        st = stop[m]
        so = None if np.all(st[1:] >= st[:-1]) else np.argsort(st, kind="stable")
        out.append((m, (so, None if start is None else np.argsort(start[m], kind="stable"))))
    _ORDER_CACHE.clear()
    _ORDER_CACHE[key] = (stop, start, strata, out)
    return out


#: rows per ``x @ b`` block: below OpenBLAS's threading threshold (m * n < 9,216), so the
#: product never wakes BLAS threads, whose spinning after each call took a core from
#: the rest of the fit on a busy 2-core machine. Rows are independent dot products, so
#: the result is the same, bit for bit, as one call.
_MATVEC_ROWS = 1024


def _matvec(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x @ b`` for a tall (n, p) ``x`` with small p, one BLAS call per row block."""
    if x.shape[0] * max(x.shape[1], 1) < 9_216:
        return x @ b
    out = np.empty(x.shape[0])
    step = max(1, _MATVEC_ROWS * 8 // max(x.shape[1], 8))
    for lo in range(0, x.shape[0], step):
        np.matmul(x[lo:lo + step], b, out=out[lo:lo + step])
    return out


def _total(x, stop, event, start, strata, beta, want_var=True, ties="efron", parts=True):
    ll, u, info, out = 0.0, np.zeros(x.shape[1]), np.zeros((x.shape[1],) * 2), []
    eta = _matvec(x, beta)
    for m, order in _orders(stop, start, strata):
        if (not parts and want_var and start is None and order[0] is None
                and len(stop[m]) >= COMPILED_FROM):
            # large right-censored stratum, sorted by stop: one compiled backward pass
            from remission.stats.survival._kernels import efron_sorted

            a, b, c = efron_sorted(np.ascontiguousarray(stop[m], dtype=np.float64),
                                   np.ascontiguousarray(event[m], dtype=np.int64),
                                   np.ascontiguousarray(x[m], dtype=np.float64),
                                   np.ascontiguousarray(eta[m], dtype=np.float64),
                                   ties == "breslow")
            ll, u, info = ll + a, u + b, info + c
            continue
        rows = efron_stratum(None if start is None else start[m], stop[m], event[m], x[m],
                             eta[m], want_var, order, ties)
        ll, u, info = ll + rows.loglik, u + rows.score, info + rows.info
        out.append((m, rows))
    return ll, u, info, out


def _fit_arrays(x: np.ndarray, stop: np.ndarray, event: np.ndarray,
                   start: np.ndarray | None = None, strata: np.ndarray | None = None,
                   names: Sequence[str] | None = None, max_iter: int = 50,
                   tol: float = 1e-12, ties: str = "efron") -> _CoxFit:
    """Newton–Raphson with step halving on the Efron partial likelihood.

    Covariates are centred (as coxph) for stability; coefficients are unaffected.
    """
    x = np.asarray(x, float)
    n, p = x.shape
    strata = np.zeros(n, int) if strata is None else np.asarray(strata)
    # sort once by (stratum, stop): strata become contiguous slices, no per-iteration sorts
    perm = np.lexsort((stop, strata))
    x, stop, event, strata = x[perm], np.asarray(stop)[perm], np.asarray(event)[perm], \
        strata[perm]
    start = None if start is None else np.asarray(start)[perm]
    xc = x - x.mean(0)
    beta = np.zeros(p)
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    ll, u, info, _ = _total(xc, stop, event, start, strata, beta, ties=ties, parts=False)
    ll0 = ll
    score = float(u @ linalg.solve(info, u, assume_a="pos")) if p else 0.0
    it = 0
    converged = False
    for it in range(1, max_iter + 1):  # noqa: B007
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", linalg.LinAlgWarning)
                step = linalg.solve(info, u, assume_a="pos")
        except (linalg.LinAlgError, linalg.LinAlgWarning):
            break  # information singular: a coefficient is running off to infinity
        if not np.all(np.isfinite(step)):
            break
        new = beta + step
        ll_new, u_new, info_new, _ = _total(xc, stop, event, start, strata, new, ties=ties,
                                            parts=False)
        halvings = 0
        while not np.isfinite(ll_new) or ll_new < ll - 1e-12 * abs(ll):
            step /= 2
            new = beta + step
            ll_new, u_new, info_new, _ = _total(xc, stop, event, start, strata, new,
                                                ties=ties, parts=False)
            halvings += 1
            if halvings > 30:
                break
        done = abs(ll_new - ll) <= tol * max(1.0, abs(ll)) and np.max(np.abs(step)) < 1e-9
        beta, ll, u, info = new, ll_new, u_new, info_new
        if done:
            converged = True
            break
    monotone = (not converged) or bool(np.max(np.abs(beta), initial=0) > 15)
    if monotone:  # stop where R stops, so coef and its (huge) SE are R's
        beta, ll, info, it = _newton_as_coxph(xc, stop, event, start, strata, p, ties)
    var = _inverse(info)
    infinite = []
    if monotone:  # R coxph.fit: |u var| > eps and > toler.inf |coef| flags a coefficient
        u_end = _total(xc, stop, event, start, strata, beta, ties=ties)[1]
        infs = np.abs(u_end @ var)
        infinite = [int(j) for j in np.flatnonzero((infs > 1e-9)
                                                     & (infs > np.sqrt(1e-9) * np.abs(beta)))]
    return _CoxFit(list(names or [f"x{i}" for i in range(p)]), beta, var, ll0, ll, score, it,
                  n, int(event.sum()), x, stop, event, start, strata,
                  {nm: [i] for i, nm in enumerate(names or [f"x{i}" for i in range(p)])},
                  converged=converged and not monotone, monotone=monotone, ties=ties,
                  infinite=infinite)


def _inverse(info: np.ndarray) -> np.ndarray:
    """Inverse information; pseudo-inverse only if it is exactly singular."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", linalg.LinAlgWarning)
            return linalg.inv(info)
    except (linalg.LinAlgError, linalg.LinAlgWarning, ValueError):
        return linalg.pinv(info)


def _newton_as_coxph(xc, stop, event, start, strata, p, ties, eps=1e-9, iter_max=20):
    """R's ``coxfit6`` iteration (default ``coxph.control``): Newton from 0, step
    halving when the log-likelihood falls, stop when ``|1 - l_old/l_new| <= eps``.

    Used when the likelihood is monotone (a group without events), where the answer
    depends on where the iteration stops: R stops at |coef| ~ 20 with a huge SE."""
    beta = np.zeros(p)
    ll, u, info, _ = _total(xc, stop, event, start, strata, beta, ties=ties)
    new = beta + linalg.solve(info, u, assume_a="pos")
    halving = False
    it = 0
    for it in range(1, iter_max + 1):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ll_new, u_new, info_new, _ = _total(xc, stop, event, start, strata, new,
                                                ties=ties, parts=False)
        if np.isfinite(ll_new) and abs(1 - ll / ll_new) <= eps and not halving:
            return new, ll_new, info_new, it
        if it == iter_max:
            break
        if not np.isfinite(ll_new) or ll_new < ll:
            halving = True
            new = (new + beta) / 2
        else:
            halving = False
            beta, ll, info = new, ll_new, info_new
            new = beta + _inverse(info_new) @ u_new
    return new, ll_new, info_new, it


def _fit_frame(data: pd.DataFrame, time: str, event: str, covariates: Sequence[str], *,
               start: str | None = None, strata: str | None = None,
               ties: str = "efron", missing: str = "error") -> _CoxFit:
    """Fit ``coxph(Surv([start,] time, event) ~ covariates + strata(strata))`` on a table.

    ``missing="omit"`` drops incomplete rows (R's default) and records how many."""
    data, dropped = check_frame(data, [time, event, *covariates,
                                        *([start] if start else []),
                                        *([strata] if strata else [])], missing)
    t, e, s = check_survival(data[time], data[event],
                             start=None if start is None else data[start])
    if not e.any():
        raise InputError([Problem("model data", "no events, hazard ratios cannot be "
                                  "estimated", column=event, value=0,
                                  expected="at least one event (event = 1)")])
    x, names, terms = design(data, covariates)
    check_design(x, names)
    st = None if strata is None else pd.Categorical(data[strata]).codes.astype(int)
    fit = _fit_arrays(x, t, e, s, st, names, ties=ties)
    fit.terms = terms
    fit.dropped = dropped
    return fit


def _fit(function: str, time: Any, event: Any, covariates: Any, data: pd.DataFrame | None,
         start: Any, strata: Any, ties: str, missing: str) -> _CoxFit:
    """The model of :func:`cox`, :func:`cox_zph` and :func:`firth_cox`, from names or
    arrays."""
    frame, cols, covs = model_frame(function, data, covariates,
                                    {"time": time, "event": event, "start": start,
                                     "strata": strata})
    return _fit_frame(frame, cols["time"], cols["event"], covs, start=cols["start"],
                      strata=cols["strata"], ties=ties, missing=missing)


#: Column roles of the Cox tables (renderers format HR and its CI as ratios).
COX_ROLES = {"coef": "estimate", "HR": "ratio", "HR_lo": "ci_low:HR", "HR_hi": "ci_high:HR",
             "se": "estimate", "z": "estimate", "p": "p", "chisq": "estimate", "df": "count"}


def _result(fit: _CoxFit, conf: float = 0.95, name: str = "survival.cox",
               title: str = "Cox proportional-hazards model", section: str = "efficacy",
               ) -> Result:
    """HR table (rows = coefficients) plus ``"test: LR"``, ``"test: Wald"``, ``"test: score"``."""
    z = z_value(conf)
    se = fit.se
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        zz = fit.coef / se
        tab = pd.DataFrame({"coef": fit.coef, "HR": np.exp(fit.coef),
                            "HR_lo": np.exp(fit.coef - z * se),
                            "HR_hi": np.exp(fit.coef + z * se),
                            "se": se, "z": zz, "p": 2 * stats.norm.sf(np.abs(zz)),
                            "chisq": np.nan, "df": np.nan}, index=fit.names)
    p = len(fit.coef)
    for lab, val in [("LR", 2 * (fit.loglik - fit.loglik0)), ("Wald", fit.wald_test()),
                     ("score", fit.score_test)]:
        tab.loc[f"test: {lab}", ["chisq", "df", "p"]] = [val, p, stats.chi2.sf(val, p)]
    tab["value"] = np.nan
    if fit.start is None:  # Harrell's C of the linear predictor, as summary(coxph)
        from remission.stats.survival.concordance import concordance

        c, c_se, _ = concordance(fit.stop, fit.event, _matvec(fit.x, fit.coef),
                                 None if len(np.unique(fit.strata)) == 1 else fit.strata)
        tab.loc["concordance", ["value", "se"]] = [c, c_se]
    warns = []
    if fit.monotone:
        which = ", ".join(fit.names[j] for j in fit.infinite) or "a coefficient"
        warns.append(f"the partial likelihood is monotone ({which} diverges; e.g. no "
                     "events in one group): the estimate is where the iteration stopped "
                     "(as R coxph: 'Loglik converged before variable; coefficient may be "
                     "infinite'), its SE is huge and the Wald CI and P are not valid; "
                     "use firth_cox")
    if fit.dropped:
        warns.extend(omitted_warning(fit.dropped))
    if fit.events < 10 * max(p, 1):
        warns.append(f"{fit.events} events for {p} coefficients (< 10 per coefficient): "
                     "estimates may be unstable; consider Firth-penalised Cox")
    return Result(
        name=name, title=title, table=tab, section=section,
        method=(f"Cox proportional-hazards regression, {fit.ties.capitalize()} ties, "
                "Newton–Raphson (as R "
                f"coxph); hazard ratios with {conf:.0%} Wald CIs; likelihood-ratio, Wald and "
                "score (log-rank) global tests."
                + (" Counting-process (start, stop] data." if fit.start is not None else "")),
        rationale=("Efron's approximation is R's default and handles tied event times well. "
                   "Row 'concordance' holds Harrell's C (column 'value') with its "
                   "infinitesimal-jackknife SE, as summary(coxph)."),
        warnings=tuple(warns), references=COX_REFS,
        params={"conf": conf, "n": fit.n, "events": fit.events, "iterations": fit.iterations,
                "loglik": fit.loglik, "loglik0": fit.loglik0},
        roles=COX_ROLES,
    )


@strict_keywords
def cox(time: Any, event: Any, covariates: Any, *, data: pd.DataFrame | None = None,
        start: Any = None, strata: Any = None, ties: str = "efron", conf: float = 0.95,
        missing: str = "error", name: str = "survival.cox",
        title: str = "Cox proportional-hazards model", section: str = "efficacy") -> Result:
    """Cox proportional-hazards regression, as R ``coxph`` (Efron ties by default).

    Parameters
    ----------
    time : str or array-like of float
        Follow-up (stop) time: a column of ``data``, or the values.
    event : str or array-like of {0, 1}
        1 = event, 0 = censored.
    covariates : list of str, or DataFrame / mapping / array
        Covariate columns of ``data`` (text columns get treatment contrasts, first level
        = reference, as R's ``factor``); without ``data``, a DataFrame or mapping (its
        names name the coefficients) or an array (``x``, or ``x1 … xp``).
    data : DataFrame, optional
        Table holding the named columns.
    start : str or array-like, optional
        Entry time of (start, stop] counting-process rows (time-dependent covariates).
    strata : str or array-like, optional
        Stratum per row: a separate baseline hazard in each (``strata()`` in R).
    ties : {"efron", "breslow"}
        Handling of tied event times.
    conf : float
        Confidence level of the Wald intervals.
    missing : {"error", "omit"}
        Report missing values as input errors, or drop incomplete rows with a warning
        (R's ``na.omit``).
    name, title, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows = coefficients (``coef, HR, HR_lo, HR_hi, se, z, p``), ``"test: LR"``,
        ``"test: Wald"``, ``"test: score"`` (``chisq, df, p``) and ``"concordance"``
        (Harrell's C in ``value``, with ``se``; right-censored data only).

    Raises
    ------
    InputError
        Missing columns or values, bad times or events, no event at all, constant or collinear
        covariates.
    TypeError
        Unknown keyword arguments, or the table passed first (``data=`` is a keyword).

    See Also
    --------
    cox_zph : the proportional-hazards test of the same model.
    firth_cox : Firth's penalised fit for few events or monotone likelihood.

    References
    ----------
    Cox DR. J R Stat Soc B 1972;34:187-220. Efron B. J Am Stat Assoc 1977;72:557-65.
    Therneau TM. survival: coxph (R package).

    Examples
    --------
    R ``coxph(Surv(t, e) ~ g + x)`` gives coefficients 1.006719 (gB) and 0.156530 (x),
    score test 1.955404:

    >>> df = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
    ...                    "e": [1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1],
    ...                    "g": ["A"] * 6 + ["B"] * 6,
    ...                    "x": [0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0]})
    >>> res = cox("t", "e", ["g", "x"], data=df)
    >>> res.table.loc[["gB", "x"], "coef"].round(6).tolist()
    [1.006719, 0.15653]
    >>> round(float(res.table.loc["test: score", "chisq"]), 6)
    1.955404

    Arrays work too (the covariates' names name the coefficients):

    >>> cox(df["t"], df["e"], {"x": df["x"]}).row_keys()[:1]
    ['x']
    """
    fit = _fit("cox", time, event, covariates, data, start, strata, ties, missing)
    return _result(fit, conf, name=name, title=title, section=section)


def _km_left(stop: np.ndarray, event: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """1 - KM(t-) at each ``stop`` (pooled over strata), as cox.zph's "km" transform."""
    et = np.unique(stop[event == 1])
    nrisk = len(stop) - np.searchsorted(np.sort(stop), et, side="left")
    if start is not None:
        nrisk = nrisk - (len(start) - np.searchsorted(np.sort(start), et, side="left"))
    d = np.bincount(np.searchsorted(et, stop[event == 1]), minlength=len(et))
    surv = np.cumprod(1 - d / nrisk)
    k = np.searchsorted(et, stop, side="left")  # number of event times < t
    return 1 - np.concatenate([[1.0], surv])[k]


def _quad(a: np.ndarray, u: np.ndarray) -> float:
    """u' a^-1 u, NaN when ``a`` is singular (e.g. a monotone-likelihood fit)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", linalg.LinAlgWarning)
            return float(u @ linalg.solve(a, u))
    except (linalg.LinAlgError, linalg.LinAlgWarning):
        return float("nan")


@strict_keywords
def cox_zph(time: Any, event: Any, covariates: Any, *, data: pd.DataFrame | None = None,
            start: Any = None, strata: Any = None, ties: str = "efron",
            missing: str = "error", name: str = "survival.cox_zph",
            section: str = "efficacy") -> Result:
    """Test of proportional hazards per term and GLOBAL, as R >= 4 ``cox.zph``.

    Parameters
    ----------
    time, event, covariates, data, start, strata, ties, missing
        The Cox model, as :func:`cox`.
    name, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows = terms and ``"GLOBAL"``; columns ``chisq, df, p``.

    References
    ----------
    Grambsch PM, Therneau TM. Biometrika 1994;81:515-26.

    Examples
    --------
    R ``cox.zph(coxph(Surv(t, e) ~ g + x))`` gives GLOBAL chisq 0.193937 on 2 df:

    >>> df = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
    ...                    "e": [1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1],
    ...                    "g": ["A"] * 6 + ["B"] * 6,
    ...                    "x": [0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0]})
    >>> round(float(cox_zph("t", "e", ["g", "x"], data=df).table.loc["GLOBAL", "chisq"]), 6)
    0.193937
    """
    return _zph(_fit("cox_zph", time, event, covariates, data, start, strata, ties, missing),
                name, section)


def _zph(fit: _CoxFit, name: str, section: str) -> Result:
    g_all = _km_left(fit.stop, fit.event, fit.start)
    g_all = g_all - g_all[fit.event == 1].mean()
    xc = fit.x - fit.x.mean(0)
    p = len(fit.coef)
    u2 = np.zeros(p)
    imat = np.zeros((2 * p, 2 * p))
    _, _, _, parts = _total(xc, fit.stop, fit.event, fit.start, fit.strata, fit.coef,
                            ties=fit.ties)
    for m, rows in parts:
        # g at each event time of this stratum
        st, gs = fit.stop[m], g_all[m]
        order = np.argsort(st, kind="stable")
        gt = gs[order][np.searchsorted(st[order], rows.event_times)]
        u2 += (gt[:, None] * (rows.xsum_dead - rows.mean_sum)).sum(0)
        v = rows.info_t
        imat[:p, :p] += v.sum(0)
        imat[:p, p:] += (gt[:, None, None] * v).sum(0)
        imat[p:, p:] += (gt[:, None, None] ** 2 * v).sum(0)
    imat[p:, :p] = imat[:p, p:].T
    rows_out, idx = [], []
    for term, cols in fit.terms.items():
        kk = list(range(p)) + [c + p for c in cols]
        uu = np.concatenate([np.zeros(p), u2[cols]])
        stat = _quad(imat[np.ix_(kk, kk)], uu)
        rows_out.append((stat, len(cols)))
        idx.append(term)
    uu = np.concatenate([np.zeros(p), u2])
    rows_out.append((_quad(imat, uu), p))
    idx.append("GLOBAL")
    tab = pd.DataFrame(rows_out, columns=["chisq", "df"], index=idx)
    tab["p"] = stats.chi2.sf(tab["chisq"], tab["df"])
    warns = [f"{t}: proportional hazards rejected at 5% (p = {pv:.3g})"
             for t, pv in tab["p"].items() if pv < 0.05]
    return Result(
        name=name, title="Test of proportional hazards", table=tab, section=section,
        method=("Score test for time-varying coefficients x·g(t), g = 1 − KM(t−) centred "
                "(R >= 4.0 cox.zph, transform = 'km'), per term and global."),
        rationale="Grambsch–Therneau test as implemented in R's survival package.",
        warnings=tuple(warns) + omitted_warning(fit.dropped),
        references=("Grambsch PM, Therneau TM. Biometrika 1994;81:515-26.",
                    "Therneau TM. survival: cox.zph (R package)."),
        params={"transform": "km"},
    )


# --- Firth-penalised Cox ---------------------------------------------------------------

def _pen_loglik(beta, xc, stop, event, start, strata, ties="efron"
                ) -> tuple[float, np.ndarray]:
    """Penalised log partial likelihood l(b) + ½ log|I(b)| and its gradient.

    The penalty's gradient is taken by central differences (step 1e-6), accurate to
    ~1e-10 for these smooth functions; the likelihood part is analytic.
    """
    ll, u, info, _ = _total(xc, stop, event, start, strata, beta, ties=ties)
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0 or not np.isfinite(ll):
        return -np.inf, np.zeros_like(beta)
    g = np.zeros_like(beta)
    h = 1e-6
    for j in range(len(beta)):
        e = np.zeros_like(beta)
        e[j] = h
        lp = np.linalg.slogdet(_total(xc, stop, event, start, strata, beta + e,
                                      ties=ties)[2])[1]
        lm = np.linalg.slogdet(_total(xc, stop, event, start, strata, beta - e,
                                      ties=ties)[2])[1]
        g[j] = (lp - lm) / (4 * h)
    return ll + 0.5 * logdet, u + g


def _pen_max(xc, stop, event, start, strata, ties="efron",
             fixed: dict[int, float] | None = None,
             x0: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    from scipy import optimize

    p = xc.shape[1]
    fixed = fixed or {}
    free = [j for j in range(p) if j not in fixed]
    base = np.zeros(p) if x0 is None else x0.copy()
    for j, v in fixed.items():
        base[j] = v

    def full(bf):
        b = base.copy()
        b[free] = bf
        return b

    def obj(bf):
        val, g = _pen_loglik(full(bf), xc, stop, event, start, strata, ties)
        if not np.isfinite(val):
            return 1e300, np.zeros(len(free))
        return -val, -g[free]

    if not free:
        return base, _pen_loglik(base, xc, stop, event, start, strata, ties)[0]
    res = optimize.minimize(obj, base[free], jac=True, method="BFGS",
                            options={"gtol": 1e-9, "maxiter": 500})
    return full(res.x), -float(res.fun)


@strict_keywords
def firth_cox(time: Any, event: Any, covariates: Any, *, data: pd.DataFrame | None = None,
              start: Any = None, strata: Any = None, conf: float = 0.95,
              ties: str = "efron", missing: str = "error", name: str = "survival.cox_firth",
              section: str = "efficacy") -> Result:
    """Firth-penalised Cox model (Heinze & Schemper 2001) for few events / monotone
    likelihood: coefficients maximise ``l(b) + ½ log|I(b)|``; CIs and P values from the
    profile penalised likelihood (penalised likelihood-ratio), as R ``coxphf``.

    Ties use Efron's approximation by default, consistent with :func:`cox`;
    ``ties="breslow"`` gives coxphf's handling of tied event times.

    Parameters
    ----------
    time, event, covariates, data, start, strata, ties, conf, missing
        As :func:`cox`.
    name, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows = coefficients; columns ``coef, HR, HR_lo, HR_hi, se, p`` (profile
        penalised-likelihood CIs and P values).

    References
    ----------
    Firth D. Biometrika 1993;80:27-38. Heinze G, Schemper M. Biometrics 2001;57:114-9.

    Examples
    --------
    No events in group B: ordinary Cox diverges, Firth's estimate is finite.

    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 1, 0, 0, 0, 0, 0],
    ...                    "g": ["A", "A", "A", "A", "B", "B", "B", "B"]})
    >>> bool(abs(firth_cox("t", "e", ["g"], data=df).table.loc["gB", "coef"]) < 5)
    True
    """

    fit = _fit("firth_cox", time, event, covariates, data, start, strata, ties, missing)
    xc = fit.x - fit.x.mean(0)
    args = (xc, fit.stop, fit.event, fit.start, fit.strata, ties)
    beta, best = _pen_max(*args)
    info = _total(*args[:5], beta, ties=ties)[2]
    se = np.sqrt(np.diag(linalg.inv(info)))
    crit = stats.chi2.ppf(conf, 1)
    lo, hi, pv = [], [], []
    for j in range(len(beta)):
        def prof(b, j=j):
            return 2 * (best - _pen_max(*args, fixed={j: b}, x0=beta)[1]) - crit

        bounds = profile_limits(prof, beta[j], max(2 * se[j], 0.5), max_doublings=12,
                                xtol=1e-10)
        lo.append(bounds[0])
        hi.append(bounds[1])
        stat = max(0.0, 2 * (best - _pen_max(*args, fixed={j: 0.0}, x0=beta)[1]))
        pv.append(float(stats.chi2.sf(stat, 1)))
    lo_a, hi_a = np.array(lo), np.array(hi)
    tab = pd.DataFrame({"coef": beta, "HR": np.exp(beta), "HR_lo": np.exp(lo_a),
                        "HR_hi": np.exp(hi_a), "se": se, "p": pv}, index=fit.names)
    warns = omitted_warning(fit.dropped)
    return Result(
        name=name, title="Firth-penalised Cox model", table=tab, section=section,
        warnings=warns,
        method=(f"Cox regression with Firth's penalty ½·log|I(β)| ({ties.capitalize()} ties); "
                f"{conf:.0%} profile-penalised-likelihood CIs and penalised likelihood-ratio "
                "P values (as R coxphf)."),
        rationale=(f"{fit.events} events for {len(beta)} coefficients: Firth's penalty "
                   "removes small-sample bias and gives finite estimates under monotone "
                   "likelihood."),
        references=("Firth D. Biometrika 1993;80:27-38.",
                    "Heinze G, Schemper M. Biometrics 2001;57:114-9.", *COX_REFS),
        params={"conf": conf, "n": fit.n, "events": fit.events, "penalised_loglik": best},
    )
