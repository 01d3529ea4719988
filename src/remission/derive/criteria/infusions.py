"""Infusion windows: which cell infusion each patient-day belongs to.

CRS and ICANS are consequences of the cell infusion (ASTCT 2019, Lee DW et al., BBMT
2019;25:625-638, defines both as disorders "following any immune therapy that results
in the activation or engagement of endogenous or infused T cells and/or other immune
effector cells"). Observations before the first infusion therefore cannot produce a
CRS or ICANS grade, and with several infusions (CAR-NK products given repeatedly,
re-infusions, CD34+ stem-cell boosts) every derived grade names the infusion whose
window it falls in: the latest infusion on or before that day.

Infusions of a patient: day 0 (the study format's definition: day 0 = the cell
infusion), plus every ``treatments.csv`` row after day 0 whose ``role`` is ``infusion``
or ``boost``, or whose agent is one of the study's products (study.toml ``products``)
or a cell product of the drug vocabulary (CAR-T cells, CAR-NK cells, stem-cell boost),
plus every ``events.csv`` ``stem_cell_boost``. Donor lymphocyte infusions and
transplants are not infusion windows (they are next therapies, see
:func:`~remission.derive.criteria.icaht.late_window`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from remission.vocab.drugs import canonical_agents

__all__ = ["CELL_PRODUCTS", "INFUSION_ROLES", "annotate_windows", "infusion_days",
           "window_arrays"]

#: treatments.csv ``role`` values that open an infusion window.
INFUSION_ROLES = ("infusion", "boost")
#: Canonical names (drugs.csv) of cell products whose administration is an infusion.
CELL_PRODUCTS = ("study product", "CAR-T cells", "CAR-NK cells", "stem cell boost")


def infusion_days(patient_ids: Iterable[str], treatments: pd.DataFrame | None = None,
                  events: pd.DataFrame | None = None,
                  products: Iterable[str] = ()) -> pd.DataFrame:
    """Every infusion of every patient: patient_id, infusion (1, 2, ...), day, source.

    Parameters
    ----------
    patient_ids : iterable of str
        Patients of the study; each has infusion 1 on day 0.
    treatments, events : DataFrame, optional
        The study tables (see module docstring for what counts as an infusion).
    products : iterable of str
        study.toml ``products``.

    Returns
    -------
    DataFrame
        Sorted by patient and day; one row per distinct infusion day.

    Examples
    --------
    >>> tx = pd.DataFrame({"patient_id": ["P1"], "agent": ["CAR-NK"], "start_day": [14]})
    >>> infusion_days(["P1", "P2"], tx)[["patient_id", "infusion", "day"]].values.tolist()
    [['P1', 1, 0], ['P1', 2, 14], ['P2', 1, 0]]
    """
    ids = [str(p) for p in patient_ids]
    parts = [pd.DataFrame({"patient_id": ids, "day": 0, "source": "day 0 (study format)"})]
    if treatments is not None and len(treatments) and "agent" in treatments.columns:
        tx = treatments
        is_cell = canonical_agents(tx["agent"], products).isin(CELL_PRODUCTS).to_numpy()
        if "role" in tx.columns:
            role = tx["role"].astype(str).str.strip().str.lower()
            is_cell |= role.isin(INFUSION_ROLES).to_numpy()
        sel = tx[is_cell & (pd.to_numeric(tx["start_day"], errors="coerce") > 0).to_numpy()]
        if len(sel):
            parts.append(pd.DataFrame({
                "patient_id": sel["patient_id"].astype(str).to_numpy(),
                "day": sel["start_day"].astype(np.int64).to_numpy(),
                "source": ("treatments.csv: " + sel["agent"].astype(str)).to_numpy()}))
    if events is not None and len(events) and "event" in events.columns:
        ev = events[(events["event"].astype(str).str.lower() == "stem_cell_boost")
                    & (pd.to_numeric(events["day"], errors="coerce") > 0)]
        if len(ev):
            parts.append(pd.DataFrame({"patient_id": ev["patient_id"].astype(str).to_numpy(),
                                       "day": ev["day"].astype(np.int64).to_numpy(),
                                       "source": "events.csv: stem_cell_boost"}))
    allv = pd.concat(parts, ignore_index=True)
    allv = allv.sort_values(["patient_id", "day"], kind="stable").drop_duplicates(
        ["patient_id", "day"]).reset_index(drop=True)
    allv.insert(1, "infusion", allv.groupby("patient_id").cumcount().astype(np.int64) + 1)
    return allv


def annotate_windows(graded: pd.DataFrame, infusions: pd.DataFrame | None) -> pd.DataFrame:
    """Add the infusion window (``infusion`` number and ``infusion_day``) to a per-day table.

    Each row belongs to the latest infusion of its patient on or before its day (what a
    ``merge_asof`` by patient gives; tests/test_criteria_infusion.py checks the two agree).
    A patient absent from ``infusions`` has one infusion on day 0; rows before a patient's
    first infusion get NA. Without ``infusions`` every patient has one infusion on day 0.

    Parameters
    ----------
    graded : DataFrame
        Per patient-day table with ``patient_id`` and integer ``day``.
    infusions : DataFrame or None
        :func:`infusion_days` output (``patient_id, infusion, day``).

    Returns
    -------
    DataFrame
        A copy of ``graded`` with ``infusion`` (1, 2, ...; NA before the first) and
        ``infusion_day`` (day of that infusion), both Int64.

    References
    ----------
    Lee DW, et al. Biol Blood Marrow Transplant 2019;25:625-638 (CRS and ICANS follow the
    infusion of immune effector cells).

    Examples
    --------
    P1 is re-infused on day 21, so day 23 is in window 2; day -2 precedes any infusion:

    >>> inf = pd.DataFrame({"patient_id": ["P1", "P1"], "infusion": [1, 2], "day": [0, 21]})
    >>> g = pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2"], "day": [-2, 5, 23, 3]})
    >>> a = annotate_windows(g, inf)
    >>> a["infusion"].tolist(), a["infusion_day"].tolist()
    ([<NA>, 1, 2, 1], [<NA>, 0, 21, 0])
    """
    inf, inf_day, none = window_arrays(graded["patient_id"], graded["day"], infusions)
    out = graded.copy()
    out["infusion"] = pd.arrays.IntegerArray(inf, none)
    out["infusion_day"] = pd.arrays.IntegerArray(inf_day, none.copy())
    return out


def window_arrays(patient_id, day, infusions: pd.DataFrame | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The infusion window of each row as arrays: what :func:`annotate_windows` adds,
    for callers that build their own table (the graders' ``infusion_window``).

    Parameters
    ----------
    patient_id : array-like
        Patient of each row.
    day : array-like of int
        Day of each row.
    infusions : DataFrame or None
        :func:`infusion_days` output (``patient_id, infusion, day``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(infusion, infusion_day, before)``: the window's number and day (int64, 0 where
        ``before``) and True for the rows before the patient's first infusion.

    Examples
    --------
    >>> inf = pd.DataFrame({"patient_id": ["P1", "P1"], "infusion": [1, 2], "day": [0, 21]})
    >>> n, d, before = window_arrays(["P1", "P1", "P1", "P2"], [-2, 5, 23, 3], inf)
    >>> n.tolist(), d.tolist(), before.tolist()
    ([0, 1, 2, 1], [0, 0, 21, 0], [True, False, False, False])
    """
    ld = np.asarray(day, dtype=np.int64)
    if infusions is None or infusions.empty:
        after = ld >= 0
        return (np.where(after, 1, 0).astype(np.int64), np.zeros(len(ld), dtype=np.int64),
                ~after)
    if len(ld) <= _FEW_ROWS:
        return _few_window_arrays(patient_id, ld, infusions)
    pid = pd.Series(patient_id, dtype=object).astype(str) if not isinstance(
        patient_id, pd.Series) else patient_id.astype(str)
    # the latest infusion on or before each row's day, per patient: one searchsorted on
    # (patient code, day) keys (what a merge_asof by patient does, without its fixed cost)
    n = len(ld)
    codes, _ = pd.factorize(np.concatenate([
        pid.to_numpy(dtype=object), infusions["patient_id"].astype(str).to_numpy(dtype=object)]))
    lc, rc = codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    rd = infusions["day"].to_numpy(dtype=np.int64)
    rn = infusions["infusion"].to_numpy(dtype=np.int64)
    lo = min(ld.min(initial=0), rd.min())
    span = max(ld.max(initial=0), rd.max()) - lo + 1
    order = np.lexsort((rd, rc))
    rkey = rc[order] * span + (rd[order] - lo)
    at = np.searchsorted(rkey, lc * span + (ld - lo), side="right") - 1
    found = at >= 0
    found[found] = rc[order][at[found]] == lc[found]
    inf = np.where(found, rn[order][np.maximum(at, 0)], 0)
    inf_day = np.where(found, rd[order][np.maximum(at, 0)], 0)
    # a patient absent from ``infusions`` still has day 0
    missing = ~np.isin(lc, rc) & (ld >= 0)
    inf[missing], inf_day[missing] = 1, 0
    none = ~(found | missing)
    return inf.astype(np.int64), inf_day.astype(np.int64), none


