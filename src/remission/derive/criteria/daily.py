"""Reduce a long canonical observation table to one row per patient-day.

Every grader works on this table. Reduction follows each variable's ``daily`` rule in
the vocabulary (``max``, ``min``, or ``worst`` = most severe category), so a day is
graded on its worst value -- e.g. highest temperature, lowest ANC (as Liang's ICAHT
implementation keeps the lowest ANC of a day), most intensive oxygen device. Categorical
variables become their level index (0 = least severe). Everything is vectorised
(factorised integer keys; a dense scatter when the patient-day grid is compact,
else one radix sort and ``np.fmax.reduceat``) so millions of rows reduce in
about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.derive.vocabulary import VOCABULARY

__all__ = ["daily_features", "level", "sustained_fever"]

_NAMES = list(VOCABULARY)


def level(variable: str, category: str) -> int:
    """Index of ``category`` among the levels of a categorical ``variable``."""
    return VOCABULARY[variable].levels.index(category)


def _variable_codes(names: pd.Series) -> np.ndarray:
    """Vocabulary index of each row's variable (int8; -1 when not in the vocabulary)."""
    if isinstance(names.dtype, pd.CategoricalDtype):  # recode the few categories only
        where = {n: k for k, n in enumerate(_NAMES)}
        lut = np.array([where.get(c, -1) for c in names.cat.categories] + [-1], dtype=np.int8)
        return lut[names.cat.codes.to_numpy()]  # code -1 (missing) picks the trailing -1
    return pd.Categorical(names, categories=_NAMES).codes.astype(np.int8)


def _numeric_value(obs: pd.DataFrame, vcodes: np.ndarray) -> np.ndarray:
    """Canonical number per row (a fresh array); categorical rows get their level index.

    A row with a category gets the category's level index for a categorical variable
    (NaN if it is not a level) and NaN for a numeric one.
    """
    x = obs["value"].to_numpy(dtype=float, copy=True)
    if "category" not in obs.columns:
        return x
    cat = obs["category"]
    if isinstance(cat.dtype, pd.CategoricalDtype):  # fast path: one (variable, category) table
        cc = cat.cat.codes.to_numpy()
        has = cc >= 0
        if not has.any():
            return x
        names = list(cat.cat.categories)
        lut = np.full((len(_NAMES), len(names)), np.nan)
        for k, n in enumerate(_NAMES):
            v = VOCABULARY[n]
            if v.kind == "categorical":
                lut[k] = [v.levels.index(c) if c in v.levels else np.nan for c in names]
        x[has] = lut[vcodes[has], cc[has]]
        return x
    has = cat.notna().to_numpy()
    if not has.any():
        return x
    codes = vcodes[has]
    out = np.full(has.sum(), np.nan)
    cats = cat.to_numpy()[has]
    for code in np.unique(codes):
        v = VOCABULARY[_NAMES[code]]
        if v.kind != "categorical":
            continue
        m = codes == code
        lv = pd.Categorical(cats[m], categories=list(v.levels)).codes.astype(float)
        lv[lv < 0] = np.nan
        out[m] = lv
    x[has] = out
    return x


