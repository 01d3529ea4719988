"""Shared pieces of the graders: system names, grade-5 attribution, patient summaries."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

#: Every rule system implemented, with the version string recorded in outputs.
SYSTEMS: dict[str, str] = {
    "astct2019": "ASTCT consensus CRS grading (Lee DW et al., BBMT 2019;25:625)",
    "lee2014": "CRS revised grading (Lee DW et al., Blood 2014;124:188)",
    "cartox2018": "CARTOX CRS grading (Neelapu SS et al., Nat Rev Clin Oncol 2018;15:47)",
    "icans_astct2019": "ASTCT ICANS grading (Lee DW et al., BBMT 2019;25:625)",
    "cres_cartox2018": "CRES grading with CARTOX-10 (Neelapu SS et al., 2018)",
    "ctcae_v5": "NCI CTCAE v5.0 (27 Nov 2017)",
    "icaht_2023": "EHA/EBMT ICAHT (Rejeski K et al., Blood 2023;142:865)",
    "eln2022": "ELN 2022 AML response (Döhner H et al., Blood 2022;140:1345)",
    "eln2017": "ELN 2017 AML response (Döhner H et al., Blood 2017;129:424)",
    "iwg2003": "IWG 2003 AML response (Cheson BD et al., JCO 2003;21:4642)",
    "nccn_all": "NCCN ALL response (CR/CRi; MRD < 1e-4)",
    "blinatumomab_trials": "Blinatumomab trial response (CR/CRh*; Topp 2015, Kantarjian 2017)",
}


def from_context(context: dict | None, key: tuple, compute: Callable[[], object]):
    """``compute()``, kept in ``context`` under ``key`` when a context is given.

    A context is a dict the caller keeps for one version of the tables a value is
    derived from (patients, treatments, events, study products; see
    :func:`~remission.derive.criteria.run.grade_all` ``context``): a value derived from
    those tables alone is then computed once and reused by later gradings of other
    observations. Values kept are shared: callers never change them.

    Parameters
    ----------
    context : dict or None
        The caller's context (None: computed every time).
    key : tuple
        Name of the value and every argument it depends on besides those tables.
    compute : callable
        Computes the value.

    Returns
    -------
    object
        The value.

    Examples
    --------
    >>> ctx = {}
    >>> from_context(ctx, ("answer",), lambda: 42), from_context(ctx, ("answer",), lambda: 0)
    (42, 42)
    >>> from_context(None, ("answer",), lambda: 0)
    0
    """
    if context is None:
        return compute()
    if key not in context:
        context[key] = compute()
    return context[key]


#: columns -> the empty table of them (:func:`empty_frame`); never handed out itself
_EMPTY: dict[tuple, pd.DataFrame] = {}


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    """``pd.DataFrame(columns=columns)`` (no rows, object columns), as a copy of one built
    the first time: the constructor's general path costs about 200 times the copy, once
    per call of a grader that has nothing to return.

    Parameters
    ----------
    columns : iterable of str
        The column names, in order.

    Returns
    -------
    DataFrame
        A new empty table (the caller's own).

    Examples
    --------
    >>> e = empty_frame(["patient_id", "day"])
    >>> e.equals(pd.DataFrame(columns=["patient_id", "day"]))
    True
    >>> e is empty_frame(["patient_id", "day"])
    False
    """
    key = tuple(columns)
    tab = _EMPTY.get(key)
    if tab is None:
        tab = _EMPTY[key] = pd.DataFrame(columns=list(key))
    return tab.copy()


#: at most this many keys: :func:`index_positions` looks each one up in a dict
_FEW_KEYS = 256


def index_positions(index: pd.Index, keys) -> np.ndarray:
    """``pd.Index(index).get_indexer(keys)``: the position of each key in ``index`` (-1
    when absent), for a unique index of text IDs looked up by a few keys (one patient's
    days in live grading) through a dict of the index instead of the hash table and
    target index that ``get_indexer`` builds on every call. Any other case (many keys, an
    index that is not unique text) is ``get_indexer`` itself.

    Parameters
    ----------
    index : Index or array-like
        The values looked up (patient IDs of a per-patient table).
    keys : array-like
        The keys (patient ID of each row).

    Returns
    -------
    numpy.ndarray
        intp position per key, -1 when absent.

    Examples
    --------
    >>> index_positions(pd.Index(["P1", "P2"]), pd.Series(["P2", "P3", "P1"])).tolist()
    [1, -1, 0]
    """
    if len(keys) <= _FEW_KEYS and len(index) <= _FEW_KEYS:
        where: dict[str, int] = {}
        for i, v in enumerate(index.tolist() if hasattr(index, "tolist") else index):
            if not isinstance(v, str) or v in where:
                break  # not unique text: get_indexer below
            where[v] = i
        else:  # a key that is not text equals no text ID
            return np.fromiter((where.get(k, -1) if isinstance(k, str) else -1
                                for k in (keys.tolist() if hasattr(keys, "tolist") else keys)),
                               dtype=np.intp, count=len(keys))
    return pd.Index(index).get_indexer(keys)


def check_system(system: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if system not in allowed:
        raise ValueError(f"unknown criteria system {system!r}; expected one of {allowed}")
    return system


def graded_frame(daily: pd.DataFrame, grade: np.ndarray, decided_by: np.ndarray,
                 system: str) -> pd.DataFrame:
    """Per patient-day grade table: patient_id, day, grade (int64), decided_by, system.

    Built without consolidating copies (``copy=False``); the key columns are copied so
    the result never shares memory with ``daily``.
    """
    return pd.DataFrame({
        "patient_id": daily["patient_id"].to_numpy(copy=True),
        "day": daily["day"].to_numpy(copy=True),
        "grade": grade.astype(np.int64),
        "decided_by": decided_by,
        "system": system,
    }, copy=False)


def death_days(events: pd.DataFrame | None, causes: Iterable[str]) -> pd.DataFrame:
    """Deaths attributed to one of ``causes`` (regex, case-insensitive) -> patient_id, day.

    Grade 5 is assigned only with attribution (EBMT registry guidance: report grade 5
    CRS only if CRS is the main cause of death); the cause is events.csv ``value``.
    """
    if events is None or events.empty:
        return pd.DataFrame({"patient_id": pd.Series(dtype=object), "day": pd.Series(dtype=int)})
    pat = "|".join(f"(?:{c})" for c in causes)
    d = events[events["event"].astype(str).str.lower() == "death"]
    if d.empty:  # no death: nothing to attribute (and no string work on the causes)
        return pd.DataFrame({"patient_id": pd.Series(dtype=object),
                             "day": pd.Series(dtype=int)})
    cause = d.get("value", pd.Series("", index=d.index)).fillna("").astype(str)
    d = d[cause.str.contains(pat, flags=re.IGNORECASE, regex=True)]
    return d[["patient_id", "day"]].astype({"day": np.int64}).drop_duplicates("patient_id")


def apply_grade5(daily: pd.DataFrame, deaths: pd.DataFrame, decided: str) -> pd.DataFrame:
    """Set grade 5 on the attributed death day (adding the row if that day had no data)."""
    if deaths.empty:
        return daily
    deaths = _deaths_among(deaths, daily["patient_id"])
    if deaths.empty and _sorted_days(daily):  # what the merge below gives: ``daily``
        return daily
    merged = daily.merge(deaths.assign(_dead=True), on=["patient_id", "day"], how="outer")
    dead = merged["_dead"].eq(True).to_numpy()
    merged.loc[dead, "grade"] = 5
    merged.loc[dead, "decided_by"] = decided
    merged["system"] = merged["system"].ffill().bfill()
    merged = merged.drop(columns="_dead").sort_values(["patient_id", "day"], kind="stable")
    merged["grade"] = merged["grade"].fillna(0).astype(np.int64)
    merged["decided_by"] = merged["decided_by"].fillna("none")
    return merged.reset_index(drop=True)


def _deaths_among(deaths: pd.DataFrame, patient_id) -> pd.DataFrame:
    """The rows of ``deaths`` of the patients in ``patient_id``."""
    return deaths[deaths["patient_id"].isin(pd.unique(np.asarray(patient_id)))]


def _sorted_days(daily: pd.DataFrame) -> bool:
    """Rows in (patient_id, day) order, index 0..n-1: an outer merge with no row on
    the right and a stable sort give the same table back."""
    if not _plain_index(daily):
        return False
    return _sorted_keys(daily["patient_id"].to_numpy(), daily["day"].to_numpy())


def _sorted_keys(pid: np.ndarray, day: np.ndarray) -> bool:
    """``(pid, day)`` pairs in ascending order (False when the IDs do not compare)."""
    if len(pid) < 2:
        return True
    try:
        lt, eq = pid[:-1] < pid[1:], pid[:-1] == pid[1:]
        return bool((lt | (eq & (day[:-1] <= day[1:]))).all())
    except TypeError:  # patient IDs of mixed types: let the merge order them
        return False


def summarise_episodes(daily: pd.DataFrame, what: str) -> pd.DataFrame:
    """Per patient: onset day (first day grade >= 1), max grade, day of max, duration.

    Duration = number of graded days with grade >= 1 (days without any observation are
    not counted). ``rule`` = which domain decided the maximum grade (first day reached).
    """
    g = daily[["patient_id", "day", "grade", "decided_by", "system"]]
    pos = g[g["grade"] >= 1]
    patients = pd.Index(sorted(g["patient_id"].unique()), name="patient_id")
    onset = pos.groupby("patient_id")["day"].min()
    dur = pos.groupby("patient_id")["day"].size()
    srt = g.sort_values(["patient_id", "grade", "day"], ascending=[True, False, True],
                        kind="stable").drop_duplicates("patient_id").set_index("patient_id")
    out = pd.DataFrame(index=patients)
    out[f"{what}_max_grade"] = srt["grade"].reindex(patients).astype(np.int64)
    out[f"{what}_onset_day"] = onset.reindex(patients).astype("Int64")
    out[f"{what}_max_grade_day"] = srt["day"].where(srt["grade"] > 0).reindex(patients).astype(
        "Int64")
    out[f"{what}_duration_days"] = dur.reindex(patients).fillna(0).astype(np.int64)
    out["rule"] = srt["decided_by"].reindex(patients)
    out["system"] = srt["system"].reindex(patients)
    return out.reset_index()


def graded_table(daily: pd.DataFrame, grade: np.ndarray, decided_by: np.ndarray,
                 system: str, deaths: pd.DataFrame | None, decided: str,
                 infusions: pd.DataFrame | None, what: str) -> pd.DataFrame:
    """A grader's day table: :func:`graded_frame`, then :func:`apply_grade5` (``deaths``
    None: a system without grade 5), then :func:`infusion_window`.

    When ``infusions`` are given and the rows are in patient-day order (as
    :func:`~remission.derive.criteria.daily.daily_features` gives them), the table is
    built once from the arrays: grade 5 set on the arrays (:func:`_grade5_arrays`: the
    attributed death day of each of these patients graded 5, a row inserted in order
    when that day had none), the rows before the patient's first infusion left out, the
    window columns added (:func:`~remission.derive.criteria.infusions.window_arrays`).
    Otherwise (no infusions, rows out of order, patient IDs that do not compare) up to
    five tables are built, merged, sorted and copied, which on the few rows of a live
    grade cost several times the grading itself. Either way the result is the same
    (tests/test_criteria_grade5_arrays.py compares both on random tables; the graders'
    tests and the golden fixtures run both).

    Parameters
    ----------
    daily : DataFrame
        The grader's input (``patient_id``, ``day`` per row).
    grade, decided_by : numpy.ndarray
        Grade and deciding domain per row of ``daily``.
    system : str
        The grading system.
    deaths : DataFrame or None
        :func:`death_days` of the causes attributed to this syndrome.
    decided : str
        ``decided_by`` of a grade-5 day.
    infusions : DataFrame or None
        The infusion windows.
    what : str
        The syndrome's name in the pre-infusion note.

    Returns
    -------
    DataFrame
        ``patient_id, day, grade, decided_by, system`` (and with ``infusions``
        ``infusion, infusion_day``); ``attrs["excluded"]``.
    """
    from remission.derive.criteria.infusions import window_arrays

    pid, day = daily["patient_id"].to_numpy(), daily["day"].to_numpy()
    plain = infusions is not None
    if plain and deaths is not None and not deaths.empty:
        # what apply_grade5's merge and sort give, on the arrays (rows in key order)
        plain = _sorted_keys(pid, day)
        mine = _deaths_among(deaths, pid) if plain else deaths.iloc[:0]
        if not mine.empty:
            rows = _grade5_arrays(pid, day, grade, decided_by, mine, decided)
            plain = rows is not None
            if plain:
                pid, day, grade, decided_by = rows
    if not plain:
        out = graded_frame(daily, grade, decided_by, system)
        if deaths is not None:
            out = apply_grade5(out, deaths, decided)
        return infusion_window(out, infusions, what)
    grade = grade.astype(np.int64)
    inf, inf_day, pre = window_arrays(pid, day, infusions)
    keep = ~pre
    k = int(keep.sum())
    out = pd.DataFrame({
        "patient_id": np.array(pid[keep], dtype=pid.dtype),
        "day": day[keep],
        "grade": grade[keep],
        "decided_by": decided_by[keep],
        "system": np.full(k, system, dtype=object),
        "infusion": pd.arrays.IntegerArray(inf[keep], np.zeros(k, bool)),
        "infusion_day": pd.arrays.IntegerArray(inf_day[keep], np.zeros(k, bool)),
    }, copy=False)
    out.attrs["excluded"] = _pre_infusion_note(int((pre & (grade >= 1)).sum()), what)
    return out


def _grade5_arrays(pid: np.ndarray, day: np.ndarray, grade: np.ndarray,
                   decided_by: np.ndarray, deaths: pd.DataFrame, decided: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`apply_grade5` on the columns of a day table whose rows are in (patient_id,
    day) order: the same rows in the same order, without the merge and sort of tables.

    Each death (one per patient, all of patients in ``pid``) grades its patient-day 5,
    decided by ``decided``: every row with that key is changed, or, when the day has no
    row, a row is inserted where the key falls in the order (before the first row with a
    larger key), as the outer merge followed by a stable sort places it. Inserted keys
    sharing a position go in key order.

    Parameters
    ----------
    pid, day : numpy.ndarray
        The rows' keys, in ascending (pid, day) order (:func:`_sorted_keys`).
    grade, decided_by : numpy.ndarray
        Grade and deciding domain per row (not modified).
    deaths : DataFrame
        ``patient_id, day`` of the attributed deaths of these patients
        (:func:`death_days` rows kept by :func:`_deaths_among`).
    decided : str
        ``decided_by`` of a grade-5 day.

    Returns
    -------
    tuple of numpy.ndarray or None
        New ``(pid, day, grade (int64), decided_by)``; None when the patient IDs do not
        compare or the keys are not object IDs and int64 days (the merge's dtypes; the
        caller then merges).
    """
    if pid.dtype != object or day.dtype != np.int64:
        return None
    grade = grade.astype(np.int64)  # a copy: the caller's arrays stay as they are
    decided_by = np.array(decided_by, dtype=object)
    new: list[tuple] = []
    try:
        for p, d in zip(deaths["patient_id"].tolist(),
                        deaths["day"].to_numpy(dtype=np.int64).tolist(), strict=True):
            same = pid == p
            hit = same & (day == d)
            if hit.any():
                grade[hit] = 5
                decided_by[hit] = decided
            else:  # rows with a smaller key come first
                new.append((p, d, int(((pid < p) | (same & (day < d))).sum())))
        new.sort(key=lambda r: (r[0], r[1]))
    except TypeError:  # patient IDs of mixed types
        return None
    if not new:
        return pid, day, grade, decided_by
    at = [r[2] for r in new]
    new_pid = np.empty(len(new), dtype=pid.dtype)
    new_pid[:] = [r[0] for r in new]
    return (np.insert(pid, at, new_pid), np.insert(day, at, [r[1] for r in new]),
            np.insert(grade, at, 5), np.insert(decided_by, at, decided))


