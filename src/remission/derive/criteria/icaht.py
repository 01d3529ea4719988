"""EHA/EBMT ICAHT (immune effector cell-associated haematotoxicity) and engraftment days.

ICAHT (Rejeski K et al., Blood 2023;142:865-877), day 0 = infusion, ANC thresholds
with "<=" (cells/µL). Early (days 0-30): grade from days with ANC <= 500/µL
(1-6 = 1, 7-13 = 2, 14-30 = 3, >= 31 = 4) and days with ANC <= 100/µL (7-13 = 3,
>= 14 = 4), the worse of the two. Late (day +31 to the earliest of day +100,
progression/relapse, next therapy, death, last contact): nadir ANC <= 1500 = 1,
<= 1000 = 2, <= 500 = 3, <= 100 = 4, using the second-lowest of >= 2 measurements
(a single measurement is graded on its own).

Counting rules follow Liang's automated implementation (emilyliangmd/automatedicahtgrading,
citing Rejeski 2023): lowest ANC per day; gaps of up to 7 consecutive missing days are
linearly interpolated (``zoo::na.approx(maxgap = 7)``: interior gaps only, longer gaps
stay missing and break an episode); recovery = ANC above the threshold for >= 3
consecutive days, so episodes separated by <= 2 days above it are joined; an episode's
length runs from its first to its last day at/below the threshold (joined days
included). ``counting="longest"`` (default, Liang) grades the longest joined episode;
``counting="cumulative"`` sums all joined episodes (the T-ICAHT paper's reading of
Rejeski). Grade 4 also when neutropenia starts on days 0-3 and never recovers before
the last available ANC in the window (early death / no recovery).

Engraftment (CIBMTR convention): neutrophils = first of 3 consecutive days with ANC
>= 0.5 ×10⁹/L; platelets = first of 3 consecutive days >= 20 ×10⁹/L with no platelet
transfusion in the 7 days before and on those days. Both are searched after the first
day below the threshold on or after day 0; a patient never below it has no
engraftment day (NA, ``*_never_below`` True).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.derive.criteria._common import check_system
from remission.derive.criteria._kernels import episodes_rows, interpolate_rows
from remission.derive.criteria.daily import with_variables

__all__ = ["early_icaht", "engraftment", "grade_icaht", "late_icaht", "late_window"]

#: events.csv events that close the late-ICAHT window (Liang; Rejeski 2023).
WINDOW_EVENTS = ("relapse", "progression", "death", "last_contact", "transplant",
                 "stem_cell_boost", "next_therapy")


def _dense_matrix(daily: pd.DataFrame, variable: str, first: int, last: int):
    """(patient ids, matrix patients × days first..last) of a daily variable (NaN = none)."""
    pids, row = _sorted_codes(daily["patient_id"].to_numpy())
    n, width = len(pids), last - first + 1
    mat = np.full((n, width), np.nan)
    if variable not in daily.columns or n == 0:
        return pids, mat
    d = daily["day"].to_numpy()
    x = daily[variable].to_numpy(dtype=float)
    keep = (d >= first) & (d <= last) & ~np.isnan(x)
    mat.ravel()[row[keep] * width + (d[keep] - first)] = x[keep]  # flat scatter
    return pids, mat


def _sorted_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct ids, position of each row's id among them) without a string search.

    ``daily_features`` output is sorted by patient, so equal neighbours give the codes;
    otherwise ids are hashed once and only the distinct ids are sorted.
    """
    if len(ids) == 0:
        return np.array([], dtype=object), np.array([], dtype=np.int64)
    change = ids[1:] != ids[:-1]
    if (ids[1:][change] > ids[:-1][change]).all():
        new = np.r_[True, change]
        return ids[new].astype(object), np.cumsum(new) - 1
    codes, uniq = pd.factorize(ids)
    uniq = np.asarray(uniq, dtype=object)
    order = np.array(sorted(range(len(uniq)), key=uniq.__getitem__), dtype=np.int64)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return uniq[order], rank[codes]


def _interpolate_gaps(mat: np.ndarray, maxgap: int = 7) -> np.ndarray:
    """Linear interpolation along rows of interior gaps of <= ``maxgap`` missing days."""
    return interpolate_rows(np.ascontiguousarray(mat, dtype=float), int(maxgap))


