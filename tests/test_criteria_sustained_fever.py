"""CTCAE v5.0 sustained fever on arrays (daily.sustained_rows) against a brute-force oracle.

CTCAE v5.0, Febrile neutropenia: "ANC <1000/mm3 with a single temperature of >38.3
degrees C (101 degrees F) or a sustained temperature of >=38 degrees C (100.4 degrees F)
for more than one hour". remission reads "sustained" on a patient's timed readings in
clock order (day x 24 h + time, so over midnight too; readings at the same minute in
table order): consecutive readings all >= 38.0 °C whose first and last are more than 60
minutes apart; a reading below 38.0 or without a value interrupts; untimed readings are
ignored. The oracle below states that rule as a plain loop over every pair of readings
of a patient (no sort of runs, no NumPy), with its own HH:MM parsing.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria.daily import daily_features, minutes_of_day, sustained_fever
from tests.test_criteria_common import canonical_frame as frame


def oracle(rows: list[tuple]) -> set[tuple[str, int]]:
    """(patient, day) pairs with a sustained fever, by enumerating every pair of readings."""
    per: dict[str, list] = {}
    for pos, (pid, day, time, var, value) in enumerate(rows):
        if var != "temperature" or time is None:
            continue  # only timed temperature readings
        hh, mm = time.split(":")
        per.setdefault(pid, []).append((day * 1440 + int(hh) * 60 + int(mm), pos, day, value))
    marked = set()
    for pid, readings in per.items():
        readings.sort()  # clock, then table position
        for i in range(len(readings)):
            for j in range(i, len(readings)):
                stretch = readings[i:j + 1]
                # NaN >= 38 is False: a reading without a value is not a fever reading
                if not all(r[3] >= 38.0 for r in stretch):
                    break
                if readings[j][0] - readings[i][0] > 60:  # more than one hour
                    marked.update((pid, r[2]) for r in stretch)
    return marked


def found(rows: list[tuple], categorical: bool = False) -> set[tuple[str, int]]:
    """The sustained-fever patient-days of daily_features (both methods) and of
    sustained_fever, checked equal, as one set."""
    obs = frame(rows, categorical)
    sets = []
    for method in ("dense", "sorted"):
        d = daily_features(obs, method=method)
        hit = d[d["fever_sustained"].to_numpy(dtype=bool)]
        sets.append({(str(p), int(x)) for p, x in zip(hit["patient_id"], hit["day"],
                                                     strict=True)})
    sf = sustained_fever(obs)
    sets.append({(str(p), int(x)) for p, x in zip(sf["patient_id"], sf["day"], strict=True)})
    assert sets[0] == sets[1] == sets[2]
    return sets[0]


def T(pid, day, time, value):  # a timed temperature row
    return (pid, day, time, "temperature", value)


def test_over_midnight_counts_on_both_days():
    # 38.2 at 23:30 on day 3, 38.5 at 00:45 on day 4: 75 min >= 38 °C (> 1 h)
    rows = [T("P1", 3, "23:30", 38.2), T("P1", 4, "00:45", 38.5), T("P1", 4, "06:00", 37.1)]
    assert found(rows) == oracle(rows) == {("P1", 3), ("P1", 4)}


def test_exactly_one_hour_is_not_more_than_one_hour():
    exactly = [T("P1", 2, "08:00", 38.1), T("P1", 2, "09:00", 38.4)]
    assert found(exactly) == oracle(exactly) == set()
    longer = [T("P1", 2, "08:00", 38.1), T("P1", 2, "09:01", 38.4)]
    assert found(longer) == {("P1", 2)}
    # 38.0 itself is a fever reading (">= 38 degrees C")
    at_threshold = [T("P1", 2, "08:00", 38.0), T("P1", 2, "9:30", 38.0)]
    assert found(at_threshold) == {("P1", 2)}


def test_a_lower_or_missing_reading_interrupts_and_untimed_ones_are_ignored():
    lower = [T("P1", 2, "08:00", 38.1), T("P1", 2, "08:40", 37.9), T("P1", 2, "09:30", 38.2)]
    assert found(lower) == set()
    # a timed reading without a value does not show the fever went on
    missing = [T("P1", 2, "08:00", 38.1), T("P1", 2, "08:40", math.nan),
               T("P1", 2, "09:30", 38.2)]
    assert found(missing) == oracle(missing) == set()
    # an untimed 37.0 neither interrupts nor (an untimed 39.0) extends a timed run
    untimed = [T("P1", 2, "08:00", 38.1), ("P1", 2, None, "temperature", 37.0),
               T("P1", 2, "09:30", 38.2), ("P1", 3, None, "temperature", 39.0)]
    assert found(untimed) == oracle(untimed) == {("P1", 2)}


def test_patients_interleaved_and_unsorted():
    # P1 08:00 and 09:30 (90 min) with P2's 08:30 reading between them in the table and
    # on the clock; P2's 23:50 reading is not joined to P3's 00:30-01:00 (30 min) the next
    # day (joined they would last 70 min)
    rows = [T("P1", 1, "09:30", 38.6), T("P2", 1, "08:30", 38.7), T("P1", 1, "08:00", 38.5),
            T("P2", 1, "09:00", 37.0), T("P2", 1, "23:50", 38.4), T("P3", 2, "00:30", 38.9),
            T("P3", 2, "01:00", 38.9)]
    assert found(rows) == oracle(rows) == {("P1", 1)}
    assert found(rows[::-1]) == {("P1", 1)}


def test_duplicate_times_single_reading_and_empty():
    dup = [T("P1", 1, "08:00", 38.2), T("P1", 1, "08:00", 38.3), T("P1", 1, "09:05", 38.1)]
    assert found(dup) == oracle(dup) == {("P1", 1)}
    # same minute, a low reading after the fever reading in the table: the run ends there
    tie = [T("P1", 1, "08:00", 38.4), T("P1", 1, "09:00", 38.4), T("P1", 1, "09:00", 37.0),
           T("P1", 1, "10:30", 38.5)]
    assert found(tie) == oracle(tie) == set()
    # the low reading first in the table: 09:00-10:30 (90 min) is uninterrupted
    assert found([tie[0], tie[2], tie[1], tie[3]]) == {("P1", 1)}
    assert found([T("P1", 1, "08:00", 39.5)]) == set()
    assert found([("P1", 1, None, "anc", 0.4)]) == set()
    empty = sustained_fever(frame([]))
    assert list(empty.columns) == ["patient_id", "day", "fever_sustained"] and empty.empty


def test_categorical_and_object_keys_agree():
    rows = [T("P2", 1, "08:00", 38.5), T("P1", 1, "08:00", 38.5), T("P2", 1, "10:00", 38.5),
            ("P1", 1, "07:00", "anc", 0.3), T("P1", 1, "08:30", 37.5)]
    assert found(rows, categorical=True) == found(rows) == oracle(rows) == {("P2", 1)}


def _random_rows(rnd: random.Random) -> list[tuple]:
    rows = []
    for pid in rnd.sample(["P1", "P2", "P3", "P10"], rnd.randint(1, 4)):
        minute = rnd.randrange(1440 * 2)
        for _ in range(rnd.randint(1, 12)):
            minute += rnd.choice([0, 15, 30, 45, 60, 61, 90, 240])  # 0: a duplicate time
            day, m = divmod(minute, 1440)
            hh = f"{m // 60:02d}" if rnd.random() < 0.7 else str(m // 60)
            time = None if rnd.random() < 0.1 else f"{hh}:{m % 60:02d}"
            value = math.nan if rnd.random() < 0.05 else rnd.choice([37.5, 37.9, 38.0, 38.6])
            rows.append((pid, day, time, "temperature", value))
        rows.append((pid, rnd.randrange(3), rnd.choice([None, "12:00"]), "anc", 0.5))
    rnd.shuffle(rows)
    return rows


def test_random_tables_match_the_oracle():
    rnd = random.Random(17)
    n_marked = 0
    for case in range(300):
        rows = _random_rows(rnd)
        want = oracle(rows)
        assert found(rows, categorical=case % 2 == 1) == want, (case, rows)
        n_marked += len(want)
    assert n_marked > 100  # the cases do exercise the rule


@pytest.mark.parametrize("width", [4, 5])
def test_minutes_of_day_every_minute(width):
    times = [f"{h:02d}:{m:02d}" if width == 5 or h >= 10 else f"{h}:{m:02d}"
             for h in range(24) for m in range(60)]
    want = [float(h * 60 + m) for h in range(24) for m in range(60)]
    assert minutes_of_day(pd.Series(times)).tolist() == want
    assert minutes_of_day(np.array(times, dtype=object)).tolist() == want
    assert minutes_of_day([]).tolist() == []


@pytest.mark.parametrize("bad", ["8", "08:3", "0830", "08-30", "ab:cd", "123:45", "", "08:30:00"])
def test_minutes_of_day_refuses_what_is_not_hh_mm(bad):
    with pytest.raises(ValueError, match="H:MM or HH:MM"):
        minutes_of_day(pd.Series(["08:00", bad]))
