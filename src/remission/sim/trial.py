"""Run a virtual trial and write it as a study folder (docs/study-format.md).

Patients are simulated in chunks of consecutive indices per arm; each patient's random
numbers come from its own ``SeedSequence`` (see :mod:`.population`), and every
operation of the solver is elementwise across patients, so the result is identical
whatever the chunking or the number of Dask workers (tested byte for byte).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io.atomic import staged_dir
from ..io.cells import csv_bytes
from .design import Design, load_design
from .outcomes import (
    ALC_GRADES,
    ANC_GRADES,
    RESPONSE_ORDER,
    classify_response,
    crs_grade,
    death_day,
    grade_nadir,
)
from .params import typical
from .population import build_patients
from .solver import simulate

#: simulated variable -> (observations.csv vocabulary name, unit); names and units are
#: those of remission.derive.vocabulary
OBSERVED = {
    "marrow_blasts_pct": ("marrow_blasts", "%"),
    "peripheral_blasts_pct": ("peripheral_blasts", "%"),
    "car_cells_per_ul": ("car_cells", "cells/µL"),
    "il6_pg_ml": ("il6", "pg/mL"),
    "anc": ("anc", "10^9/L"),
    "alc": ("lymphocytes", "10^9/L"),
    "antigen_positive_pct": ("antigen_positive_blasts", "%"),
    "venetoclax_mg_l": ("venetoclax_conc", "mg/L"),
    "blinatumomab_pg_ml": ("blinatumomab_conc", "pg/mL"),
}
#: drug concentrations are written only for patients whose arm gives the drug, and only
#: at or above a typical assay LLOQ (venetoclax LC-MS/MS ~1 ng/mL; blinatumomab 50 pg/mL)
DRUG_LLOQ = {"venetoclax_mg_l": 1e-3, "blinatumomab_pg_ml": 50.0}
#: model-only variables (not in the clinical vocabulary) -> sim_observations.csv
MODEL_ONLY = {
    "antigen_density_rel": "relative to baseline",
}
ANTIGEN_COLUMN = {"CLL1": "cll1_positivity_pct", "CD123": "cd123_positivity_pct",
                  "CD19": "cd19_positivity_pct"}
DEFAULT_CHUNK = 5000


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


Segment = tuple[int, int, int]  # (arm index, first patient index, stop index)


def simulate_chunk(design: Design, segments: Sequence[Segment], seed: int,
                   observations: bool = True) -> dict[str, pd.DataFrame]:
    """Simulate the patients of ``segments`` in one state array; study-format tables."""
    tr = design.trial
    covs, ps, arm_idx, idx_parts = [], [], [], []
    for ai, start, stop in segments:
        arm = design.arms[ai]
        idx = np.arange(start, stop)
        cov, p = build_patients(seed, idx, {**design.population, **arm.population},
                                typical(design.parameters), arm.product, design.antigen)
        covs.append(cov)
        ps.append(p)
        arm_idx.append(np.full(len(idx), ai))
        idx_parts.append(idx)
    cov = {k: np.concatenate([c[k] for c in covs]) for k in covs[0]}
    p = {k: np.concatenate([q[k] for q in ps]) for k in ps[0]}
    arm_of_patient = np.concatenate(arm_idx)
    idx = np.concatenate(idx_parts)
    out = simulate(p, design.stacked_schedule(), arm_of_patient)
    arm_names = np.array([a.name for a in design.arms], dtype=object)[arm_of_patient]
    has_cells = np.array([a.product != "none" for a in design.arms])[arm_of_patient]
    days = out["day"].astype(int)
    fu = design.follow_up
    post = (days >= 0) & (days <= fu)
    dpost = days[post]
    blasts, anc, il6 = out["marrow_blasts_pct"], out["anc"], out["il6_pg_ml"]
    base_blasts = cov["baseline_blasts_pct"]
    n = len(idx)

    # CRS: peak IL-6 within 28 days of day 0
    win = post & (days <= 28)
    il6_peak = il6[win].max(axis=0)
    crs = crs_grade(il6_peak, cov["u_crs"], p)
    above = il6[win] >= 0.5 * il6_peak[None, :]  # onset: IL-6 first at half its peak
    crs_onset = days[win][np.argmax(above, axis=0)]

    # death: hazard on the trajectory, or after grade-4 CRS
    dday = death_day(days[post], blasts[post], anc[post], cov["u_death"], p)
    cause = np.where(np.isnan(dday), "", "disease progression or infection")
    crs_death = (crs >= 4) & (cov["u_crs_death"] < p["crs4_death_prob"])
    crs_dday = crs_onset + 3.0
    use_crs = crs_death & (np.isnan(dday) | (crs_dday < dday))
    dday = np.where(use_crs, crs_dday, dday)
    cause = np.where(use_crs, "cytokine release syndrome", cause)
    crs = np.where(use_crs & (crs_dday <= fu), 5, crs)  # death from CRS = grade 5 (ASTCT)
    dday = np.where(dday > fu, np.nan, dday)
    cause = np.where(np.isnan(dday), "", cause)

    # response at each assessment day (NE if dead before it)
    day_pos = {int(d): i for i, d in enumerate(days)}
    resp = {}
    for ad in tr["assessment_days"]:
        i = day_pos[ad]
        r = classify_response(blasts[i], base_blasts, anc[i], tr)
        resp[ad] = np.where(~np.isnan(dday) & (dday <= ad), "NE", r)
    rank = {c: k for k, c in enumerate(RESPONSE_ORDER)}
    best = np.full(n, "NE", dtype=object)
    for r in resp.values():
        better = np.array([rank[a] < rank[b] for a, b in zip(r, best, strict=True)])
        best = np.where(better, r, best)
    # relapse: first day blasts >= CR threshold after the first CR assessment
    cr_set = {"MRD-CR", "MRD+CR", "CRi", "CR"}
    first_cr = np.full(n, np.nan)
    for ad in tr["assessment_days"]:
        hit = np.isin(resp[ad], list(cr_set)) & np.isnan(first_cr)
        first_cr[hit] = ad
    after = (days[:, None] > first_cr[None, :]) & (blasts >= tr["cr_blast_pct"]) \
        & post[:, None]
    rel_day = np.where(after.any(axis=0), days[np.argmax(after, axis=0)], np.nan)
    rel_day = np.where(~np.isnan(dday) & (rel_day >= dday), np.nan, rel_day)

    anc_nadir = anc[post].min(axis=0)
    neut_grade = grade_nadir(anc_nadir, ANC_GRADES)
    alc_nadir = out["alc"][post].min(axis=0)
    lymph_grade = grade_nadir(alc_nadir, ALC_GRADES)
    car_peak_i = np.argmax(out["car_cells_per_ul"][post], axis=0)

    pid = np.array([f"{a}-{i + 1:06d}" for a, i in zip(arm_names, idx, strict=True)],
                   dtype=object)
    last = np.where(np.isnan(dday), fu, dday)
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
        "baseline_anc": np.round(out["anc"][0], 3),
        "best_response": best,
        "response_at_day": resp[int(tr["response_day"])],
        "crs_grade": crs,
        "il6_peak_pg_ml": np.round(il6_peak, 2),
        "car_peak_day": np.where(has_cells, dpost[car_peak_i], np.nan),
        "car_peak_cells_per_ul": np.round(out["car_cells_per_ul"][post].max(axis=0), 3),
        "anc_nadir": np.round(anc_nadir, 4),
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

    ev = [pd.DataFrame({"patient_id": pid, "day": ad, "event": "response_assessment",
                        "value": resp[ad]}) for ad in tr["assessment_days"]]
    m = ~np.isnan(rel_day)
    ev.append(pd.DataFrame({"patient_id": pid[m], "day": rel_day[m], "event": "relapse",
                            "value": ""}))
    m = ~np.isnan(dday)
    ev.append(pd.DataFrame({"patient_id": pid[m], "day": dday[m], "event": "death",
                            "value": cause[m]}))
    ev.append(pd.DataFrame({"patient_id": pid, "day": last, "event": "last_contact",
                            "value": ""}))
    events = pd.concat(ev, ignore_index=True)
    events = events[~((events["event"] == "response_assessment")
                      & (events["value"] == "NE"))].copy()
    events["day"] = events["day"].astype(int)

    ae = []
    for term, grade, series, grades in (
        ("Neutrophil count decreased", neut_grade, anc, ANC_GRADES),
        ("Lymphocyte count decreased", lymph_grade, out["alc"], ALC_GRADES),
    ):
        thr = np.array([dict((g, t) for t, g in grades).get(g, np.inf) for g in grade])
        below = (series < thr[None, :]) & post[:, None]
        onset = days[np.argmax(below, axis=0)]
        m = grade > 0
        ae.append(pd.DataFrame({"patient_id": pid[m], "term": term, "grade": grade[m],
                                "onset_day": onset[m]}))
    m = crs > 0
    ae.append(pd.DataFrame({"patient_id": pid[m], "term": "Cytokine release syndrome",
                            "grade": crs[m], "onset_day": crs_onset[m]}))
    adverse = pd.concat(ae, ignore_index=True)

    obs = pd.DataFrame(columns=["patient_id", "day", "variable", "value", "unit"])
    model_obs = obs.copy()
    if observations:
        sel = [day_pos[d] for d in tr["observation_days"] if d in day_pos]
        lloq = {k: out[k] >= v for k, v in DRUG_LLOQ.items()}  # (days, patients)
        rows, mrows = [], []
        for i in sel:
            alive = np.isnan(dday) | (dday > days[i])
            for k, (name, unit) in OBSERVED.items():
                keep = alive & np.isfinite(out[k][i])
                if k in lloq:
                    keep &= lloq[k][i]
                rows.append(pd.DataFrame({"patient_id": pid[keep], "day": days[i],
                                          "variable": name, "value": out[k][i][keep],
                                          "unit": unit}))
            for k, unit in MODEL_ONLY.items():
                mrows.append(pd.DataFrame({"patient_id": pid[alive], "day": days[i],
                                           "variable": k, "value": out[k][i][alive],
                                           "unit": unit}))
        obs = pd.concat(rows, ignore_index=True)
        model_obs = pd.concat(mrows, ignore_index=True)
    return {"patients": patients, "events": events, "adverse_events": adverse,
            "observations": obs, "model_observations": model_obs}


def plan_chunks(design: Design, n: int | None, chunk_size: int) -> list[list[Segment]]:
    """Split all patients (arm by arm, in index order) into chunks of <= chunk_size."""
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
              chunk_size: int = DEFAULT_CHUNK, observations: bool = True,
              progress: bool = False) -> TrialResult:
    """Simulate a trial.

    ``n`` overrides every arm's size. ``scheduler`` is a Dask scheduler address; without
    it, ``workers=None`` starts a local Dask cluster (processes, loopback) with one
    worker per core, ``workers=N`` one with N workers, and ``workers=0`` runs in this
    process without Dask. Results are identical in every case.
    """
    if not isinstance(design, Design):
        design = load_design(design)
    tasks = plan_chunks(design, n, chunk_size)
    if scheduler is None and workers == 0:
        parts = [simulate_chunk(design, c, seed, observations) for c in tasks]
        return _combine(parts, design, seed)

    from dask.distributed import Client, LocalCluster
    from dask.distributed import progress as dask_progress

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0")
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        dfut = client.scatter(design, broadcast=True)
        futs = [client.submit(simulate_chunk, dfut, c, seed, observations, pure=False)
                for c in tasks]
        if progress:
            dask_progress(futs)
        parts = client.gather(futs)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _combine(parts, design, seed)


def _study_toml(res: TrialResult) -> str:
    d, tr = res.design, res.design.trial
    products = sorted({a.product for a in d.arms} - {"none"})
    comps = sorted({c["type"] for a in d.arms for c in a.components})
    levels = ",\n".join(f'  {{ name = "{a.name}", value = "{a.name}" }}' for a in d.arms)
    q = _q
    return f"""# SIMULATED virtual trial written by remission.sim -- not patient data.
