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
