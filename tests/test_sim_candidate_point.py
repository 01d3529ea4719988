"""remission.sim.params.candidate_point: the one reading of a calibration point that the
screening, judging and summary scripts share (benchmarks/sim_donor/screen_donor.py,
judge_point.py, judge_candidate.py; scripts/make_sim_check_summaries.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from remission.sim.params import PARAMETERS, candidate_point

ROOT = Path(__file__).resolve().parents[1]


def test_a_car_t_il6_change_keeps_car_nk_il6_as_shipped():
    # CAR-NK IL-6 production = il6_car x nk_il6_factor (population.build_patients); with
    # the shipped values (hand-copied: il6_car 25.1, nk_il6_factor 0.108) a point with
    # il6_car 60 must give nk_il6_factor = 25.1 x 0.108 / 60 = 0.04518
    assert (PARAMETERS["il6_car"].value, PARAMETERS["nk_il6_factor"].value) == (25.1, 0.108)
    shipped = 2.7108
    p = candidate_point(["il6_car=60"])
    assert p == {"il6_car": 60.0, "nk_il6_factor": pytest.approx(shipped / 60.0)}
    # an explicit nk_il6_factor is the user's, and points without il6_car are left alone
    assert candidate_point({"il6_car": 60, "nk_il6_factor": 0.2}) == {
        "il6_car": 60.0, "nk_il6_factor": 0.2}
    assert candidate_point(["antigen_density_cv=2.0", " car_allo_recognition = 0.1"]) == {
        "antigen_density_cv": 2.0, "car_allo_recognition": 0.1}


def test_every_bad_text_and_unknown_name_is_named_at_once():
    with pytest.raises(ValueError) as e:
        candidate_point(["car_expansion", "il6_car=high", "antigen_cv=2", "zz=1"])
    msg = str(e.value)
    assert "'car_expansion'" in msg and "'il6_car=high'" in msg
    assert "unknown parameter(s): antigen_cv, zz" in msg


def test_judge_point_refuses_an_unknown_parameter_before_simulating(capsys):
    spec = importlib.util.spec_from_file_location(
        "judge_point", ROOT / "benchmarks" / "sim_donor" / "judge_point.py")
    judge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(judge)
    with pytest.raises(SystemExit) as e:
        judge.main(["--stream", "2", "--point", "antigen_cv=2"])
    assert e.value.code == 2
    assert "unknown parameter(s): antigen_cv" in capsys.readouterr().err
