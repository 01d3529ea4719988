"""Log-rank and Fleming–Harrington G-rho tests, k groups, optionally stratified.

Matches R ``survival::survdiff(Surv(time, status) ~ group + strata(s), rho = rho)``:
at each distinct event time the weight is ``S(t-)^rho`` with ``S`` the pooled
Kaplan–Meier estimate within the stratum (rho = 0: log-rank; rho = 1: Peto–Peto
/ Prentice modification of the Gehan–Wilcoxon test). Observed and expected counts are
weighted; the statistic is ``(O-E)' V^- (O-E)`` on k-1 df, summed over strata.

References
----------
Mantel N. Cancer Chemother Rep 1966;50:163-70.
Harrington DP, Fleming TR. Biometrika 1982;69:553-66.
Therneau TM. survival: survdiff.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from remission.results import Result
from remission.stats.survival._input import (
    as_categorical,
    check_survival,
    omitted_warning,
    resolve_columns,
    strict_keywords,
)


def _stratum_terms(t: np.ndarray, e: np.ndarray, g: np.ndarray, k: int, rho: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ut, inv = np.unique(t, return_inverse=True)
    nt = len(ut)
    at = np.bincount(inv * k + g, minlength=nt * k).reshape(nt, k).astype(float)
    dg = np.bincount(inv * k + g, weights=e.astype(float), minlength=nt * k).reshape(nt, k)
    risk = np.cumsum(at[::-1], axis=0)[::-1]
    d = dg.sum(1)
    keep = d > 0
    risk, dg, d = risk[keep], dg[keep], d[keep]
    n = risk.sum(1)
    s_after = np.cumprod(1 - d / n)
    s_before = np.concatenate([[1.0], s_after[:-1]])
    w = s_before**rho if rho != 0 else np.ones_like(d)
    obs = (w[:, None] * dg).sum(0)
    exp = (w[:, None] * d[:, None] * risk / n[:, None]).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n > 1, w**2 * d * (n - d) / (n - 1), 0.0)
    p = risk / n[:, None]
    var = np.diag((f[:, None] * p).sum(0)) - (f[:, None, None] * p[:, :, None] * p[:, None, :]
                                               ).sum(0)
    return obs, exp, var


@strict_keywords
def logrank(time: Any, event: Any, group: Any, *, data: pd.DataFrame | None = None,
            strata: Any = None, rho: float = 0.0, missing: str = "error",
            name: str = "survival.logrank", title: str | None = None,
            section: str = "efficacy") -> Result:
    """k-sample (stratified) log-rank or G-rho test, as R ``survdiff``.

    Parameters
    ----------
    time : array-like of float, or str
        Follow-up times, or their column in ``data``.
    event : array-like of {0, 1}, or str
        1 = event, 0 = censored.
    group : array-like or str
        Group label per patient (at least two groups, no missing values).
    data : DataFrame, optional
        Table holding the named columns.
    strata : array-like or str, optional
        Stratum per patient: the test sums within-stratum terms (``strata()`` in R).
    rho : float
        Fleming–Harrington weight ``S(t-)^rho``: 0 is the log-rank test, 1 Peto–Peto.
    missing : {"error", "omit"}
        Report missing values as input errors, or drop incomplete rows with a warning.
    name, title, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows = groups (``n, observed, expected, (O-E)^2/V``; weighted when rho != 0, as
        survdiff) plus row ``"test"`` (``chisq, df, p``).

    Raises
    ------
    InputError
        Every bad time, event, group or stratum value.
    ValueError
        Fewer than two groups.

    References
    ----------
    Mantel N. Cancer Chemother Rep 1966;50:163-70. Harrington DP, Fleming TR.
    Biometrika 1982;69:553-66.

    Examples
    --------
    R ``survdiff(Surv(t, e) ~ g)`` on these data gives chisq 2.063806 on 1 df:

    >>> df = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
    ...                    "e": [1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1],
    ...                    "g": ["A"] * 6 + ["B"] * 6})
    >>> res = logrank("t", "e", "g", data=df)
    >>> round(float(res.table.loc["test", "chisq"]), 6), int(res.table.loc["test", "df"])
    (2.063806, 1)
    """
    cols, dropped = resolve_columns("logrank", data, missing,
                                    {"time": time, "event": event, "group": group,
                                     "strata": strata})
    time, event, group, strata = cols["time"], cols["event"], cols["group"], cols["strata"]
    checks = [("group", group)] + ([("strata", strata)] if strata is not None else [])
    t, e, _ = check_survival(time, event, groups=checks)
    gcat = as_categorical(group)
    labels, g = [str(x) for x in gcat.categories.tolist()], gcat.codes.astype(int)
    k = len(labels)
    if k < 2:
        raise ValueError("log-rank test needs at least two groups")
    s = (np.zeros(len(t), int) if strata is None else
         as_categorical(strata).codes.astype(int))
    obs, exp, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    for sv in np.unique(s):
        m = s == sv
        o, x, v = _stratum_terms(t[m], e[m], g[m], k, rho)
        obs, exp, var = obs + o, exp + x, var + v
    diff = obs - exp
    # generalised inverse on the first k-1 groups, as survdiff
    sub = var[:-1, :-1]
    df = int(np.linalg.matrix_rank(sub, tol=1e-10 * max(1.0, float(np.abs(sub).max()))))
    chisq = float(diff[:-1] @ linalg.pinv(sub) @ diff[:-1]) if df > 0 else 0.0
    p = float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan")
    n_by = np.bincount(g, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({"n": n_by, "observed": obs, "expected": exp,
                              "(O-E)^2/V": diff**2 / np.diag(var),
                              "chisq": np.nan, "df": np.nan, "p": np.nan}, index=labels)
    table.loc["test", ["chisq", "df", "p"]] = [chisq, df, p]
    test = "log-rank" if rho == 0 else f"Fleming–Harrington G(rho={rho:g})"
    warns = [f"group {lab}: expected events < 5" for lab, x in zip(labels, exp, strict=True)
             if x < 5]
    return Result(
        name=name, title=title or f"{test} test", table=table, section=section,
        method=(f"{test} test of equality of survival across {k} groups"
                + (", stratified" if strata is not None else "")
                + f"; chi-square on {df} df (as R survdiff)."),
        rationale=("rho = 0 weights all event times equally (optimal under proportional "
                   "hazards); rho > 0 up-weights early differences."),
        warnings=tuple(warns) + omitted_warning(dropped),
        references=("Mantel N. Cancer Chemother Rep 1966;50:163-70.",
                    "Harrington DP, Fleming TR. Biometrika 1982;69:553-66.",
                    "Therneau TM. survival: survdiff."),
        params={"rho": rho, "stratified": strata is not None},
    )
