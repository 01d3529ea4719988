"""ICANS (ASTCT 2019) and CRES (CARTOX 2018) boundaries (criteria.md §2, §3c)."""

from __future__ import annotations

import pandas as pd
import pytest

from remission.derive.criteria.neuro import (
    grade_neurotoxicity,
    summarise_neurotoxicity,
    uses_capd,
)
from tests.test_criteria_common import daily_from, one_day

# (case, values, ICANS, CRES default 0-2, CRES option 0-1)
CASES = [
    ("ICE 10 normal", dict(ice_score=10, cartox10_score=10), 0, 0, 0),
    ("ICE 9 (§2b G1 7-9)", dict(ice_score=9, cartox10_score=9), 1, 1, 1),
    ("ICE 7", dict(ice_score=7, cartox10_score=7), 1, 1, 1),
    ("ICE 6 (G2 3-6)", dict(ice_score=6, cartox10_score=6), 2, 2, 2),
    ("ICE 3", dict(ice_score=3, cartox10_score=3), 2, 2, 2),
    ("ICE 2 (G3 0-2; CARTOX 0-1 option -> 2)", dict(ice_score=2, cartox10_score=2), 3, 3, 2),
    ("ICE 1", dict(ice_score=1, cartox10_score=1), 3, 3, 3),
    ("ICE 0 awake (global aphasia) = 3", dict(ice_score=0, cartox10_score=0,
                                              consciousness="alert"), 3, 3, 3),
    ("ICE 0 unarousable = 4", dict(ice_score=0, cartox10_score=0,
                                   consciousness="unarousable"), 4, 4, 4),
    ("awakens spontaneously", dict(consciousness="awakens_spontaneously"), 1, 0, 0),
    ("awakens to voice", dict(consciousness="awakens_to_voice"), 2, 0, 0),
    ("awakens to tactile", dict(consciousness="awakens_to_tactile"), 3, 0, 0),
    ("focal seizure resolved", dict(seizure="focal_resolved"), 3, 3, 3),
    ("generalised seizure resolved", dict(seizure="generalised_resolved"), 3, 4, 4),
    ("non-convulsive EEG seizure", dict(seizure="nonconvulsive_eeg_resolved"), 3, 3, 3),
    ("prolonged seizure > 5 min", dict(seizure="prolonged"), 4, 4, 4),
    ("status epilepticus", dict(seizure="status_epilepticus"), 4, 4, 4),
    ("deep focal motor weakness", dict(motor_weakness="deep_focal_weakness"), 4, 4, 4),
    ("focal oedema", dict(icp_finding="focal_oedema"), 3, 4, 4),
    ("diffuse oedema", dict(icp_finding="diffuse_oedema"), 4, 4, 4),
    ("posturing", dict(icp_finding="posturing"), 4, 0, 0),
    ("papilloedema stage 2 (CRES G3)", dict(icp_finding="papilloedema", papilloedema_stage=2),
     4, 3, 3),
    ("papilloedema stage 3 (CRES G4)", dict(icp_finding="papilloedema", papilloedema_stage=3),
     4, 4, 4),
    ("CSF opening pressure 19.9 mmHg", dict(csf_opening_pressure=19.9), 0, 0, 0),
    ("CSF opening pressure 20 mmHg (CRES G4)", dict(csf_opening_pressure=20), 0, 4, 4),
    ("ICE 3 + generalised seizure (source example) = 3", dict(ice_score=3,
                                                               seizure="generalised_resolved"),
     3, 4, 4),
]


@pytest.mark.parametrize("case,values,icans,cres,cres01", CASES, ids=[c[0] for c in CASES])
def test_neuro_day_grade(case, values, icans, cres, cres01):
    d = one_day(**values)
    assert grade_neurotoxicity(d, "icans_astct2019")["grade"].iat[0] == icans
    assert grade_neurotoxicity(d, "cres_cartox2018")["grade"].iat[0] == cres
    assert grade_neurotoxicity(d, "cres_cartox2018", cartox_grade3_max=1)["grade"].iat[0] == cres01


@pytest.mark.parametrize("age,capd,lt12,le12", [
    (11.9, 8, 1, 1),   # CAPD 1-8 = grade 1 (§2c)
    (11.9, 9, 3, 3),   # CAPD >= 9 = grade 3
    (11.9, 0, 0, 0),
    (12.0, 9, 1, 3),   # 12-year-old: ICE (ASTCT "younger than 12") vs CAPD (NCIt "12 and under")
    (12.1, 9, 1, 1),
])
def test_capd_for_children_and_age_boundary(age, capd, lt12, le12):
    d = one_day(capd_score=capd, ice_score=9)
    pts = pd.DataFrame({"patient_id": ["P1"], "age": [age]})
    assert grade_neurotoxicity(d, "icans_astct2019", pts)["grade"].iat[0] == lt12
    assert grade_neurotoxicity(d, "icans_astct2019", pts, capd_age_rule="le12")[
        "grade"].iat[0] == le12


def test_uses_capd_rule_names():
    assert list(uses_capd([11, 12, 13])) == [True, False, False]
    assert list(uses_capd([11, 12, 13], "le12")) == [True, True, False]
    with pytest.raises(ValueError):
        uses_capd([1], "lt13")


def test_grade5_and_summary():
    d = daily_from([("P1", 2, "ice_score", 9), ("P1", 3, "ice_score", 2),
                    ("P1", 4, "ice_score", 10), ("P2", 2, "ice_score", 5)])
    ev = pd.DataFrame({"patient_id": ["P2"], "day": [6], "event": ["death"],
                       "value": ["ICANS"]})
    s = summarise_neurotoxicity(grade_neurotoxicity(d, "icans_astct2019", events=ev))
    s = s.set_index("patient_id")
    assert (s.loc["P1", "icans_onset_day"], s.loc["P1", "icans_max_grade"],
            s.loc["P1", "icans_duration_days"], s.loc["P1", "rule"]) == (2, 3, 2, "score")
    assert s.loc["P2", "icans_max_grade"] == 5
    assert set(s["system"]) == {"icans_astct2019"}


def test_bad_cartox_cutoff():
    with pytest.raises(ValueError):
        grade_neurotoxicity(one_day(cartox10_score=2), "cres_cartox2018", cartox_grade3_max=3)


def test_cres_has_no_grade5():
    d = daily_from([("P1", 2, "cartox10_score", 2)])
    ev = pd.DataFrame({"patient_id": ["P1"], "day": [6], "event": ["death"], "value": ["CRES"]})
    assert grade_neurotoxicity(d, "cres_cartox2018", events=ev)["grade"].max() == 3
    assert grade_neurotoxicity(d, "icans_astct2019", events=ev)["grade"].max() == 5
