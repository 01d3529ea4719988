"""Harrell's concordance with the infinitesimal-jackknife SE, as R ``survival::concordance``.

A pair is comparable when the one with the shorter time had the event; a subject
censored at the same time as an event is still at risk, so that pair is comparable too
(two events at the same time are a ``tied.y`` pair and do not count). A higher risk
score for the earlier event is concordant; equal scores count one half:
``C = (concordant + tied.x / 2) / (concordant + discordant + tied.x)``. The standard
error is the infinitesimal jackknife ``sqrt(sum_k (dN_k - C dD_k)^2) / D``, with
``dN_k, dD_k`` the (half-)concordant and comparable pairs subject k belongs to -- R's
default variance for ``concordance(fit)`` (Therneau & Atkinson, survival vignette
"Concordance", 2020). Pairs are counted by vectorised merge counting in O(n log n)
(log2 n passes of O(n) NumPy work); strata of ``COMPILED_FROM`` subjects or more use a
compiled Fenwick-tree kernel (Numba, imported only then, so small studies never load it).

References
----------
Harrell FE, et al. JAMA 1982;247:2543-6.
Therneau T, Atkinson E. Concordance. survival package vignette, 2020.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from remission.stats.survival._coxcore import COMPILED_FROM
from remission.stats.survival._input import check_survival


def _stable_argsort(keys: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative integers by 16-bit radix passes (NumPy's radix sort)."""
    keys = np.asarray(keys, np.int64)
    order = np.arange(len(keys))
    top = int(keys.max()) if len(keys) else 0
    shift = 0
    while True:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def _earlier_le(rank: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """For each position i: sum of ``weight[j]`` over j < i with ``rank[j] <= rank[i]``.

    Merge counting, top-down: ``o`` lists positions sorted by (block, rank, position)
    for blocks of 2^(L+1) positions, which occupy the same index range in ``o`` as in the
    sequence. Each element of a block's right half (bit L of its position set) gains
    the weight of the left-half elements before it in ``o``; then a stable partition by
    bit L refines the blocks. log2(n) passes of O(n) vectorised work.
    """
    n = len(rank)
    if n < 2:
        return np.zeros(n)
    o = _stable_argsort(rank).astype(np.int32)  # by rank, ties by position: one block
    w = np.asarray(weight, np.int64)
    acc = np.zeros(n, np.int64)
    idx = np.arange(n, dtype=np.int32)
    cs = np.zeros(n + 1, np.int64)
    cz = np.zeros(n + 1, np.int32)
    level = max(int(n - 1).bit_length() - 1, 0)
    while level >= 0:
        size = 1 << (level + 1)
        pstart = idx & ~np.int32(size - 1)            # first index of the parent block
        one = ((o >> level) & 1).astype(bool)
        wz = w[o]
        wz[one] = 0
        np.cumsum(wz, out=cs[1:])
        contrib = cs[1:] - cs[pstart]
        contrib[~one] = 0
        acc += contrib
        np.cumsum(~one, out=cz[1:])
        z_before = cz[idx] - cz[pstart]
        n_zero = np.minimum(1 << level, n - pstart)    # positions with bit L clear
        dest = np.where(one, idx + n_zero - z_before, pstart + z_before)
        o_new = np.empty_like(o)
        o_new[dest] = o
        a_new = np.empty_like(acc)
        a_new[dest] = acc
        o, acc = o_new, a_new
        level -= 1
    out = np.empty(n)
    out[o] = acc
    return out


def _earlier_eq(rank: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """For each position i: sum of ``weight[j]`` over j < i with ``rank[j] == rank[i]``."""
    n = len(rank)
    g = _stable_argsort(rank)
    wg = weight[g]
    cs = np.cumsum(wg) - wg  # strictly before, in (rank, position) order
    r = rank[g]
    first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]]) if n else np.zeros(0, int)
    base = np.repeat(cs[first], np.diff(np.r_[first, n]))
    out = np.empty(n)
    out[g] = cs - base
    return out


def concordance(time: Any, event: Any, score: Any, strata: Any = None
                ) -> tuple[float, float, dict[str, int]]:
    """Harrell's C of a risk score with its infinitesimal-jackknife standard error.

    As R ``concordance(Surv(time, event) ~ score + strata(s), reverse = TRUE)``: pairs are
    formed within strata only, a higher score for the earlier event is concordant, equal
    scores count one half.

    Parameters
    ----------
    time : array-like of float
        Follow-up times.
    event : array-like of {0, 1}
        1 = event, 0 = censored.
    score : array-like of float
        Risk score; higher = worse prognosis (earlier event expected).
    strata : array-like, optional
        Stratum label per subject; pairs across strata are not compared.

    Returns
    -------
    tuple of (float, float, dict)
        ``(C, SE, counts)`` with counts ``concordant, discordant, tied.x, tied.y``;
        ``(nan, nan, {})`` when no pair is comparable.

    Raises
    ------
    InputError
        Every bad time or event value.

    References
    ----------
    Harrell FE, et al. JAMA 1982;247:2543-6. Therneau T, Atkinson E. Concordance. survival
    package vignette, 2020.

    Examples
    --------
    R ``concordance(Surv(c(1,2,3,4,5,6), c(1,1,0,1,1,0)) ~ c(5,3,4,2,2,1), reverse = TRUE)``
    gives C = 0.875 (10 concordant, 1 discordant, 1 tied on the score, so
    (10 + 1/2) / 12) and sqrt(var) = 0.096600:

    >>> c, se, counts = concordance([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], [5, 3, 4, 2, 2, 1])
    >>> round(c, 6), round(se, 6), counts["concordant"], counts["discordant"], counts["tied.x"]
    (0.875, 0.0966, 10, 1, 1)
    """
    t, e, _ = check_survival(time, event)
    x = np.asarray(score, float)
    st = np.zeros(len(t), int) if strata is None else np.unique(
        np.asarray(strata, dtype=str), return_inverse=True)[1]
    n_as, d_as = np.zeros(len(t)), np.zeros(len(t))
    conc = disc = tiex = 0.0
    tiey = 0
    for k in np.unique(st):
        w = np.flatnonzero(st == k)
        parts = _parts_compiled if len(w) >= COMPILED_FROM else _parts
        a, b, c_, d_, x_, y_ = parts(t[w], e[w], x[w])
        n_as[w], d_as[w] = a, b
        conc, disc, tiex, tiey = conc + c_, disc + d_, tiex + x_, tiey + y_
    dtot = conc + disc + tiex
    if dtot == 0:
        return float("nan"), float("nan"), {}
    c = (conc + 0.5 * tiex) / dtot
    se = float(np.sqrt(np.sum((n_as - c * d_as) ** 2)) / dtot)
    return float(c), se, {"concordant": int(conc), "discordant": int(disc),
                          "tied.x": int(tiex), "tied.y": int(tiey)}


