"""Immune effector cell-associated neurotoxicity: ICANS (ASTCT 2019) and CRES (CARTOX 2018).

``icans_astct2019`` (Lee DW et al., BBMT 2019;25:625-638): grade = most severe domain.
ICE 7-9 = 1, 3-6 = 2, 0-2 = 3; ICE 0 while awake (global aphasia) = 3, ICE 0 because
unarousable = 4 (the consciousness domain). Consciousness: awakens spontaneously = 1,
to voice = 2, only to tactile stimulus = 3, unarousable = 4. Seizure: any clinical
seizure resolving rapidly or non-convulsive seizure on EEG resolving with intervention
= 3; prolonged (> 5 min) or repetitive seizures, status = 4. Deep focal motor weakness
= 4. Focal/local oedema = 3; diffuse oedema, posturing, cranial nerve VI palsy,
papilloedema, Cushing's triad = 4. Children: CAPD replaces ICE (CAPD 1-8 = 1,
>= 9 = 3); default age rule "younger than 12" (ASTCT text as reported by MDedge);
``capd_age_rule="le12"`` gives the NCIt reading (CAPD for 12 and under). Tremor,
myoclonus are outside ICANS (not in the vocabulary). Intracranial haemorrhage "with or
without associated oedema" is excluded from ICANS: on a day with
``intracranial_haemorrhage`` = yes the oedema/ICP domain is not graded, and
``attrs["excluded"]`` says where. Developmental delay (patients.csv
``developmental_delay``) selects CAPD instead of ICE at any age. Seizure duration
(``seizure_duration``, minutes) > 5 = 4, any = 3; EEG (``eeg_seizure``): non-convulsive
seizure resolving with intervention = 3, repetitive electrical seizures without return
to baseline or electrical status = 4.
Grade 5 only with attribution (death cause = ICANS/neurotoxicity).

``cres_cartox2018`` (Neelapu SS et al., Nat Rev Clin Oncol 2018;15:47-62): CARTOX-10
7-9 = 1, 3-6 = 2, 0-2 = 3 (default, Neelapu/Cancer Biol Med; ``cartox_grade3_max=1``
gives Sharma 2018's "0-1" reading), obtunded/unarousable = 4. Papilloedema stage 1-2
= 3; stage 3-5, CSF opening pressure >= 20 mmHg or cerebral oedema = 4 (an opening
pressure < 20 mmHg alone is not graded: it qualifies grade 3 only alongside
papilloedema in the source). Partial (focal) seizure or non-convulsive seizure on EEG
responsive to benzodiazepine = 3; generalised seizure, status epilepticus or new motor
weakness = 4. The CRES table stops at grade 4: deaths are not graded under CRES.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.derive.criteria._common import (
    SYSTEMS,
    check_system,
    death_days,
    from_context,
    graded_table,
    index_positions,
    summarise_episodes,
)
from remission.derive.criteria.daily import column, level
from remission.vocab.vocabulary import CONSCIOUSNESS, EEG, ICP, SEIZURE

__all__ = ["NEURO_SYSTEMS", "grade_neurotoxicity", "summarise_neurotoxicity", "uses_capd"]

NEURO_SYSTEMS = ("icans_astct2019", "cres_cartox2018")
_DECIDED = np.array(["none", "score", "consciousness", "seizure", "motor", "icp/oedema"],
                    dtype=object)


def _map_levels(x: np.ndarray, table: dict[str, int], levels: tuple[str, ...]) -> np.ndarray:
    """Grade (int8) of each level index in ``x`` by ``table``; 0 for unlisted levels/NaN."""
    lut = np.array([table.get(lv, 0) for lv in levels] + [0], dtype=np.int8)  # last: NaN
    return lut[np.where(np.isnan(x), len(levels), x).astype(np.intp)]


def _at_most(x: np.ndarray, bounds: tuple[float, ...]) -> np.ndarray:
    """Number of ``bounds`` that ``x`` is at or below (int8; NaN is below none). With
    bounds (9, 6, 2) this is the ICE/CARTOX score grade: 7-9 = 1, 3-6 = 2, 0-2 = 3."""
    g = np.zeros(x.shape, dtype=np.int8)
    for b in bounds:
        g += x <= b
    return g


def uses_capd(age: np.ndarray, rule: str = "lt12") -> np.ndarray:
    """Whether the paediatric CAPD replaces the ICE score, by age.

    ASTCT 2019 grades ICANS in children "younger than 12" with CAPD; ``le12`` is the
    reading that includes age 12.

    Parameters
    ----------
    age : array-like of float
        Age in years (NaN gives False).
    rule : {"lt12", "le12"}, default "lt12"
        ``age < 12`` (ASTCT's wording) or ``age <= 12``.

    Returns
    -------
    ndarray of bool
        True where CAPD is used.

    Raises
    ------
    ValueError
        Unknown ``rule``.

    References
    ----------
    Lee DW, et al. Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT ICANS; CAPD for
    children < 12 years).

    Examples
    --------
    >>> uses_capd([11, 12, 13]).tolist(), uses_capd([11, 12, 13], "le12").tolist()
    ([True, False, False], [True, True, False])
    """
    age = np.asarray(age, dtype=float)
    if rule == "lt12":
        return age < 12
    if rule == "le12":
        return age <= 12
    raise ValueError(f"capd_age_rule must be 'lt12' or 'le12', got {rule!r}")


def grade_neurotoxicity(
    daily: pd.DataFrame,
    system: str,
    patients: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    capd_age_rule: str = "lt12",
    cartox_grade3_max: int = 2,
    score_variable: str = "cartox10_score",
    death_causes: tuple[str, ...] = (r"\bicans\b", "neurotox", r"\bcres\b"),
    infusions: pd.DataFrame | None = None,
    context: dict | None = None,
) -> pd.DataFrame:
    """Neurotoxicity grade per patient-day (see module docstring).

    ``patients`` (patient_id, age) selects CAPD for children under ICANS; patients
    with missing age are graded with ICE. Days before the first cell infusion are not
    graded (dropped; ``infusions`` as in :func:`~remission.derive.criteria.crs.grade_crs`).
    Returns patient_id, day, grade, decided_by, system (and with ``infusions``
    infusion, infusion_day).

    Parameters
    ----------
    daily : DataFrame
        Worst value per patient-day and variable, from ``daily_features``.
    system : {"icans_astct2019", "cres_cartox2018"}
        Grading system; always explicit (see :data:`NEURO_SYSTEMS`).
    patients : DataFrame, optional
        ``patient_id, age`` (and ``developmental_delay``): selects CAPD for children.
    events : DataFrame, optional
        Deaths and causes, for grade 5.
    capd_age_rule : {"lt12", "le12"}
        Children graded with CAPD: younger than 12, or 12 and under.
    cartox_grade3_max : int
        Highest CARTOX-10 score that is grade 3 under CRES.
    score_variable : str
        Observation variable holding the CARTOX-10 score.
    death_causes : tuple of str
        Regular expressions matching a death cause attributed to neurotoxicity.
    infusions : DataFrame, optional
        Infusion days per patient; days before the first are not graded.
    context : dict, optional
        Values derived from ``events`` alone, kept for the next call with the same table
        (see :func:`~remission.derive.criteria.run.grade_all`).

    Returns
    -------
    DataFrame
        ``patient_id, day, grade, decided_by, system`` (``decided_by`` one of ``none,
        score, consciousness, seizure, motor, icp/oedema``).

    Raises
    ------
    ValueError
        For an unknown ``system`` or ``capd_age_rule``.

    References
    ----------
    Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-638 (ICANS). Neelapu SS et al.
    Nat Rev Clin Oncol 2018;15:47-62 (CRES, CARTOX-10).

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.vocab.vocabulary import normalise_observations
    >>> from remission.derive.criteria.daily import daily_features
    >>> obs = pd.DataFrame({"patient_id": "P1", "day": [3, 4], "time": "",
    ...                     "variable": ["ice_score", "ice_score"], "value": [8, 2],
    ...                     "unit": "points"})
    >>> g = grade_neurotoxicity(daily_features(normalise_observations(obs)), "icans_astct2019")
    >>> g["grade"].tolist()
    [1, 3]
    """
    check_system(system, NEURO_SYSTEMS)
    cons = column(daily, "consciousness")
    seiz = column(daily, "seizure")
    motor = column(daily, "motor_weakness")
    icp = column(daily, "icp_finding")
    dur = column(daily, "seizure_duration") if "seizure_duration" in daily.columns else None
    eeg = column(daily, "eeg_seizure") if "eeg_seizure" in daily.columns else None
    notes: list[str] = []
    if system == "icans_astct2019":
        score_g = _at_most(column(daily, "ice_score"), (9, 6, 2))
        capd = column(daily, "capd_score")
        child = _capd_patients(daily, patients, capd_age_rule)
        if child.any():
            capd_g = (capd >= 1).astype(np.int8) + 2 * (capd >= 9)  # 1-8 = 1, >= 9 = 3
            score_g = np.where(child, capd_g, score_g)
        cons_g = _map_levels(cons, {"awakens_spontaneously": 1, "awakens_to_voice": 2,
                                    "awakens_to_tactile": 3, "unarousable": 4}, CONSCIOUSNESS)
        seiz_g = _map_levels(seiz, {"focal_resolved": 3, "generalised_resolved": 3,
                                    "nonconvulsive_eeg_resolved": 3, "prolonged": 4,
                                    "repetitive": 4, "status_epilepticus": 4}, SEIZURE)
        icp_g = _map_levels(icp, {"focal_oedema": 3, "diffuse_oedema": 4, "posturing": 4,
                                  "cranial_nerve_vi_palsy": 4, "papilloedema": 4,
                                  "cushings_triad": 4}, ICP)
        # ASTCT 2019: intracranial haemorrhage with or without associated oedema is not
        # ICANS (graded by CTCAE): the oedema/ICP domain is not graded on those days
        ich = (column(daily, "intracranial_haemorrhage") == level("intracranial_haemorrhage",
                                                                   "yes")
               if "intracranial_haemorrhage" in daily.columns else None)
        dropped = None if ich is None else ich & (icp_g > 0)
        if dropped is not None and dropped.any():
            pid = daily["patient_id"].astype(str).to_numpy()
            day = daily["day"].to_numpy()
            where = ", ".join(f"{p} day {d}" for p, d in zip(pid[dropped], day[dropped],
                                                             strict=True))
            notes.append(f"oedema/raised-ICP finding not graded as ICANS on {int(dropped.sum())}"
                         f" patient-day(s) with intracranial haemorrhage ({where}): ASTCT 2019 "
                         "excludes intracranial haemorrhage with or without oedema")
            icp_g = np.where(ich, 0, icp_g).astype(np.int8)
        # seizure duration and EEG (ASTCT 2019): a clinical seizure = 3; "life-threatening
        # prolonged seizure (> 5 min)" = 4; non-convulsive seizure on EEG resolving with
        # intervention = 3; repetitive electrical seizures without return to baseline = 4
        seiz_g = _seizure_extras(seiz_g, daily, dur, eeg)
    else:
        sc = column(daily, score_variable)
        if cartox_grade3_max not in (1, 2):
            raise ValueError("cartox_grade3_max must be 2 (Neelapu) or 1 (Sharma 2018)")
        score_g = _at_most(sc, (9, 6, cartox_grade3_max))
        cons_g = np.where(cons == level("consciousness", "unarousable"), 4, 0)
        seiz_g = _map_levels(seiz, {"focal_resolved": 3, "nonconvulsive_eeg_resolved": 3,
                                    "generalised_resolved": 4, "prolonged": 4,
                                    "repetitive": 4, "status_epilepticus": 4}, SEIZURE)
        stage = column(daily, "papilloedema_stage")
        op = column(daily, "csf_opening_pressure")
        icp_g = np.maximum.reduce([
            np.select([stage >= 3, stage >= 1], [4, 3], 0),
            np.where(op >= 20, 4, 0),
            _map_levels(icp, {"focal_oedema": 4, "diffuse_oedema": 4, "papilloedema": 3},
                        ICP),
        ])
        # CRES: non-convulsive seizure on EEG responsive to benzodiazepine = 3; convulsive
        # or non-convulsive status epilepticus = 4 (a seizure > 5 min is status: ILAE
        # 2015, Trinka E et al., Epilepsia 2015;56:1515, t1 = 5 min)
        seiz_g = _seizure_extras(seiz_g, daily, dur, eeg)
    motor_g = 4 * (motor == level("motor_weakness", "deep_focal_weakness")).astype(np.int8)
    stack = np.vstack([np.zeros(len(daily), dtype=np.int8), score_g, cons_g, seiz_g, motor_g,
                       icp_g]).astype(np.int8, copy=False)
    grade = stack.max(axis=0)
    dec = np.zeros(len(grade), dtype=np.int8)  # first domain reaching the grade
    for k in range(len(stack) - 1, 0, -1):
        dec[stack[k] == grade] = k
    dec[grade == 0] = 0
    deaths = None
    if system != "cres_cartox2018":  # CRES grades 1-4 only (Neelapu 2018; criteria.md §3c)
        deaths = from_context(context, ("death_days", tuple(death_causes)),
                              lambda: death_days(events, death_causes))
    out = graded_table(daily, grade, _DECIDED[dec], system, deaths,
                       "death attributed to neurotoxicity", infusions,
                       "ICANS" if system == "icans_astct2019" else "CRES")
    out.attrs["excluded"] = list(out.attrs.get("excluded", [])) + notes
    return out


def _seizure_extras(seiz_g: np.ndarray, daily: pd.DataFrame, dur: np.ndarray | None,
                    eeg: np.ndarray | None) -> np.ndarray:
    """Seizure-domain grade raised by the EEG finding (non-convulsive resolved 3;
    repetitive without return to baseline or status 4) and the seizure duration
    (> 5 min 4, any 3); unchanged when neither was recorded."""
    if eeg is not None:
        seiz_g = np.maximum(seiz_g, _map_levels(eeg, {"nonconvulsive_resolved": 3,
                                                      "repetitive_no_return_to_baseline": 4,
                                                      "status_epilepticus": 4}, EEG))
    if dur is not None:
        seiz_g = np.maximum(seiz_g, np.select([dur > 5.0, dur > 0.0], [4, 3], 0))
    return seiz_g.astype(np.int8, copy=False)


def _capd_patients(daily: pd.DataFrame, patients: pd.DataFrame | None,
                   capd_age_rule: str) -> np.ndarray:
    """Rows graded with CAPD instead of ICE: children by ``capd_age_rule`` and, whatever
    the age, patients with ``developmental_delay`` = Yes (ASTCT 2019: CAPD for children
    "and those with developmental delay")."""
    child = np.zeros(len(daily), dtype=bool)
    if patients is None or not ({"age", "developmental_delay"} & set(patients.columns)):
        return child
    # each row's patient in the patients table (-1 when absent): a lookup by patient_id
    at = index_positions(patients["patient_id"], daily["patient_id"])
    found = at >= 0
    if "age" in patients.columns:
        age = np.full(len(daily), np.nan)
        age[found] = patients["age"].to_numpy(dtype=float, na_value=np.nan)[at[found]]
        child |= uses_capd(age, capd_age_rule)
    if "developmental_delay" in patients.columns:
        dd = np.array([str(v).strip().lower() in ("yes", "y", "true", "1")
                       for v in patients["developmental_delay"].to_numpy(dtype=object)],
                      dtype=bool)
        child[found] |= dd[at[found]]
    return child


def summarise_neurotoxicity(graded: pd.DataFrame, system: str | None = None) -> pd.DataFrame:
    """Per-patient ICANS/CRES summary: onset day, maximum grade, its day, duration.

    Columns are prefixed ``icans_`` (system ``icans_astct2019``) or ``cres_`` (any other
    system): ``system`` when given (needed when ``graded`` has no rows, e.g. every reading
    was attributed to another cause), otherwise read from ``graded["system"]``.

    Parameters
    ----------
    graded : DataFrame
        Output of :func:`grade_neurotoxicity`: ``patient_id, day, grade, decided_by,
        system``.
    system : str, optional
        The grading system (``icans_astct2019`` or ``cres_cartox2018``).

    Returns
    -------
    DataFrame
        One row per patient: ``{p}_max_grade, {p}_onset_day, {p}_max_grade_day,
        {p}_duration_days`` (days with grade >= 1), ``rule, system, system_version``.

    References
    ----------
    Lee DW, et al. Biol Blood Marrow Transplant 2019;25:625-638 (ICANS). Neelapu SS, et al.
    Nat Rev Clin Oncol 2018;15:47-62 (CRES).

    Examples
    --------
    >>> g = pd.DataFrame({"patient_id": "P1", "day": [2, 3, 4], "grade": [1, 3, 0],
    ...                   "decided_by": ["ice", "consciousness", ""],
    ...                   "system": "icans_astct2019"})
    >>> summarise_neurotoxicity(g).iloc[:, :6].values.tolist()[0]
    ['P1', 3, 2, 3, 2, 'consciousness']
    >>> list(summarise_neurotoxicity(g.iloc[:0], system="cres_cartox2018").columns[1:3])
    ['cres_max_grade', 'cres_onset_day']
    """
    if system is None:
        system = "icans_astct2019" if (graded["system"] == "icans_astct2019").all() else ""
    what = "icans" if system == "icans_astct2019" else "cres"
    s = summarise_episodes(graded, what)
    s["system_version"] = s["system"].map(SYSTEMS)
    return s
