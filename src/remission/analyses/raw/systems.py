"""Which criteria systems a raw-data study is derived with, and what each domain observes.

:func:`resolve_systems` reads study.toml ``[criteria]``; :data:`CRS_VARIABLES` and
:data:`NEURO_VARIABLES` name the observations that can decide a grade, so a day without
any of them is "not assessed" (:func:`mask_unassessed`), not grade 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from remission.derive.criteria import CRS_SYSTEMS, NEURO_SYSTEMS, RESPONSE_SYSTEMS, SYSTEMS

__all__ = ["CRS_VARIABLES", "NEURO_VARIABLES", "Systems", "days_assessed", "mask_unassessed",
           "not_evaluable", "resolve_systems"]

#: Observations that can decide a CRS grade (a patient-day without any is not assessed).
CRS_VARIABLES = ("temperature", "hypotension", "sbp", "norepinephrine", "epinephrine",
                 "phenylephrine", "dopamine", "dobutamine", "vasopressin", "oxygen_device",
                 "oxygen_flow", "fio2")
#: Observations that can decide an ICANS/CRES grade.
NEURO_VARIABLES = ("ice_score", "cartox10_score", "capd_score", "consciousness", "seizure",
                   "motor_weakness", "icp_finding", "papilloedema_stage",
                   "csf_opening_pressure", "seizure_duration", "eeg_seizure",
                   "intracranial_haemorrhage")
_ALL_DISEASES = ("B-ALL", "T-ALL")


@dataclass(frozen=True)
class Systems:
    """Criteria systems used for the derivation, and why (``notes``)."""

    crs: str
    neurotoxicity: str
    response: str
    cytopenia: str
    notes: tuple[str, ...] = ()


def resolve_systems(criteria: dict[str, str], disease: str = "") -> Systems:
    """Criteria systems a raw-data study is derived with, from study.toml ``[criteria]``.

    A named derivable system is used as is. ``"as_recorded"`` or an absent key means the
    primary default (ASTCT 2019 CRS and ICANS; ELN 2022 for AML/MDS/MPAL and NCCN ALL for
    B-/T-ALL response; ICAHT 2023 with CTCAE v5.0 counts for cytopenia), and a note says so.
    ``nccn_aml`` has no response engine: ELN 2022 (which NCCN AML follows) is used and said.

    Parameters
    ----------
    criteria : dict of str to str
        study.toml ``[criteria]`` (keys ``crs``, ``neurotoxicity``, ``response``,
        ``cytopenia``).
    disease : str, default ""
        study.toml ``disease``; ``B-ALL`` or ``T-ALL`` selects the ALL response default.

    Returns
    -------
    Systems
        ``crs, neurotoxicity, response, cytopenia`` and ``notes`` (one per replaced entry).

    References
    ----------
    Lee DW, et al. Biol Blood Marrow Transplant 2019;25:625-638. Döhner H, et al. Blood
    2022;140:1345-1377. Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    >>> s = resolve_systems({"crs": "lee2014", "response": "nccn_aml"}, disease="AML")
    >>> s.crs, s.neurotoxicity, s.response, s.cytopenia
    ('lee2014', 'icans_astct2019', 'eln2022', 'icaht_2023')
    >>> s.notes[-1].split(";")[0]
    "response: 'nccn_aml' has no derivation engine"
    >>> resolve_systems({}, disease="B-ALL").response
    'nccn_all'
    """
    notes = []

    def pick(key: str, allowed: tuple[str, ...], default: str) -> str:
        value = criteria.get(key)
        if value in allowed:
            return value
        label = SYSTEMS.get(default, default)
        if value is None or value == "as_recorded":
            how = "not configured" if value is None else "configured as 'as_recorded'"
            notes.append(f"{key}: {how}; derived with the primary default {label}")
        else:
            notes.append(f"{key}: '{value}' has no derivation engine; derived with {label}")
        return default

    resp_default = "nccn_all" if disease in _ALL_DISEASES else "eln2022"
    cyto = criteria.get("cytopenia")
    if cyto not in ("icaht_2023", "ctcae_v5"):
        how = "not configured" if cyto is None else f"'{cyto}' not derivable"
        notes.append(f"cytopenia: {how}; CTCAE v5.0 grades and ICAHT 2023 both derived")
        cyto = "icaht_2023"
    return Systems(crs=pick("crs", CRS_SYSTEMS, "astct2019"),
                   neurotoxicity=pick("neurotoxicity", NEURO_SYSTEMS, "icans_astct2019"),
                   response=pick("response", RESPONSE_SYSTEMS, resp_default),
                   cytopenia=cyto, notes=tuple(notes))


def days_assessed(daily: pd.DataFrame, variables: tuple[str, ...]) -> pd.Series:
    """Per patient, the days from day 0 (first infusion) with an observation of ``variables``.

    Parameters
    ----------
    daily : DataFrame
        Per patient-day table (``patient_id, day`` and variable columns).
    variables : tuple of str
        The domain's deciding observations (e.g. :data:`CRS_VARIABLES`).

    Returns
    -------
    Series of Int64
        Number of assessed days (day >= 0) indexed by patient_id.

    Examples
    --------
    P1's day -1 is before the infusion and day 1 has no CRS observation (ANC is not one):

    >>> daily = pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2"], "day": [-1, 0, 1, 0],
    ...                       "temperature": [38.5, 38.2, None, 37.0], "anc": 1.0})
    >>> days_assessed(daily, CRS_VARIABLES).to_dict()
    {'P1': 1, 'P2': 1}
    """
    cols = [c for c in variables if c in daily.columns]
    has = daily[cols].notna().any(axis=1) if cols else pd.Series(False, index=daily.index)
    has &= daily["day"] >= 0
    return has.groupby(daily["patient_id"]).sum().astype("Int64")


def not_evaluable(max_grade: pd.Series, days: pd.Series) -> pd.Series:
    """Patients whose maximum grade is "not evaluable" (NA), not grade 0.

    A patient without any day from day 0 with one of the domain's observations
    (:func:`days_assessed` is 0 or absent) has nothing to grade, e.g. a patient who died
    before the infusion; a grade of 5 (death from the toxicity) is kept whatever was
    observed. The report's per-patient CRS/ICANS tables and the simulator's recorded
    grades both apply this rule.

    Parameters
    ----------
    max_grade : Series
        Derived maximum grade per patient, indexed by patient_id (NA allowed).
    days : Series
        Assessed days per patient (:func:`days_assessed`), indexed by patient_id; a
        patient absent from it has none.

    Returns
    -------
    Series of bool
        True where the grade is not evaluable, indexed like ``max_grade``.

    Examples
    --------
    P2 has no assessed day; P3 has none either but died of the toxicity (grade 5):

    >>> g = pd.Series([1, 0, 5], index=["P1", "P2", "P3"])
    >>> not_evaluable(g, pd.Series({"P1": 4, "P2": 0})).tolist()
    [False, True, False]
    """
    assessed = days.reindex(max_grade.index).fillna(0).to_numpy(dtype=float) > 0
    fatal = (max_grade == 5).fillna(False).to_numpy(dtype=bool)
    return pd.Series(~assessed & ~fatal, index=max_grade.index)


def mask_unassessed(graded: pd.DataFrame, daily: pd.DataFrame,
                     variables: tuple[str, ...]) -> pd.DataFrame:
    """Set the daily grade of days without any domain observation to NA ("not assessed").

    A grade of 5 (death) is kept whatever was observed.

    Parameters
    ----------
    graded : DataFrame
        Daily grades (``patient_id, day, grade``).
    daily : DataFrame
        Per patient-day observations.
    variables : tuple of str
        The domain's deciding observations (e.g. :data:`CRS_VARIABLES`).

    Returns
    -------
    DataFrame
        ``graded`` with ``grade`` as Float64, NA on unassessed days.

    Examples
    --------
    P1's day 1 has no CRS observation, so its grade 0 is "not assessed", not "no CRS":

    >>> daily = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [0, 1, 0],
    ...                       "temperature": [38.2, None, 37.0], "anc": 1.0})
    >>> g = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [0, 1, 0], "grade": [1, 0, 0]})
    >>> mask_unassessed(g, daily, CRS_VARIABLES)["grade"].tolist()
    [1.0, <NA>, 0.0]
    """
    cols = [c for c in variables if c in daily.columns]
    has = daily[["patient_id", "day"]].assign(_has=daily[cols].notna().any(axis=1))
    g = graded.merge(has, on=["patient_id", "day"], how="left")
    keep = g["_has"].astype("boolean").fillna(False).astype(bool) | (g["grade"] == 5).fillna(False)
    g["grade"] = g["grade"].astype("Float64").where(keep)
    return g.drop(columns="_has")
