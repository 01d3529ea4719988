"""Recorded (patients.csv) versus derived (raw observations) grades and responses.

Each recorded column is compared with the derivation by its own system: ``crs_grade`` and
``best_response`` with the systems of study.toml (the recorded values are read in those
systems, as the rest of the report does), ``icans_grade`` with ASTCT ICANS 2019 and
``cres_grade`` with CARTOX CRES 2018 whatever the configured neurotoxicity system.
:func:`remission.derive.criteria.compare_recorded` lists each disagreement with the rule
that decided the derived value.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from remission.analyses.raw.systems import Systems
from remission.derive.criteria import SYSTEMS, compare_recorded
from remission.results import Result

__all__ = ["RECORDED", "recorded_vs_derived"]

#: recorded column -> (derived column, day column, what)
RECORDED = {
    "crs_grade": ("crs_max_grade", "crs_max_grade_day", "CRS grade"),
    "icans_grade": ("icans_max_grade", "icans_max_grade_day", "ICANS grade"),
    "cres_grade": ("cres_max_grade", "cres_max_grade_day", "CRES grade"),
    "best_response": ("best_response", "best_response_day", "best overall response"),
}
_COLUMNS = ["measure", "patient_id", "day", "recorded", "derived", "rule", "system", "status"]


def _recorded(values: pd.Series) -> pd.Series:
    """Cells holding a value: not missing and not blank (CSV text columns keep "")."""
    return values.notna() & values.astype(str).str.strip().ne("")


def recorded_vs_derived(patients: pd.DataFrame, *, crs: pd.DataFrame,
                        neuro: dict[str, pd.DataFrame], best: pd.DataFrame, systems: Systems,
                        other_neuro: Callable[[str], pd.DataFrame]) -> Result | None:
    """Recorded grades and responses of patients.csv against the values derived from raw data.

    Each recorded column (:data:`RECORDED`) is compared with the derivation by its own
    system (module docstring); patients without raw observations to derive from are
    skipped with a warning.

    Parameters
    ----------
    patients : DataFrame
        patients.csv (``patient_id`` and any of ``crs_grade, icans_grade, cres_grade,
        best_response``).
    crs : DataFrame
        Derived per-patient CRS table indexed by patient_id (``crs_max_grade``,
        ``crs_max_grade_day``, ``rule``, ``system``).
    neuro : dict of str to DataFrame
        Derived neurotoxicity tables by prefix (``"icans"``, ``"cres"``); a missing one is
        derived with ``other_neuro`` and added.
    best : DataFrame
        Derived best response indexed by patient_id (``best_response``,
        ``best_response_day``).
    systems : Systems
        The systems used; its notes become a warning.
    other_neuro : callable
        ``other_neuro(system)`` derives a neurotoxicity system that was not configured (a
        recorded ICANS grade under CRES, or vice versa).

    Returns
    -------
    Result or None
        ``audit.recorded_vs_derived``: one row per disagreement (``measure, patient_id,
        day, recorded, derived, rule, system, status``), ``params["compared"]`` counts per
        column; None when patients.csv records none of these columns.

    References
    ----------
    Lee DW, et al. Biol Blood Marrow Transplant 2019;25:625-638. Neelapu SS, et al. Nat Rev
    Clin Oncol 2018;15:47-62.

    Examples
    --------
    P1 agrees, P2's recorded grade 1 is derived as 2 (hypoxia), P3 has no raw data:

    >>> from remission.analyses.raw.systems import resolve_systems
    >>> p = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "crs_grade": [2, 1, 3]})
    >>> crs = pd.DataFrame({"crs_max_grade": [2, 2], "crs_max_grade_day": [4, 6],
    ...                     "rule": ["hypotension", "hypoxia"], "system": "astct2019"},
    ...                    index=pd.Index(["P1", "P2"], name="patient_id"))
    >>> r = recorded_vs_derived(p, crs=crs, neuro={}, best=pd.DataFrame(),
    ...                         systems=resolve_systems({"crs": "astct2019"}), other_neuro=None)
    >>> r.table[["patient_id", "day", "recorded", "derived", "rule"]].values.tolist()
    [['P2', 6, 1, 2, 'hypoxia']]
    >>> r.params["compared"]["crs_grade"]["n_compared"], r.warnings[0].split(" but")[0]
    (2, 'crs_grade: 1 patient(s) with a recorded value')
    """
    present = [c for c in RECORDED if c in patients.columns and _recorded(patients[c]).any()]
    if not present:
        return None
    frames, params, refs, warnings = [], {}, [], []
    for col in present:
        dcol, day, what = RECORDED[col]
        if col == "crs_grade":
            derived = crs
        elif col == "best_response":
            derived = best
        else:
            prefix = col.split("_")[0]
            if prefix not in neuro:
                neuro[prefix] = other_neuro("icans_astct2019" if prefix == "icans"
                                            else "cres_cartox2018")
            derived = neuro[prefix]
        rec = patients[["patient_id", col]].assign(
            patient_id=lambda d: d["patient_id"].astype(str))
        derivable = rec["patient_id"].map(derived[dcol]).notna()
        n_skip = int((~derivable & _recorded(rec[col])).sum())
        if n_skip:
            warnings.append(f"{col}: {n_skip} patient(s) with a recorded value but no raw "
                            "observation to derive it from; not compared")
        if not derivable.any():
            continue
        rec = rec[derivable]
        derived = derived[derived[dcol].notna()]
        r = compare_recorded(rec, derived.rename_axis("patient_id").reset_index(),
                             recorded_value=col, derived_value=dcol, what=what, extra=(day,))
        t = r.table.rename(columns={day: "day"})
        t.insert(0, "measure", col)
        t.index = pd.Index([f"{col} | {k}" for k in t.index])
        frames.append(t.reindex(columns=_COLUMNS))
        params[col] = {k: r.params[k] for k in ("n_compared", "n_agree", "n_disagree")}
        params[col]["systems"] = r.params["systems"]
        refs.extend(r.references)
    kept = [f for f in frames if len(f)]
    table = pd.concat(kept) if kept else pd.DataFrame(columns=_COLUMNS)
    n_bad = len(table)
    n_cmp = sum(p["n_compared"] for p in params.values())
    if systems.notes:
        warnings.append("derived with default systems where none was configured: "
                        + "; ".join(systems.notes))
    if n_bad:
        warnings.append(f"{n_bad} recorded value(s) disagree with the raw data "
                        f"(of {n_cmp} compared): check the case report forms")
    return Result(
        "audit.recorded_vs_derived",
        f"Recorded vs derived grades and responses: {n_bad} disagreement(s)",
        table,
        ("Grades and best response recorded in patients.csv compared patient by patient with "
         "those derived from observations.csv (crs_grade and best_response by the configured "
         f"systems {SYSTEMS.get(systems.crs, systems.crs)} and "
         f"{SYSTEMS.get(systems.response, systems.response)}; icans_grade by ASTCT ICANS "
         "2019; cres_grade by CARTOX CRES 2018). Each row is a disagreement: the derived "
         "value, the day it was reached and the rule that decided it; 'not derived' = no "
         "raw data for the patient, 'not recorded' = blank in patients.csv."),
        rationale="Published grades are re-derived from raw data to find transcription and "
                  "grading errors.",
        warnings=tuple(warnings), references=tuple(dict.fromkeys(refs)),
        params={"compared": params, "n_disagree": n_bad}, section="audit")
