"""Single-cell input: formats round-trip; bad input gives every problem, names file and
field, and writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("scanpy")

import anndata as ad
import scipy.sparse as sp

from remission.cli import main
from remission.errors import InputError
from remission.singlecell.io import (
    load_singlecell,
    read_counts,
    write_10x_mtx,
)
from remission.singlecell.simulate import cart_design, simulate

FEATS = ["CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"]
TOML = """format = 1
[study]
name = "t"
disease = "AML"
[singlecell]
construct_features = {feats}
time_order = ["product", "day 9"]
donor_sex = "male"
n_top_genes = 300
"""


@pytest.fixture(scope="module")
def sim():
    return simulate(cart_design(n_cells=120, n_genes=500), seed=2)


def _study(tmp: Path, sim, feats=FEATS, extra_rows=()) -> Path:
    folder = tmp / "study"
    rows = ["sample,path,time_point,source"]
    for s, tp in (("product", "product"), ("peak", "day 9")):
        sub = sim[sim.obs["sample"] == s].copy()
        write_10x_mtx(sub, folder / "singlecell" / s)
        rows.append(f"{s},singlecell/{s},{tp},{'product' if s == 'product' else 'blood'}")
    rows += list(extra_rows)
    (folder / "singlecell" / "samples.csv").write_text("\n".join(rows) + "\n")
    (folder / "study.toml").write_text(TOML.format(feats=str(list(feats)).replace("'", '"')))
    return folder


def test_10x_roundtrip_and_same_bytes(tmp_path, sim):
    write_10x_mtx(sim, tmp_path / "a")
    write_10x_mtx(sim, tmp_path / "b")
    for f in ("matrix.mtx.gz", "features.tsv.gz", "barcodes.tsv.gz"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    back = read_counts(tmp_path / "a")
    assert list(back.obs_names) == list(sim.obs_names)
    assert list(back.var_names) == list(sim.var_names)
    assert (back.X != sim.X).nnz == 0


def test_h5ad_and_csv_inputs(tmp_path, sim):
    sim.write_h5ad(tmp_path / "x.h5ad")
    h = read_counts(tmp_path / "x.h5ad")
    assert (h.X != sim.X).nnz == 0
    df = pd.DataFrame(sim.X[:20].toarray().T, index=sim.var_names, columns=sim.obs_names[:20])
    df.to_csv(tmp_path / "g.csv")
    c = read_counts(tmp_path / "g.csv")               # genes x cells (R's write.csv)
    assert c.shape == (20, sim.n_vars)
    df.T.to_csv(tmp_path / "c.csv")
    c2 = read_counts(tmp_path / "c.csv", layout="cells_x_genes")
    np.testing.assert_array_equal(c.X.toarray(), c2.X.toarray())


def test_load_study_folder(tmp_path, sim):
    st = load_singlecell(_study(tmp_path, sim))
    assert st.adata.n_obs == sim.n_obs
    assert set(st.adata.obs["time_point"]) == {"product", "day 9"}
    assert st.adata.obs_names[0].startswith("product:")
    assert st.params.construct_features == tuple(FEATS)
    assert st.params.n_top_genes == 300


def _problems(folder: Path) -> list:
    with pytest.raises(InputError) as e:
        load_singlecell(folder)
    return e.value.problems


def test_negative_and_non_integer_counts_named(tmp_path, sim):
    bad = sim.copy()
    X = bad.X.toarray().astype(float)
    X[3, 5] = -2
    X[7, 9] = 1.5
    bad.X = sp.csr_matrix(X)
    bad.obs_names = sim.obs_names
    folder = tmp_path / "s"
    (folder / "singlecell").mkdir(parents=True)
    sub = bad[bad.obs["sample"] == "product"].copy()
    sub.write_h5ad(folder / "singlecell" / "product.h5ad")
    sim[sim.obs["sample"] == "peak"].copy().write_h5ad(folder / "singlecell" / "peak.h5ad")
    (folder / "singlecell" / "samples.csv").write_text(
        "sample,path,time_point,source\nproduct,singlecell/product.h5ad,product,product\n"
        "peak,singlecell/peak.h5ad,day 9,blood\n")
    (folder / "study.toml").write_text(TOML.format(feats=str(FEATS).replace("'", '"')))
    probs = _problems(folder)
    msgs = {p.message: p for p in probs}
    assert "negative counts" in msgs and "non-integer counts" in msgs
    neg = msgs["negative counts"]
    assert neg.file == "singlecell/product.h5ad"
    assert f"barcode {sim.obs_names[3]}" in neg.column and neg.value == -2
    assert "feature" in msgs["non-integer counts"].column
    assert msgs["non-integer counts"].value == 1.5


def test_duplicate_barcodes(tmp_path, sim):
    sub = sim[sim.obs["sample"] == "product"].copy()
    sub.obs_names = [sub.obs_names[0], *list(sub.obs_names[1:-1]), sub.obs_names[0]]
    folder = _study(tmp_path, sim)
    write_10x_mtx(sub, folder / "singlecell" / "product")
    p = [p for p in _problems(folder) if p.message == "duplicate barcodes"]
    assert p and p[0].file == "singlecell/product" and sub.obs_names[0] in p[0].value


def test_missing_construct_features(tmp_path, sim):
    folder = _study(tmp_path, sim, feats=[*FEATS, "CAR-EGFRt"])
    probs = _problems(folder)
    assert len(probs) == 2  # one per sample file
    assert all(p.column == "singlecell.construct_features" and p.value == "CAR-EGFRt"
               for p in probs)


def test_undeclared_samples_and_bad_config_all_at_once(tmp_path, sim):
    folder = _study(tmp_path, sim)
    write_10x_mtx(sim[:10], folder / "singlecell" / "day28")   # present but not declared
    toml = (folder / "study.toml").read_text()
    toml = toml.replace('time_order = ["product", "day 9"]',
                        'time_order = ["product", "day 14"]\nmode = "louvain"')
    (folder / "study.toml").write_text(toml)
    probs = _problems(folder)
    got = {(p.file, p.column) for p in probs}
    assert ("singlecell/day28", "path") in got
    assert ("study.toml", "singlecell.mode") in got
    assert ("study.toml", "singlecell.time_order") in got


def test_undeclared_sample_inside_h5ad(tmp_path, sim):
    folder = tmp_path / "s"
    (folder / "singlecell").mkdir(parents=True)
    sim.write_h5ad(folder / "singlecell" / "all.h5ad")   # obs['sample']: product, peak
    (folder / "singlecell" / "samples.csv").write_text(
        "sample,path,time_point,source\nproduct,singlecell/all.h5ad,product,product\n")
    (folder / "study.toml").write_text(TOML.format(feats=str(FEATS).replace("'", '"'))
                                       .replace('time_order = ["product", "day 9"]\n', ""))
    p = _problems(folder)
    assert p[0].message.startswith("undeclared sample") and p[0].value == "peak"


def test_missing_file_and_columns(tmp_path, sim):
    folder = _study(tmp_path, sim, extra_rows=["d28,singlecell/nothere,day 28,blood"])
    p = _problems(folder)
    assert any(x.message == "count matrix not found" and x.row == 4 for x in p)
    (folder / "singlecell" / "samples.csv").write_text("sample,path\nproduct,x\n")
    p = _problems(folder)
    assert {x.column for x in p} >= {"time_point", "source"}


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, sim, capsys):
    folder = _study(tmp_path, sim, feats=[*FEATS, "CAR-EGFRt"])
    out = tmp_path / "out"
    assert main(["singlecell", "report", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "CAR-EGFRt" in err and "singlecell.construct_features" in err
    assert not out.exists()
    shutil.rmtree(folder)


def test_cli_validate_ok(tmp_path, sim, capsys):
    folder = _study(tmp_path, sim)
    assert main(["singlecell", "validate", str(folder)]) == 0
    assert "valid" in capsys.readouterr().out


def test_empty_matrix(tmp_path):
    a = ad.AnnData(sp.csr_matrix((3, 4)), obs=pd.DataFrame(index=list("abc")),
                   var=pd.DataFrame(index=list("wxyz")))
    from remission.errors import ProblemLog
    from remission.singlecell.io import check_counts

    log = ProblemLog()
    check_counts(a, "m.h5ad", log)
    assert log.problems[0].message == "no counts" and log.problems[0].file == "m.h5ad"


def test_construct_reference_records(tmp_path):
    from remission.singlecell.reference import Element, write_construct_reference

    seq = "ACGT" * 50
    fa, gtf = write_construct_reference(tmp_path, "CAR-CLL1", seq,
                                        [Element("CAR-CLL1-scFv", 1, 90),
                                         Element("CAR-WPRE", 150, 200)])
    lines = fa.read_text().splitlines()
    assert lines[0] == ">CAR-CLL1" and "".join(lines[1:]) == seq
    rows = [r.split("\t") for r in gtf.read_text().splitlines()]
    assert len(rows) == 9 and all(len(r) == 9 for r in rows)
    exons = [r for r in rows if r[2] == "exon"]
    assert [(r[3], r[4]) for r in exons] == [("1", "200"), ("1", "90"), ("150", "200")]
    assert 'gene_name "CAR-WPRE"' in exons[2][8]
    with pytest.raises(InputError) as e:
        write_construct_reference(tmp_path / "x", "CAR", "ACGU", [Element("e", 3, 9)])
    assert {p.message for p in e.value.problems} == {"invalid nucleotide sequence",
                                                      "element outside the construct"}
    assert not (tmp_path / "x").exists()


def test_origin_file_used_instead_of_sex_genes(tmp_path, sim):
    from remission.singlecell import run_folder

    folder = _study(tmp_path, sim)
    truth = sim.obs[["sample", "truth_origin"]]
    rows = [f"{b},{s},{o}" for b, (s, o) in zip(truth.index, truth.to_numpy(), strict=True)]
    lines = ["barcode,sample,origin", *rows[:-5]]
    (folder / "singlecell" / "origin.csv").write_text("\n".join(lines) + "\n")
    toml = (folder / "study.toml").read_text() + 'origin_file = "singlecell/origin.csv"\n'
    (folder / "study.toml").write_text(toml.replace("n_top_genes = 300\n",
                                                    "n_top_genes = 300\n", 1))
    st = load_singlecell(folder)
    assert (st.origin == "undetermined").sum() == 5          # the 5 unlisted cells
    assert st.origin.iloc[0] == truth["truth_origin"].iloc[0]
    prof = run_folder(folder)
    res = next(r for r in prof.results if r.name == "immunogenetics.origin_by_cluster")
    assert "origin file" in res.method
    kept = prof.adata.obs
    planted = pd.Series(truth["truth_origin"].to_numpy(),
                        index=truth["sample"].astype(str) + ":" + truth.index)
    listed = kept["origin"] != "undetermined"
    assert listed.sum() >= len(kept) - 5
    assert (kept.loc[listed, "origin"] == planted[kept.index[listed]].to_numpy()).all()
    # a value outside the vocabulary is an error naming file, line and column
    bad = [*lines[:2], lines[2].rsplit(",", 1)[0] + ",host", *lines[3:]]
    (folder / "singlecell" / "origin.csv").write_text("\n".join(bad) + "\n")
    probs = _problems(folder)
    assert probs[0].file == "singlecell/origin.csv" and probs[0].row == 3 \
        and probs[0].column == "origin" and probs[0].value == "host"
    # blank and vireo's "unassigned" read as undetermined; every other problem at once
    b0, s0 = lines[1].split(",")[:2]
    more = [lines[0], f"{b0},{s0},unassigned", lines[2].rsplit(",", 1)[0] + ",",
            lines[3].rsplit(",", 1)[0] + ",Doublet", *lines[4:]]
    (folder / "singlecell" / "origin.csv").write_text("\n".join(more) + "\n")
    st = load_singlecell(folder)
    assert list(st.origin.iloc[:3]) == ["undetermined", "undetermined", "doublet"]
    assert any("donor_sex" in w and "not used" in w for w in st.warnings)
    wrong = [*more, f"{b0},nosuch,donor", f"{b0},{s0},donor", "ZZZZ-9,product,donor"]
    (folder / "singlecell" / "origin.csv").write_text("\n".join(wrong) + "\n")
    got = {(p.message, p.row) for p in _problems(folder)}
    n = len(more)
    assert got == {("sample not in the sample sheet", n + 1), ("cell listed twice", n + 2)}
    (folder / "singlecell" / "origin.csv").write_text("\n".join([*more, "ZZZZ-9,product,donor"])
                                                      + "\n")
    assert any("1 of" in w and "match no cell" in w for w in load_singlecell(folder).warnings)
