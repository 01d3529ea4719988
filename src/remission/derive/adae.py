"""ADAE: adverse events, worst grade per patient and term (CTCAE v5.0 terms).

Two sources: per-patient AE records (``adverse_events.csv``) and the recorded CRS and
neurotoxicity grades of ``patients.csv``, which become AE rows so one table holds all.
"""

from __future__ import annotations

import pandas as pd

from remission.vocab import ctcae_terms

CRS_TERM = "Cytokine release syndrome"


def derive_adae(adsl: pd.DataFrame, adverse_events: pd.DataFrame | None) -> pd.DataFrame:
    """One row per patient × term with the worst grade (ATOXGRH) and onset day."""
    rows = []
    if adverse_events is not None and len(adverse_events):
        ae = adverse_events.copy()
        ae["AEDECOD"] = ae["term"].map(lambda t: (ctcae_terms.lookup(t) or _Unknown(t)).term)
        g = ae.groupby(["patient_id", "AEDECOD"], sort=True)
        worst = g.agg(ATOXGRH=("grade", "max"), ASTDY=("onset_day", "min")).reset_index()
        worst = worst.rename(columns={"patient_id": "USUBJID"})
        worst["SOURCE"] = "adverse_events"
        rows.append(worst)
    for col, term in (("CRSGR", CRS_TERM), ("NTXGR", "Neurotoxicity (CRES/ICANS)")):
        if col in adsl:
            grade = pd.Series([_grade(v) for v in adsl[col]], index=adsl.index, dtype=float)
            sub = adsl[grade.fillna(0) > 0]
            rows.append(pd.DataFrame({
                "USUBJID": sub["USUBJID"], "AEDECOD": term,
                "ATOXGRH": grade[sub.index].astype(int),
                "ASTDY": pd.array([pd.NA] * len(sub), dtype="Int64"),  # as onset_day
                "SOURCE": "patients"}))
    rows = [r for r in rows if len(r)]  # empty pieces would only blur the concat's dtypes
    if not rows:
        return pd.DataFrame(columns=["USUBJID", "AEDECOD", "ATOXGRH", "ASTDY", "SOURCE"])
    out = pd.concat(rows, ignore_index=True)
    cohort = adsl.set_index("USUBJID")["COHORT"]
    out["COHORT"] = out["USUBJID"].map(cohort)
    return out


class _Unknown:
    def __init__(self, term: str) -> None:
        self.term = term


def _grade(v: object) -> float:
    """A recorded grade as a float; missing (None, NaN, pd.NA) or non-numeric -> NaN."""
    try:
        return float("nan") if pd.isna(v) else float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
