"""Competing risks: Aalen–Johansen cumulative incidence and Gray's K-sample test.

Deterministic with tied times (all events at a time are processed together; no
jittering). Estimates and variances follow Gray's ``cmprsk::cuminc`` exactly:
the CIF ``F_k(t) = sum_{s<=t} S(s-) d_k(s)/n(s)`` with ``S`` the all-cause KM, and the
delta-method variance of Gray (1988) computed by cuminc (not the Aalen or Greenwood
type variances of other software). Gray's test compares CIFs of one cause across
groups, optionally stratified, with weight ``(1 - F(t-))^rho``.

Pointwise CIs are not produced by cuminc; we give the log(-log) transformed interval
``F ** exp(±z·se/(F·log F))`` (Choudhury 2002), which stays inside (0, 1).

References
----------
Aalen OO, Johansen S. Scand J Stat 1978;5:141-50.
Gray RJ. Ann Stat 1988;16:1141-54.
Choudhury JB. Stat Med 2002;21:1129-44.
Gray RJ. cmprsk: Subdistribution Analysis of Competing Risks (R package), cuminc.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from remission.results import Result
from remission.stats.survival._input import (
    check_survival,
    omitted_warning,
    resolve_columns,
    strict_keywords,
    z_value,
)

CR_REFS = (
    "Aalen OO, Johansen S. Scand J Stat 1978;5:141-50.",
    "Gray RJ. Ann Stat 1988;16:1141-54.",
    "Choudhury JB. Stat Med 2002;21:1129-44.",
    "Gray RJ. cmprsk (R package): cuminc.",
)


def _numeric_status(status: Any) -> np.ndarray:
    """A status column as floats, NaN where a value is missing or not a number.

    For finding the causes before the input is checked; :func:`check_survival` then
    reports every unreadable value with its line (it is never silently dropped).

    Examples
    --------
    >>> _numeric_status([0, "2", "x", None]).tolist()
    [0.0, 2.0, nan, nan]
    """
    return pd.to_numeric(pd.Series(np.asarray(status, dtype=object).ravel()),
                         errors="coerce").to_numpy(float)


def present_causes(status: Any) -> list[int]:
    """The causes in a competing-risk status: its non-zero codes, sorted.

    Missing, non-finite and unreadable values (text that is not a number) are passed
    over here, so that :func:`check_survival` reports each of them with its line; 0 is
    censoring, every other code a cause (cmprsk's ``cencode = 0``).

    Parameters
    ----------
    status : array-like of number
        Status code per patient.

    Returns
    -------
    list of int
        The distinct non-zero codes present, in increasing order.

    Examples
    --------
    >>> present_causes([0, 2, 1, 2, float("nan"), 0])
    [1, 2]
    >>> present_causes([1, "x", None, 3])
    [1, 3]
    """
    st = _numeric_status(status)
    return sorted({int(c) for c in np.unique(st[np.isfinite(st)]) if c != 0})


def _checked_competing(time: Any, status: Any, group: Any, codes: list[int],
                       strata: Any = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(time, status, group labels, strata)`` of :func:`cuminc` and :func:`cif_curves`.

    Status codes must be 0 or one of ``codes``; a group and strata, when given, must match
    ``time`` in length and may not be missing (each bad value is reported, as
    :func:`gray` does); without a group every patient is in group ``"all"``. Times are
    not merged for floating-point noise (``timefix=False``), as cmprsk.
    """
    checks = ([("group", group)] if group is not None else []) + (
        [("strata", strata)] if strata is not None else [])
    t, s, _ = check_survival(time, status, groups=checks, event_codes=[0, *codes],
                             timefix=False)
    g = (np.array(["all"] * len(t), dtype=object) if group is None
         else np.asarray(group, dtype=object))
    st = None if strata is None else np.asarray(strata).ravel()
    return t, s, g, st


def cif_core(time: np.ndarray, status: np.ndarray, cause: int) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of one cause, with cmprsk's variance.

    The array kernel behind :func:`cuminc` and :func:`cif_curves`; inputs are not checked
    (the public entries do that). ``F(t) = sum_{s<=t} S(s-) d_cause(s) / n(s)`` with ``S``
    the all-cause Kaplan–Meier; tied times are processed together (no jitter).

    Parameters
    ----------
    time : ndarray of float
        Follow-up times (any unit).
    status : ndarray of int
        0 = censored, any other code = the cause of the event.
    cause : int
        The status code whose incidence is estimated.

    Returns
    -------
    DataFrame
        One row per distinct time with at least one ``cause`` event: ``time``, ``est``
        (cumulative incidence) and ``var`` (Gray's delta-method variance, as cmprsk
        ``cuminc``). ``attrs["max_time"]`` holds the last follow-up time.

    References
    ----------
    Aalen OO, Johansen S. Scand J Stat 1978;5:141-50. Gray RJ. Ann Stat 1988;16:1141-54.

    Examples
    --------
    By hand: F(1) = 1/6; at t = 2 (n = 5, S(2-) = 5/6, one cause-1 event)
    F(2) = 1/6 + 5/6 * 1/5 = 1/3; at t = 4 (n = 2, S(4-) = 1/2) F(4) = 1/3 + 1/4. R
    ``timepoints(cmprsk::cuminc(c(1,2,2,3,4,5), c(1,2,1,0,1,0)), c(1,2,4))`` gives var
    0.02777778, 0.04555556, 0.08333333 for cause 1:

    >>> f = cif_core(np.array([1, 2, 2, 3, 4, 5.0]), np.array([1, 2, 1, 0, 1, 0]), cause=1)
    >>> f.round(6).values.tolist()
    [[1.0, 0.166667, 0.027778], [2.0, 0.333333, 0.045556], [4.0, 0.583333, 0.083333]]
    """
    ut, inv = np.unique(time, return_inverse=True)
    nt = len(ut)
    n_at = np.bincount(inv, minlength=nt).astype(float)
    d1 = np.bincount(inv, weights=(status == cause).astype(float), minlength=nt)
    dall = np.bincount(inv, weights=(status != 0).astype(float), minlength=nt)
    d2 = dall - d1
    rs = np.cumsum(n_at[::-1])[::-1]
    ev = dall > 0
    rs, d1, d2, dall, tt = rs[ev], d1[ev], d2[ev], dall[ev], ut[ev]
    fkn = np.cumprod((rs - dall) / rs)  # S(t)
    fk = np.concatenate([[1.0], fkn[:-1]])  # S(t-)
    f = np.cumsum(fk * d1 / rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        t5_2 = np.where(d2 > 1, 1 - (d2 - 1) / (rs - 1), 1.0)
        t5_1 = np.where(d1 > 1, 1 - (d1 - 1) / (rs - 1), 1.0)
        inv_fkn = np.where(fkn > 0, 1 / fkn, 0.0)
        # other-cause contribution (only where S(t) > 0)
        t6 = np.where((d2 > 0) & (fkn > 0), fk**2 * t5_2 * d2 / rs**2, 0.0)
        t4 = f * inv_fkn
        v1 = t4**2 * t6
        v2 = inv_fkn * t4 * t6
        v3 = inv_fkn**2 * t6
        # cause-of-interest contribution
        t6 = np.where(d1 > 0, fk**2 * t5_1 * d1 / rs**2, 0.0)
        t4 = 1 + inv_fkn * f
        v1 = v1 + t4**2 * t6
        v2 = v2 + inv_fkn * t4 * t6
        v3 = v3 + inv_fkn**2 * t6
    c1, c2, c3 = np.cumsum(v1), np.cumsum(v2), np.cumsum(v3)
    var = c1 + f**2 * c3 - 2 * f * c2
    keep = d1 > 0
    out = pd.DataFrame({"time": tt[keep], "est": f[keep], "var": var[keep]})
    out.attrs["max_time"] = float(ut[-1]) if nt else float("nan")
    return out


def _cif_at(core: pd.DataFrame, times: Any) -> tuple[np.ndarray, np.ndarray]:
    """Step-function lookup of (est, var) at ``times`` (cmprsk ``timepoints``).

    Times past the group's last follow-up are NaN, as ``timepoints`` gives NA there.
    """
    tt = np.atleast_1d(np.asarray(times, float))
    k = np.searchsorted(core["time"].to_numpy(), tt, side="right") - 1
    est = np.where(k >= 0, core["est"].to_numpy()[np.maximum(k, 0)] if len(core) else 0, 0.0)
    var = np.where(k >= 0, core["var"].to_numpy()[np.maximum(k, 0)] if len(core) else 0, 0.0)
    beyond = tt > core.attrs.get("max_time", np.inf)
    return np.where(beyond, np.nan, est), np.where(beyond, np.nan, var)


def _cif_ci(est: np.ndarray, var: np.ndarray, conf: float = 0.95
           ) -> tuple[np.ndarray, np.ndarray]:
    """log(-log) CI ``F ** exp(±z se / (F log F))``; NaN where F is 0 or 1."""
    z = z_value(conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (est > 0) & (est < 1)
        k = z * np.sqrt(var) / (est * np.log(est))
        lo = np.where(ok, est ** np.exp(-k), np.nan)
        hi = np.where(ok, est ** np.exp(k), np.nan)
    return lo, hi


def _gray_stratum(y, m, ig, ng, rho):
    """Score vector (ng-1) and variance (ng-1 x ng-1) for one stratum (Gray 1988)."""
    ut, inv = np.unique(y, return_inverse=True)
    nt = len(ut)

    def cnt(mask):
        return np.bincount(inv * ng + ig, weights=mask.astype(float),
                           minlength=nt * ng).reshape(nt, ng)

    n_at = cnt(np.ones_like(m, bool))
    d1, d2 = cnt(m == 1), cnt(m == 2)
    rs = np.cumsum(n_at[::-1], axis=0)[::-1]
    nd1, nd2 = d1.sum(1), d2.sum(1)
    ev = (nd1 + nd2) > 0
    if not ev.any():
        # only censored patients: nothing to add to the score or its variance (as crstm)
        return np.zeros(ng - 1), np.zeros((ng - 1, ng - 1))
    rs, d1, d2, nd1, nd2 = rs[ev], d1[ev], d2[ev], nd1[ev], nd2[ev]
    pos = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        fac = np.where(pos, (rs - d1 - d2) / rs, 1.0)
        skm = np.cumprod(fac, axis=0)
        skmm = np.vstack([np.ones((1, ng)), skm[:-1]])
        inc = np.where(pos, skmm * d1 / rs, 0.0)
        f1 = np.cumsum(inc, axis=0)
        f1m = np.vstack([np.zeros((1, ng)), f1[:-1]])
        t1 = np.where(pos, rs / skmm, 0.0)
        tr = t1.sum(1)
        tq = np.where(pos, rs * (1 - f1m) / skmm, 0.0).sum(1)
        f = np.cumsum(nd1 / tr)
        fm = np.concatenate([[0.0], f[:-1]])
        fb = (1 - fm) ** rho
        a = -fb[:, None, None] * t1[:, :, None] * t1[:, None, :] / tr[:, None, None]
        diag = fb[:, None] * t1 * (1 - t1 / tr[:, None])
        idx = np.arange(ng)
        a[:, idx, idx] = diag
        a = np.where(pos[:, :, None] & pos[:, None, :], a, 0.0)
        c = np.cumsum(a * (nd1 / (tr * (1 - fm)))[:, None, None], axis=0)
        sc = np.where(pos, fb[:, None] * (d1 - nd1[:, None] * rs * (1 - f1m)
                                           / (skmm * tq[:, None])), 0.0).sum(0)[: ng - 1]
        # cause-of-interest terms
        t4 = np.where(skm > 0, 1 - (1 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1 - (nd1[:, None] - 1) / (tr[:, None] * skmm - 1), 1.0)
        t3 = np.where(pos & (nd1[:, None] > 0), t5 * skmm * nd1[:, None] / (tr[:, None] * rs),
                      0.0)
        v3 = (t4**2 * t3).sum(0)
        b = a[:, : ng - 1, :] - t4[:, None, :] * c[:, : ng - 1, :]  # (T, ng-1, ng)
        v2 = (b * (t4 * t3)[:, None, :]).sum(0)
        v = np.einsum("tik,tjk,tk->ij", b, b, t3)
        # other-cause terms
        ok2 = (skm > 0) & (d2 > 0)
        t4o = np.where(ok2, (1 - f[:, None]) / skm, 0.0)
        t5o = np.where(d2 > 1, 1 - (d2 - 1) / (rs - 1), 1.0)
        t3o = np.where(ok2, t5o * skmm**2 * d2 / rs**2, 0.0)
        v3 = v3 + (t4o**2 * t3o).sum(0)
        bo = t4o[:, None, :] * c[:, : ng - 1, :]
        v2 = v2 - (bo * (t4o * t3o)[:, None, :]).sum(0)
        v = v + np.einsum("tik,tjk,tk->ij", bo, bo, t3o)
    cf = c[-1, : ng - 1, :]
    v = v + (cf * v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    return sc, v


def _gray_statistic(time: np.ndarray, status: np.ndarray, group: np.ndarray, cause: int,
                   strata: np.ndarray | None = None, rho: float = 0.0
                   ) -> tuple[float, int, float]:
    """Gray's test for equal CIFs of ``cause`` across groups on checked arrays:
    ``(stat, df, p)``. The public entry is :func:`gray`."""
    gcat = pd.Categorical(pd.Series(np.asarray(group, dtype=object)))
    ig, ng = gcat.codes.astype(int), len(gcat.categories)
    m = np.where(status == cause, 1, np.where(status == 0, 0, 2))
    st = np.zeros(len(time), int) if strata is None else pd.Categorical(strata).codes
    s, v = np.zeros(ng - 1), np.zeros((ng - 1, ng - 1))
    for k in np.unique(st):
        w = st == k
        a, b = _gray_stratum(time[w], m[w], ig[w], ng, rho)
        s, v = s + a, v + b
    if np.linalg.matrix_rank(v) < len(v):
        # e.g. no events of this cause, or all of them in one group whose other patients
        # have left: no test (R cmprsk::cuminc reports stat -1, p 1; callers warn)
        return float("nan"), ng - 1, float("nan")
    stat = float(s @ linalg.solve(v, s))
    return stat, ng - 1, float(stats.chi2.sf(stat, ng - 1))


def _gray_warnings(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(f"Gray's test for {r['cause']} not computed: its variance matrix is "
                 "singular (too few events of this cause across the groups); R "
                 "cmprsk::cuminc reports stat = -1, p = 1 here" for r in rows
                 if r.get("group", "") == "" and np.isnan(r["stat"]))  # test rows only


@strict_keywords
def cuminc(time: Any, status: Any, group: Any = None, *, data: pd.DataFrame | None = None,
           strata: Any = None, rho: float = 0.0, times: Any = (), conf: float = 0.95,
           causes: Any = None, cause_labels: dict[int, str] | None = None,
           missing: str = "error", name: str = "survival.cuminc",
           title: str = "Cumulative incidence (competing risks)",
           section: str = "efficacy") -> Result:
    """Cumulative incidence per group and cause, with Gray's tests, as R ``cmprsk::cuminc``.

    Parameters
    ----------
    time : array-like of float, or str
        Follow-up times, or their column in ``data``.
    status : array-like of int, or str
        0 = censored, 1..K = cause of the event (e.g. 1 relapse, 2 non-relapse mortality).
    group : array-like or str, optional
        Group label per patient; with two or more groups Gray's test is added per cause.
    data : DataFrame, optional
        Table holding the named columns.
    strata : array-like or str, optional
        Strata of Gray's test (cuminc's ``strata``).
    rho : float
        Gray's test weight ``(1 - F(t-))^rho``.
    times : sequence of float
        Times at which each CIF is tabulated (cmprsk ``timepoints``).
    conf : float
        Confidence level of the pointwise log(−log) intervals.
    causes : sequence of int, optional
        Causes to estimate (default: every non-zero code present).
    cause_labels : dict, optional
        Cause code -> label for the row keys.
    missing : {"error", "omit"}
        Report missing values as input errors, or drop incomplete rows with a warning.
    name, title, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows ``"group | cause | t"`` (``group, cause, time, n, est, se, lower, upper``)
        and, with two or more groups, ``"test | cause"`` (``stat, df, p``).

    Raises
    ------
    InputError
        Every bad time, status, group or strata value (length, missing).

    References
    ----------
    Aalen OO, Johansen S. Scand J Stat 1978;5:141-50. Gray RJ. Ann Stat 1988;16:1141-54.

    Examples
    --------
    R ``timepoints(cuminc(t, s, g), 5)`` gives 0.375 (variance 0.06385) for group B,
    cause 1, and Gray's test for cause 1 stat 0.509799 (p 0.4752):

    >>> df = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
    ...                    "s": [1, 2, 0, 1, 1, 2, 1, 0, 2, 1, 1, 0],
    ...                    "g": ["A"] * 6 + ["B"] * 6})
    >>> res = cuminc("t", "s", "g", data=df, times=[5])
    >>> b = res.table.loc["B | 1 | 5"]
    >>> round(float(b["est"]), 6), round(float(b["se"]) ** 2, 6)
    (0.375, 0.06385)
    >>> round(float(res.table.loc["test | 1", "stat"]), 6)
    0.509799
    """
    cols, dropped = resolve_columns("cuminc", data, missing,
                                    {"time": time, "status": status, "group": group,
                                     "strata": strata})
    time, status, group, strata = (cols["time"], cols["status"], cols["group"],
                                   cols["strata"])
    codes = present_causes(status) if causes is None else list(causes)
    t, s, g, strata = _checked_competing(time, status, group, codes, strata)
    labels = list(pd.Categorical(pd.Series(g)).categories)
    tt = np.atleast_1d(np.asarray(times, float)) if len(np.atleast_1d(times)) else np.array([])
    rows, keys = [], []
    for lab in labels:
        w = g == lab
        for c in codes:
            core = cif_core(t[w], s[w], c)
            est, var = _cif_at(core, tt)
            lo, hi = _cif_ci(est, var, conf)
            cl = (cause_labels or {}).get(c, str(c))
            for i, x in enumerate(tt):
                keys.append(f"{lab} | {cl} | {x:g}")
                rows.append({"group": str(lab), "cause": cl, "time": x, "n": int(w.sum()),
                             "est": est[i], "se": np.sqrt(var[i]), "lower": lo[i],
                             "upper": hi[i], "stat": np.nan, "df": np.nan, "p": np.nan})
    if len(labels) > 1:
        for c in codes:
            stat, df, p = _gray_statistic(t, s, g, c, strata, rho)
            cl = (cause_labels or {}).get(c, str(c))
            keys.append(f"test | {cl}")
            rows.append({"group": "", "cause": cl, "time": np.nan, "n": len(t), "est": np.nan,
                         "se": np.nan, "lower": np.nan, "upper": np.nan, "stat": stat,
                         "df": df, "p": p})
    table = pd.DataFrame(rows, index=keys)
    warns = (() if codes else ("no events of any cause: nothing to estimate",)
             ) + _gray_warnings(rows) + omitted_warning(dropped)
    return Result(
        name=name, title=title, table=table, section=section, warnings=warns,
        method=("Aalen–Johansen cumulative incidence with Gray's variance (as R cmprsk::cuminc)"
                f"; {conf:.0%} log(−log) pointwise CIs; Gray's test"
                + (" stratified" if strata is not None else "") + f" with rho = {rho:g}."),
        rationale=("With competing events 1 − KM overstates incidence; the Aalen–Johansen "
                   "estimator accounts for subjects removed by the competing event."),
        references=CR_REFS, params={"conf": conf, "rho": rho, "causes": codes,
                                    "times": [float(x) for x in tt]},
    )


@strict_keywords
def gray(time: Any, status: Any, group: Any, *, data: pd.DataFrame | None = None,
         cause: int | None = None, strata: Any = None, rho: float = 0.0,
         cause_labels: dict[int, str] | None = None, missing: str = "error",
         name: str = "survival.gray", section: str = "efficacy") -> Result:
    """Gray's K-sample test of equal cumulative incidence, as R ``cmprsk::cuminc``'s Tests.

    Parameters
    ----------
    time, status, group, data, strata, rho, cause_labels, missing
        As :func:`cuminc` (``group`` is required: at least two groups).
    cause : int, optional
        Cause whose cumulative incidences are compared (default: every non-zero code
        present, one row each).
    name, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows ``"test | cause"`` with ``cause, stat, df, p``.

    Raises
    ------
    InputError
        Every bad time, status or group value.
    ValueError
        Fewer than two groups.

    References
    ----------
    Gray RJ. Ann Stat 1988;16:1141-54.

    Examples
    --------
    R ``cuminc(t, s, g)$Tests`` gives stat 0.509799 (p 0.4752) for cause 1 and 0.055256
    for cause 2:

    >>> df = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
    ...                    "s": [1, 2, 0, 1, 1, 2, 1, 0, 2, 1, 1, 0],
    ...                    "g": ["A"] * 6 + ["B"] * 6})
    >>> gray("t", "s", "g", data=df).table["stat"].round(6).tolist()
    [0.509799, 0.055256]
    """
    cols, dropped = resolve_columns("gray", data, missing,
                                    {"time": time, "status": status, "group": group,
                                     "strata": strata})
    st = _numeric_status(cols["status"])
    codes = [int(cause)] if cause is not None else present_causes(st)
    checks = [("group", cols["group"])] + ([("strata", cols["strata"])]
                                           if cols["strata"] is not None else [])
    t, s, _ = check_survival(cols["time"], cols["status"], groups=checks,
                             event_codes=sorted({0, *codes, *(int(c) for c in np.unique(
                                 st[np.isfinite(st)]))}), timefix=False)
    g = np.asarray(cols["group"], dtype=object).ravel()
    if len(pd.unique(g)) < 2:
        raise ValueError("Gray's test needs at least two groups")
    strata_arr = None if cols["strata"] is None else np.asarray(cols["strata"]).ravel()
    rows, keys = [], []
    for c in codes:
        stat, df, p = _gray_statistic(t, s, g, c, strata_arr, rho)
        label = (cause_labels or {}).get(c, str(c))
        keys.append(f"test | {label}")
        rows.append({"cause": label, "stat": stat, "df": df, "p": p})
    return Result(
        name=name, title="Gray's test of equal cumulative incidence", section=section,
        table=pd.DataFrame(rows, index=keys, columns=["cause", "stat", "df", "p"]),
        method=("Gray's K-sample test for equality of cumulative incidence functions"
                + (", stratified" if strata_arr is not None else "")
                + f", weight (1 - F(t-))^rho with rho = {rho:g} (as R cmprsk::cuminc)."),
        rationale=("Compares the incidence of one cause across groups while accounting "
                   "for the competing causes."),
        warnings=_gray_warnings(rows) + omitted_warning(dropped), references=CR_REFS,
        params={"rho": rho, "causes": codes, "stratified": strata_arr is not None})


class AalenJohansen:
    """lifelines-style wrapper: ``AalenJohansen(cause=1).fit(time, status).summary``.

    ``summary``: time, est, se, lower, upper at each time with an event of ``cause``
    (deterministic with ties; variance as cmprsk::cuminc).
    """

    def __init__(self, cause: int = 1, conf: float = 0.95) -> None:
        self.cause, self.conf = cause, conf

    def fit(self, time: Any, status: Any) -> AalenJohansen:
        codes = sorted({int(c) for c in np.unique(np.asarray(status, float)) if c != 0})
        t, s, _ = check_survival(time, status, event_codes=[0, *codes], timefix=False)
        core = cif_core(t, s, self.cause)
        lo, hi = _cif_ci(core["est"].to_numpy(), core["var"].to_numpy(), self.conf)
        self.summary = pd.DataFrame({"time": core["time"], "est": core["est"],
                                     "se": np.sqrt(core["var"]), "lower": lo, "upper": hi})
        self._core = core
        return self

    def at(self, times: Any) -> pd.DataFrame:
        est, var = _cif_at(self._core, times)
        lo, hi = _cif_ci(est, var, self.conf)
        return pd.DataFrame({"time": np.atleast_1d(np.asarray(times, float)), "est": est,
                             "se": np.sqrt(var), "lower": lo, "upper": hi})


@strict_keywords
def cif_curves(time: Any, status: Any, group: Any = None, *, data: pd.DataFrame | None = None,
               cause: int = 1, conf: float = 0.95, risk_times: Any = (), end: bool = False,
               missing: str = "error", name: str = "survival.cif_curves",
               section: str = "efficacy") -> Result:
    """CIF step-function data per group for renderers (which draw, never compute).

    Parameters
    ----------
    time, status, group, data, conf, missing
        As :func:`cuminc`.
    cause : int
        The cause whose cumulative incidence is drawn.
    risk_times : sequence of float, default ()
        Times of a number-at-risk table: rows ``"group | risk@t"`` with ``group, time,
        n_risk`` (patients with time >= t), after each group's curve.
    end : bool, default False
        Add a row ``"group | end"`` at each group's last follow-up time (``est``, ``se``
        and the CI carried forward), so a renderer draws the curve as far as follow-up
        goes.
    name, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows ``"group | k"`` with ``group, time, est, se, lower, upper, n_risk`` (k = 0 is
        time 0, est 0, with the group's size as ``n_risk``; later rows are the times of
        events of ``cause``), then the ``end`` and ``risk@t`` rows if asked. Groups are
        sorted.

    Examples
    --------
    By hand: F(1) = 1/4; at time 4 one patient is at risk, S(4-) = 3/4 · 2/3 = 1/2, so
    F(4) = 1/4 + 1/2:

    >>> cif_curves([1, 2, 3, 4], [1, 2, 0, 1]).table["est"].tolist()
    [0.0, 0.25, 0.75]
    """
    cols, dropped = resolve_columns("cif_curves", data, missing,
                                    {"time": time, "status": status, "group": group})
    time, status, group = cols["time"], cols["status"], cols["group"]
    t, s, g, _ = _checked_competing(time, status, group, present_causes(status))
    rt = np.atleast_1d(np.asarray(risk_times, float)) if len(np.atleast_1d(risk_times)) \
        else np.array([])
    frames = []
    for lab in pd.Categorical(pd.Series(g)).categories:
        tg = t[g == lab]
        core = cif_core(tg, s[g == lab], cause)
        lo, hi = _cif_ci(core["est"].to_numpy(), core["var"].to_numpy(), conf)
        ts = np.sort(tg)
        at_risk = len(ts) - np.searchsorted(ts, core["time"].to_numpy(), side="left")
        c = pd.DataFrame({"group": str(lab), "time": np.r_[0.0, core["time"]],
                          "est": np.r_[0.0, core["est"]], "se": np.r_[0.0, np.sqrt(core["var"])],
                          "lower": np.r_[np.nan, lo], "upper": np.r_[np.nan, hi],
                          "n_risk": np.r_[len(ts), at_risk].astype(int)})
        c.index = [f"{lab} | {i}" for i in range(len(c))]
        frames.append(c)
        if end:
            last = c.iloc[[-1]].copy()
            last["time"] = float(core.attrs["max_time"])
            last["n_risk"] = int((ts >= last["time"].iloc[0]).sum())
            last.index = [f"{lab} | end"]
            frames.append(last)
        if len(rt):
            frames.append(pd.DataFrame(
                {"group": str(lab), "time": rt,
                 "n_risk": len(ts) - np.searchsorted(ts, rt, side="left")},
                index=[f"{lab} | risk@{x:g}" for x in rt]))
    return Result(name=name, title=f"Cumulative incidence curves (cause {cause})",
                  table=pd.concat(frames), section=section,
                  warnings=omitted_warning(dropped),
                  method=("Aalen–Johansen step functions with Gray's variance (as cmprsk) "
                          f"and {conf:.0%} log(−log) CIs."),
                  references=CR_REFS, params={"cause": cause, "conf": conf,
                                              "risk_times": [float(x) for x in rt]})
