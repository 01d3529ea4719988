"""ASTCT 2019 "multiple vasopressors" on arrays (daily.concurrent_pressor_days) against a
brute-force oracle.

ASTCT 2019 (Lee DW et al., BBMT 2019;25:625), CRS grade 4: hypotension "requiring
multiple vasopressors (excluding vasopressin)"; given together, not one replacing
another. remission reads each timed dose > 0 of a drug as running from its time until
that drug's next timed reading for the patient (0 there = stopped; readings at the same
minute in table order), or, for its last reading, to the end of that day; a day's count
is the most drugs running at any start time that day, a drug stopping at the very
minute another starts not counted with it. A day with an untimed reading is left to the
grader (NaN; it assumes concurrency and says so). The oracle below states that rule as
plain loops: every start time of the day against every dose interval of every drug.
"""

from __future__ import annotations

import math
import random

from remission.derive.criteria.daily import (
    PRESSORS,
    concurrent_pressors,
    daily_features,
)
from tests.test_criteria_common import canonical_frame as frame


def oracle(rows: list[tuple]) -> dict[tuple[str, int], tuple[float, bool]]:
    """(patient, day) -> (most drugs running at once, every reading timed), by enumeration."""
    days: dict[tuple[str, int], list[bool]] = {}
    timed: dict[str, list] = {}
    for pos, (pid, day, time, var, dose) in enumerate(rows):
        if var not in PRESSORS:  # vasopressin and other variables do not count
            continue
        days.setdefault((pid, day), []).append(time is not None)
        if time is not None:
            hh, mm = time.split(":")
            timed.setdefault(pid, []).append((day * 1440 + int(hh) * 60 + int(mm), pos, day,
                                              var, dose))
    intervals: dict[str, list] = {}  # patient -> (drug, start, stop, day of the start)
    for pid, readings in timed.items():
        readings.sort()  # clock, then table position
        for i, (start, _, day, var, dose) in enumerate(readings):
            later = [r[0] for r in readings[i + 1:] if r[3] == var]
            stop = later[0] if later else (day + 1) * 1440  # else: to the end of its day
            if dose > 0:  # NaN is not > 0
                intervals.setdefault(pid, []).append((var, start, stop, day))
    out = {}
    for (pid, day), flags in days.items():
        if not any(flags):
            out[(pid, day)] = (math.nan, False)
            continue
        best = 0
        for _, s, stop_s, d in intervals.get(pid, []):
            if d != day or not s < stop_s:
                continue  # a start time of this day (of a dose that runs)
            running = {v for v, a, b, _ in intervals[pid] if a <= s < b}
            best = max(best, len(running))
        out[(pid, day)] = (float(best), all(flags))
    return out


def found(rows: list[tuple], categorical: bool = False) -> dict:
    """concurrent_pressors as the oracle's dict, after checking daily_features' column."""
    obs = frame(rows, categorical)
    cp = concurrent_pressors(obs)
    got = {(p, int(d)): (n, bool(a)) for p, d, n, a in
           zip(cp["patient_id"], cp["day"], cp["n_concurrent"], cp["all_timed"], strict=True)}
    assert list(zip(cp["patient_id"], cp["day"], strict=True)) == sorted(got)
    observed = {v for v in obs["variable"].astype(str) if v in PRESSORS}
    for method in ("dense", "sorted"):
        daily = daily_features(obs, method=method)
        if len(observed) < 2:  # one vasopressor: never "multiple", no column
            assert "pressors_concurrent" not in daily.columns
            continue
        for p, d, x in zip(daily["patient_id"].astype(str), daily["day"],
                           daily["pressors_concurrent"], strict=True):
            n, all_timed = got.get((p, int(d)), (math.nan, False))
            want = n if all_timed else math.nan
            assert x == want or (math.isnan(x) and math.isnan(want)), (p, d, x, want)
    return got


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        x[1] == y[1] and (x[0] == y[0] or (math.isnan(x[0]) and math.isnan(y[0])))
        for x, y in ((a[k], b[k]) for k in a))


NE, EPI, PE, VP = "norepinephrine", "epinephrine", "phenylephrine", "vasopressin"


def test_one_replacing_another_is_not_multiple():
    # norepinephrine 08:00-12:00 (0 at 12:00), phenylephrine from 12:00: one at a time
    rows = [("P1", 2, "08:00", NE, 0.1), ("P1", 2, "12:00", NE, 0.0),
            ("P1", 2, "12:00", PE, 50.0)]
    assert found(rows) == {("P1", 2): (1.0, True)} and same(oracle(rows), found(rows))
    # phenylephrine added at 10:00 while norepinephrine runs: two at once (grade 4)
    rows = [("P1", 2, "08:00", NE, 0.1), ("P1", 2, "10:00", PE, 50.0),
            ("P1", 2, "12:00", NE, 0.0)]
    assert found(rows) == {("P1", 2): (2.0, True)} and same(oracle(rows), found(rows))


