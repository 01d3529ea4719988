"""The fast paths of the vectorised engines give the hand-computed answers.

Covers the shortcuts added for speed (issue 3): categorical patient codes reused in
category order with unobserved categories, the no-duplicate proof for tables grouped by
variable, min/max folding of duplicates in the dense grid, patient rows found without a
string search, and CTCAE grades by counting the bounds crossed. Expected values are
worked out by hand from the rules (criteria.md; CTCAE v5.0; Rejeski 2023).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria import ctcae_grade, daily_features, early_icaht
from remission.derive.criteria.daily import _no_duplicates

METHODS = ("auto", "dense", "sorted")


def _obs(rows):
    return pd.DataFrame(rows, columns=["patient_id", "day", "variable", "value", "category"])


@pytest.mark.parametrize("method", METHODS)
def test_categorical_ids_keep_category_order_and_drop_unobserved(method):
    obs = _obs([
        ("P1", 2, "anc", 0.9, None),
        ("P2", 0, "temperature", 37.0, None),
        ("P1", 2, "anc", 0.4, None),          # duplicate: ANC takes the day's minimum
        ("P2", 0, "temperature", 39.1, None),  # duplicate: temperature takes the maximum
        ("P1", 2, "anc", np.nan, None),       # missing value ignored
        ("P2", 0, "temperature", 38.2, None),
        ("P1", 5, "temperature", np.nan, None),  # a day with only missing values: no row
        ("P2", 1, "oxygen_device", np.nan, "cpap"),
        ("P2", 1, "oxygen_device", np.nan, "nasal_cannula"),  # worst device kept
    ]).astype({"patient_id": pd.CategoricalDtype(["P3", "P2", "P1"]),
               "variable": "category", "category": "category"})
    d = daily_features(obs, method)
    assert list(d["patient_id"]) == ["P2", "P2", "P1"]  # category order, P3 never observed
    assert list(d["day"]) == [0, 1, 2]
    assert d["temperature"].iat[0] == 39.1
    assert d["anc"].iat[2] == 0.4
    assert d["oxygen_device"].iat[1] == 7  # cpap: level 7 (room_air 0 ... cpap 7)
    assert d["patient_id"].dtype == object and d["sbp"].isna().all()


def test_grouped_sorted_table_without_duplicates():
    obs = _obs([("A", d, "anc", v, None) for d, v in [(0, 1.0), (1, 0.2), (3, 0.7)]]
               + [("A", d, "temperature", v, None) for d, v in [(0, 38.5), (3, 36.9)]]
               + [("B", 0, "temperature", 40.0, None)])
    obs = obs.sort_values(["variable", "patient_id", "day"], kind="stable")
    d = daily_features(obs, "dense").set_index(["patient_id", "day"])
    assert d.loc[("A", 1), "anc"] == 0.2 and d.loc[("A", 3), "anc"] == 0.7
    assert d.loc[("A", 0), "temperature"] == 38.5 and d.loc[("B", 0), "temperature"] == 40.0
    assert np.isnan(d.loc[("A", 1), "temperature"]) and len(d) == 4


def test_no_duplicate_proof_is_conservative():
    i8 = np.int8
    assert _no_duplicates(np.array([5, 6, 1, 2]), np.array([1, 1, 0, 0], dtype=i8))
    assert not _no_duplicates(np.array([5, 5]), np.array([1, 1], dtype=i8))  # same cell
    # variable 1 comes back after variable 0: not proven (cell 5 is hit twice)
    assert not _no_duplicates(np.array([5, 6, 1, 5]), np.array([1, 1, 0, 1], dtype=i8))


def test_early_icaht_rows_in_any_order():
    # B: ANC 0.3 on days 0-9 then 2.0 -> 10 days <= 500/µL -> grade 2; A: never low -> 0
    rows = [("B", d, 0.3 if d <= 9 else 2.0) for d in range(31)]
    rows += [("A", d, 3.0) for d in range(31)]
    daily = pd.DataFrame(rows, columns=["patient_id", "day", "anc"])
    daily = daily.sample(frac=1.0, random_state=3).reset_index(drop=True)
    e = early_icaht(daily)
    assert list(e["patient_id"]) == ["A", "B"]
    assert list(e["icaht_early_grade"]) == [0, 2]
    assert list(e["days_anc_le500"]) == [0, 10]


def test_ctcae_bound_counting_at_the_boundaries():
    x = np.array([1.5, 1.49, 1.0, 0.999, 0.5, 0.49, 0.0, np.nan])
    # CTCAE v5.0 neutrophils: <1.5-1.0 = 2, <1.0-0.5 = 3, <0.5 = 4; >= 1.5 needs the LLN
    np.testing.assert_array_equal(ctcae_grade(x, "anc", None),
                                  [np.nan, 2, 2, 3, 3, 4, 4, np.nan])
    np.testing.assert_array_equal(ctcae_grade(np.array([2.0, 1.6, 1.5, 1.4]), "anc", 2.0),
                                  [0, 1, 1, 2])
    np.testing.assert_array_equal(ctcae_grade(np.array([10.0, 9.9, 8.0, 7.9]), "hemoglobin",
                                              None), [np.nan, 2, 2, 3])
