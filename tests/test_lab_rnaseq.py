"""RNA-seq DE (PyDESeq2) vs R DESeq2 live; enrichment vs R phyper/p.adjust/wilcox.test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.errors import InputError
from remission.lab._common import bh_adjust
from remission.lab.enrichment import builtin_genesets, ora, ranksum_test, read_gmt
from remission.lab.rnaseq import plot_volcano, rnaseq_results, run_deseq2
from tests.rlive import run_r


def _counts(n_genes=300, seed=0):
    rng = np.random.default_rng(seed)
    mu = rng.lognormal(4, 1.5, n_genes)
    lfc = np.zeros(n_genes)
    lfc[:30] = rng.normal(0, 2, 30)
    grp = np.array(["control"] * 3 + ["KD"] * 3)
    sf = np.array([0.8, 1.0, 1.2, 0.9, 1.1, 1.3])
    x = np.array([rng.negative_binomial(8, 8 / (8 + s * mu * (2 ** lfc if g == "KD" else 1)))
                  for g, s in zip(grp, sf, strict=True)]).T
    genes = [f"G{i}" for i in range(n_genes)]
    genes[0], genes[1], genes[40] = "MCL1", "CLEC12A", "BCL2"
    counts = pd.DataFrame(x, index=genes, columns=[f"s{i}" for i in range(6)])
    return counts, pd.DataFrame({"group": grp}, index=counts.columns)


@pytest.fixture(scope="module")
def fitted():
    counts, samples = _counts()
    return counts, samples, run_deseq2(counts, samples, "control", "KD")


@pytest.mark.r
def test_pydeseq2_agrees_with_r_deseq2(fitted):
    counts, _samples, res = fitted
    cdf = counts.reset_index(names="gene")
    r = run_r("""
        suppressPackageStartupMessages(library(DESeq2))
        m <- as.matrix(cdf[, -1]); rownames(m) <- cdf$gene
        cd <- data.frame(group = factor(rep(c("control", "KD"), each = 3),
                                        levels = c("control", "KD")))
        dds <- DESeq(DESeqDataSetFromMatrix(m, cd, ~group), quiet = TRUE)
        rr <- results(dds, contrast = c("group", "KD", "control"))
        out <- list(bm = rr$baseMean, lfc = rr$log2FoldChange, p = rr$pvalue,
                    sf = unname(sizeFactors(dds)))
        """, cdf=cdf)
    # median-of-ratios normalisation is closed-form: identical
    np.testing.assert_allclose(res["baseMean"], r["bm"], rtol=1e-10)
    # MLE fold changes: PyDESeq2's IRLS/dispersion optimiser differs from DESeq2's
    # slightly; measured: median rel. diff 1e-5, max 2e-3 on this data
    rel = np.abs(res["log2FoldChange"].to_numpy() - r["lfc"]) / np.abs(r["lfc"])
    assert np.median(rel) < 1e-4 and np.max(rel) < 1e-2
    # p-values: within 0.01 on the log10 scale for >= 95% of genes (measured 98%); the
    # exceptions are genes with all-zero counts in one group, where the Wald SE differs
    dlp = np.abs(np.log10(res["pvalue"].to_numpy()) - np.log10(np.asarray(r["p"], float)))
    assert np.mean(dlp < 0.01) >= 0.95
    assert "log2FC_shrunk" in res
    # apeGLM shrinks towards 0 and never flips the sign of large effects
    big = res["log2FoldChange"].abs() > 2
    assert (np.sign(res.loc[big, "log2FC_shrunk"]) == np.sign(res.loc[big,
                                                                      "log2FoldChange"])).all()
    assert (res["log2FC_shrunk"].abs() <= res["log2FoldChange"].abs() + 1e-6).mean() > 0.95


@pytest.mark.r
def test_ora_and_bh_match_r():
    universe = [f"G{i}" for i in range(500)]
    sets = {"S1": ("", [f"G{i}" for i in range(0, 40)]),
            "S2": ("", [f"G{i}" for i in range(30, 60)] + ["NOT_IN_UNIVERSE"]),
            "S3": ("", [f"G{i}" for i in range(100, 110)])}
    selected = [f"G{i}" for i in range(0, 25)] + [f"G{i}" for i in range(200, 230)]
    t = ora(selected, universe, sets).set_index("gene_set")
    r = run_r("""
        N <- 500; n <- 55
        k <- c(25, 0, 0); K <- c(40, 30, 10)
        p <- phyper(k - 1, K, N - K, n, lower.tail = FALSE)
        out <- list(p = p, padj = p.adjust(p, "BH"))
        """)
    np.testing.assert_allclose(t.loc[["S1", "S2", "S3"], "p"], r["p"], rtol=1e-10)
    np.testing.assert_allclose(t.loc[["S1", "S2", "S3"], "p_adj"], r["padj"], rtol=1e-10)
    pv = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.5])
    rr = run_r("out <- list(q = p.adjust(c(0.01, 0.04, 0.03, 0.2, 0.5), 'BH'))")
    np.testing.assert_allclose(bh_adjust(pv)[[0, 1, 2, 3, 5]], rr["q"], rtol=1e-12)


@pytest.mark.r
def test_ranksum_matches_r_wilcox():
    rng = np.random.default_rng(2)
    stat = pd.Series(np.round(rng.normal(0, 2, 400), 1), index=[f"G{i}" for i in range(400)])
    stat.iloc[:15] += 2.0
    sets = {"UP": ("", [f"G{i}" for i in range(20)])}
    t = ranksum_test(stat, sets)
    r = run_r("""
        w <- wilcox.test(s[1:20], s[21:400], exact = FALSE, correct = TRUE)
        out <- list(W = unname(w$statistic), p = w$p.value)
        """, s=stat.to_numpy())
    np.testing.assert_allclose(t.loc[0, "W"], r["W"], rtol=1e-12)
    np.testing.assert_allclose(t.loc[0, "p"], r["p"], rtol=1e-8)


def test_builtin_genesets_and_bad_gmt(tmp_path):
    gs = builtin_genesets()
    assert "BCL2_FAMILY_INTRINSIC_APOPTOSIS" in gs and "MCL1" in gs["BCL2_ANTIAPOPTOTIC"][1]
    bad = tmp_path / "bad.gmt"
    bad.write_text("ONLY_NAME\nS1\tdesc\tA\tB\nS1\tdup\tC\nEMPTY\tdesc\t\n")
    with pytest.raises(InputError) as e:
        read_gmt(bad)
    msgs = [p.message for p in e.value.problems]
    assert len(msgs) == 3 and any("duplicate" in m for m in msgs)
    assert [p.row for p in e.value.problems] == [1, 3, 4]


def test_rnaseq_results_and_plots(fitted):
    counts, samples, de = fitted
    gs = {"SET_A": ("", [f"G{i}" for i in range(2, 30)]), "SET_B": ("", ["MCL1", "BCL2",
                                                                          "G100", "G101"])}
    res = rnaseq_results(counts, samples, "control", "KD", genesets=gs, de=de)
    names = [r.name for r in res]
    assert names == ["lab.rnaseq.de", "lab.rnaseq.genes", "lab.rnaseq.ora",
                     "lab.rnaseq.preranked"]
    assert set(res[1].row_keys()) == {"MCL1", "BCL2", "CLEC12A"}
    assert "BCL2L1 not in the count matrix" in res[1].warnings
    fig = plot_volcano(res[0].table)
    assert fig.remission_name == "lab.rnaseq.volcano"