def _episode_lengths(mat: np.ndarray, threshold: float, join_gap: int = 2):
    """Joined episodes at/below ``threshold`` per row.

    Returns (longest, cumulative, starts_early_never_recovers) per row, where the
    last flag marks an episode starting in the first 4 columns (days 0-3 when the
    matrix starts at day 0) that runs to the row's last non-missing day. Episodes
    separated by at most ``join_gap`` days above the threshold are one episode.
    """
    return episodes_rows(np.ascontiguousarray(mat, dtype=float), float(threshold),
                         int(join_gap))


def early_icaht(daily: pd.DataFrame, counting: str = "longest", maxgap: int = 7,
                system: str = "icaht_2023") -> pd.DataFrame:
    """Early ICAHT grade (days 0-30) per patient.

    Days with ANC <= 500/µL grade 1-6 days = 1, 7-13 = 2, 14-30 = 3, >= 31 = 4; days with
    ANC <= 100/µL grade 7-13 = 3, >= 14 = 4; the worse of the two. Grade 4 also when
    neutropenia starts on days 0-3 and never recovers before the last ANC of the window.
    Counting as Liang's implementation (module docstring): lowest ANC of a day, interior
    gaps of <= ``maxgap`` days interpolated, episodes separated by <= 2 days above the
    threshold joined.

    Parameters
    ----------
    daily : DataFrame
        Per patient-day table (:func:`~remission.derive.criteria.daily.daily_features`)
        with ``patient_id, day`` and ``anc`` in ×10⁹/L (0.5 = 500/µL).
    counting : {"longest", "cumulative"}, default "longest"
        Grade the longest joined episode (Liang) or the sum of all episodes (T-ICAHT).
    maxgap : int, default 7
        Longest run of missing days interpolated (``zoo::na.approx(maxgap = 7)``).
    system : {"icaht_2023"}
        The grading system.

    Returns
    -------
    DataFrame
        One row per patient (sorted): ``patient_id, icaht_early_grade`` (Int64, NA when no
        ANC on days 0-30), ``days_anc_le500, days_anc_le100, rule, counting, system``.

    Raises
    ------
    ValueError
        Unknown ``system`` or ``counting``.

    References
    ----------
    Rejeski K, et al. Blood 2023;142:865-877 (EHA/EBMT ICAHT grading). Liang EC, et al.,
    automated ICAHT grading (github.com/emilyliangmd/automatedicahtgrading).

    Examples
    --------
    At the grade boundaries of Rejeski 2023: 6 days <= 500/µL is grade 1, 7 days grade 2,
    7 days <= 100/µL grade 3:

    >>> days = list(range(31))
    >>> anc = lambda n, low: [low if d < n else 1.2 for d in days]
    >>> daily = pd.DataFrame({"patient_id": np.repeat(["P1", "P2", "P3"], 31), "day": days * 3,
    ...                       "anc": anc(6, 0.3) + anc(7, 0.3) + anc(7, 0.05)})
    >>> cols = ["patient_id", "icaht_early_grade", "days_anc_le500", "days_anc_le100", "rule"]
    >>> for row in early_icaht(daily)[cols].values.tolist():
    ...     print(row)
    ['P1', 1, 6, 0, 'days ANC <= 500/µL']
    ['P2', 2, 7, 0, 'days ANC <= 500/µL']
    ['P3', 3, 7, 7, 'days ANC <= 100/µL']
    """
    check_system(system, ("icaht_2023",))
    if counting not in ("longest", "cumulative"):
        raise ValueError("counting must be 'longest' (default) or 'cumulative'")
    pids, raw = _dense_matrix(daily, "anc", 0, 30)
    mat = _interpolate_gaps(raw, maxgap)
    l5, c5, never5 = _episode_lengths(mat, 0.5)
    l1, c1, _ = _episode_lengths(mat, 0.1)
    d500 = l5 if counting == "longest" else c5
    d100 = l1 if counting == "longest" else c1
    g500 = np.select([d500 >= 31, d500 >= 14, d500 >= 7, d500 >= 1], [4, 3, 2, 1], 0)
    g100 = np.select([d100 >= 14, d100 >= 7], [4, 3], 0)
    grade = np.maximum(g500, g100)
    grade = np.where(never5, 4, grade)
    has = ~np.isnan(raw).all(axis=1)
    rule = np.where(never5 & (np.maximum(g500, g100) < 4), "onset d0-3, no recovery",
                    np.where(g100 > g500, "days ANC <= 100/µL",
                             np.where(grade > 0, "days ANC <= 500/µL", "no ANC <= 500/µL")))
    return pd.DataFrame({
        "patient_id": pids,
        "icaht_early_grade": pd.arrays.IntegerArray(grade.astype(np.int64), ~has),
        "days_anc_le500": np.where(has, d500, 0),
        "days_anc_le100": np.where(has, d100, 0),
        "rule": np.where(has, rule, "no ANC on days 0-30"),
        "counting": counting,
        "system": system,
    })


