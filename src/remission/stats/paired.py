"""Paired and two-sample rank tests, McNemar and multiplicity, as R's stats package.

* Wilcoxon signed-rank (R ``wilcox.test(x, y, paired = TRUE)``): zero differences
  dropped; exact null distribution when n < 50 with no ties and no zeros, otherwise the
  normal approximation with continuity correction and tie-corrected variance.
* Mann–Whitney / Wilcoxon rank-sum (R ``wilcox.test(x, y)``): exact when both n < 50
  and no ties, otherwise normal with continuity and tie correction.
* Paired t (R ``t.test(paired = TRUE)``); McNemar with or without continuity
  correction (R ``mcnemar.test``); Holm and Benjamini–Hochberg (R ``p.adjust``).
* Between-arm comparison of per-patient post/pre ratios: rank-sum test of the ratios.

References
----------
Wilcoxon F. Biometrics Bull 1945;1:80-3. Mann HB, Whitney DR. Ann Math Stat 1947;18:50-60.
Hollander M, Wolfe DA. Nonparametric Statistical Methods, 3rd ed. Wiley 2014.
McNemar Q. Psychometrika 1947;12:153-7.
Holm S. Scand J Stat 1979;6:65-70. Benjamini Y, Hochberg Y. J R Stat Soc B 1995;57:289-300.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from remission.errors import ProblemLog
from remission.results import Result


def _numeric(v: Any, name: str, source: str, log: ProblemLog) -> np.ndarray:
    """Numbers; blanks become NaN (dropped as R does), text is a reported problem."""
    raw = pd.Series(np.asarray(v, dtype=object).ravel())
    out = pd.to_numeric(raw, errors="coerce")
    bad = out.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    for i in np.flatnonzero(bad.to_numpy()):
        log.add(source, "not a number", row=int(i) + 2, column=name, value=raw.iloc[i],
                expected="a number or blank")
    return out.to_numpy(float)


def _clean_pairs(x: Any, y: Any, source: str) -> tuple[np.ndarray, np.ndarray]:
    log = ProblemLog()
    a = _numeric(x, "x", source, log)
    b = _numeric(y, "y", source, log)
    if len(a) != len(b):
        log.add(source, f"paired samples differ in length ({len(a)} vs {len(b)})")
    log.raise_if_any()
    keep = np.isfinite(a) & np.isfinite(b)  # R drops incomplete pairs
    return a[keep], b[keep]


def _signrank_cdf(n: int) -> np.ndarray:
    """Counts of the signed-rank statistic V = 0..n(n+1)/2 under H0 (divide by 2^n)."""
    c = np.zeros(n * (n + 1) // 2 + 1)
    c[0] = 1.0
    for k in range(1, n + 1):
        c[k:] = c[k:] + c[: len(c) - k].copy()
    return c / 2.0**n


def _ranksum_pmf(m: int, n: int) -> np.ndarray:
    """Null pmf of W = 0..m*n (Mann–Whitney U of the first sample).

    Counts c(i, j, u) = c(i-1, j, u-j) + c(i, j-1, u): the largest of the i+j values
    comes from the first sample (then it exceeds all j of the second) or not.
    """
    prev = [np.ones(1) for _ in range(n + 1)]  # i = 0
    for i in range(1, m + 1):
        cur = [np.ones(1)]
        for j in range(1, n + 1):
            out = np.zeros(i * j + 1)
            out[j: j + len(prev[j])] += prev[j]
            out[: len(cur[j - 1])] += cur[j - 1]
            cur.append(out)
        prev = cur
    c = prev[n]
    return c / c.sum()


#: Why a normal-approximation p-value is missing when the statistic cannot vary.
NO_VARIANCE = "p not computable: all values tied, the rank statistic has variance 0 (R: NA)"


def _normal_two_sided(z: float, sigma: float, correct: bool,
                      note: str = "") -> tuple[float, str]:
    """Two-sided normal p of a centred rank statistic, with R's continuity correction.

    When ``sigma`` is 0 (every value tied; then ``z`` is 0 too) R computes 0/0 and reports
    ``NA``; here p is NaN and the method says why (:data:`NO_VARIANCE`).
    """
    how = "normal approximation" + (" with continuity correction" if correct else "") + note
    if not sigma > 0:
        return float("nan"), f"{how}; {NO_VARIANCE}"
    zz = (z - (0.5 * np.sign(z) if correct else 0.0)) / sigma
    p = float(2 * min(stats.norm.cdf(zz), stats.norm.sf(zz)))
    return p, how


def wilcoxon_signed_rank(x: Any, y: Any = None, *, mu: float = 0.0, exact: bool | None = None,
                         correct: bool = True) -> dict[str, Any]:
    """Wilcoxon signed-rank test of paired samples (or of one sample against ``mu``), as R
    ``wilcox.test(x, y, paired = TRUE, mu, exact, correct)``.

    Zero differences are dropped (as R); the p-value is exact for n < 50 without ties or
    zeros, otherwise from the normal approximation with tie correction.

    Parameters
    ----------
    x : array_like
        First measurements (e.g. post-infusion); blanks are missing, text is an error.
    y : array_like, optional
        Paired second measurements (e.g. baseline), same length; omitted for a
        one-sample test. Pairs with a missing value are dropped.
    mu : float, default 0
        Location shift under the null hypothesis.
    exact : bool, optional
        Exact p-value; default when n < 50.
    correct : bool, default True
        Continuity correction of the normal approximation.

    Returns
    -------
    dict
        ``statistic`` (R's V: the sum of the ranks of positive differences), ``p``
        (two-sided), ``n`` (non-zero differences) and ``method``.

    Raises
    ------
    remission.errors.InputError
        When a value is text, or ``x`` and ``y`` differ in length.

    Examples
    --------
    R's ``wilcox.test`` example data (Hollander & Wolfe); R 4.2.2 ``wilcox.test(x, y,
    paired = TRUE)``: V = 40, p-value = 0.0390625:

    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> wilcoxon_signed_rank(x, y)
    {'statistic': 40.0, 'p': 0.0390625, 'n': 9, 'method': 'exact'}
    """
    if y is None:
        log = ProblemLog()
        a = _numeric(x, "x", "sample", log)
        log.raise_if_any()
        a = a[np.isfinite(a)]
        d = a - mu
    else:
        a, b = _clean_pairs(x, y, "paired data")
        d = a - b - mu
    zeros = bool((d == 0).any())
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return {"statistic": 0.0, "p": float("nan"), "n": 0, "method": "no non-zero differences"}
    r = stats.rankdata(np.abs(d))
    v = float(r[d > 0].sum())
    ties = len(np.unique(r)) < n
    if exact is None:
        exact = n < 50
    if exact and not ties and not zeros:
        pmf = _signrank_cdf(n)
        vi = round(v)
        p = min(1.0, 2 * min(pmf[: vi + 1].sum(), pmf[vi:].sum()))
        method = "exact"
    else:
        z = v - n * (n + 1) / 4
        _, cnt = np.unique(r, return_counts=True)
        sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - (cnt**3 - cnt).sum() / 48)
        p, method = _normal_two_sided(z, sigma, correct, " (exact not possible: ties or zeros)"
                                      if exact else "")
    return {"statistic": v, "p": float(p), "n": n, "method": method}


def mann_whitney(x: Any, y: Any, *, exact: bool | None = None,
                 correct: bool = True) -> dict[str, Any]:
    """Wilcoxon rank-sum (Mann–Whitney) test of two independent samples, two-sided, as R
    ``wilcox.test(x, y)``.

    Parameters
    ----------
    x, y : array_like
        The two samples; blanks are missing (dropped), text is an error.
    exact : bool, optional
        Exact p-value (without ties); default when both samples have fewer than 50.
    correct : bool, default True
        Continuity correction of the normal approximation.

    Returns
    -------
    dict
        ``statistic`` (R's W: the Mann–Whitney U of ``x``), ``p``, ``n1``, ``n2`` and
        ``method``.

    Raises
    ------
    remission.errors.InputError
        When a value is text.

    Examples
    --------
    R's ``wilcox.test`` example; R 4.2.2: W = 35, p-value = 0.2544123:

    >>> a = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    >>> b = [1.15, 0.88, 0.90, 0.74, 1.21]
    >>> r = mann_whitney(a, b)
    >>> r["statistic"], round(r["p"], 7), r["method"]
    (35.0, 0.2544123, 'exact')

    Every value tied (a study with one patient per arm and equal values): R 4.2.2
    ``wilcox.test(c(2, 2), 2)`` gives W = 1, p-value = NA; so does this, and says why:

    >>> r = mann_whitney([2.0, 2.0], [2.0])
    >>> r["statistic"], r["p"]
    (1.0, nan)
    >>> print(r["method"].replace("; ", "\\n"))
    normal approximation with continuity correction (exact not possible: ties)
    p not computable: all values tied, the rank statistic has variance 0 (R: NA)
    """
    log = ProblemLog()
    a = _numeric(x, "x", "samples", log)
    b = _numeric(y, "y", "samples", log)
    log.raise_if_any()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    m, n = len(a), len(b)
    if m == 0 or n == 0:  # R stops: "not enough (non-missing) 'x' observations"
        empty = "x" if m == 0 else "y"
        return {"statistic": float("nan"), "p": float("nan"), "n1": m, "n2": n,
                "method": f"not computable: no non-missing values in {empty}"}
    r = stats.rankdata(np.concatenate([a, b]))
    w = float(r[:m].sum() - m * (m + 1) / 2)
    ties = len(np.unique(r)) < m + n
    if exact is None:
        exact = m < 50 and n < 50
    if exact and not ties:
        pmf = _ranksum_pmf(m, n)
        wi = round(w)
        p = min(1.0, 2 * min(pmf[: wi + 1].sum(), pmf[wi:].sum()))
        method = "exact"
    else:
        z = w - m * n / 2
        _, cnt = np.unique(r, return_counts=True)
        sigma = np.sqrt(m * n / 12 * ((m + n + 1) - (cnt**3 - cnt).sum() / ((m + n) * (m + n - 1))))
        p, method = _normal_two_sided(z, sigma, correct, " (exact not possible: ties)"
                                      if exact else "")
    return {"statistic": w, "p": float(p), "n1": m, "n2": n, "method": method}


def paired_t(x: Any, y: Any) -> dict[str, Any]:
    """Paired t-test, as R ``t.test(x, y, paired = TRUE)``.

    Parameters
    ----------
    x, y : array_like
        Paired measurements of equal length; pairs with a missing value are dropped.

    Returns
    -------
    dict
        ``statistic`` (t), ``df``, ``p`` (two-sided), ``mean_diff`` (mean of x - y) and
        its 95 % CI ``lower``, ``upper``.

    Raises
    ------
    remission.errors.InputError
        When a value is text, or ``x`` and ``y`` differ in length.

    Examples
    --------
    R 4.2.2 ``t.test(x, y, paired = TRUE)``: t = 3.035375, df = 8, p-value = 0.01617663,
    mean difference 0.4318889, 95 % CI 0.1037787 to 0.7599991:

    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> r = paired_t(x, y)
    >>> [round(r[k], 7) for k in ("statistic", "p", "mean_diff", "lower", "upper")]
    [3.0353754, 0.0161766, 0.4318889, 0.1037787, 0.7599991]
    >>> r["df"]
    8
    """
    a, b = _clean_pairs(x, y, "paired data")
    d = a - b
    res = stats.ttest_1samp(d, 0.0)
    ci = res.confidence_interval(0.95)
    return {"statistic": float(res.statistic), "df": len(d) - 1, "p": float(res.pvalue),
            "mean_diff": float(d.mean()), "lower": float(ci.low), "upper": float(ci.high)}


def mcnemar(table: Any, correct: bool = True) -> dict[str, Any]:
    """McNemar's test for a 2×2 table of paired binary outcomes, as R
    ``mcnemar.test(table, correct)``.

    Parameters
    ----------
    table : array_like, shape (2, 2)
        Counts: rows the first assessment (yes, no), columns the second.
    correct : bool, default True
        Continuity correction, (|b - c| - 1)^2 / (b + c).

    Returns
    -------
    dict
        ``statistic`` (chi-square), ``df`` (1) and ``p``; NaN when there are no
        discordant pairs.

    Raises
    ------
    remission.errors.InputError
        A table that is not 2 × 2, or every count that is missing, text or negative.

    Examples
    --------
    R 4.2.2 ``mcnemar.test(matrix(c(794, 86, 150, 570), 2))``: McNemar's chi-squared =
    16.81780, p-value = 4.114562e-05 (R fills by column):

    >>> r = mcnemar([[794, 150], [86, 570]])
    >>> round(r["statistic"], 5), f"{r['p']:.6e}"
    (16.8178, '4.114562e-05')
    """
    log = ProblemLog()
    raw = np.asarray(table, dtype=object)
    if raw.shape != (2, 2):
        log.add("McNemar table", "not a 2 x 2 table", value=raw.shape,
                expected="2 rows (first assessment yes, no) x 2 columns (second)")
        log.raise_if_any()
    t = pd.to_numeric(pd.Series(raw.ravel()), errors="coerce").to_numpy(float)
    for k in np.flatnonzero(~np.isfinite(t) | (t < 0)):
        log.add("McNemar table", "count is missing, not a number or negative",
                column=f"cell ({k // 2 + 1}, {k % 2 + 1})", value=raw.ravel()[k],
                expected="a count >= 0")
    log.raise_if_any()
    t = t.reshape(2, 2)
    b, c = t[0, 1], t[1, 0]
    if b + c == 0:
        return {"statistic": float("nan"), "df": 1, "p": float("nan")}
    num = (abs(b - c) - 1) ** 2 if correct else (b - c) ** 2
    stat = num / (b + c)
    return {"statistic": float(stat), "df": 1, "p": float(stats.chi2.sf(stat, 1))}


def p_adjust(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """R ``p.adjust(p, method)``: "holm", "hochberg", "BH" (= "fdr"), "BY", "bonferroni".

    Parameters
    ----------
    p : sequence of float
        P-values.
    method : str, default "holm"
        "holm", "hochberg", "BH" (or "fdr"), "BY" or "bonferroni".

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the order given, at most 1. A missing (NaN) p-value stays
        missing and is not counted among the tests, as R ``p.adjust`` does (it drops NA
        before taking ``n = length(p)``).

    Raises
    ------
    ValueError
        For an unknown method.
    remission.errors.InputError
        Every p-value that is text, not a number (a blank is missing, as NaN).

    References
    ----------
    Holm S. Scand J Stat 1979;6:65-70; Hochberg Y. Biometrika 1988;75:800-2; Benjamini Y,
    Hochberg Y. J R Stat Soc B 1995;57:289-300; Benjamini Y, Yekutieli D. Ann Stat
    2001;29:1165-88.

    Examples
    --------
    R 4.2.2 ``p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm")``: 0.05 0.08 0.09 0.09
    0.09; with ``"BH"``: 0.05 for all five:

    >>> p_adjust([0.01, 0.02, 0.03, 0.04, 0.05]).round(10).tolist()
    [0.05, 0.08, 0.09, 0.09, 0.09]
    >>> p_adjust([0.01, 0.02, 0.03, 0.04, 0.05], "BH").round(10).tolist()
    [0.05, 0.05, 0.05, 0.05, 0.05]

    A p-value that could not be computed stays missing and is not counted (R
    ``p.adjust(c(0.01, NA, 0.02), "bonferroni")``: 0.02 NA 0.04):

    >>> p_adjust([0.01, float("nan"), 0.02], "bonferroni").round(10).tolist()
    [0.02, nan, 0.04]
    """
    log = ProblemLog()
    p_all = _numeric(p, "p", "p-values", log)
    log.raise_if_any()
    present = ~np.isnan(p_all)
    if not present.all():
        out_all = np.full(len(p_all), np.nan)
        out_all[present] = p_adjust(p_all[present], method)
        return out_all
    p = p_all
    n = len(p)
    if method == "bonferroni":
        return np.minimum(1.0, p * n)
    if method == "holm":
        o = np.argsort(p, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * p[o]))
    elif method == "hochberg":
        o = np.argsort(p, kind="stable")[::-1]
        adj = np.minimum(1.0, np.minimum.accumulate((np.arange(n) + 1) * p[o]))
    elif method in ("BH", "fdr", "BY"):
        o = np.argsort(p, kind="stable")[::-1]
        q = np.sum(1.0 / np.arange(1, n + 1)) if method == "BY" else 1.0
        adj = np.minimum(1.0, np.minimum.accumulate(q * n / np.arange(n, 0, -1) * p[o]))
    else:
        raise ValueError(f"unknown method {method!r}: use holm, hochberg, BH, BY, bonferroni")
    out = np.empty(n)
    out[o] = adj
    return out


def paired_changes(data: pd.DataFrame, pre: str, post: str, variables: str = "variable",
                   arm: str | None = None, adjust: str = "holm",
                   name: str = "paired.changes", section: str = "biomarkers") -> Result:
    """Pre vs post per variable (and arm) by Wilcoxon signed-rank, plus arm comparison.

    ``data`` is long: one row per patient × variable with ``pre`` and ``post`` columns.
    With ``arm``, the per-patient post/pre ratios are compared between the two arms by
    the rank-sum test (rows ``"<variable> | ratio"``). P values are adjusted across
    the table by ``adjust`` (Holm by default; "BH" for FDR).

    Parameters
    ----------
    data : pandas.DataFrame
        Long table, one row per patient × variable.
    pre, post : str
        Columns of the values before and after (e.g. baseline and day 28).
    variables : str, default "variable"
        Column naming the variable of each row.
    arm : str, optional
        Column of a two-level arm, to compare post/pre ratios between arms.
    adjust : str, default "holm"
        Multiplicity adjustment across rows (see :func:`p_adjust`).
    name, section : str
        Name and report section of the Result.

    Returns
    -------
    remission.results.Result
        One row per variable (and arm): ``n``, ``median_pre``, ``median_post``,
        ``statistic``, ``p``, ``test`` and ``p_adj``.

    Examples
    --------
    >>> import pandas as pd
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> df = pd.DataFrame({"variable": "HAM-D", "pre": x, "post": y})
    >>> r = paired_changes(df, pre="pre", post="post")
    >>> row = r.table.loc["HAM-D"]
    >>> int(row["n"]), float(row["statistic"]), float(row["p"])
    (9, 5.0, 0.0390625)
    """
    rows, keys = [], []
    arms = [None] if arm is None else sorted(data[arm].dropna().unique(), key=str)
    for var, sub in data.groupby(variables, sort=True):
        for a in arms:
            s = sub if a is None else sub[sub[arm] == a]
            w = wilcoxon_signed_rank(s[post], s[pre])
            keys.append(f"{var}" + ("" if a is None else f" | {a}"))
            rows.append({"n": w["n"], "median_pre": s[pre].median(),
                         "median_post": s[post].median(), "statistic": w["statistic"],
                         "p": w["p"], "test": "Wilcoxon signed-rank, " + w["method"]})
        if arm is not None and len(arms) == 2:
            ratio = sub[post] / sub[pre]
            g1, g2 = (ratio[sub[arm] == x] for x in arms)
            mw = mann_whitney(g1, g2)
            keys.append(f"{var} | ratio")
            rows.append({"n": mw["n1"] + mw["n2"], "median_pre": g1.median(),
                         "median_post": g2.median(), "statistic": mw["statistic"],
                         "p": mw["p"], "test": "Mann–Whitney on post/pre ratio, " + mw["method"]})
    table = pd.DataFrame(rows, index=keys)
    table["p_adj"] = p_adjust(table["p"].to_numpy(float), adjust)
    return Result(
        name=name, title="Paired changes", table=table, section=section,
        method=("Wilcoxon signed-rank test of post vs pre (exact when n < 50 without ties, "
                "else normal with continuity correction, as R wilcox.test); arms compared on "
                f"post/pre ratios by the rank-sum test; {adjust} adjustment across rows."),
        rationale="Small paired samples with skewed immune-subset percentages: rank tests.",
        references=("Wilcoxon F. Biometrics Bull 1945;1:80-3.",
                    "Holm S. Scand J Stat 1979;6:65-70.",
                    "Benjamini Y, Hochberg Y. J R Stat Soc B 1995;57:289-300."),
        params={"adjust": adjust},
    )
