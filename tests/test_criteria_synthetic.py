"""The SYNTHETIC example study: valid, reproducible, small, and exercising every grade."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from remission.derive.criteria import (
    assess_response,
    compare_recorded,
    daily_features,
    grade_crs,
    grade_febrile_neutropenia,
    grade_icaht,
    grade_labs,
    grade_neurotoxicity,
    summarise_crs,
    summarise_neurotoxicity,
    summarise_response,
)
from remission.vocab.vocabulary import normalise_observations, validate_observations

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "examples" / "synthetic-cart-raw"


def _generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_cart",
                                                  ROOT / "scripts" / "make_synthetic_cart.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _generator()


@pytest.fixture(scope="module")
def study():
    read = {n: pd.read_csv(FOLDER / f"{n}.csv", dtype=str, keep_default_na=False)
            for n in ("patients", "observations", "treatments", "events")}
    pts = pd.read_csv(FOLDER / "patients.csv")
    tx = pd.read_csv(FOLDER / "treatments.csv")
    ev = pd.read_csv(FOLDER / "events.csv", dtype={"value": str})
    obs = normalise_observations(read["observations"], pts.set_index("patient_id")["weight_kg"])
    return {"patients": pts, "treatments": tx, "events": ev, "obs": obs,
            "daily": daily_features(obs), "raw_obs": read["observations"]}


def test_committed_files_match_the_generator(tmp_path):
    GEN.write(tmp_path)
    for name in ("patients.csv", "observations.csv", "treatments.csv", "events.csv",
                 "study.toml"):
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name


def test_small_labelled_and_valid(study):
    total = sum(p.stat().st_size for p in FOLDER.iterdir())
    assert total < 5_000_000
    assert "SYNTHETIC" in (FOLDER / "README.md").read_text()
    assert "SYNTHETIC" in (FOLDER / "study.toml").read_text()
    assert validate_observations(study["raw_obs"], "observations.csv") == []
    assert len(study["patients"]) == 40 and set(study["patients"]["arm"]) == {"A", "B"}


def test_loads_as_a_study_folder():
    load_study = pytest.importorskip("remission.study").load_study
    s = load_study(FOLDER)
    assert len(s.patients) == 40


def test_every_crs_grade_and_intended_values(study):
    asg = GEN.assignments().set_index("patient_id")
    for k, system in ((0, "astct2019"), (1, "lee2014"), (2, "cartox2018")):
        s = summarise_crs(grade_crs(study["daily"], system, study["treatments"],
                                    study["events"])).set_index("patient_id")
        top = 4 if system == "cartox2018" else 5  # the CARTOX table stops at grade 4
        assert set(s["crs_max_grade"]) == set(range(top + 1)), system
        expected = asg["crs"].map(lambda c, k=k: GEN.CRS[c][k])
        pd.testing.assert_series_equal(s["crs_max_grade"], expected, check_names=False)


@pytest.mark.parametrize("k,system,kw", [
    (0, "icans_astct2019", {}), (1, "icans_astct2019", {"capd_age_rule": "le12"}),
    (2, "cres_cartox2018", {}), (3, "cres_cartox2018", {"cartox_grade3_max": 1}),
])
def test_every_neuro_grade_and_intended_values(study, k, system, kw):
    asg = GEN.assignments().set_index("patient_id")
    s = summarise_neurotoxicity(grade_neurotoxicity(
        study["daily"], system, study["patients"], study["events"], **kw)).set_index(
        "patient_id")
    col = "icans_max_grade" if system.startswith("icans") else "cres_max_grade"
    top = 5 if system.startswith("icans") else 4  # the CRES table stops at grade 4
    assert set(s[col]) == set(range(top + 1))
    expected = asg["neuro"].map(lambda c: GEN.NEURO[c][k])
    pd.testing.assert_series_equal(s[col], expected, check_names=False)


def test_every_ctcae_grade_and_febrile_neutropenia(study):
    labs = grade_labs(study["daily"], lln=GEN.LLN)
    got = labs.groupby("variable", observed=True)["grade"].agg(
        lambda g: set(g.dropna().astype(int)))
    for var in ("anc", "platelets", "wbc", "lymphocytes"):
        assert got[var] == {0, 1, 2, 3, 4}, var
    assert got["hemoglobin"] == {0, 1, 2, 3}  # anaemia grade 4 is clinical
    fn = grade_febrile_neutropenia(study["daily"])
    assert fn["rule"].str.contains("sustained").any() and fn["rule"].str.contains("38.3").any()


def test_every_icaht_grade_both_readings(study):
    longest = grade_icaht(study["daily"])
    cum = grade_icaht(study["daily"], counting="cumulative")
    assert set(longest["icaht_early_grade"].dropna()) == {0, 1, 2, 3, 4}
    assert set(longest["icaht_late_grade"].dropna()) == {0, 1, 2, 3, 4}
    assert (longest["icaht_early_grade"] != cum["icaht_early_grade"]).any()


def test_every_response_category_and_intended_values(study):
    asg = GEN.assignments().set_index("patient_id")
    every = {
        "eln2022": {"CR_MRD-", "CR", "CRh_MRD-", "CRh", "CRi_MRD-", "CRi", "MLFS", "PR", "NR",
                    "NE"},
        "eln2017": {"CR_MRD-", "CR", "CRi", "MLFS", "PR", "NR", "NE"},
        "iwg2003": {"CR", "CRi", "MLFS", "PR", "NR", "NE"},
        "nccn_all": {"CR_MRD-", "CR", "CRi_MRD-", "CRi", "NR", "NE"},
        "blinatumomab_trials": {"CR_MRD-", "CR", "CRh*_MRD-", "CRh*", "CRi_MRD-", "CRi", "NR",
                                "NE"},
    }
    for k, system in enumerate(GEN._SYS):
        a = assess_response(study["daily"], system)
        s = summarise_response(a, study["daily"], 28,
                               patients=list(study["patients"]["patient_id"]))
        s = s.set_index("patient_id")
        assert set(s["best_response"]) == every[system], system
        expected = asg["resp"].map(lambda r, k=k: GEN.RESPONSE[r][1][k])
        pd.testing.assert_series_equal(s["best_response"], expected, check_names=False)
        if system == "eln2022":
            rel = s["relapse_day"].dropna()
            ev = study["events"]
            rec = ev[ev["event"] == "relapse"].set_index("patient_id")["day"]
            assert dict(rel) == dict(rec)


def test_compare_recorded_finds_exactly_the_planted_discordance(study):
    derived = summarise_crs(grade_crs(study["daily"], "astct2019", study["treatments"],
                                      study["events"]))
    recorded = study["patients"][["patient_id", "crs_grade"]]
    r = compare_recorded(recorded, derived, recorded_value="crs_grade",
                         derived_value="crs_max_grade", what="CRS grade")
    assert r.row_keys() == ["P012"]
    assert r.cell("P012", "recorded") == 2 and r.cell("P012", "derived") == 4
    assert r.cell("P012", "rule") == "oxygen" and r.cell("P012", "system") == "astct2019"
    assert r.params["n_compared"] == 40 and r.params["n_agree"] == 39
    icans = summarise_neurotoxicity(grade_neurotoxicity(study["daily"], "icans_astct2019",
                                                        study["patients"], study["events"]))
    r2 = compare_recorded(study["patients"][["patient_id", "icans_grade"]], icans,
                          recorded_value="icans_grade", derived_value="icans_max_grade")
    assert r2.table.empty and r2.params["n_agree"] == 40


def test_grade_all_runs_every_engine(study):
    from remission.derive.criteria import grade_all

    out = grade_all(study["obs"], patients=study["patients"], treatments=study["treatments"],
                    events=study["events"], lln=GEN.LLN, landmark_day=28)
    assert set(out) == {"daily", "crs_daily", "crs", "neuro_daily", "neuro", "labs",
                        "febrile_neutropenia", "icaht", "engraftment", "response_assessments",
                        "response", "infusions", "crs_by_infusion", "neuro_by_infusion",
                        "excluded_observations"}
    assert len(out["crs"]) == len(out["response"]) == 40
    assert out["crs"]["crs_max_grade"].max() == 5
    assert set(out["response"]["system"]) == {"eln2022"}


def test_kinetics_on_the_synthetic_study(study):
    from remission.kinetics import associations, biomarker_summary, nca

    car = study["obs"][study["obs"]["variable"] == "car_copies"]
    k = nca(car, lloq=GEN.LLOQ)
    assert k.table["tmax"].between(4, 21).all()
    crs = summarise_crs(grade_crs(study["daily"], "astct2019", study["treatments"],
                                  study["events"])).set_index("patient_id")
    il6 = biomarker_summary(study["obs"], ["il6"]).set_index("patient_id")["peak"]
    pts = pd.DataFrame({"cmax": k.table["cmax"], "peak_il6": il6,
                        "crs_grade": crs["crs_max_grade"].clip(upper=4)})
    pts["responder"] = ~study["patients"].set_index("patient_id")["best_response"].isin(
        ["NR", "NE"])
    res = associations(pts.reset_index(), ["cmax", "peak_il6"])
    # the generator makes expansion and IL-6 rise with CRS severity (scripts/make_synthetic_cart)
    assert res.cell("cmax | spearman vs crs_grade", "statistic") > 0.5
    assert res.cell("peak_il6 | spearman vs crs_grade", "p_value") < 0.001


def test_dense_and_sorted_daily_reductions_agree(study):
    dense = daily_features(study["obs"], method="dense")
    srt = daily_features(study["obs"], method="sorted")
    pd.testing.assert_frame_equal(dense, srt)
    pd.testing.assert_frame_equal(dense, study["daily"])
