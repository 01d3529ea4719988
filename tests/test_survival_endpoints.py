"""Endpoint derivation from a long events table: hand-checked cases."""

from __future__ import annotations

import pandas as pd
import pytest

from remission.errors import InputError
from remission.stats.survival.endpoints import derive_endpoints

EV = pd.DataFrame([
    # P1: CR day 28, relapse day 120, death day 200
    ("P1", 28, "response_assessment", "CR"), ("P1", 120, "relapse", None),
    ("P1", 200, "death", "leukemia"),
    # P2: PR day 28, transplant day 60, alive at day 400
    ("P2", 28, "response_assessment", "PR"), ("P2", 60, "transplant", None),
    ("P2", 400, "last_contact", None),
    # P3: NR, death day 45
    ("P3", 28, "response_assessment", "NR"), ("P3", 45, "death", "infection"),
    # P4: CR day 30, transplant day 70, death without relapse day 150
    ("P4", 30, "response_assessment", "MRD-CR"), ("P4", 70, "transplant", None),
    ("P4", 150, "death", "GVHD"),
], columns=["patient_id", "day", "event", "value"])


def _get(df, pid, code):
    r = df[(pid == df.USUBJID) & (code == df.PARAMCD)]
    assert len(r) == 1, (pid, code)
    return r.iloc[0]


def test_definitions() -> None:
    d = derive_endpoints(EV)
    assert tuple(_get(d, "P1", "OS")[["AVAL", "CNSR"]]) == (200, 0)
    assert tuple(_get(d, "P2", "OS")[["AVAL", "CNSR"]]) == (400, 1)
    r = _get(d, "P1", "EFS")
    assert (r.AVAL, r.CNSR, r.EVNTDESC) == (120, 0, "relapse")
    r = _get(d, "P2", "EFS")  # PR only: no CR -> EFS event at day 0 (ELN 2022)
    assert (r.AVAL, r.CNSR, r.EVNTDESC) == (0, 0, "no complete remission")
    r = _get(d, "P1", "RFS")
    assert (r.STARTDY, r.AVAL, r.CNSR) == (28, 92, 0)
    assert not ((d.USUBJID == "P2") & (d.PARAMCD == "RFS")).any()
    r = _get(d, "P2", "DOR")
    assert (r.STARTDY, r.AVAL, r.CNSR) == (28, 372, 1)
    cir1, cir4 = _get(d, "P1", "CIR"), _get(d, "P4", "CIR")
    assert (cir1.AVAL, cir1.EVCODE) == (92, 1)
    assert (cir4.AVAL, cir4.EVCODE, cir4.EVNTDESC) == (120, 2, "death without relapse")
    assert _get(d, "P3", "PFS").AVAL == 45


def test_censor_at_transplant_and_landmark() -> None:
    d = derive_endpoints(EV, censor_at_transplant=True)
    r = _get(d, "P4", "OS")
    assert (r.AVAL, r.CNSR) == (70, 1)
    r = _get(d, "P1", "OS")  # no transplant: unchanged
    assert (r.AVAL, r.CNSR) == (200, 0)
    lm = derive_endpoints(EV, landmark=100, endpoints=["OS"])
    assert sorted(lm.USUBJID) == ["P1", "P2", "P4"]  # P3 died before day 100
    assert _get(lm, "P1", "OS").AVAL == 100 and (lm.STARTDY == 100).all()


def test_problems_reported_together() -> None:
    bad = pd.DataFrame([("X", "abc", "death", None), ("X", 5, "dead", None),
                        ("Y", 10, "death", None), ("Y", 20, "relapse", None),
                        ("Z", -3, "response_assessment", "CR")],
                       columns=["patient_id", "day", "event", "value"])
    with pytest.raises(InputError) as ei:
        derive_endpoints(bad)
    assert [p.row for p in ei.value.problems] == [2, 3, 5, 6]


def test_endpoint_results_km_and_cir() -> None:
    from remission.stats.survival.endpoints import endpoint_results

    d = derive_endpoints(EV)
    grp = pd.Series({"P1": "A", "P2": "A", "P3": "B", "P4": "B"})
    km, lr = endpoint_results(d, "OS", grp)
    assert km.name == "survival.os.km" and km.cell("A", "n") == 2
    # B: deaths at 45 and 150 -> S = 0.5 exactly on [45, 150): R's midpoint rule, 97.5
    assert km.cell("B", "median") == 97.5
    assert lr.cell("test", "df") == 1
    (ci,) = endpoint_results(d, "CIR", None, landmarks=[100, 120])
    # from CR: P1 relapse at 92, P4 NRM at 120 -> CIR(100) = 1/2, NRM(120) = 1/2
    assert ci.cell("all | relapse | 100", "est") == 0.5
    assert ci.cell("all | NRM | 120", "est") == 0.5


def test_patients_days_merged_and_missing_followup_warned() -> None:
    ev = EV[EV.event != "last_contact"]
    pts = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4"],
                        "death_day": [200, None, 45, 150],
                        "last_contact_day": [None, 380, None, None]})
    d = derive_endpoints(ev)
    assert "P2" in d.attrs["warnings"][0]
    assert _get(d, "P2", "OS").AVAL == 60  # latest record: transplant day
    d = derive_endpoints(ev, patients=pts)
    assert d.attrs["warnings"] == []
    assert tuple(_get(d, "P2", "OS")[["AVAL", "CNSR"]]) == (380, 1)
    assert tuple(_get(d, "P1", "OS")[["AVAL", "CNSR"]]) == (200, 0)  # not duplicated


def test_transplant_counting_process_split() -> None:
    from remission.stats.survival.endpoints import transplant_counting_process

    cp = transplant_counting_process(EV)
    p2 = cp[cp.USUBJID == "P2"].values.tolist()
    assert p2 == [["P2", 0.0, 60.0, 0, 0], ["P2", 60.0, 400.0, 0, 1]]
    p4 = cp[cp.USUBJID == "P4"].values.tolist()
    assert p4 == [["P4", 0.0, 70.0, 0, 0], ["P4", 70.0, 150.0, 1, 1]]
    assert cp[cp.USUBJID == "P1"].values.tolist() == [["P1", 0.0, 200.0, 1, 0]]
