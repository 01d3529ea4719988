"""ADSL: the subject-level analysis dataset, one row per patient.

Built admiral-style from small ``derive_*`` steps, each adding one named variable.
Variable names follow CDISC ADaM ADSL where one exists (USUBJID, AGE, SEX, DTHFL,
DTHDY); study-specific ones are documented in docs/adam.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.study import Study, assign_cohorts

NO_THERAPY = {"", "no", "none", "no/"}
TRANSPLANT_WORDS = ("hsct", "transplant", "mudt", "sct", "haplo", "allo")


def derive_adsl(study: Study) -> pd.DataFrame:
    """Subject-level dataset from a validated study."""
    p = study.patients
    adsl = pd.DataFrame(index=p.index)
    adsl["USUBJID"] = p["patient_id"].astype(str)
    adsl = derive_demographics(adsl, p)
    adsl = derive_cohort(adsl, study)
    adsl = derive_response_flags(adsl, p, study)
    adsl = derive_toxicity_grades(adsl, p, study)
    adsl = derive_post_therapy(adsl, p)
    adsl = derive_death(adsl, p, study.tables.get("events"))
    # keep every source column (lower-case names) so covariates remain usable
    for col in p.columns:
        if col != "patient_id" and col not in adsl.columns:
            adsl[col] = p[col]
    return adsl.reset_index(drop=True)


def derive_demographics(adsl: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
    """AGE (years), SEX (M/F)."""
    adsl = adsl.copy()
    adsl["AGE"] = p.get("age", np.nan)
    adsl["SEX"] = p.get("sex", "")
    return adsl


def derive_cohort(adsl: pd.DataFrame, study: Study) -> pd.DataFrame:
    """COHORT (level name), COHORTL (label), COHORTN (1-based order) from study.toml."""
    adsl = adsl.copy()
    co = study.config.cohorts
    if co is None:
        adsl["COHORT"], adsl["COHORTL"], adsl["COHORTN"] = "All", "All patients", 1
        return adsl
    names = assign_cohorts(study.patients, study.config)
    order = {lv.name: i for i, lv in enumerate(co.levels, start=1)}
    labels = {lv.name: lv.label for lv in co.levels}
    adsl["COHORT"] = names
    adsl["COHORTL"] = names.map(labels)
    adsl["COHORTN"] = names.map(order).astype(int)
    if "cart_dose_per_kg" in study.patients:
        adsl["DOSE"] = study.patients["cart_dose_per_kg"]
    return adsl


def derive_response_flags(adsl: pd.DataFrame, p: pd.DataFrame, study: Study) -> pd.DataFrame:
    """BOR (best response as recorded); RESPFL / CRFL / MRDNEGFL (Y/N, '' if BOR missing).

    Category sets come from study.toml ``[response]`` (what the study counted as
    response, complete remission and MRD-negative remission)."""
    adsl = adsl.copy()
    cfg = study.config
    bor = p["best_response"] if "best_response" in p else pd.Series("", index=p.index)
    adsl["BOR"] = bor.fillna("")
    for flag, cats in (("RESPFL", cfg.responders), ("CRFL", cfg.complete),
                       ("MRDNEGFL", cfg.mrd_negative)):
        adsl[flag] = np.where(adsl["BOR"] == "", "", np.where(adsl["BOR"].isin(cats), "Y", "N"))
    return adsl


def derive_toxicity_grades(adsl: pd.DataFrame, p: pd.DataFrame, study: Study) -> pd.DataFrame:
    """CRSGR, NTXGR (recorded maximum grades) and the systems that produced them."""
    from remission.study.config import CRITERIA_LABELS

    adsl = adsl.copy()
    adsl["CRSGR"] = p.get("crs_grade", pd.NA)
    crs_sys = study.config.criteria.get("crs", "as_recorded")
    adsl["CRSSYS"] = CRITERIA_LABELS.get(crs_sys, crs_sys)
    ntx_col = "icans_grade" if "icans_grade" in p else "cres_grade"
    adsl["NTXGR"] = p.get(ntx_col, pd.NA)
    ntx_sys = study.config.criteria.get("neurotoxicity", "as_recorded")
    adsl["NTXSYS"] = CRITERIA_LABELS.get(ntx_sys, ntx_sys)
    return adsl


def derive_post_therapy(adsl: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
    """POSTTRT (therapy after CAR-T, '' if none) and TRANSFL (Y if it was a transplant)."""
    adsl = adsl.copy()
    raw = p["therapy_after_cart"] if "therapy_after_cart" in p else pd.Series("", index=p.index)
    post = raw.fillna("").astype(str).str.strip()
    post = post.where(~post.str.lower().isin(NO_THERAPY), "")
    adsl["POSTTRT"] = post
    low = post.str.lower()
    adsl["TRANSFL"] = np.where(low.apply(lambda s: any(w in s for w in TRANSPLANT_WORDS)), "Y", "N")
    return adsl


def derive_death(adsl: pd.DataFrame, p: pd.DataFrame, events: pd.DataFrame | None
                 ) -> pd.DataFrame:
    """DTHFL (Y/N/'' unknown), DTHDY (day of death, NaN if unknown), DTHCAUS."""
    adsl = adsl.copy()
    ids = adsl["USUBJID"]
    day = pd.Series(np.nan, index=adsl.index)
    cause = pd.Series("", index=adsl.index, dtype=object)
    flag = pd.Series("", index=adsl.index, dtype=object)
    if "died" in p:
        flag = p["died"].map({"Yes": "Y", "No": "N"}).fillna("")
    if "death_day" in p:
        day = p["death_day"].astype(float)
    if "death_cause" in p:
        cause = p["death_cause"].fillna("")
    if events is not None and len(events):
        d = events[events["event"] == "death"].drop_duplicates("patient_id")
        by_id = d.set_index("patient_id")
        ev_day = ids.map(by_id["day"].astype(float))
        ev_cause = ids.map(by_id["value"]).fillna("")
        day = day.where(day.notna(), ev_day)
        cause = cause.where(cause != "", ev_cause)
        flag = flag.where(~(ev_day.notna()), "Y")
    flag = flag.where(~(day.notna() & (flag == "")), "Y")
    adsl["DTHFL"] = flag.values
    adsl["DTHDY"] = day.values
    adsl["DTHCAUS"] = cause.values
    return adsl
