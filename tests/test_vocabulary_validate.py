"""Observation vocabulary: every problem reported at once, with line numbers; conversions."""

from __future__ import annotations

import pandas as pd
import pytest

from remission.errors import InputError
from remission.vocab.units import unit_token
from remission.vocab.vocabulary import (
    VOCABULARY,
    normalise_observations,
    validate_observations,
)


def frame(rows, time=None):
    df = pd.DataFrame(rows, columns=["patient_id", "day", "variable", "value", "unit"])
    if time is not None:
        df.insert(2, "time", time)
    return df


def test_every_problem_reported_with_line_column_value_expected():
    df = frame([
        ("P1", 0, "temperature", "38.2", "C"),         # line 2 ok
        ("P1", 0, "temperature", "60", "C"),           # line 3 out of range (+ duplicate)
        ("P1", 1, "ice_score", "11", "points"),        # line 4 ICE 11
        ("P1", 1, "anc", "-0.1", "10^9/L"),            # line 5 negative count
        ("P1", 1, "anc_typo", "1", "10^9/L"),          # line 6 unknown variable
        ("P1", 2, "platelets", "40", ""),              # line 7 missing unit
        ("P1", 2, "hemoglobin", "9", "mg/dL"),         # line 8 unknown unit
        ("P1", 2, "wbc", "low", "10^9/L"),             # line 9 non-numeric
        ("P1", 2, "oxygen_device", "tent", "category"),  # line 10 unknown category
        ("P1", "d3", "anc", "1.0", "10^9/L"),          # line 11 bad day
        ("P1", 3, "ice_score", "7.5", "points"),       # line 12 ICE must be an integer
    ])
    problems = validate_observations(df, "obs.csv")
    by_line = {p.row: p for p in problems}
    assert all(p.file == "obs.csv" for p in problems)
    assert by_line[4].column == "value" and by_line[4].value == "11"
    assert "[0, 10]" in by_line[4].expected
    assert by_line[5].message == "anc value out of plausible range"
    assert by_line[6].column == "variable" and by_line[6].value == "anc_typo"
    assert by_line[7].message == "missing unit for platelets"
    assert by_line[8].message == "unknown unit for hemoglobin" and "g/dl" in by_line[8].expected
    assert by_line[9].message == "wbc value is not a number"
    assert "room_air" in by_line[10].expected
    assert by_line[11].column == "day"
    assert by_line[12].row == 12
    line3 = [p for p in problems if p.row == 3]
    assert {p.message for p in line3} == {
        "temperature value out of plausible range",
        "duplicated observation of temperature with a different value "
        "(same patient, day and time as line 2)"}
    assert len(problems) == 11  # lines 3 (twice) and 4-12


def test_missing_columns_are_file_level_problems():
    problems = validate_observations(pd.DataFrame({"patient_id": ["P1"], "day": [1]}), "o.csv")
    assert {p.message for p in problems} == {"missing required column 'variable'",
                                             "missing required column 'value'",
                                             "missing required column 'unit'"}
    assert all(p.row is None for p in problems)


def test_duplicates_only_when_values_differ_and_time_matches():
    df = frame([("P1", 1, "anc", "0.5", "10^9/L"), ("P1", 1, "anc", "500", "/µL"),
                ("P1", 1, "temperature", "38.0", "C"), ("P1", 1, "temperature", "39", "C"),
                ("P1", 2, "temperature", "38.0", "C"), ("P1", 2, "temperature", "39", "C")],
               time=["", "", "08:00", "16:00", "", ""])
    problems = validate_observations(df, "o.csv")
    # same value in other units is not a conflict; different times are not duplicates
    assert [p.row for p in problems] == [7]


@pytest.mark.parametrize("var,value,unit,expected", [
    ("temperature", "100.4", "°F", 38.0), ("temperature", "101.3", "F", 38.5),
    ("anc", "500", "cells/µL", 0.5), ("anc", "1000", "/mm³", 1.0), ("anc", "1.2", "×10⁹/L", 1.2),
    ("anc", "1.2", "x10^9/l", 1.2), ("platelets", "45", "10^3/µL", 45.0),
    ("hemoglobin", "95", "g/L", 9.5), ("hemoglobin", "6.2", "mmol/L", 10.0),
    ("il6", "0.25", "ng/mL", 250.0), ("il6", "250", "ng/L", 250.0), ("crp", "5", "mg/dL", 50.0),
    ("fio2", "0.4", "fraction", 40.0), ("mrd", "0.0001", "fraction", 0.01),
    ("vasopressin", "2.4", "U/h", 0.04), ("sbp", "12", "kPa", 90.0),
])
def test_conversions_to_canonical_units(var, value, unit, expected):
    out = normalise_observations(frame([("P1", 1, var, value, unit)]))
    assert out["value"].iat[0] == pytest.approx(expected, abs=1e-12)
    assert out["unit"].iat[0] == VOCABULARY[var].unit