def late_icaht(daily: pd.DataFrame, window_end: pd.Series | None = None,
               system: str = "icaht_2023") -> pd.DataFrame:
    """Late ICAHT grade (day +31 to the window end, at most day +100) per patient.

    The ANC graded is the second-lowest of >= 2 measurements in the window (a single
    measurement is graded on its own): <= 1500/µL = 1, <= 1000 = 2, <= 500 = 3,
    <= 100 = 4.

    Parameters
    ----------
    daily : DataFrame
        Per patient-day table with ``patient_id, day`` and ``anc`` (×10⁹/L).
    window_end : Series, optional
        patient_id -> last day of the window (earliest of day 100, progression/relapse,
        next therapy, death, last contact; see :func:`late_window`). Default: day 100.
    system : {"icaht_2023"}
        The grading system.

    Returns
    -------
    DataFrame
        One row per patient of ``daily`` (sorted): ``patient_id, icaht_late_grade`` (Int64,
        NA without an ANC in the window), ``late_anc_used`` (×10⁹/L), ``late_n_anc``,
        ``system``.

    Raises
    ------
    ValueError
        Unknown ``system``.

    References
    ----------
    Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    P1 has 0.9, 1.2, 0.8 ×10⁹/L: the second-lowest, 0.9 (<= 1000/µL), is grade 2; with the
    window closed at day 60 only 0.9 and 1.2 count, and 1.2 is grade 1. P2's one value
    in the window (0.4; day 120 is outside) is grade 3:

    >>> d = pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2", "P2"],
    ...                   "day": [35, 50, 80, 40, 120], "anc": [0.9, 1.2, 0.8, 0.4, 0.05]})
    >>> late_icaht(d)[["patient_id", "icaht_late_grade", "late_anc_used"]].values.tolist()
    [['P1', 2, 0.9], ['P2', 3, 0.4]]
    >>> int(late_icaht(d, window_end=pd.Series({"P1": 60}))["icaht_late_grade"].iloc[0])
    1
    """
    check_system(system, ("icaht_2023",))
    d = with_variables(daily, ["anc"])[["patient_id", "day", "anc"]].dropna()
    end = d["patient_id"].map(window_end).fillna(100) if window_end is not None else 100
    d = d[(d["day"] >= 31) & (d["day"] <= np.minimum(end, 100))]
    d = d.sort_values(["patient_id", "anc"], kind="stable")
    rank = d.groupby("patient_id").cumcount()
    n = d.groupby("patient_id")["anc"].transform("size")
    used = d[(rank == 1) | ((n == 1) & (rank == 0))].set_index("patient_id")["anc"]
    pids = pd.Index(sorted(daily["patient_id"].unique()), name="patient_id")
    x = used.reindex(pids).to_numpy(dtype=float)
    g = np.select([x <= 0.1, x <= 0.5, x <= 1.0, x <= 1.5], [4, 3, 2, 1], 0)
    cnt = d.groupby("patient_id").size().reindex(pids).fillna(0).astype(np.int64)
    return pd.DataFrame({
        "patient_id": pids,
        "icaht_late_grade": pd.array(np.where(np.isnan(x), pd.NA, g), dtype="Int64"),
        "late_anc_used": x,
        "late_n_anc": cnt.to_numpy(),
        "system": system,
    })