def _patient_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 code per row, ids) with codes ordered as ``pd.factorize(ids, sort=True)``.

    A categorical's own codes are reused (category order, as ``pd.factorize`` orders a
    categorical) instead of hashing every row; unobserved categories are kept -- their
    patient-days are never seen, so the reduction drops them.
    """
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()
        if len(codes) and codes.min() >= 0:
            return codes.astype(np.int64), np.asarray(ids.cat.categories, dtype=object)
    codes, uniq = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object)


def _no_duplicates(flat: np.ndarray, vcodes: np.ndarray) -> bool:
    """Cheap proof that no cell is hit twice: each variable's rows form one block and
    the cells increase strictly within blocks (a table grouped by variable and sorted by
    patient and day). False means "not proven", not "duplicates exist"."""
    if len(flat) < 2:
        return True
    new_var = vcodes[1:] != vcodes[:-1]
    if np.count_nonzero(new_var) + 1 != np.count_nonzero(np.bincount(vcodes)):
        return False  # some variable comes back in a later block
    return bool(((flat[1:] > flat[:-1]) | new_var).all())


def _reduce_dense(pd_key, vcodes, x, nvar, n_rows, is_min):
    """Scatter into a dense (variable × patient-day) grid; duplicates by max (min).

    Used when the grid is not much larger than the table (typical daily data). A plain
    scatter keeps one value per cell; a row whose value differs from what its cell
    kept is a duplicate that lost, and ``np.fmax.at`` (``np.fmin.at`` for ``is_min``
    variables) folds the losers in (both skip NaN, so a cell is NaN only when all its
    values are). Whichever duplicate the scatter kept, the cell ends as the maximum
    (minimum). Returns (rows, grid[:, rows]).
    """
    flat = np.multiply(vcodes, n_rows, dtype=np.int64)  # variable-major: contiguous columns
    flat += pd_key
    grid = np.full(nvar * n_rows, np.nan)
    grid[flat] = x
    if not _no_duplicates(flat, vcodes):
        lost = np.flatnonzero(grid[flat] != x)  # also NaN values: harmless under fmax/fmin
        low = is_min[vcodes[lost]]
        np.fmax.at(grid, flat[lost[~low]], x[lost[~low]])
        np.fmin.at(grid, flat[lost[low]], x[lost[low]])
    grid = grid.reshape(nvar, n_rows)
    seen = np.zeros(n_rows, dtype=bool)
    valid = ~np.isnan(x)
    seen[pd_key if valid.all() else pd_key[valid]] = True
    if seen.all():
        return np.arange(n_rows, dtype=np.int64), grid
    rows = np.flatnonzero(seen)
    return rows, grid[:, rows]


def _reduce_sorted(pd_key, codes, x, nvar):
    """Sort-based reduction for sparse grids (long follow-up, few observations)."""
    key = pd_key * nvar + codes.astype(np.int64)
    order = np.argsort(key, kind="stable")  # radix sort on int64 keys
    key_s = key[order]
    if len(key_s):
        starts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
        ukey = key_s[starts]
        uval = np.fmax.reduceat(x[order], starts)  # fmax ignores NaN
        seen = ~np.isnan(uval)
        ukey, uval = ukey[seen], uval[seen]
    else:
        ukey = np.array([], dtype=np.int64)
        uval = np.array([], dtype=float)
    upd = ukey // nvar
    uvar = (ukey % nvar).astype(np.int64)
    new_row = np.r_[True, upd[1:] != upd[:-1]] if len(upd) else np.array([], dtype=bool)
    rows = upd[new_row]  # ukey is sorted, so upd is too
    row_idx = np.cumsum(new_row) - 1
    return rows, row_idx, uvar, uval


def daily_features(obs: pd.DataFrame, method: str = "auto") -> pd.DataFrame:
    """One row per (patient_id, day) with one column per variable seen.

    ``obs`` is the output of :func:`~remission.derive.vocabulary.normalise_observations`
    (columns ``patient_id, day, variable, value`` and ``category``); key columns given as
    pandas categoricals take a faster path (no string factorisation). Columns that a
    grader needs but that were never observed are added as all-NaN, so graders can
    rely on every vocabulary variable being present. ``method`` = ``auto`` (dense grid
    when it is at most 4 × the table or 1e6 cells, else sort), ``dense`` or ``sorted``;
    all give the same result.
    """
    if method not in ("auto", "dense", "sorted"):
        raise ValueError("method must be 'auto', 'dense' or 'sorted'")
    pid_codes, pids = _patient_codes(obs["patient_id"])
    vcodes = _variable_codes(obs["variable"])
    if len(vcodes) and vcodes.min() < 0:
        bad = sorted(set(obs["variable"][vcodes < 0]))
        raise ValueError(f"variables not in the vocabulary: {bad}")
    x = _numeric_value(obs, vcodes)  # a fresh array: may be negated in place below
    day = obs["day"].to_numpy(dtype=np.int64)
    dmin = int(day.min()) if len(day) else 0
    span = int(day.max()) - dmin + 1 if len(day) else 1
    pd_key = pid_codes
    pd_key *= span
    pd_key += day
    if dmin:
        pd_key -= dmin
    nvar = len(_NAMES)
    # reduce: max for max/worst variables, min for min variables
    is_min = np.array([VOCABULARY[n].daily == "min" for n in _NAMES])
    n_cells = len(pids) * span * nvar
    dense = method == "dense" or (method == "auto" and n_cells <= max(4 * len(x), 1_000_000))
    if len(x) and dense:
        rows, mat = _reduce_dense(pd_key, vcodes, x, nvar, len(pids) * span, is_min)
    else:  # min variables: negate, reduce by max, negate back
        np.negative(x, out=x, where=is_min[vcodes])
        rows, row_idx, uvar, uval = _reduce_sorted(pd_key, vcodes, x, nvar)
        mat = np.full((nvar, len(rows)), np.nan)
        mat[uvar, row_idx] = uval
        mat[is_min] *= -1.0
    out = pd.DataFrame(mat.T, columns=_NAMES, copy=False)  # block = mat: contiguous columns
    out.insert(0, "day", (rows % span + dmin).astype(np.int64))
    out.insert(0, "patient_id", pids[rows // span])
    if "time" in obs.columns and obs["time"].notna().any():
        sf = sustained_fever(obs)
        key = pd.MultiIndex.from_frame(sf[["patient_id", "day"]])
        out["fever_sustained"] = pd.MultiIndex.from_frame(out[["patient_id", "day"]]).isin(key)
    else:
        out["fever_sustained"] = False
    return out


def _minutes(t: pd.Series) -> np.ndarray:
    parts = t.str.split(":", expand=True).astype(float)
    return (parts[0] * 60 + parts[1]).to_numpy()


def sustained_fever(obs: pd.DataFrame, threshold: float = 38.0, minutes: float = 60.0):
    """Days with a temperature >= ``threshold`` sustained for more than ``minutes``.

    CTCAE v5.0 febrile neutropenia: "a sustained temperature of >= 38 °C for more than
    one hour". Needs timed readings: a run of consecutive timed readings all >= 38.0 °C
    whose first and last times are more than 60 minutes apart.
    """
    t = obs[(obs["variable"] == "temperature") & obs["time"].notna()]
    if t.empty:
        return pd.DataFrame({"patient_id": [], "day": [], "fever_sustained": []})
    t = t.assign(m=_minutes(t["time"].astype(str))).sort_values(["patient_id", "day", "m"])
    hot = (t["value"] >= threshold).to_numpy()
    grp = (t["patient_id"] + "|" + t["day"].astype(str)).to_numpy()
    new_group = np.r_[True, grp[1:] != grp[:-1]]
    run_start = new_group | np.r_[True, hot[1:] != hot[:-1]]
    run_id = np.cumsum(run_start)
    df = pd.DataFrame({"patient_id": t["patient_id"].to_numpy(), "day": t["day"].to_numpy(),
                       "run": run_id, "hot": hot, "m": t["m"].to_numpy()})
    df = df[df["hot"]]
    span = df.groupby("run")["m"].agg(["min", "max"])
    good = span.index[(span["max"] - span["min"]) > minutes]
    days = df[df["run"].isin(good)][["patient_id", "day"]].drop_duplicates()
    return days.assign(fever_sustained=True)