# design: {q(Path(d.source).name)}; seed: {res.seed}; components: {", ".join(comps)}
format = 1

[study]
name = {q("SIMULATED: " + tr["name"])}
disease = {q(tr["disease"])}
products = [{", ".join(q(x) for x in (products or comps))}]
day0 = {q(tr["day0"])}
reference = {q("SIMULATED (remission.sim in-silico trial, seed " + str(res.seed) + "); "
               + tr.get("reference", ""))}

[cohorts]
label = "Arm"
column = "arm"
levels = [
{levels},
]

[criteria]
response = "as_recorded"
crs = "lee2014"
adverse_events = "ctcae_v5"
cytopenia = "ctcae_v5"

[response]
assessment_day = {int(tr["response_day"])}
responders = ["MRD-CR", "MRD+CR", "CR", "CRi", "PR"]
complete = ["MRD-CR", "MRD+CR", "CR", "CRi"]
mrd_negative = ["MRD-CR"]

[endpoints.os]
landmarks = [90, 180]

[endpoints.efs]
"""


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _csv(df: pd.DataFrame) -> bytes:
    return csv_bytes(df, float_format="%.6g")  # formula-like text neutralised (OWASP)


def write_study(res: TrialResult, out_dir: str | Path) -> Path:
    """Write the study folder atomically (all files or none)."""
    out = Path(out_dir)
    files: dict[str, bytes] = {
        "study.toml": _study_toml(res).encode("utf-8"),
        "patients.csv": _csv(res.patients),
        "events.csv": _csv(res.events),
        "adverse_events.csv": _csv(res.adverse_events),
    }
    if len(res.observations):
        files["observations.csv"] = _csv(res.observations)
        files["sim_observations.csv"] = _csv(res.model_observations)
    with staged_dir(out) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    return out


def cli_simulate(design_path: str | Path, out_dir: str | Path, n: int | None = None,
                 seed: int = 0, workers: int | None = None,
                 scheduler: str | None = None) -> Path:
    """Entry point for ``remission simulate``: validate, run, write; returns the folder.

    The design is validated before anything runs; on InputError nothing is written.
    """
    design = load_design(design_path)
    total = sum(n if n is not None else a.n for a in design.arms)
    res = run_trial(design, n=n, seed=seed, workers=workers, scheduler=scheduler,
                    progress=total >= 50_000)
    return write_study(res, out_dir)


__all__: list[Any] = ["TrialResult", "cli_simulate", "run_trial", "simulate_chunk",
                      "write_study"]
