"""``grade_all`` on live-grading inputs: its outputs unchanged by the engine's speed work,
and the live grade of a patient-day equal to the batch grade of the whole course.

1. Golden outputs: on random 4-patient studies (the tables of
   tests/test_criteria_context.py: tocilizumab / steroids with and without a time,
   transfusions, deaths attributed to CRS, ICANS or sepsis, children graded by CAPD) plus
   sites' attributions and vasopressors with times, every table ``grade_all(...,
   summaries=False)`` returns for the live-grading inputs of 20 patient-days (the day's
   rows and the other days' temperatures, as remission web passes them, with the
   infusion windows and a context) equals, cell, dtype, index and ``attrs`` note, the
   answer recorded in ``tests/data/live_grade_golden.json`` by the engine before the
   session-12 speed work. Regenerate only for a deliberate rule change:
   ``python tests/test_criteria_live_golden.py --write``.
2. Live equals batch: the CRS, ICANS and CTCAE laboratory grades of each such patient-day
   equal those of ``grade_all`` on the whole course (ASTCT 2019: a day's CRS grade depends
   on other days only through the fever waiver, Lee DW et al., Biol Blood Marrow
   Transplant 2019;25:625-638; ICANS and CTCAE v5.0 laboratory grades on the day alone).
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from remission.derive.criteria import grade_all
from remission.derive.criteria.infusions import infusion_days
from remission.vocab.vocabulary import normalise_observations
from tests.test_criteria_common import obs_frame
from tests.test_criteria_context import PIDS, _tables

FIXTURE = Path(__file__).parent / "data" / "live_grade_golden.json"
_CAT = ("patient_id", "variable", "category", "unit")


def _course(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for pid in PIDS:
        for day in range(-2, 12):
            t = f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}"
            if rng.random() < 0.85:
                rows.append((pid, day, "temperature", round(float(rng.uniform(36.5, 40)), 1),
                             "C", rng.choice(["", t]), rng.choice(["", "", "", "infection"])))
            if rng.random() < 0.25:
                rows.append((pid, day, "norepinephrine", int(rng.integers(2, 20)), "µg/min",
                             rng.choice(["", "08:00"]), ""))
            if rng.random() < 0.15:
                rows.append((pid, day, "phenylephrine", 50, "µg/min",
                             rng.choice(["", "08:30", "20:00"]), ""))
            if rng.random() < 0.2:
                rows.append((pid, day, "sbp", int(rng.integers(70, 130)), "mmHg", "", ""))
            if rng.random() < 0.3:
                rows.append((pid, day, "oxygen_device",
                             rng.choice(["nasal_cannula", "facemask", "room_air", "bipap"]),
                             "category", "", rng.choice(["", "", "pneumonia"])))
            if rng.random() < 0.2:
                rows.append((pid, day, "oxygen_flow", float(rng.choice([2, 6, 6.5, 10])),
                             "L/min", "", ""))
            if rng.random() < 0.3:
                rows.append((pid, day, "ice_score", int(rng.integers(0, 11)), "points", "",
                             rng.choice(["", "", "sedation"])))
            if rng.random() < 0.15:
                rows.append((pid, day, "capd_score", int(rng.integers(0, 20)), "points", "",
                             ""))
            if rng.random() < 0.1:
                rows.append((pid, day, "consciousness",
                             rng.choice(["awakens_to_voice", "unarousable"]), "category", "",
                             ""))
            if rng.random() < 0.3:
                rows.append((pid, day, "anc", round(float(rng.uniform(0.05, 3)), 2),
                             "10^9/L", "", ""))
            if rng.random() < 0.3:
                rows.append((pid, day, "platelets", int(rng.integers(5, 200)), "10^9/L", "",
                             ""))
    df = obs_frame([r[:4] for r in rows])
    df["unit"] = [r[4] for r in rows]
    df["time"] = [r[5] for r in rows]
    df["attributed_to"] = [r[6] for r in rows]
    return df


@lru_cache(maxsize=1)
def _cases(n_studies: int = 2, days_each: int = 10):
    """(patients, treatments, events, whole course, [(pid, day, live obs)...]) per study."""
    rng = np.random.default_rng(20261130)
    out = []
    for _ in range(n_studies):
        patients, tx, ev = _tables(rng)
        raw = _course(rng)
        canon = normalise_observations(raw)
        lives = []
        for _ in range(days_each):
            pid, day = str(rng.choice(PIDS)), int(rng.integers(-2, 12))
            own = (canon["patient_id"].astype(str) == pid).to_numpy()
            keep = own & ((canon["day"].to_numpy() == day)
                          | ((canon["variable"].astype(str) == "temperature").to_numpy()
                             & (canon["day"].to_numpy() != day)))
            # the live input: the day's rows after the other days' temperatures
            sel = np.r_[np.flatnonzero(keep & (canon["day"].to_numpy() != day)),
                        np.flatnonzero(keep & (canon["day"].to_numpy() == day))]
            live = canon.iloc[sel].astype({c: object for c in _CAT}).reset_index(drop=True)
            lives.append((pid, day, live.astype({c: "category" for c in _CAT})))
        out.append((patients, tx, ev, canon, lives))
    return out


@lru_cache(maxsize=1)
def _live_outputs() -> tuple:
    return tuple(_live_gen())


def _live_gen():
    for patients, tx, ev, _canon, lives in _cases():
        ctx: dict = {}
        for pid, day, live in lives:
            pts = patients[patients["patient_id"] == pid].reset_index(drop=True)
            ptx = tx[tx["patient_id"] == pid].reset_index(drop=True)
            pev = ev[ev["patient_id"] == pid].reset_index(drop=True)
            inf = infusion_days(pts["patient_id"].astype(str), ptx, pev, ())
            key = pid
            c = ctx.setdefault(key, {})
            yield pid, day, grade_all(live, patients=pts, treatments=ptx, events=pev,
                                      response=None, summaries=False, infusions=inf,
                                      context=c)


def _cell(x) -> str:
    if isinstance(x, float) and np.isnan(x):
        return "nan"
    return repr(x)


def _digest(out: dict) -> dict:
    res = {}
    for name, tab in out.items():
        res[name] = {"columns": [str(c) for c in tab.columns],
                     "dtypes": [str(t) for t in tab.dtypes],
                     "index": [type(tab.index).__name__, [_cell(i) for i in tab.index]],
                     "rows": [[_cell(x) for x in r] for r in tab.astype(object).itertuples(
                         index=False, name=None)],
                     "attrs": repr(sorted(tab.attrs.items()))}
    return res


def test_live_grading_outputs_unchanged():
    want = json.loads(FIXTURE.read_text(encoding="utf-8"))
    got = [_digest(out) for _, _, out in _live_outputs()]
    assert len(got) == len(want) == 20
    graded = sum(len(w["crs_daily"]["rows"]) for w in want)
    assert graded > 20 * 5  # most inputs grade several days
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        for name in w:
            assert g[name] == w[name], f"input {k}, table {name}"
        assert list(g) == list(w)


def test_live_grade_of_a_day_equals_the_batch_grade():
    n_days = 0
    lives = iter(_live_outputs())
    for patients, tx, ev, canon, cases in _cases():
        batch = grade_all(canon, patients=patients, treatments=tx, events=ev, response=None,
                          summaries=False)
        for pid, day, _ in cases:
            _, _, live = next(lives)
            for name, cols in (("crs_daily", ["grade", "decided_by", "system"]),
                               ("neuro_daily", ["grade", "decided_by", "system"]),
                               ("labs", ["variable", "value", "grade"])):
                b, g = batch[name], live[name]
                b = b[(b["patient_id"].astype(str) == pid) & (b["day"] == day)]
                g = g[g["day"] == day]
                assert b[cols].astype(object).values.tolist() == \
                    g[cols].astype(object).values.tolist(), (pid, day, name)
            n_days += 1
    assert n_days == 20


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    FIXTURE.write_text(json.dumps([_digest(out) for _, _, out in _live_outputs()],
                                  ensure_ascii=False) + "\n", encoding="utf-8")
