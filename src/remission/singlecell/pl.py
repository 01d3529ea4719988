"""Figures of a single-cell profile (matplotlib Figure out, nothing written, nothing computed
beyond what the AnnData / tables already hold)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import anndata
    from matplotlib.figure import Figure


def _fig(w: float = 6.0, h: float = 4.5) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=100, layout="constrained")


def embedding(adata: anndata.AnnData, color: str, basis: str | None = None,
              title: str | None = None) -> Figure:
    """Scatter of cells on UMAP (or the first two Harmony components) coloured by ``color``.

    Parameters
    ----------
    adata : anndata.AnnData
        Processed profile.
    color : str
        Categorical ``obs`` column.
    basis : str, optional
        ``obsm`` key; default ``X_umap`` if present, else ``X_pca_harmony``.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> fig = embedding(tiny("clustered"), "cell_type")
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.get_xlabel()
    ('cell_type', 'pca_harmony 1')
    >>> [t.get_text() for t in ax.get_legend().get_texts()][:2]
    ['AML blast (13)', 'CD4 effector memory (26)']
    """
    basis = basis or ("X_umap" if "X_umap" in adata.obsm else "X_pca_harmony")
    xy = np.asarray(adata.obsm[basis])[:, :2]
    fig = _fig(7, 4.5)
    ax = fig.add_subplot()
    cats = pd.Categorical(adata.obs[color].astype(str))
    cmap = __import__("matplotlib").colormaps["tab20"]
    for i, c in enumerate(cats.categories):
        m = (cats == c)
        ax.scatter(xy[m, 0], xy[m, 1], s=3, color=cmap(i % 20), label=f"{c} ({m.sum()})",
                   rasterized=True)
    ax.set_xlabel(f"{basis.removeprefix('X_')} 1")
    ax.set_ylabel(f"{basis.removeprefix('X_')} 2")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or color)
    ax.legend(fontsize=6, markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5),
              frameon=False)
    return fig


def qc_violins(obs: pd.DataFrame, sample_key: str = "sample") -> Figure:
    """Violin plots of genes, UMIs and mitochondrial % per sample (cells before filtering).

    Parameters
    ----------
    obs : pandas.DataFrame
        ``n_genes_by_counts``, ``total_counts``, ``pct_counts_mt`` and the sample column.
    sample_key : str
        Sample column.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> fig = qc_violins(tiny("normalised").obs)
    >>> [ax.get_title() for ax in fig.axes]
    ['genes per cell', 'UMIs per cell', 'mitochondrial %']
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['patient', 'product']
    """
    fig = _fig(9, 3.2)
    samples = sorted(obs[sample_key].astype(str).unique())
    for k, (col, lab) in enumerate((("n_genes_by_counts", "genes per cell"),
                                    ("total_counts", "UMIs per cell"),
                                    ("pct_counts_mt", "mitochondrial %"))):
        ax = fig.add_subplot(1, 3, k + 1)
        data = [obs.loc[obs[sample_key].astype(str) == s, col].to_numpy(float)
                for s in samples]
        data = [d if len(d) else np.array([np.nan]) for d in data]
        ax.violinplot(data, showmedians=True)
        ax.set_xticks(range(1, len(samples) + 1), samples, rotation=45, ha="right")
        ax.set_title(lab, fontsize=9)
    return fig


def dotplot(adata: anndata.AnnData, genes: Sequence[str], groupby: str = "cell_type"
            ) -> Figure:
    """Marker dot plot: dot size = share of cells expressing, colour = mean log expression.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised ``X``.
    genes : sequence of str
        Genes (absent ones skipped).
    groupby : str
        Grouping ``obs`` column.

    Returns
    -------
    matplotlib.figure.Figure
        The dot plot.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> fig = dotplot(tiny("clustered"), ["NCAM1", "FCGR3A", "NOT-A-GENE", "CD3E"])
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_xticklabels()]  # absent genes are skipped
    ['NCAM1', 'FCGR3A', 'CD3E']
    >>> len(ax.get_yticklabels())  # one row per label
    5
    """
    import scipy.sparse as sp

    genes = [g for g in dict.fromkeys(genes) if g in adata.var_names]
    X = adata[:, genes].X
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    grp = adata.obs[groupby].astype(str).to_numpy()
    levels = sorted(set(grp))
    mean = np.array([X[grp == g].mean(axis=0) for g in levels])
    frac = np.array([(X[grp == g] > 0).mean(axis=0) for g in levels])
    fig = _fig(max(5, 0.28 * len(genes) + 2.5), max(3, 0.3 * len(levels) + 1.5))
    ax = fig.add_subplot()
    yy, xx = np.meshgrid(range(len(levels)), range(len(genes)), indexing="ij")
    sc = ax.scatter(xx.ravel(), yy.ravel(), s=frac.ravel() * 80, c=mean.ravel(),
                    cmap="Reds", edgecolors="grey", linewidths=0.3)
    ax.set_xticks(range(len(genes)), genes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(levels)), levels, fontsize=7)
    fig.colorbar(sc, ax=ax, label="mean log expression", shrink=0.6)
    return fig


def volcano(de: pd.DataFrame, label: Sequence[str] = (), n_label: int = 12,
            title: str = "") -> Figure:
    """Volcano plot of a FindMarkers table with named genes.

    Parameters
    ----------
    de : pandas.DataFrame
        ``avg_log2FC`` and ``p_val_adj`` indexed by gene.
    label : sequence of str
        Genes to name (default: the ``n_label`` smallest adjusted p-values).
    n_label : int
        How many to name when ``label`` is empty.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The volcano plot.

    Examples
    --------
    >>> de = pd.DataFrame({"avg_log2FC": [2.0, -1.5, 0.1], "p_val_adj": [1e-8, 1e-3, 0.9]},
    ...                   index=["GZMB", "SELL", "ACTB"])
    >>> fig = volcano(de, n_label=2, title="day 10 vs product")
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.texts]  # the two smallest adjusted p-values are named
    ['GZMB', 'SELL']
    >>> [len(c.get_offsets()) for c in ax.collections]  # grey (n.s.) and red (p < 0.05)
    [1, 2]
    """
    fig = _fig(6, 4.5)
    ax = fig.add_subplot()
    p = de["p_val_adj"].clip(lower=1e-300)
    y = -np.log10(p)
    sig = (de["p_val_adj"] < 0.05).to_numpy()
    ax.scatter(de["avg_log2FC"][~sig], y[~sig], s=4, color="grey", rasterized=True)
    ax.scatter(de["avg_log2FC"][sig], y[sig], s=6, color="firebrick", rasterized=True)
    names = list(label) or list(de.sort_values("p_val_adj").index[:n_label])
    for g in names:
        if g in de.index:
            ax.annotate(g, (de.loc[g, "avg_log2FC"], y[g]), fontsize=7)
    ax.axhline(-np.log10(0.05), lw=0.5, ls="--", color="k")
    ax.set_xlabel("avg_log2FC")
    ax.set_ylabel("-log10 adjusted p")
    ax.set_title(title, fontsize=9)
    return fig


def composition_bars(comp: pd.DataFrame, by: str = "sample", of: str = "cell_type") -> Figure:
    """Stacked bars of shares (tidy table from ``stats.composition``).

    Parameters
    ----------
    comp : pandas.DataFrame
        Columns by, of, share.
    by, of : str
        Bar and stack columns.

    Returns
    -------
    matplotlib.figure.Figure
        The bar chart.

    Examples
    --------
    >>> comp = pd.DataFrame({"sample": ["product", "product", "day 10", "day 10"],
    ...                      "cell_type": ["NK", "T", "NK", "T"], "share": [.8, .2, .5, .5]})
    >>> fig = composition_bars(comp)
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['NK', 'T']
    >>> [round(float(p.get_height()), 2) for p in ax.patches]  # NK bars, then T stacked
    [0.5, 0.8, 0.5, 0.2]
    """
    wide = comp.pivot_table(index=by, columns=of, values="share", fill_value=0.0)
    fig = _fig(6, 4)
    ax = fig.add_subplot()
    cmap = __import__("matplotlib").colormaps["tab20"]
    bottom = np.zeros(len(wide))
    for i, c in enumerate(wide.columns):
        ax.bar(wide.index.astype(str), wide[c], bottom=bottom, color=cmap(i % 20), label=c)
        bottom += wide[c].to_numpy()
    ax.set_ylabel("share of cells")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    return fig