#: treatments.csv roles that are a next therapy (close the late-ICAHT window).
NEXT_THERAPY_ROLES = ("next_therapy", "salvage", "transplant", "infusion", "boost")
#: Drug-vocabulary classes/names that are a next therapy whatever their role.
NEXT_THERAPY_DRUGS = ("allogeneic HSCT", "donor lymphocyte infusion")


def late_window(events: pd.DataFrame | None, treatments: pd.DataFrame | None = None,
                next_therapy: tuple[str, ...] = (), last: int = 100,
                infusions: pd.DataFrame | None = None) -> pd.DataFrame:
    """End of the late-ICAHT window per patient and what closed it.

    Rejeski et al. (Blood 2023) grade late ICAHT from day +31 until the earliest of day
    +100, progression/relapse, the next therapy, death or last follow-up. Closing
    things, each only after day 30: events.csv relapse, progression, transplant,
    stem_cell_boost, next_therapy, death, last_contact; treatments.csv rows after day 0
    whose ``role`` is next_therapy, salvage, transplant, infusion or boost, whose ``line``
    is above the cell therapy's (the highest line of rows on or before day 0), whose
    agent is an allogeneic transplant or donor lymphocyte infusion (drugs.csv), or is
    in ``next_therapy``; and any later infusion (``infusions`` number > 1).

    Parameters
    ----------
    events : DataFrame or None
        events.csv (``patient_id, day, event``).
    treatments : DataFrame, optional
        treatments.csv (``patient_id, start_day, agent`` and optionally ``role``, ``line``).
    next_therapy : tuple of str, default ()
        Further agents that are a next therapy whatever their role.
    last : int, default 100
        The latest end of the window (day).
    infusions : DataFrame, optional
        :func:`~remission.derive.criteria.infusions.infusion_days` output.

    Returns
    -------
    DataFrame
        patient_id, end_day (<= ``last``), closed_by (e.g. "treatments.csv: azacitidine
        (role salvage)", or "day 100" when the first closing thing is after it); patients
        with nothing closing the window after day 30 are absent (window to ``last``).

    References
    ----------
    Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    P3's death on day 20 is before the window opens, so P3's window runs to day 100:

    >>> ev = pd.DataFrame({"patient_id": ["P1", "P3"], "day": [60, 20],
    ...                    "event": ["relapse", "death"]})
    >>> tx = pd.DataFrame({"patient_id": ["P2"], "start_day": [45], "agent": ["azacitidine"],
    ...                    "role": ["salvage"]})
    >>> for row in late_window(ev, tx).values.tolist():
    ...     print(row)
    ['P1', 60.0, 'events.csv: relapse']
    ['P2', 45.0, 'treatments.csv: azacitidine (role salvage)']
    """
    from remission.vocab.drugs import canonical_agents

    parts = []
    if events is not None and not events.empty:
        ev = events[events["event"].astype(str).str.lower().isin(WINDOW_EVENTS)]
        parts.append(pd.DataFrame({"patient_id": ev["patient_id"].astype(str).to_numpy(),
                                   "day": ev["day"].to_numpy(dtype=float),
                                   "closed_by": ("events.csv: " + ev["event"].astype(str))
                                   .to_numpy()}))
    if treatments is not None and not treatments.empty:
        tx = treatments
        start = pd.to_numeric(tx["start_day"], errors="coerce")
        why = pd.Series("", index=tx.index, dtype=object)
        canon = canonical_agents(tx["agent"])
        named = tx["agent"].astype(str).str.strip().str.lower().isin(
            [a.lower() for a in next_therapy]).to_numpy()
        why[named | canon.isin(NEXT_THERAPY_DRUGS).to_numpy()] = "next therapy"
        if "line" in tx.columns:
            line = pd.to_numeric(tx["line"], errors="coerce")
            ref = line.where(start <= 0).groupby(tx["patient_id"]).transform("max")
            higher = (line > ref).fillna(False).to_numpy()
            why[higher & (why == "").to_numpy()] = ("line " + line.astype("Int64").astype(str))
        if "role" in tx.columns:
            role = tx["role"].astype(str).str.strip().str.lower()
            r = role.isin(NEXT_THERAPY_ROLES).to_numpy()
            why[r] = "role " + role[r]
        sel = (why != "").to_numpy() & (start > 0).to_numpy()
        if sel.any():
            parts.append(pd.DataFrame({
                "patient_id": tx.loc[sel, "patient_id"].astype(str).to_numpy(),
                "day": start[sel].to_numpy(dtype=float),
                "closed_by": ("treatments.csv: " + tx.loc[sel, "agent"].astype(str) + " ("
                              + why[sel] + ")").to_numpy()}))
    if infusions is not None and len(infusions):
        later = infusions[infusions["infusion"] > 1]
        parts.append(pd.DataFrame({"patient_id": later["patient_id"].astype(str).to_numpy(),
                                   "day": later["day"].to_numpy(dtype=float),
                                   "closed_by": ("infusion " + later["infusion"].astype(str)
                                                 + ": " + later["source"]).to_numpy()}))
    empty = pd.DataFrame({"patient_id": pd.Series(dtype=object),
                          "end_day": pd.Series(dtype=float),
                          "closed_by": pd.Series(dtype=object)})
    if not parts:
        return empty
    allv = pd.concat(parts, ignore_index=True)
    allv = allv[allv["day"] > 30]
    if allv.empty:
        return empty
    allv = allv.sort_values(["patient_id", "day"], kind="stable").drop_duplicates("patient_id")
    capped = (allv["day"] >= last).to_numpy()
    allv.loc[capped, "closed_by"] = f"day {last}"
    allv["day"] = allv["day"].clip(upper=last)
    return allv.rename(columns={"day": "end_day"}).reset_index(drop=True)


