"""analyse_folder on the SYNTHETIC example: contract, reproducibility, all problems at once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from remission.errors import InputError
from remission.lab import analyse_folder
from remission.results import to_jsonable

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "synthetic-lab"


def _copy(tmp_path: Path, rnaseq: bool) -> Path:
    dst = tmp_path / "lab"
    shutil.copytree(EXAMPLE, dst)
    toml = (dst / "lab.toml").read_text().replace("n_boot = 100", "n_boot = 8")
    (dst / "lab.toml").write_text(toml)
    if rnaseq:  # keep the curated genes (listed first) and some background: fast DESeq2
        pd.read_csv(dst / "rnaseq_counts.csv").head(400).to_csv(dst / "rnaseq_counts.csv",
                                                                 index=False)
    else:
        (dst / "rnaseq_counts.csv").unlink()
        (dst / "rnaseq_samples.csv").unlink()
    return dst


def _dump(results) -> str:
    return json.dumps([r.to_dict() for r in results], sort_keys=True, default=to_jsonable)


def test_example_fast_parts_reproducible(tmp_path):
    folder = _copy(tmp_path, rnaseq=False)
    r1, figs = analyse_folder(folder)
    r2, _ = analyse_folder(folder)
    assert _dump(r1) == _dump(r2)
    names = [r.name for r in r1]
    for n in ("lab.doseresponse.fits", "lab.doseresponse.compare", "lab.qpcr.expression",
              "lab.apoptosis.tests", "lab.synergy.summary"):
        assert n in names
    assert all(r.section == "lab" for r in r1)
    assert all(r.warnings[0].startswith("SYNTHETIC") for r in r1)
    assert {f.remission_name for f in figs} >= {"lab.doseresponse.curves",
                                                "lab.synergy.landscape"}
    fits = next(r for r in r1 if r.name == "lab.doseresponse.fits")
    # the generator's truth: IC50 180 nM (shCtrl) and 45 nM (shCLL1); CIs must cover them
    assert fits.cell("venetoclax | shCtrl", "ic50_lower") < 180 < fits.cell(
        "venetoclax | shCtrl", "ic50_upper")
    assert fits.cell("venetoclax | shCLL1", "ic50_lower") < 45 < fits.cell(
        "venetoclax | shCLL1", "ic50_upper")


def test_example_with_rnaseq(tmp_path):
    res, figs = analyse_folder(_copy(tmp_path, rnaseq=True).parent)  # study folder with lab/
    genes = next(r for r in res if r.name == "lab.rnaseq.genes")
    assert genes.cell("CLEC12A", "log2FoldChange") < -2
    assert genes.cell("MCL1", "log2FoldChange") < 0
    assert "lab.rnaseq.volcano" in {f.remission_name for f in figs}


def test_all_problems_across_files(tmp_path):
    folder = _copy(tmp_path, rnaseq=False)
    (folder / "qpcr.csv").write_text("sample,group,gene,ct\ns1,ctl,GAPDH,abc\n")
    (folder / "apoptosis.csv").write_text("sample,group\ns1,ctl\n")
    toml = (folder / "lab.toml").read_text()
    (folder / "lab.toml").write_text(toml)
    with pytest.raises(InputError) as e:
        analyse_folder(folder)
    files = {Path(p.file).name for p in e.value.problems}
    assert files == {"qpcr.csv", "apoptosis.csv"}
    assert len(e.value.problems) == 1 + 1 + 4  # bad Ct, s1 lacks ACTB, 4 quadrant columns


def test_unknown_config_key(tmp_path):
    folder = _copy(tmp_path, rnaseq=False)
    (folder / "lab.toml").write_text('[qpcr]\nreference_gene = ["GAPDH"]\n[extra]\nx = 1\n')
    with pytest.raises(InputError) as e:
        analyse_folder(folder)
    assert {p.value for p in e.value.problems} == {"reference_gene", "extra"}


def test_empty_folder(tmp_path):
    with pytest.raises(InputError, match="no lab input files"):
        analyse_folder(tmp_path)


def test_plate_grids_give_same_fit_as_tidy_table(tmp_path):
    tidy = pd.read_csv(EXAMPLE / "doseresponse.csv")
    folder = tmp_path / "lab"
    (folder / "plates").mkdir(parents=True)
    (folder / "lab.toml").write_text('[doseresponse]\ndose_unit = "nM"\nreference = "shCtrl"\n')
    header = ["row", *[str(i) for i in range(1, 13)]]
    lay = pd.DataFrame("", index=list("ABCDEFGH"), columns=header[1:])
    rd = pd.DataFrame("", index=list("ABCDEFGH"), columns=header[1:])
    for r in tidy.itertuples():
        row, col = r.well[0], str(int(r.well[1:]))
        lay.loc[row, col] = f"{r.group}|{r.drug}|{r.dose}|{r.replicate}"
        rd.loc[row, col] = str(r.response)
    for name, grid in (("P1_layout.csv", lay), ("P1_readings.csv", rd)):
        grid.rename_axis("row").reset_index().to_csv(folder / "plates" / name, index=False)
    res, _ = analyse_folder(folder)
    ref, _ = analyse_folder(_copy(tmp_path / "ref", rnaseq=False))
    a = next(r for r in res if r.name == "lab.doseresponse.fits").table
    b = next(r for r in ref if r.name == "lab.doseresponse.fits").table
    pd.testing.assert_series_equal(a["ic50"], b["ic50"])


def test_bad_settings_are_problems_not_tracebacks(tmp_path):
    folder = _copy(tmp_path, rnaseq=False)
    (folder / "lab.toml").write_text(
        '[doseresponse]\nmodel = "LL.5"\nconf = 95\n[synergy]\nn_boot = -1\n'
        '[qpcr]\nreference_genes = ["GAPDH", "ACTB"]\n')
    with pytest.raises(InputError) as e:
        analyse_folder(folder)
    assert {p.value for p in e.value.problems} == {"LL.5", 95, -1}
    # a control group that is not in the data: reported against lab.toml
    (folder / "lab.toml").write_text(
        '[qpcr]\nreference_genes = ["GAPDH", "ACTB"]\ncontrol_group = "shCtrI"\n'
        '[synergy]\nn_boot = 0\n')
    with pytest.raises(InputError) as e:
        analyse_folder(folder)
    assert len(e.value.problems) == 1
    assert "shCtrI" in e.value.problems[0].message
    assert e.value.problems[0].file.endswith("lab.toml")