def infusion_window(graded: pd.DataFrame, infusions: pd.DataFrame | None,
                    what: str) -> pd.DataFrame:
    """Drop the days before the patient's first infusion from a CRS/ICANS day table.

    CRS and ICANS follow the cell infusion (ASTCT 2019): a day before it is not graded at
    all (neither a grade nor grade 0). With ``infusions``
    (:func:`~remission.derive.criteria.infusions.infusion_days`) every remaining day also
    carries ``infusion`` (1, 2, ...) and ``infusion_day``; without it day 0 is the only
    infusion and the columns are not added. ``attrs["excluded"]`` says how many
    pre-infusion days would have been graded >= 1, and why they were not.
    """
    from remission.derive.criteria.infusions import annotate_windows, window_arrays

    if infusions is None:
        pre = graded["day"].to_numpy() < 0
    elif _plain_index(graded):
        # the table built once from arrays (annotate_windows, then dropping the rows
        # before the first infusion, costs several copies of a few-row table)
        inf, inf_day, pre = window_arrays(graded["patient_id"], graded["day"], infusions)
        n = int((pre & (graded["grade"].to_numpy() >= 1)).sum())
        keep = ~pre
        data = {c: rows_of(graded[c], keep) for c in graded.columns}
        data["infusion"] = pd.arrays.IntegerArray(inf[keep], np.zeros(int(keep.sum()), bool))
        data["infusion_day"] = pd.arrays.IntegerArray(inf_day[keep],
                                                      np.zeros(int(keep.sum()), bool))
        out = pd.DataFrame(data, copy=False)
        out.attrs = copy.deepcopy(graded.attrs)
        out.attrs["excluded"] = _pre_infusion_note(n, what)
        return out
    else:
        graded = annotate_windows(graded, infusions)
        pre = graded["infusion"].isna().to_numpy()
    n = 0
    if pre.any():
        n = int((pre & (graded["grade"].to_numpy() >= 1)).sum())
        graded = graded.loc[~pre].reset_index(drop=True)
    graded.attrs["excluded"] = _pre_infusion_note(n, what)
    return graded


