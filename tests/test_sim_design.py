"""Trial designs: the shipped examples load; invalid designs report every problem."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from remission.errors import InputError
from remission.sim import cli_simulate, load_design, parse_design

DESIGNS = sorted((Path(__file__).parents[1] / "examples" / "designs").glob("*.toml"))


def test_four_seed_designs_ship_and_validate() -> None:
    names = [p.name for p in DESIGNS]
    for seed in ("seed000", "seed002", "seed003", "seed004"):
        assert any(n.startswith(seed) for n in names), names
    for p in DESIGNS:
        d = load_design(p)
        assert d.arms and all(a.n > 0 for a in d.arms)


def test_seed002_schedule_is_built_from_the_toml() -> None:
    d = load_design(next(p for p in DESIGNS if p.name.startswith("seed002")))
    assert [a.name for a in d.arms] == ["A", "B", "C"]
    assert [a.n for a in d.arms] == [4, 3, 5]
    assert [a.car_dose_per_kg for a in d.arms] == [5e5, 1e6, 1.5e6]
    s = d.arms[2].schedule
    # Flu 30 + Cy 500 mg/m^2 on days -4..-2 = 1 FC unit per day; infusion on day 0
    assert {int(day): float(u) for day, u in zip(s.days, s.fc_units, strict=True) if u} == {
        -4: 1.0, -3: 1.0, -2: 1.0}
    assert s.car_per_kg[list(s.days).index(0)] == 1.5e6


def test_seed003_blinatumomab_step_dosing() -> None:
    d = load_design(next(p for p in DESIGNS if p.name.startswith("seed003")))
    s = d.arms[0].schedule
    rate = dict(zip(s.days.tolist(), s.blin_ug_day.tolist(), strict=True))
    assert rate[0] == 9.0 and rate[6] == 9.0 and rate[7] == 28.0 and rate[27] == 28.0
    assert rate[28] == 0.0 and rate[-1] == 0.0
    ven = dict(zip(s.days.tolist(), s.ven_mg.tolist(), strict=True))
    assert [k for k, v in ven.items() if v] == list(range(-7, 0))


BAD = """
[trial]
name = "bad"
disease = "AML"
target_antigen = "CLL1"
follow_up_days = 60
assessment_days = [14, 90]
response_day = 14
colour = "blue"

[parameters]
car_expansion = 1.0
no_such_parameter = 3.0

[[arm]]
name = "X"
n = 10
  [[arm.component]]
  type = "venetoclax"
  dose_mg = -400.0
  start_day = -10
  days = 7
  [[arm.component]]
  type = "car_t"
  target = "CLL1"
  infusion_days = [0]
  dose_per_kg = 1e6
  [[arm.component]]
  type = "car_teleport"
  [[arm.component]]
  type = "lymphodepletion"
  flu_mg_m2 = 30.0
  days = [-5, -4, -3]
