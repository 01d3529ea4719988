"""Inner loops of the graders, as whole-array NumPy operations (no per-row Python).

No compiler is needed: the daily scatter is one unbuffered ``np.fmax.at``
(order-independent, NaN ignored), the ICAHT rules work on whole (patients × days)
matrices with running maxima/minima, and CTCAE grades count the bounds crossed.
``tests/test_criteria_fastpaths.py`` checks them against a plain-Python statement of
each rule; benchmarks/bench_grading.py times them (docs/performance.md).
"""

from __future__ import annotations

import numpy as np

#: rows per chunk of the long table: small enough that a chunk's temporaries stay in
#: cache and are reused, instead of several fresh arrays as long as the table
_CHUNK = 1 << 16

__all__ = ["ctcae_codes", "episodes_rows", "interpolate_rows", "scan_keys",
           "scatter_daily"]


def scatter_daily(pidc: np.ndarray, day: np.ndarray, varc: np.ndarray, catc: np.ndarray,
                  value: np.ndarray, var_lut: np.ndarray, cat_lut: np.ndarray,
                  is_min: np.ndarray, span: int, dmin: int,
                  n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce the long table into a (variable × patient-day) grid in one scatter.

    Row ``i`` holds variable ``var_lut[varc[i]]`` (a compact variable index, every one
    valid: the caller has rejected unknown variables) for patient code ``pidc[i]`` on
    ``day[i]``; its number is ``cat_lut[variable, catc[i]]`` when it has a category
    (code >= 0) and ``value[i]`` otherwise. NaN numbers are ignored; a cell keeps the
    maximum of its values, or the minimum where ``is_min[variable]`` (values of those
    variables are negated, folded by maximum and negated back).

    Returns
    -------
    grid : ndarray
        ``(len(is_min), n_cells)`` float64, NaN where a cell has no value; cell =
        ``pidc * span + day - dmin``.
    seen : ndarray
        bool per cell: at least one variable has a value there.
    """
    n_var = len(is_min)
    known = var_lut >= 0
    vk = np.where(known, var_lut, 0)
    # per variable code: the grid offset of its row (cell 0 = day dmin of patient 0), and
    # the sign of its values (-1: folded by minimum = negated, folded by maximum, negated
    # back); per (variable code, category code): the level number
    offset = vk * np.int64(n_cells) - np.int64(dmin)
    sign = np.where(known & is_min[vk], -1.0, 1.0)
    any_neg = bool((sign < 0).any())
    code_cat = np.full((len(var_lut), max(cat_lut.shape[1], 1)), np.nan)
    code_cat[known] = cat_lut[vk[known]]
    grid = np.full(n_var * n_cells, np.nan)
    n = len(pidc)
    for lo in range(0, n, _CHUNK):  # chunks: every temporary stays small and in cache
        hi = min(lo + _CHUNK, n)
        vc = varc[lo:hi]
        x = value[lo:hi].astype(np.float64, copy=True)
        cc = catc[lo:hi]
        has = cc >= 0
        if has.any():
            x[has] = code_cat[vc[has], cc[has]]
        if any_neg:
            x *= sign[vc]
        flat = offset[vc]
        flat += day[lo:hi]
        flat += pidc[lo:hi].astype(np.int64) * np.int64(span)
        np.fmax.at(grid, flat, x)  # fmax: a NaN never replaces a number
    grid = grid.reshape(n_var, n_cells)
    for k in np.flatnonzero(is_min):
        np.negative(grid[k], out=grid[k])
    seen = ~np.isnan(grid).all(axis=0)
    return grid, seen


def scan_keys(day: np.ndarray, varc: np.ndarray, n_codes: int) -> tuple[int, int, np.ndarray]:
    """(smallest day, largest day, rows per variable code); code -1 (missing) is counted
    in the last bin. An empty table gives (0, 0, zeros)."""
    if day.shape[0] == 0:
        return 0, 0, np.zeros(n_codes + 1, dtype=np.int64)
    counts = np.zeros(n_codes + 1, dtype=np.int64)
    for lo in range(0, len(varc), _CHUNK):  # chunks: no temporary as long as the table
        c = varc[lo:lo + _CHUNK].astype(np.intp)
        c[c < 0] = n_codes  # missing: the last bin
        counts += np.bincount(c, minlength=n_codes + 1)
    return int(day.min()), int(day.max()), counts


def _day_index(w: int) -> np.ndarray:
    """Column (day) numbers 0..w-1 as a (w, 1) column, in the narrowest integer type that
    also holds -1 and w (smaller temporaries in the matrix rules below)."""
    return np.arange(w, dtype=np.int16 if w < 32_000 else np.int64)[:, None]


def _running(op: np.ufunc, t: np.ndarray, reverse: bool = False) -> np.ndarray:
    """``op.accumulate`` down the first axis of a (days x rows) matrix (backwards with
    ``reverse``), one vector operation per day."""
    out = np.array(t, copy=True)
    days = range(len(out) - 2, -1, -1) if reverse else range(1, len(out))
    step = 1 if reverse else -1
    for j in days:
        op(out[j + step], out[j], out=out[j])
    return out


def interpolate_rows(mat: np.ndarray, maxgap: int) -> np.ndarray:
    """Copy of ``mat`` with interior gaps of <= ``maxgap`` NaN columns filled linearly
    along each row (``zoo::na.approx(maxgap = 7)``: leading/trailing and longer gaps stay).

    A missing cell between the previous known column ``p`` and the next known column
    ``q`` of its row, with ``q - p <= maxgap + 1``, becomes
    ``a + (b - a) * (k - p) / (q - p)`` (``a``, ``b`` the known values, ``k`` its column).
    """
    n, w = np.shape(mat)
    if n == 0 or w == 0:
        return np.array(mat, dtype=np.float64, copy=True)
    t = np.array(np.transpose(mat), dtype=np.float64, order="C")  # days x rows
    known = ~np.isnan(t)
    cols = _day_index(w)
    prev = _running(np.maximum, np.where(known, cols, -1))
    nxt = _running(np.minimum, np.where(known, cols, w), reverse=True)
    gap = ~known & (prev >= 0) & (nxt < w) & (nxt - prev <= maxgap + 1)
    k, r = np.nonzero(gap)
    if len(r):
        p, q = prev[k, r], nxt[k, r]
        a, b = t[p, r], t[q, r]
        t[k, r] = a + (b - a) * (k - p) / (q - p)
    return np.ascontiguousarray(t.T)


def _runs(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a (days x rows) bool matrix: the start day of the run of True each cell is in
    (-1 if False), and per row the longest run of True."""
    cols = _day_index(m.shape[0])
    last_false = _running(np.maximum, np.where(m, -1, cols))
    start = np.where(m, last_false + 1, -1)
    longest = np.where(m, cols - last_false, 0).max(axis=0, initial=0)
    return start, longest


def episodes_rows(mat: np.ndarray, threshold: float,
                  join_gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: (longest, cumulative) length of joined episodes at/below ``threshold`` and
    whether one starts in the first 4 columns and runs to the row's last non-NaN column.

    A row is cut into runs of equal state (NaN, above, at/below); a run above of at most
    ``join_gap`` columns with a column at/below immediately before and after it joins
    them; an episode is a maximal run of columns at/below or joined, so its length counts
    from its first to its last column at/below (joined columns included).
    """
    n, w = np.shape(mat)
    if n == 0 or w == 0:
        return (np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                np.zeros(n, dtype=np.bool_))
    t = np.ascontiguousarray(np.transpose(mat), dtype=np.float64)  # days x rows
    valid = ~np.isnan(t)
    below = t <= threshold  # NaN is not below
    above = valid & ~below
    cols = _day_index(w)
    # around each day above: the nearest day not above on its left and on its right
    lb = _running(np.maximum, np.where(above, -1, cols))
    rb = _running(np.minimum, np.where(above, w, cols), reverse=True)
    r = np.arange(n)
    left_below = (lb >= 0) & below[np.maximum(lb, 0), r]
    right_below = (rb < w) & below[np.minimum(rb, w - 1), r]
    joined = above & left_below & right_below & (rb - lb - 1 <= join_gap)
    merged = below | joined
    start, longest = _runs(merged)
    cumulative = merged.sum(axis=0).astype(np.int64)
    last_valid = np.where(valid.any(axis=0), w - 1 - np.argmax(valid[::-1], axis=0), -1)
    at_last = start[np.maximum(last_valid, 0), r]
    never = (last_valid >= 0) & (at_last >= 0) & (at_last <= 3)
    return longest.astype(np.int64), cumulative, never


def ctcae_codes(x: np.ndarray, bounds: np.ndarray, lln: float | np.ndarray) -> np.ndarray:
    """CTCAE v5.0 grade code of every value (int8): 1 + the number of (decreasing)
    grade-2..4 upper bounds it is below; otherwise 0 at/above the LLN, 1 below it, -1
    when undefined (no value, or no LLN). ``lln`` is one number or one per value."""
    below = np.zeros(x.shape, dtype=np.int8)
    for b in bounds:
        below += x < b  # NaN is below no bound
    out = np.where(below > 0, below + 1, -1).astype(np.int8)
    lln = np.asarray(lln, dtype=np.float64)
    if lln.ndim == 0 and np.isnan(lln):
        return out  # no LLN: grades 0 and 1 are undefined
    rest = (below == 0) & ~np.isnan(x) & ~np.isnan(lln)
    if rest.any():
        limit = lln if lln.ndim == 0 else lln[rest]
        out[rest] = np.where(x[rest] >= limit, 0, 1)
    return out
