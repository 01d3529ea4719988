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
    """Subject-level analysis dataset (ADSL), one row per patient, from a validated study.

    Runs :func:`derive_demographics`, :func:`derive_cohort`, :func:`derive_response_flags`,
    :func:`derive_toxicity_grades`, :func:`derive_post_therapy` and :func:`derive_death` in
    that order, then carries every other column of ``patients.csv`` (lower-case names) so
    covariates stay usable. Variables are listed in docs/adam.md.

    Parameters
    ----------
    study : Study
        A loaded, validated study (:func:`remission.study.load_study`).

    Returns
    -------
    DataFrame
        One row per patient in ``patients.csv`` order, indexed 0..n-1: ``USUBJID, AGE,
        SEX, COHORT, COHORTL, COHORTN`` (and ``DOSE``), ``BOR, RESPFL, CRFL, MRDNEGFL,
        CRSGR, CRSSYS, NTXGR, NTXSYS, POSTTRT, TRANSFL, DTHFL, DTHDY, DTHCAUS`` and the
        source columns.

    References
    ----------
    CDISC. Analysis Data Model Implementation Guide v1.3, 2021 (ADSL variable names).

    Examples
    --------
    Zhang et al. (Front Immunol 2025;15:1491341) report 12 infused patients, 5 male and
    7 female, 7 in MRD-negative CR and 2 in MRD-positive CR:

    >>> from remission.study import load_study
    >>> adsl = derive_adsl(load_study("examples/cll1-post-hsct"))
    >>> len(adsl), int((adsl["SEX"] == "M").sum()), int((adsl["SEX"] == "F").sum())
    (12, 5, 7)
    >>> int((adsl["MRDNEGFL"] == "Y").sum()), int((adsl["CRFL"] == "Y").sum())
    (7, 9)
    """
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
    """Add ``AGE`` (years) and ``SEX`` (as recorded, M/F) from ``patients.csv``.

    Parameters
    ----------
    adsl : DataFrame
        The ADSL being built (same index as ``p``).
    p : DataFrame
        ``patients.csv`` as loaded; ``age`` and ``sex`` are optional columns.

    Returns
    -------
    DataFrame
        A copy of ``adsl`` with ``AGE`` (NaN when not recorded) and ``SEX`` ('' when not
        recorded).

    Examples
    --------
    >>> p = pd.DataFrame({"patient_id": ["P1", "P2"], "age": [34, 61], "sex": ["F", "M"]})
    >>> derive_demographics(pd.DataFrame(index=p.index), p)[["AGE", "SEX"]].values.tolist()
    [[34, 'F'], [61, 'M']]
    >>> derive_demographics(pd.DataFrame(index=p.index), p[["patient_id"]])["SEX"].tolist()
    ['', '']
    """
    adsl = adsl.copy()
    adsl["AGE"] = p.get("age", np.nan)
    adsl["SEX"] = p.get("sex", "")
    return adsl


