"""``grade_all(context=...)``: values derived from the patients/treatments/events tables
alone are kept in the caller's dict and reused (live grading of one patient-day in
remission web grades the same tables with other observations on every keystroke).

The oracle is ``grade_all`` without a context on the same tables: the outputs must be
identical (every table, every dtype, every ``attrs`` note) on random studies exercising
what the context holds — the ASTCT 2019 fever waiver (tocilizumab/steroids, with and
without a time; Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638: "fever may
be masked by antipyretic or anticytokine therapy"), transfusions recorded in
treatments.csv, and grade 5 only for a death attributed to CRS or neurotoxicity — and
when one context serves several observation tables in turn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.derive.criteria import grade_all
from remission.vocab.vocabulary import normalise_observations
from tests.test_criteria_common import obs_frame

PIDS = ("P1", "P2", "P3", "P4")


def _tables(rng: np.random.Generator):
    tx, ev = [], []
    for pid in PIDS:
        for agent in ("tocilizumab", "Actemra", "dexamethasone", "PRBC",
                      "platelet transfusion", "fludarabine"):
            if rng.random() < 0.45:
                start = int(rng.integers(-3, 9))
                tx.append({"patient_id": pid, "agent": agent, "start_day": str(start),
                           "end_day": str(start + int(rng.integers(0, 3))),
                           "time": rng.choice(["", "", f"{int(rng.integers(0, 24)):02d}:30"])})
        if rng.random() < 0.6:
            ev.append({"patient_id": pid, "day": str(int(rng.integers(3, 12))),
                       "event": "death",
                       "value": rng.choice(["CRS", "cytokine release syndrome", "ICANS",
                                            "sepsis", "neurotoxicity"])})
    cols_tx = ["patient_id", "agent", "start_day", "end_day", "time"]
    cols_ev = ["patient_id", "day", "event", "value"]
    patients = pd.DataFrame({"patient_id": list(PIDS),
                             "age": [float(a) for a in rng.integers(5, 70, len(PIDS))]})
    return patients, pd.DataFrame(tx, columns=cols_tx), pd.DataFrame(ev, columns=cols_ev)


def _obs(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for pid in PIDS:
        for day in range(-2, 12):
            if rng.random() < 0.8:
                t = f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}"
                rows.append((pid, day, "temperature", round(float(rng.uniform(36.5, 40)), 1),
                             "C", rng.choice(["", t])))
            if rng.random() < 0.3:
                rows.append((pid, day, "norepinephrine", int(rng.integers(2, 20))))
            if rng.random() < 0.15:
                rows.append((pid, day, "vasopressin", 0.03))
            if rng.random() < 0.3:
                rows.append((pid, day, "oxygen_device",
                             rng.choice(["nasal_cannula", "facemask", "room_air"])))
            if rng.random() < 0.3:
                rows.append((pid, day, "ice_score", int(rng.integers(0, 11))))
            if rng.random() < 0.2:
                rows.append((pid, day, "capd_score", int(rng.integers(0, 20))))
            if rng.random() < 0.3:
                rows.append((pid, day, "anc", round(float(rng.uniform(0.05, 3)), 2)))
            if rng.random() < 0.3:
                rows.append((pid, day, "platelets", int(rng.integers(5, 200))))
    return normalise_observations(obs_frame(rows))


def _same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
        assert a[name].attrs == b[name].attrs, name


def test_context_gives_the_outputs_of_grade_all_without_one_on_random_studies():
    rng = np.random.default_rng(20261130)
    kept = 0
    for _ in range(4):
        patients, tx, ev = _tables(rng)
        kw = dict(patients=patients, treatments=tx, events=ev, response=None)
        ctx: dict = {}
        for k in range(2):  # one context, several observation tables (new typed values)
            obs = _obs(rng)
            summaries = k == 0
            _same(grade_all(obs, summaries=summaries, **kw),
                  grade_all(obs, summaries=summaries, context=ctx, **kw))
        kept += len(ctx)
    # the context was used: transfusion rows, waiver therapy, deaths (CRS and neuro)
    assert kept >= 4 * 4


def test_context_is_what_is_used():
    # a context kept for other tables is not checked against them (the caller starts a
    # new one when its tables change): here one without the death gives no grade 5
    obs = normalise_observations(obs_frame([("P1", 1, "temperature", 39.0),
                                            ("P1", 2, "temperature", 38.5)]))
    ev = pd.DataFrame({"patient_id": ["P1"], "day": ["2"], "event": ["death"],
                       "value": ["CRS"]})
    plain = grade_all(obs, events=ev, response=None, summaries=False)
    assert plain["crs_daily"]["grade"].tolist() == [1, 5]
    stale: dict = {}
    grade_all(obs, response=None, summaries=False, context=stale,
              events=ev.assign(value="sepsis"))
    used = grade_all(obs, events=ev, response=None, summaries=False, context=stale)
    assert used["crs_daily"]["grade"].tolist() == [1, 1]
