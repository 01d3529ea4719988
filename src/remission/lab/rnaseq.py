"""Bulk RNA-seq differential expression (knock-down vs control) with PyDESeq2.

Counts in (genes x samples, raw integer counts), DESeq2 out: median-of-ratios size
factors, negative-binomial GLM with empirical-Bayes shrunken dispersions, Wald test,
Cook's-distance outlier refit and independent filtering of adjusted p-values (Love et al.
2014), computed by PyDESeq2 (Muzellec et al. 2023). Reported log2 fold changes are
additionally shrunk with the apeGLM Cauchy prior (Zhu et al. 2019) for ranking and plots;
p-values come from the unshrunken Wald test, as in DESeq2. Enrichment uses
:mod:`remission.stats.enrichment` against shipped or user GMT gene sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from remission.lab._common import SECTION, new_figure
from remission.results import Result
from remission.stats.deseq import REF_APEGLM, REF_DESEQ2, REF_PYDESEQ2, run_deseq2
from remission.stats.enrichment import REF_BH, REF_ORA, REF_RANKSUM, ora, ranksum_test

HIGHLIGHT = ("MCL1", "BCL2", "BCL2L1", "CLEC12A")

__all__ = ["REF_APEGLM", "REF_DESEQ2", "REF_PYDESEQ2", "rnaseq_results", "run_deseq2"]


def rnaseq_results(counts: pd.DataFrame, samples: pd.DataFrame, control: str, treatment: str,
                   genesets: Mapping | None = None, highlight: Sequence[str] = HIGHLIGHT,
                   alpha: float = 0.05, lfc_threshold: float = 1.0,
                   de: pd.DataFrame | None = None) -> list[Result]:
    """DE table, highlighted genes, over-representation and preranked enrichment."""
    res = run_deseq2(counts, samples, control, treatment, alpha=alpha) if de is None else de
    n_sig = int(((res["padj"] < alpha)).sum())
    warns = list(res.attrs.get("warnings", []))
    n_per = samples["group"].value_counts()
    if min(n_per.get(control, 0), n_per.get(treatment, 0)) < 3:
        warns.append("fewer than 3 replicates in a group: dispersion estimates are unstable")
    method = (f"DESeq2 (PyDESeq2) Wald test, {treatment} vs {control}; Benjamini-Hochberg "
              f"adjusted p with independent filtering; log2 fold changes shrunk with apeGLM.")
    out = [Result(
        name="lab.rnaseq.de", title=f"Differential expression, {treatment} vs {control}",
        table=res, method=method,
        rationale="Negative-binomial GLM with shared dispersion information suits the few "
        "replicates of in-vitro experiments.", warnings=tuple(warns),
        references=(REF_DESEQ2, REF_PYDESEQ2, REF_APEGLM),
        params={"control": control, "treatment": treatment, "alpha": alpha,
                "n_significant": n_sig}, section=SECTION)]
    hl = [g for g in highlight if g in res.index]
    missing = [g for g in highlight if g not in res.index]
    out.append(Result(
        name="lab.rnaseq.genes", title="Genes of interest", table=res.loc[hl],
        method=method, warnings=tuple(f"{g} not in the count matrix" for g in missing),
        references=(REF_DESEQ2, REF_PYDESEQ2), section=SECTION))
    if genesets:
        tested = res.dropna(subset=["padj"])
        universe = tested.index
        lfc = tested.get("log2FC_shrunk", tested["log2FoldChange"])
        sig = tested["padj"] < alpha
        rows = []
        for direction, sel in (("up", sig & (lfc >= lfc_threshold)),
                               ("down", sig & (lfc <= -lfc_threshold))):
            t = ora(tested.index[sel], universe, genesets)
            t.insert(0, "direction", direction)
            rows.append(t)
        o = pd.concat(rows, ignore_index=True)
        o.index = [f"{d} | {g}" for d, g in zip(o["direction"], o["gene_set"], strict=True)]
        out.append(Result(
            name="lab.rnaseq.ora", title="Gene-set over-representation",
            table=o, method=f"One-sided hypergeometric test of genes with padj < {alpha} and "
            f"|shrunken log2FC| >= {lfc_threshold} (up and down separately) against genes "
            "with an adjusted p-value (the tested universe); BH over sets.",
            references=(REF_ORA, REF_BH), params={"alpha": alpha,
                                                  "lfc_threshold": lfc_threshold},
            section=SECTION))
        rk = ranksum_test(res["stat"], genesets)
        rk.index = rk["gene_set"].astype(str)
        out.append(Result(
            name="lab.rnaseq.preranked", title="Preranked gene-set test (Wald statistic)",
            table=rk, method="Two-sided Wilcoxon rank-sum test of the DESeq2 Wald statistic "
            "of set members vs all other genes; AUC > 0.5 means the set is shifted up.",
            warnings=("competitive rank test ignoring inter-gene correlation: p-values are "
                      "optimistic",), references=(REF_RANKSUM, REF_BH), section=SECTION))
    return out


def _label(ax, res: pd.DataFrame, x: str, y: np.ndarray, genes: Sequence[str]) -> None:
    for g in genes:
        if g in res.index and np.isfinite(res.at[g, x]):
            yy = float(y[res.index.get_loc(g)])
            ax.scatter([res.at[g, x]], [yy], s=30, facecolors="none", edgecolors="k")
            ax.annotate(g, (res.at[g, x], yy), xytext=(4, 4), textcoords="offset points",
                        fontsize=8)


def plot_volcano(res: pd.DataFrame, highlight: Sequence[str] = HIGHLIGHT, alpha: float = 0.05,
                 name: str = "lab.rnaseq.volcano") -> Figure:
    """Shrunken log2FC vs -log10 p; genes with padj < alpha coloured; named genes labelled."""
    x = "log2FC_shrunk" if "log2FC_shrunk" in res else "log2FoldChange"
    y = -np.log10(res["pvalue"].clip(lower=1e-300)).to_numpy()
    sig = (res["padj"] < alpha).to_numpy()
    fig = new_figure(name, 5.5, 4.5)
    ax = fig.subplots()
    ax.scatter(res[x][~sig], y[~sig], s=4, color="0.7", label="n.s.")
    ax.scatter(res[x][sig], y[sig], s=6, color="C3", label=f"padj < {alpha}")
    _label(ax, res, x, y, highlight)
    ax.set_xlabel("log2 fold change (apeGLM-shrunk)" if x == "log2FC_shrunk" else
                  "log2 fold change")
    ax.set_ylabel("-log10 p")
    ax.legend(fontsize=8)
    return fig


def plot_ma(res: pd.DataFrame, highlight: Sequence[str] = HIGHLIGHT, alpha: float = 0.05,
            name: str = "lab.rnaseq.ma") -> Figure:
    """log10 mean normalised count vs shrunken log2FC."""
    x = "log2FC_shrunk" if "log2FC_shrunk" in res else "log2FoldChange"
    a = np.log10(res["baseMean"].clip(lower=1e-1)).to_numpy()
    sig = (res["padj"] < alpha).to_numpy()
    fig = new_figure(name, 5.5, 4.0)
    ax = fig.subplots()
    ax.scatter(a[~sig], res[x][~sig], s=4, color="0.7")
    ax.scatter(a[sig], res[x][sig], s=6, color="C3")
    for g in highlight:
        if g in res.index:
            i = res.index.get_loc(g)
            ax.scatter([a[i]], [res.at[g, x]], s=30, facecolors="none", edgecolors="k")
            ax.annotate(g, (a[i], res.at[g, x]), xytext=(4, 4), textcoords="offset points",
                        fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel("log10 mean normalised count")
    ax.set_ylabel("log2 fold change")
    return fig