def test_vasopressin_is_excluded_and_three_drugs_count_three():
    rows = [("P1", 1, "08:00", NE, 0.1), ("P1", 1, "08:30", VP, 0.03)]
    assert found(rows) == {("P1", 1): (1.0, True)}
    rows = [("P1", 1, "08:00", NE, 0.1), ("P1", 1, "08:30", EPI, 0.05),
            ("P1", 1, "9:15", PE, 40.0)]
    assert found(rows) == {("P1", 1): (3.0, True)} and same(oracle(rows), found(rows))


def test_a_dose_runs_over_midnight_until_the_next_reading_the_last_to_the_day_end():
    # norepinephrine from 22:00 on day 1 until its 0 at 10:00 on day 2; epinephrine from
    # 01:00 on day 2: two at once on day 2, one on day 1
    rows = [("P1", 1, "22:00", NE, 0.1), ("P1", 2, "01:00", EPI, 0.05),
            ("P1", 2, "10:00", NE, 0.0)]
    assert found(rows) == {("P1", 1): (1.0, True), ("P1", 2): (2.0, True)}
    # the last reading of norepinephrine (20:00 day 1) runs to the end of day 1 only
    rows = [("P1", 1, "20:00", NE, 0.1), ("P1", 2, "01:00", EPI, 0.05)]
    assert found(rows) == {("P1", 1): (1.0, True), ("P1", 2): (1.0, True)}
    assert same(oracle(rows), found(rows))


def test_zero_missing_and_untimed_doses():
    # a dose without a value stops the drug's previous dose and does not run
    rows = [("P1", 1, "08:00", NE, 0.1), ("P1", 1, "09:00", NE, math.nan),
            ("P1", 1, "10:00", EPI, 0.05)]
    assert found(rows) == {("P1", 1): (1.0, True)} and same(oracle(rows), found(rows))
    # an untimed reading that day: the timed ones counted, but left to the grader
    # (all_timed False, daily NaN);
    # a day with untimed readings only: no count
    rows = [("P1", 1, "08:00", NE, 0.1), ("P1", 1, None, EPI, 0.05),
            ("P1", 2, None, NE, 0.1), ("P1", 2, None, EPI, 0.05)]
    got = found(rows)
    assert got[("P1", 1)] == (1.0, False) and math.isnan(got[("P1", 2)][0])
    assert not got[("P1", 2)][1] and same(oracle(rows), got)
    # only zero doses timed: a day with timed readings and nothing running counts 0
    rows = [("P1", 1, "08:00", NE, 0.0), ("P1", 1, "09:00", EPI, 0.0)]
    assert found(rows) == {("P1", 1): (0.0, True)}


def test_duplicate_times_interleaved_patients_single_and_empty():
    # two norepinephrine readings at 08:00: the first runs for no time, the second on
    rows = [("P1", 1, "08:00", NE, 0.1), ("P1", 1, "08:00", NE, 0.2),
            ("P1", 1, "08:30", EPI, 0.05)]
    assert found(rows) == {("P1", 1): (2.0, True)}
    # P2's doses overlap P1's in time: never counted together
    rows = [("P2", 1, "08:30", EPI, 0.05), ("P1", 1, "08:00", NE, 0.1),
            ("P10", 1, "09:00", PE, 30.0), ("P1", 1, "12:00", NE, 0.0)]
    want = {("P1", 1): (1.0, True), ("P10", 1): (1.0, True), ("P2", 1): (1.0, True)}
    assert found(rows) == want and found(rows[::-1]) == want
    assert found(rows, categorical=True) == want
    assert found([("P1", 1, "08:00", NE, 0.1)]) == {("P1", 1): (1.0, True)}
    assert found([("P1", 1, "08:00", "temperature", 38.5)]) == {}
    empty = concurrent_pressors(frame([]))
    assert list(empty.columns) == ["patient_id", "day", "n_concurrent", "all_timed"]
    assert empty.empty


def _random_rows(rnd: random.Random) -> list[tuple]:
    rows = []
    for pid in rnd.sample(["P1", "P2", "P3", "P10"], rnd.randint(1, 4)):
        minute = rnd.randrange(1440 * 2)
        for _ in range(rnd.randint(1, 12)):
            minute += rnd.choice([0, 0, 30, 60, 120, 300, 900])  # 0: the same minute
            day, m = divmod(minute, 1440)
            hh = f"{m // 60:02d}" if rnd.random() < 0.7 else str(m // 60)
            time = None if rnd.random() < 0.1 else f"{hh}:{m % 60:02d}"
            var = rnd.choice([NE, NE, EPI, PE, "dopamine", VP, "sbp"])
            dose = rnd.choice([0.0, 0.05, 0.1, 0.1, math.nan]) if var != "sbp" else 85.0
            rows.append((pid, day, time, var, dose))
    rnd.shuffle(rows)
    return rows


def test_random_tables_match_the_oracle():
    rnd = random.Random(23)
    multiple = 0
    for case in range(200):
        rows = _random_rows(rnd)
        want = oracle(rows)
        got = found(rows, categorical=case % 2 == 1)
        assert same(got, want), (case, rows, got, want)
        multiple += sum(n >= 2 for n, _ in want.values())
    assert multiple > 60  # the cases do exercise the rule
