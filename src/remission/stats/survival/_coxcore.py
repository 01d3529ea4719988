"""Efron partial-likelihood pieces for (start, stop] data, vectorised with prefix sums.

For each distinct event time ``t`` in a stratum the risk set is
``{i: start_i < t <= stop_i}``; its sums of ``r = exp(eta)``, ``r x`` and ``r x x'``
are differences of suffix sums over sorted stop and start times. Efron's tie
correction expands an event time with ``d`` deaths into ``d`` rows with denominators
``S0 - (l/d) D0``, ``l = 0..d-1`` (Efron 1977). Used by the Cox fit and by the
``cox.zph`` score test, which only needs the per-row means and variances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EfronRows:
    """Per expanded death row: time index, weight g, denominators, means, variances."""

    loglik: float
    score: np.ndarray          # (p,)
    info: np.ndarray           # (p, p)
    tidx: np.ndarray           # (m,) index into event_times of each expanded row
    mean: np.ndarray           # (m, p)
    var: np.ndarray | None     # (m, p, p)
    event_times: np.ndarray    # (T,)
    xsum_dead: np.ndarray      # (T, p) sum of x over deaths at each time


def _suffix_at(sorted_keys: np.ndarray, cum: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Sum of values whose key >= t, with ``cum`` the prefix sums (leading zero row)."""
    pos = np.searchsorted(sorted_keys, t, side="left")
    return cum[-1] - cum[pos]


def _prefix(v: np.ndarray) -> np.ndarray:
    z = np.zeros((1, *v.shape[1:]))
    return np.concatenate([z, np.cumsum(v, axis=0)])


def efron_stratum(start: np.ndarray | None, stop: np.ndarray, event: np.ndarray,
                  x: np.ndarray, eta: np.ndarray, want_var: bool = True) -> EfronRows:
    """Efron log partial likelihood, score and information for one stratum."""
    p = x.shape[1]
    r = np.exp(eta)
    dead = event == 1
    et, tinv = np.unique(stop[dead], return_inverse=True)
    nt = len(et)
    rx = r[:, None] * x
    rxx = rx[:, :, None] * x[:, None, :] if want_var else None
    o = np.argsort(stop, kind="stable")
    ks = stop[o]
    s0 = _suffix_at(ks, _prefix(r[o]), et)
    s1 = _suffix_at(ks, _prefix(rx[o]), et)
    s2 = _suffix_at(ks, _prefix(rxx[o]), et) if want_var else None
    if start is not None:
        o2 = np.argsort(start, kind="stable")
        k2 = start[o2]
        s0 = s0 - _suffix_at(k2, _prefix(r[o2]), et)
        s1 = s1 - _suffix_at(k2, _prefix(rx[o2]), et)
        if want_var:
            s2 = s2 - _suffix_at(k2, _prefix(rxx[o2]), et)
    d = np.bincount(tinv, minlength=nt).astype(float)
    d0 = np.bincount(tinv, weights=r[dead], minlength=nt)
    d1 = np.zeros((nt, p))
    np.add.at(d1, tinv, rx[dead])
    xd = np.zeros((nt, p))
    np.add.at(xd, tinv, x[dead])
    # expand: row l of a time with d deaths has fraction l/d
    tidx = np.repeat(np.arange(nt), d.astype(int))
    first = np.concatenate([[0], np.cumsum(d)[:-1]]).astype(int)
    frac = (np.arange(len(tidx)) - first[tidx]) / d[tidx]
    den = s0[tidx] - frac * d0[tidx]
    num1 = s1[tidx] - frac[:, None] * d1[tidx]
    mean = num1 / den[:, None]
    loglik = float(eta[dead].sum() - np.log(den).sum())
    score = xd.sum(0) - mean.sum(0)
    var = None
    if want_var:
        d2 = np.zeros((nt, p, p))
        np.add.at(d2, tinv, rxx[dead])
        num2 = s2[tidx] - frac[:, None, None] * d2[tidx]
        var = num2 / den[:, None, None] - mean[:, :, None] * mean[:, None, :]
        info = var.sum(0)
    else:
        info = np.zeros((p, p))
    return EfronRows(loglik, score, info, tidx, mean, var, et, xd)