def _pre_infusion_note(n: int, what: str) -> list[str]:
    return ([f"{n} patient-day(s) before the first cell infusion met {what} criteria and were "
             f"not graded ({what} is a consequence of the infusion; ASTCT 2019)"] if n else [])


def _plain_index(df: pd.DataFrame) -> bool:
    """The index is 0, 1, ..., n - 1 (what ``reset_index(drop=True)`` gives)."""
    ix = df.index
    return isinstance(ix, pd.RangeIndex) and ix.start == 0 and ix.step == 1


def rows_of(s: pd.Series, keep: np.ndarray):
    """The values of ``s`` at ``keep`` (a new array of the same dtype)."""
    if isinstance(s.dtype, np.dtype):
        return s.to_numpy()[keep]
    return s.array[keep]


def infusion_summary_columns(what: str) -> dict[str, str]:
    """Columns of :func:`summarise_by_infusion` with their dtypes, in order (one list for
    the empty and the non-empty table, so both always carry the same columns).

    Examples
    --------
    >>> list(infusion_summary_columns("crs"))[:4]
    ['patient_id', 'infusion', 'infusion_day', 'crs_max_grade']
    """
    return {"patient_id": "object", "infusion": "int64", "infusion_day": "int64",
            f"{what}_max_grade": "int64", f"{what}_onset_day": "Int64",
            "onset_days_after_infusion": "Int64", f"{what}_duration_days": "int64",
            "rule": "object", "system": "object"}


