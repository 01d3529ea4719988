"""Clock time in grading (issue 10, "Clock time").

Sources quoted in each test: CTCAE v5.0 febrile neutropenia ("ANC <1000/mm3 with a
single temperature of >38.3 degrees C (101 degrees F) or a sustained temperature of
>=38 degrees C (100.4 degrees F) for more than one hour"); ASTCT 2019 (Lee DW et al.,
BBMT 2019;25:625): grade 4 hypotension "requiring multiple vasopressors (excluding
vasopressin)", and "fever is no longer required to grade subsequent CRS severity" once
tocilizumab or steroids have been given.
"""

from __future__ import annotations

import pandas as pd

from remission.derive.criteria import grade_all, grade_crs, grade_febrile_neutropenia
from remission.derive.criteria.daily import daily_features
from remission.vocab.vocabulary import normalise_observations
from tests.test_criteria_common import obs_frame


def _obs(rows):
    return normalise_observations(obs_frame(rows))


def test_sustained_fever_across_midnight_counts():
    # 38.2 at 23:30 on day 3, 38.3 at 00:45 on day 4: >= 38.0 for 75 min (> 1 h) with
    # ANC 0.8 (< 1.0) on day 4 -> febrile neutropenia (CTCAE v5.0 grade 3)
    obs = _obs([("P1", 3, "temperature", 38.2, "C", "23:30"),
                ("P1", 4, "temperature", 38.3, "C", "00:45"), ("P1", 4, "anc", 0.8),
                ("P2", 3, "temperature", 38.2, "C", "23:30"),
                ("P2", 4, "temperature", 38.3, "C", "00:20"), ("P2", 4, "anc", 0.8)])
    fn = grade_febrile_neutropenia(daily_features(obs), window_days=0)
    assert fn[["patient_id", "day"]].values.tolist() == [["P1", 4]]  # P2: 50 min only


def test_sequential_vasopressors_are_not_multiple():
    # norepinephrine 08:00-12:00, then replaced by phenylephrine at 12:00: one at a time
    # -> ASTCT grade 3 (one vasopressor), not 4
    seq = _obs([("P1", 2, "temperature", 38.5, "C", "07:00"),
                ("P1", 2, "norepinephrine", 5, "µg/min", "08:00"),
                ("P1", 2, "norepinephrine", 0, "µg/min", "12:00"),
                ("P1", 2, "phenylephrine", 50, "µg/min", "12:00")])
    g = grade_crs(daily_features(seq), "astct2019")
    assert g["grade"].tolist() == [3] and g.attrs["assumptions"] == []
    # phenylephrine added at 10:00 while norepinephrine still runs -> grade 4
    conc = _obs([("P1", 2, "temperature", 38.5, "C", "07:00"),
                 ("P1", 2, "norepinephrine", 5, "µg/min", "08:00"),
                 ("P1", 2, "phenylephrine", 50, "µg/min", "10:00"),
                 ("P1", 2, "norepinephrine", 0, "µg/min", "12:00")])
    assert grade_crs(daily_features(conc), "astct2019")["grade"].tolist() == [4]


def test_untimed_vasopressors_assumed_concurrent_and_said():
    obs = _obs([("P1", 2, "temperature", 38.5), ("P1", 2, "norepinephrine", 5),
                ("P1", 2, "phenylephrine", 50)])
    g = grade_crs(daily_features(obs), "astct2019")
    assert g["grade"].tolist() == [4]
    assert "assumed given at the same time" in g.attrs["assumptions"][0]


def test_waiver_starts_at_the_drug_time():
    # day 1 febrile CRS. Day 2 afebrile: facemask at 09:00 (grade 3 if fever were waived),
    # tocilizumab at 14:00, nasal cannula 2 L/min at 16:00 (low flow, grade 2). Before the
    # drug fever is still required, so day 2 is grade 2, not 3.
    rows = [("P1", 1, "temperature", 38.6, "C", "08:00"),
            ("P1", 2, "temperature", 37.2, "C", "09:00"),
            ("P1", 2, "oxygen_device", "facemask", "category", "09:00"),
            ("P1", 2, "oxygen_device", "nasal_cannula", "category", "16:00"),
            ("P1", 2, "oxygen_flow", 2, "L/min", "16:00"),
            ("P1", 3, "oxygen_device", "facemask", "category", "09:00")]
    obs = _obs(rows)
    tx = pd.DataFrame({"patient_id": ["P1"], "agent": ["tocilizumab"], "start_day": [2],
                       "time": ["14:00"]})
    g = grade_crs(daily_features(obs), "astct2019", tx, obs=obs).set_index("day")["grade"]
    assert (g[1], g[2], g[3]) == (1, 2, 3)
    out = grade_all(obs, treatments=tx, response=None)
    assert out["crs_daily"].set_index("day")["grade"][2] == 2


def test_waiver_without_drug_time_covers_the_day_and_says_so():
    rows = [("P1", 1, "temperature", 38.6), ("P1", 2, "temperature", 37.2),
            ("P1", 2, "oxygen_device", "facemask")]
    obs = _obs(rows)
    tx = pd.DataFrame({"patient_id": ["P1"], "agent": ["tocilizumab"], "start_day": [2]})
    g = grade_crs(daily_features(obs), "astct2019", tx, obs=obs)
    assert g.set_index("day")["grade"][2] == 3
    assert any("whole day" in a for a in g.attrs["assumptions"])


def test_treatment_time_must_be_hh_mm(tmp_path):
    import shutil
    from pathlib import Path

    import pytest

    from remission.errors import InputError
    from remission.study import load_study

    dst = tmp_path / "s"
    shutil.copytree(Path(__file__).parents[1] / "examples" / "synthetic-cart-raw", dst)
    tx = pd.read_csv(dst / "treatments.csv")
    tx["time"] = ""
    tx.loc[0, "time"] = "25:00"
    tx.loc[1, "time"] = "08:30"
    tx.to_csv(dst / "treatments.csv", index=False)
    with pytest.raises(InputError) as e:
        load_study(dst)
    (p,) = e.value.problems
    assert (p.row, p.column, p.value) == (2, "time", "25:00")
