"""Grades, responses and cellular kinetics derived from a study's raw observations.

:func:`analyse_raw` is the pipeline's entry point for ``observations.csv``: it converts
the observations to canonical units (:func:`~remission.vocab.vocabulary.
normalise_observations`), runs every grading engine with the systems named in
``[criteria]`` of study.toml (:func:`~remission.derive.criteria.grade_all`), and turns the
derived datasets into Results (per-patient grades, summaries by cohort, the response
derivation table, kinetics) plus figures. Where patients.csv records a grade or response,
the recorded value is compared with the derived one (``audit.recorded_vs_derived``).

The rules themselves live in :mod:`remission.derive.criteria` and :mod:`remission.kinetics`
(sources cited there and in docs/criteria.md); this module only connects them.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from remission.analyses.raw import audit as raw_audit
from remission.analyses.raw import cytopenia, kinetics
from remission.analyses.raw import figures as raw_figures
from remission.analyses.raw.systems import (
    CRS_VARIABLES,
    NEURO_VARIABLES,
    Systems,
    days_assessed,
    not_evaluable,
    resolve_systems,
)
from remission.core.bundle import FigureItem
from remission.derive.criteria import (
    SYSTEMS,
    grade_all,
    grade_neurotoxicity,
    summarise_neurotoxicity,
)
from remission.results import Result
from remission.stats import response as response_stats
from remission.stats import toxicity
from remission.study import Study
from remission.vocab.vocabulary import normalise_observations

__all__ = ["analyse_raw"]


def _per_patient(summary: pd.DataFrame, ids: pd.Index, cohort: pd.Series, days: pd.Series,
                 prefix: str) -> pd.DataFrame:
    """Index every patient, add cohort and days assessed; no assessed day -> NA grade."""
    t = summary.set_index("patient_id").reindex(ids)
    t.insert(0, "cohort", cohort.reindex(ids))
    t["days_assessed"] = days.reindex(ids).fillna(0).astype("Int64")
    none = not_evaluable(t[f"{prefix}_max_grade"], t["days_assessed"])
    for c in [c for c in t.columns if c.startswith(prefix + "_")]:
        t[c] = t[c].astype("Int64").where(~none)
    t["rule"] = t["rule"].astype(object).where(~none, f"no {prefix.upper()} observations")
    t.index = pd.Index(t.index.astype(str), name="patient_id")
    return t.drop(columns=[c for c in ("system_version",) if c in t.columns])


def _grade_result(table: pd.DataFrame, prefix: str, system: str, name: str, title: str,
                  notes: tuple[str, ...]) -> Result:
    missing = int(table[f"{prefix}_max_grade"].isna().sum())
    warnings = list(notes)
    if missing:
        warnings.append(f"{missing} patient(s) without any {prefix.upper()} observation: "
                        "grade not derived (NA)")
    return Result(
        name=name, title=title, table=table,
        method=(f"Daily {prefix.upper()} grade derived from raw observations by "
                f"{SYSTEMS.get(system, system)}; per patient the maximum grade, onset day "
                "(first day graded >= 1), day of the maximum, duration (days graded >= 1), the "
                "domain that decided the maximum (rule) and the days with a "
                f"{prefix.upper()}-relevant observation."),
        rationale="Grades re-derived from bedside data with one explicit system for all patients.",
        warnings=tuple(warnings), references=(SYSTEMS.get(system, system),),
        params={"system": system}, section="safety")


def _summary(adsl: pd.DataFrame, grades: pd.Series, name: str, title: str, system: str,
             ordered: bool) -> Result:
    """Grade distribution by cohort (reuses :func:`remission.stats.toxicity.grade_distribution`)."""
    a = adsl.copy()
    a["_DERIVED"] = a["USUBJID"].astype(str).map(grades).astype("Float64")
    r = toxicity.grade_distribution(a, "_DERIVED", name, title, SYSTEMS.get(system, system),
                                    ordered)
    n_na = int(a["_DERIVED"].isna().sum())
    warn = (f"{n_na} patient(s) without a derived grade are not in the denominators",) \
        if n_na else ()
    return replace(r, warnings=r.warnings + warn,
                   method=r.method + " Grades derived from raw observations.",
                   params={**r.params, "system_code": system})


def _cohort(adsl: pd.DataFrame) -> pd.Series:
    return pd.Series(adsl["COHORT"].astype(str).to_numpy(),
                     index=adsl["USUBJID"].astype(str).to_numpy())


def analyse_raw(study: Study, adsl: pd.DataFrame,
                figures: bool = True) -> tuple[list[Result], list[FigureItem]]:
    """Derived grades, responses, cytopenias, kinetics and the recorded-vs-derived audit.

    Observations are normalised to canonical units, graded day by day with the systems of
    study.toml ``[criteria]`` (:func:`~remission.analyses.raw.systems.resolve_systems`),
    summarised per patient and by cohort, and compared with what patients.csv records.

    Parameters
    ----------
    study : Study
        A loaded study with an ``observations`` table (validated by
        :func:`remission.study.load_study`).
    adsl : DataFrame
        Its ADSL (:func:`remission.derive.adsl.derive_adsl`), for cohorts.
    figures : bool, default True
        Also draw the report figures.

    Returns
    -------
    tuple of (list of Result, list of FigureItem)
        Results named ``derived.*`` (crs, neurotox, cytopenia, response and their
        summaries), ``kinetics.*`` (when CAR or cytokine data exist) and
        ``audit.recorded_vs_derived``; the figures (empty with ``figures=False``).

    References
    ----------
    Lee DW, et al. Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT CRS/ICANS). Döhner
    H, et al. Blood 2022;140:1345-1377 (ELN 2022). Rejeski K, et al. Blood
    2023;142:865-877 (ICAHT).

    Examples
    --------
    Two patients of examples/synthetic-cart-raw. P004's 39.2 °C on day 5 with no
    hypotension or hypoxia is ASTCT grade 1 CRS, the grade its patients.csv records:

    >>> import dataclasses
    >>> from remission.derive.adsl import derive_adsl
    >>> from remission.study import load_study
    >>> st = load_study("examples/synthetic-cart-raw")
    >>> keep = lambda t: t[t["patient_id"].isin(["P003", "P004"])]
    >>> st = dataclasses.replace(st, patients=keep(st.patients),
    ...                          tables={k: keep(v) for k, v in st.tables.items()})
    >>> results, figs = analyse_raw(st, derive_adsl(st), figures=False)
    >>> crs = {r.name: r for r in results}["derived.crs"].table
    >>> crs[["crs_max_grade", "crs_onset_day", "rule"]].values.tolist()
    [[0, <NA>, 'none'], [1, 5, 'fever']]
    >>> {r.name: r for r in results}["audit.recorded_vs_derived"].table.empty, figs
    (True, [])
    """
    cfg = study.config
    systems = resolve_systems(dict(cfg.criteria), cfg.disease)
    pts = study.patients
    weights = pts.set_index("patient_id")["weight_kg"] if "weight_kg" in pts else None
    obs = normalise_observations(study.tables["observations"], weights)
    tx, ev = study.tables.get("treatments"), study.tables.get("events")
    out = grade_all(obs, patients=pts, treatments=tx, events=ev, crs=systems.crs,
                    neurotoxicity=systems.neurotoxicity, response=systems.response,
                    landmark_day=cfg.assessment_day, lln=cfg.lln or None,
                    products=tuple(cfg.products))
    daily = out["daily"]
    ids = pd.Index(pts["patient_id"].astype(str).tolist())
    cohort = _cohort(adsl)
    ordered = bool(cfg.cohorts and cfg.cohorts.ordered)
    results: list[Result] = []

    crs = _per_patient(out["crs"], ids, cohort, days_assessed(daily, CRS_VARIABLES), "crs")
    agent_notes = tuple(f"{w.file} line {w.row}: {w.message}" for w in study.warnings
                        if w.column == "agent")
    results.append(_grade_result(crs, "crs", systems.crs, "derived.crs",
                                 "CRS per patient, derived from raw observations",
                                 tuple(n for n in systems.notes if n.startswith("crs"))
                                 + agent_notes
                                 + tuple(out["crs_daily"].attrs.get("excluded", ()))
                                 + tuple(out["crs_daily"].attrs.get("assumptions", ()))))
    if crs["crs_max_grade"].notna().any():
        results.append(_summary(adsl, crs["crs_max_grade"], "derived.crs_summary",
                                "Derived CRS maximum grade by group", systems.crs, ordered))
    nprefix = "icans" if systems.neurotoxicity == "icans_astct2019" else "cres"
    ntx = _per_patient(out["neuro"], ids, cohort, days_assessed(daily, NEURO_VARIABLES),
                       nprefix)
    results.append(_grade_result(ntx, nprefix, systems.neurotoxicity, "derived.neurotox",
                                 f"{nprefix.upper()} per patient, derived from raw observations",
                                 tuple(n for n in systems.notes
                                       if n.startswith("neurotoxicity"))
                                 + tuple(out["neuro_daily"].attrs.get("excluded", ()))))
    if ntx[f"{nprefix}_max_grade"].notna().any():
        results.append(_summary(adsl, ntx[f"{nprefix}_max_grade"], "derived.neurotox_summary",
                                f"Derived {nprefix.upper()} maximum grade by group",
                                systems.neurotoxicity, ordered))

    results.extend(_by_infusion_results(out, systems, nprefix))

    cyto = cytopenia.cytopenia_table(out, ids, cohort)
    results.append(cytopenia.cytopenia_result(cyto, systems, have_lln=bool(cfg.lln)))
    results.append(cytopenia.cytopenia_summary(cyto, adsl))

    if len(out["response_assessments"]):
        resp = _response_results(out, ids, cohort, adsl, systems)
        results.extend(resp)
        best = resp[1].table
    else:  # no marrow assessment: nothing to derive a response from
        best = pd.DataFrame({"best_response": pd.Series(pd.NA, index=ids, dtype=object)})

    kin_results, kin = kinetics.kinetics_results(obs, daily, crs, best, lloq=cfg.lloq)
    results.extend(kin_results)

    audit = raw_audit.recorded_vs_derived(
        pts, crs=crs, neuro={nprefix: ntx}, best=best, systems=systems,
        other_neuro=lambda system: _per_patient(
            summarise_neurotoxicity(grade_neurotoxicity(daily, system, pts, ev,
                                                        infusions=out["infusions"]),
                                    system), ids, cohort,
            days_assessed(daily, NEURO_VARIABLES),
            "icans" if system == "icans_astct2019" else "cres"))
    if audit is not None:
        results.append(audit)

    figs: list[FigureItem] = []
    if figures:
        figs = raw_figures.figures(out, daily, nprefix, kin)
    return results, figs


def _by_infusion_results(out: dict[str, pd.DataFrame], systems: Systems,
                         nprefix: str) -> list[Result]:
    """CRS and neurotoxicity per infusion window, when some patient had more than one."""
    inf = out["infusions"]
    if not (inf.groupby("patient_id").size() > 1).any():
        return []
    src = inf.assign(patient_id=inf["patient_id"].astype(str)).set_index(
        ["patient_id", "infusion"])["source"]
    res = []
    for key, prefix, system, label in (("crs_by_infusion", "crs", systems.crs, "CRS"),
                                       ("neuro_by_infusion", nprefix, systems.neurotoxicity,
                                        nprefix.upper())):
        t = out[key].copy()
        t["patient_id"] = t["patient_id"].astype(str)
        t["infusion_source"] = src.reindex(pd.MultiIndex.from_frame(
            t[["patient_id", "infusion"]])).to_numpy()
        t.index = pd.Index([f"{p} | {i}" for p, i in zip(t["patient_id"], t["infusion"],
                                                         strict=True)])
        res.append(Result(
            f"derived.{prefix}_by_infusion", f"{label} per infusion window, derived", t,
            (f"Daily {label} grades ({SYSTEMS.get(system, system)}) grouped by infusion "
             "window: each day belongs to the latest infusion on or before it (day 0, "
             "re-infusions and boosts from treatments.csv/events.csv); per window the "
             "maximum grade, onset (study day and days after that infusion) and days graded "
             ">= 1."),
            rationale="Repeated infusions and boosts each can cause CRS/ICANS; a per-patient "
                      "maximum hides which one did.",
            references=(SYSTEMS.get(system, system),), params={"system": system},
            section="safety"))
    return res


def _response_results(out: dict[str, pd.DataFrame], ids: pd.Index, cohort: pd.Series,
                      adsl: pd.DataFrame, systems: Systems) -> list[Result]:
    """Response derivation table, best response per patient and categories by group."""
    label = SYSTEMS.get(systems.response, systems.response)
    notes = tuple(n for n in systems.notes if n.startswith("response"))
    a = out["response_assessments"].copy()
    a.insert(1, "cohort", a["patient_id"].astype(str).map(cohort))
    a.index = pd.Index([f"{p} | {d}" for p, d in zip(a["patient_id"], a["day"], strict=True)])
    cols = [c for c in ("patient_id", "cohort", "day", "marrow_blasts", "peripheral_blasts",
                        "anc", "platelets", "mrd", "mrd_negative", "response", "response_mrd",
                        "rule", "system", "mrd_threshold_pct") if c in a.columns]
    if "mrd_assay" in a.columns and (a["mrd_assay"] != "").any():  # assay recorded
        cols += ["mrd_assay", "mrd_sensitivity_pct"]
    derivation = Result(
        "derived.response", "Response derivation: every marrow assessment", a[cols],
        (f"Each bone-marrow assessment categorised by {label} from marrow blasts, blood counts "
         "(nearest day within the window), circulating blasts, extramedullary disease and MRD; "
         "'response_mrd' is the category with the MRD qualifier; 'rule' names the deciding "
         "criterion."),
        rationale="Response re-derived from raw laboratory data with one explicit system.",
        warnings=notes, references=(label,), params={"system": systems.response},
        section="efficacy")
    best = out["response"].copy()
    best["patient_id"] = best["patient_id"].astype(str)
    best = best.set_index("patient_id").reindex(ids)
    best.insert(0, "cohort", cohort.reindex(ids))
    decided = a.assign(patient_id=a["patient_id"].astype(str)).drop_duplicates(
        ["patient_id", "day"]).set_index(["patient_id", "day"])["rule"]
    at_best = pd.MultiIndex.from_arrays([best.index, best["best_response_day"]])
    best["rule"] = decided.reindex(at_best).to_numpy()
    best["rule"] = best["rule"].where(best["best_response_day"].notna(), "never assessed")
    best.index.name = "patient_id"
    best = best.drop(columns=[c for c in ("system_version",) if c in best.columns])
    best_result = Result(
        "derived.best_response", "Best overall response per patient, derived", best,
        (f"Best overall response = highest-ranked {label} category over all assessments "
         "(ties: earliest); landmark response = last assessment on or before the landmark day; "
         "relapse after a first CR/CRh/CRi (ELN 2022 haematologic relapse). Patients never "
         "assessed are NE."),
        warnings=notes, references=(label,), params={"system": systems.response},
        section="efficacy")
    a2 = adsl.copy()
    a2["BOR"] = a2["USUBJID"].astype(str).map(best["best_response"]).fillna("")
    cats = replace(response_stats.response_categories(a2), name="derived.response_summary",
                   title="Derived best overall response by group",
                   method=f"Patients by derived best overall response ({label}).",
                   params={"system": systems.response})
    return [derivation, best_result, cats]

