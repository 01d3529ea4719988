"""Efron partial-likelihood pieces for (start, stop] data, vectorised with prefix sums.

For each distinct event time ``t`` in a stratum the risk set is
``{i: start_i < t <= stop_i}``; its sums of ``r = exp(eta)``, ``r x`` and ``r x x'``
are differences of suffix sums over sorted stop and start times. Efron's tie
correction expands an event time with ``d`` deaths into ``d`` rows with denominators
``S0 - (l/d) D0``, ``l = 0..d-1`` (Efron 1977); the sums over l are collapsed into a
few scalars per event time, so the information is built per time (T × p × p) rather
than per death. Used by the Cox fit and by the ``cox.zph`` score test, which needs the
per-time mean sums and information blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Strata of at least this many rows use the compiled kernels of
# remission.stats.survival._kernels (Numba, imported on first use); smaller ones the
# NumPy code, so small studies never pay for loading Numba.
COMPILED_FROM = 20_000


@dataclass
class EfronRows:
    """Per distinct event time of a stratum: Efron sums needed by the fit and cox.zph."""

    loglik: float
    score: np.ndarray            # (p,)
    info: np.ndarray             # (p, p)
    event_times: np.ndarray      # (T,)
    xsum_dead: np.ndarray        # (T, p) sum of x over deaths at each time
    mean_sum: np.ndarray         # (T, p) sum over the d Efron rows of the weighted mean
    info_t: np.ndarray | None    # (T, p, p) information contributed by each time


def _suffix_at(sorted_keys: np.ndarray, cum: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Sum of values whose key >= t, with ``cum`` the prefix sums (leading zero row)."""
    pos = np.searchsorted(sorted_keys, t, side="left")
    return cum[-1] - cum[pos]


def _suffix_blocks(v: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Suffix sums of ``v`` from each of the strictly increasing positions ``pos``.

    One pass (``reduceat`` over the blocks between positions, then a reverse cumsum
    over blocks) instead of a full-length cumulative sum; all positions must be < len(v).
    """
    blocks = np.add.reduceat(v, pos, axis=0)
    return np.cumsum(blocks[::-1], axis=0)[::-1]


def _prefix(v: np.ndarray) -> np.ndarray:
    z = np.zeros((1, *v.shape[1:]))
    return np.concatenate([z, np.cumsum(v, axis=0)])


def efron_stratum(start: np.ndarray | None, stop: np.ndarray, event: np.ndarray,
                  x: np.ndarray, eta: np.ndarray, want_var: bool = True,
                  order: tuple[np.ndarray, np.ndarray | None] | None = None,
                  ties: str = "efron") -> EfronRows:
    """Efron log partial likelihood, score and information for one stratum.

    ``order`` = (argsort of stop, argsort of start) may be passed to skip re-sorting
    on every Newton iteration; a stop order of ``None`` there means the rows are
    already sorted by stop (no gathers needed).
    """
    p = x.shape[1]
    r = np.exp(eta)
    if order is None:
        order = (np.argsort(stop, kind="stable"),
                 None if start is None else np.argsort(start, kind="stable"))
    o, o2 = order

    def by_stop(v: np.ndarray) -> np.ndarray:
        return v if o is None else v[o]

    dead = event == 1
    ds = np.flatnonzero(dead) if o is None else o[dead[o]]  # deaths in time order
    dtimes = stop[ds]
    brk = np.flatnonzero(np.diff(dtimes)) + 1
    first_d = np.concatenate([[0], brk]).astype(int) if len(ds) else np.zeros(0, int)
    et = dtimes[first_d]
    nt = len(et)
    rx = r[:, None] * x
    rxx = rx[:, :, None] * x[:, None, :] if want_var else None
    ks = by_stop(stop)
    pos = np.searchsorted(ks, et, side="left")  # strictly increasing, each < n
    if nt:
        s0 = _suffix_blocks(by_stop(r), pos)
        s1 = _suffix_blocks(by_stop(rx), pos)
        s2 = _suffix_blocks(by_stop(rxx), pos) if want_var else None
    else:
        s0, s1, s2 = np.zeros(0), np.zeros((0, p)), np.zeros((0, p, p))
    if start is not None:
        k2 = start[o2]
        s0 = s0 - _suffix_at(k2, _prefix(r[o2]), et)
        s1 = s1 - _suffix_at(k2, _prefix(rx[o2]), et)
        if want_var:
            s2 = s2 - _suffix_at(k2, _prefix(rxx[o2]), et)
    d = np.diff(np.concatenate([first_d, [len(ds)]])).astype(float)
    d0 = np.add.reduceat(r[ds], first_d) if nt else np.zeros(0)
    d1 = np.add.reduceat(rx[ds], first_d, axis=0) if nt else np.zeros((0, p))
    xd = np.add.reduceat(x[ds], first_d, axis=0) if nt else np.zeros((0, p))
    # Efron rows l = 0..d-1 at each time with fraction f = l/d; collapse sums over l
    tidx = np.repeat(np.arange(nt), d.astype(int))
    first = np.concatenate([[0], np.cumsum(d)[:-1]]).astype(int)
    frac = (np.arange(len(tidx)) - first[tidx]) / d[tidx]
    if ties == "breslow":  # every tied death sees the full risk set
        frac = np.zeros_like(frac)
    den = s0[tidx] - frac * d0[tidx]
    loglik = float(eta[ds].sum() - np.log(den).sum())

    def per_time(v: np.ndarray) -> np.ndarray:
        return np.add.reduceat(v, first) if nt else np.zeros(0)

    a0 = per_time(1 / den)            # sum 1/den
    a1 = per_time(frac / den)         # sum f/den
    mean_sum = s1 * a0[:, None] - d1 * a1[:, None]
    score = xd.sum(0) - mean_sum.sum(0)
    info_t = None
    if want_var:
        d2 = np.add.reduceat(rxx[ds], first_d, axis=0) if nt else np.zeros((0, p, p))
        b0 = per_time(1 / den**2)
        b1 = per_time(frac / den**2)
        b2 = per_time(frac**2 / den**2)
        ss = s1[:, :, None] * s1[:, None, :]
        sd = s1[:, :, None] * d1[:, None, :]
        dd = d1[:, :, None] * d1[:, None, :]
        info_t = (s2 * a0[:, None, None] - d2 * a1[:, None, None]
                  - (ss * b0[:, None, None] - (sd + sd.transpose(0, 2, 1)) * b1[:, None, None]
                     + dd * b2[:, None, None]))
        info = info_t.sum(0)
    else:
        info = np.zeros((p, p))
    return EfronRows(loglik, score, info, et, xd, mean_sum, info_t)


def load_kernels() -> float:
    """Import Numba and load the compiled survival kernels now; returns the seconds taken.

    Large analyses (a stratum of ``COMPILED_FROM`` rows or more) load them on first use
    anyway; a long-running process (a server, a notebook) can pay this one-off cost at
    start-up instead. Compiles the kernels when the on-disk cache is empty.

    Returns
    -------
    float
        Wall seconds spent importing and loading.

    Examples
    --------
    >>> from remission.stats.survival import load_kernels
    >>> load_kernels() >= 0
    True
    """
    import time

    t0 = time.perf_counter()
    from remission.stats.survival._kernels import efron_sorted, parts_sorted

    parts_sorted(np.zeros(1), np.ones(1, np.int64), np.zeros(1, np.int64), 1, np.zeros(1),
                 np.zeros(1))
    efron_sorted(np.zeros(1), np.ones(1, np.int64), np.zeros((1, 1)), np.zeros(1), False)
    return time.perf_counter() - t0
