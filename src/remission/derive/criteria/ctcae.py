"""NCI CTCAE v5.0 haematologic laboratory grades and febrile neutropenia, vectorised.

Each grade is the interval "< upper to >= lower" (CTCAE v5.0, Investigations and Blood
SOCs; thresholds as encoded in pharmaverse/admiral ``ncictcaev5.json``):

=================  ===========  ===========  ===========  ===========
term (×10⁹/L)      grade 1      grade 2      grade 3      grade 4
=================  ===========  ===========  ===========  ===========
neutrophils        <LLN-1.5     <1.5-1.0     <1.0-0.5     <0.5
platelets          <LLN-75      <75-50       <50-25       <25
WBC                <LLN-3.0     <3.0-2.0     <2.0-1.0     <1.0
lymphocytes        <LLN-0.8     <0.8-0.5     <0.5-0.2     <0.2
haemoglobin g/dL   <LLN-10.0    <10.0-8.0    <8.0         (clinical)
=================  ===========  ===========  ===========  ===========

So ANC exactly 1.0 is grade 2, 0.5 is grade 3, 0.499 grade 4. Missing-LLN rule (admiral):
grade 1 needs the LLN -- a value >= the grade-2 upper bound with no LLN is NA, while
grades 2-4 are still assigned; a value >= LLN is grade 0. Anaemia grade 4 and the
investigation terms' grade 5 are clinical and never derived. Haemoglobin in mmol/L is
converted at 1.611 g/dL per mmol/L and rounded to 0.1 g/dL, which keeps CTCAE's upper
mmol/L boundary (6.2 mmol/L = 10.0 g/dL, grade 1). CTCAE's lower mmol/L boundary is not
an exact conversion of its g/dL column (4.9 mmol/L = 7.9 g/dL): remission grades in g/dL,
so 4.9 mmol/L is grade 3 here although the mmol/L column reads "<6.2 - 4.9" (grade 2).

Febrile neutropenia (grade 3): ANC < 1.0 ×10⁹/L and a single temperature > 38.3 °C or
a sustained temperature >= 38.0 °C for more than one hour (needs timed readings; see
:func:`~remission.derive.criteria.daily.sustained_fever`). Grades 4-5 are clinical.
ANC and fever measured on different days are paired within ``window_days`` (default 1
day either side; see :func:`grade_febrile_neutropenia`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from remission.derive.criteria._common import check_system, empty_frame, rows_of
from remission.derive.criteria._kernels import ctcae_codes

__all__ = ["CTCAE_TERMS", "FN_WINDOW_DAYS", "ctcae_grade", "grade_febrile_neutropenia",
           "grade_labs"]

#: variable -> (CTCAE term, [upper bounds of grades 2, 3, 4]) in canonical units.
CTCAE_TERMS: dict[str, tuple[str, tuple[float, ...]]] = {
    "anc": ("Neutrophil count decreased", (1.5, 1.0, 0.5)),
    "platelets": ("Platelet count decreased", (75.0, 50.0, 25.0)),
    "wbc": ("White blood cell decreased", (3.0, 2.0, 1.0)),
    "lymphocytes": ("Lymphocyte count decreased", (0.8, 0.5, 0.2)),
    "hemoglobin": ("Anemia", (10.0, 8.0)),
}
assert all(np.all(np.diff(b) < 0) for _, b in CTCAE_TERMS.values()), "bounds must decrease"


def _bounds(variable: str) -> np.ndarray:
    return np.array(CTCAE_TERMS[variable][1], dtype=float)


def _grade_codes(x: np.ndarray, variable: str, lln: float | np.ndarray | None) -> np.ndarray:
    """CTCAE v5.0 grade of ``x`` as int8, -1 where undefined (the rule; see module doc).

    Grades 2-4: 1 + the number of upper bounds the value is below (the bounds decrease
    strictly, so this is the grade of the lowest bound crossed; NaN is below none).
    Below no bound: 0 if >= LLN, 1 if < LLN, undefined without an LLN or a value.
    """
    x = np.ascontiguousarray(x, dtype=float)
    lln_arr = np.ascontiguousarray(np.broadcast_to(
        np.asarray(np.nan if lln is None else lln, dtype=float), x.shape))
    return ctcae_codes(x.ravel(), _bounds(variable), lln_arr.ravel()).reshape(x.shape)


def ctcae_grade(values: np.ndarray, variable: str, lln: float | np.ndarray | None) -> np.ndarray:
    """Vectorised CTCAE v5.0 grade of laboratory values (canonical units).

    Each grade is the interval "< upper to >= lower" of the module table; grade 1 needs the
    lower limit of normal (LLN): without it a value at or above the grade-2 upper bound is
    NaN (admiral's rule), and a value >= LLN is grade 0.

    Parameters
    ----------
    values : ndarray of float
        Values in the variable's canonical unit (×10⁹/L for counts, g/dL for haemoglobin).
    variable : {"anc", "platelets", "wbc", "lymphocytes", "hemoglobin"}
        Which CTCAE term (:data:`CTCAE_TERMS`).
    lln : float or ndarray or None
        Lower limit of normal (site-specific), scalar or one per value.

    Returns
    -------
    ndarray of float
        Grade 0-4 per value; NaN when the value is missing or grade 1 needs an unknown LLN.

    References
    ----------
    National Cancer Institute. CTCAE v5.0, 27 Nov 2017 (Investigations: Neutrophil count
    decreased). pharmaverse/admiral ``ncictcaev5.json`` (missing-LLN rule).

    Examples
    --------
    CTCAE v5.0 neutrophil count decreased: <LLN-1.5 grade 1, <1.5-1.0 grade 2, <1.0-0.5
    grade 3, <0.5 grade 4; so 1.5 is grade 1, 1.0 grade 2, 0.5 grade 3, 0.499 grade 4:

    >>> ctcae_grade(np.array([2.0, 1.5, 1.0, 0.5, 0.499, np.nan]), "anc", lln=1.8).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, nan]
    >>> ctcae_grade(np.array([2.0, 1.6, 1.0]), "anc", lln=None).tolist()
    [nan, nan, 2.0]
    """
    g = _grade_codes(np.asarray(values, dtype=float), variable, lln)
    return np.where(g < 0, np.nan, g.astype(float))


def grade_labs(
    daily: pd.DataFrame,
    system: str = "ctcae_v5",
    lln: Mapping[str, float] | None = None,
    variables: tuple[str, ...] = ("anc", "platelets", "wbc", "lymphocytes", "hemoglobin"),
    transfusion_indicated: bool = False,
) -> pd.DataFrame:
    """Long table of CTCAE v5.0 laboratory grades, one row per graded patient-day value.

    The day's lowest value is graded (:func:`ctcae_grade`). With
    ``transfusion_indicated=True`` anaemia grade 3 ("Hgb < 8.0 g/dL; transfusion
    indicated") is also met on a day a red-cell transfusion was given (``rbc_transfusion``
    = yes, from observations or treatments.csv) whatever the haemoglobin; the default grades
    haemoglobin alone (admiral's lab-only grading).

    Parameters
    ----------
    daily : DataFrame
        Per patient-day table (:func:`~remission.derive.criteria.daily.daily_features`).
    system : {"ctcae_v5"}
        The grading system.
    lln : mapping of str to float, optional
        variable -> lower limit of normal in canonical units (site-specific; without it
        grade 1 is NA).
    variables : tuple of str
        Variables graded when present (default the five CTCAE terms).
    transfusion_indicated : bool, default False
        Read a red-cell transfusion day as anaemia grade 3.

    Returns
    -------
    DataFrame
        ``patient_id, day, variable, term, value, grade, system`` (``variable``, ``term``
        and ``system`` categorical), variable by variable.

    Raises
    ------
    ValueError
        Unknown ``system``.

    References
    ----------
    National Cancer Institute. CTCAE v5.0, 27 Nov 2017 (Anemia; Neutrophil count
    decreased).

    Examples
    --------
    Haemoglobin 7.9 g/dL is grade 3 (< 8.0); 9.0 g/dL is grade 2, or grade 3 when a
    transfusion that day counts as "transfusion indicated":

    >>> d = pd.DataFrame({"patient_id": "P1", "day": [1, 2], "hemoglobin": [7.9, 9.0],
    ...                   "rbc_transfusion": [0, 1]})
    >>> grade_labs(d)["grade"].tolist(), grade_labs(d, transfusion_indicated=True)["grade"].tolist()
    ([3, 2], [3, 3])
    >>> grade_labs(d)["term"].iloc[0]
    'Anemia'
    """
    check_system(system, ("ctcae_v5",))
    lln = dict(lln or {})
    present = [v for v in variables if v in daily.columns]
    if not present:
        return empty_frame(["patient_id", "day", "variable", "term", "value", "grade",
                            "system"])
    pid = daily["patient_id"].to_numpy()
    day = daily["day"].to_numpy()
    xs = [daily[v].to_numpy(dtype=float) for v in present]
    keeps = [np.flatnonzero(~np.isnan(x)) for x in xs]
    counts = [len(k) for k in keeps]
    # one output array per column, filled variable by variable (no concatenation copies)
    rows = np.empty(sum(counts), dtype=np.intp)
    value = np.empty(len(rows))
    g = np.empty(len(rows), dtype=np.int8)
    at = 0
    for v, x, keep in zip(present, xs, keeps, strict=True):
        part = slice(at, at + len(keep))
        rows[part] = keep
        np.take(x, keep, out=value[part])
        limit = lln.get(v)
        g[part] = ctcae_codes(value[part], _bounds(v), np.nan if limit is None else limit)
        at += len(keep)
    which = np.repeat(np.arange(len(present), dtype=np.int8), counts)
    if transfusion_indicated and "hemoglobin" in present and "rbc_transfusion" in daily:
        # CTCAE v5.0 anaemia grade 3: "Hgb < 8.0 g/dL; transfusion indicated"
        given = daily["rbc_transfusion"].to_numpy(dtype=float) == 1.0  # level "yes"
        hb = which == present.index("hemoglobin")
        lift = hb & given[rows] & (g < 3)
        g = np.where(lift, 3, g).astype(g.dtype)
    return pd.DataFrame({  # every column a fresh array: no copy needed
        "patient_id": pid[rows],
        "day": day[rows],
        # label columns of a long table are categorical (one byte a row, not a pointer)
        "variable": pd.Categorical.from_codes(which, categories=present),
        "term": pd.Categorical.from_codes(which, categories=[CTCAE_TERMS[v][0]
                                                             for v in present]),
        "value": value,
        "grade": pd.arrays.IntegerArray(g.astype(np.int64), g < 0),
        "system": pd.Categorical.from_codes(np.zeros(len(rows), dtype=np.int8),
                                            categories=[system]),
    }, copy=False)


def _text_ids(ids: pd.Series) -> np.ndarray:
    """``ids.astype(str).to_numpy()``: the patient IDs as text, without a new Series when
    they are text already (object array of ``str``, the study loader's IDs)."""
    arr = ids.to_numpy()
    if arr.dtype == object and pd.api.types.infer_dtype(arr, skipna=False) == "string":
        return arr
    return ids.astype(str).to_numpy()


#: Default febrile-neutropenia pairing window (days either side of the fever day).
FN_WINDOW_DAYS = 1


def grade_febrile_neutropenia(daily: pd.DataFrame, system: str = "ctcae_v5",
                              window_days: int = FN_WINDOW_DAYS) -> pd.DataFrame:
    """Days meeting CTCAE v5.0 febrile neutropenia (grade 3).

    CTCAE v5.0 pairs "ANC < 1000/mm³" with the fever but gives no window when the two
    are measured on different days. Default ``window_days=1``: the fever counts when an
    ANC < 1.0 ×10⁹/L was measured on the fever day or the day before or after (about
    24 h either side with daily counts). Rationale: IDSA guideline (Freifeld AG et al.,
    Clin Infect Dis 2011;52:e56-e93) counts as neutropenic an ANC "expected to decrease
    to < 500 cells/mm³ during the next 48 h", so a count taken the day after the fever
    belongs to the same episode; the previous day's count is the one a clinician has at
    a night-time fever. ``window_days=0`` pairs same-day values only (strict reading).

    Parameters
    ----------
    daily : DataFrame
        From :func:`~remission.derive.criteria.daily.daily_features`.
    system : str
        ``ctcae_v5``.
    window_days : int
        Days either side of the fever day searched for ANC < 1.0.

    Returns
    -------
    DataFrame
        patient_id, day (of the fever), grade (3), rule, anc (the paired ANC: the nearest
        day with ANC < 1.0; same day first, then the day after, then before), anc_day,
        window_days, system.

    Examples
    --------
    >>> from remission.derive.criteria.daily import daily_features
    >>> from remission.vocab.vocabulary import normalise_observations
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P1"], "day": [3, 4],
    ...                     "variable": ["temperature", "anc"], "value": ["38.6", "0.4"],
    ...                     "unit": ["C", "10^9/L"]})
    >>> fn = grade_febrile_neutropenia(daily_features(normalise_observations(obs)))
    >>> fn[["day", "anc_day"]].values.tolist()
    [[3, 4]]
    """
    check_system(system, ("ctcae_v5",))
    if window_days < 0:
        raise ValueError("window_days must be >= 0")
    anc = daily["anc"].to_numpy(dtype=float) if "anc" in daily else np.full(len(daily), np.nan)
    t = (daily["temperature"].to_numpy(dtype=float) if "temperature" in daily
         else np.full(len(daily), np.nan))
    sustained = (daily["fever_sustained"].to_numpy(dtype=bool) if "fever_sustained" in daily
                 else np.zeros(len(daily), dtype=bool))
    single = t > 38.3
    febrile = single | sustained
    day = daily["day"].to_numpy(dtype=np.int64)
    low = np.flatnonzero(anc < 1.0)
    hot = np.flatnonzero(febrile).tolist()
    paired_anc = np.full(len(daily), np.nan)
    paired_day = np.full(len(daily), np.nan)
    # patients compared as text; only needed when a fever day may pair (text IDs kept)
    pid = _text_ids(daily["patient_id"]) if hot and len(low) else None
    # (patient, day) -> row of a day with ANC < 1.0 (one row per patient-day in ``daily``)
    low_at = {} if pid is None else dict(zip(zip(pid[low].tolist(), day[low].tolist(),
                                                 strict=True), low.tolist(), strict=True))
    # nearest first: same day, then +1, -1, +2, -2 ... (after before: IDSA's "next 48 h")
    offsets = [0] + [s * k for k in range(1, window_days + 1) for s in (1, -1)]
    for r in hot if low_at else ():
        for k in offsets:
            j = low_at.get((pid[r], int(day[r]) + k))
            if j is not None:
                paired_anc[r] = anc[j]
                paired_day[r] = day[r] + k
                break
    fn = febrile & ~np.isnan(paired_anc)
    k = int(fn.sum())
    return pd.DataFrame({  # one table built from arrays (columns as before, in order)
        "patient_id": rows_of(daily["patient_id"], fn),
        "day": rows_of(daily["day"], fn),
        "grade": np.full(k, 3, dtype=np.int64),
        "rule": np.where(single[fn], "ANC < 1.0 and T > 38.3 °C",
                         "ANC < 1.0 and T >= 38.0 °C sustained > 1 h").astype(object),
        "anc": paired_anc[fn],
        "anc_day": paired_day[fn].astype(np.int64),
        "window_days": np.full(k, window_days, dtype=np.int64),
        "system": np.full(k, system, dtype=object),
    }, copy=False)
