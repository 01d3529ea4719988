"""Run a virtual trial and write it as a study folder (docs/study-format.md).

Patients are simulated in chunks of consecutive indices per arm; each patient's random
numbers come from its own ``SeedSequence`` (see :mod:`.population`), and every
operation of the solver is elementwise across patients, so the result is identical
whatever the chunking or the number of Dask workers (tested byte for byte).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analyses.raw.systems import CRS_VARIABLES, NEURO_VARIABLES, days_assessed, not_evaluable
from ..derive.criteria.response import baseline_marrow_blasts, marrow_partial_response
from ..errors import InputError, ProblemLog
from ..io.atomic import swapped_dir
from ..io.cells import csv_bytes
from ..study.config import Cohorts, Level, StudyConfig
from ..study.write import study_toml
from .bedside import (
    ObservationTable,
    bedside_rows,
    crs_icans_severity,
    lab_rows,
    marrow_rows,
    noise,
    significant_text,
    transfusion_rows,
)
from .design import Design, load_design
from .outcomes import death_day
from .params import typical
from .population import build_patients
from .solver import simulate

#: drug concentrations are written only for patients whose arm gives the drug, and only
#: at or above a typical assay LLOQ (venetoclax LC-MS/MS ~1 ng/mL; blinatumomab 50 pg/mL)
DRUG = {"venetoclax_mg_l": ("venetoclax_conc", "mg/L", 1e-3),
        "blinatumomab_pg_ml": ("blinatumomab_conc", "pg/mL", 50.0)}
#: model-only variables (not in the clinical vocabulary) -> sim_observations.csv
MODEL_ONLY = {
    "antigen_density_rel": "relative to baseline",
    "antigen_positive_pct": "%",
    "marrow_blasts_pct": "%",
}
ANTIGEN_COLUMN = {"CLL1": "cll1_positivity_pct", "CD123": "cd123_positivity_pct",
                  "CD19": "cd19_positivity_pct"}
#: site reference values written to study.toml [labs] (canonical units) so that CTCAE
#: grade 1 is derivable; typical adult lower limits of normal
LLN = {"anc": 1.8, "platelets": 150.0, "hemoglobin": 12.0, "lymphocytes": 1.0}
#: criteria systems of the simulated study: the simulator derives its recorded grades and
#: responses with these, and study.toml names them so the report uses the same
CRS_SYSTEM, NEURO_SYSTEM = "astct2019", "icans_astct2019"
DEFAULT_CHUNK = 5000
#: On a Dask cluster the patients are split into at least this many chunks per worker, so
#: every worker has work and the count of simulated patients advances several times per
#: worker rather than once per 5,000 patients ...
CHUNKS_PER_WORKER = 4
#: ... but no chunk is made smaller than this: each chunk is one vectorised solve with a
#: fixed cost, so the time per patient rises as chunks shrink (the reason chunks exist).
MIN_DASK_CHUNK = 1000


def response_system(disease: str) -> str:
    """ELN 2022 for AML/MDS/MPAL, NCCN ALL for B-ALL (as the report's default).

    Parameters
    ----------
    disease : str
        The design's ``trial.disease`` (``"AML"``, ``"MDS"``, ``"MPAL"``, ``"B-ALL"``;
        ``"T-ALL"`` is read as ALL too).

    Returns
    -------
    str
        ``"eln2022"`` or ``"nccn_all"`` (codes of :mod:`remission.derive.criteria`).

    References
    ----------
    Döhner H et al. Diagnosis and management of AML in adults: 2022 recommendations from
    an international expert panel on behalf of the ELN. Blood 2022;140:1345-77; NCCN
    Clinical Practice Guidelines in Oncology: Acute Lymphoblastic Leukemia (response
    criteria).

    Examples
    --------
    >>> response_system("AML"), response_system("MDS"), response_system("B-ALL")
    ('eln2022', 'eln2022', 'nccn_all')
    """
    return "nccn_all" if disease in ("B-ALL", "T-ALL") else "eln2022"


def response_lists(system: str) -> dict[str, list[str]]:
    """study.toml [response] lists for a response system's categories.

    Parameters
    ----------
    system : str
        A response system code (``"eln2022"``, ``"nccn_all"``).

    Returns
    -------
    dict of str to list of str
        ``responders`` (every category but NR and NE, best first), ``complete`` (the CR
        family, without PR and MLFS) and ``mrd_negative`` (the ``_MRD-`` categories).

    Raises
    ------
    KeyError
        When ``system`` is not a response system.

    Examples
    --------
    >>> lists = response_lists("eln2022")
    >>> lists["complete"]
    ['CR_MRD-', 'CR', 'CRh_MRD-', 'CRh', 'CRi_MRD-', 'CRi']
    >>> lists["responders"][-2:], lists["mrd_negative"]
    (['MLFS', 'PR'], ['CR_MRD-', 'CRh_MRD-', 'CRi_MRD-'])
    """
    from remission.derive.criteria.response import RANKS

    cats = [c for c in RANKS[system] if c not in ("NR", "NE")]
    complete = [c for c in cats if not c.startswith(("PR", "MLFS"))]
    return {"responders": cats, "complete": complete,
            "mrd_negative": [c for c in cats if c.endswith("_MRD-")]}


@dataclass
class TrialResult:
    """Tables of one simulated trial (study-format columns)."""

    design: Design
    seed: int
    patients: pd.DataFrame
    events: pd.DataFrame
    adverse_events: pd.DataFrame
    observations: pd.DataFrame
    model_observations: pd.DataFrame

    def treatments(self) -> pd.DataFrame:
        """The trial's hypomethylating-agent doses as treatments.csv rows
        (:func:`hma_treatments`; empty when no arm gives an HMA)."""
        return hma_treatments(self.design, self.patients)


#: routes written for the HMA doses (VIALE-A gave azacitidine SC or IV; decitabine IV)
HMA_ROUTE = {"azacitidine": "SC", "decitabine": "IV"}


def hma_treatments(design: Design, patients: pd.DataFrame) -> pd.DataFrame:
    """One treatments.csv row per hypomethylating-agent dose each patient received.

    A dose on study day ``d`` of the patient's arm (:func:`remission.sim.design.hma_dose_days`)
    is recorded when the patient is alive that day (``d`` before ``death_day``), within
    follow-up (``d <= last_contact_day``) and the schedule; the dose is the arm's mg/m^2
    times the patient's body-surface area (mg), as a real record would hold.

    Parameters
    ----------
    design : Design
        The validated design.
    patients : pandas.DataFrame
        The simulated patients (``patient_id``, ``arm``, ``bsa_m2``, ``death_day``,
        ``last_contact_day``).

    Returns
    -------
    pandas.DataFrame
        ``patient_id, agent, start_day, end_day, dose, dose_unit, route`` (start = end =
        the dose day), in patient then day order; no rows when no arm gives an HMA.

    Examples
    --------
    >>> import tomllib
    >>> from remission.sim.design import parse_design
    >>> d = parse_design(tomllib.loads('''
    ... [trial]
    ... name = "t"
    ... disease = "AML"
    ... target_antigen = "CLL1"
    ... follow_up_days = 40
    ... assessment_days = [28]
    ... response_day = 28
    ... [[arm]]
    ... name = "aza"
    ... n = 1
    ...   [[arm.component]]
    ...   type = "azacitidine"
    ...   start_day = 1
    ...   cycles = 2
    ... '''))
    >>> pts = pd.DataFrame({"patient_id": ["aza-1"], "arm": ["aza"], "bsa_m2": [2.0],
    ...                     "death_day": [33.0], "last_contact_day": [33.0]})
    >>> tx = hma_treatments(d, pts)
    >>> tx["start_day"].tolist(), float(tx["dose"].iloc[0]), tx["route"].iloc[0]
    ([1, 2, 3, 4, 5, 6, 7, 29, 30, 31, 32], 150.0, 'SC')
    """
    from .design import hma_dose_days
    from .pk import HMA_LABEL

    cols = ["patient_id", "agent", "start_day", "end_day", "dose", "dose_unit", "route"]
    parts = []
    first = design.arms[0].schedule.first_day if design.arms else 0
    for arm in design.arms:
        pts = patients[patients["arm"] == arm.name]
        for c in arm.components:
            if c["type"] not in HMA_LABEL or pts.empty:
                continue
            days = np.array([d for d in hma_dose_days(c) if first <= d <= design.follow_up])
            if not len(days):
                continue
            death = pts["death_day"].to_numpy(dtype=float)
            last = pts["last_contact_day"].to_numpy(dtype=float)
            given = (days[None, :] <= last[:, None]) & ~(days[None, :] >= death[:, None])
            i, j = np.nonzero(given)
            mg = np.round(c["dose_mg_m2"] * pts["bsa_m2"].to_numpy(dtype=float)[i], 1)
            parts.append(pd.DataFrame({
                "patient_id": pts["patient_id"].to_numpy()[i], "agent": c["type"],
                "start_day": days[j], "end_day": days[j], "dose": mg, "dose_unit": "mg",
                "route": HMA_ROUTE[c["type"]]}))
    if not parts:
        return pd.DataFrame(columns=cols)
    tx = pd.concat(parts, ignore_index=True)
    order = {pid: k for k, pid in enumerate(patients["patient_id"])}
    return tx.assign(_p=tx["patient_id"].map(order)) \
        .sort_values(["_p", "start_day", "agent"], kind="stable") \
        .drop(columns="_p").reset_index(drop=True)


Segment = tuple[int, int, int]  # (arm index, first patient index, stop index)


def _first_day_of_max(grades: pd.DataFrame, col: str, ids: np.ndarray) -> np.ndarray:
    return grades.set_index("patient_id")[col].reindex(ids).to_numpy()


def landmark_marrow_pr(daily: pd.DataFrame, assessments: pd.DataFrame, landmark_day: int,
                       ids: np.ndarray) -> pd.arrays.BooleanArray:
    """Marrow partial response at the landmark (no count criteria), per patient.

    A calibration summary of the simulated marrow, not a response category: the
    recorded marrow blasts of the landmark assessment (the last one on or before
    ``landmark_day``, as the landmark response) are 5-25 % and at most half the
    pre-treatment value (the last marrow on day <= 0), the marrow criterion of ELN 2022 PR
    (Döhner H et al., Blood 2022;140:1345) without its count criteria
    (:func:`remission.derive.criteria.response.marrow_partial_response`, the engine's own
    rule). It is the operational PR of seed 002 (Zhang M et al., Front Immunol
    2025;15:1491341: 2 PR at day 14 "according to NCCN guidelines" amid grade-4
    neutropenia in 11 of 12), which the ELN engine cannot call during CAR-T aplasia.

    Parameters
    ----------
    daily : pandas.DataFrame
        The engines' per patient-day table (``patient_id``, ``day``, ``marrow_blasts``).
    assessments : pandas.DataFrame
        The engines' response assessments (``patient_id``, ``day``, ``marrow_blasts``).
    landmark_day : int
        The design's ``response_day``.
    ids : numpy.ndarray
        Patient IDs, the order of the result.

    Returns
    -------
    pandas.arrays.BooleanArray
        True / False; NA without a landmark marrow (dead or not assessed by then) or
        without a pre-treatment marrow.

    Examples
    --------
    Baseline 40 %; day 14 marrow 20 % (half: marrow PR), 21 % (not), none (died):

    >>> daily = pd.DataFrame({"patient_id": ["a", "a", "b", "b", "c"],
    ...                       "day": [-5, 14, -5, 14, -5],
    ...                       "marrow_blasts": [40.0, 20.0, 40.0, 21.0, 40.0]})
    >>> ra = daily[daily["day"] > 0]
    >>> landmark_marrow_pr(daily, ra, 14, np.array(["a", "b", "c"])).tolist()
    [True, False, <NA>]
    """
    base = baseline_marrow_blasts(daily)
    lm = (assessments.loc[(assessments["day"] <= landmark_day)
                          & assessments["marrow_blasts"].notna()]
          .sort_values(["patient_id", "day"]).groupby("patient_id")["marrow_blasts"].last())
    bm = lm.reindex(ids).to_numpy(dtype=float)
    b0 = base.reindex(ids).to_numpy(dtype=float)
    pr = marrow_partial_response(bm, b0)
    return pd.array(np.where(np.isnan(bm) | np.isnan(b0), None, pr), dtype="boolean")


def derive_recorded(obs: pd.DataFrame, patients: pd.DataFrame, events: pd.DataFrame,
                    disease: str, landmark_day: int) -> dict[str, pd.DataFrame]:
    """Grades and responses of the simulated patients, derived from their simulated
    observations by the real criteria engines (the same call the report makes).

    Returns :func:`remission.derive.criteria.grade_all`'s tables.

    Systems: ASTCT 2019 CRS and ICANS (:data:`CRS_SYSTEM`, :data:`NEURO_SYSTEM`), the
    disease's response system (:func:`response_system`), CTCAE v5.0 laboratory grades
    against the lower limits of normal :data:`LLN`.

    Parameters
    ----------
    obs : pandas.DataFrame
        Long observations (``patient_id``, ``day``, ``variable``, ``value``, ``unit``).
    patients : pandas.DataFrame
        One row per patient with ``patient_id`` and ``weight_kg`` (for per-kg doses).
    events : pandas.DataFrame
        The events table (deaths, relapses ...), possibly empty.
    disease : str
        The trial's disease.
    landmark_day : int
        Day of the response landmark (the design's ``response_day``).

    Returns
    -------
    dict of str to pandas.DataFrame
        :func:`remission.derive.criteria.grade_all`'s tables (``crs``, ``neuro``,
        ``labs``, ``response`` ...).

    References
    ----------
    Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT 2019).

    Examples
    --------
    Fever on day 1 (grade 1), fever with hypotension needing no vasopressor on day 2
    (grade 2):

    >>> obs = pd.DataFrame({"patient_id": "P1", "day": [1, 2, 2],
    ...                     "variable": ["temperature", "temperature", "hypotension"],
    ...                     "value": ["38.6", "38.9", "yes"], "unit": ["°C", "°C", "category"]})
    >>> pts = pd.DataFrame({"patient_id": ["P1"], "weight_kg": [70.0]})
    >>> events = pd.DataFrame(columns=["patient_id", "day", "event"])
    >>> crs = derive_recorded(obs, pts, events, "AML", 28)["crs"].iloc[0]
    >>> int(crs["crs_max_grade"]), int(crs["crs_onset_day"]), crs["system"]
    (2, 1, 'astct2019')
    """
    from remission.derive.criteria import grade_all
    from remission.vocab.vocabulary import normalise_observations

    weights = patients.set_index("patient_id")["weight_kg"]
    canon = normalise_observations(obs, weights)
    return grade_all(canon, patients=patients, events=events, crs=CRS_SYSTEM,
                     neurotoxicity=NEURO_SYSTEM, response=response_system(disease),
                     landmark_day=landmark_day, lln=LLN)


def simulate_chunk(design: Design, segments: Sequence[Segment], seed: int,
                   observations: bool = True) -> dict[str, pd.DataFrame]:
    """Simulate the patients of ``segments`` in one state array; study-format tables.

    ``observations=False`` still simulates and grades every observation (the recorded
    grades come from them) but returns them empty, for large runs.

    Parameters
    ----------
    design : Design
        The validated design.
    segments : sequence of (int, int, int)
        ``(arm index, first patient index, stop index)`` per arm slice
        (:func:`plan_chunks`).
    seed : int
        The trial's seed.
    observations : bool, default True
        Return the observation tables (False: empty, for large runs).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``patients`` (one row per patient: covariates, recorded grades and responses
        derived by the criteria engines, death), ``events``, ``adverse_events``,
        ``observations`` (clinical vocabulary) and ``model_observations`` (model-only
        variables, ``sim_observations.csv``), in study-folder columns.

    Examples
    --------
    >>> from remission.sim.calibrate import calibration_design
    >>> from remission.sim.design import DESIGN_DIR
    >>> d = calibration_design(load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"),
    ...                        horizon=14)
    >>> t = simulate_chunk(d, [(1, 0, 1)], seed=0, observations=False)
    >>> sorted(t), t["patients"]["arm"].tolist(), t["observations"].empty
    (['adverse_events', 'events', 'model_observations', 'observations', 'patients'], ['B'], True)
    """
    from remission.progress import step

    tr = design.trial
    covs, ps, arm_idx, idx_parts = [], [], [], []
    for ai, start, stop in segments:
        arm = design.arms[ai]
        idx = np.arange(start, stop)
        cov, p = build_patients(seed, idx, {**design.population, **arm.population},
                                typical({**design.parameters, **arm.parameters}),
                                arm.product, design.antigen, design.eligibility,
                                hma=design.gives_hma, donor_derived=arm.donor_derived)
        covs.append(cov)
        ps.append(p)
        arm_idx.append(np.full(len(idx), ai))
        idx_parts.append(idx)
    cov = {k: np.concatenate([c[k] for c in covs]) for k in covs[0]}
    p = {k: np.concatenate([q[k] for q in ps]) for k in ps[0]}
    arm_of_patient = np.concatenate(arm_idx)
    idx = np.concatenate(idx_parts)
    step(f"solving {len(idx)} patients' disease courses")
    out = simulate(p, design.stacked_schedule(), arm_of_patient)
    arm_names = np.array([a.name for a in design.arms], dtype=object)[arm_of_patient]
    products = np.array([a.product for a in design.arms], dtype=object)[arm_of_patient]
    has_cells = products != "none"
    has_blin = np.array([a.schedule.blin_ug_day.any() for a in design.arms])[arm_of_patient]
    has_ven = np.array([a.schedule.ven_mg.any() for a in design.arms])[arm_of_patient]
    days = out["day"].astype(int)
    fu = design.follow_up
    post = (days >= 0) & (days <= fu)
    blasts, anc = out["marrow_blasts_pct"], out["anc"]
    base_blasts = cov["baseline_blasts_pct"]
    n = len(idx)
    pid = np.array([f"{a}-{i + 1:06d}" for a, i in zip(arm_names, idx, strict=True)],
                   dtype=object)

    # CRS / ICANS severities from IL-6 (expressed as bedside signs below)
    icans_ok = (products == "car_t") | has_blin
    crs_sev, icans_sev = crs_icans_severity(out, days, cov, p, icans_ok)

    # death: hazard on the trajectory, or after severity-4 CRS
    dday = death_day(days[post], blasts[post], anc[post], cov["u_death"], p)
    cause = np.where(np.isnan(dday), "", "disease progression or infection")
    sev4 = (crs_sev >= 4) & post[:, None]
    first4 = np.where(sev4.any(axis=0), days[np.argmax(sev4, axis=0)], np.nan)
    crs_death = ~np.isnan(first4) & (cov["u_crs_death"] < p["crs4_death_prob"])
    crs_dday = first4 + 2.0
    use_crs = crs_death & (np.isnan(dday) | (crs_dday < dday))
    dday = np.where(use_crs, crs_dday, dday)
    cause = np.where(use_crs, "cytokine release syndrome", cause)
    dday = np.where(dday > fu, np.nan, dday)
    cause = np.where(np.isnan(dday), "", cause)
    alive = np.isnan(dday)[None, :] | (days[:, None] < dday[None, :])
    alive &= (days <= fu)[:, None]

    # observations (study vocabulary), graded below by the real engines
    tab = ObservationTable()
    day_pos = {int(d): i for i, d in enumerate(days)}
    u = noise(seed, idx, (len(days), 6))
    bed_last = min(int(tr["bedside_days"]), fu)
    step("recording bedside and laboratory observations")
    bedside_rows(tab, pid, days, alive, np.array([day_pos[d] for d in range(0, bed_last + 1)]),
                 crs_sev, icans_sev, cov, u)
    lab_days = np.array([day_pos[d] for d in tr["observation_days"] if d in day_pos])
    lab_rows(tab, pid, days, alive, lab_days, out, p, u, has_cells)
    base_day = min([d for d in tr["observation_days"] if d <= 0], default=0)
    marrow = [day_pos[base_day]] + [day_pos[d] for d in tr["assessment_days"]]
    marrow_rows(tab, pid, days, alive, np.array(marrow), out, p, u, day_pos[base_day])
    transfusion_rows(tab, pid, days, alive, out)
    for k, (name, unit, lloq) in DRUG.items():
        gives = has_ven if k == "venetoclax_mg_l" else has_blin
        for i in lab_days:
            keep = alive[i] & gives & (out[k][i] >= lloq)
            tab.add(pid[keep], days[i], name, significant_text(out[k][i][keep], 3), unit)
    obs = tab.frame()

    last = np.where(np.isnan(dday), fu, dday)
    m = ~np.isnan(dday)
    deaths = pd.DataFrame({"patient_id": pid[m], "day": dday[m].astype(int), "event": "death",
                           "value": cause[m]})
    pts_min = pd.DataFrame({"patient_id": pid, "age": np.round(cov["age"], 1),
                            "weight_kg": np.round(cov["weight_kg"], 1)})
    step("grading the recorded observations (CRS, ICANS, response)")
    g = derive_recorded(obs, pts_min, deaths, str(tr["disease"]), int(tr["response_day"]))
    crs_t = g["crs"].set_index("patient_id").reindex(pid)
    ntx = g["neuro"].set_index("patient_id").reindex(pid)
    resp = g["response"].set_index("patient_id").reindex(pid)
    # a patient without any CRS (ICANS) observation from day 0 -- one who died before the
    # infusion -- is not evaluable: NA, exactly as the report derives it (not_evaluable)
    crs_na = not_evaluable(crs_t["crs_max_grade"], days_assessed(g["daily"], CRS_VARIABLES))
    icans_na = not_evaluable(ntx["icans_max_grade"],
                             days_assessed(g["daily"], NEURO_VARIABLES))
    crs = pd.array(crs_t["crs_max_grade"].fillna(0).astype(int).to_numpy(), dtype="Int64")
    crs[crs_na.to_numpy()] = pd.NA
    icans = pd.array(ntx["icans_max_grade"].fillna(0).astype(int).to_numpy(), dtype="Int64")
    icans[icans_na.to_numpy()] = pd.NA
    best = resp["best_response"].fillna("NE").to_numpy(dtype=object)
    at_day = resp["landmark_response"].fillna("NE").to_numpy(dtype=object)
    rel_day = resp["relapse_day"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)

    labs = g["labs"]
    worst = labs.groupby(["patient_id", "term"], observed=True)["grade"].max()
    neut = worst.xs("Neutrophil count decreased", level="term") \
        if "Neutrophil count decreased" in worst.index.get_level_values("term") else None
    neut_grade = (neut.reindex(pid).fillna(0).astype(int).to_numpy() if neut is not None
                  else np.zeros(n, int))
    car_post = np.where(alive & post[:, None], out["car_cells_per_ul"], -np.inf)
    car_peak_i = np.argmax(car_post, axis=0)
    # the peak as the study's flow schedule sees it: the post-infusion observation day
    # with the highest CAR count (what a paper's "peak day" is measured on)
    samp = np.array([i for i in lab_days if days[i] >= 1], dtype=int)
    if len(samp):
        car_samp = car_post[samp]
        peak_sampled = np.where(has_cells & np.isfinite(car_samp.max(axis=0)),
                                days[samp][np.argmax(car_samp, axis=0)], np.nan)
    else:
        peak_sampled = np.full(n, np.nan)
    anc_post = np.where(alive & post[:, None], anc, np.inf)
    # alive on day 0 or later: a patient who died during the lead-in or bridging has no
    # post-infusion course, so its peaks and nadir are missing (not -inf / inf / day -13)
    reached = (alive & post[:, None]).any(axis=0)

    patients = pd.DataFrame({
        "patient_id": pid,
        "arm": arm_names,
        "age": np.round(cov["age"], 1),
        "sex": cov["sex"],
        "weight_kg": np.round(cov["weight_kg"], 1),
        "height_cm": np.round(cov["height_cm"], 1),
        "bsa_m2": np.round(cov["bsa_m2"], 3),
        "baseline_burden_pct": np.round(base_blasts, 2),
        ANTIGEN_COLUMN[design.antigen]: np.round(cov["antigen_positive_pct"], 2),
        "antigen_density_patient": np.round(cov["antigen_density_rel"], 3),
        "screening_attempts": cov["screening_attempts"],
        **({"hma_sensitivity_patient": np.round(cov["hma_sensitivity"], 3)}
           if design.gives_hma else {}),
        "baseline_anc": np.round(out["anc"][0], 3),
        "best_response": best,
        "response_at_day": at_day,
        "marrow_pr_at_day": landmark_marrow_pr(g["daily"], g["response_assessments"],
                                               int(tr["response_day"]), pid),
        "crs_grade": crs,
        "icans_grade": icans,
        "il6_peak_pg_ml": np.where(reached, np.round(np.where(
            post[:, None] & alive, out["il6_pg_ml"], 0).max(axis=0), 2), np.nan),
        "car_peak_day": np.where(has_cells & reached, days[car_peak_i], np.nan),
        "car_peak_cells_per_ul": np.where(reached, np.round(np.where(
            has_cells, car_post.max(axis=0), 0.0), 3), np.nan),
        "car_peak_day_sampled": peak_sampled,
        "anc_nadir": np.where(reached, np.round(anc_post.min(axis=0), 4), np.nan),
        "neutropenia_grade": neut_grade,
        "relapse_day": rel_day,
        "death_day": dday,
        "death_cause": cause,
        "last_contact_day": last,
    })
    doses = [a.car_dose_per_kg for a in design.arms]
    if any(x is not None for x in doses):
        per_kg = np.array([np.nan if x is None else x for x in doses])[arm_of_patient]
        patients.insert(9, "cart_dose_per_kg", per_kg)

    ra = g["response_assessments"]
    ev = [pd.DataFrame({"patient_id": ra["patient_id"].astype(str).to_numpy(),
                        "day": ra["day"].to_numpy(), "event": "response_assessment",
                        "value": ra["response_mrd"].astype(str).to_numpy()})]
    m = ~np.isnan(rel_day)
    ev.append(pd.DataFrame({"patient_id": pid[m], "day": rel_day[m], "event": "relapse",
                            "value": ""}))
    ev.append(deaths)
    ev.append(pd.DataFrame({"patient_id": pid, "day": last, "event": "last_contact",
                            "value": ""}))
    events = pd.concat(ev, ignore_index=True)
    events["day"] = events["day"].astype(int)

    # adverse events: worst CTCAE grade per lab term (whole window, lead-in included) and
    # CRS, all as derived by the engines
    ae = []
    if len(labs):
        pos = labs[labs["grade"] >= 1]
        first_worst = pos.sort_values(["patient_id", "term", "grade", "day"],
                                      ascending=[True, True, False, True], kind="stable")
        first_worst = first_worst.drop_duplicates(["patient_id", "term"])
        ae.append(pd.DataFrame({"patient_id": first_worst["patient_id"].astype(str).to_numpy(),
                                "term": first_worst["term"].astype(str).to_numpy(),
                                "grade": first_worst["grade"].astype(int).to_numpy(),
                                "onset_day": first_worst["day"].astype(int).to_numpy()}))
    mc = (crs > 0).fillna(False).to_numpy(dtype=bool)
    ae.append(pd.DataFrame({"patient_id": pid[mc], "term": "Cytokine release syndrome",
                            "grade": crs[mc].to_numpy(dtype=int),
                            "onset_day": crs_t["crs_onset_day"].to_numpy()[mc]}))
    adverse = pd.concat(ae, ignore_index=True)
    adverse["onset_day"] = adverse["onset_day"].astype(int)

    model_obs = pd.DataFrame(columns=["patient_id", "day", "variable", "value", "unit"])
    if observations:
        mrows = []
        for i in lab_days:
            a = alive[i]
            for k, unit in MODEL_ONLY.items():
                mrows.append(pd.DataFrame({"patient_id": pid[a], "day": days[i],
                                           "variable": k, "value": out[k][i][a],
                                           "unit": unit}))
        model_obs = pd.concat(mrows, ignore_index=True)
    else:
        obs = obs.iloc[:0]
    return {"patients": patients, "events": events, "adverse_events": adverse,
            "observations": obs, "model_observations": model_obs}


def dask_chunk_size(total: int, n_workers: int, chunk_size: int = DEFAULT_CHUNK) -> int:
    """Patients per chunk on a Dask cluster of ``n_workers``: at most ``chunk_size``, at
    least :data:`MIN_DASK_CHUNK` (or ``chunk_size`` if smaller), and otherwise small enough
    for :data:`CHUNKS_PER_WORKER` chunks per worker. Output does not depend on it.

    Parameters
    ----------
    total : int
        Patients in the trial (all arms).
    n_workers : int
        Dask workers (values below 1 count as 1).
    chunk_size : int
        Largest chunk (``run_trial``'s ``chunk_size``).

    Returns
    -------
    int
        Patients per chunk.

    Examples
    --------
    >>> dask_chunk_size(20_000, 2), dask_chunk_size(100_000, 2), dask_chunk_size(3_000, 2)
    (2500, 5000, 1000)
    >>> dask_chunk_size(36, 2, chunk_size=5)
    5
    """
    want = -(-total // (CHUNKS_PER_WORKER * max(1, n_workers)))
    return max(1, min(chunk_size, max(MIN_DASK_CHUNK, want)))


def plan_chunks(design: Design, n: int | None, chunk_size: int) -> list[list[Segment]]:
    """Split all patients (arm by arm, in index order) into chunks of <= chunk_size.

    Parameters
    ----------
    design : Design
        The design (its arms and sizes).
    n : int or None
        Patients per arm, overriding the arms' sizes.
    chunk_size : int
        Most patients per chunk (>= 1).

    Returns
    -------
    list of list of (int, int, int)
        Chunks; each a list of ``(arm index, first patient index, stop index)``.

    Examples
    --------
    >>> from remission.sim.design import DESIGN_DIR
    >>> d = load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml")  # arms of 4, 3, 5
    >>> plan_chunks(d, None, 5)
    [[(0, 0, 4), (1, 0, 1)], [(1, 1, 3), (2, 0, 3)], [(2, 3, 5)]]
    >>> plan_chunks(d, 2, 10)
    [[(0, 0, 2), (1, 0, 2), (2, 0, 2)]]
    """
    chunks: list[list[Segment]] = [[]]
    room = chunk_size
    for ai, arm in enumerate(design.arms):
        size = n if n is not None else arm.n
        s = 0
        while s < size:
            take = min(room, size - s)
            chunks[-1].append((ai, s, s + take))
            s += take
            room -= take
            if room == 0:
                chunks.append([])
                room = chunk_size
    return [c for c in chunks if c]


def _combine(parts: Sequence[dict[str, pd.DataFrame]], design: Design, seed: int
             ) -> TrialResult:
    def cat(k: str) -> pd.DataFrame:
        return pd.concat([p[k] for p in parts], ignore_index=True)

    patients = cat("patients")
    order = {pid: i for i, pid in enumerate(patients["patient_id"])}

    def tidy(df: pd.DataFrame, within: list[str]) -> pd.DataFrame:
        """Canonical row order (patient, then ``within``), independent of chunking."""
        if df.empty:
            return df.reset_index(drop=True)
        key = df.assign(_p=df["patient_id"].map(order))
        return key.sort_values(["_p", *within], kind="stable").drop(columns="_p") \
            .reset_index(drop=True)

    return TrialResult(design, seed, patients,
                       tidy(cat("events"), ["day"]),
                       tidy(cat("adverse_events"), ["term"]),
                       tidy(cat("observations"), ["day"]),
                       tidy(cat("model_observations"), ["day"]))


def run_trial(design: Design | str | Path, n: int | None = None, seed: int = 0,
              workers: int | None = None, scheduler: str | None = None,
              chunk_size: int = DEFAULT_CHUNK, observations: bool = True) -> TrialResult:
    """Simulate a trial.

    ``n`` overrides every arm's size. ``scheduler`` is a Dask scheduler address; without
    it, ``workers=None`` starts a local Dask cluster (processes, loopback) with one
    worker per core, ``workers=N`` one with N workers, and ``workers=0`` runs in this
    process without Dask. Results are identical in every case.

    Progress (:func:`remission.progress.advance`, ``"patients simulated"``): in this
    process after each chunk of ``chunk_size``; on Dask as each chunk completes, with
    chunks of :func:`dask_chunk_size` patients (several per worker), counts rising by
    each completed chunk's size up to the total. The chunking never changes the output.

    Parameters
    ----------
    design : Design, str or Path
        A design or a design TOML file.
    n : int, optional
        Patients per arm, overriding the design's sizes.
    seed : int, default 0
        Patient ``i`` of every arm draws from stream ``(seed, i)``.
    workers : int or None
        0: in this process; None: a local Dask cluster with one worker per core; N: N
        workers.
    scheduler : str, optional
        Address of a running Dask scheduler.
    chunk_size : int, default 5000
        Most patients per chunk.
    observations : bool, default True
        Keep the observation tables (False for large runs; grades are still derived).

    Returns
    -------
    TrialResult
        The design, seed and tables of :func:`simulate_chunk`, rows in canonical order
        (patient, then day or term).

    Raises
    ------
    remission.errors.InputError
        When ``design`` is a file that is missing or invalid.

    Examples
    --------
    >>> from remission.sim.calibrate import calibration_design
    >>> from remission.sim.design import DESIGN_DIR
    >>> d = calibration_design(load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"),
    ...                        horizon=14)

    One patient per arm, in chunks of one patient (the chunking never changes the
    output; tests/test_sim_trial.py compares chunkings and Dask runs byte for byte):

    >>> res = run_trial(d, n=1, workers=0, chunk_size=1)
    >>> res.patients[["patient_id", "arm"]].values.tolist()
    [['A-000001', 'A'], ['B-000001', 'B'], ['C-000001', 'C']]
    >>> bool(res.observations.groupby("patient_id")["day"].is_monotonic_increasing.all())
    True
    """
    if not isinstance(design, Design):
        design = load_design(design)
    from remission.progress import advance, step

    total = sum(n if n is not None else a.n for a in design.arms)
    if scheduler is None and workers == 0:
        tasks = plan_chunks(design, n, chunk_size)
        parts, done = [], 0
        for c in tasks:
            parts.append(simulate_chunk(design, c, seed, observations))
            done += _chunk_patients(c)
            advance(done, total, "patients simulated")
        step("combining the patients' tables")
        return _combine(parts, design, seed)

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0")
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        tasks = plan_chunks(design, n, dask_chunk_size(total, n_workers, chunk_size))
        step(f"simulating {total:,} patients in {len(tasks)} chunks on {n_workers} Dask "
             f"worker{'s' if n_workers != 1 else ''}")
        dfut = client.scatter(design, broadcast=True)
        futs = [client.submit(simulate_chunk, dfut, c, seed, observations, pure=False)
                for c in tasks]
        size_of = {f.key: _chunk_patients(c) for f, c in zip(futs, tasks, strict=True)}
        done = 0
        advance(0, total, "patients simulated")
        for f in as_completed(futs):  # as each chunk finishes, whatever the order
            done += size_of[f.key]
            advance(done, total, "patients simulated")
        parts = client.gather(futs)  # in submission order: bytes independent of timing
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _combine(parts, design, seed)


def _chunk_patients(chunk: Sequence[Segment]) -> int:
    return sum(stop - start for _, start, stop in chunk)


#: tables of a streamed (Parquet) trial, in the order written; the last two only with
#: observations
STREAM_TABLES = ("patients", "events", "adverse_events", "observations", "model_observations")
#: patients per streamed chunk: bounds each worker's memory (the chunk's trajectories,
#: observations and grading tables), whatever the number of patients
STREAM_CHUNK = 2000


def _status_mb(field: str) -> float:
    """A memory line of this process's ``/proc/self/status`` in MB, or NaN where
    unavailable (not Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB, or NaN where unavailable."""
    return _status_mb("VmHWM")


def _rss_mb() -> float:
    """This process's current resident memory (VmRSS) in MB, or NaN where unavailable."""
    return _status_mb("VmRSS")


def _process_memory() -> dict[str, float]:
    """This process's id, peak and current resident memory (MB); run on the Dask
    scheduler and workers (``Client.run_on_scheduler`` / ``Client.run``)."""
    return {"pid": os.getpid(), "peak_mb": _peak_rss_mb(), "rss_mb": _rss_mb()}


def write_chunk(design: Design, segments: Sequence[Segment], seed: int, observations: bool,
                folder: str, index: int) -> dict[str, Any]:
    """Simulate one chunk and write its tables as Parquet parts ``<table>/part-NNNNN``.

    Runs where the chunk is simulated (a Dask worker): only the row counts and this
    process's peak memory go back to the caller, so the caller's memory does not grow
    with the number of patients. Rows are in the canonical order of :func:`run_trial`
    (patient, then day / term), so reading the parts in index order gives the same
    tables as an in-memory run.

    Parameters
    ----------
    design : Design
        The design.
    segments : sequence of (int, int, int)
        The chunk (:func:`plan_chunks`).
    seed : int
        The trial's seed.
    observations : bool
        Write the observation tables too.
    folder : str
        The dataset folder; parts go to ``folder/<table>/part-<index>.parquet`` (zstd).
    index : int
        The chunk's number (5 digits in the file name).

    Returns
    -------
    dict
        ``index``, ``patients`` (in the chunk), ``rows`` (table -> rows written; an empty
        table writes no part), ``peak_rss_mb`` (this process's peak memory, NaN where
        unknown) and ``pid``.

    Examples
    --------
    >>> from remission.sim.calibrate import calibration_design
    >>> from remission.sim.design import DESIGN_DIR
    >>> d = calibration_design(load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"),
    ...                        horizon=14)
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> info = write_chunk(d, [(0, 0, 1)], 0, False, folder, 3)
    >>> info["patients"], info["rows"]["patients"], os.listdir(os.path.join(folder, "patients"))
    (1, 1, ['part-00003.parquet'])
    """
    res = _combine([simulate_chunk(design, segments, seed, observations)], design, seed)
    rows: dict[str, int] = {}
    for name in STREAM_TABLES:
        if name in ("observations", "model_observations") and not observations:
            continue
        df = getattr(res, name)
        rows[name] = len(df)
        if len(df):  # an empty part would carry no column types
            part = Path(folder) / name / f"part-{index:05d}.parquet"
            part.parent.mkdir(parents=True, exist_ok=True)
            recorded(df).to_parquet(part, engine="pyarrow", index=False, compression="zstd")
    tx = res.treatments()  # HMA doses of this chunk's patients (none: no table, as in CSV)
    if len(tx):
        rows["treatments"] = len(tx)
        part = Path(folder) / "treatments" / f"part-{index:05d}.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        recorded(tx).to_parquet(part, engine="pyarrow", index=False, compression="zstd")
    return {"index": index, "patients": _chunk_patients(segments), "rows": rows,
            "peak_rss_mb": _peak_rss_mb(), "pid": os.getpid()}


@dataclass
class StreamResult:
    """What :func:`stream_trial` wrote: the folder, rows per table, memory per process."""

    folder: Path
    patients: int
    rows: dict[str, int]
    chunks: int
    #: peak resident memory (MB) of every process that simulated chunks, by process id,
    #: and of this (the calling) process
    worker_peak_mb: dict[int, float]
    main_peak_mb: float
    #: this process's *current* resident memory (MB) once 10 % of the chunks had come back
    #: (``"10%"``) and once all had (``"100%"``): a main process that kept anything per
    #: patient would grow between the two (its peak, set early by imports and the cluster,
    #: would not show it)
    main_rss_mb: dict[str, float] = field(default_factory=dict)
    #: peak resident memory (MB) of the Dask scheduler and its process id (NaN / None
    #: without Dask; a LocalCluster's scheduler runs in this process, so its pid is ours)
    scheduler_peak_mb: float = float("nan")
    scheduler_pid: int | None = None
    #: this (the calling) process's id
    main_pid: int = field(default_factory=os.getpid)


def _check_request(log: ProblemLog, n: int | None, workers: int | None, out: Path | str,
                   force: bool) -> None:
    """The checks every simulate request shares: patients per arm, Dask workers and the
    output folder (refused when it holds files, unless ``force``); problems go to ``log``."""
    if n is not None and n < 1:
        log.add("--n", "must be a positive number of patients per arm", value=n)
    if workers is not None and workers < 0:
        log.add("--workers", "must be 0 (no Dask) or a positive number", value=workers)
    try:
        check_out_dir(Path(out), force)
    except InputError as exc:
        log.extend(exc.problems)


def stream_trial(design: Design | str | Path, out_dir: str | Path, n: int | None = None,
                 seed: int = 0, workers: int | None = None, scheduler: str | None = None,
                 chunk_size: int = STREAM_CHUNK, observations: bool = False,
                 force: bool = False) -> StreamResult:
    """Simulate a large trial straight to disk as Parquet datasets, memory bounded.

    Each chunk of ``chunk_size`` patients is simulated and written by the process that
    simulates it (a Dask worker, or this process with ``workers=0``) as
    ``<out_dir>/<table>/part-NNNNN.parquet`` (tables :data:`STREAM_TABLES`;
    observations only with ``observations``; floats as the CSV route records them,
    :func:`recorded`), beside the same ``study.toml`` as :func:`write_study`, so the folder
    is a study folder that :func:`remission.study.load_study` (``remission validate``,
    ``remission report``) reads as it reads the CSV one; ``manifest.json`` lists the design,
    seed, row counts and parts. Only counts travel back, so this process's memory is
    flat in the number of patients, and a worker holds one chunk at a time. The folder
    is built beside ``out_dir`` and renamed into place when complete (nothing is left
    half-written); a non-empty ``out_dir`` is refused unless ``force``.

    The chunks do not depend on the number of workers, and every chunk is the same
    simulation as in :func:`run_trial`: the concatenated parts equal ``run_trial``'s
    tables row for row, and the files are byte-identical for 1 or many workers.

    Parameters
    ----------
    design : Design or path
        The trial design.
    out_dir : path
        Folder to create.
    n : int, optional
        Patients per arm (default: the design's).
    seed : int
        Random seed.
    workers, scheduler
        As in :func:`run_trial` (``workers=0``: no Dask).
    chunk_size : int
        Patients per chunk (memory per worker grows with it, not with ``n``).
    observations : bool
        Also write the observation tables (large: ~100 rows per patient).
    force : bool
        Replace a non-empty ``out_dir`` as a whole.

    Returns
    -------
    StreamResult

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from remission.sim.design import DESIGN_DIR
    >>> d = DESIGN_DIR / "seed003_blinatumomab_ven.toml"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     r = stream_trial(d, tmp + "/big", n=1, workers=0, chunk_size=1)
    ...     pts = pd.read_parquet(tmp + "/big/patients")
    >>> len(pts), r.patients, r.chunks, list(pts["arm"])
    (2, 2, 2, ['VEN+blin', 'blin'])
    """
    import json

    if not isinstance(design, Design):
        design = load_design(design)
    out = Path(out_dir)
    log = ProblemLog()
    if chunk_size < 1:
        log.add("chunk_size", "must be a positive number of patients", value=chunk_size)
    _check_request(log, n, workers, out, force)
    log.raise_if_any()
    from remission.progress import advance, step

    tasks = plan_chunks(design, n, chunk_size)
    total = sum(_chunk_patients(c) for c in tasks)
    rows = dict.fromkeys(STREAM_TABLES[:5 if observations else 3], 0)
    parts = dict.fromkeys(rows, 0)
    peaks: dict[int, float] = {}
    main_rss: dict[str, float] = {}
    sched: dict[str, Any] = {}
    done = 0
    tenth = -(-len(tasks) // 10)  # chunks back when the "10%" memory is read
    collected: list[int] = []  # chunk numbers only (one int per chunk, never per patient)

    def collect(info: dict[str, Any]) -> None:
        nonlocal done
        for k, v in info["rows"].items():  # "treatments" only when an arm gives an HMA
            rows[k] = rows.get(k, 0) + v
            parts[k] = parts.get(k, 0) + (v > 0)
        peaks[info["pid"]] = max(peaks.get(info["pid"], 0.0), info["peak_rss_mb"])
        done += info["patients"]
        n_back = len(collected) + 1
        collected.append(info["index"])
        if n_back == tenth:
            main_rss["10%"] = _rss_mb()
        if n_back == len(tasks):
            main_rss["100%"] = _rss_mb()
        advance(done, total, "patients simulated")

    with swapped_dir(out) as tmp:
        advance(0, total, "patients simulated")
        if scheduler is None and workers == 0:
            for i, c in enumerate(tasks):
                collect(write_chunk(design, c, seed, observations, str(tmp), i))
        else:
            from dask.distributed import Client, LocalCluster, as_completed

            cluster = None
            if scheduler is None:
                cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                                       threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0")
                client = Client(cluster)
            else:
                client = Client(scheduler)
            try:
                step(f"simulating {total:,} patients in {len(tasks)} chunks on Dask, "
                     "written by the workers")
                dfut = client.scatter(design, broadcast=True)
                futs = [client.submit(write_chunk, dfut, c, seed, observations, str(tmp), i,
                                      pure=False) for i, c in enumerate(tasks)]
                for f in as_completed(futs):
                    collect(f.result())
                    f.release()
                sched.update(client.run_on_scheduler(_process_memory))
                for mem in client.run(_process_memory).values():  # idle workers too
                    peaks[mem["pid"]] = max(peaks.get(mem["pid"], 0.0), mem["peak_mb"])
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        manifest = {
            "format": "remission.sim Parquet trial (one folder of part files per table)",
            "simulated": True,
            "design": Path(design.source).name, "trial": design.trial.get("name", ""),
            "seed": seed, "patients": total, "chunk_size": chunk_size,
            "arms": [a.name for a in design.arms],
            "tables": {k: {"rows": rows[k], "parts": parts[k]} for k in rows},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        (tmp / "study.toml").write_text(_study_toml(design, seed), encoding="utf-8")
    return StreamResult(out, total, rows, len(tasks), peaks, _peak_rss_mb(), main_rss,
                        float(sched.get("peak_mb", float("nan"))), sched.get("pid"))


def study_config(design: Design, seed: int) -> StudyConfig:
    """The study.toml of a virtual trial of ``design`` run with ``seed``, as the study
    package's :class:`~remission.study.config.StudyConfig` (written by
    :func:`remission.study.write.study_toml`, so the folder reads back as it was meant).

    Labelled SIMULATED in the name and reference and marked synthetic; arms are the
    cohorts; the criteria, responder sets, lower limits of normal and CAR-T LLOQ are those
    the simulator grades and responds with.

    Parameters
    ----------
    design : Design
        The trial design.
    seed : int
        The run's seed (named in the reference).

    Returns
    -------
    StudyConfig

    Examples
    --------
    >>> from remission.sim.design import DESIGN_DIR
    >>> cfg = study_config(load_design(DESIGN_DIR / "seed003_blinatumomab_ven.toml"), 1)
    >>> cfg.synthetic, cfg.name.startswith("SIMULATED"), cfg.criteria["response"]
    (True, True, 'nccn_all')
    """
    tr = design.trial
    products = sorted({a.product for a in design.arms} - {"none"})
    comps = sorted({c["type"] for a in design.arms for c in a.components})
    rsys = response_system(str(tr["disease"]))
    lists = response_lists(rsys)
    return StudyConfig(
        name="SIMULATED: " + tr["name"],
        disease=tr["disease"],
        products=tuple(products or comps),
        day0=tr["day0"],
        reference=("SIMULATED (remission.sim in-silico trial, seed " + str(seed) + "); "
                   + tr.get("reference", "")),
        synthetic=True,
        cohorts=Cohorts(label="Arm", column="arm", ordered=False, levels=tuple(
            Level(name=a.name, label=a.name, value=a.name) for a in design.arms)),
        criteria={"response": rsys, "crs": CRS_SYSTEM, "neurotoxicity": NEURO_SYSTEM,
                  "adverse_events": "ctcae_v5", "cytopenia": "ctcae_v5"},
        assessment_day=int(tr["response_day"]),
        responders=tuple(lists["responders"]),
        complete=tuple(lists["complete"]),
        mrd_negative=tuple(lists["mrd_negative"]),
        endpoints={"os": {"landmarks": [90, 180]}, "efs": {}},
        lln=dict(LLN),
        lloq={"car_cells": float(typical(design.parameters)["car_cells_lloq"])},
    )


def _study_toml(design: Design, seed: int) -> str:
    comps = sorted({c["type"] for a in design.arms for c in a.components})
    return study_toml(study_config(design, seed), comments=[
        "SIMULATED virtual trial written by remission.sim -- not patient data.",
        f'design: "{Path(design.source).name}"; seed: {seed}; components: {", ".join(comps)}'])


#: precision of the numbers a simulated study records, in CSV and Parquet alike
RECORDED = "%.6g"


def _csv(df: pd.DataFrame) -> bytes:
    return csv_bytes(df, float_format=RECORDED)  # formula-like text neutralised (OWASP)


def recorded(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every float as a study file records it (:data:`RECORDED`, 6 significant
    digits): the values of the CSV route, so a Parquet study reads as the CSV one does.

    Parameters
    ----------
    df : DataFrame
        A simulated table.

    Returns
    -------
    DataFrame
        A copy; float columns rounded through their recorded text, others unchanged.

    Examples
    --------
    >>> recorded(pd.DataFrame({"x": [1.23456789, float("nan")], "s": ["a", "b"]}))
             x  s
    0  1.23457  a
    1      NaN  b
    """
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = np.char.mod(RECORDED, out[c].to_numpy(dtype=float)).astype(float)
    return out


def check_out_dir(out_dir: str | Path, force: bool = False) -> None:
    """Raise InputError if ``out_dir`` is a file, or a non-empty folder without ``force``.

    A simulated study must never be mixed into, or silently replace, a real one.

    Parameters
    ----------
    out_dir : str or Path
        The output folder asked for.
    force : bool, default False
        Accept a non-empty folder (it will be replaced as a whole).

    Returns
    -------
    None

    Raises
    ------
    remission.errors.InputError
        When ``out_dir`` is an existing file, or a non-empty folder without ``force``.

    Examples
    --------
    >>> import os, tempfile
    >>> out = tempfile.mkdtemp()
    >>> check_out_dir(out)  # empty: accepted
    >>> _ = open(os.path.join(out, "patients.csv"), "w").write("patient_id")
    >>> check_out_dir(out)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    remission.errors.InputError: 1 problem found:
      - ...: --out folder is not empty; refusing to overwrite it; expected ...
    >>> check_out_dir(out, force=True)
    """
    out = Path(out_dir)
    log = ProblemLog()
    if out.exists() and not out.is_dir():
        log.add(str(out), "--out names an existing file, not a folder",
                expected="a new or empty folder")
    elif out.is_dir() and any(out.iterdir()) and not force:
        log.add(str(out), "--out folder is not empty; refusing to overwrite it",
                expected="a new or empty folder, or --force to replace the whole folder")
    log.raise_if_any()


def write_study(res: TrialResult, out_dir: str | Path, force: bool = False) -> Path:
    """Write the study folder as a whole: built in a temporary sibling, then swapped in.

    A non-empty ``out_dir`` is refused unless ``force``; with ``force`` the old folder is
    replaced as a whole (renamed aside, the new one renamed in, the old one removed), so
    real and simulated files are never mixed. On any failure nothing changes.

    Writes ``study.toml`` (through :func:`remission.study.write.study_toml`, flagged
    synthetic), ``patients.csv``, ``events.csv``, ``adverse_events.csv``, when an arm
    gives a hypomethylating agent ``treatments.csv`` (its doses, :func:`hma_treatments`)
    and, when the trial kept them, ``observations.csv`` and ``sim_observations.csv``.

    Parameters
    ----------
    res : TrialResult
        The simulated trial.
    out_dir : str or Path
        The study folder to create (or replace, with ``force``).
    force : bool, default False
        Replace a non-empty folder.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    remission.errors.InputError
        As :func:`check_out_dir`; nothing is written.
    OSError
        When writing fails (the previous folder is put back).

    Examples
    --------
    >>> from remission.sim.calibrate import calibration_design
    >>> from remission.sim.design import DESIGN_DIR
    >>> d = calibration_design(load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"),
    ...                        horizon=14)
    >>> import os, tempfile
    >>> res = run_trial(d, n=1, workers=0, observations=False)
    >>> out = write_study(res, os.path.join(tempfile.mkdtemp(), "sim"))
    >>> sorted(os.listdir(out))
    ['adverse_events.csv', 'events.csv', 'patients.csv', 'study.toml']
    >>> from remission.errors import ProblemLog
    >>> from remission.study.config import parse_config
    >>> parse_config(out / "study.toml", ProblemLog()).synthetic
    True
    """
    out = Path(out_dir)
    check_out_dir(out, force)
    files: dict[str, bytes] = {
        "study.toml": _study_toml(res.design, res.seed).encode("utf-8"),
        "patients.csv": _csv(res.patients),
        "events.csv": _csv(res.events),
        "adverse_events.csv": _csv(res.adverse_events),
    }
    treatments = res.treatments()
    if len(treatments):  # HMA doses only (designs without an HMA write no treatments.csv)
        files["treatments.csv"] = _csv(treatments)
    if len(res.observations):
        files["observations.csv"] = _csv(res.observations)
        files["sim_observations.csv"] = _csv(res.model_observations)
    with swapped_dir(out) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    return out


def cli_simulate(design_path: str | Path, out_dir: str | Path, n: int | None = None,
                 seed: int = 0, workers: int | None = None,
                 scheduler: str | None = None, force: bool = False,
                 observations: bool = True, parquet: bool = False) -> Path:
    """Entry point for ``remission simulate``: validate, run, write; returns the folder.

    The design and the output folder are checked before anything runs; on InputError
    nothing is written. ``observations=False`` omits observations.csv (large runs).
    ``parquet=True`` streams the trial to Parquet datasets instead of a study folder
    (:func:`stream_trial`; for large runs, memory bounded).

    Parameters
    ----------
    design_path : str or Path
        The design TOML file.
    out_dir : str or Path
        The study folder (or Parquet dataset folder) to write.
    n : int, optional
        Patients per arm (>= 1), overriding the design.
    seed : int, default 0
        The trial's seed.
    workers : int or None
        As :func:`run_trial`.
    scheduler : str, optional
        A Dask scheduler address.
    force : bool, default False
        Replace a non-empty ``out_dir``.
    observations : bool, default True
        Write the observation tables.
    parquet : bool, default False
        Stream to Parquet datasets (:func:`stream_trial`).

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    remission.errors.InputError
        Every problem of the design, ``n``, ``workers`` and ``out_dir`` at once, before
        anything runs.

    Examples
    --------
    A missing design and a non-positive ``n`` are reported together:

    >>> import tempfile
    >>> from remission.errors import InputError
    >>> try:
    ...     cli_simulate("no-such-design.toml", tempfile.mkdtemp(), n=0)
    ... except InputError as e:
    ...     print(len(e.problems), e.problems[0].message)
    2 design file not found
    """
    log = ProblemLog()
    try:
        design = load_design(design_path)
    except InputError as exc:
        log.extend(exc.problems)
        design = None
    _check_request(log, n, workers, out_dir, force)
    log.raise_if_any()
    assert design is not None
    if parquet:
        return stream_trial(design, out_dir, n=n, seed=seed, workers=workers,
                            scheduler=scheduler, observations=observations,
                            force=force).folder
    res = run_trial(design, n=n, seed=seed, workers=workers, scheduler=scheduler,
                    observations=observations)
    return write_study(res, out_dir, force=force)


__all__: list[Any] = [
    "TrialResult",
    "check_out_dir",
    "cli_simulate",
    "run_trial",
    "simulate_chunk",
    "stream_trial",
    "study_config",
    "write_study",
]
