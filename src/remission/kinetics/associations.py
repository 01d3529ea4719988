"""Cytokine/ferritin summaries and exposure-outcome associations, matching R.

* :func:`biomarker_summary` -- per patient and analyte: baseline = last value on or
  before day 0, peak = highest value on days 1..``peak_window`` (default 30), day of
  peak (first), fold change = peak / baseline (NA when baseline is missing or 0).
* :func:`spearman_test` -- R ``cor.test(method = "spearman")``: S = (n³ - n)(1 - rho)/6;
  without ties and n < 1290 the p-value uses algorithm AS 89 (Best & Roberts, Appl
  Stat 1975;24:377) as R does: exact enumeration for n <= 9, Edgeworth series above;
  with ties (or ``exact=False``) the t(n - 2) approximation.
* :func:`mann_whitney_test` -- R ``wilcox.test`` (two-sided): exact when both groups
  have < 50 values and there are no ties, else the normal approximation with tie and
  continuity correction (``scipy.stats.mannwhitneyu`` with the matching method).
* :func:`kruskal_test` -- R ``kruskal.test`` (chi-squared with tie correction;
  ``scipy.stats.kruskal``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from remission.results import Result

__all__ = ["associations", "biomarker_summary", "kruskal_test", "mann_whitney_test",
           "spearman_test"]

_C = (0.2274, 0.2531, 0.1745, 0.0758, 0.1033, 0.3932, 0.0879, 0.0151, 0.0072, 0.0831, 0.0131,
      4.6e-4)


def _prho_upper(s: float, n: int) -> float:
    """P(S >= s) for Spearman's S under independence (AS 89)."""
    if n <= 1 or s <= 0:
        return 1.0
    n3 = n * (n * n - 1) / 3.0
    if s > n3:
        return 0.0
    if n <= 9:
        ranks = np.arange(1, n + 1)
        perms = np.array(list(itertools.permutations(range(1, n + 1))), dtype=np.int64)
        ss = ((perms - ranks) ** 2).sum(axis=1)
        return float(np.mean(ss >= s))
    js = s if int(s) % 2 == 0 else s + 1  # S is always even
    b = 1.0 / n
    x = (6.0 * (js - 1) * b / (n * n - 1) - 1) * math.sqrt(1 / b - 1)
    y = x * x
    c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12 = _C
    u = x * b * (c1 + b * (c2 + c3 * b) + y * (-c4 + b * (c5 + c6 * b) - y * b * (
        c7 + c8 * b - y * (c9 - c10 * b + y * b * (c11 - c12 * y)))))
    pv = u / math.exp(y / 2) + stats.norm.sf(x)
    return min(max(pv, 0.0), 1.0)


