"""A study with [singlecell] gets the single-cell section in its report (results.json),
and `remission validate` checks the single-cell inputs with the rest of the study."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("scanpy")

from remission.cli import main
from remission.singlecell.io import write_10x_mtx
from remission.singlecell.simulate import cart_design, simulate

ROOT = Path(__file__).resolve().parents[1]
SC = """
[singlecell]
construct_features = ["CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"]
n_top_genes = 300
donor_sex = "male"
time_order = ["product", "day 9"]
"""


def _study(tmp: Path, feats_ok: bool = True) -> Path:
    folder = tmp / "study"
    shutil.copytree(ROOT / "examples" / "cll1-post-hsct", folder)
    a = simulate(cart_design(n_cells=150, n_genes=500), seed=4)
    if not feats_ok:
        a = a[:, a.var_names != "CAR-WPRE"].copy()
    rows = ["sample,path,time_point,source"]
    for s, tp in (("product", "product"), ("peak", "day 9")):
        write_10x_mtx(a[a.obs["sample"] == s].copy(), folder / "singlecell" / s)
        rows.append(f"{s},singlecell/{s},{tp},blood")
    (folder / "singlecell" / "samples.csv").write_text("\n".join(rows) + "\n")
    with open(folder / "study.toml", "a", encoding="utf-8") as fh:
        fh.write(SC)
    return folder


def test_study_report_has_singlecell_section(tmp_path):
    folder = _study(tmp_path)
    out = tmp_path / "out"
    assert main(["report", str(folder), "--out", str(out)]) == 0
    names = [r["name"] for r in json.loads((out / "results.json").read_text())["results"]]
    assert {"singlecell.qc", "singlecell.car", "singlecell.cd4_cd8",
            "singlecell.expansion.car"} <= set(names)
    assert "response.rates" in names            # the clinical report is still there
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Single-cell profiling" in html
    # cell origin by cluster is one Result, shown once (no separate singlecell summary)
    assert names.count("immunogenetics.origin_by_cluster") == 1
    assert not any(n.endswith(".origin") for n in names)
    assert html.count("Cell origin by cluster (recipient vs donor / product)</") == 1


def test_two_origin_inputs_are_refused(tmp_path, capsys):
    folder = _study(tmp_path)
    (folder / "immunogenetics").mkdir(exist_ok=True)
    (folder / "immunogenetics" / "cell_origin.csv").write_text(
        "cell,cluster,origin\nAAAC-1,0,donor\n")
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "two per-cell origin inputs" in err and "cell_origin.csv" in err


def test_validate_reports_singlecell_problems(tmp_path, capsys):
    folder = _study(tmp_path, feats_ok=False)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "CAR-WPRE" in err and "singlecell.construct_features" in err
