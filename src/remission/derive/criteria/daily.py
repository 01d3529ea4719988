"""Reduce a long canonical observation table to one row per patient-day.

Every grader works on this table. Reduction follows each variable's ``daily`` rule in
the vocabulary (``max``, ``min``, or ``worst`` = most severe category), so a day is
graded on its worst value -- e.g. highest temperature, lowest ANC (as Liang's ICAHT
implementation keeps the lowest ANC of a day), most intensive oxygen device. Categorical
variables become their level index (0 = least severe). Keys are factorised to integers
(a categorical column's own codes are reused); when the patient-day grid is compact the
rows are scattered into it by one ``np.fmax.at``, else one radix sort and
``np.fmax.reduceat`` reduce them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.derive.criteria._kernels import scan_keys, scatter_daily
from remission.vocab.vocabulary import VOCABULARY

__all__ = ["FEVER_C", "SUSTAINED_MINUTES", "column", "concurrent_pressor_days",
           "concurrent_pressors", "daily_features", "level", "minutes_of_day",
           "sustained_fever", "sustained_rows", "with_variables"]

_NAMES = list(VOCABULARY)


def level(variable: str, category: str) -> int:
    """Index of ``category`` among the ordered levels of a categorical vocabulary variable.

    Graders compare a day's value (the level index :func:`daily_features` stores) with this.

    Parameters
    ----------
    variable : str
        A categorical variable of :data:`remission.vocab.vocabulary.VOCABULARY`.
    category : str
        One of its levels.

    Returns
    -------
    int
        0 for the least severe level, increasing with severity.

    Raises
    ------
    ValueError
        ``category`` is not a level of ``variable``.
    KeyError
        ``variable`` is not in the vocabulary.

    Examples
    --------
    Oxygen devices in order of intensity: room air, blow-by, nasal cannula, high-flow nasal
    cannula, ...:

    >>> level("oxygen_device", "room_air"), level("oxygen_device", "high_flow_nasal_cannula")
    (0, 3)
    >>> level("hypotension", "yes")
    1
    """
    return VOCABULARY[variable].levels.index(category)


def column(daily: pd.DataFrame, variable: str) -> np.ndarray:
    """Float values of ``variable`` per row of a daily table; all NaN if it was never observed.

    Parameters
    ----------
    daily : DataFrame
        Output of :func:`daily_features`.
    variable : str
        A vocabulary variable.

    Returns
    -------
    ndarray of float
        One value per row of ``daily`` (level index for categorical variables).

    Raises
    ------
    KeyError
        ``variable`` is not a vocabulary variable (a misspelling is never read as "not
        observed").

    Examples
    --------
    >>> daily = pd.DataFrame({"patient_id": ["P1", "P1"], "day": [1, 2],
    ...                       "temperature": [38.4, 37.0]})
    >>> column(daily, "temperature").tolist(), column(daily, "anc").tolist()
    ([38.4, 37.0], [nan, nan])
    >>> try:
    ...     column(daily, "temprature")
    ... except KeyError as e:
    ...     print(e)
    "'temprature' is not a vocabulary variable"
    """
    if variable in daily.columns:
        return daily[variable].to_numpy(dtype=float)
    if variable not in VOCABULARY:
        raise KeyError(f"{variable!r} is not a vocabulary variable")
    return np.full(len(daily), np.nan)


def with_variables(daily: pd.DataFrame, variables) -> pd.DataFrame:
    """``daily`` with an all-NaN column added for each of ``variables`` never observed.

    Parameters
    ----------
    daily : DataFrame
        Output of :func:`daily_features`.
    variables : iterable of str
        Columns the caller reads.

    Returns
    -------
    DataFrame
        ``daily`` itself when every column is present, else a new frame with the missing
        columns appended (NaN) in the order given.

    Examples
    --------
    >>> daily = pd.DataFrame({"patient_id": ["P1"], "day": [1], "anc": [0.4]})
    >>> list(with_variables(daily, ["anc", "platelets"]).columns)
    ['patient_id', 'day', 'anc', 'platelets']
    >>> with_variables(daily, ["anc"]) is daily
    True
    """
    missing = [v for v in variables if v not in daily.columns]
    if not missing:
        return daily
    return pd.concat([daily, pd.DataFrame(np.nan, index=daily.index, columns=missing)], axis=1)


def _codes(values: pd.Series) -> tuple[np.ndarray, list]:
    """(code per row, -1 when missing; the distinct values). A categorical's own codes are
    reused instead of hashing every row."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # the array's own (no accessor Series)
        return values.array.codes, list(values.array.categories)
    codes, uniq = pd.factorize(values)
    return codes, list(uniq)


def _lookup_tables(var_names: list, cat_names: list) -> tuple[np.ndarray, np.ndarray]:
    """Vocabulary index of each distinct variable name (-1 = unknown), and the number of
    each (variable, category) pair: the level index for a categorical variable, NaN when
    the category is not one of its levels or the variable is numeric."""
    where = {n: k for k, n in enumerate(_NAMES)}
    var_lut = np.array([where.get(c, -1) for c in var_names], dtype=np.int64)
    cat_lut = np.full((len(_NAMES), max(len(cat_names), 1)), np.nan)
    for k, n in enumerate(_NAMES):
        v = VOCABULARY[n]
        if v.kind == "categorical":
            cat_lut[k, :len(cat_names)] = [v.levels.index(c) if c in v.levels else np.nan
                                           for c in cat_names]
    return var_lut, cat_lut


def _patient_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(integer code per row, ids) with codes ordered as ``pd.factorize(ids, sort=True)``.

    A categorical's own codes are reused (category order, as ``pd.factorize`` orders a
    categorical) instead of hashing every row; unobserved categories are kept -- their
    patient-days are never seen, so the reduction drops them.
    """
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.array.codes
        if len(codes) and codes.min() >= 0:
            return codes, np.asarray(ids.array.categories, dtype=object)
    codes, uniq = pd.factorize(ids, sort=True)
    return codes, np.asarray(uniq, dtype=object)


def _reduce_dense(pidc, day, varc, catc, value, var_lut, cat_lut, is_min, span, dmin,
                  n_rows):
    """One scatter into a dense (variable × patient-day) grid; duplicates by max (min for
    ``is_min`` variables). Used when the grid is not much larger than the table (typical
    daily data). Returns (rows, grid[:, rows])."""
    grid, seen = scatter_daily(pidc, day, varc, catc, value, var_lut, cat_lut, is_min,
                               span, dmin, n_rows)
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
    """One row per (patient_id, day) with one column per variable observed.

    ``obs`` is the output of :func:`~remission.vocab.vocabulary.normalise_observations`
    (columns ``patient_id, day, variable, value`` and ``category``); key columns given as
    pandas categoricals are read through their codes (no string factorisation). Only variables with
    at least one row get a column (in vocabulary order): a grader reads a variable with
    :func:`column`, which gives NaN for one never observed. ``method`` = ``auto`` (dense
    grid when it is at most 4 × the table or 1e6 cells, else sort), ``dense`` or
    ``sorted``; all give the same result.

    Parameters
    ----------
    obs : DataFrame
        Canonical observations from ``normalise_observations``.
    method : {"auto", "dense", "sorted"}
        Algorithm only; the result is the same.

    Returns
    -------
    DataFrame
        ``patient_id, day`` and one column per observed variable: the day's worst value by
        the vocabulary's ``daily`` rule (maximum temperature, minimum ICE score, most
        severe category as its level number...).

    Raises
    ------
    ValueError
        For a variable not in the vocabulary or an unknown ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.vocab.vocabulary import normalise_observations
    >>> obs = pd.DataFrame({"patient_id": "P1", "day": [1, 1, 1],
    ...                     "time": ["08:00", "20:00", "08:00"],
    ...                     "variable": ["temperature", "temperature", "ice_score"],
    ...                     "value": [37.9, 38.4, 9], "unit": ["°C", "°C", "points"]})
    >>> print(daily_features(normalise_observations(obs)).to_string(index=False))
    patient_id  day  temperature  ice_score  fever_sustained
            P1    1         38.4        9.0            False
    """
    if method not in ("auto", "dense", "sorted"):
        raise ValueError("method must be 'auto', 'dense' or 'sorted'")
    pid_codes, pids = _patient_codes(obs["patient_id"])
    varc, var_names = _codes(obs["variable"])
    if "category" in obs.columns:
        catc, cat_names = _codes(obs["category"])
    else:
        catc, cat_names = np.full(len(obs), -1, dtype=np.int8), []
    var_lut, cat_lut = _lookup_tables(var_names, cat_names)

    day = obs["day"].to_numpy(dtype=np.int64)
    dmin, dmax, counts = scan_keys(day, varc, len(var_names))
    used = counts[:-1] > 0
    if counts[-1] or (used & (var_lut < 0)).any():
        v = obs["variable"]
        bad = sorted({str(x) for x in v[v.isna() | ~v.isin(_NAMES)]})
        raise ValueError(f"variables not in the vocabulary: {bad}")
    # keep the variables that have rows, in vocabulary order; renumber them 0..k-1
    names_idx = np.unique(var_lut[used])
    names = [_NAMES[k] for k in names_idx]
    compact = np.full(len(_NAMES), -1, dtype=np.int64)
    compact[names_idx] = np.arange(len(names_idx))
    var_lut = np.where(var_lut >= 0, compact[np.maximum(var_lut, 0)], -1)
    cat_lut = np.ascontiguousarray(cat_lut[names_idx])
    value = obs["value"].to_numpy(dtype=float)
    dmin, span = int(dmin), int(dmax) - int(dmin) + 1
    nvar = len(names)
    # reduce: max for max/worst variables, min for min variables
    is_min = np.array([VOCABULARY[n].daily == "min" for n in names], dtype=np.bool_)
    n_cells = len(pids) * span * nvar
    dense = method == "dense" or (method == "auto" and n_cells <= max(4 * len(obs), 1_000_000))
    if len(obs) and dense:
        rows, mat = _reduce_dense(pid_codes, day, varc, catc, value, var_lut, cat_lut, is_min,
                                  span, dmin, len(pids) * span)
    else:  # min variables: negate, reduce by max, negate back
        vcodes = var_lut[varc]
        x = value.copy()
        has = catc >= 0
        x[has] = cat_lut[vcodes[has], catc[has]]
        np.negative(x, out=x, where=is_min[vcodes])
        pd_key = pid_codes.astype(np.int64) * span + day - dmin
        rows, row_idx, uvar, uval = _reduce_sorted(pd_key, vcodes, x, nvar)
        mat = np.full((nvar, len(rows)), np.nan)
        mat[uvar, row_idx] = uval
        mat[is_min] *= -1.0
    # the output's columns are gathered first and the frame built once (inserting columns
    # into a built frame costs a block rebuild each)
    pid_col = pids[rows // span]
    day_col = (rows % span + dmin).astype(np.int64)
    cols: dict[str, object] = {"patient_id": pid_col, "day": day_col}
    cols.update(zip(names, mat, strict=True))
    timed = pd.notna(obs["time"].to_numpy()) if "time" in obs.columns else None
    hot = None
    if timed is not None and timed.any():
        # a sustained fever needs a timed temperature >= 38 °C: without one it is False
        # on every day (sustained_fever would find nothing), decided on the arrays
        t_code = [k for k, nm in enumerate(var_names) if nm == "temperature"]
        hot = bool(t_code) and bool((timed & (varc == t_code[0])
                                     & (value >= FEVER_C)).any())
    if hot:
        sel = timed & (varc == t_code[0])
        marked = sustained_rows(pid_codes[sel], day[sel] * 1440.0
                                + minutes_of_day(obs["time"].to_numpy()[sel]), value[sel])
        # the marked readings' patient-days are cells of the output rows (each has a
        # temperature >= 38), found in the sorted row numbers
        cells = np.unique(pid_codes[sel][marked].astype(np.int64) * span
                          + day[sel][marked] - dmin)
        fever = np.zeros(len(rows), dtype=bool)
        fever[np.searchsorted(rows, cells)] = True
        cols["fever_sustained"] = fever
    else:
        cols["fever_sustained"] = np.zeros(len(rows), dtype=bool)
    pressor_rows = [n for n in PRESSORS if n in names]
    timed_pressor = False
    if len(pressor_rows) >= 2 and "time" in obs.columns:
        p_codes = [k for k, nm in enumerate(var_names) if nm in PRESSORS]
        timed_pressor = bool((timed & np.isin(varc, p_codes)).any())
        if not timed_pressor:
            # no vasopressor dose has a time: concurrent_pressors finds no timed day and
            # every day is left to the grader (NaN), decided on the arrays
            cols["pressors_concurrent"] = np.full(len(rows), np.nan)
    if timed_pressor:
        # clock time decides "multiple vasopressors" (ASTCT 2019 grade 4): concurrent only
        sel = np.isin(varc, p_codes)
        t_sel = timed[sel]
        clock = np.full(int(sel.sum()), np.nan)
        clock[t_sel] = (day[sel][t_sel] * 1440.0
                        + minutes_of_day(obs["time"].to_numpy()[sel][t_sel]))
        pc, d, n, all_timed = concurrent_pressor_days(pid_codes[sel], day[sel], varc[sel],
                                                      clock, value[sel])
        # each patient-day's value in its output row (a day with only doses without a
        # value has none: not an output row)
        cells = pc * span + d - dmin
        at = np.minimum(np.searchsorted(rows, cells), max(len(rows) - 1, 0))
        have = rows[at] == cells if len(rows) else np.zeros(len(cells), dtype=bool)
        col = np.full(len(rows), np.nan)
        col[at[have]] = np.where(all_timed, n, np.nan)[have]
        cols["pressors_concurrent"] = col
    out = pd.DataFrame(cols)
    return out


def minutes_of_day(t) -> np.ndarray:
    """Minutes since midnight of ``"H:MM"`` / ``"HH:MM"`` clock times.

    The times are those the study validator accepts (``H:MM`` or ``HH:MM``, 24-hour).
    They are read in one pass of array operations, without a Python step per value: the
    texts become one fixed-width unicode array, viewed as a (values x characters) matrix
    of code points; each row's length is its number of non-zero code points, the colon
    must be its third character from the end and the others digits, and the minutes are
    ``60 * HH + MM`` from the digits' positions.

    Parameters
    ----------
    t : Series, ndarray or list of str
        Clock times ``"H:MM"`` or ``"HH:MM"``.

    Returns
    -------
    ndarray of float
        ``60 * HH + MM`` per value.

    Raises
    ------
    ValueError
        A value is not ``H:MM`` / ``HH:MM`` (digits around one colon).

    Examples
    --------
    >>> minutes_of_day(pd.Series(["00:00", "08:30", "23:59", "7:05"])).tolist()
    [0.0, 510.0, 1439.0, 425.0]
    """
    u = np.asarray(t, dtype=object).astype(str)
    n = len(u)
    if n == 0:
        return np.zeros(0)
    width = u.dtype.itemsize // 4
    if width < 4 or width > 5:
        raise ValueError(f"clock times must be H:MM or HH:MM, got {sorted(set(u.tolist()))[:5]}")
    c = u.view(np.uint32).reshape(n, width).astype(np.int64) - 48  # '0' -> 0, ':' -> 10
    length = np.count_nonzero(c != -48, axis=1)  # shorter values are padded with code 0
    r = np.arange(n)
    last = np.maximum(length - 1, 0)
    digits = np.ones(c.shape, dtype=bool)
    digits[r, np.maximum(length - 3, 0)] = False  # the colon's place
    within = np.arange(width) < length[:, None]
    ok = (((length == 4) | (length == 5)) & (c[r, np.maximum(length - 3, 0)] == 10)
          & ((~digits | ~within | ((c >= 0) & (c <= 9))).all(axis=1)))
    if not ok.all():
        raise ValueError(f"clock times must be H:MM or HH:MM, got {u[~ok][:5].tolist()}")
    hours = np.where(length == 5, 10 * c[:, 0] + c[:, 1], c[:, 0])
    mins = 10 * c[r, last - 1] + c[r, last]
    return (60 * hours + mins).astype(float)


#: CTCAE v5.0 febrile neutropenia: a sustained temperature >= 38 °C (inclusive) ...
FEVER_C = 38.0
#: ... for more than one hour (strictly longer than 60 minutes).
SUSTAINED_MINUTES = 60.0


def sustained_rows(patient: np.ndarray, clock: np.ndarray, value: np.ndarray,
                   threshold: float = FEVER_C, minutes: float = SUSTAINED_MINUTES
                   ) -> np.ndarray:
    """Which timed temperature readings belong to a sustained fever (the rule's one place).

    CTCAE v5.0 febrile neutropenia: "a sustained temperature of >= 38 °C for more than
    one hour". A patient's timed readings are put in clock order (the patient's
    continuous clock, day × 24 h + time, so a fever from 23:30 to 00:45 the next day
    counts; readings at the same minute stay in table order). A run is a maximal stretch
    of consecutive readings that are all >= ``threshold`` (a reading below it, or with no
    value, ends the run); the run is sustained when its last reading is more than
    ``minutes`` after its first (exactly 60 min is not "more than one hour"). Every
    reading of a sustained run is marked.

    Algorithm (no Python step per reading): one stable ``np.lexsort`` by (patient,
    clock); a run starts where the patient or the hot/not-hot state changes; a run's
    length is the clock of its last reading minus that of its first (clock order); the
    marks of the runs are spread back to their readings through the run numbers and the
    sort order.

    Parameters
    ----------
    patient : ndarray of int
        Patient code per reading (any integers; equal codes = same patient).
    clock : ndarray of float
        Minutes on the patient's continuous clock (``day * 1440 + minutes_of_day``).
    value : ndarray of float
        Temperature, °C (NaN = no value: not a fever reading).
    threshold : float, default 38.0
        Fever threshold, °C (inclusive).
    minutes : float, default 60.0
        A run must last strictly longer than this.

    Returns
    -------
    ndarray of bool
        Per reading (input order): it is a reading of a sustained run.

    References
    ----------
    National Cancer Institute. CTCAE v5.0, 2017: Febrile neutropenia.

    Examples
    --------
    One patient: 38.2 °C at 23:30 on day 3 and 38.5 °C at 00:45 on day 4 (75 min), then
    37.1 °C:

    >>> sustained_rows(np.array([0, 0, 0]), np.array([3 * 1440 + 1410, 4 * 1440 + 45,
    ...                                                4 * 1440 + 360.0]),
    ...                np.array([38.2, 38.5, 37.1])).tolist()
    [True, True, False]
    """
    n = len(clock)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((clock, patient))  # stable: equal clocks keep table order
    p, c = patient[order], clock[order]
    hot = value[order] >= threshold  # NaN is not >= threshold
    start = np.empty(n, dtype=bool)
    start[0] = True
    np.not_equal(p[1:], p[:-1], out=start[1:])
    start[1:] |= hot[1:] != hot[:-1]
    first = np.flatnonzero(start)
    last = np.r_[first[1:] - 1, n - 1]
    good = hot[first] & ((c[last] - c[first]) > minutes)
    out = np.empty(n, dtype=bool)
    out[order] = good[np.cumsum(start) - 1]
    return out


def sustained_fever(obs: pd.DataFrame, threshold: float = FEVER_C,
                    minutes: float = SUSTAINED_MINUTES):
    """Days with a temperature >= ``threshold`` sustained for more than ``minutes``.

    CTCAE v5.0 febrile neutropenia: "a sustained temperature of >= 38 °C for more than
    one hour", decided by :func:`sustained_rows` on the timed temperature readings
    (untimed readings are ignored): a run of consecutive timed readings of one patient,
    all >= ``threshold``, whose first and last readings are more than ``minutes`` apart
    on the patient's continuous clock (day × 24 h + time), so a fever from 23:30 to 00:45
    counts. Every day with a reading of a qualifying run is marked.

    Parameters
    ----------
    obs : DataFrame
        Canonical observations (``patient_id, day, time, variable, value``), temperature
        in °C.
    threshold : float, default 38.0
        Fever threshold, °C (inclusive).
    minutes : float, default 60.0
        The run must last strictly longer than this.

    Returns
    -------
    DataFrame
        ``patient_id, day, fever_sustained`` (True) for each marked patient-day, in the
        order of each patient's first marked reading (patients in sorted order).

    References
    ----------
    National Cancer Institute. CTCAE v5.0, 2017: Febrile neutropenia.

    Examples
    --------
    P1: 38.2 °C at 23:30 and 38.5 °C at 00:45 the next day (75 min) counts on both days;
    P2: exactly 60 min above 38 °C does not ("more than one hour"):

    >>> obs = pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2", "P2"],
    ...                     "day": [3, 4, 4, 5, 5],
    ...                     "time": ["23:30", "00:45", "06:00", "10:00", "11:00"],
    ...                     "variable": "temperature", "value": [38.2, 38.5, 37.1, 38.6, 38.9]})
    >>> sustained_fever(obs).values.tolist()
    [['P1', 3, True], ['P1', 4, True]]
    """
    sel = ((obs["variable"] == "temperature").to_numpy(dtype=bool)
           & pd.notna(obs["time"].to_numpy()))
    if not sel.any():
        return pd.DataFrame({"patient_id": [], "day": [], "fever_sustained": []})
    pcode, _ = _patient_codes(obs["patient_id"][sel])
    day = obs["day"].to_numpy()[sel]
    clock = day.astype(float) * 1440.0 + minutes_of_day(obs["time"].to_numpy()[sel])
    marked = sustained_rows(pcode, clock, obs["value"].to_numpy(dtype=float)[sel],
                            threshold, minutes)
    # the marked readings in (patient, clock) order, each patient-day once
    order = np.lexsort((clock, pcode))
    order = order[marked[order]]
    pid = obs["patient_id"][sel].astype(str).to_numpy()[order]
    days = pd.DataFrame({"patient_id": pid, "day": day[order]}).drop_duplicates()
    return days.assign(fever_sustained=True)


#: Vasopressors counted by ASTCT 2019 for "multiple vasopressors" (vasopressin excluded).
PRESSORS = ("norepinephrine", "epinephrine", "phenylephrine", "dopamine")


def concurrent_pressor_days(patient: np.ndarray, day: np.ndarray, drug: np.ndarray,
                            clock: np.ndarray, dose: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Most vasopressors running at one moment, per patient-day (the rule's one place).

    ASTCT 2019 grade 4 hypotension needs "multiple vasopressors (excluding vasopressin)":
    given together, not one replacing another. Each timed dose > 0 of a drug is read as
    running from its time until that drug's next timed reading for the patient (a dose of
    0 there = stopped; readings at the same minute in table order, so the earlier of two
    runs for no time), or, for its last reading, to the end of that day. The count on a
    day is the largest number of drugs running at any start time on that day (stops come
    first at equal times); 0 on a day with timed readings but no dose starting. A day
    with an untimed reading is not ``all_timed`` (the caller assumes concurrency and
    says so).

    Algorithm (no Python step per reading): the patient-days are the distinct
    ``(patient, day)`` keys (``np.unique``); the timed readings are put in (patient,
    drug, clock) order by one stable ``np.lexsort``, each dose's stop is the next
    reading's clock when it is the same patient's same drug, else the end of its day;
    the start (+1) and stop (-1) events of the doses that run are sorted by (patient,
    clock, stops first) and summed cumulatively (every dose's stop follows its start in
    its patient's block, so the running sum is each patient's number of running drugs);
    each day keeps the largest sum at its starts (``np.maximum.at``).

    Parameters
    ----------
    patient : ndarray of int
        Patient code per reading (equal codes = same patient).
    day : ndarray of int
        Study day per reading.
    drug : ndarray of int
        Drug code per reading (equal codes = same vasopressor).
    clock : ndarray of float
        Minutes on the patient's continuous clock (``day * 1440 + minutes_of_day``); NaN
        for an untimed reading.
    dose : ndarray of float
        Dose (> 0 = running; 0 = stopped; NaN = no dose, stops the drug's previous one).

    Returns
    -------
    patient, day : ndarray
        The patient-days with a reading, in (patient, day) order.
    n_concurrent : ndarray of float
        Most drugs running at once that day (NaN for a day with only untimed readings).
    all_timed : ndarray of bool
        Every reading of that day had a time.

    References
    ----------
    Lee DW, et al. ASTCT consensus grading for cytokine release syndrome and neurologic
    toxicity. Biol Blood Marrow Transplant 2019;25:625-638.

    Examples
    --------
    Drug 0 from 08:00 to 12:00 (stopped by a 0 dose) and drug 1 from 10:00: two at once:

    >>> concurrent_pressor_days(np.zeros(3, dtype=int), np.ones(3, dtype=int),
    ...                         np.array([0, 1, 0]), 1440.0 + np.array([480.0, 600, 720]),
    ...                         np.array([0.1, 0.05, 0.0]))[2].tolist()
    [2.0]
    """
    patient = np.asarray(patient, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    if len(day) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0, dtype=bool)
    dmin = int(day.min())
    span = int(day.max()) - dmin + 1
    keys, group = np.unique((patient - patient.min()) * span + (day - dmin),
                            return_inverse=True)
    first = np.unique(group, return_index=True)[1]  # a reading of each patient-day
    timed = ~np.isnan(clock)
    n_group = len(keys)
    all_timed = np.bincount(group[~timed], minlength=n_group) == 0
    n_conc = np.where(np.bincount(group[timed], minlength=n_group) > 0, 0.0, np.nan)
    t = np.flatnonzero(timed)
    if len(t):
        order = t[np.lexsort((clock[t], drug[t], patient[t]))]
        p, g, c = patient[order], drug[order], clock[order]
        stop = (day[order] + 1) * 1440.0  # the last reading of a drug: end of its day
        same = (p[1:] == p[:-1]) & (g[1:] == g[:-1])
        stop[:-1][same] = c[1:][same]  # else until the drug's next reading
        runs = (dose[order] > 0) & (stop > c)  # NaN dose: not running
        k = int(runs.sum())
        if k:
            m = np.concatenate([c[runs], stop[runs]])
            delta = np.r_[np.ones(k, dtype=np.int64), -np.ones(k, dtype=np.int64)]
            ev = np.lexsort((delta, m, np.concatenate([p[runs], p[runs]])))
            level = np.cumsum(delta[ev])
            starts = ev < k
            np.maximum.at(n_conc, group[order][runs][ev[starts]],
                          level[starts].astype(float))
    return patient[first], day[first], n_conc, all_timed


