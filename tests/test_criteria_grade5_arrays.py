"""Grade 5 set on the arrays of a grader's day table (``_common._grade5_arrays``, live
grading's path) gives the table of the merge path: :func:`apply_grade5` (outer merge with
the attributed deaths, stable sort by patient and day) then :func:`infusion_window`.

Grade 5 only for a death attributed to the syndrome, on the death day, added when that
day had no observation (EBMT registry guidance; ASTCT 2019 grades 1-4 from the
observations). Random tables: several patients, death days on an observed day, on a day
without a row (before, between and after the observed days, before the first infusion),
deaths of patients absent from the table, re-infusions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria._common import (
    apply_grade5,
    graded_frame,
    graded_table,
    infusion_window,
)


def _random_case(rng: np.random.Generator):
    pids = ["P1", "P10", "P2", "Q"][: int(rng.integers(1, 5))]
    rows = []
    for p in pids:
        days = np.sort(rng.choice(np.arange(-4, 20), size=int(rng.integers(1, 9)),
                                  replace=False))
        rows += [(p, int(d)) for d in days]
    rows.sort()
    n = len(rows)
    daily = pd.DataFrame({"patient_id": np.array([r[0] for r in rows], dtype=object),
                          "day": np.array([r[1] for r in rows], dtype=np.int64)})
    grade = rng.integers(0, 5, n)
    decided = np.array(["none", "fever", "hypotension", "oxygen"], dtype=object)[
        rng.integers(0, 4, n)]
    deaths = []
    for p in [*pids, "Z"]:  # Z: a death of a patient not in the table
        if rng.random() < 0.7:
            deaths.append((p, int(rng.integers(-5, 22))))
    deaths = pd.DataFrame({"patient_id": pd.Series([d[0] for d in deaths], dtype=object),
                           "day": pd.Series([d[1] for d in deaths], dtype=np.int64)})
    inf = [(p, k + 1, int(d)) for p in pids
           for k, d in enumerate(sorted(rng.choice([-2, 0, 0, 3, 9], size=int(
               rng.integers(1, 3)), replace=False)))]
    infusions = pd.DataFrame({"patient_id": [r[0] for r in inf],
                              "infusion": [r[1] for r in inf], "day": [r[2] for r in inf]})
    return daily, grade, decided, deaths, infusions


@pytest.mark.parametrize("seed", range(40))
def test_grade5_on_arrays_equals_merge_path(seed):
    rng = np.random.default_rng(seed)
    daily, grade, decided, deaths, infusions = _random_case(rng)
    got = graded_table(daily, grade, decided, "astct2019", deaths, "death attributed to CRS",
                       infusions, "CRS")
    want = infusion_window(apply_grade5(graded_frame(daily, grade, decided, "astct2019"),
                                        deaths, "death attributed to CRS"), infusions, "CRS")
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs


def test_grade5_rows_added_in_order_and_inputs_unchanged():
    daily = pd.DataFrame({"patient_id": np.array(["P1", "P1", "P2"], dtype=object),
                          "day": np.array([1, 4, 2], dtype=np.int64)})
    grade = np.array([1, 2, 0])
    decided = np.array(["fever", "oxygen", "none"], dtype=object)
    deaths = pd.DataFrame({"patient_id": ["P2", "P1"], "day": [2, 3]})
    out = graded_table(daily, grade, decided, "astct2019", deaths, "death", None, "CRS")
    fast = graded_table(daily, grade, decided, "astct2019", deaths, "death",
                        pd.DataFrame({"patient_id": ["P1", "P2"], "infusion": [1, 1],
                                      "day": [0, 0]}), "CRS")
    assert out[["patient_id", "day", "grade"]].values.tolist() == [
        ["P1", 1, 1], ["P1", 3, 5], ["P1", 4, 2], ["P2", 2, 5]]
    assert fast["decided_by"].tolist() == ["fever", "death", "oxygen", "death"]
    assert fast[["patient_id", "day", "grade"]].values.tolist() == out[
        ["patient_id", "day", "grade"]].values.tolist()
    assert grade.tolist() == [1, 2, 0] and decided.tolist() == ["fever", "oxygen", "none"]
