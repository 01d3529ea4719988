"""Compiled (Numba) hot loops of the survival code, imported only for large samples.

- ``parts_sorted``: the two sweeps of Harrell's C pair counting with Fenwick trees, the
  same counts as :func:`remission.stats.survival.concordance._parts`;
- ``efron_sorted``: log partial likelihood, score and information of right-censored Cox
  data in one backward pass, as :func:`remission.stats.survival._coxcore.efron_stratum`.

The NumPy versions stay the reference and the path for small samples, so a one-shot
report on a small study never loads Numba (callers switch at
``remission.stats.survival._coxcore.COMPILED_FROM`` rows per stratum). ``cache=True``
keeps the machine code next to this file: only the first call on a machine compiles.
Importing this module costs the Numba import and the kernels' load (see
docs/performance.md), a one-off per process.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["efron_sorted", "parts_sorted"]


@numba.njit(cache=True, nogil=True)
def _add(tree, i, m):  # pragma: no cover - compiled
    i += 1
    while i <= m:
        tree[i] += 1
        i += i & -i


@numba.njit(cache=True, nogil=True)
def _below(tree, i):  # pragma: no cover - compiled
    s = 0
    while i > 0:
        s += tree[i]
        i -= i & -i
    return s


@numba.njit(cache=True, nogil=True)
def parts_sorted(ts, es, rs, m, n_as, d_as):  # pragma: no cover - compiled
    """Pair counts of one stratum; ``ts, es, rs`` (time, event, rank of score) sorted by
    time. Adds half-concordant (``n_as``) and comparable (``d_as``) pair counts per sorted
    subject; returns (concordant, discordant, tied.x)."""
    n = ts.shape[0]
    tree = np.zeros(m + 1, np.int64)
    total = 0
    conc = 0
    disc = 0
    tiex = 0
    # sweep 1, latest time first: an event against subjects after it and subjects
    # censored at its own time
    hi = n
    while hi > 0:
        lo = hi - 1
        while lo > 0 and ts[lo - 1] == ts[hi - 1]:
            lo -= 1
        for j in range(lo, hi):
            if es[j] == 0:
                _add(tree, rs[j], m)
                total += 1
        for j in range(lo, hi):
            if es[j] == 1:
                less = _below(tree, rs[j])
                eq = _below(tree, rs[j] + 1) - less
                n_as[j] += less + 0.5 * eq
                d_as[j] += total
                conc += less
                disc += total - less - eq
                tiex += eq
        for j in range(lo, hi):
            if es[j] == 1:
                _add(tree, rs[j], m)
                total += 1
        hi = lo
    # sweep 2, earliest first: a subject against the events before it (and the events at
    # its own time when it is censored)
    tree[:] = 0
    total = 0
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and ts[hi] == ts[lo]:
            hi += 1
        for stage in range(3):  # events scored, events added, censored scored
            for j in range(lo, hi):
                if stage == 1:
                    if es[j] == 1:
                        _add(tree, rs[j], m)
                        total += 1
                elif (stage == 0) == (es[j] == 1):
                    below = _below(tree, rs[j])
                    le = _below(tree, rs[j] + 1)
                    n_as[j] += (total - le) + 0.5 * (le - below)
                    d_as[j] += total
        lo = hi
    return conc, disc, tiex


@numba.njit(cache=True, nogil=True)
def efron_sorted(stop, event, x, eta, breslow):  # pragma: no cover - compiled
    """(loglik, score, information) of one stratum sorted by ascending ``stop``.

    One pass from the latest time: the risk-set sums ``S0, S1, S2`` of ``r = exp(eta)``,
    ``r x``, ``r x x'`` grow as subjects enter; at an event time with ``d`` deaths the
    Efron rows ``l = 0..d-1`` use ``S - (l/d) D`` (Breslow: ``S``), ``D`` the deaths' sums.
    """
    n, p = x.shape
    s0 = 0.0
    s1 = np.zeros(p)
    s2 = np.zeros((p, p))
    d1 = np.zeros(p)
    d2 = np.zeros((p, p))
    score = np.zeros(p)
    info = np.zeros((p, p))
    mean = np.zeros(p)
    loglik = 0.0
    hi = n
    while hi > 0:
        lo = hi - 1
        while lo > 0 and stop[lo - 1] == stop[hi - 1]:
            lo -= 1
        d0 = 0.0
        nd = 0
        d1[:] = 0.0
        d2[:, :] = 0.0
        for i in range(lo, hi):
            r = np.exp(eta[i])
            s0 += r
            for a in range(p):
                ra = r * x[i, a]
                s1[a] += ra
                for b in range(a + 1):
                    s2[a, b] += ra * x[i, b]
            if event[i] == 1:
                nd += 1
                d0 += r
                loglik += eta[i]
                for a in range(p):
                    ra = r * x[i, a]
                    d1[a] += ra
                    score[a] += x[i, a]
                    for b in range(a + 1):
                        d2[a, b] += ra * x[i, b]
        for k in range(nd):
            f = 0.0 if breslow else k / nd
            den = s0 - f * d0
            loglik -= np.log(den)
            for a in range(p):
                mean[a] = (s1[a] - f * d1[a]) / den
                score[a] -= mean[a]
            for a in range(p):
                for b in range(a + 1):
                    info[a, b] += (s2[a, b] - f * d2[a, b]) / den - mean[a] * mean[b]
        hi = lo
    for a in range(p):
        for b in range(a):
            info[b, a] = info[a, b]
    return loglik, score, info
