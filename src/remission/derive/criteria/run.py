"""Run every grader on a study's raw tables in one call (the systems are explicit)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from remission.derive.criteria._common import (
    empty_frame,
    from_context,
    summarise_by_infusion,
)
from remission.derive.criteria.crs import grade_crs, summarise_crs
from remission.derive.criteria.ctcae import grade_febrile_neutropenia, grade_labs
from remission.derive.criteria.daily import daily_features
from remission.derive.criteria.icaht import engraftment, grade_icaht, late_window
from remission.derive.criteria.infusions import infusion_days
from remission.derive.criteria.neuro import grade_neurotoxicity, summarise_neurotoxicity
from remission.derive.criteria.response import assess_response, summarise_response

__all__ = ["ATTRIBUTABLE", "grade_all"]

#: Observations a site may attribute to another cause (observations.csv
#: ``attributed_to``): ASTCT 2019 grades fever "not attributable to any other cause",
#: hypotension/hypoxia of CRS, and depressed consciousness "not attributable to other
#: causes (e.g. no sedating medication)". Such rows are left out of CRS/ICANS grading.
ATTRIBUTABLE = {
    "crs": ("temperature", "hypotension", "sbp", "norepinephrine", "epinephrine",
            "phenylephrine", "dopamine", "vasopressin", "oxygen_device", "oxygen_flow",
            "fio2"),
    "neuro": ("ice_score", "cartox10_score", "capd_score", "consciousness", "seizure",
              "seizure_duration", "eeg_seizure", "motor_weakness", "icp_finding",
              "papilloedema_stage", "csf_opening_pressure"),
}


def grade_all(
    obs: pd.DataFrame,
    *,
    patients: pd.DataFrame | None = None,
    treatments: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    crs: str = "astct2019",
    neurotoxicity: str = "icans_astct2019",
    response: str | None = "eln2022",
    icaht_counting: str = "longest",
    lln: Mapping[str, float] | None = None,
    landmark_day: int | None = None,
    products: tuple[str, ...] = (),
    summaries: bool = True,
    infusions: pd.DataFrame | None = None,
    context: dict | None = None,
) -> dict[str, pd.DataFrame]:
    """Daily and per-patient derived datasets from a canonical observation table.

    ``obs`` is the output of :func:`~remission.vocab.vocabulary.normalise_observations`.
    Returns ``daily``, ``crs_daily``, ``crs``, ``neuro_daily``, ``neuro``, ``labs``,
    ``febrile_neutropenia``, ``icaht``, ``engraftment`` and, when ``response`` is given,
    ``response_assessments`` and ``response``. Each table names its system; the defaults
    are the primary sources (ASTCT 2019, CTCAE v5.0, ICAHT 2023, ELN 2022). The late ICAHT
    window ends at the first relapse/progression, next therapy (treatments.csv role/line,
    transplant, a later infusion), death or last contact
    (:func:`~remission.derive.criteria.icaht.late_window`); ``icaht`` says when and why
    (``late_window_end_day``, ``late_window_closed_by``).

    Infusion windows (``infusions``: day 0 plus re-infusions and boosts from
    ``treatments``/``events``, ``products`` = study.toml products; see
    :func:`~remission.derive.criteria.infusions.infusion_days`): CRS and neurotoxicity are
    graded only from the first infusion on, every graded day names its window, and
    ``crs_by_infusion`` / ``neuro_by_infusion`` summarise each window.

    ``summaries=False`` returns the daily tables only (``daily``, ``infusions``,
    ``crs_daily``, ``neuro_daily``, ``labs``, ``febrile_neutropenia``), computed exactly as
    with summaries: for live grading of a patient-day (remission web).

    Parameters
    ----------
    obs : DataFrame
        Canonical observations (``normalise_observations``).
    patients, treatments, events : DataFrame, optional
        The study's tables: ages (CAPD, paediatric rules), anticytokine therapy (ASTCT
        fever waiver), deaths, relapses, transplants and boosts.
    crs : str
        CRS system (:data:`CRS_SYSTEMS`).
    neurotoxicity : str
        Neurotoxicity system (:data:`NEURO_SYSTEMS`).
    response : str or None
        Response system (:data:`RESPONSE_SYSTEMS`); None skips response assessment.
    icaht_counting : {"longest", "cumulative"}
        How early-ICAHT neutropenia episodes are counted.
    lln : mapping of str to float, optional
        Site lower limits of normal per lab variable (CTCAE grade 1 needs them).
    landmark_day : int, optional
        Day of the landmark response assessment.
    products : tuple of str
        Cell products named in study.toml (recognises re-infusions in treatments).
    summaries : bool
        Also the per-patient summaries.
    infusions : DataFrame, optional
        The infusion windows, when the caller has them already:
        ``infusion_days(ids, treatments, events, products)`` of the same patients
        (``patients["patient_id"]``), treatments, events and products. They depend on
        those tables only, so a caller grading one patient many times (live grading in
        remission web) computes them once per version of the tables; the result is the
        same as without (tested in tests/test_criteria_infusion.py).
    context : dict, optional
        A dict the caller keeps for one version of ``patients``, ``treatments``,
        ``events`` and ``products`` (empty at first): the values this call derives from
        those tables alone (transfusion days, the first anti-cytokine therapy of the
        ASTCT fever waiver, deaths attributed to CRS or neurotoxicity) are kept in it and
        reused by later calls with the same tables and other observations, as live
        grading of one patient-day does. The rules stay those of the graders; the result
        is the same as without (tests/test_criteria_context.py, on random tables). A
        caller whose tables change starts a new dict.

    Returns
    -------
    dict of str to DataFrame
        The tables listed above.

    Raises
    ------
    ValueError
        For an unknown system or option.

    References
    ----------
    Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-638 (CRS, ICANS). National
    Cancer Institute. CTCAE v5.0, 2017. Rejeski K et al. Blood 2023;142:865-877 (ICAHT).
    Döhner H et al. Blood 2022;140:1345-77 (ELN 2022).

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.vocab.vocabulary import normalise_observations
    >>> obs = pd.DataFrame({"patient_id": "P1", "day": [1, 2], "time": "",
    ...                     "variable": "temperature", "value": [38.3, 37.0], "unit": "°C"})
    >>> out = grade_all(normalise_observations(obs), response=None)
    >>> out["crs_daily"]["grade"].tolist()
    [1, 0]
    """
    obs = _with_transfusions(obs, treatments, context)
    daily = daily_features(obs)
    out: dict[str, pd.DataFrame] = {"daily": daily}
    if infusions is None:
        ids = (daily["patient_id"].astype(str).unique() if patients is None
               else patients["patient_id"].astype(str))
        infusions = infusion_days(ids, treatments, events, products)
    out["infusions"] = infusions
    tox_obs, tox_daily, excluded, notes = _without_attributed(obs, daily)
    out["excluded_observations"] = excluded
    out["crs_daily"] = grade_crs(tox_daily, crs, treatments, events, infusions=infusions,
                                 obs=tox_obs, context=context)
    out["crs_daily"].attrs["excluded"] = (list(out["crs_daily"].attrs.get("excluded", []))
                                          + notes["crs"])
    out["neuro_daily"] = grade_neurotoxicity(tox_daily, neurotoxicity, patients, events,
                                             infusions=infusions, context=context)
    out["neuro_daily"].attrs["excluded"] = (list(out["neuro_daily"].attrs.get("excluded", []))
                                            + notes["neuro"])
    if not summaries:
        out["labs"] = grade_labs(daily, lln=lln)
        out["febrile_neutropenia"] = grade_febrile_neutropenia(daily)
        return out
    out["crs"] = summarise_crs(out["crs_daily"])
    out["crs_by_infusion"] = summarise_by_infusion(out["crs_daily"], "crs")
    out["neuro"] = summarise_neurotoxicity(out["neuro_daily"], neurotoxicity)
    out["neuro_by_infusion"] = summarise_by_infusion(
        out["neuro_daily"], "icans" if neurotoxicity == "icans_astct2019" else "cres")
    out["labs"] = grade_labs(daily, lln=lln)
    out["febrile_neutropenia"] = grade_febrile_neutropenia(daily)
    window = late_window(events, treatments, infusions=infusions)
    ic = grade_icaht(daily, counting=icaht_counting,
                     window_end=window.set_index("patient_id")["end_day"])
    w = window.set_index("patient_id")
    key = ic["patient_id"].astype(str)
    ic["late_window_end_day"] = key.map(w["end_day"]).fillna(100).astype("Int64").to_numpy()
    ic["late_window_closed_by"] = key.map(w["closed_by"]).fillna("day 100").to_numpy()
    out["icaht"] = ic
    out["engraftment"] = engraftment(daily)
    if response is not None:
        ids = None if patients is None else list(patients["patient_id"])
        out["response_assessments"] = assess_response(daily, response)
        out["response"] = summarise_response(out["response_assessments"], daily, landmark_day,
                                             patients=ids, system=response)
    return out


def _without_attributed(obs: pd.DataFrame, daily: pd.DataFrame):
    """(obs, daily, excluded rows, notes) for CRS/ICANS grading: observations the site
    attributed to another cause are left out, with the reason shown (notes per syndrome).
    Other graders (febrile neutropenia, labs) still see them: a fever from an infection
    is still a fever."""
    empty = {"crs": [], "neuro": []}
    cols = ["patient_id", "day", "time", "variable", "value", "category", "attributed_to"]
    if "attributed_to" not in obs.columns or not pd.notna(obs["attributed_to"].to_numpy()).any():
        return obs, daily, empty_frame(cols), empty
    var = obs["variable"].astype(str)
    all_vars = ATTRIBUTABLE["crs"] + ATTRIBUTABLE["neuro"]
    drop = obs["attributed_to"].notna() & var.isin(all_vars)
    excluded = obs.loc[drop, [c for c in cols if c in obs.columns]].reset_index(drop=True)
    notes = {}
    for what, vs in ATTRIBUTABLE.items():
        ex = excluded[excluded["variable"].astype(str).isin(vs)]
        if ex.empty:
            notes[what] = []
            continue
        shown = "; ".join(
            f"{r.patient_id} day {r.day} {r.variable} "
            f"{r.category if isinstance(r.category, str) else f'{r.value:g}'}"
            f" ({r.attributed_to})" for r in ex.head(20).itertuples())
        more = f"; and {len(ex) - 20} more" if len(ex) > 20 else ""
        notes[what] = [f"{len(ex)} observation(s) attributed by the site to another cause "
                       f"were not used for grading (ASTCT 2019: not attributable to any "
                       f"other cause): {shown}{more}"]
    kept = obs.loc[~drop.to_numpy()].reset_index(drop=True)
    return kept, daily_features(kept), excluded, notes


#: Transfusions recorded in treatments.csv -> the observation variable they set.
TRANSFUSIONS = {"red cell transfusion": "rbc_transfusion",
                "platelet transfusion": "platelet_transfusion"}


def _with_transfusions(obs: pd.DataFrame, treatments: pd.DataFrame | None,
                       context: dict | None = None) -> pd.DataFrame:
    """``obs`` plus a ``yes`` row of ``rbc_transfusion``/``platelet_transfusion`` for every
    day from start_day to end_day of a transfusion recorded in treatments.csv (agent read
    through the drug vocabulary: "PRBC", "platelet concentrate", ...). The graders that use
    transfusions (platelet engraftment without transfusion for 7 days; IWG 2003 RBC
    transfusion independence) then see them whichever table holds them."""
    if treatments is None or treatments.empty or "agent" not in treatments.columns:
        return obs
    rows = from_context(context, ("transfusion_rows",), lambda: _transfusion_rows(treatments))
    if rows is None:
        return obs
    both = pd.concat([obs.astype({c: object for c in ("patient_id", "variable", "category",
                                                      "unit") if c in obs.columns}),
                      rows], ignore_index=True)
    return both.astype({c: "category" for c in ("patient_id", "variable", "category", "unit")})


def _transfusion_rows(treatments: pd.DataFrame) -> pd.DataFrame | None:
    """The ``yes`` observation rows of the transfusions in ``treatments`` (None without)."""
    from remission.vocab.drugs import canonical_agents

    var = canonical_agents(treatments["agent"]).map(TRANSFUSIONS)
    tx = treatments[var.notna().to_numpy()]
    if tx.empty:
        return None
    start = pd.to_numeric(tx["start_day"]).astype(np.int64).to_numpy()
    end = (pd.to_numeric(tx["end_day"], errors="coerce").fillna(pd.Series(start, index=tx.index))
           .astype(np.int64).to_numpy() if "end_day" in tx.columns else start)
    n = np.maximum(end - start + 1, 1)
    return pd.DataFrame({
        "patient_id": np.repeat(tx["patient_id"].astype(str).to_numpy(), n),
        "day": np.concatenate([np.arange(a, a + k) for a, k in zip(start, n, strict=True)]),
        "time": None,
        "variable": np.repeat(var[var.notna()].to_numpy(), n),
        "value": np.nan, "category": "yes", "unit": ""})
