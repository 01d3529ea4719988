"""Neurotoxicity fields clinicians record (issue 10): seizure duration and EEG,
developmental delay (CAPD instead of ICE), intracranial haemorrhage (excluded).

ASTCT 2019 (Lee DW et al., BBMT 2019;25:625-638), ICANS seizure domain: grade 3 "any
clinical seizure focal or generalized that resolves rapidly or nonconvulsive seizures on
EEG that resolve with intervention"; grade 4 "life-threatening prolonged seizure (>5 min)
or repetitive clinical or electrical seizures without return to baseline in between".
Children and "those with developmental delay" are assessed with CAPD (CAPD >= 9 =
grade 3). "Intracranial hemorrhage with or without associated edema may be graded
according to CTCAE" -- it is not ICANS.
"""

from __future__ import annotations

import pandas as pd
import pytest

from remission.derive.criteria import grade_neurotoxicity
from tests.test_criteria_common import daily_from


@pytest.mark.parametrize("minutes,expected", [(0.5, 3), (5, 3), (5.5, 4), (30, 4)])
def test_seizure_duration(minutes, expected):
    d = daily_from([("P1", 3, "seizure", "generalised_resolved"),
                    ("P1", 3, "seizure_duration", minutes, "min")])
    assert grade_neurotoxicity(d, "icans_astct2019")["grade"].tolist() == [expected]


def test_seizure_duration_in_seconds_is_converted():
    d = daily_from([("P1", 3, "seizure_duration", 400, "s")])  # 6.7 min
    assert grade_neurotoxicity(d, "icans_astct2019")["grade"].tolist() == [4]


@pytest.mark.parametrize("eeg,icans,cres", [
    ("none", 0, 0), ("nonconvulsive_resolved", 3, 3),
    ("repetitive_no_return_to_baseline", 4, 4), ("status_epilepticus", 4, 4)])
def test_eeg_findings(eeg, icans, cres):
    d = daily_from([("P1", 3, "eeg_seizure", eeg)])
    assert grade_neurotoxicity(d, "icans_astct2019")["grade"].tolist() == [icans]
    assert grade_neurotoxicity(d, "cres_cartox2018")["grade"].tolist() == [cres]


def test_developmental_delay_uses_capd_at_any_age():
    d = daily_from([("P1", 3, "capd_score", 10), ("P1", 3, "ice_score", 10),
                    ("P2", 3, "capd_score", 10), ("P2", 3, "ice_score", 10)])
    pts = pd.DataFrame({"patient_id": ["P1", "P2"], "age": [30, 30],
                        "developmental_delay": ["Yes", "No"]})
    g = grade_neurotoxicity(d, "icans_astct2019", pts).set_index("patient_id")["grade"]
    assert (g["P1"], g["P2"]) == (3, 0)  # CAPD 10 (>= 9) = 3 with delay; ICE 10 otherwise


def test_intracranial_haemorrhage_oedema_not_graded_and_said():
    d = daily_from([("P1", 5, "icp_finding", "focal_oedema"),
                    ("P1", 5, "intracranial_haemorrhage", "yes"),
                    ("P2", 5, "icp_finding", "focal_oedema"),
                    ("P3", 5, "icp_finding", "diffuse_oedema"),
                    ("P3", 5, "intracranial_haemorrhage", "yes"),
                    ("P3", 5, "consciousness", "awakens_to_voice")])
    g = grade_neurotoxicity(d, "icans_astct2019")
    grades = g.set_index("patient_id")["grade"]
    assert (grades["P1"], grades["P2"], grades["P3"]) == (0, 3, 2)
    assert any("P1 day 5" in n and "intracranial haemorrhage" in n
               for n in g.attrs["excluded"])
