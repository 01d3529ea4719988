"""Drug vocabulary (issue 10, "Drug names"): brand names and spellings reach the rules,
unknown names are warnings, never silently dropped."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from remission.derive.criteria.crs import grade_crs
from remission.vocab.drugs import (
    canonical_agents,
    drug,
    drug_table,
    match_agent,
    validate_treatments,
)
from tests.test_criteria_common import daily_from


def _afebrile_hypoxic_after_fever() -> pd.DataFrame:
    # day 1 febrile CRS; day 2 afebrile on high-flow O2 (ASTCT grade 3 once fever is waived)
    return daily_from([("P1", 1, "temperature", 38.6), ("P1", 2, "temperature", 37.0),
                       ("P1", 2, "oxygen_device", "high_flow_nasal_cannula")])


@pytest.mark.parametrize("written", ["RoActemra", "Actemra", "ACTEMRA®", "Tocilizumab",
                                     "toci", "tociluzumab"])
def test_tocilizumab_written_any_way_waives_fever(written):
    # ASTCT 2019 (Lee DW et al., BBMT 2019;25:625): once a patient with CRS has received
    # anticytokine therapy (tocilizumab, steroids) fever is no longer required.
    tx = pd.DataFrame({"patient_id": ["P1"], "agent": [written], "start_day": [1]})
    g = grade_crs(_afebrile_hypoxic_after_fever(), "astct2019", tx)
    assert g.set_index("day")["grade"][2] == 3


@pytest.mark.parametrize("written,canonical", [
    ("noradrenaline", "norepinephrine"), ("Levophed", "norepinephrine"),
    ("adrenaline", "epinephrine"), ("Neo-Synephrine", "phenylephrine"),
    ("argipressin", "vasopressin"), ("Solu-Medrol", "methylprednisolone"),
    ("Decadron", "dexamethasone"), ("Sylvant", "siltuximab"), ("Kineret", "anakinra"),
    ("dopamine", "dopamine"), ("Dobutrex", "dobutamine"), ("acetaminophen", "paracetamol"),
    ("Venclyxto", "venetoclax"), ("Blincyto", "blinatumomab"), ("Vidaza", "azacitidine"),
])
def test_brand_and_common_names(written, canonical):
    assert match_agent(written).drug == canonical


def test_atc_codes_of_the_controlled_drugs():
    # WHO ATC/DDD Index: L04AC07 tocilizumab, L04AC03 anakinra, H02AB02 dexamethasone,
    # H02AB04 methylprednisolone, C01CA03 norepinephrine, C01CA24 epinephrine,
    # C01CA06 phenylephrine, C01CA04 dopamine, C01CA07 dobutamine, H01BA01 vasopressin
    expect = {"tocilizumab": "L04AC07", "anakinra": "L04AC03", "dexamethasone": "H02AB02",
              "methylprednisolone": "H02AB04", "norepinephrine": "C01CA03",
              "epinephrine": "C01CA24", "phenylephrine": "C01CA06", "dopamine": "C01CA04",
              "dobutamine": "C01CA07", "vasopressin": "H01BA01"}
    assert {k: drug(k).atc for k in expect} == expect


def test_every_name_in_the_table_reads_back_to_its_drug():
    text = resources.files("remission.data").joinpath("drugs.csv").read_text("utf-8")
    for rec in csv.DictReader(text.splitlines()):
        for n in [rec["drug"], *filter(None, rec["synonyms"].split(";"))]:
            assert match_agent(n).drug == rec["drug"], n
    assert len(drug_table()) >= 40


def test_unknown_and_misspelled_agents_are_warnings_naming_them():
    tx = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P3"],
                       "agent": ["tocilizumap", "Zorbumab", "Zorbumab", "SYN CAR-T"],
                       "start_day": [1, 2, 3, 0]})
    probs = validate_treatments(tx, "treatments.csv", products=["SYN CAR-T"])
    assert len(probs) == 2
    spell, unknown = probs
    assert spell.value == "tocilizumap" and "tocilizumab" in spell.message
    assert "similarity" in spell.message and spell.row == 2
    assert unknown.value == "Zorbumab" and "2 rows" in unknown.message and unknown.row == 3
    assert canonical_agents(tx["agent"], ["SYN CAR-T"]).tolist() == [
        "tocilizumab", None, None, "study product"]


def test_short_or_ambiguous_names_are_not_guessed():
    assert match_agent("dexx").how == "unknown"  # < 5 letters: no spelling match
    assert match_agent("").how == "unknown"


def test_study_loader_and_crs_result_list_unknown_agents(tmp_path):
    import shutil

    from remission.analyses.raw import analyse_raw
    from remission.derive.adsl import derive_adsl
    from remission.study import load_study

    src = Path(__file__).parents[1] / "examples" / "synthetic-cart-raw"
    dst = tmp_path / "s"
    shutil.copytree(src, dst)
    tx = pd.read_csv(dst / "treatments.csv")
    tx.loc[tx["agent"] == "tocilizumab", "agent"] = "Tocilizumabb"
    tx.loc[len(tx)] = ["P001", "Mysterymab", 6, 6, 1.0, "mg"]
    tx.to_csv(dst / "treatments.csv", index=False)
    study = load_study(dst)
    msgs = [w.message for w in study.warnings]
    assert any("Mysterymab" in m and "not in the drug vocabulary" in m for m in msgs)
    assert any("Tocilizumabb" in m and "taken as tocilizumab" in m for m in msgs)
    results, _ = analyse_raw(study, derive_adsl(study), figures=False)
    crs = next(r for r in results if r.name == "derived.crs")
    assert any("Mysterymab" in w for w in crs.warnings)


def test_vasopressor_observations_by_common_names_reach_the_grader():
    # observations.csv written with European names: noradrenaline + adrenaline together
    # is two vasopressors -> ASTCT 2019 grade 4 with fever
    from remission.derive.criteria.daily import daily_features
    from remission.vocab.vocabulary import normalise_observations

    raw = pd.DataFrame({"patient_id": ["P1"] * 3, "day": [2, 2, 2],
                        "variable": ["temperature", "Noradrenaline", "adrenaline"],
                        "value": ["38.6", "6", "3"], "unit": ["C", "ug/min", "ug/min"]})
    obs = normalise_observations(raw)
    assert set(obs["variable"].astype(str)) == {"temperature", "norepinephrine", "epinephrine"}
    assert grade_crs(daily_features(obs), "astct2019")["grade"].tolist() == [4]
