"""``grade_all`` and ``infusion_days`` never modify the tables they are given.

remission web hands the engine the patient's tables kept per revision of the patient
(``remission.web.grading._grade``), without copying them: this checks, on the live-grading
inputs of tests/test_criteria_live_golden.py (20 patient-days of two random 4-patient
studies with tocilizumab / steroids, transfusions, deaths, sites' attributions, timed
vasopressors; each graded twice, the second time with the context the first filled) and on
each study's whole course (under every CRS and neurotoxicity system, with site lower
limits of normal), that every input frame (observations, patients, treatments,
events, infusion windows) is deep-equal before and after the call -- values, dtypes
(categories included), index, column order and ``attrs`` -- and that no returned table
other than ``infusions`` (returned as given, documented) shares memory with an input.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from remission.derive.criteria import grade_all
from remission.derive.criteria.infusions import infusion_days
from tests.test_criteria_live_golden import _cases


def _same(before: pd.DataFrame, after: pd.DataFrame, what: str) -> None:
    pd.testing.assert_frame_equal(after, before, check_exact=True, obj=what)
    assert list(after.columns) == list(before.columns), what
    assert after.attrs == before.attrs, what


def _arrays(tab: pd.DataFrame) -> list[np.ndarray]:
    out = []
    for c in tab.columns:
        v = tab[c].array
        out.append(np.asarray(v.codes if isinstance(v, pd.Categorical) else v))
    return out


def _graded_checked(obs, pts, tx, ev, inf, context, summaries: bool, **systems) -> None:
    inputs = {"observations": obs, "patients": pts, "treatments": tx, "events": ev}
    if inf is not None:
        inputs["infusions"] = inf
    kept = {k: copy.deepcopy(v) for k, v in inputs.items()}
    out = grade_all(obs, patients=pts, treatments=tx, events=ev, response=None,
                    summaries=summaries, infusions=inf, context=context, **systems)
    for k, v in inputs.items():
        _same(kept[k], v, k)
    given = [a for v in inputs.values() for a in _arrays(v) if a.size]
    for name, tab in out.items():
        if name == "infusions" or not isinstance(tab, pd.DataFrame):
            continue
        for a in _arrays(tab):
            assert not any(np.shares_memory(a, g) for g in given), name


def test_grade_all_leaves_its_input_tables_unchanged():
    n = 0
    for patients, tx, ev, canon, lives in _cases():
        _graded_checked(canon, patients, tx, ev, None, None, summaries=True)
        # the other systems a study.toml may name, with site lower limits of normal
        _graded_checked(canon, patients, tx, ev, None, None, summaries=True, crs="lee2014",
                        neurotoxicity="cres_cartox2018", lln={"platelets": 150.0})
        _graded_checked(canon, patients, tx, ev, None, None, summaries=False,
                        crs="cartox2018")
        ctx: dict = {}
        for pid, _day, live in lives:
            pts = patients[patients["patient_id"] == pid].reset_index(drop=True)
            ptx = tx[tx["patient_id"] == pid].reset_index(drop=True)
            pev = ev[ev["patient_id"] == pid].reset_index(drop=True)
            kept = copy.deepcopy((pts, ptx, pev))
            inf = infusion_days(pts["patient_id"].astype(str), ptx, pev, ())
            for k, (b, a) in enumerate(zip(kept, (pts, ptx, pev), strict=True)):
                _same(b, a, f"infusion_days input {k}")
            c = ctx.setdefault(pid, {})
            for _ in range(2):  # the second call reads what the first kept in the context
                _graded_checked(live, pts, ptx, pev, inf, c, summaries=False)
            n += 1
    assert n == 20
