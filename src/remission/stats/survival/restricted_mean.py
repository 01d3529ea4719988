"""Restricted mean survival time (RMST) to a horizon tau, and two-group contrasts.

RMST(tau) is the area under the Kaplan–Meier curve on [0, tau]. Its variance is the
Greenwood-type delta-method sum ``sum_i A_i^2 d_i / (n_i (n_i - d_i))`` with ``A_i`` the
area from ``t_i`` to tau -- exactly what R ``print(survfit(...), rmean = tau)`` reports
as se(rmean) and what ``survRM2::rmst2`` uses. Groups are compared by the difference
(and ratio, on the log scale) with a normal approximation, as survRM2.

References
----------
Royston P, Parmar MKB. BMC Med Res Methodol 2013;13:152.
Uno H, et al. J Clin Oncol 2014;32:2380-5.
Klein JP, Moeschberger ML. Survival Analysis, 2nd ed., Springer 2003, section 4.5.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from remission.results import Result
from remission.stats.survival._input import (
    omitted_warning,
    right_censored,
    strict_keywords,
    z_value,
)
from remission.stats.survival.km import km_core


def _rmst_arrays(time: np.ndarray, event: np.ndarray, tau: float) -> tuple[float, float]:
    """(RMST, variance) to ``tau`` from raw arrays (R survmean algorithm)."""
    c = km_core(time, event)
    keep = c["time"] <= tau
    t, s = c["time"][keep], c["surv"][keep]
    n, d = c["n_risk"][keep], c["n_event"][keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    grid = np.concatenate([[0.0], t, [tau]])
    height = np.concatenate([[1.0], s])
    rect = np.diff(grid) * height
    mean = float(rect.sum())
    after = np.cumsum(rect[1:][::-1])[::-1]  # area from t_i to tau
    var = float((after**2 * h).sum())
    return mean, var


@strict_keywords
def rmst(time: Any, event: Any, group: Any = None, *, tau: float,
         data: pd.DataFrame | None = None, conf: float = 0.95, missing: str = "error",
         name: str = "survival.rmst", section: str = "efficacy") -> Result:
    """Restricted mean survival time per group to ``tau``, and two-group contrasts.

    Parameters
    ----------
    time : array-like of float, or str
        Follow-up times, or their column in ``data``.
    event : array-like of {0, 1}, or str
        1 = event, 0 = censored.
    group : array-like or str, optional
        Group label per patient; with exactly two groups ``"difference"`` and ``"ratio"``
        rows are added (first level minus / over second level, labels sorted).
    tau : float
        The horizon (required): RMST is the area under the Kaplan–Meier curve on [0, tau].
    data : DataFrame, optional
        Table holding the named columns.
    conf : float
        Confidence level of the normal-approximation intervals.
    missing : {"error", "omit"}
        Report missing values as input errors, or drop incomplete rows with a warning.
    name, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        Rows = groups (and contrasts); columns ``estimate, se, lower, upper, p``.

    Raises
    ------
    InputError
        Every bad time, event or group value.

    References
    ----------
    Royston P, Parmar MKB. BMC Med Res Methodol 2013;13:152. Uno H, et al. J Clin Oncol
    2014;32:2380-5.

    Examples
    --------
    R ``print(survfit(Surv(t, e) ~ g), rmean = 8)`` gives rmean 7.111111 (se 0.368514)
    for A and 5.5 (se 1.047484) for B:

    >>> df = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
    ...                    "e": [1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1],
    ...                    "g": ["A"] * 6 + ["B"] * 6})
    >>> res = rmst("t", "e", "g", tau=8, data=df)
    >>> res.table.loc[["A", "B"], ["estimate", "se"]].round(6)
       estimate        se
    A  7.111111  0.368514
    B  5.500000  1.047484

    The difference A − B has the two variances summed (se² = 0.368514² + 1.047484²):

    >>> round(float(res.table.loc["difference", "se"]) ** 2, 4)
    1.233
    """
    t, e, group, dropped = right_censored("rmst", data, missing, time, event, group)
    z = z_value(conf)
    g = np.array(["all"] * len(t), dtype=object) if group is None else np.asarray(
        group, dtype=object)
    labels = list(pd.Categorical(pd.Series(g)).categories)
    rows, est, warns = {}, {}, []
    for lab in labels:
        w = g == lab
        m, v = _rmst_arrays(t[w], e[w], tau)
        se = np.sqrt(v)
        est[lab] = (m, v)
        rows[str(lab)] = {"estimate": m, "se": se, "lower": m - z * se, "upper": m + z * se,
                          "p": np.nan}
        if t[w].max() < tau:
            warns.append(f"{lab}: tau = {tau:g} exceeds last follow-up ({t[w].max():g}); "
                         "the curve is extended flat")
    if len(labels) == 2:
        (m1, v1), (m2, v2) = est[labels[0]], est[labels[1]]
        dse = np.sqrt(v1 + v2)
        dz = (m1 - m2) / dse
        rows["difference"] = {"estimate": m1 - m2, "se": dse, "lower": m1 - m2 - z * dse,
                              "upper": m1 - m2 + z * dse, "p": 2 * stats.norm.sf(abs(dz))}
        lse = np.sqrt(v1 / m1**2 + v2 / m2**2)
        lr = np.log(m1 / m2)
        rows["ratio"] = {"estimate": m1 / m2, "se": lse, "lower": np.exp(lr - z * lse),
                         "upper": np.exp(lr + z * lse), "p": 2 * stats.norm.sf(abs(lr / lse))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    return Result(
        name=name, title=f"Restricted mean survival time to {tau:g}", table=table,
        section=section,
        method=(f"Area under the Kaplan–Meier curve to tau = {tau:g} with Greenwood-type "
                "variance (as R print.survfit rmean / survRM2); groups compared by "
                "difference and ratio (log scale) with normal approximation."),
        rationale=("RMST is interpretable without proportional hazards and is defined when "
                   "the median is not reached."),
        warnings=tuple(warns) + omitted_warning(dropped),
        references=("Royston P, Parmar MKB. BMC Med Res Methodol 2013;13:152.",
                    "Uno H, et al. J Clin Oncol 2014;32:2380-5."),
        params={"tau": tau, "conf": conf},
        roles={"estimate": "estimate", "se": "estimate", "lower": "ci_low:estimate",
               "upper": "ci_high:estimate", "p": "p"},
    )
