"""Tests on contingency tables: Pearson chi-square, Fisher's exact (r×c), trend tests.

Choice rule used by remission's tables (``choose_test``): Pearson chi-square without
continuity correction when every expected count is >= 5, otherwise Fisher's exact test
(Cochran's rule, Biometrics 1954;10:417-451, in its strict form).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from scipy.special import chdtrc, gammaln

# R's fisher.test counts tables whose probability is <= the observed one within this
# relative tolerance (fexact's "1 + 1e-7"), so ties in probability are not lost to rounding.
_R_RELERR = 1 + 1e-7
_MAX_TABLES = 2_000_000


def expected_counts(table: np.ndarray) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    return np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()


def pearson_chi2(table: np.ndarray, correct: bool = False) -> tuple[float, int, float]:
    """Pearson's chi-square test; equals R ``chisq.test(table, correct = correct)``.

    The Yates correction only applies to 2×2 tables (as in R)."""
    t = _clean(table)
    e = expected_counts(t)
    diff = np.abs(t - e)
    if correct and t.shape == (2, 2):
        diff = diff - np.minimum(0.5, diff)  # as R: subtract min(0.5, |O - E|)
    stat = float(np.sum(diff**2 / e))
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    return stat, df, float(chdtrc(df, stat))


def fisher_exact(table: np.ndarray) -> float:
    """Two-sided Fisher's exact test for an r×c table; equals R ``fisher.test(table)$p.value``.

    Sums the hypergeometric probabilities of every table with the observed margins whose
    probability does not exceed the observed table's (with R's 1e-7 relative tolerance).
    Tables are enumerated column by column with the last column determined; above
    two million tables a ValueError asks for the Monte-Carlo alternative instead.
    """
    t = _clean(table).astype(int)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return 1.0
    # put the longer dimension in columns: fewer rows = smaller composition space
    if t.shape[0] > t.shape[1]:
        t = t.T
    rows = tuple(int(v) for v in t.sum(axis=1))
    cols = tuple(int(v) for v in t.sum(axis=0))
    n = sum(rows)
    const = float(np.sum(gammaln(np.array(rows) + 1)) + np.sum(gammaln(np.array(cols) + 1)))
    const -= float(gammaln(n + 1))
    log_obs = const - float(np.sum(gammaln(t + 1)))
    threshold = log_obs + math.log(_R_RELERR)

    total = 0.0
    count = 0

    @cache
    def compositions(total_c: int, caps: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
        if len(caps) == 1:
            return ((total_c,),) if total_c <= caps[0] else ()
        out = []
        rest_cap = sum(caps[1:])
        for first in range(max(0, total_c - rest_cap), min(caps[0], total_c) + 1):
            for tail in compositions(total_c - first, caps[1:]):
                out.append((first, *tail))
        return tuple(out)

    lgam = gammaln(np.arange(n + 2) + 1)

    def recurse(j: int, remaining: tuple[int, ...], acc: float) -> None:
        nonlocal total, count
        if j == len(cols) - 1:
            count += 1
            if count > _MAX_TABLES:
                raise ValueError("table too large for exact enumeration")
            lp = acc - float(sum(lgam[r] for r in remaining))
            if lp <= threshold:
                total += math.exp(lp)
            return
        for comp in compositions(cols[j], remaining):
            recurse(
                j + 1,
                tuple(r - c for r, c in zip(remaining, comp, strict=True)),
                acc - float(sum(lgam[c] for c in comp)),
            )

    recurse(0, rows, const)
    return min(1.0, total)


def choose_test(table: np.ndarray) -> tuple[str, float, str]:
    """Pick and run the association test for a contingency table.

    Returns ``(test name, p-value, why)``."""
    t = _clean(table)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return ("none", math.nan, "only one non-empty category or group: no test")
    e = expected_counts(t)
    if np.all(e >= 5):
        _, _, p = pearson_chi2(t, correct=False)
        return ("Pearson chi-square", p, "all expected counts >= 5")
    return (
        "Fisher's exact",
        fisher_exact(t),
        f"smallest expected count {e.min():.2f} < 5",
    )


def cochran_armitage(
    successes: np.ndarray, totals: np.ndarray, scores: np.ndarray | None = None
) -> tuple[float, float]:
    """Cochran–Armitage test for trend in proportions across ordered groups
    (Cochran, Biometrics 1954; Armitage, Biometrics 1955). Returns (chi-square, two-sided p).

    Variance uses p(1-p)/N as R ``prop.trend.test`` does (which this equals); scores
    default to 1..k (equally spaced ordered groups)."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(totals, dtype=float)
    s = np.arange(1, len(x) + 1, dtype=float) if scores is None else np.asarray(scores, float)
    big_n = n.sum()
    p = x.sum() / big_n
    t = np.sum(s * (x - n * p))
    var = p * (1 - p) * (np.sum(n * s * s) - np.sum(n * s) ** 2 / big_n)
    if var <= 0:
        return (math.nan, math.nan)
    chi = float(t * t / var)
    return chi, float(chdtrc(1, chi))


def exact_trend(
    successes: np.ndarray, totals: np.ndarray, scores: np.ndarray | None = None
) -> float:
    """Exact conditional (permutation) version of the Cochran–Armitage trend test.

    Conditions on both margins: the successes per group follow a multivariate
    hypergeometric law; the statistic T = sum(score × successes) has its exact null
    distribution built by convolution over groups. Two-sided p = P(|T - E T| >= |t - E T|)
    (Mehta & Patel's StatXact convention; coin's ``independence_test`` with exact
    distribution agrees)."""
    x = np.asarray(successes, dtype=int)
    n = np.asarray(totals, dtype=int)
    s = np.arange(1, len(x) + 1, dtype=float) if scores is None else np.asarray(scores, float)
    m = int(x.sum())
    big_n = int(n.sum())
    # dist maps (successes used so far, T rounded) -> log-free probability weight
    dist: dict[tuple[int, float], float] = {(0, 0.0): 1.0}
    for ni, si in zip(n, s, strict=True):
        new: dict[tuple[int, float], float] = {}
        for (used, tval), w in dist.items():
            for k in range(0, min(int(ni), m - used) + 1):
                key = (used + k, round(tval + si * k, 9))
                new[key] = new.get(key, 0.0) + w * math.comb(int(ni), k)
        dist = new
    denom = math.comb(big_n, m)
    values = [(tv, w / denom) for (used, tv), w in dist.items() if used == m]
    e_t = s @ (n * m / big_n)
    t_obs = float(s @ x)
    dev = abs(t_obs - e_t) * (1 - 1e-9)
    return float(min(1.0, sum(pr for tv, pr in values if abs(tv - e_t) >= dev)))


def _clean(table: np.ndarray) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    if t.ndim != 2:
        raise ValueError("contingency table must be 2-dimensional")
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("contingency table must hold non-negative integer counts")
    return t
