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

__all__ = ["plot_ma", "plot_volcano", "rnaseq_results", "run_deseq2"]


def rnaseq_results(counts: pd.DataFrame, samples: pd.DataFrame, control: str, treatment: str,
                   genesets: Mapping | None = None, highlight: Sequence[str] = HIGHLIGHT,
                   alpha: float = 0.05, lfc_threshold: float = 1.0,
                   de: pd.DataFrame | None = None) -> list[Result]:
    """Differential expression (DESeq2), genes of interest and gene-set enrichment.

    DE by :func:`~remission.stats.deseq.run_deseq2` unless ``de`` is given; with gene
    sets, over-representation of up- and down-regulated genes (padj < ``alpha`` and
    absolute shrunken log2FC >= ``lfc_threshold``) against the genes with an adjusted p-value,
    and the preranked rank-sum test of the Wald statistic.

    Parameters
    ----------
    counts : DataFrame
        Raw counts, genes × samples.
    samples : DataFrame
        Sample sheet indexed by sample, with ``group``.
    control, treatment : str
        The groups compared (log2 fold change = treatment over control).
    genesets : mapping, optional
        ``{name: (description, genes)}`` (:func:`remission.stats.enrichment.read_gmt`).
    highlight : sequence of str
        Genes reported in ``lab.rnaseq.genes`` (default MCL1, BCL2, BCL2L1, CLEC12A).
    alpha : float, default 0.05
        Adjusted-p threshold.
    lfc_threshold : float, default 1.0
        Absolute log2 fold change threshold of the over-representation selection.
    de : DataFrame, optional
        A DE table already computed (columns as :func:`run_deseq2` returns).

    Returns
    -------
    list of Result
        ``lab.rnaseq.de``, ``lab.rnaseq.genes`` and, with gene sets,
        ``lab.rnaseq.ora`` (rows ``direction | set``) and ``lab.rnaseq.preranked``.

    References
    ----------
    Love MI, et al. Genome Biol 2014;15:550 (DESeq2). Muzellec B, et al. Bioinformatics
    2023;39:btad547 (PyDESeq2). Rivals I, et al. Bioinformatics 2007;23:401-407 (ORA).

    Examples
    --------
    Four up-regulated genes, all in a set of 5 among 20 tested genes:
    P(X >= 4) = C(5,4) / C(20,4) = 5/4845 (R ``phyper(3, 5, 15, 4, lower.tail = FALSE)``):

    >>> genes = [f"G{i}" for i in range(1, 21)]
    >>> de = pd.DataFrame({"baseMean": 100.0, "log2FoldChange": [2.0] * 4 + [0.1] * 16,
    ...                    "stat": np.r_[[6.0, 5.5, 5.0, 4.5], np.linspace(-1, 1, 16)],
    ...                    "pvalue": [1e-6] * 4 + [0.5] * 16, "padj": [1e-4] * 4 + [0.8] * 16},
    ...                   index=genes)
    >>> counts = pd.DataFrame(index=genes)
    >>> sheet = pd.DataFrame({"group": ["ctl"] * 3 + ["kd"] * 3})
    >>> res = rnaseq_results(counts, sheet, "ctl", "kd", genesets={"S": ("", genes[:5])},
    ...                      highlight=["G1", "BCL2"], de=de)
    >>> [r.name for r in res]
    ['lab.rnaseq.de', 'lab.rnaseq.genes', 'lab.rnaseq.ora', 'lab.rnaseq.preranked']
    >>> round(float(res[2].table.loc["up | S", "p"]), 6), round(5 / 4845, 6)
    (0.001032, 0.001032)
    >>> res[1].warnings
    ('BCL2 not in the count matrix',)
    """
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
    """Volcano plot: log2 fold change against -log10 p, significant genes coloured.

    Parameters
    ----------
    res : DataFrame
        DE table (``log2FC_shrunk`` or ``log2FoldChange``, ``pvalue``, ``padj``).
    highlight : sequence of str
        Genes labelled.
    alpha : float, default 0.05
        Adjusted-p threshold of the colouring.
    name : str, default "lab.rnaseq.volcano"
        Figure name.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the second scatter holds the genes with padj < ``alpha``.

    Examples
    --------
    >>> genes = [f"G{i}" for i in range(1, 21)]
    >>> de = pd.DataFrame({"baseMean": 100.0, "log2FoldChange": [2.0] * 4 + [0.1] * 16,
    ...                    "stat": np.r_[[6.0, 5.5, 5.0, 4.5], np.linspace(-1, 1, 16)],
    ...                    "pvalue": [1e-6] * 4 + [0.5] * 16, "padj": [1e-4] * 4 + [0.8] * 16},
    ...                   index=genes)
    >>> ax = plot_volcano(de).axes[0]
    >>> len(ax.collections[1].get_offsets()), ax.get_ylabel()
    (4, '-log10 p')
    """
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
    """MA plot: log10 mean normalised count against log2 fold change.

    Parameters
    ----------
    res : DataFrame
        DE table (``baseMean``, ``log2FC_shrunk`` or ``log2FoldChange``, ``padj``).
    highlight : sequence of str
        Genes circled and labelled.
    alpha : float, default 0.05
        Adjusted-p threshold of the colouring.
    name : str, default "lab.rnaseq.ma"
        Figure name.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the second scatter holds the genes with padj < ``alpha``.

    Examples
    --------
    baseMean 100 is drawn at log10 100 = 2:

    >>> genes = [f"G{i}" for i in range(1, 21)]
    >>> de = pd.DataFrame({"baseMean": 100.0, "log2FoldChange": [2.0] * 4 + [0.1] * 16,
    ...                    "stat": np.r_[[6.0, 5.5, 5.0, 4.5], np.linspace(-1, 1, 16)],
    ...                    "pvalue": [1e-6] * 4 + [0.5] * 16, "padj": [1e-4] * 4 + [0.8] * 16},
    ...                   index=genes)
    >>> ax = plot_ma(de).axes[0]
    >>> ax.collections[1].get_offsets()[:, 0].tolist()
    [2.0, 2.0, 2.0, 2.0]
    """
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
