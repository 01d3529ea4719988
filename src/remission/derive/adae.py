"""ADAE: adverse events, worst grade per patient and term (CTCAE v5.0 terms).

Two sources: per-patient AE records (``adverse_events.csv``) and the recorded CRS and
neurotoxicity grades of ``patients.csv``, which become AE rows so one table holds all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.derive import ctcae_terms

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
            sub = adsl[adsl[col].fillna(0).astype(int) > 0]
            rows.append(pd.DataFrame({
                "USUBJID": sub["USUBJID"], "AEDECOD": term,
                "ATOXGRH": sub[col].astype(int), "ASTDY": np.nan, "SOURCE": "patients"}))
    if not rows:
        return pd.DataFrame(columns=["USUBJID", "AEDECOD", "ATOXGRH", "ASTDY", "SOURCE"])
    out = pd.concat(rows, ignore_index=True)
    cohort = adsl.set_index("USUBJID")["COHORT"]
    out["COHORT"] = out["USUBJID"].map(cohort)
    return out


class _Unknown:
    def __init__(self, term: str) -> None:
        self.term = term