def spearman_test(x: Sequence[float], y: Sequence[float], exact: bool | None = None):
    """Spearman rho and two-sided p as R ``cor.test(x, y, method = "spearman")``: exact
    (AS 89; by enumeration for n <= 9, Edgeworth series above) without ties and for
    n < 1290, otherwise the t approximation.

    Parameters
    ----------
    x, y : sequence of float
        Paired values; pairs with a missing value are dropped.
    exact : bool, optional
        Force or forbid the exact p (default: R's rule).

    Returns
    -------
    tuple
        ``(rho, p, n, method)``; NaN rho and p with fewer than 3 pairs or a constant.

    Examples
    --------
    R's ``cor.test`` example data (Hollander & Wolfe); R 4.2.2 gives rho = 0.6, S = 48,
    p-value = 0.09679784:

    >>> x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    >>> y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    >>> rho, p, n, method = spearman_test(x, y)
    >>> round(rho, 7), round(p, 8), n, method
    (0.6, 0.09679784, 9, 'AS 89 exact')
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        # R: cor.test() stops for n < 3 and returns NA with "standard deviation is zero";
        # a rank correlation of a constant is undefined, not an error in the data.
        return math.nan, math.nan, n, "not computable (fewer than 3 pairs or a constant)"
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rho = float(np.corrcoef(rx, ry)[0, 1])
    ties = len(np.unique(x)) < n or len(np.unique(y)) < n
    if exact is None:
        exact = n < 1290 and not ties
    q = (n ** 3 - n) * (1 - rho) / 6
    if exact and n <= 1290:
        upper = q > (n ** 3 - n) / 6
        p = _prho_upper(round(q), n) if upper else 1.0 - _prho_upper(round(q) + 2, n)
        method = "AS 89 exact" if n <= 9 else "AS 89 Edgeworth"
    else:
        r = 1 - q / ((n * (n * n - 1)) / 6)
        tstat = r / math.sqrt((1 - r * r) / (n - 2))
        p = float(stats.t.sf(abs(tstat), n - 2))
        method = "t approximation"
        p = min(2 * p, 1.0)
        return rho, p, n, method
    return rho, min(2 * p, 1.0), n, method


def mann_whitney_test(x: Sequence[float], y: Sequence[float]):
    """W (= U of ``x``) and two-sided p as R ``wilcox.test(x, y)`` (one implementation:
    :func:`remission.stats.paired.mann_whitney`).

    Parameters
    ----------
    x, y : sequence of float
        The two samples; missing values are dropped.

    Returns
    -------
    tuple
        ``(W, p, method)`` with method "exact" or "normal approximation"; when p is
        not computable (every value tied, or a group empty) p is NaN and method says why.

    Examples
    --------
    R 4.2.2 ``wilcox.test`` example: W = 35, p-value = 0.2544123:

    >>> w, p, how = mann_whitney_test([0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73,
    ...                                1.46], [1.15, 0.88, 0.90, 0.74, 1.21])
    >>> w, round(p, 7), how
    (35.0, 0.2544123, 'exact')
    """
    from remission.stats.paired import mann_whitney

    r = mann_whitney(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    if np.isnan(r["p"]):  # e.g. every value tied: say why, as R's NA would not
        return float(r["statistic"]), float("nan"), r["method"]
    exact = r["method"] == "exact"
    return float(r["statistic"]), float(r["p"]), "exact" if exact else "normal approximation"


def kruskal_test(groups: Sequence[Sequence[float]]):
    """Kruskal-Wallis chi-squared, df and p as R ``kruskal.test`` (one implementation:
    :func:`remission.stats.descriptive.kruskal_wallis`).

    Parameters
    ----------
    groups : sequence of sequence of float
        The samples; missing values are dropped, empty groups left out.

    Returns
    -------
    tuple
        ``(chi-squared, df, p)``, tie-corrected; chi-squared and p are NaN when every
        value is tied (as R).

    Examples
    --------
    R's ``kruskal.test`` example (Hollander & Wolfe); R 4.2.2: chi-squared = 0.77143,
    df = 2, p-value = 0.68:

    >>> h, df, p = kruskal_test([[2.9, 3.0, 2.5, 2.6, 3.2], [3.8, 2.7, 4.0, 2.4],
    ...                          [2.8, 3.4, 3.7, 2.2, 2.0]])
    >>> round(h, 5), df, round(p, 7)
    (0.77143, 2, 0.6799648)
    """
    from scipy.special import chdtrc

    from remission.stats.descriptive import kruskal_wallis

    gs = [np.asarray(g, dtype=float) for g in groups]
    gs = [g[~np.isnan(g)] for g in gs if np.sum(~np.isnan(g)) > 0]
    h = kruskal_wallis(gs)
    return h, len(gs) - 1, float(chdtrc(len(gs) - 1, h))


def biomarker_summary(obs: pd.DataFrame, variables: Sequence[str] = ("il6", "ifng", "ferritin",
                      "crp"), peak_window: int = 30) -> pd.DataFrame:
    """Baseline, peak, day of peak and fold change per patient and analyte.

    Baseline is the last value on or before day 0; the peak the highest value on days
    1 to ``peak_window`` (the earliest day if tied); the fold change is peak / baseline
    (NaN without a positive baseline). Several values on one day count as their maximum.

    Parameters
    ----------
    obs : pandas.DataFrame
        Canonical long table (patient_id, day, variable, value).
    variables : sequence of str, default ("il6", "ifng", "ferritin", "crp")
        The analytes.
    peak_window : int, default 30
        Last day searched for the peak.

    Returns
    -------
    pandas.DataFrame
        One row per patient and analyte: ``baseline``, ``peak``, ``peak_day``,
        ``fold_change``.

    Examples
    --------
    >>> obs = pd.DataFrame({"patient_id": ["1"] * 4, "day": [0, 3, 7, 14],
    ...                     "variable": "il6", "value": [5, 120, 40, 8]})
    >>> row = biomarker_summary(obs, ["il6"]).iloc[0]
    >>> [float(row[k]) for k in ("baseline", "peak", "peak_day", "fold_change")]
    [5.0, 120.0, 3.0, 24.0]
    """
    d = obs[obs["variable"].isin(list(variables)) & obs["value"].notna()]
    # plain labels: a categorical key would make groupby add every unobserved combination
    d = d.astype({"patient_id": str, "variable": str})
    d = d.groupby(["patient_id", "variable", "day"], as_index=False)["value"].max()
    base = d[d["day"] <= 0].sort_values("day").groupby(["patient_id", "variable"])["value"].last()
    post = d[(d["day"] >= 1) & (d["day"] <= peak_window)]
    post = post.sort_values(["patient_id", "variable", "value", "day"],
                            ascending=[True, True, False, True])
    peak = post.drop_duplicates(["patient_id", "variable"]).set_index(["patient_id", "variable"])
    out = pd.DataFrame(index=peak.index.union(base.index))
    out["baseline"] = base
    out["peak"] = peak["value"]
    out["peak_day"] = peak["day"].astype("Int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fold_change"] = (out["peak"] / out["baseline"]).where(out["baseline"] > 0)
    return out.reset_index()


def associations(patients: pd.DataFrame, exposures: Sequence[str], *, grade: str = "crs_grade",
                 responder: str | None = "responder", name: str = "kinetics.associations"
                 ) -> Result:
    """Exposure (e.g. Cmax, AUC0-28, peak IL-6) versus CRS grade and response.

    For each exposure: Spearman rho with ``grade`` (ordinal), Kruskal-Wallis across grade
    groups, and Mann-Whitney between responders and non-responders (``responder``
    boolean column). Rows ``exposure | test``.

    Parameters
    ----------
    patients : pandas.DataFrame
        One row per patient with the exposures, ``grade`` and ``responder`` columns.
    exposures : sequence of str
        Exposure columns (e.g. ``cmax``, ``auc0_28``).
    grade : str, default "crs_grade"
        Ordinal grade column.
    responder : str or None, default "responder"
        Boolean responder column; None skips the Mann-Whitney rows.
    name : str, default "kinetics.associations"
        Name of the Result.

    Returns
    -------
    remission.results.Result
        Rows ``"<exposure> | spearman vs <grade>"``, ``"... | kruskal by <grade>"``,
        ``"... | mann-whitney by <responder>"`` with ``statistic``, ``df``, ``p_value``,
        ``n`` and ``detail``.

    Examples
    --------
    R 4.2.2 for these six patients: ``cor.test(cmax, grade, method = "spearman")`` rho
    0.9710083, p 0.001248593 (ties: t approximation); ``kruskal.test`` p 0.1939545;
    ``wilcox.test`` of responders vs not p 0.4:

    >>> pts = pd.DataFrame({"cmax": [100, 200, 50, 400, 300, 20],
    ...                     "crs_grade": [1, 2, 0, 3, 2, 0],
    ...                     "responder": [True, True, False, True, False, False]})
    >>> associations(pts, ["cmax"]).table["p_value"].round(7).tolist()
    [0.0012486, 0.1939545, 0.4]
    """
    rows = []
    for e in exposures:
        x = patients[e].to_numpy(dtype=float)
        g = patients[grade].to_numpy(dtype=float)
        rho, p, n, how = spearman_test(x, g)
        rows.append({"key": f"{e} | spearman vs {grade}", "exposure": e,
                     "test": "Spearman", "statistic": rho, "df": np.nan, "p_value": p, "n": n,
                     "detail": how})
        groups = [x[g == k] for k in np.unique(g[~np.isnan(g)])]
        if len(groups) >= 2:
            h, df, p = kruskal_test(groups)
            rows.append({"key": f"{e} | kruskal by {grade}", "exposure": e,
                         "test": "Kruskal-Wallis", "statistic": h, "df": df, "p_value": p,
                         "n": int(sum(np.sum(~np.isnan(v)) for v in groups)),
                         "detail": "chi-squared, tie-corrected" if not np.isnan(h) else
                         "not computable: all values tied (R: chi-squared NaN, p NA)"})
        if responder is not None and responder in patients:
            r = patients[responder].astype("boolean")
            yes = (r == True).to_numpy(dtype=bool, na_value=False)  # noqa: E712
            no = (r == False).to_numpy(dtype=bool, na_value=False)  # noqa: E712
            a, b = x[yes], x[no]
            if len(a) and len(b):
                w, p, how = mann_whitney_test(a, b)
                rows.append({"key": f"{e} | mann-whitney by {responder}", "exposure": e,
                             "test": "Mann-Whitney", "statistic": w, "df": np.nan,
                             "p_value": p, "n": len(a) + len(b), "detail": how})
    table = pd.DataFrame(rows).set_index("key")
    return Result(
        name=name,
        title="Expansion and inflammation versus CRS grade and response",
        table=table,
        method=("Spearman rank correlation (R cor.test), Kruskal-Wallis (R kruskal.test) and "
                "two-sided Mann-Whitney/Wilcoxon rank-sum tests (R wilcox.test: W = U of "
                "responders)."),
        rationale="Kinetic exposures are skewed and CRS grade is ordinal: rank-based tests.",
        references=("Best DJ, Roberts DE. Appl Stat 1975;24:377 (AS 89)",
                    "Mueller KT et al., Clin Cancer Res 2018;24:6175"),
        params={"exposures": list(exposures), "grade": grade, "responder": responder},
        section="kinetics",
    )