def summarise_by_infusion(graded: pd.DataFrame, what: str) -> pd.DataFrame:
    """Per patient and infusion window: max grade, onset day, day of max, duration.

    ``graded`` must carry ``infusion``/``infusion_day`` (a grader called with
    ``infusions``). Days are study days (day 0 = first infusion); ``days_after_infusion``
    of the onset is counted from that window's infusion. Columns and dtypes are
    :func:`infusion_summary_columns`, also when nothing was graded (an empty table).
    """
    from remission.progress import advance

    columns = infusion_summary_columns(what)
    g = graded.dropna(subset=["infusion"]) if "infusion" in graded.columns else graded.iloc[:0]
    if g.empty:  # nothing graded (e.g. every reading attributed to another cause)
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    keys = ["patient_id", "infusion"]
    # one pass over all patients (no per-patient loop): the worst day of each window is
    # the first row of a stable sort by grade (descending) then day, as before
    top = g.sort_values([*keys, "grade", "day"], ascending=[True, True, False, True],
                        kind="stable").drop_duplicates(keys, keep="first")
    top = top.set_index(keys)
    grp = g.groupby(keys, sort=True, observed=True)
    first_day = grp["infusion_day"].first()
    pos = g[g["grade"] >= 1].groupby(keys, sort=True, observed=True)["day"]
    onset, dur = pos.min(), pos.size()
    idx = first_day.index
    onset_v = onset.reindex(idx)
    n_groups = len(idx)
    advance(n_groups, n_groups,
            f"patients' {what.upper() if what == 'crs' else what} courses summarised")
    values = {
        "patient_id": idx.get_level_values(0).to_numpy(),
        "infusion": idx.get_level_values(1),
        "infusion_day": first_day.to_numpy(),
        f"{what}_max_grade": top["grade"].reindex(idx).to_numpy(),
        f"{what}_onset_day": onset_v.to_numpy(),
        "onset_days_after_infusion": onset_v.to_numpy() - first_day.to_numpy(),
        f"{what}_duration_days": dur.reindex(idx).fillna(0).to_numpy(),
        "rule": top["decided_by"].reindex(idx).to_numpy(),
        "system": top["system"].reindex(idx).to_numpy()}
    return pd.DataFrame({c: pd.Series(values[c]).astype(t) for c, t in columns.items()})
