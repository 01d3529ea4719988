"""normalise_rows (the few-rows conversion of live grading) equals normalise_observations.

Oracle: the batch conversion itself (``normalise_observations(..., validated=True)``, what
``remission report`` runs), on every variable of the vocabulary with every unit spelling
it accepts, several values, blank and given times, sources and attributions, per-kg doses
with and without the patient's weight.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from remission.errors import InputError
from remission.vocab.vocabulary import VOCABULARY, normalise_observations, normalise_rows

VALUES = ("0", "38.6", "101.3", "2.5e3")


def _all_rows() -> list[dict[str, str]]:
    rows = []
    for name, v in sorted(VOCABULARY.items()):
        if v.kind == "categorical":
            units = sorted(v.units)
            for j, lv in enumerate(v.levels):  # each level, spelt three ways, every unit
                written = (lv, lv.replace("_", " ").upper(), f" {lv.replace('_', '-')} ")
                rows.append({"variable": name, "value": written[j % 3],
                             "unit": units[j % len(units)]})
        else:
            for j, unit in enumerate(sorted(v.units)):
                rows.append({"variable": name, "value": VALUES[j % len(VALUES)], "unit": unit})
    out = []
    for k, r in enumerate(rows, start=1):
        out.append({"patient_id": ("P1", " P2 ", "P3")[k % 3], "day": str(k % 40 - 5),
                    "time": ("", "08:00", " 23:59 ", " ")[k % 4], **r,
                    "source": ("", "monitor", "lab")[k % 3],
                    "attributed_to": ("", "  ", "sepsis", " line infection ")[k % 4]})
    return out


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(
        (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        or (x == y and type(x) is type(y)) for x, y in zip(a, b, strict=True))


def _batch(rows, weights):
    df = pd.DataFrame(rows)
    out = normalise_observations(df, weights, validated=True).astype(object)
    return list(out.itertuples(index=False, name=None))


def test_every_variable_and_unit_equals_the_batch_conversion():
    rows = _all_rows()
    weights = {"P1": 70.0, "P2": 12.5, "P3": 101.0}
    batch = _batch(rows, weights)
    assert len(batch) == len(rows) > 150
    # one row at a time (live grading converts the new rows of a request) and all at once
    for r, want in zip(rows, batch, strict=True):
        got = normalise_rows([r], weights)
        assert len(got) == 1 and _same(got[0], want), (r, got[0], want)
    together = normalise_rows(rows, weights)
    bad = [(r, g, w) for r, g, w in zip(rows, together, batch, strict=True) if not _same(g, w)]
    assert not bad, bad[:3]


@pytest.mark.parametrize("keys", [("time",), ("time", "source"), ("attributed_to",), ()])
def test_optional_columns_as_the_batch_conversion(keys):
    base = {"patient_id": "P1", "day": "3", "variable": "temperature", "value": "38.6",
            "unit": "C"}
    extra = {"time": " 08:00 ", "source": "monitor", "attributed_to": " sepsis "}
    row = {**base, **{k: extra[k] for k in keys}}
    got, want = normalise_rows([row]), _batch([row], None)
    assert _same(got[0], want[0]), (got, want)


def test_missing_weight_is_the_batch_problem():
    rows = [{"patient_id": "P9", "day": "1", "time": "", "variable": "norepinephrine",
             "value": "0.1", "unit": "µg/kg/min"},
            {"patient_id": "P1", "day": "1", "time": "", "variable": "temperature",
             "value": "38", "unit": "C"}]
    with pytest.raises(InputError) as fast:
        normalise_rows(rows, {"P1": 70.0}, lines=[17, 18])
    df = pd.DataFrame(rows, index=pd.RangeIndex(17, 19, name="line"))
    with pytest.raises(InputError) as batch:
        normalise_observations(df, {"P1": 70.0}, validated=True)
    assert fast.value.problems == batch.value.problems
    assert [p.row for p in fast.value.problems] == [17]


def test_rows_that_were_not_valid_raise_every_problem_as_the_batch_conversion():
    rows = [{"patient_id": "P1", "day": "x", "time": "", "variable": "temperature",
             "value": "38", "unit": "C"},
            {"patient_id": "P1", "day": "1", "time": "", "variable": "temperature",
             "value": "38", "unit": "furlongs"}]
    with pytest.raises(InputError) as fast:
        normalise_rows(rows, lines=[5, 6])
    df = pd.DataFrame(rows, index=pd.RangeIndex(5, 7, name="line"))
    with pytest.raises(InputError) as batch:
        normalise_observations(df, validated=True)
    assert fast.value.problems == batch.value.problems
    assert [(p.row, p.column) for p in fast.value.problems] == [(5, "day"), (6, "unit")]
