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
