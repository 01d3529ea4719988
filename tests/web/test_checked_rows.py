"""The validator's answer for a day's rows is kept per (patient, day, rows) in each
process (remission.web.forms.check_day_rows): the same rows are checked once, and any
change of a cell, a row, the patient or the day is checked again, with the answer the
study validator gives for the new rows (remission.study.check_rows, the one validator)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def validator_calls(monkeypatch):
    """Every call of the study validator made by check_day_rows (the memo emptied)."""
    from remission.web import forms

    forms._checked_day_rows.cache_clear()
    real, calls = forms.check_rows, []

    def counted(table, df, *a, **k):
        calls.append(df.copy())
        return real(table, df, *a, **k)

    monkeypatch.setattr(forms, "check_rows", counted)
    yield calls
    forms._checked_day_rows.cache_clear()


def _direct(pid, day, rows):
    """The study validator on the rows as observations.csv would hold them."""
    from remission.study import check_rows

    df = pd.DataFrame([{"patient_id": pid, "day": str(day), **r} for r in rows]).fillna("")
    df.index = pd.RangeIndex(2, 2 + len(df), name="line")
    return check_rows("observations", df)[1]


def _shown(problems):
    return [(p.row, p.column, p.message, p.value) for p in problems]


def test_same_rows_checked_once_and_every_change_checked_again(validator_calls):
    from remission.web.forms import check_day_rows

    t = {"variable": "temperature", "value": "38.5", "unit": "°C", "time": "08:00"}
    ne = {"variable": "norepinephrine", "value": "8", "unit": "µg/min", "time": "08:00"}
    day = [t, ne]
    assert check_day_rows("P01", 3, day) == []
    assert check_day_rows("P01", 3, [dict(r) for r in day]) == []  # equal rows: kept
    assert len(validator_calls) == 1
    changes = [
        # (rows, what the validator must say) -- each a new check
        ([{**t, "value": "58"}, ne], [(2, "value", "temperature value out of plausible range",
                                       "58")]),
        ([t, {**ne, "unit": "mmHg"}], [(3, "unit", "unknown unit for norepinephrine",
                                        "mmHg")]),
        ([t, ne, {**t, "value": "39.0"}],  # same patient, day, time: one value only
         [(4, "value", "duplicated observation of temperature with a different value "
                       "(same patient, day and time as line 2)", "39.0")]),
        ([t, ne, {**t, "value": "39.0", "time": "09:00"}], []),  # another time: fine
        ([t, {**ne, "time": "8:70"}], [(3, "time", "time is not HH:MM", "8:70")]),
        ([{**t, "attributed_to": "infection"}, {**ne, "attributed_to": ""}], []),
        ([t, ne], []),  # back to the first rows: kept, not checked again
    ]
    for rows, want in changes:
        got = check_day_rows("P01", 3, rows)
        assert [x[:3] for x in _shown(got)] == [x[:3] for x in want], rows
        assert [str(x[3]) for x in _shown(got)] == [x[3] for x in want], rows
        assert _shown(got) == _shown(_direct("P01", 3, rows)), rows
    assert len(validator_calls) == 1 + len(changes) - 1
    # the patient and the day are part of what is checked
    assert [(p.column, p.message) for p in check_day_rows("", 3, day)][:1] == \
        [("patient_id", "value is missing")]
    assert check_day_rows("P01", 4, day) == []
    assert len(validator_calls) == len(changes) + 2


def test_a_caller_changing_its_answer_changes_no_later_answer(validator_calls):
    from remission.web.forms import check_day_rows

    rows = [{"variable": "temperature", "value": "58", "unit": "°C", "time": ""}]
    first = check_day_rows("P01", 1, rows)
    first.clear()
    again = check_day_rows("P01", 1, rows)
    assert [p.column for p in again] == ["value"] and len(validator_calls) == 1


def _records_frame(key):
    """The validator's frame as _check_day_rows built it before (records, then missing
    cells filled with "")."""
    patient_id, day, rows = key
    df = pd.DataFrame([{"patient_id": patient_id, "day": str(day), "time": r.get("time", ""),
                        "variable": r["variable"], "value": r["value"],
                        "unit": r.get("unit", ""),
                        **{k: v for k, v in r.items()
                           if k not in ("time", "variable", "value", "unit")}}
                       for r in map(dict, rows)]).fillna("")
    df.index = pd.RangeIndex(2, 2 + len(df), name="line")
    return df


def test_the_day_rows_frame_is_the_records_frame():
    """The column-wise frame equals the records frame (values, dtypes, column order, index)
    on random forms: missing time/unit, extra columns appearing in a later row first,
    empty cells, and cells that are not text (the general path)."""
    import random

    from remission.web.forms import _day_rows_frame

    rng = random.Random(17)
    extras = ("attributed_to", "comment", "site")
    for _ in range(300):
        rows = []
        for _ in range(rng.randint(1, 6)):
            r = {"variable": rng.choice(["temperature", "sbp", "oxygen_device", "x"]),
                 "value": rng.choice(["38.5", "", "nasal_cannula", "85"])}
            if rng.random() < 0.7:
                r["unit"] = rng.choice(["C", "", "mmHg"])
            if rng.random() < 0.6:
                r["time"] = rng.choice(["08:00", ""])
            for e in extras:
                if rng.random() < 0.2:
                    r[e] = rng.choice(["sepsis", "", "<b>&"])
            if rng.random() < 0.05:
                r["value"] = rng.choice([None, 38.5, float("nan"), 3])
            rows.append(dict(sorted(r.items(), key=lambda kv: rng.random())))
        key = ("P0" + str(rng.randint(1, 3)), rng.randint(-3, 30),
               tuple(tuple(r.items()) for r in rows))
        got, want = _day_rows_frame(key), _records_frame(key)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert list(got.columns) == list(want.columns)


def test_problems_only_check_gives_the_typed_checks_problems():
    """check_rows(..., typed=False), as check_day_rows calls it, reports exactly the
    problems of the typed check (type_table's cell problems and the observation rules)
    on random observation rows: bad days, times, values, units, blank patient IDs."""
    import random

    from remission.study import check_rows

    rng = random.Random(5)
    for _ in range(150):
        n = rng.randint(1, 6)
        df = pd.DataFrame({
            "patient_id": [rng.choice(["P01", "", "NA"]) for _ in range(n)],
            "day": [rng.choice(["3", "x", "", "2.5", "-1"]) for _ in range(n)],
            "time": [rng.choice(["08:00", "", "8:70", "25:00"]) for _ in range(n)],
            "variable": [rng.choice(["temperature", "anc", "oxygen_device", "x"])
                         for _ in range(n)],
            "value": [rng.choice(["38.5", "58", "", "abc", "nasal_cannula", "0.4"])
                      for _ in range(n)],
            "unit": [rng.choice(["C", "", "10^9/L", "mmHg"]) for _ in range(n)]},
            index=pd.RangeIndex(2, 2 + n, name="line"))
        typed, want = check_rows("observations", df)
        none, got = check_rows("observations", df, typed=False)
        assert none is None and typed is not None
        assert _shown(got) == _shown(want)