def test_boundary_conversions_are_exact():
    out = normalise_observations(frame([("P1", 1, "anc", "1000", "/uL"),
                                        ("P1", 2, "anc", "500", "/uL"),
                                        ("P1", 3, "platelets", "100000", "/uL")]))
    assert list(out["value"]) == [1.0, 0.5, 100.0]  # exact, not approximately


def test_per_kg_conversion_needs_weight():
    df = frame([("P1", 1, "norepinephrine", "0.1", "µg/kg/min"),
                ("P2", 1, "norepinephrine", "0.1", "mcg/kg/min")])
    out = normalise_observations(df, {"P1": 70.0, "P2": 50.0})
    assert list(out["value"]) == pytest.approx([7.0, 5.0])
    with pytest.raises(InputError) as err:
        normalise_observations(df, {"P1": 70.0})
    assert len(err.value.problems) == 1 and err.value.problems[0].row == 3


def test_normalise_raises_all_problems_and_keeps_categories():
    with pytest.raises(InputError) as err:
        normalise_observations(frame([("P1", 1, "ice_score", "11", ""),
                                      ("P1", 1, "foo", "1", "")]))
    assert len(err.value.problems) == 2
    out = normalise_observations(frame([("P1", 1, "oxygen_device", "Nasal Cannula", "-"),
                                        ("P1", 1, "seizure", "status-epilepticus", "category")]))
    assert list(out["category"]) == ["nasal_cannula", "status_epilepticus"]
    assert out["value"].isna().all()


def test_unit_tokens():
    assert unit_token("×10⁹/L") == unit_token("10^9/L") == "10^9/l"
    assert unit_token("cells/µL") == unit_token("/mm3") == "/ul"
    assert unit_token(None) == unit_token(float("nan")) == unit_token("  ") == ""


def test_vocabulary_records_are_consistent():
    for v in VOCABULARY.values():
        if v.kind == "categorical":
            assert v.levels and not v.unit
        else:
            assert v.unit and v.units and v.daily in ("max", "min")


def test_line_numbers_from_the_loader_index():
    df = frame([("P1", 1, "anc", "1.0", "10^9/L"), ("P1", 2, "anc", "-1", "10^9/L")])
    df.index = pd.Index([2, 5], name="line")  # blank lines 3-4 were skipped by the loader
    assert [p.row for p in validate_observations(df, "o.csv")] == [5]


def test_validated_rows_convert_the_same_and_unvalidated_bad_rows_still_raise():
    """normalise_observations(validated=True) only skips repeating validate_observations
    (remission web validates a day's rows for its form, then converts the new ones)."""
    import pandas as pd
    import pytest

    from remission.errors import InputError
    from remission.vocab.vocabulary import normalise_observations

    obs = pd.DataFrame({"patient_id": "P1", "day": ["1", "1", "1"], "time": "",
                        "variable": ["temperature", "noradrenaline", "oxygen_device"],
                        "value": ["101.3", "0.1", "nasal cannula"],
                        "unit": ["°F", "µg/kg/min", "category"]})
    pd.testing.assert_frame_equal(normalise_observations(obs, {"P1": 70}, validated=True),
                                  normalise_observations(obs, {"P1": 70}), check_exact=True)
    bad = obs.assign(value=["101.3", "0.1", "tent"])
    with pytest.raises(InputError):
        normalise_observations(bad, {"P1": 70})
    with pytest.raises(InputError):  # a missing weight is reported either way
        normalise_observations(obs, None, validated=True)


def test_validated_flag_on_rows_that_were_not_validated_reports_problems_not_keyerror():
    """A caller that passes ``validated=True`` for rows it did not validate gets the
    problems of those rows (file, line, column, value, expected), all at once, never a
    bare KeyError / ValueError from the conversion."""
    import pandas as pd
    import pytest

    from remission.errors import InputError
    from remission.vocab.vocabulary import normalise_observations

    obs = pd.DataFrame({"patient_id": "P1", "day": ["1", "2", "3", "4"], "time": "",
                        "variable": ["temperature", "anc", "temperature", "mystery"],
                        "value": ["38.1", "0.5", "warm", "1"],
                        "unit": ["°C", "furlongs", "°C", ""]})
    obs.index = pd.Index([2, 3, 5, 6], name="line")  # loader lines (blank line 4 skipped)
    with pytest.raises(InputError) as ei:
        normalise_observations(obs, validated=True, file="observations.csv")
    got = [(p.file, p.row, p.column, p.value, p.message) for p in ei.value.problems]
    assert got == [
        ("observations.csv", 3, "unit", "furlongs", "unknown unit for anc"),
        ("observations.csv", 5, "value", "warm", "temperature value is not a number"),
        ("observations.csv", 6, "variable", "mystery", "unknown variable"),
    ]
    assert all(p.expected for p in ei.value.problems)
    assert "10^9/l" in ei.value.problems[0].expected  # what the unit should have been
    # each alone (the unknown unit was the KeyError of the report)
    for i in range(1, 4):
        with pytest.raises(InputError) as one:
            normalise_observations(obs.iloc[[0, i]], validated=True)
        assert [p.row for p in one.value.problems] == [obs.index[i]]
