"""Harrell's concordance with the infinitesimal-jackknife SE, as R ``survival::concordance``.

A pair is comparable when the one with the shorter time had the event; a subject
censored at the same time as an event is still at risk, so that pair is comparable too
(two events at the same time are a ``tied.y`` pair and do not count). A higher risk
score for the earlier event is concordant; equal scores count one half:
``C = (concordant + tied.x / 2) / (concordant + discordant + tied.x)``. The standard
error is the infinitesimal jackknife ``sqrt(sum_k (dN_k - C dD_k)^2) / D``, with
``dN_k, dD_k`` the (half-)concordant and comparable pairs subject k belongs to -- R's
default variance for ``concordance(fit)`` (Therneau & Atkinson, survival vignette
"Concordance", 2020). Counting uses Fenwick trees, O(n log n).

References
----------
Harrell FE, et al. JAMA 1982;247:2543-6.
Therneau T, Atkinson E. Concordance. survival package vignette, 2020.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from remission.stats.survival._input import check_survival


class _Fenwick:
    def __init__(self, n: int) -> None:
        self.n = n
        self.tree = [0] * (n + 1)
        self.total = 0

    def add(self, i: int) -> None:  # rank i in 0..n-1
        self.total += 1
        i += 1
        tree, n = self.tree, self.n
        while i <= n:
            tree[i] += 1
            i += i & -i

    def below(self, i: int) -> int:  # count of ranks < i
        s, tree = 0, self.tree
        while i > 0:
            s += tree[i]
            i -= i & -i
        return s


def concordance(time: Any, event: Any, score: Any, strata: Any = None
                ) -> tuple[float, float, dict[str, int]]:
    """(C, SE, counts) for risk ``score`` (higher = worse prognosis), as R
    ``concordance(Surv(time, event) ~ score + strata(s), reverse = TRUE)``: pairs are
    formed within strata only. Counts: ``concordant, discordant, tied.x, tied.y``."""
    t, e, _ = check_survival(time, event)
    x = np.asarray(score, float)
    st = np.zeros(len(t), int) if strata is None else np.unique(
        np.asarray(strata, dtype=str), return_inverse=True)[1]
    n_as, d_as = np.zeros(len(t)), np.zeros(len(t))
    conc = disc = tiex = 0.0
    tiey = 0
    for k in np.unique(st):
        w = np.flatnonzero(st == k)
        a, b, c_, d_, x_, y_ = _parts(t[w], e[w], x[w])
        n_as[w], d_as[w] = a, b
        conc, disc, tiex, tiey = conc + c_, disc + d_, tiex + x_, tiey + y_
    dtot = conc + disc + tiex
    if dtot == 0:
        return float("nan"), float("nan"), {}
    c = (conc + 0.5 * tiex) / dtot
    se = float(np.sqrt(np.sum((n_as - c * d_as) ** 2)) / dtot)
    return float(c), se, {"concordant": int(conc), "discordant": int(disc),
                          "tied.x": int(tiex), "tied.y": int(tiey)}


def _parts(t: np.ndarray, e: np.ndarray, x: np.ndarray):
    """Per-subject half-concordant and comparable pair counts, and totals, one stratum."""
    n = len(t)
    _, rank = np.unique(x, return_inverse=True)
    m = int(rank.max()) + 1 if n else 0
    n_as = np.zeros(n)  # half-concordance counts per subject
    d_as = np.zeros(n)  # comparable pairs per subject
    conc = disc = tiex = 0.0
    ut = np.unique(t)
    order = np.argsort(t, kind="stable")
    bounds = [*np.searchsorted(t[order], ut, side="left").tolist(), n]
    groups = [order[bounds[k]: bounds[k + 1]] for k in range(len(ut))]
    # earlier member i (an event): compare with subjects after it (and censored ties)
    bit = _Fenwick(m)
    for g in reversed(groups):
        cens = [j for j in g if e[j] == 0]
        evs = [i for i in g if e[i] == 1]
        for j in cens:
            bit.add(int(rank[j]))
        for i in evs:
            r = int(rank[i])
            less = bit.below(r)
            eq = bit.below(r + 1) - less
            tot = bit.total
            n_as[i] += less + 0.5 * eq
            d_as[i] += tot
            conc += less
            disc += tot - less - eq
            tiex += eq
        for i in evs:
            bit.add(int(rank[i]))
    # later member j: events i with t_i < t_j, or t_i == t_j when j is censored
    bit = _Fenwick(m)
    def score(j: int) -> None:  # events so far ranked above j (ties count one half)
        r = int(rank[j])
        above = bit.total - bit.below(r + 1)
        eq = bit.below(r + 1) - bit.below(r)
        n_as[j] += above + 0.5 * eq
        d_as[j] += bit.total

    for g in groups:
        evs = [i for i in g if e[i] == 1]
        for j in evs:
            score(j)
        for i in evs:
            bit.add(int(rank[i]))
        for j in g:
            if e[j] == 0:
                score(j)
    _, cnt = np.unique(t[e == 1], return_counts=True)
    tiey = int((cnt * (cnt - 1) // 2).sum())
    return n_as, d_as, conc, disc, tiex, tiey