"""


def test_invalid_design_reports_all_problems_at_once(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(BAD)
    out = tmp_path / "out"
    with pytest.raises(InputError) as exc:
        cli_simulate(f, out, n=5, workers=0)
    cols = {p.column for p in exc.value.problems}
    msgs = {(p.column, p.message) for p in exc.value.problems}
    assert ("trial.assessment_days", "assessment after end of follow-up") in msgs
    assert ("trial.colour", "unknown key") in msgs
    assert ("parameters.no_such_parameter", "unknown model parameter") in msgs
    assert ("arm[0].component[0].dose_mg", "dose must not be negative") in msgs
    assert ("arm[0].component[2].type", "unknown arm component") in msgs
    assert ("arm[0].component[3].cy_mg_m2", "missing required key") in msgs
    assert len(exc.value.problems) == 6, exc.value.render()
    assert "parameters.car_expansion" not in cols
    assert not out.exists()  # nothing written


def test_more_invalid_values_are_named() -> None:
    data = tomllib.loads(BAD)
    data["trial"].pop("colour")
    data["trial"]["assessment_days"] = [14]
    data["trial"]["response_day"] = 28
    data["trial"]["target_antigen"] = "CD33"
    data["population"] = {"age": {"dist": "gamma", "mean": 40.0}, "height": {}}
    data["arm"][0]["component"] = [{"type": "blinatumomab", "steps": [
        {"start_day": 5, "end_day": 2, "ug_per_day": 9.0}]}]
    data["arm"][0]["n"] = 0
    with pytest.raises(InputError) as exc:
        parse_design(data, "d.toml")
    msgs = {(p.column, p.message) for p in exc.value.problems}
    assert ("trial.response_day", "response_day must be one of assessment_days") in msgs
    assert ("trial.target_antigen", "unknown target antigen") in msgs
    assert ("population.age.dist", "unknown distribution") in msgs
    assert ("population.height", "unknown covariate") in msgs
    assert ("arm[0].component[0].steps[0].end_day", "end_day before start_day") in msgs
    assert ("arm[0].n", "must be positive") in msgs
    assert ("parameters.no_such_parameter", "unknown model parameter") in msgs


def _seed000() -> dict:
    path = next(d for d in DESIGNS if d.name.startswith("seed000"))
    return tomllib.loads(path.read_text())


def test_venetoclax_ramp_up_and_split_car_doses_build_the_schedule() -> None:
    data = _seed000()
    ven = data["arm"][0]["component"][0]
    ven["ramp_mg"] = [100.0, 200.0]
    car = data["arm"][0]["component"][2]
    car["infusion_days"] = [0, 1, 2]
    car["infusion_fractions"] = [0.1, 0.3, 0.6]
    s = parse_design(data, "ramp").arms[0].schedule
    day = {int(d): i for i, d in enumerate(s.days)}
    assert [s.ven_mg[day[d]] for d in range(-12, -4)] == [100, 200, 400, 400, 400, 400, 400, 0]
    assert np.allclose([s.car_per_kg[day[d]] for d in (0, 1, 2, 3)],
                       [1e5, 3e5, 6e5, 0.0])


def test_bad_ramp_and_split_are_reported_together() -> None:
    data = _seed000()
    data["arm"][0]["component"][0]["ramp_mg"] = [100.0] * 9  # course is 7 days
    data["arm"][0]["component"][2]["infusion_fractions"] = [0.5, 0.6]
    data["arm"][1]["component"][1]["infusion_fractions"] = [0.5, 0.5]  # one infusion day
    with pytest.raises(InputError) as exc:
        parse_design(data, "bad")
    cols = [p.column for p in exc.value.problems]
    assert "arm[0].component[0].ramp_mg" in cols
    assert "arm[0].component[2].infusion_fractions" in cols
    assert "arm[1].component[1].infusion_fractions" in cols


@pytest.mark.parametrize("key,value", [("require_count_recovery", False),
                                       ("cr_blast_pct", 10.0), ("mrd_threshold_pct", 0.01)])
def test_response_rules_cannot_be_set_by_a_design(tmp_path: Path, key: str,
                                                    value: object) -> None:
    """A design once accepted these keys and ignored them (a design asking for a 10%
    CR threshold got ELN 2022's 5% without a word). The simulated study is graded by the
    criteria engine under the study's response system (ELN 2022, Döhner et al. Blood
    2022;140:1345: CR needs < 5% marrow blasts and ANC >= 1.0, platelets >= 100 x10^9/L),
    so the key is refused with the reason, and nothing is written."""
    from remission.sim.design import DESIGN_DIR

    text = (DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml").read_text()
    rendered = repr(value).lower() if isinstance(value, bool) else repr(value)
    text = text.replace("[trial]\n", f"[trial]\n{key} = {rendered}\n", 1)
    f = tmp_path / "d.toml"
    f.write_text(text)
    out = tmp_path / "out"
    with pytest.raises(InputError) as exc:
        cli_simulate(f, out, n=2, workers=0)
    [p] = exc.value.problems
    assert (p.column, p.message) == (f"trial.{key}", "not a design setting")
    assert "response system" in p.expected
    assert not out.exists()


def test_library_callers_get_every_request_problem_at_once(tmp_path: Path) -> None:
    """cli_simulate and stream_trial share one request check (the CLI's argparse checks
    do not protect library callers): n = 0, workers = -1 and an output path that is a
    file are all reported together, and nothing is written."""
    from remission.sim.design import DESIGN_DIR
    from remission.sim.trial import stream_trial

    design = DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"
    f = tmp_path / "a_file"
    f.write_text("keep")
    with pytest.raises(InputError) as exc:
        cli_simulate(design, f, n=0, workers=-1)
    where = [p.file for p in exc.value.problems]
    assert where[:2] == ["--n", "--workers"] and len(where) == 3, exc.value.render()
    assert "existing file" in exc.value.problems[2].message
    with pytest.raises(InputError) as exc:
        stream_trial(design, f, n=0, workers=-2)
    assert [p.file for p in exc.value.problems][:2] == ["--n", "--workers"]
    assert len(exc.value.problems) == 3, exc.value.render()
    assert f.read_text() == "keep"


def test_car_t_source_marks_a_donor_derived_product_and_bad_sources_are_refused() -> None:
    """Seed 002 (Zhang M et al. Front Immunol 2025;15:1491341) gave CAR-T cells made from
    the transplant donor's T cells: its shipped design says ``source = "donor"`` on every
    arm; seed 000's autologous product is the default. An unknown source is reported
    with the others, nothing built."""
    seed002 = next(d for d in DESIGNS if d.name.startswith("seed002"))
    assert [a.donor_derived for a in load_design(seed002).arms] == [True, True, True]
    data = _seed000()
    assert [a.donor_derived for a in parse_design(data, "auto").arms] == [False, False]
    data["arm"][0]["component"][2]["source"] = "donor"
    assert [a.donor_derived for a in parse_design(data, "donor").arms] == [True, False]
    data["arm"][1]["component"][1]["source"] = "third-party"
    data["arm"][0]["component"][0]["days"] = 0
    with pytest.raises(InputError) as exc:
        parse_design(data, "bad")
    cols = [p.column for p in exc.value.problems]
    assert "arm[1].component[1].source" in cols and "arm[0].component[0].days" in cols
