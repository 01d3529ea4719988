"""Models compute, renderers render: the simulation's Markdown (issue 13).

``remission.sim.calibrate`` and ``remission.sim.abc`` return DataFrames; the Markdown of
docs/simulation.md and of ``python -m remission.sim.abc`` is written by
``remission.report.markdown``. The committed ABC outputs (benchmarks/sim_abc/*.md, made
by the renderer's previous home in ``sim.abc``) are rebuilt byte for byte from the
numbers in their JSON twins, so moving the rendering changed no output.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

from remission.report.markdown import abc_markdown, calibration_markdown, markdown_table

ROOT = Path(__file__).resolve().parents[1]
ABC = ROOT / "benchmarks" / "sim_abc"
SIM = ROOT / "src" / "remission" / "sim"


def _frame(records: dict[str, dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(records, orient="index")


def test_abc_fit_markdown_is_rebuilt_from_its_json() -> None:
    doc = json.loads((ABC / "abc_fit.json").read_text())
    text = abc_markdown(doc["command"], history=doc["history"],
                        posterior=_frame(doc["posterior"]),
                        predictive=_frame(doc["posterior_predictive"]),
                        predict_stream=doc["predict_stream"])
    assert text == (ABC / "abc_fit.md").read_text()


def test_abc_loso_markdown_is_rebuilt_from_its_json() -> None:
    doc = json.loads((ABC / "abc_loso.json").read_text())
    text = abc_markdown(doc["command"], leave_one_seed_out={
        k: _frame(v) for k, v in doc["leave_one_seed_out"].items()})
    assert text == (ABC / "abc_loso.md").read_text()


def test_markdown_table_formats_floats_only() -> None:
    df = pd.DataFrame({"D": [37.2456, 4.0], "verdict": ["pass", "fail"],
                       "inside": [True, False]},
                      index=pd.Index(["(shipped)", "il6_car"], name="parameter"))
    assert markdown_table(df) == (
        "| parameter | D | verdict | inside |\n"
        "|---|---|---|---|\n"
        "| (shipped) | 37.2 | pass | True |\n"
        "| il6_car | 4 | fail | False |")
    assert markdown_table(df[["D"]], fmt="{:.1f}").splitlines()[2] == "| (shipped) | 37.2 |"


def test_calibration_markdown_rows_by_kind() -> None:
    rows = [
        # a day value: no decimals; a miss is bold
        {"target": "002.peak_day", "description": "CAR peak day", "kind": "day",
         "published": 10.0, "simulated_median": 8.4, "simulated_mean": 8.5,
         "interval_low": 7.0, "interval_high": 9.6, "published_within_interval": False},
        # no published value: dashes, not "nan"
        {"target": "000.chisq_p", "description": "P", "kind": "p",
         "published": float("nan"), "simulated_median": 0.2794, "simulated_mean": 0.3,
         "interval_low": 0.01, "interval_high": 0.9, "published_within_interval": None},
    ]
    got = calibration_markdown(pd.DataFrame(rows).set_index("target")).splitlines()
    assert got[2] == "| 002.peak_day: CAR peak day | 10 | 8 | 7-10 | **no** |"
    assert got[3] == "| 000.chisq_p: P | - | 0.279 | 0.010-0.900 | - |"


@pytest.mark.parametrize("path", sorted(SIM.glob("*.py")), ids=lambda p: p.name)
def test_sim_modules_do_not_write_markdown(path: Path) -> None:
    # no Markdown table syntax in any string literal of the model modules
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert "|---" not in node.value and not node.value.startswith("| "), (
                f"{path.name}:{node.lineno} renders Markdown; use remission.report.markdown")
            assert not node.value.lstrip("\n").startswith("## "), (
                f"{path.name}:{node.lineno} writes a Markdown heading")


def test_abc_command_writes_what_the_renderer_renders(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # ``python -m remission.sim.abc`` computes, then hands its tables to the renderer;
    # the fit itself is replaced by a fixed posterior (the real one takes minutes)
    import numpy as np

    from remission.sim import abc

    post = abc.AbcResult(particles=pd.DataFrame({"car_expansion": [0.5, 1.0, 2.0]}),
                         weights=np.array([0.2, 0.5, 0.3]), distances=np.zeros(3),
                         history=[{"generation": 0, "epsilon": 19.3, "acceptance": 0.5,
                                   "simulated": 80}],
                         priors={"car_expansion": abc.PRIORS["car_expansion"]})
    pred = pd.DataFrame({"000.orr_ven": [0.7, 0.8, 0.9]})
    monkeypatch.setattr(abc, "fit", lambda *a, **k: post)
    monkeypatch.setattr(abc, "posterior_predictive", lambda *a, **k: pred)
    monkeypatch.setattr(abc, "leave_one_seed_out",
                        lambda *a, **k: {"004": abc.predictive_table(pred)})
    assert abc.main([str(tmp_path), "--no-loso"]) == 0
    doc = json.loads((tmp_path / "abc_fit.json").read_text())
    text = (tmp_path / "abc_fit.md").read_text()
    assert text == abc_markdown(doc["command"], history=doc["history"],
                                posterior=_frame(doc["posterior"]),
                                predictive=_frame(doc["posterior_predictive"]),
                                predict_stream=abc.PREDICT_STREAM)
    assert "| car_expansion | 0.5 | 1 | 2 | 0.3 | 3 |" in text
    assert "| 000.orr_ven | 0.788 | 0.705 | 0.8 | 0.895 | True |" in text
    assert abc.main([str(tmp_path), "--loso-only"]) == 0
    loso = (tmp_path / "abc_loso.md").read_text()
    assert "### seed 004 left out" in loso and "## Generations" not in loso
