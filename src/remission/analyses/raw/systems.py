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
           "resolve_systems"]

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
    """Systems for derivation from study.toml ``[criteria]``.

    A named derivable system is used as is. ``"as_recorded"`` or an absent key means the
    primary default (ASTCT 2019 CRS and ICANS; ELN 2022 for AML/MDS/MPAL and NCCN ALL for
    B-/T-ALL response; ICAHT 2023 with CTCAE v5.0 counts for cytopenia), and a note says so.
    ``nccn_aml`` has no response engine: ELN 2022 (which NCCN AML follows) is used and said.
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
    """Per patient, days from day 0 (first infusion) with an observation of ``variables``."""
    cols = [c for c in variables if c in daily.columns]
    has = daily[cols].notna().any(axis=1) if cols else pd.Series(False, index=daily.index)
    has &= daily["day"] >= 0
    return has.groupby(daily["patient_id"]).sum().astype("Int64")


def mask_unassessed(graded: pd.DataFrame, daily: pd.DataFrame,
                     variables: tuple[str, ...]) -> pd.DataFrame:
    """Daily grades with days lacking any domain observation set to NA (grade 5 kept)."""
    cols = [c for c in variables if c in daily.columns]
    has = daily[["patient_id", "day"]].assign(_has=daily[cols].notna().any(axis=1))
    g = graded.merge(has, on=["patient_id", "day"], how="left")
    keep = g["_has"].astype("boolean").fillna(False).astype(bool) | (g["grade"] == 5).fillna(False)
    g["grade"] = g["grade"].astype("Float64").where(keep)
    return g.drop(columns="_has")
