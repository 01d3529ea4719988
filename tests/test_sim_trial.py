"""Virtual trials: reproducible, partition-independent, written as a valid study folder."""

from __future__ import annotations

import tomllib
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.sim import cli_simulate, parse_design, run_trial, write_study
from remission.sim.trial import _csv
from remission.vocab.ctcae_terms import lookup
from remission.vocab.vocabulary import validate_observations

DESIGNS = Path(__file__).parents[1] / "examples" / "designs"
SEED000 = DESIGNS / "seed000_ven_leadin_cll1_cart.toml"


def _short():
    """Seed 000 design cut to 30 days of follow-up (keeps the tests fast)."""
    data = tomllib.loads(SEED000.read_text())
    data["trial"].update(follow_up_days=30, observation_days=[-13, 0, 7, 14, 28])
    return parse_design(data, str(SEED000))


def _bytes(res) -> list[bytes]:
    return [_csv(getattr(res, k)) for k in ("patients", "events", "adverse_events",
                                            "observations", "model_observations")]


def test_one_chunk_and_many_chunks_are_byte_identical() -> None:
    d = _short()
    one = run_trial(d, n=10, seed=11, workers=0, chunk_size=1000)
    many = run_trial(d, n=10, seed=11, workers=0, chunk_size=3)
    assert _bytes(one) == _bytes(many)
    # a patient's draws do not depend on trial size either
    bigger = run_trial(d, n=13, seed=11, workers=0, chunk_size=7)
    a = one.patients.set_index("patient_id")
    b = bigger.patients.set_index("patient_id").loc[a.index]
    pd.testing.assert_frame_equal(a, b)
    other = run_trial(d, n=10, seed=12, workers=0)
    assert _bytes(other)[0] != _bytes(one)[0]


def _dask_counts_are_per_chunk(counts: list, sizes: list[int]) -> None:
    """Counts of simulated patients on Dask: (0, total) first, then one per completed
    chunk rising by that chunk's patients (chunks may finish in any order), to the total.
    Only the order of the running totals and the multiset of steps are checked, never
    timing."""
    total = sum(sizes)
    sim = [(d, t) for d, t, w in counts if w == "patients simulated"]
    assert sim[0] == (0, total) and all(t == total for _, t in sim)
    done = [d for d, _ in sim]
    assert sorted(b - a for a, b in pairwise(done)) == sorted(sizes)
    assert done[-1] == total


def test_dask_local_cluster_matches_in_process() -> None:
    from remission.progress import counting
    from remission.sim.trial import plan_chunks

    d = _short()
    local = run_trial(d, n=12, seed=3, workers=0, chunk_size=5)
    counts: list = []
    with counting(lambda *c: counts.append(c)):
        dist = run_trial(d, n=12, seed=3, workers=2, chunk_size=5)
    assert _bytes(local) == _bytes(dist)
    sizes = [sum(b - a for _, a, b in c) for c in plan_chunks(d, 12, 5)]
    assert sizes == [5, 5, 5, 5, 4]  # 2 arms x 12 patients
    _dask_counts_are_per_chunk(counts, sizes)
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        counts = []
        with counting(lambda *c: counts.append(c)):
            remote = run_trial(d, n=12, seed=3, scheduler=cluster.scheduler_address,
                               chunk_size=7)
    assert _bytes(local) == _bytes(remote)
    _dask_counts_are_per_chunk(counts, [sum(b - a for _, a, b in c)
                                        for c in plan_chunks(d, 12, 7)])