def concurrent_pressors(obs: pd.DataFrame,
                        drugs: tuple[str, ...] = PRESSORS) -> pd.DataFrame:
    """Most vasopressors running at the same moment per patient-day, from timed doses.

    ASTCT 2019 grade 4 hypotension needs "multiple vasopressors (excluding vasopressin)",
    decided by :func:`concurrent_pressor_days` on the readings of ``drugs``: each timed
    dose > 0 runs until that drug's next timed reading for the patient (a dose of 0 there
    = stopped), or, for its last reading, to the end of that day; the count on a day is
    the largest number of drugs running at any start time on that day (stops come first
    at equal times).

    Parameters
    ----------
    obs : DataFrame
        Canonical observations (``patient_id, day, time, variable, value``).
    drugs : tuple of str, default PRESSORS
        The vasopressors counted (norepinephrine, epinephrine, phenylephrine, dopamine).

    Returns
    -------
    DataFrame
        ``patient_id`` (text), ``day``, ``n_concurrent`` (NaN on days with only untimed
        readings) and ``all_timed`` (every reading of these drugs that day had a time;
        days with an untimed reading are left to the caller, which assumes concurrency
        and says so), in (patient_id, day) order.

    References
    ----------
    Lee DW, et al. ASTCT consensus grading for cytokine release syndrome and neurologic
    toxicity. Biol Blood Marrow Transplant 2019;25:625-638.

    Examples
    --------
    Day 1: norepinephrine 08:00-12:00 (stopped by a 0 dose) then epinephrine from 12:00:
    one replaces the other (1 at a time). Day 2: both from 09:00 (2 at once):

    >>> obs = pd.DataFrame({
    ...     "patient_id": "P1", "day": [1, 1, 1, 2, 2],
    ...     "time": ["08:00", "12:00", "12:00", "09:00", "09:00"],
    ...     "variable": ["norepinephrine", "norepinephrine", "epinephrine", "norepinephrine",
    ...                  "epinephrine"],
    ...     "value": [0.1, 0.0, 0.05, 0.1, 0.05]})
    >>> concurrent_pressors(obs).values.tolist()
    [['P1', 1, 1.0, True], ['P1', 2, 2.0, True]]
    """
    variable = obs["variable"].astype(str).to_numpy()
    sel = np.isin(variable, list(drugs))
    if not sel.any():
        return pd.DataFrame({"patient_id": [], "day": [], "n_concurrent": [], "all_timed": []})
    pcode, pids = pd.factorize(obs["patient_id"][sel].astype(str).to_numpy(), sort=True)
    day = obs["day"].to_numpy()[sel].astype(np.int64)
    time = obs["time"].to_numpy()[sel]
    timed = pd.notna(time)
    clock = np.full(len(day), np.nan)
    clock[timed] = day[timed] * 1440.0 + minutes_of_day(time[timed])
    dcode = pd.factorize(variable[sel])[0]
    pc, d, n, all_timed = concurrent_pressor_days(pcode, day, dcode, clock,
                                                  obs["value"].to_numpy(dtype=float)[sel])
    return pd.DataFrame({"patient_id": np.asarray(pids, dtype=object)[pc], "day": d,
                         "n_concurrent": n, "all_timed": all_timed})
