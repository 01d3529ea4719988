"""Table 1: patient characteristics overall and by cohort, with the test used per row.

Continuous: n, missing, median (IQR, R's default type-7 quantiles), range, mean (SD);
compared with the Wilcoxon rank-sum test (2 groups; exact when both n < 50 and no ties,
else normal approximation with continuity correction -- R ``wilcox.test``'s rule) or
Kruskal-Wallis (> 2 groups). Categorical: n (%) with Pearson chi-square (no continuity
correction) when all expected counts >= 5, else Fisher's exact (r×c).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from remission.results import Result
from remission.stats.contingency import choose_test
from remission.stats.groups import by_group, cohort_levels, row_key

REFS = (
    "Wilcoxon F. Individual comparisons by ranking methods. Biometrics Bull 1945;1:80-83.",
    "Kruskal WH, Wallis WA. Use of ranks in one-criterion variance analysis. JASA 1952;47:583-621.",
    "Fisher RA. On the interpretation of chi-square from contingency tables. JRSS 1922;85:87-94.",
    "Cochran WG. Some methods for strengthening the common chi-square tests. "
    "Biometrics 1954;10:417-451.",
)


def summarise_continuous(x: pd.Series) -> dict[str, float]:
    """Summary of one continuous variable: count, missing, median (IQR), range, mean (SD).

    Parameters
    ----------
    x : Series
        Values of the variable (numeric or numeric text); missing values are counted and
        left out of every summary.

    Returns
    -------
    dict of str to float
        ``n`` (non-missing), ``missing``, ``median``, ``q1``, ``q3`` (R's default type-7
        quantiles), ``min``, ``max``, ``mean`` and ``sd`` (n - 1 denominator; NaN for one
        value). All summaries are NaN when no value is present.

    Examples
    --------
    R ``quantile(c(34, 63, 64, 70), c(.25, .5, .75))`` gives 55.75, 63.50, 65.50 and
    ``sd(c(34, 63, 64, 70))`` 16.13227:

    >>> s = summarise_continuous(pd.Series([34, 63, 64, 70, None]))
    >>> s["n"], s["missing"], s["q1"], s["median"], s["q3"], round(s["sd"], 5)
    (4, 1, 55.75, 63.5, 65.5, 16.13227)
    """
    v = x.dropna().astype(float).to_numpy()
    n = len(v)
    if n == 0:
        return {"n": 0, "missing": int(x.isna().sum()), "median": math.nan, "q1": math.nan,
                "q3": math.nan, "min": math.nan, "max": math.nan, "mean": math.nan,
                "sd": math.nan}
    return {
        "n": n,
        "missing": int(x.isna().sum()),
        "median": float(np.median(v)),
        "q1": float(np.quantile(v, 0.25)),
        "q3": float(np.quantile(v, 0.75)),
        "min": float(v.min()),
        "max": float(v.max()),
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if n > 1 else math.nan,
    }


def rank_test(samples: list[np.ndarray]) -> tuple[str, float, float, str]:
    """Wilcoxon rank-sum (2 groups) or Kruskal–Wallis (> 2 groups), following R's defaults.

    Empty groups are dropped first. Two groups use
    :func:`~remission.stats.paired.mann_whitney` (exact when both n < 50 and no ties, else
    the normal approximation with continuity correction, as R ``wilcox.test``); more groups
    use :func:`kruskal_wallis` with its chi-square approximation.

    Parameters
    ----------
    samples : list of ndarray
        The values of each group (missing values already removed).

    Returns
    -------
    tuple of (str, float, float, str)
        ``(test, statistic, p, rationale)``: test name (``"none"`` when fewer than two
        non-empty groups or all values identical, with NaN statistic and p), the statistic
        (W of the first group, or H), the two-sided p-value and the reason for the choice.

    References
    ----------
    Wilcoxon F. Biometrics Bull 1945;1:80-83. Kruskal WH, Wallis WA. JASA 1952;47:583-621.

    Examples
    --------
    W = 0 (every value of the first group below the second): exact two-sided
    p = 2 / C(7, 3) = 2/35, as R ``wilcox.test(c(1.1, 2.5, 3.2), c(4.0, 5.3, 7.7, 6.1))``:

    >>> test, w, p, _ = rank_test([np.array([1.1, 2.5, 3.2]), np.array([4.0, 5.3, 7.7, 6.1])])
    >>> test, w, round(p, 6), round(2 / 35, 6)
    ('Wilcoxon rank-sum', 0.0, 0.057143, 0.057143)

    R ``kruskal.test(list(c(1,2,3), c(3,4,5), c(6,7,8)))`` gives H = 6.879552, p = 0.032072:

    >>> test, h, p, _ = rank_test([np.array([1, 2, 3.0]), np.array([3, 4, 5.0]),
    ...                            np.array([6, 7, 8.0])])
    >>> test, round(h, 6), round(p, 6)
    ('Kruskal-Wallis', 6.879552, 0.032072)
    """
    samples = [s for s in samples if len(s)]
    if len(samples) < 2:
        return ("none", math.nan, math.nan, "fewer than two non-empty groups")
    if len(samples) == 2:
        from remission.stats.paired import mann_whitney  # imports scipy.stats: only if needed

        r = mann_whitney(samples[0], samples[1])
        return ("Wilcoxon rank-sum", float(r["statistic"]), float(r["p"]),
                f"2 groups: {r['method']} (R wilcox.test's rule: exact when both n < 50 and "
                "no ties)")
    if len(np.unique(np.concatenate(samples))) == 1:
        return ("none", math.nan, math.nan, "all values identical")
    h = kruskal_wallis(samples)
    from remission.stats._special import special  # scipy loaded on use (see there)

    return ("Kruskal-Wallis", h, float(special().chdtrc(len(samples) - 1, h)),
            f"{len(samples)} groups: chi-square approximation with tie correction")


def _midranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(xs)) + 1]
    ends = np.r_[starts[1:], len(xs)]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def kruskal_wallis(samples: list[np.ndarray]) -> float:
    """Kruskal–Wallis H with the tie correction, as R ``kruskal.test``.

    Parameters
    ----------
    samples : list of ndarray
        The values of each group (at least two groups, no missing values).

    Returns
    -------
    float
        ``H / (1 - sum(t^3 - t) / (n^3 - n))`` over tie groups of size t; compare with a
        chi-square on ``len(samples) - 1`` degrees of freedom. NaN when every value is
        tied (not computable; R 4.2.2 ``kruskal.test(list(c(10, 10), 10))`` gives
        chi-squared = NaN, p-value = NA).

    References
    ----------
    Kruskal WH, Wallis WA. Use of ranks in one-criterion variance analysis. JASA
    1952;47:583-621.

    Examples
    --------
    Without ties, groups {1,2,3}, {4,5,6}, {7,8,9} have rank sums 6, 15, 24:
    H = 12 / (9 * 10) * (36 + 225 + 576) / 3 - 3 * 10 = 7.2. With the tie at 3 (R
    ``kruskal.test(list(c(1,2,3), c(3,4,5), c(6,7,8)))`` gives 6.879552):

    >>> round(kruskal_wallis([np.array([1, 2, 3.0]), np.array([4, 5, 6.0]),
    ...                       np.array([7, 8, 9.0])]), 10)
    7.2
    >>> round(kruskal_wallis([np.array([1, 2, 3.0]), np.array([3, 4, 5.0]),
    ...                       np.array([6, 7, 8.0])]), 6)
    6.879552
    """
    allx = np.concatenate(samples)
    n = len(allx)
    ranks = _midranks(allx)
    sizes = np.array([len(s) for s in samples])
    bounds = np.r_[0, np.cumsum(sizes)]
    rsum = np.array([ranks[bounds[i]:bounds[i + 1]].sum() for i in range(len(samples))])
    h = 12.0 / (n * (n + 1)) * np.sum(rsum**2 / sizes) - 3 * (n + 1)
    _, t = np.unique(allx, return_counts=True)
    if len(t) == 1:  # every value tied: 0/0, R kruskal.test gives chi-squared NaN, p NA
        return math.nan
    return float(h / (1 - np.sum(t**3 - t) / (n**3 - n)))


def table1(adsl: pd.DataFrame, continuous: list[str], categorical: list[str],
           labels: dict[str, str] | None = None,
           decimals: dict[str, int] | None = None) -> list[Result]:
    """Patient characteristics; returns continuous, categorical and tests Results.

    Parameters
    ----------
    adsl : DataFrame
        Subject-level data with a ``COHORT`` column.
    continuous, categorical : list of str
        Variables summarised as median (IQR), range, mean (SD) / as n (%).
    labels : dict, optional
        ``{variable: label}`` (the ``variable`` column of the tables).
    decimals : dict, optional
        ``{variable: decimals}`` each continuous variable was recorded with, read from
        the source text (:attr:`remission.study.Study.decimals`); a variable not in it
        gets its decimals from its values (:func:`remission.numbers.recorded_decimals`).
        Stored in ``display["decimals"]`` of ``baseline.continuous`` (by label), with
        ``display["summaries"]`` naming what each summary column is, so a journal number
        style prints each summary to the data's precision (AMA 20.8).

    Returns
    -------
    list of Result
        ``baseline.continuous``, ``baseline.categorical`` and (with several cohorts)
        ``baseline.tests``.

    Examples
    --------
    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"COHORT": ["A"] * 4, "COHORTN": [1] * 4,
    ...                      "age": [34.0, 63, 64, 70], "sex": list("MFMF")})
    >>> r = table1(adsl, ["age"], ["sex"], {"age": "Age, years"})
    >>> r[0].display["decimals"], float(r[0].cell("age | Overall", "median"))
    ({'Age, years': 0}, 63.5)
    """
    from remission.numbers import SUMMARY_KINDS, recorded_decimals

    labels = labels or {}
    known = decimals or {}
    var_decimals = {labels.get(v, v): (known[v] if v in known else recorded_decimals(adsl[v]))
                    for v in continuous}
    levels = cohort_levels(adsl)
    compare = len(levels) > 1
    cont_rows, cat_rows, test_rows = {}, {}, {}
    warnings: list[str] = []
    for var in continuous:
        for g, sub in by_group(adsl):
            cont_rows[row_key(var, g)] = {"variable": labels.get(var, var), "group": g,
                                          **summarise_continuous(sub[var])}
        if compare:
            samples = [adsl.loc[adsl["COHORT"] == lv, var].dropna().astype(float).to_numpy()
                       for lv in levels]
            test, stat, p, why = rank_test(samples)
            test_rows[var] = {"variable": labels.get(var, var), "test": test, "statistic": stat,
                              "p": p, "rationale": why}
    for var in categorical:
        vals = adsl[var].fillna("").astype(str)
        cats = sorted(v for v in vals.unique() if v != "")
        for g, sub in by_group(adsl):
            sv = sub[var].fillna("").astype(str)
            denom = int((sv != "").sum())
            for c in cats:
                k = int((sv == c).sum())
                cat_rows[row_key(f"{var} = {c}", g)] = {
                    "variable": labels.get(var, var), "category": c, "group": g, "n": k,
                    "N": denom, "pct": 100 * k / denom if denom else math.nan}
            missing = int((sv == "").sum())
            if missing:
                cat_rows[row_key(f"{var} = (missing)", g)] = {
                    "variable": labels.get(var, var), "category": "(missing)", "group": g,
                    "n": missing, "N": len(sv), "pct": math.nan}
        if compare and len(cats) > 1:
            tab = pd.crosstab(vals[vals != ""], adsl.loc[vals != "", "COHORT"]).to_numpy()
            test, p, why = choose_test(tab)
            test_rows[var] = {"variable": labels.get(var, var), "test": test,
                              "statistic": math.nan, "p": p, "rationale": why}
    n_small = [lv for lv in levels if (adsl["COHORT"] == lv).sum() < 5]
    if compare and n_small:
        warnings.append(f"groups with fewer than 5 patients ({', '.join(n_small)}): tests have "
                        "little power; a non-significant p-value is not evidence of balance")
    method_c = "Median (IQR; type-7 quantiles), range, mean (SD) and missing counts per group."
    method_k = "Counts and percentages of non-missing values per group."
    out = [
        Result("baseline.continuous", "Patient characteristics: continuous variables",
               _frame(cont_rows), method_c, "", tuple(warnings), (), {}, "baseline",
               display={"rows": "variable", "columns": "group", "cell": "median_iqr",
                        "decimals": var_decimals, "summaries": dict(SUMMARY_KINDS)}),
        Result("baseline.categorical", "Patient characteristics: categorical variables",
               _frame(cat_rows), method_k, "", (), (), {}, "baseline",
               display={"rows": ["variable", "category"], "columns": "group", "cell": "n_pct"}),
    ]
    if test_rows:
        out.append(Result(
            "baseline.tests", "Patient characteristics: comparison across groups",
            _frame(test_rows),
            "Wilcoxon rank-sum (2 groups) or Kruskal-Wallis (>2 groups) for continuous variables; "
            "Pearson chi-square without continuity correction or Fisher's exact test for "
            "categorical variables.",
            "Rank tests because baseline variables in small cell-therapy cohorts are rarely "
            "normal; Fisher's exact whenever any expected count is < 5 (Cochran's rule).",
            tuple(warnings), REFS, {}, "baseline"))
    return out


def _frame(rows: dict[str, dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index")
