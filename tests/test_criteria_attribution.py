"""Attribution to another cause (issue 10). ASTCT 2019 (Lee DW et al., BBMT 2019;25:625):
CRS fever is "temperature >= 38 C not attributable to any other cause"; ICANS depressed
level of consciousness "should be attributable to no other cause (e.g., no sedating
medication)". A site records the other cause in observations.csv ``attributed_to``; such
rows are left out of CRS/ICANS grading, the reason shown, and still count where the cause
does not matter (febrile neutropenia: CTCAE v5.0 grades any fever with ANC < 1.0).
"""

from __future__ import annotations

from remission.derive.criteria import grade_all
from remission.vocab.vocabulary import normalise_observations
from tests.test_criteria_common import obs_frame


def _obs(rows, attributed):
    raw = obs_frame(rows)
    raw["attributed_to"] = attributed
    return normalise_observations(raw)


def test_fever_attributed_to_infection_is_not_crs_but_is_febrile_neutropenia():
    obs = _obs([("P1", 4, "temperature", 39.1), ("P1", 4, "norepinephrine", 6),
                ("P1", 4, "anc", 0.3), ("P2", 4, "temperature", 39.1),
                ("P2", 4, "norepinephrine", 6)],
               ["bacteraemia (E. coli)", "", "", "", ""])
    out = grade_all(obs, response=None)
    g = out["crs_daily"].set_index("patient_id")["grade"]
    assert (g["P1"], g["P2"]) == (0, 3)  # P1 afebrile once the infection fever is excluded
    note = " ".join(out["crs_daily"].attrs["excluded"])
    assert "P1 day 4 temperature 39.1 (bacteraemia (E. coli))" in note
    assert out["febrile_neutropenia"]["patient_id"].tolist() == ["P1"]
    assert out["excluded_observations"]["variable"].astype(str).tolist() == ["temperature"]


def test_low_consciousness_from_sedation_is_not_icans():
    obs = _obs([("P1", 6, "consciousness", "awakens_to_tactile"),
                ("P1", 6, "ice_score", 8)], ["sedation (propofol)", ""])
    out = grade_all(obs, response=None)
    assert out["neuro_daily"]["grade"].tolist() == [1]  # ICE 8 only
    assert "awakens_to_tactile (sedation (propofol))" in out["neuro_daily"].attrs["excluded"][0]


def test_hypoxia_attributed_to_pneumonia_is_not_crs_oxygen():
    obs = _obs([("P1", 2, "temperature", 38.5),
                ("P1", 2, "oxygen_device", "non_rebreather")], ["", "pneumonia"])
    out = grade_all(obs, response=None)
    assert out["crs_daily"]["grade"].tolist() == [1]


def test_every_reading_attributed_names_columns_by_the_system_and_reports(tmp_path):
    # A study graded by CRES (CARTOX-10) whose only bedside reading was attributed to
    # another cause: nothing is left to grade. The per-patient CRES table must still be
    # named cres_* (the empty graded table cannot tell the system), the per-infusion
    # summaries keep their columns, and validate/report end normally (they raised
    # KeyError 'cres_max_grade', then 'patient_id', before).
    import json
    import shutil
    from pathlib import Path

    from remission.cli import main
    from remission.derive.criteria._common import summarise_by_infusion
    from remission.derive.criteria.neuro import summarise_neurotoxicity

    out = grade_all(_obs([("P1", 2, "temperature", 38.9)], ["pneumonia"]),
                    neurotoxicity="cres_cartox2018", response=None)
    assert "cres_max_grade" in summarise_neurotoxicity(out["neuro_daily"], "cres_cartox2018")
    assert "cres_max_grade" in out["neuro"].columns
    empty = summarise_by_infusion(out["neuro_daily"].iloc[:0], "cres")
    assert {"patient_id", "infusion", "cres_max_grade", "rule"} <= set(empty.columns)

    src = Path(__file__).resolve().parents[1] / "examples" / "cll1-post-hsct"
    study = tmp_path / "study"
    shutil.copytree(src, study)
    pid = (study / "patients.csv").read_text().splitlines()[1].split(",")[0]
    (study / "observations.csv").write_text(
        "patient_id,day,time,variable,value,unit,attributed_to\n"
        f"{pid},2,04:00,temperature,38.9,°C,pneumonia\n", encoding="utf-8")
    assert main(["validate", str(study)]) == 0
    assert main(["report", str(study), "--out", str(tmp_path / "out")]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    items = res["results"] if isinstance(res, dict) and "results" in res else res
    names = [r["name"] for r in items] if isinstance(items, list) else list(items)
    assert "derived.neurotox" in names and "derived.cres_by_infusion" in names