def _parts_compiled(t: np.ndarray, e: np.ndarray, x: np.ndarray):
    """:func:`_parts` by the compiled Fenwick-tree kernel (the same counts; large strata)."""
    from remission.stats.survival._kernels import parts_sorted

    n = len(t)
    _, rank = np.unique(x, return_inverse=True)
    order = np.argsort(t, kind="stable")
    ns, ds = np.zeros(n), np.zeros(n)
    conc, disc, tiex = parts_sorted(np.ascontiguousarray(t[order], dtype=np.float64),
                                    np.ascontiguousarray(e[order], dtype=np.int64),
                                    np.ascontiguousarray(rank[order], dtype=np.int64),
                                    int(rank.max()) + 1 if n else 0, ns, ds)
    n_as, d_as = np.empty(n), np.empty(n)
    n_as[order], d_as[order] = ns, ds
    _, cnt = np.unique(t[e == 1], return_counts=True)
    return n_as, d_as, float(conc), float(disc), float(tiex), int((cnt * (cnt - 1) // 2).sum())


def _parts(t: np.ndarray, e: np.ndarray, x: np.ndarray):
    """Per-subject half-concordant and comparable pair counts, and totals, one stratum.

    Both sweeps are dominance counts over a sequence mixing "points" (weight 1) and
    "queries" (weight 0), ordered so that the points a query is compared with come
    before it; ``_earlier_le``/``_earlier_eq`` count them by score rank.
    """
    n = len(t)
    _, rank = np.unique(x, return_inverse=True)
    m = int(rank.max()) + 1 if n else 0
    _, tg = np.unique(t, return_inverse=True)
    ev = e == 1
    n_as = np.zeros(n)
    d_as = np.zeros(n)
    # sweep 1: event i against subjects j with key_j > 2 tg_i, key_j = 2 tg_j + censored
    # elements: points (all subjects, weight 1) then queries (events, weight 0); order by
    # key descending, queries before points at equal key
    qi = np.flatnonzero(ev)
    pkey = 2 * tg + (~ev)
    qkey = 2 * tg[qi]
    key = np.r_[pkey, qkey]
    isq = np.r_[np.zeros(n, bool), np.ones(len(qi), bool)]
    rk = np.r_[rank, rank[qi]]
    w = np.r_[np.ones(n), np.zeros(len(qi))]
    # sort: key desc, then queries first
    seq = np.lexsort((~isq, -key))
    le = _earlier_le(rk[seq], w[seq])
    eq = _earlier_eq(rk[seq], w[seq])
    tot = np.cumsum(w[seq]) - w[seq]
    q = isq[seq]
    who = np.r_[np.arange(n), qi][seq][q]
    less = le[q] - eq[q]
    eqv = eq[q]
    totv = tot[q]
    n_as[who] += less + 0.5 * eqv
    d_as[who] += totv
    conc = float(less.sum())
    tiex = float(eqv.sum())
    disc = float(totv.sum()) - conc - tiex
    # sweep 2: subject j against events i with 2 tg_i + 1 < qkey_j, qkey = 2 tg + 1 (+1 if
    # censored); count events ranked above j (reverse ranks) and equal
    pkey2 = 2 * tg[qi] + 1
    qkey2 = 2 * tg + 1 + (~ev)
    key = np.r_[pkey2, qkey2]
    isq = np.r_[np.zeros(len(qi), bool), np.ones(n, bool)]
    rk = (m - 1) - np.r_[rank[qi], rank]
    w = np.r_[np.ones(len(qi)), np.zeros(n)]
    seq = np.lexsort((~isq, key))  # key ascending, queries first at equal key
    le = _earlier_le(rk[seq], w[seq])
    eq = _earlier_eq(rk[seq], w[seq])
    tot = np.cumsum(w[seq]) - w[seq]
    q = isq[seq]
    who = np.r_[qi, np.arange(n)][seq][q]
    n_as[who] += (le[q] - eq[q]) + 0.5 * eq[q]
    d_as[who] += tot[q]
    _, cnt = np.unique(t[ev], return_counts=True)
    tiey = int((cnt * (cnt - 1) // 2).sum())
    return n_as, d_as, conc, disc, tiex, tiey
