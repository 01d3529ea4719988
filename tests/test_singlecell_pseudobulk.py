"""Pseudobulk DE (DESeq2 on per-sample sums) and enrichment of DE genes.

Oracles: R DESeq2 (Debian r-bioc-deseq2) on the same cells — committed values in
``tests/rref/pseudobulk_deseq2.json`` made by ``tests/rref/pseudobulk_deseq2.R`` (R sums the
cells per sample itself) through ``tests/singlecell_pseudobulk.py``, re-run live by the
``r`` test; the hypergeometric ORA itself is checked against R ``phyper`` in
``tests/test_lab_rnaseq.py``. Planted truth: three simulated patients (product + day 9),
the killing/memory programme planted in CD4 effector-memory cells at day 9; a null design
without it.

What differs from R by design (PyDESeq2, measured on this input): the parametric
dispersion trend (about 3% from DESeq2's), and with ~ patient + group on 6 samples
PyDESeq2's trend fit fails and falls back to a mean trend (R's fitType = "mean" is
compared for that design).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("scanpy")

from scipy.stats import spearmanr

from remission.singlecell.analysis import Params, profile
from remission.singlecell.simulate import (
    CHRY_GENES,
    cart_design,
    planted_genes,
    replicate_design,
    simulate,
)
from remission.singlecell.stats import pseudobulk, pseudobulk_de
from tests.singlecell_pseudobulk import REFERENCE, inputs, run_r_deseq2

PLANTED = planted_genes(cart_design())
SEX = {"XIST", *CHRY_GENES}


def _arr(x):
    return np.array([np.nan if v is None else v for v in x], float)


@pytest.fixture(scope="module")
def ours():
    a, mask = inputs()
    counts, _ = pseudobulk(a, mask)
    paired, _, w = pseudobulk_de(a, mask, "time_point", "product", "day 9")
    b = a.copy()
    del b.obs["patient"]
    unpaired, _, _ = pseudobulk_de(b, mask, "time_point", "product", "day 9")
    return {"counts": counts, "paired": paired, "unpaired": unpaired, "warnings": w}


def _check(o, r):
    genes = r["genes"]
    pb = np.array(r["pb"]).reshape(len(r["samples"]), len(genes)).T
    assert list(o["counts"].columns) == r["samples"]
    np.testing.assert_array_equal(o["counts"].loc[genes].to_numpy(), pb)   # aggregation
    for kind, ref, lfc_med, lfc_max in (("unpaired", "unpaired", 1e-3, 0.1),
                                        ("paired", "paired_mean", 5e-3, 1.0)):
        de, R = o[kind].loc[genes], r[ref]
        np.testing.assert_allclose(de["baseMean"], R["bm"], rtol=1e-10)  # size factors
        lfc = _arr(R["lfc"])
        rel = np.abs(de["log2FoldChange"].to_numpy() - lfc) / np.abs(lfc)
        assert np.median(rel) < lfc_med and np.max(rel) < lfc_max, (kind, rel.max())
        p = _arr(R["p"])
        assert spearmanr(de["pvalue"], p).statistic >= 0.999, kind
        ours_sig = set(de.index[de["padj"] < 0.05])
        r_sig = set(np.asarray(genes)[_arr(R["padj"]) < 0.05])
        assert len(ours_sig ^ r_sig) <= 1, (kind, ours_sig ^ r_sig)
        assert set(PLANTED) <= ours_sig and set(PLANTED) <= r_sig
    # R's default parametric trend on the paired design: same planted genes called
    r_sig = set(np.asarray(genes)[_arr(r["paired"]["padj"]) < 0.05])
    assert set(PLANTED) <= r_sig


def test_matches_committed_deseq2_reference(ours):
    r = json.loads(REFERENCE.read_text())
    assert r["deseq2_version"].startswith("1.")
    _check(ours, r)
    assert any("fewer than 3" in w or "dispersion" in w for w in ours["warnings"])


@pytest.mark.r
def test_matches_deseq2_live(ours):
    _check(ours, run_r_deseq2())


def test_null_design_calls_nothing_outside_sex_genes():
    """No programme planted, per-sample batch noise only: pseudobulk calls (almost)
    nothing outside the sex genes (origin shares differ by time point)."""
    a = simulate(replicate_design(n_patients=3, n_cells=150, n_genes=500, programme=False),
                 seed=22)
    a = a[(a.obs["truth_qc"] == "ok").to_numpy(),
          (a.var["feature_type"] == "Gene Expression").to_numpy()].copy()
    a.layers["counts"] = a.X.copy()
    mask = (a.obs["truth_population"] == "CD4 effector memory").to_numpy()
    de, _, _ = pseudobulk_de(a, mask, "time_point", "product", "day 9")
    fp_pb = set(de.index[de["padj"] < 0.05]) - SEX
    assert len(fp_pb) <= 1, fp_pb
    assert not set(PLANTED) & set(de.index[de["padj"] < 0.05])


def test_too_few_replicates_no_test_and_a_warning():
    a, mask = inputs()
    b = a[a.obs["patient"] == "P1"].copy()
    de, samples, w = pseudobulk_de(b, mask[(a.obs["patient"] == "P1").to_numpy()],
                                   "time_point", "product", "day 9")
    assert de is None and any("needs >= 2 samples" in x for x in w)
    de, samples, w = pseudobulk_de(a, mask, "time_point", "product", "day 9", min_cells=10**6)
    assert de is None and not samples["used"].any()
    assert sum("left out" in x for x in w) == 6


@pytest.fixture(scope="module")
def replicate_profile():
    a = simulate(replicate_design(n_patients=3, n_cells=200, n_genes=800), seed=23)
    d = replicate_design()
    p = Params(construct_features=d.construct_features, n_top_genes=500, donor_sex="male",
               time_order=("product", "day 9"), de_labels=("CD4 effector memory",),
               de_car_only=False)
    return profile(a, p)


def test_pipeline_pseudobulk_recovers_planted_programme(replicate_profile):
    res = {r.name: r for r in replicate_profile.results}
    pb = res["singlecell.pseudobulk_de"]
    sig = set(pb.table.index[pb.table["padj"] < 0.05])
    assert len(set(PLANTED) & sig) / len(PLANTED) >= 0.8, sig
    assert (pb.table.loc[list(set(PLANTED) & sig), "log2FoldChange"] > 0).all()
    assert len(sig - set(PLANTED) - SEX) <= 2, sig
    assert "patient" in pb.method and "P1-peak" in pb.params["samples"]
    enr = res["singlecell.enrichment"].table
    assert enr.loc["up | T_CELL_CYTOTOXICITY", "p_adj"] < 0.05
    assert enr.loc["up | T_CELL_CYTOTOXICITY", "overlap"] >= 4
    assert (enr.loc[enr["direction"] == "down", "p_adj"] > 0.05).all()
    # shipped GO sets (release 2022-07-01): NK cell mediated cytotoxicity among the up hits
    go = enr[enr["source"] == "GO"]
    assert "up | GO:0042267" in go.index and go.loc["up | GO:0042267", "p_adj"] < 0.05
    assert (go["overlap"] > 0).all()
    assert any("Gene Ontology" in x for x in res["singlecell.enrichment"].references)


def test_single_sample_per_time_point_says_why_no_pseudobulk():
    a = simulate(cart_design(n_cells=300, n_genes=800), seed=3)
    p = Params(construct_features=cart_design().construct_features, n_top_genes=500,
               donor_sex="male", time_order=("product", "day 9"),
               de_labels=("CD4 effector memory",), de_car_only=False)
    res = {r.name: r for r in profile(a, p).results}
    assert "singlecell.pseudobulk_de" not in res
    assert any("needs >= 2 samples" in w for w in res["singlecell.de"].warnings)
    enr = res["singlecell.enrichment"]
    assert "cell-level" in enr.method and enr.warnings
    assert enr.table.loc["up | T_CELL_CYTOTOXICITY", "p_adj"] < 0.05


def test_study_genesets_are_read_and_checked(tmp_path, capsys):
    import shutil
    from pathlib import Path

    from remission.cli import main
    from remission.singlecell import load_singlecell

    root = Path(__file__).resolve().parents[1]
    folder = tmp_path / "s"
    shutil.copytree(root / "examples" / "singlecell-cart-002-synthetic", folder)
    (folder / "singlecell" / "mine.gmt").write_text("MY_SET\tmine\tGZMB\tPRF1\tNKG7\n")
    toml = (folder / "study.toml").read_text()
    (folder / "study.toml").write_text(toml.replace(
        "de_car_only = true", 'de_car_only = true\ngenesets = ["singlecell/mine.gmt"]'))
    st = load_singlecell(folder)
    assert st.params.genesets["MY_SET"][1] == ["GZMB", "PRF1", "NKG7"]
    assert "T_CELL_CYTOTOXICITY" in st.params.genesets          # shipped sets kept
    (folder / "singlecell" / "mine.gmt").write_text("BROKEN_LINE_ONLY\n")
    assert main(["singlecell", "validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "mine.gmt" in err and "fewer than 3" in err


def test_shipped_go_sets_match_org_hs_eg_db():
    """Every shipped GO set (term, name and genes: term + descendants, all evidence)
    equals what R's org.Hs.eg.db GOALL and GO.db give (committed
    ``tests/rref/go_genesets.json`` from ``tests/rref/go_genesets.R``): three terms gene by
    gene, every term by the MD5 of its sorted genes, one per line."""
    import hashlib

    from remission.stats.enrichment import go_genesets
    from tests.rref import committed

    r = committed("go_genesets")
    sets = go_genesets()
    assert r["go_date"] == "2022-07-01"
    for term in ("GO:0001771", "GO:0002418", "GO:0042267"):
        assert sets[term][1] == r[term], term
    assert len(sets) == r["n_sets"] == 550
    assert sorted(sets) == sorted(r["md5"])
    digest = {t: hashlib.md5(("\n".join(sorted(genes)) + "\n").encode()).hexdigest()
              for t, (_, genes) in sets.items()}
    assert digest == r["md5"], sorted(t for t in digest if digest[t] != r["md5"].get(t))
    assert {t: name for t, (name, _) in sets.items()} == r["names"]


@pytest.mark.r
def test_go_sets_match_org_hs_eg_db_live():
    from remission.stats.enrichment import go_genesets
    from tests.rref import committed, live

    r = live("go_genesets")
    assert r == committed("go_genesets")
    assert go_genesets()["GO:0042267"][1] == r["GO:0042267"]