def derive_cohort(adsl: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Add ``COHORT`` (level name), ``COHORTL`` (label) and ``COHORTN`` (1-based order).

    Cohorts come from study.toml ``[cohorts]`` (:func:`remission.study.assign_cohorts`);
    without that section every patient is in ``"All"``. ``DOSE`` is added from
    ``cart_dose_per_kg`` when the study has cohorts and that column.

    Parameters
    ----------
    adsl : DataFrame
        The ADSL being built (index of ``study.patients``).
    study : Study
        The loaded study.

    Returns
    -------
    DataFrame
        A copy of ``adsl`` with ``COHORT``, ``COHORTL``, ``COHORTN`` (order of the levels
        in study.toml) and possibly ``DOSE``.

    Examples
    --------
    In examples/cll1-post-hsct/study.toml dose level C (third level) is 1.5×10⁶/kg, the
    dose of patient 1:

    >>> from remission.study import load_study
    >>> st = load_study("examples/cll1-post-hsct")
    >>> a = derive_cohort(pd.DataFrame(index=st.patients.index), st)
    >>> a[["COHORT", "COHORTL", "COHORTN", "DOSE"]].iloc[:1].values.tolist()
    [['C', '1.5×10⁶/kg', 3, 1500000.0]]
    """
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
    """Add ``BOR`` (best response as recorded) and the ``RESPFL`` / ``CRFL`` / ``MRDNEGFL`` flags.

    A flag is ``"Y"`` when ``BOR`` is one of the categories study.toml ``[response]``
    lists as response (``responders``), complete remission (``complete``) or MRD-negative
    remission (``mrd_negative``), ``"N"`` otherwise, and ``""`` when ``BOR`` is missing.

    Parameters
    ----------
    adsl : DataFrame
        The ADSL being built (same index as ``p``).
    p : DataFrame
        ``patients.csv`` as loaded; ``best_response`` is optional.
    study : Study
        The loaded study (its ``[response]`` category sets).

    Returns
    -------
    DataFrame
        A copy of ``adsl`` with ``BOR`` ('' when missing), ``RESPFL``, ``CRFL``,
        ``MRDNEGFL``.

    Examples
    --------
    examples/cll1-post-hsct counts PR as a response but not as a complete remission;
    patient 5's best response is PR:

    >>> from remission.study import load_study
    >>> st = load_study("examples/cll1-post-hsct")
    >>> a = derive_response_flags(pd.DataFrame(index=st.patients.index), st.patients, st)
    >>> a.iloc[4][["BOR", "RESPFL", "CRFL", "MRDNEGFL"]].tolist()
    ['PR', 'Y', 'N', 'N']
    """
    adsl = adsl.copy()
    cfg = study.config
    bor = p["best_response"] if "best_response" in p else pd.Series("", index=p.index)
    adsl["BOR"] = bor.fillna("")
    for flag, cats in (("RESPFL", cfg.responders), ("CRFL", cfg.complete),
                       ("MRDNEGFL", cfg.mrd_negative)):
        adsl[flag] = np.where(adsl["BOR"] == "", "", np.where(adsl["BOR"].isin(cats), "Y", "N"))
    return adsl


def derive_toxicity_grades(adsl: pd.DataFrame, p: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Add recorded maximum CRS and neurotoxicity grades and the grading systems behind them.

    Parameters
    ----------
    adsl : DataFrame
        The ADSL being built (same index as ``p``).
    p : DataFrame
        ``patients.csv`` as loaded; ``crs_grade`` and ``icans_grade`` (or ``cres_grade``)
        are optional.
    study : Study
        The loaded study (study.toml ``[criteria]`` names the systems).

    Returns
    -------
    DataFrame
        A copy of ``adsl`` with ``CRSGR`` and ``NTXGR`` (NA when not recorded) and
        ``CRSSYS`` / ``NTXSYS`` (the systems' labels, or the system code when it has none,
        ``"as_recorded"`` by default).

    Examples
    --------
    examples/cll1-post-hsct grades CRS by Lee et al. 2014 and its paper (Zhang et al.,
    Front Immunol 2025) reports 5 patients with CRS grade >= 3:

    >>> from remission.study import load_study
    >>> st = load_study("examples/cll1-post-hsct")
    >>> a = derive_toxicity_grades(pd.DataFrame(index=st.patients.index), st.patients, st)
    >>> a["CRSSYS"].iloc[0], int((a["CRSGR"] >= 3).sum())
    ('Lee et al., Blood 2014', 5)
    """
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
    """Add ``POSTTRT`` (therapy after the cell product) and ``TRANSFL`` (was it a transplant).

    ``therapy_after_cart`` values ``"no"``, ``"none"``, ``"no/"`` or blank (any case) mean
    no therapy. ``TRANSFL`` is ``"Y"`` when the text contains hsct, transplant, mudt, sct,
    haplo or allo (any case).

    Parameters
    ----------
    adsl : DataFrame
        The ADSL being built (same index as ``p``).
    p : DataFrame
        ``patients.csv`` as loaded; ``therapy_after_cart`` is optional.

    Returns
    -------
    DataFrame
        A copy of ``adsl`` with ``POSTTRT`` (trimmed text, '' for none) and ``TRANSFL``
        (``"Y"``/``"N"``).

    Examples
    --------
    >>> p = pd.DataFrame({"therapy_after_cart": ["Haplo-HSCT", "None", "venetoclax", None]})
    >>> derive_post_therapy(pd.DataFrame(index=p.index), p).values.tolist()
    [['Haplo-HSCT', 'Y'], ['', 'N'], ['venetoclax', 'N'], ['', 'N']]
    """
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
    """Add ``DTHFL``, ``DTHDY`` and ``DTHCAUS`` from ``patients.csv`` and ``death`` events.

    ``died`` Yes/No gives Y/N; a recorded ``death_day`` or a ``death`` row of events.csv
    makes the flag Y. Day and cause come from ``death_day`` / ``death_cause``, else from
    the patient's first ``death`` event (its ``day`` and ``value``).

    Parameters
    ----------
    adsl : DataFrame
        The ADSL being built, with ``USUBJID``.
    p : DataFrame
        ``patients.csv`` as loaded; ``died``, ``death_day``, ``death_cause`` are optional.
    events : DataFrame or None
        events.csv (``patient_id, day, event, value``), if the study has one.

    Returns
    -------
    DataFrame
        A copy of ``adsl`` with ``DTHFL`` (``"Y"``, ``"N"`` or ``""`` when unknown),
        ``DTHDY`` (study day, NaN when unknown) and ``DTHCAUS`` ('' when unknown).

    Examples
    --------
    P3's death is known only from events.csv:

    >>> p = pd.DataFrame({"died": ["Yes", "No", None], "death_cause": ["relapse", "", ""]})
    >>> ev = pd.DataFrame({"patient_id": ["P3"], "day": [40], "event": ["death"],
    ...                    "value": ["sepsis"]})
    >>> a = pd.DataFrame({"USUBJID": ["P1", "P2", "P3"]})
    >>> derive_death(a, p, ev).values.tolist()
    [['P1', 'Y', nan, 'relapse'], ['P2', 'N', nan, ''], ['P3', 'Y', 40.0, 'sepsis']]
    >>> derive_death(a, p, None)["DTHFL"].tolist()
    ['Y', 'N', '']
    """
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