def _late_window_end(events: pd.DataFrame | None, treatments: pd.DataFrame | None = None,
                    next_therapy: tuple[str, ...] = (), last: int = 100,
                    infusions: pd.DataFrame | None = None) -> pd.Series:
    """Last day of the late window per patient (see :func:`late_window`), as a Series
    patient_id -> day; patients whose window runs to day ``last`` are absent."""
    w = late_window(events, treatments, next_therapy, last, infusions)
    return w.set_index("patient_id")["end_day"]


def grade_icaht(daily: pd.DataFrame, system: str = "icaht_2023", counting: str = "longest",
                maxgap: int = 7, window_end: pd.Series | None = None) -> pd.DataFrame:
    """Early and late ICAHT per patient in one table.

    Parameters
    ----------
    daily : DataFrame
        Per patient-day table with ``patient_id, day`` and ``anc`` (×10⁹/L).
    system : {"icaht_2023"}
        The grading system.
    counting : {"longest", "cumulative"}, default "longest"
        Episode counting of the early grade (:func:`early_icaht`).
    maxgap : int, default 7
        Longest run of missing days interpolated for the early grade.
    window_end : Series, optional
        patient_id -> last day of the late window (:func:`late_icaht`).

    Returns
    -------
    DataFrame
        The columns of :func:`early_icaht` then ``icaht_late_grade, late_anc_used,
        late_n_anc``, one row per patient.

    Raises
    ------
    ValueError
        Unknown ``system`` or ``counting``.

    References
    ----------
    Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    Seven days <= 500/µL (early grade 2), then day-+31-to-+100 ANCs of 0.9 and 1.2
    (second-lowest 1.2 <= 1500/µL: late grade 1):

    >>> d = pd.DataFrame({"patient_id": "P1", "day": list(range(31)) + [40, 70],
    ...                   "anc": [0.3] * 7 + [1.6] * 24 + [0.9, 1.2]})
    >>> grade_icaht(d)[["icaht_early_grade", "icaht_late_grade"]].values.tolist()
    [[2, 1]]
    """
    e = early_icaht(daily, counting, maxgap, system)
    late = late_icaht(daily, window_end, system).drop(columns="system")
    return e.merge(late, on="patient_id", how="outer")


