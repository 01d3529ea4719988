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


def _normal_two_sided(z: float, sigma: float, correct: bool) -> tuple[float, str]:
    """Two-sided normal p of a centred rank statistic, with R's continuity correction."""
    zz = (z - (0.5 * np.sign(z) if correct else 0.0)) / sigma
    p = float(2 * min(stats.norm.cdf(zz), stats.norm.sf(zz)))
    return p, "normal approximation" + (" with continuity correction" if correct else "")


def wilcoxon_signed_rank(x: Any, y: Any = None, *, mu: float = 0.0, exact: bool | None = None,
                         correct: bool = True) -> dict[str, Any]:
    """R ``wilcox.test(x, y, paired = TRUE, mu, exact, correct)``: V, p, method."""
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
        p, method = _normal_two_sided(z, sigma, correct)
        if exact:
            method += " (exact not possible: ties or zeros)"
    return {"statistic": v, "p": float(p), "n": n, "method": method}


def mann_whitney(x: Any, y: Any, *, exact: bool | None = None,
                 correct: bool = True) -> dict[str, Any]:
    """R ``wilcox.test(x, y)`` (two-sided): W, p, method."""
    log = ProblemLog()
    a = _numeric(x, "x", "samples", log)
    b = _numeric(y, "y", "samples", log)
    log.raise_if_any()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    m, n = len(a), len(b)
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
        p, method = _normal_two_sided(z, sigma, correct)
        if exact:
            method += " (exact not possible: ties)"
    return {"statistic": w, "p": float(p), "n1": m, "n2": n, "method": method}


def paired_t(x: Any, y: Any) -> dict[str, Any]:
    """R ``t.test(x, y, paired = TRUE)``: t, df, p, mean difference and 95% CI."""
    a, b = _clean_pairs(x, y, "paired data")
    d = a - b
    res = stats.ttest_1samp(d, 0.0)
    ci = res.confidence_interval(0.95)
    return {"statistic": float(res.statistic), "df": len(d) - 1, "p": float(res.pvalue),
            "mean_diff": float(d.mean()), "lower": float(ci.low), "upper": float(ci.high)}


def mcnemar(table: Any, correct: bool = True) -> dict[str, Any]:
    """R ``mcnemar.test(table, correct)`` for a 2×2 table of paired binary outcomes."""
    t = np.asarray(table, float)
    b, c = t[0, 1], t[1, 0]
    if b + c == 0:
        return {"statistic": float("nan"), "df": 1, "p": float("nan")}
    num = (abs(b - c) - 1) ** 2 if correct else (b - c) ** 2
    stat = num / (b + c)
    return {"statistic": float(stat), "df": 1, "p": float(stats.chi2.sf(stat, 1))}


def p_adjust(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """R ``p.adjust(p, method)``: "holm", "hochberg", "BH" (= "fdr"), "BY", "bonferroni".

    Holm 1979; Hochberg Y. Biometrika 1988;75:800-2; Benjamini & Hochberg 1995;
    Benjamini Y, Yekutieli D. Ann Stat 2001;29:1165-88.
    """
    p = np.asarray(p, float)
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
    table["p_adj"] = p_adjust(table["p"].fillna(1.0).to_numpy(), adjust)
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