#: at most this many rows: :func:`window_arrays` looks each row up in Python
_FEW_ROWS = 256


def _few_window_arrays(patient_id, ld: np.ndarray, infusions: pd.DataFrame
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`window_arrays` of a few rows (one patient's days in live grading): the same
    lookup -- the latest infusion of the row's patient (IDs compared as text) on or
    before its day, the last such infusion row in table order on equal days; day 0 for a
    patient absent from ``infusions`` -- done row by row with :func:`bisect.bisect_right`
    on each patient's sorted infusion days, without the factorisation and sorting of
    whole columns that cost most of the time on a few rows (tested equal on random
    tables in tests/test_criteria_infusion.py).

    Parameters
    ----------
    patient_id : array-like
        Patient of each row.
    ld : numpy.ndarray of int64
        Day of each row.
    infusions : DataFrame
        :func:`infusion_days` output, not empty.

    Returns
    -------
    tuple of numpy.ndarray
        As :func:`window_arrays`.
    """
    from bisect import bisect_right

    ids = patient_id.tolist() if isinstance(patient_id, pd.Series | np.ndarray) else \
        list(patient_id)
    by: dict[str, tuple[list, list]] = {}
    rows = sorted(zip(map(str, infusions["patient_id"].tolist()),
                      infusions["day"].to_numpy(dtype=np.int64).tolist(),
                      infusions["infusion"].to_numpy(dtype=np.int64).tolist(),
                      strict=True), key=lambda r: (r[0], r[1]))  # stable: table order on ties
    for p, d, k in rows:
        days, nums = by.setdefault(p, ([], []))
        days.append(d)
        nums.append(k)
    n = len(ld)
    inf = np.zeros(n, dtype=np.int64)
    inf_day = np.zeros(n, dtype=np.int64)
    none = np.zeros(n, dtype=bool)
    for i, (p, d) in enumerate(zip(map(str, ids), ld.tolist(), strict=True)):
        hit = by.get(p)
        if hit is None:  # a patient absent from ``infusions`` still has day 0
            if d >= 0:
                inf[i] = 1
            else:
                none[i] = True
            continue
        at = bisect_right(hit[0], d) - 1
        if at < 0:
            none[i] = True
        else:
            inf[i], inf_day[i] = hit[1][at], hit[0][at]
    return inf, inf_day, none