def _first_run(ok: np.ndarray, start: np.ndarray, run: int = 3) -> np.ndarray:
    """First column >= start[row] beginning ``run`` consecutive True values (-1 if none)."""
    n, w = ok.shape
    if w < run:  # fewer days than the run needs: never
        return np.full(n, -1, dtype=np.int64)
    win = np.ones((n, w - run + 1), dtype=bool)
    for k in range(run):
        win &= ok[:, k: w - run + 1 + k]
    cols = np.arange(win.shape[1])
    win &= cols[None, :] >= start[:, None]
    return np.where(win.any(axis=1), np.argmax(win, axis=1), -1)


def engraftment(daily: pd.DataFrame, last_day: int | None = None,
                anc_threshold: float = 0.5, plt_threshold: float = 20.0,
                transfusion_free_days: int = 7) -> pd.DataFrame:
    """Neutrophil and platelet engraftment day per patient (CIBMTR convention).

    Neutrophils: first of 3 consecutive days with ANC >= ``anc_threshold``; platelets:
    first of 3 consecutive days >= ``plt_threshold`` with no platelet transfusion on those
    days or in the ``transfusion_free_days`` before. Both are searched after the first day
    below the threshold on or after day 0; a patient never below it has no engraftment day.

    Parameters
    ----------
    daily : DataFrame
        Per patient-day table: ``patient_id, day``, ``anc`` and ``platelets`` (×10⁹/L),
        ``platelet_transfusion`` (1 = given).
    last_day : int, optional
        Last day searched; default the last day of ``daily``.
    anc_threshold : float, default 0.5
        ×10⁹/L.
    plt_threshold : float, default 20.0
        ×10⁹/L.
    transfusion_free_days : int, default 7
        Days before each qualifying day that must be free of platelet transfusion.

    Returns
    -------
    DataFrame
        ``patient_id, neutrophil_engraftment_day, neutrophil_never_below,
        platelet_engraftment_day, platelet_never_below`` (days Int64, NA when not reached
        or never below).

    References
    ----------
    CIBMTR. Forms instruction manual: neutrophil and platelet recovery (engraftment)
    definitions. Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    ANC >= 0.5 from day 11 on gives neutrophil engraftment on day 11. Platelets are >= 20
    from day 8, but a transfusion on day 5 disqualifies days 5-12, so the first 3
    transfusion-free days start on day 13:

    >>> d = pd.DataFrame({"patient_id": "P1", "day": range(16),
    ...                   "anc": [0.2] * 11 + [0.6, 0.7, 0.8, 0.9, 1.0],
    ...                   "platelets": [15] * 8 + [25] * 8,
    ...                   "platelet_transfusion": [0] * 5 + [1] + [0] * 10})
    >>> engraftment(d).values.tolist()
    [['P1', 11, False, 13, False]]
    """
    if last_day is None:
        last_day = int(daily["day"].max()) if len(daily) else 0
    last = last_day
    pids, anc = _dense_matrix(daily, "anc", 0, last)
    _, plt = _dense_matrix(daily, "platelets", 0, last)
    _, tx = _dense_matrix(daily, "platelet_transfusion", 0, last)
    res = {"patient_id": pids}
    for name, mat, thr, extra in (("neutrophil", anc, anc_threshold, None),
                                  ("platelet", plt, plt_threshold, tx)):
        below = mat < thr
        never = ~below.any(axis=1)
        first_below = np.argmax(below, axis=1)
        ok = mat >= thr
        if extra is not None:
            given = np.nan_to_num(extra, nan=0) >= 1
            # no transfusion on the day or in the preceding `transfusion_free_days`
            cs = np.concatenate([np.zeros((len(pids), 1)), np.cumsum(given, axis=1)], axis=1)
            w = mat.shape[1]
            hi = np.arange(w) + 1
            lo = np.clip(np.arange(w) - transfusion_free_days, 0, None)
            recent = (cs[:, hi] - cs[:, lo]) > 0
            ok &= ~recent
        first = _first_run(ok, first_below)
        day = np.where(never | (first < 0), -1, first)
        res[f"{name}_engraftment_day"] = pd.array(np.where(day < 0, pd.NA, day), dtype="Int64")
        res[f"{name}_never_below"] = never
    return pd.DataFrame(res)
