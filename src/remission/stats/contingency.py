"""Tests on contingency tables: Pearson chi-square, Fisher's exact (r×c), trend tests.

Choice rule used by remission's tables (``choose_test``): Pearson chi-square without
continuity correction when every expected count is >= 5, otherwise Fisher's exact test
(Cochran's rule, Biometrics 1954;10:417-451, in its strict form).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from remission.stats._special import special

# R's fisher.test counts tables whose probability is <= the observed one within this
# relative tolerance (fexact's "1 + 1e-7"), so ties in probability are not lost to rounding.
_R_RELERR = 1 + 1e-7
_MAX_TABLES = 2_000_000


# scipy.special is imported on first use (remission.stats._special): a report whose study
# needs no test does not pay for importing scipy at start-up (docs/performance.md).
def _chdtrc(df, x):
    return special().chdtrc(df, x)


def _gammaln(x):
    return special().gammaln(x)


def expected_counts(table: np.ndarray) -> np.ndarray:
    """Expected counts under independence: row total × column total / grand total.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Counts: rows are one variable's categories, columns the other's.

    Returns
    -------
    numpy.ndarray
        Float array of the table's shape (R ``chisq.test(table)$expected``).

    Examples
    --------
    >>> expected_counts([[12, 5], [7, 10]]).tolist()
    [[9.5, 7.5], [9.5, 7.5]]
    """
    t = np.asarray(table, dtype=float)
    return np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()


def pearson_chi2(table: np.ndarray, correct: bool = False) -> tuple[float, int, float]:
    """Pearson's chi-square test of independence; equals R ``chisq.test(table, correct =
    correct)``.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Counts: rows are one variable's categories, columns the other's.
    correct : bool, default False
        Yates' continuity correction; as in R it applies to 2×2 tables only, and
        subtracts min(0.5, |O - E|) from each difference.

    Returns
    -------
    tuple
        ``(statistic, degrees of freedom, p-value)``.

    Raises
    ------
    ValueError
        When the table is not 2-dimensional or holds negative or non-integer counts.

    Examples
    --------
    R 4.2.2 ``chisq.test(matrix(c(12, 7, 5, 10), 2), correct = FALSE)``: X-squared =
    2.982456, df = 1, p-value = 0.08417145 (with ``correct = TRUE``: 1.908772, 0.1670997).

    >>> stat, df, p = pearson_chi2([[12, 5], [7, 10]])
    >>> round(stat, 6), df, round(p, 8)
    (2.982456, 1, 0.08417145)
    >>> round(pearson_chi2([[12, 5], [7, 10]], correct=True)[2], 7)
    0.1670997
    """
    t = _clean(table)
    e = expected_counts(t)
    diff = np.abs(t - e)
    if correct and t.shape == (2, 2):
        diff = diff - np.minimum(0.5, diff)  # as R: subtract min(0.5, |O - E|)
    stat = float(np.sum(diff**2 / e))
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    return stat, df, float(_chdtrc(df, stat))


def fisher_exact(table: np.ndarray) -> float:
    """Two-sided Fisher's exact test for an r×c table; equals R ``fisher.test(table)$p.value``.

    Sums the hypergeometric probabilities of every table with the observed margins whose
    probability does not exceed the observed table's (with R's 1e-7 relative tolerance).
    Tables are enumerated column by column with the last column determined; above
    two million tables a ValueError asks for the Monte-Carlo alternative instead.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Counts: rows are one variable's categories, columns the other's.

    Returns
    -------
    float
        Two-sided p-value; 1.0 when fewer than two rows or columns are non-empty.

    Raises
    ------
    ValueError
        When the table is not a 2-dimensional table of counts, or would need more than
        two million tables (use :func:`fisher_monte_carlo`).

    Examples
    --------
    R 4.2.2 ``fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value`` = 0.4857143 and, for a
    2×3 table, ``fisher.test(matrix(c(2, 6, 5, 1, 1, 4), 2))$p.value`` = 0.07372126:

    >>> round(fisher_exact([[3, 1], [1, 3]]), 7)
    0.4857143
    >>> round(fisher_exact([[2, 5, 1], [6, 1, 4]]), 8)
    0.07372126
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
    const = float(np.sum(_gammaln(np.array(rows) + 1)) + np.sum(_gammaln(np.array(cols) + 1)))
    const -= float(_gammaln(n + 1))
    log_obs = const - float(np.sum(_gammaln(t + 1)))
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

    lgam = _gammaln(np.arange(n + 2) + 1)

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

    Pearson chi-square without continuity correction when every expected count is >= 5,
    otherwise Fisher's exact test (Cochran's rule in its strict form; Cochran, Biometrics
    1954;10:417-51); a seeded Monte-Carlo Fisher test when exact enumeration would
    exceed two million tables. Empty rows and columns are dropped first.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Counts: rows are one variable's categories, columns the other's.

    Returns
    -------
    tuple
        ``(test name, p-value, why)``: the reason is written into remission's tables.

    Examples
    --------
    >>> choose_test([[3, 1], [1, 3]])
    ("Fisher's exact", 0.4857142857142857, 'smallest expected count 2.00 < 5')
    >>> choose_test([[12, 5], [7, 10]])[0]
    'Pearson chi-square'
    """
    t = _clean(table)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return ("none", math.nan, "only one non-empty category or group: no test")
    e = expected_counts(t)
    if np.all(e >= 5):
        _, _, p = pearson_chi2(t, correct=False)
        return ("Pearson chi-square", p, "all expected counts >= 5")
    why = f"smallest expected count {e.min():.2f} < 5"
    try:
        return ("Fisher's exact", fisher_exact(t), why)
    except ValueError:
        return ("Fisher's exact (Monte Carlo, 2,000 tables, seeded)",
                fisher_monte_carlo(t, n_sim=2000),
                why + "; too many tables for exact enumeration")


def cochran_armitage(
    successes: np.ndarray, totals: np.ndarray, scores: np.ndarray | None = None
) -> tuple[float, float]:
    """Cochran–Armitage test for trend in proportions across ordered groups
    (Cochran, Biometrics 1954; Armitage, Biometrics 1955). Returns (chi-square, two-sided p).

    Variance uses p(1-p)/N as R ``prop.trend.test`` does (which this equals); scores
    default to 1..k (equally spaced ordered groups).

    Parameters
    ----------
    successes : array_like of int
        Events per ordered group (e.g. responders per dose level).
    totals : array_like of int
        Patients per group.
    scores : array_like of float, optional
        Group scores (e.g. the doses); default 1..k.

    Returns
    -------
    tuple of float
        ``(chi-square on 1 df, two-sided p)``; NaN when there is no variance (all or
        no events, or a single score).

    Examples
    --------
    R 4.2.2 ``prop.trend.test(c(2, 5, 9), c(10, 10, 10))``: X-squared = 9.84375, p-value =
    0.001704097:

    >>> chi, p = cochran_armitage([2, 5, 9], [10, 10, 10])
    >>> round(chi, 5), round(p, 9)
    (9.84375, 0.001704097)
    """
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
    return chi, float(_chdtrc(1, chi))


EXACT_TREND_MAX_N = 1000


def exact_trend(
    successes: np.ndarray, totals: np.ndarray, scores: np.ndarray | None = None
) -> float:
    """Exact conditional (permutation) version of the Cochran–Armitage trend test.

    Conditions on both margins: successes per group follow a multivariate hypergeometric
    law, and T = sum(score × successes) has its exact null distribution built by dynamic
    programming over groups (state: successes placed so far × T). Two-sided
    p = P(|T - E T| >= |t - E T|), the StatXact convention. Scores must be integers
    (default 1..k); returns NaN when they are not or when N > EXACT_TREND_MAX_N, where the
    asymptotic test is accurate and the exact distribution is needlessly expensive.

    Parameters
    ----------
    successes : array_like of int
        Events per ordered group.
    totals : array_like of int
        Patients per group.
    scores : array_like of int, optional
        Integer group scores; default 1..k.

    Returns
    -------
    float
        Two-sided exact p-value, or NaN (see above).

    Examples
    --------
    2/10, 5/10, 9/10: brute-force enumeration of every split of the 16 events over the
    three groups of 10 (hypergeometric weights) gives p = 0.0030174799:

    >>> round(exact_trend([2, 5, 9], [10, 10, 10]), 10)
    0.0030174799
    """
    x = np.asarray(successes, dtype=int)
    n = np.asarray(totals, dtype=int)
    s = np.arange(1, len(x) + 1) if scores is None else np.asarray(scores, dtype=float)
    if np.any(s != np.round(s)) or n.sum() > EXACT_TREND_MAX_N:
        return math.nan
    s = (s - s.min()).astype(int)  # shifting scores leaves |T - E T| unchanged
    m = int(x.sum())
    t_max = int(s.max()) * m
    dist = np.zeros((m + 1, t_max + 1))
    dist[0, 0] = 1.0
    for ni, si in zip(n.tolist(), s.tolist(), strict=True):
        k = np.arange(0, min(ni, m) + 1)
        logw = _gammaln(ni + 1) - _gammaln(k + 1) - _gammaln(ni - k + 1)
        w = np.exp(logw - logw.max())  # scaled binomial weights; scale cancels at the end
        new = np.zeros_like(dist)
        for kk, wk in zip(k.tolist(), w.tolist(), strict=True):
            shift = si * kk
            new[kk:, shift:] += wk * dist[: m + 1 - kk, : t_max + 1 - shift]
        dist = new / new.max()
    final = dist[m]
    final = final / final.sum()
    tv = np.arange(t_max + 1, dtype=float)
    e_t = float(s @ (n * m / n.sum()))
    dev = abs(float(s @ x) - e_t) * (1 - 1e-9)
    return float(min(1.0, final[np.abs(tv - e_t) >= dev].sum()))


def fisher_monte_carlo(table: np.ndarray, n_sim: int = 2000, seed: int = 20241) -> float:
    """Monte-Carlo Fisher p-value with fixed margins, as R ``fisher.test(simulate.p.value =
    TRUE, B = n_sim)``: p = (1 + #{simulated P <= observed P}) / (B + 1). Seeded, so the same
    table always gives the same p.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Counts: rows are one variable's categories, columns the other's.
    n_sim : int, default 2000
        Number of simulated tables (R's ``B``).
    seed : int, default 20241
        Seed of the random tables.

    Returns
    -------
    float
        Monte-Carlo p-value, at least 1 / (n_sim + 1).

    Examples
    --------
    Close to the exact p of the same table (0.0737, :func:`fisher_exact`):

    >>> p = fisher_monte_carlo([[2, 5, 1], [6, 1, 4]])
    >>> abs(p - fisher_exact([[2, 5, 1], [6, 1, 4]])) < 0.03
    True
    """
    t = _clean(table).astype(int)
    rng = np.random.default_rng(seed)
    rows = t.sum(axis=1)
    cols = t.sum(axis=0)
    obs = -float(np.sum(_gammaln(t + 1)))
    hits = 0
    for _ in range(n_sim):
        remaining = rows.copy()
        sim = np.empty_like(t)
        for j, c in enumerate(cols[:-1]):
            sim[:, j] = rng.multivariate_hypergeometric(remaining, int(c))
            remaining -= sim[:, j]
        sim[:, -1] = remaining
        hits += -float(np.sum(_gammaln(sim + 1))) <= obs + math.log(_R_RELERR)
    return (1 + hits) / (n_sim + 1)


def _clean(table: np.ndarray) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    if t.ndim != 2:
        raise ValueError("contingency table must be 2-dimensional")
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("contingency table must hold non-negative integer counts")
    return t
