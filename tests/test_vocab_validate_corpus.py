"""validate_observations on a fixed corpus of small, mostly bad observation tables: every
problem (file, message, line, column, value and its type, expected) equals the answer
recorded in ``tests/data/validate_corpus.json``.

The fixture was written by the validator before it was rewritten on NumPy arrays for small
tables (session 12, remission web's live grading): the rules, messages and order of the
problems must not change with the implementation. Regenerate only for a deliberate rule
change: ``python tests/test_vocab_validate_corpus.py --write``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from remission.vocab.vocabulary import _level_token, _level_token_of, validate_observations

FIXTURE = Path(__file__).parent / "data" / "validate_corpus.json"

#: (valid cells, bad or unusual cells) per column; a cell is drawn from the second list
#: with probability 0.15 (so most tables have a few problems, some none)
_PIDS = (["P1", "P1", "P2", 7], ["", "  ", None, np.nan])
_DAYS = (["1", "1", "2", "-3", 3, 2.0, " 4 "], ["x", "1.5", "", 2.5, None])
_TIMES = (["", "", "08:00", "08:00", " 7:30 ", "23:59", None, np.nan],
          ["25:00", "8h", "7:5"])
_ROWS = [("temperature", ["38.5", "37.0", " 37.0 ", 39, "101.3"], ["°C", "C", "°F"]),
         ("anc", ["0.3", 0.4, "500"], ["x10^9/L", "cells/uL", "/mm³"]),
         ("Noradrenaline", ["8", "0.05"], ["mcg/min", "µg/kg/min"]),
         ("norepinephrine", ["8", "0.05"], ["ug/min", "µg/kg/min"]),
         ("oxygen_device", ["nasal cannula", "Nasal-Cannula", "room_air"], ["category", ""]),
         ("consciousness", ["awakens_to_voice", "Awakens To Voice"], ["category", None]),
         ("ice_score", ["8", "10", "0"], ["points", ""]),
         ("ICE_score", ["5"], ["points"]),
         (" Temperature ", ["38.0"], ["°C"]),
         ("levophed", ["4"], ["mcg/min"]),
         ("sbp", ["82", "120"], ["mmHg"]),
         ("oxygen_flow", ["6", "6.5"], ["L/min"]),
         ("seizure", ["none", "focal_resolved"], ["category"])]
_BAD_VARS = ["tempX", "", None, "weight_kg"]
_BAD_VALUES = ["58", "abc", "", "  ", "xyz", "-1", "8.5", "1e3", "inf", "nan", None, np.nan,
               "yes", "200"]
_BAD_UNITS = ["F", "mmHg", "", "category", "bogus", None, np.nan, "kg", "points"]


def _pick(rnd: random.Random, good: list, bad: list):
    return rnd.choice(bad) if rnd.random() < 0.15 else rnd.choice(good)


def corpus(n: int = 250, seed: int = 20261130) -> list[pd.DataFrame]:
    """``n`` small tables (1-6 rows; some with repeated patient/day/time/variable keys,
    some without a time column, some indexed by file line)."""
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        rows = []
        for _ in range(rnd.randint(1, 6)):
            var, values, units = rnd.choice(_ROWS)
            rows.append({"patient_id": _pick(rnd, *_PIDS), "day": _pick(rnd, *_DAYS),
                         "time": _pick(rnd, *_TIMES), "variable": _pick(rnd, [var], _BAD_VARS),
                         "value": _pick(rnd, values, _BAD_VALUES),
                         "unit": _pick(rnd, units, _BAD_UNITS)})
        if len(rows) > 1 and rnd.random() < 0.4:  # a repeated key with another value
            dup = dict(rnd.choice(rows))
            dup["value"] = rnd.choice([*_ROWS[0][1], *_BAD_VALUES, dup["value"]])
            rows.append(dup)
        df = pd.DataFrame(rows)
        if k % 5 == 0:
            df = df.drop(columns="time")
        if k % 3 == 0:  # the web's text tables: every cell text, "" when missing
            df = df.fillna("").astype(str)
        if k % 4 == 1:
            df.index = pd.RangeIndex(2, 2 + len(df), name="line")
        if k % 7 == 3:
            df.index = pd.Index([10 + 3 * i for i in range(len(df))], name="line")
        out.append(df)
    return out


def answers(tables: list[pd.DataFrame]) -> list[list[list]]:
    res = []
    for df in tables:
        res.append([[p.file, p.message, p.row, p.column, repr(p.value),
                     type(p.value).__name__, p.expected]
                    for p in validate_observations(df, "obs.csv")])
    return res


def test_validator_answers_unchanged_on_the_corpus():
    tables = corpus()
    want = json.loads(FIXTURE.read_text(encoding="utf-8"))
    got = answers(tables)
    assert sum(len(a) for a in want) > 200  # the corpus is mostly bad: many problems
    assert sum(1 for a in want if not a) > 15  # and some valid tables
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"table {k}:\n{tables[k]}"


def test_few_cells_path_gives_the_answers_of_the_table_path(monkeypatch):
    # tables of at most vocabulary._FEW_CELLS rows are factorised and keyed with dicts,
    # longer ones with pandas: either path gives every table the same problems, on the
    # corpus (1-7 rows) and on longer tables made of it (duplicates across its tables)
    import remission.vocab.vocabulary as vocab

    tables = corpus(120, seed=11)
    longer = [pd.concat(tables[k:k + 40], ignore_index=True) for k in range(0, 120, 40)]
    longer += [t.set_axis(pd.Index(range(2, 2 + len(t)), name="line")) for t in longer]
    assert all(len(t) > 100 for t in longer)
    default, got = vocab._FEW_CELLS, {}
    for few in (default, 0, 10**6):  # as shipped; pandas only; dicts only
        monkeypatch.setattr(vocab, "_FEW_CELLS", few)
        got[few] = answers(tables + longer)
    assert sum(len(a) for a in got[0]) > 300
    assert got[default] == got[0] == got[10**6]


def test_level_token_of_one_cell_equals_the_column_rule():
    # the categorical level of one cell (validator and conversions) is the column rule's
    cells = [*_BAD_VALUES, *(v for _, vs, _ in _ROWS for v in vs), " Nasal - Cannula ",
             "HIGH\tflow  nasal\ncannula", "a--b", "-x-", "Ünïcode Level", 3, 2.5, True, pd.NA]
    for u in cells:
        assert _level_token_of(u) == _level_token(pd.Series([u], dtype=object)).iat[0], u


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    FIXTURE.write_text(json.dumps(answers(corpus()), ensure_ascii=False) + "\n",
                       encoding="utf-8")
