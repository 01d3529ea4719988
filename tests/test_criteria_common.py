"""Shared builders for the criteria tests (+ tests of the daily reduction itself)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria.daily import daily_features, level
from remission.vocab.vocabulary import VOCABULARY, normalise_observations


def obs_frame(rows: list[tuple]) -> pd.DataFrame:
    """Raw long table from (patient, day, variable, value[, unit[, time]]) tuples."""
    recs = []
    for r in rows:
        pid, day, var, val = r[:4]
        v = VOCABULARY[var]
        unit = r[4] if len(r) > 4 else (v.unit if v.kind == "numeric" else "category")
        unit = {"°C": "C", "10^9/L": "10^9/L"}.get(unit, unit)
        time = r[5] if len(r) > 5 else ""
        recs.append({"patient_id": pid, "day": day, "time": time, "variable": var,
                     "value": str(val), "unit": unit})
    return pd.DataFrame(recs)


CANONICAL_COLUMNS = ["patient_id", "day", "time", "variable", "value", "category"]


def canonical_frame(rows: list[tuple], categorical: bool = False) -> pd.DataFrame:
    """Canonical-like table from (patient, day, time or None, variable, value) tuples.

    The typed long table the daily rules read after normalisation; ``categorical``
    gives the key columns pandas' category dtype, as a parquet study does.
    """
    df = pd.DataFrame([(*r, None) for r in rows], columns=CANONICAL_COLUMNS)
    df = df.astype({"patient_id": object, "day": np.int64, "time": object,
                    "variable": object, "value": float, "category": object})
    if categorical:
        df = df.astype({"patient_id": "category", "variable": "category",
                        "category": "category"})
    return df


def daily_from(rows: list[tuple], weight_kg=None) -> pd.DataFrame:
    return daily_features(normalise_observations(obs_frame(rows), weight_kg))


def one_day(**values) -> pd.DataFrame:
    """A single patient-day (P1, day 1) with the given variables."""
    return daily_from([("P1", 1, k, v) for k, v in values.items()])


@pytest.mark.parametrize("method", ["dense", "sorted"])
def test_daily_reduction_takes_worst_of_day(method):
    rows = [
        ("P1", 1, "temperature", 37.2), ("P1", 1, "temperature", 38.4, "C", "14:00"),
        ("P1", 1, "anc", 0.9), ("P1", 1, "anc", 0.4, "10^9/L", "18:00"),
        ("P1", 1, "oxygen_device", "nasal_cannula"),
        ("P1", 1, "oxygen_device", "non_rebreather", "category", "20:00"),
        ("P2", 3, "ice_score", 8), ("P2", 3, "ice_score", 5, "points", "10:00"),
    ]
    d = daily_features(normalise_observations(obs_frame(rows)), method=method)
    p1 = d[d.patient_id == "P1"].iloc[0]
    assert p1["temperature"] == 38.4
    assert p1["anc"] == 0.4
    assert p1["oxygen_device"] == level("oxygen_device", "non_rebreather")
    p2 = d[d.patient_id == "P2"].iloc[0]
    assert p2["ice_score"] == 5 and p2["day"] == 3
    assert np.isnan(p2["temperature"])


def test_sustained_fever_needs_more_than_an_hour():
    rows = [("P1", 2, "temperature", 38.1, "C", t) for t in ("08:00", "09:00")]
    rows += [("P2", 2, "temperature", 38.1, "C", t) for t in ("08:00", "08:30", "09:01")]
    rows += [("P3", 2, "temperature", x, "C", t) for x, t in ((38.1, "08:00"), (37.5, "08:40"),
                                                              (38.2, "09:30"))]
    d = daily_from(rows).set_index("patient_id")
    assert not d.loc["P1", "fever_sustained"]  # exactly 60 min is not "more than one hour"
    assert d.loc["P2", "fever_sustained"]
    assert not d.loc["P3", "fever_sustained"]  # interrupted by a reading < 38.0


def test_categorical_key_columns_give_identical_daily_features():
    from remission.vocab.vocabulary import normalise_observations as norm

    rows = [("P2", 1, "temperature", 38.4), ("P1", 1, "temperature", 37.0),
            ("P1", 1, "oxygen_device", "bipap"), ("P2", 2, "consciousness", "unarousable"),
            ("P1", 3, "anc", 0.4), ("P1", 3, "anc", 0.2, "10^9/L", "18:00")]
    obs = norm(obs_frame(rows))
    plain = daily_features(obs)
    cat = daily_features(obs.astype({"patient_id": "category", "variable": "category",
                                     "category": "category"}))
    pd.testing.assert_frame_equal(plain, cat)