def test_study_folder_is_valid_and_labelled_simulated(tmp_path: Path) -> None:
    out = cli_simulate(SEED000, tmp_path / "study", n=6, seed=1, workers=0)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["adverse_events.csv", "events.csv", "observations.csv", "patients.csv",
                     "sim_observations.csv", "study.toml"]
    meta = tomllib.loads((out / "study.toml").read_text())
    assert meta["study"]["name"].startswith("SIMULATED")
    assert "SIMULATED" in meta["study"]["reference"]
    assert [lv["name"] for lv in meta["cohorts"]["levels"]] == ["VEN", "noVEN"]
    pts = pd.read_csv(out / "patients.csv")
    assert len(pts) == 12 and pts["patient_id"].is_unique
    for col in ("patient_id", "age", "sex", "weight_kg", "arm", "baseline_burden_pct",
                "cll1_positivity_pct", "cart_dose_per_kg", "best_response", "crs_grade"):
        assert col in pts.columns
    obs = pd.read_csv(out / "observations.csv", dtype={"patient_id": str})
    assert validate_observations(obs) == []
    assert set(obs["variable"]) >= {
        "marrow_blasts", "peripheral_blasts", "car_cells", "il6", "anc", "lymphocytes",
        "antigen_positive_blasts", "venetoclax_conc", "temperature", "sbp", "oxygen_device",
        "ice_score", "platelets", "hemoglobin", "marrow_cells_counted"}
    assert "blinatumomab_conc" not in set(obs["variable"])
    # venetoclax exposure only for the VEN arm; no blinatumomab in this design
    ven = obs[obs["variable"] == "venetoclax_conc"]
    assert set(ven["patient_id"]) == set(pts.loc[pts["arm"] == "VEN", "patient_id"])
    assert (ven["unit"] == "mg/L").all() and ven["value"].astype(float).max() > 0.2
    assert ven["value"].astype(float).min() >= 1e-3  # nothing below the assay LLOQ
    sim_only = pd.read_csv(out / "sim_observations.csv")
    assert set(sim_only["variable"]) == {"antigen_density_rel", "antigen_positive_pct",
                                         "marrow_blasts_pct"}
    ae = pd.read_csv(out / "adverse_events.csv")
    for term, grade in zip(ae["term"], ae["grade"], strict=True):
        t = lookup(term)
        assert t is not None and t.allows(int(grade))
    ev = pd.read_csv(out / "events.csv")
    assert set(ev["event"]) <= {"response_assessment", "relapse", "death", "last_contact"}
    assert set(ev["patient_id"]) <= set(pts["patient_id"])
    died = ev[ev["event"] == "death"].set_index("patient_id")["day"]
    later = ev[ev["patient_id"].isin(died.index)]
    assert (later["day"].to_numpy() <= died.loc[later["patient_id"]].to_numpy()).all()


def test_venetoclax_lead_in_enriches_antigen_positive_blasts() -> None:
    """Seed 000 mechanism: a week of VEN raises the CLL1+ fraction before CAR-T."""
    d = _short()
    res = run_trial(d, n=40, seed=5, workers=0)
    mo = res.model_observations
    pos = mo[(mo["variable"] == "antigen_positive_pct") & (mo["day"] == 0)]
    pos = pos.assign(arm=pos["patient_id"].str.split("-").str[0]).set_index("patient_id")
    base = res.patients.set_index("patient_id")["cll1_positivity_pct"]
    gain = pos["value"] - base.loc[pos.index]
    ven, nov = gain[pos["arm"] == "VEN"], gain[pos["arm"] == "noVEN"]
    assert (ven > 0).mean() > 0.8
    assert ven.median() > nov.median() + 1.0
    # common random numbers: same virtual patient in both arms
    assert np.allclose(res.patients.query("arm == 'VEN'")["age"].to_numpy(),
                       res.patients.query("arm == 'noVEN'")["age"].to_numpy())


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    d = _short()
    res = run_trial(d, n=2, seed=0, workers=0)
    res.patients = None  # type: ignore[assignment]  # make writing fail midway
    target = tmp_path / "s"
    with pytest.raises(AttributeError):
        write_study(res, target)
    assert not target.exists()


def test_patient_dead_before_infusion_has_no_post_infusion_peaks_or_nadir() -> None:
    """Seed 0's VEN-000097 (seed000 design) dies on day 0, before any post-infusion day.

    Its CAR peak, IL-6 peak and ANC nadir are maxima / minima over an empty window: they
    are missing, never -inf, inf or the first simulated day (day -13) as they once were;
    its neighbours, alive after the infusion, keep finite values."""
    from remission.sim.design import DESIGN_DIR, load_design
    from remission.sim.trial import simulate_chunk

    design = load_design(DESIGN_DIR / "seed000_ven_leadin_cll1_cart.toml")
    pts = simulate_chunk(design, [(0, 95, 98)], seed=0, observations=False)["patients"]
    pts = pts.set_index("patient_id")
    assert pts.loc["VEN-000097", "death_day"] == 0
    cols = ["car_peak_day", "car_peak_cells_per_ul", "il6_peak_pg_ml", "anc_nadir"]
    assert pts.loc["VEN-000097", cols].isna().all()
    alive = pts.loc[["VEN-000096", "VEN-000098"], cols].to_numpy(float)
    assert np.isfinite(alive).all() and (alive[:, 0] >= 1).all()
    assert not np.isinf(pts.select_dtypes("number").to_numpy(float)).any()
