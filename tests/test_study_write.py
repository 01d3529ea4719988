"""study.toml is written by the study package (issue 13: sim built it by hand).

``remission.study.write.study_toml`` serialises a ``StudyConfig`` and reads the text back
with the loader's parser before returning it; ``remission.sim`` builds a ``StudyConfig``
and uses it. Round trips: every shipped design's simulated study, every example study,
and a config that uses every key; an invalid config is refused with the loader's
problems and writes nothing.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from remission.errors import InputError, ProblemLog
from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.trial import _study_toml, study_config
from remission.study.config import Cohorts, Level, StudyConfig, parse_config
from remission.study.write import study_toml, write_study_toml

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = sorted(DESIGN_DIR.glob("*.toml"))
EXAMPLES = sorted((ROOT / "examples").rglob("study.toml"))


def _read(path: Path) -> StudyConfig:
    log = ProblemLog()
    cfg = parse_config(path, log)
    assert cfg is not None, log.problems
    return cfg


@pytest.mark.parametrize("design", DESIGNS, ids=lambda p: p.stem)
def test_simulated_study_toml_reads_back_as_written(design: Path, tmp_path: Path) -> None:
    cfg = study_config(load_design(design), seed=5)
    path = write_study_toml(cfg, tmp_path)
    back = _read(path)
    assert back == cfg
    assert back.synthetic and back.name.startswith("SIMULATED")
    assert [lv.name for lv in back.cohorts.levels] == [a.name for a in load_design(design).arms]
    # what sim writes into its folder is exactly the study package's text
    assert _study_toml(load_design(design), 5).endswith(path.read_text())


def test_simulated_study_toml_bytes() -> None:
    # the layout sim wrote by hand before the writer existed, line for line, except
    # ``simulated = true`` -> ``synthetic = true`` (the loader reads both as one flag)
    text = _study_toml(load_design(DESIGNS[0]), 0)
    assert text == (ROOT / "tests" / "data" / "sim_seed000_study.toml").read_text()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_study_toml_round_trips(path: Path, tmp_path: Path) -> None:
    cfg = _read(path)
    assert _read(write_study_toml(cfg, tmp_path)) == cfg


def _everything() -> StudyConfig:
    return StudyConfig(
        name='Dose "A" \\ B\nsecond line', disease="B-ALL", products=("CD19 CAR-T", "blin"),
        day0="first infusion", reference="Smith J. Blood 2024;1:2 — ümlaut", synthetic=True,
        number_style="nejm", anchor_date_column="infusion_date",
        cohorts=Cohorts(label="Dose", column="dose", ordered=True, levels=(
            Level(name="low", label="5 × 10⁵/kg", value=5e5),
            Level(name="high", label="high", value=1000000),
            Level(name="text", label="text", value="x"))),
        criteria={"cytopenia": "icaht_2023", "response": "nccn_all", "crs": "lee2014"},
        assessment_day=0, responders=("CR", "CRi"), complete=("CR",), mrd_negative=(),
        endpoints={"os": {"landmarks": [30, 365.25], "censor_at": ["transplant"]},
                   "efs": {"landmark": 30}, "cir": {}},
        claims="claims/claims.toml", lln={"anc": 1.5, "platelets": 150.0},
        lloq={"car_copies": 25.0, "car_cells": 1e-3})


def test_every_key_round_trips(tmp_path: Path) -> None:
    cfg = _everything()
    path = write_study_toml(cfg, tmp_path, comments=["line one", "", "line # three"])
    back = _read(path)
    assert back == cfg
    # types survive, not only values: a float level stays a float, an int an int
    assert [type(lv.value) for lv in back.cohorts.levels] == [float, int, str]
    text = path.read_text()
    assert text.startswith("# line one\n#\n# line # three\nformat = 1\n")
    assert "lln = { anc = 1.5, platelets = 150 }" in text
    assert tomllib.loads(text)["cohorts"]["ordered"] is True


def test_an_unknown_key_or_system_is_refused_and_nothing_written(tmp_path: Path) -> None:
    bad = dataclasses.replace(_everything(), disease="CLL",
                              criteria={"crs": "made_up"}, lln={"anc": -1.0})
    with pytest.raises(InputError) as err:
        write_study_toml(bad, tmp_path)
    said = {(p.column, p.value) for p in err.value.problems}
    assert {("study.disease", "CLL"), ("criteria.crs", "made_up")} <= said
    assert any(p.column == "labs.lln.anc" for p in err.value.problems)
    assert not (tmp_path / "study.toml").exists()


def test_a_field_the_file_cannot_carry_is_caught() -> None:
    # endpoints take only the keys the loader knows; an extra one is a loader problem
    bad = dataclasses.replace(_everything(), endpoints={"os": {"landmarks": [30],
                                                               "horizon": 5}})
    with pytest.raises(InputError, match=r"endpoints\.os\.horizon"):
        study_toml(bad)
