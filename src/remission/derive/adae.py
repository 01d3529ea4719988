"""ADAE: adverse events, worst grade per patient and term (CTCAE v5.0 terms).

Two sources: per-patient AE records (``adverse_events.csv``) and the recorded CRS and
neurotoxicity grades of ``patients.csv``, which become AE rows so one table holds all.
"""

from __future__ import annotations

import pandas as pd

from remission.vocab import ctcae_terms

CRS_TERM = "Cytokine release syndrome"


def derive_adae(adsl: pd.DataFrame, adverse_events: pd.DataFrame | None) -> pd.DataFrame:
    """Adverse-event dataset (ADAE): one row per patient × term with the worst grade.

    Terms of ``adverse_events.csv`` are coded to their CTCAE v5.0 term
    (:func:`remission.vocab.ctcae_terms.lookup`; an unknown term is kept as written), and
    each patient's records of one term collapse to the highest grade and the earliest onset.
    Recorded CRS and neurotoxicity grades of ADSL (``CRSGR``, ``NTXGR``) above 0 become rows
    too, without an onset day.

    Parameters
    ----------
    adsl : DataFrame
        ADSL (:func:`remission.derive.adsl.derive_adsl`): ``USUBJID``, ``COHORT`` and
        optionally ``CRSGR``, ``NTXGR``.
    adverse_events : DataFrame or None
        ``adverse_events.csv`` (``patient_id, term, grade, onset_day``), if the study has one.

    Returns
    -------
    DataFrame
        ``USUBJID, AEDECOD`` (CTCAE term), ``ATOXGRH`` (worst grade), ``ASTDY`` (first
        onset day, NA when unknown), ``SOURCE`` (``"adverse_events"`` or ``"patients"``)
        and ``COHORT``; AE records first (sorted by patient and term), then CRS, then
        neurotoxicity rows.

    References
    ----------
    National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE)
    v5.0, 2017. CDISC. Analysis Data Model Implementation Guide v1.3, 2021 (ADAE names).

    Examples
    --------
    Two febrile neutropenia records of P1 (grades 3 and 4, days 5 and 9) give one row,
    grade 4 from day 5:

    >>> adsl = pd.DataFrame({"USUBJID": ["P1", "P2"], "COHORT": ["A", "A"],
    ...                      "CRSGR": [2, 0], "NTXGR": [None, 1]})
    >>> ae = pd.DataFrame({"patient_id": ["P1", "P1", "P2"],
    ...                    "term": ["febrile neutropenia", "Febrile neutropenia", "sepsis"],
    ...                    "grade": [3, 4, 4], "onset_day": [5, 9, 12]})
    >>> adae = derive_adae(adsl, ae)
    >>> for row in adae[["USUBJID", "AEDECOD", "ATOXGRH", "SOURCE"]].values.tolist():
    ...     print(row)
    ['P1', 'Febrile neutropenia', 4, 'adverse_events']
    ['P2', 'Sepsis', 4, 'adverse_events']
    ['P1', 'Cytokine release syndrome', 2, 'patients']
    ['P2', 'Neurotoxicity (CRES/ICANS)', 1, 'patients']
    >>> int(adae.loc[0, "ASTDY"])
    5
    """
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
