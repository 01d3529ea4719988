"""Compiled (Numba) inner loops of the graders, imported only when a grader needs them.

Numba is loaded lazily so that ``import remission`` and reports without raw daily data
do not pay for it. ``cache=True`` keeps the machine code next to this file, so only the
first call on a machine compiles (timed by benchmarks/bench_report.py: docs/performance.md).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["scatter_daily"]


@numba.njit(cache=True, nogil=True)
def scatter_daily(pidc, day, varc, catc, value, var_lut, cat_lut, is_min, span, dmin,
                  grid, seen):  # pragma: no cover - compiled; tested through daily_features
    """One pass over the long table into a (variable × patient-day) grid.

    Row ``i`` holds variable ``var_lut[varc[i]]`` (a vocabulary index) for patient code
    ``pidc[i]`` on ``day[i]``; its number is ``cat_lut[variable, catc[i]]`` when it has a
    category (code >= 0) and ``value[i]`` otherwise. NaN rows are skipped; a cell keeps
    the maximum of its values, or the minimum where ``is_min[variable]``; ``seen`` marks
    the patient-days with at least one value. Returns -1, or the first row whose
    variable is not in the vocabulary (nothing is then reliable: the caller raises).
    """
    for i in range(pidc.shape[0]):
        vc = varc[i]
        if vc < 0:
            return i
        v = var_lut[vc]
        if v < 0:
            return i
        c = catc[i]
        x = cat_lut[v, c] if c >= 0 else value[i]
        if x != x:
            continue
        cell = np.int64(pidc[i]) * span + day[i] - dmin
        old = grid[v, cell]
        if old != old or (x < old if is_min[v] else x > old):
            grid[v, cell] = x
        seen[cell] = True
    return -1


@numba.njit(cache=True, nogil=True)
def interpolate_rows(mat, maxgap):  # pragma: no cover - compiled; tested via icaht
    """Copy of ``mat`` with interior gaps of <= ``maxgap`` NaN columns filled linearly
    along each row (``zoo::na.approx(maxgap = 7)``: leading/trailing and longer gaps stay)."""
    out = mat.copy()
    n, w = mat.shape
    for r in range(n):
        prev = -1
        for j in range(w):
            b = mat[r, j]
            if b != b:
                continue
            if prev >= 0 and 1 < j - prev <= maxgap + 1:
                a = mat[r, prev]
                for k in range(prev + 1, j):
                    out[r, k] = a + (b - a) * (k - prev) / (j - prev)
            prev = j
    return out


@numba.njit(cache=True, nogil=True)
def episodes_rows(mat, threshold, join_gap):  # pragma: no cover - compiled; tested via icaht
    """Per row: (longest, cumulative) length of joined episodes at/below ``threshold`` and
    whether one starts in the first 4 columns and runs to the row's last non-NaN column.

    A row is cut into runs of equal state (NaN, above, at/below); a run above of at most
    ``join_gap`` columns between two runs at/below joins them; the episode length counts
    from its first to its last column at/below (joined columns included).
    """
    n, w = mat.shape
    longest = np.zeros(n, dtype=np.int64)
    cumulative = np.zeros(n, dtype=np.int64)
    never = np.zeros(n, dtype=np.bool_)
    state = np.empty(w, dtype=np.int8)
    start = np.empty(w, dtype=np.int64)
    length = np.empty(w, dtype=np.int64)
    for r in range(n):
        m = 0
        last_valid = -1
        for j in range(w):
            x = mat[r, j]
            s = -1 if x != x else (1 if x <= threshold else 0)
            if s >= 0:
                last_valid = j
            if m > 0 and state[m - 1] == s:
                length[m - 1] += 1
            else:
                state[m] = s
                start[m] = j
                length[m] = 1
                m += 1
        for k in range(1, m - 1):  # neighbours of an "above" run are never "above" runs
            if state[k] == 0 and length[k] <= join_gap and state[k - 1] == 1 \
                    and state[k + 1] == 1:
                state[k] = 1
        k = 0
        while k < m:
            if state[k] != 1:
                k += 1
                continue
            first = start[k]
            total = 0
            while k < m and state[k] == 1:
                total += length[k]
                k += 1
            longest[r] = max(longest[r], total)
            cumulative[r] += total
            if first <= 3 and first + total - 1 == last_valid:
                never[r] = True
    return longest, cumulative, never


@numba.njit(cache=True, nogil=True)
def scan_keys(day, varc, n_codes):  # pragma: no cover - compiled; tested via daily
    """One pass: (smallest day, largest day, rows per variable code); code -1 (missing)
    is counted in the last bin."""
    counts = np.zeros(n_codes + 1, dtype=np.int64)
    lo = np.int64(0)
    hi = np.int64(0)
    for i in range(day.shape[0]):
        d = day[i]
        if i == 0 or d < lo:
            lo = d
        if i == 0 or d > hi:
            hi = d
        c = varc[i]
        counts[c if c >= 0 else n_codes] += 1
    return lo, hi, counts


@numba.njit(cache=True, nogil=True)
def ctcae_code(x, bounds, lln):  # pragma: no cover - compiled; tested via ctcae
    """CTCAE v5.0 grade code of one value: 1 + the number of (decreasing) grade-2..4 upper
    bounds it is below; otherwise 0 at/above the LLN, 1 below it, -1 when undefined
    (no value, or no LLN)."""
    below = 0
    for b in bounds:
        if x < b:
            below += 1
    if below:
        return below + 1
    if x == x and lln == lln:
        return 0 if x >= lln else 1
    return -1


@numba.njit(cache=True, nogil=True)
def ctcae_codes(x, bounds, lln):  # pragma: no cover - compiled; tested via ctcae
    """:func:`ctcae_code` of every value (``lln`` has one entry per value)."""
    out = np.empty(x.shape[0], dtype=np.int8)
    for i in range(x.shape[0]):
        out[i] = ctcae_code(x[i], bounds, lln[i])
    return out


@numba.njit(cache=True, nogil=True)
def ctcae_rows(x, bounds, lln):  # pragma: no cover - compiled; tested via ctcae
    """(row index, value, grade code) of the non-NaN values of ``x`` (one LLN for all)."""
    n = 0
    for i in range(x.shape[0]):
        if x[i] == x[i]:
            n += 1
    rows = np.empty(n, dtype=np.int64)
    vals = np.empty(n, dtype=np.float64)
    codes = np.empty(n, dtype=np.int8)
    k = 0
    for i in range(x.shape[0]):
        v = x[i]
        if v == v:
            rows[k] = i
            vals[k] = v
            codes[k] = ctcae_code(v, bounds, lln)
            k += 1
    return rows, vals, codes
