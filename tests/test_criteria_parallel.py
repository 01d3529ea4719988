"""Grading on patient chunks in threads gives the same tables as one call.

The oracle for ``workers > 1`` is the single-threaded call (itself checked against
hand-computed grades in the other criteria tests): same rows, order, dtypes and values.
The chunking helpers are checked on hand-worked cases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria import grade_all
from remission.derive.criteria.parallel import (
    _bounds,
    concat_outputs,
    map_patient_chunks,
    patient_chunks,
    resolve_workers,
)
from remission.derive.vocabulary import VOCABULARY, normalise_observations

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "examples" / "synthetic-cart-raw"
LLN = {"anc": 1.8, "platelets": 150.0, "wbc": 4.0, "lymphocytes": 1.0, "hemoglobin": 12.0}


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert list(a[key].dtypes) == list(b[key].dtypes), key
        pd.testing.assert_frame_equal(a[key], b[key], check_exact=True, obj=key)


@pytest.fixture(scope="module")
def study():
    raw = pd.read_csv(FOLDER / "observations.csv", dtype=str, keep_default_na=False)
    pts = pd.read_csv(FOLDER / "patients.csv")
    obs = normalise_observations(raw, pts.set_index("patient_id")["weight_kg"])
    return {"obs": obs, "patients": pts, "treatments": pd.read_csv(FOLDER / "treatments.csv"),
            "events": pd.read_csv(FOLDER / "events.csv", dtype={"value": str})}


def _grade(study, obs, workers):
    return grade_all(obs, patients=study["patients"], treatments=study["treatments"],
                     events=study["events"], lln=LLN, landmark_day=28, workers=workers)


@pytest.mark.parametrize("workers", [2, 3])
def test_synthetic_example_identical(study, workers):
    one = _grade(study, study["obs"], 1)
    _same(one, _grade(study, study["obs"], workers))
    assert one["crs"]["crs_max_grade"].max() == 5  # grade-5 deaths cross the chunks too


def test_synthetic_example_patient_split_in_file_order(study):
    obs = study["obs"]
    pid = obs["patient_id"].to_numpy()
    k = len(obs) // 2
    while pid[k - 1] != pid[k]:  # cut the file inside one patient's rows
        k += 1
    rolled = pd.concat([obs.iloc[k:], obs.iloc[:k]])  # that patient at both ends of the file
    assert rolled["patient_id"].iat[0] == rolled["patient_id"].iat[-1]
    one = _grade(study, rolled, 1)
    for w in (2, 3):
        _same(one, _grade(study, rolled, w))


def _random_obs(seed: int, n_pat: int = 37) -> pd.DataFrame:
    """Random long table: shuffled rows, duplicate readings, gaps, unsorted ids."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{k:03d}" for k in rng.permutation(n_pat)], dtype=object)
    n = 6000
    pid = ids[rng.integers(0, n_pat, n)]
    day = rng.integers(-3, 40, n)
    numeric = ["temperature", "oxygen_flow", "norepinephrine", "ice_score", "anc",
               "platelets", "hemoglobin", "wbc", "lymphocytes"]
    cats = {"oxygen_device": VOCABULARY["oxygen_device"].levels,
            "consciousness": VOCABULARY["consciousness"].levels,
            "hypotension": VOCABULARY["hypotension"].levels}
    names = numeric + list(cats)
    var = np.array(names, dtype=object)[rng.integers(0, len(names), n)]
    value = np.round(rng.gamma(2.0, 2.0, n), 1)
    value[np.isin(var, ["temperature"])] += 34.0
    value[np.isin(var, ["ice_score"])] = rng.integers(0, 11, (var == "ice_score").sum())
    category = np.full(n, None, dtype=object)
    for name, levels in cats.items():
        m = var == name
        category[m] = np.array(levels, dtype=object)[rng.integers(0, len(levels), m.sum())]
        value[m] = np.nan
    value[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame({"patient_id": pid, "day": day, "variable": var, "value": value,
                         "category": category})


@pytest.mark.parametrize("seed", [1, 2])
def test_random_table_identical_string_and_categorical_keys(seed):
    obs = _random_obs(seed)
    cat = obs.astype({"patient_id": "category", "variable": "category", "category": "category"})
    grouped = obs.sort_values("patient_id", kind="stable")  # sliced, not copied, per chunk
    for table in (obs, cat, grouped):
        one = grade_all(table, response=None)
        for w in (2, 3, 7):
            _same(one, grade_all(table, response=None, workers=w))


def test_unsorted_categories_fall_back_to_one_call():
    obs = _random_obs(3)
    ids = sorted(obs["patient_id"].unique(), reverse=True)
    cat = obs.assign(patient_id=pd.Categorical(obs["patient_id"], categories=ids))
    assert patient_chunks(cat, 2) is None
    _same(grade_all(cat, response=None), grade_all(cat, response=None, workers=2))


def test_bounds_hand_worked():
    # rows per patient 3, 1, 1, 3 (8 rows): halves after patient 1 (4 rows each)
    codes = np.repeat(np.arange(4), [3, 1, 1, 3])
    assert _bounds(codes, 2).tolist() == [0, 2, 4]
    # thirds of 8 rows: targets 2.67 and 5.33 -> cut after patient 0 and after patient 3?
    # cumulative 3, 4, 5, 8: first patient reaching 2.67 is 0, reaching 5.33 is 3 (end)
    assert _bounds(codes, 3).tolist() == [0, 1, 4]
    # one patient cannot be split
    assert _bounds(np.zeros(5, dtype=np.int64), 3).tolist() == [0, 1]


def test_block_major_tables_are_interleaved_by_block():
    a = pd.DataFrame({"patient_id": ["A", "A", "A"], "variable": ["anc", "anc", "wbc"],
                      "x": [1, 2, 3]})
    b = pd.DataFrame({"patient_id": ["B", "B"], "variable": ["anc", "wbc"], "x": [4, 5]})
    out = concat_outputs([{"t": a}, {"t": b}], {"t": ("variable", ("anc", "platelets", "wbc"))})
    assert out["t"]["x"].tolist() == [1, 2, 4, 3, 5]
    assert out["t"].index.tolist() == list(range(5))


def test_map_patient_chunks_one_worker_is_one_call():
    calls = []
    obs = _random_obs(4)
    map_patient_chunks(obs, lambda o: calls.append(len(o)) or {"n": pd.DataFrame()}, 1)
    assert calls == [len(obs)]


def test_resolve_workers():
    assert resolve_workers(3) == 3
    assert resolve_workers(None) >= 1
    with pytest.raises(ValueError):
        resolve_workers(0)
