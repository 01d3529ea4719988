"""remission.analyses.raw on the SYNTHETIC raw-data example: Results, audit, report, variants."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.analyses.raw import analyse_raw, resolve_systems
from remission.analyses.raw.kinetics import _responder_flag
from remission.derive.adsl import derive_adsl
from remission.study import load_study
from tests.rlive import run_r

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "examples" / "synthetic-cart-raw"
NAMES = {"derived.crs", "derived.crs_summary", "derived.neurotox", "derived.neurotox_summary",
         "derived.cytopenia", "derived.cytopenia_summary", "derived.response",
         "derived.best_response", "derived.response_summary", "kinetics.nca", "kinetics.stein",
         "kinetics.biomarkers", "kinetics.associations", "audit.recorded_vs_derived"}


@pytest.fixture(scope="module")
def raw():
    study = load_study(FOLDER)
    adsl = derive_adsl(study)
    results, figures = analyse_raw(study, adsl, figures=True)
    return study, adsl, {r.name: r for r in results}, results, figures


@pytest.fixture(scope="module")
def raw_obs() -> pd.DataFrame:
    return pd.read_csv(FOLDER / "observations.csv", dtype=str, keep_default_na=False)


def test_result_names_sections_and_figures(raw):
    _, _, by_name, results, figures = raw
    assert [r.name for r in results] == list(by_name)  # unique
    assert set(by_name) == NAMES
    sections = {r.name: r.section for r in results}
    assert sections["audit.recorded_vs_derived"] == "audit"
    assert {sections[n] for n in NAMES if n.startswith("kinetics")} == {"kinetics"}
    assert sections["derived.response"] == "efficacy" and sections["derived.crs"] == "safety"
    fig = {f.name: f.section for f in figures}
    assert fig == {"fig.derived.crs_heatmap": "safety", "fig.derived.neurotox_heatmap": "safety",
                   "fig.derived.anc_icaht": "safety", "fig.kinetics.spaghetti": "kinetics",
                   "fig.kinetics.cmax_crs": "kinetics"}
    assert all(f.caption and f.title for f in figures)


def test_recorded_vs_derived_finds_exactly_the_planted_discordance(raw, raw_obs):
    r = raw[2]["audit.recorded_vs_derived"]
    assert r.row_keys() == ["crs_grade | P012"]
    assert r.cell("crs_grade | P012", "recorded") == 2
    assert r.cell("crs_grade | P012", "derived") == 4
    assert r.cell("crs_grade | P012", "rule") == "oxygen"
    assert r.cell("crs_grade | P012", "system") == "astct2019"
    # the day of grade 4 is the first day on mechanical ventilation in the raw file
    vent = raw_obs[(raw_obs["patient_id"] == "P012")
                   & (raw_obs["value"] == "mechanical_ventilation")]
    assert r.cell("crs_grade | P012", "day") == int(vent["day"].astype(int).min())
    compared = r.params["compared"]
    assert set(compared) == {"crs_grade", "icans_grade", "best_response"}
    assert compared["crs_grade"]["n_compared"] == 40 and compared["crs_grade"]["n_agree"] == 39
    assert compared["icans_grade"]["n_agree"] == 40
    assert compared["best_response"]["n_agree"] == 40


@pytest.mark.parametrize("name,col", [("derived.crs_summary", "grade"),
                                      ("derived.neurotox_summary", "grade"),
                                      ("derived.response_summary", "category")])
def test_cohort_summaries_add_up_to_n(raw, name, col):
    _, adsl, by_name, _, _ = raw
    t = by_name[name].table
    sizes = adsl["COHORT"].value_counts()
    parts = t[t[col].str.startswith("grade ") & t[col].str[6:].str.isdigit()] \
        if col == "grade" else t
    n = parts.groupby("group")["n"].sum()
    assert n["Overall"] == len(adsl) == 40
    for arm in ("A", "B"):
        assert n[arm] == sizes[arm]
        assert set(t.loc[t["group"] == arm, "N"]) == {sizes[arm]}


def test_systems_recorded(raw):
    by_name = raw[2]
    assert set(by_name["derived.crs"].table["system"]) == {"astct2019"}
    assert set(by_name["derived.neurotox"].table["system"]) == {"icans_astct2019"}
    assert set(by_name["derived.response"].table["system"]) == {"eln2022"}
    assert set(by_name["derived.best_response"].table["system"]) == {"eln2022"}
    assert by_name["derived.crs_summary"].params["system_code"] == "astct2019"
    assert by_name["derived.cytopenia"].params["system"] == "icaht_2023"
    assert "ASTCT" in by_name["derived.crs"].references[0]


def test_cytopenia_against_the_raw_file(raw, raw_obs):
    """Nadir and CTCAE grade-4 neutropenia recomputed by hand from the raw rows."""
    t = raw[2]["derived.cytopenia"].table
    anc = raw_obs[(raw_obs["variable"] == "anc") & (raw_obs["day"].astype(int) >= 0)].copy()
    v = anc["value"].astype(float)
    anc["x"] = np.where(anc["unit"] == "cells/µL", v / 1000.0, v)
    nadir = anc.groupby("patient_id")["x"].min()
    np.testing.assert_allclose(t.loc[nadir.index, "anc_nadir"].to_numpy(dtype=float),
                               nadir.to_numpy(), rtol=0, atol=1e-12)
    assert list(t.index[t["anc_worst_grade"] == 4]) == list(nadir.index[nadir < 0.5])
    s = raw[2]["derived.cytopenia_summary"]
    assert s.cell("ANC grade 4 | Overall", "n") == int((nadir < 0.5).sum())
    assert s.cell("ANC grade 4 | Overall", "N") == 40


def test_response_derivation_table(raw, raw_obs):
    by_name = raw[2]
    d = by_name["derived.response"].table
    marrow = raw_obs[raw_obs["variable"] == "marrow_blasts"]
    post = marrow[marrow["day"].astype(int) > 0]  # day -5 is the screening marrow
    assert len(d) == len(post)
    for col in ("marrow_blasts", "anc", "platelets", "mrd", "response_mrd", "rule", "system"):
        assert col in d.columns
    best = by_name["derived.best_response"].table
    rec = raw[0].patients.set_index("patient_id")["best_response"]
    assert (best["best_response"] == rec.reindex(best.index)).all()


@pytest.mark.r
def test_associations_match_r(raw):
    """Cmax vs derived CRS grade (Spearman) and by responder (Wilcoxon) against R."""
    by_name = raw[2]
    nca = by_name["kinetics.nca"].table
    crs = by_name["derived.crs"].table["crs_max_grade"].astype(float)
    resp = _responder_flag(by_name["derived.best_response"].table["best_response"])
    df = pd.DataFrame({"cmax": nca["cmax"], "grade": crs.reindex(nca.index),
                       "resp": resp.reindex(nca.index).astype(float)})
    out = run_r("""
        s <- suppressWarnings(cor.test(d$cmax, d$grade, method = "spearman"))
        w <- wilcox.test(d$cmax[d$resp %in% 1], d$cmax[d$resp %in% 0])
        k <- kruskal.test(d$cmax, factor(d$grade))
        out <- list(rho = unname(s$estimate), p = s$p.value, w = unname(w$statistic),
                    pw = w$p.value, h = unname(k$statistic), pk = k$p.value)
    """, d=df)
    a = by_name["kinetics.associations"]
    assert a.cell("cmax | spearman vs crs_grade", "statistic") == pytest.approx(out["rho"],
                                                                               rel=1e-9)
    assert a.cell("cmax | spearman vs crs_grade", "p_value") == pytest.approx(out["p"], rel=1e-9)
    assert a.cell("cmax | mann-whitney by responder", "statistic") == pytest.approx(out["w"])
    assert a.cell("cmax | mann-whitney by responder", "p_value") == pytest.approx(out["pw"],
                                                                                 rel=1e-9)
    assert a.cell("cmax | kruskal by crs_grade", "statistic") == pytest.approx(out["h"],
                                                                              rel=1e-9)
    assert a.cell("cmax | kruskal by crs_grade", "p_value") == pytest.approx(out["pk"], rel=1e-9)


def test_responder_flag():
    f = _responder_flag(pd.Series(["CR_MRD-", "NR", "NE", None, "MLFS"]))
    assert f.tolist() == [True, False, pd.NA, pd.NA, True]


def test_resolve_systems_defaults_and_notes():
    s = resolve_systems({"crs": "as_recorded", "response": "nccn_aml"}, "AML")
    assert (s.crs, s.neurotoxicity, s.response, s.cytopenia) == (
        "astct2019", "icans_astct2019", "eln2022", "icaht_2023")
    assert any(n.startswith("crs: configured as 'as_recorded'") for n in s.notes)
    assert any("nccn_aml" in n and "no derivation engine" in n for n in s.notes)
    assert any(n.startswith("neurotoxicity: not configured") for n in s.notes)
    assert resolve_systems({}, "B-ALL").response == "nccn_all"
    s2 = resolve_systems({"crs": "lee2014", "neurotoxicity": "cres_cartox2018",
                          "response": "iwg2003", "cytopenia": "ctcae_v5"}, "AML")
    assert (s2.crs, s2.neurotoxicity, s2.response, s2.cytopenia, s2.notes) == (
        "lee2014", "cres_cartox2018", "iwg2003", "ctcae_v5", ())


def _variant(tmp_path: Path, drop: list[str], toml_edit: tuple[str, str] | None) -> Path:
    dst = tmp_path / "study"
    shutil.copytree(FOLDER, dst)
    p = pd.read_csv(dst / "patients.csv", dtype=str, keep_default_na=False)
    p.drop(columns=drop).to_csv(dst / "patients.csv", index=False)
    if toml_edit:
        t = (dst / "study.toml").read_text()
        assert toml_edit[0] in t
        (dst / "study.toml").write_text(t.replace(*toml_edit))
    return dst


def test_observations_without_recorded_grades(tmp_path):
    folder = _variant(tmp_path, ["crs_grade", "icans_grade", "best_response"],
                      ('crs = "astct2019"', 'crs = "as_recorded"'))
    study = load_study(folder)
    results, figures = analyse_raw(study, derive_adsl(study), figures=False)
    by_name = {r.name: r for r in results}
    assert set(by_name) == NAMES - {"audit.recorded_vs_derived"}
    assert figures == []
    crs = by_name["derived.crs"]
    assert set(crs.table["system"]) == {"astct2019"}
    assert any("as_recorded" in w and "primary default" in w for w in crs.warnings)
    # still P012 grade 4: the raw data decide, not the (absent) record
    assert crs.cell("P012", "crs_max_grade") == 4


def test_blank_recorded_columns_are_not_recorded(tmp_path):
    """A patients.csv whose crs_grade/icans_grade/best_response columns are there but blank
    records nothing: no audit, exactly as when the columns are absent (blank text cells
    were compared as "" and each patient's response reported as a disagreement). One blank
    best_response among recorded ones is listed as 'not recorded', not 'disagree'."""
    folder = _variant(tmp_path, [], None)
    p = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    p[["crs_grade", "icans_grade", "best_response"]] = ""
    p.to_csv(folder / "patients.csv", index=False)
    study = load_study(folder)
    by_name = {r.name: r for r in analyse_raw(study, derive_adsl(study), figures=False)[0]}
    assert "audit.recorded_vs_derived" not in by_name

    p = pd.read_csv(FOLDER / "patients.csv", dtype=str, keep_default_na=False)
    first = p["patient_id"].iloc[0]
    p.loc[0, "best_response"] = " "
    p.to_csv(folder / "patients.csv", index=False)
    study = load_study(folder)
    by_name = {r.name: r for r in analyse_raw(study, derive_adsl(study), figures=False)[0]}
    audit = by_name["audit.recorded_vs_derived"]
    assert audit.cell(f"best_response | {first}", "status") == "not recorded"
    assert audit.row_keys() == ["crs_grade | P012", f"best_response | {first}"]


def test_cres_configured_still_audits_recorded_icans(tmp_path):
    """A recorded ICANS grade is compared with ICANS even when CRES is configured."""
    folder = _variant(tmp_path, [], ('neurotoxicity = "icans_astct2019"',
                                     'neurotoxicity = "cres_cartox2018"'))
    p = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    assert p.loc[p["patient_id"] == "P002", "icans_grade"].item() == "5"
    # the loader bounds icans_grade by the configured system (CRES stops at 4)
    p.loc[p["patient_id"] == "P002", "icans_grade"] = "4"
    p.to_csv(folder / "patients.csv", index=False)
    study = load_study(folder)
    results, _ = analyse_raw(study, derive_adsl(study), figures=False)
    by_name = {r.name: r for r in results}
    assert "cres_max_grade" in by_name["derived.neurotox"].table.columns
    audit = by_name["audit.recorded_vs_derived"]
    assert audit.row_keys() == ["crs_grade | P012", "icans_grade | P002"]
    assert audit.cell("icans_grade | P002", "derived") == 5
    assert audit.cell("icans_grade | P002", "rule") == "death attributed to neurotoxicity"
    assert audit.params["compared"]["icans_grade"]["systems"] == ["icans_astct2019"]


def test_report_cli_on_the_synthetic_example(tmp_path):
    out = tmp_path / "rep"
    run = subprocess.run([sys.executable, "-m", "remission.cli", "report", str(FOLDER),
                          "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    data = json.loads((out / "results.json").read_text())
    names = {r["name"] for r in data["results"]}
    assert names >= NAMES
    audit = next(r for r in data["results"] if r["name"] == "audit.recorded_vs_derived")
    assert [row["row"] for row in audit["rows"]] == ["crs_grade | P012"]
    figs = {f["name"] for f in data["figures"]}
    assert {"fig.derived.crs_heatmap", "fig.kinetics.spaghetti"} <= figs
    html = (out / "report.html").read_text()
    assert "SYNTHETIC DATA" in html
    check = subprocess.run([sys.executable, "-m", "remission.cli", "validate", str(FOLDER)],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr


def test_labs_only_observations(tmp_path):
    """Blood counts only: no CRS/ICANS/response/kinetics to derive, nothing invented."""
    folder = _variant(tmp_path, [], None)
    obs = pd.read_csv(folder / "observations.csv", dtype=str, keep_default_na=False)
    obs[obs["variable"].isin(["anc", "platelets"])].to_csv(folder / "observations.csv",
                                                            index=False)
    study = load_study(folder)
    results, figures = analyse_raw(study, derive_adsl(study))
    by_name = {r.name: r for r in results}
    assert not any(n.startswith(("kinetics.", "derived.response", "derived.best"))
                   for n in by_name)
    crs = by_name["derived.crs"].table
    # only the death attributed to CRS (events.csv) gives a grade without observations
    assert crs["crs_max_grade"].dropna().to_dict() == {"P001": 5}
    audit = by_name["audit.recorded_vs_derived"]
    assert audit.table.empty
    assert audit.params["compared"]["crs_grade"]["n_compared"] == 1
    assert any(w.startswith("best_response: 40 patient(s)") for w in audit.warnings)
    assert by_name["derived.cytopenia_summary"].cell("ANC grade 4 | Overall", "N") == 40
    assert "fig.derived.anc_icaht" in {f.name for f in figures}


def test_reproducible(raw):
    """Same input, same Results (byte-identical JSON)."""
    study, adsl, _, results, _ = raw
    again, _ = analyse_raw(study, adsl, figures=False)
    dump = [json.dumps(r.to_dict(), sort_keys=True) for r in results]
    assert dump == [json.dumps(r.to_dict(), sort_keys=True) for r in again]


def test_lln_and_lloq_from_study_toml(tmp_path) -> None:
    """[labs] lln enables CTCAE grade 1; [kinetics] lloq reaches the NCA."""
    import shutil

    from remission.analyses.raw import analyse_raw
    from remission.derive.adsl import derive_adsl
    from remission.study import load_study

    src = Path(__file__).resolve().parents[1] / "examples" / "synthetic-cart-raw"
    d = tmp_path / "s"
    shutil.copytree(src, d)
    toml = d / "study.toml"
    toml.write_text(toml.read_text() + "\n[labs]\nlln = { anc = 1.8, platelets = 150 }\n"
                    "\n[kinetics]\nlloq = { car_copies = 25.0, car_cells = 0.5 }\n")
    study = load_study(d)
    assert study.config.lln == {"anc": 1.8, "platelets": 150.0}
    results, _ = analyse_raw(study, derive_adsl(study), figures=False)
    by = {r.name: r for r in results}
    assert not any("lower limit of normal" in w for w in by["derived.cytopenia"].warnings)
    if "kinetics.nca" in by:
        assert by["kinetics.nca"].params["lloq"] in (25.0, 0.5)
    toml.write_text(toml.read_text().replace("anc = 1.8", "anc = -1, neutrophils = 2"))
    from remission.errors import InputError

    with pytest.raises(InputError) as exc:
        load_study(d)
    cols = {p.column for p in exc.value.problems}
    assert {"labs.lln.anc", "labs.lln.neutrophils"} <= cols
