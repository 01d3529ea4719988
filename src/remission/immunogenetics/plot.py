"""Figures for immunogenetics (matplotlib; return a Figure, no I/O, no computation
beyond arranging the given numbers)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["chimerism_plot", "clone_size_plot", "fold_change_heatmap"]


def clone_size_plot(sites: pd.DataFrame, samples: pd.DataFrame, top: int = 10) -> Figure:
    """Stacked shares of the ``top`` largest clones per sample (rest in grey).

    Parameters
    ----------
    sites:
        Long IS table (``sample``, ``abundance``).
    samples:
        Per-sample ``patient``, ``source``, ``day`` (ordering and labels).
    top:
        Clones drawn individually.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    With ``top=2`` S1's four equal clones show two bars of 0.25 and a grey rest of 0.5:

    >>> sites = pd.DataFrame({"sample": ["S1"] * 4 + ["S2"] * 3,
    ...                       "abundance": [10, 10, 10, 10, 70, 20, 10]})
    >>> samples = pd.DataFrame({"patient": "P1", "source": "blood", "day": [30, 90]},
    ...                        index=["S1", "S2"])
    >>> ax = clone_size_plot(sites, samples, top=2).axes[0]
    >>> [round(float(p.get_height()), 3) for p in ax.patches]
    [0.25, 0.25, 0.5, 0.7, 0.2, 0.1]
    >>> plt.close("all")
    """
    order = samples.sort_values(["patient", "source", "day"], key=lambda s: s.map(
        {"product": 0}).fillna(1) if s.name == "source" else s).index
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(order) + 2), 4))
    cmap = plt.get_cmap("tab10")
    for x, smp in enumerate(order):
        a = np.sort(sites.loc[sites["sample"] == smp, "abundance"].to_numpy(float))[::-1]
        if a.sum() <= 0:
            continue
        p = a / a.sum()
        bottom = 0.0
        for i, v in enumerate(p[:top]):
            ax.bar(x, v, bottom=bottom, color=cmap(i % 10), edgecolor="white", linewidth=0.3)
            bottom += v
        ax.bar(x, 1 - bottom, bottom=bottom, color="0.85")
    meta = samples.loc[order]
    labels = [f"{s}\n{r.source} d{r.day:g}" if r.source != "product" else f"{s}\nproduct"
              for s, r in zip(order, meta.itertuples(), strict=True)]
    ax.set_xticks(range(len(order)), labels, fontsize=7, rotation=45, ha="right")
    ax.set_ylabel("share of sample abundance")
    ax.set_ylim(0, 1)
    ax.set_title(f"Largest {top} clones per sample")
    fig.tight_layout()
    return fig


def chimerism_plot(table: pd.DataFrame, full_donor: float = 95.0) -> Figure:
    """Donor % over time per patient and lineage with interval bars.

    Parameters
    ----------
    table : DataFrame
        Combined chimerism (``patient, lineage, day, donor_pct, low, high``), as
        :func:`~remission.immunogenetics.chimerism.str_chimerism` returns.
    full_donor : float, default 95.0
        Full-donor threshold (%), drawn dashed.

    Returns
    -------
    matplotlib.figure.Figure
        One line with error bars per patient and lineage.

    Examples
    --------
    >>> t = pd.DataFrame({"patient": "P1", "lineage": "CD3", "day": [60, 30],
    ...                   "donor_pct": [80.0, 98.0], "low": [75.0, 96.0], "high": [85.0, 99.0]})
    >>> ax = chimerism_plot(t).axes[0]
    >>> ax.get_legend_handles_labels()[1], ax.lines[0].get_ydata().tolist()
    (['P1 CD3'], [98.0, 80.0])
    >>> plt.close("all")
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for (pat, lin), sub in table.groupby(["patient", "lineage"], sort=True):
        sub = sub.sort_values("day")
        err = np.vstack([sub["donor_pct"] - sub["low"], sub["high"] - sub["donor_pct"]])
        ax.errorbar(sub["day"], sub["donor_pct"], yerr=np.nan_to_num(err), marker="o",
                    capsize=3, label=f"{pat} {lin}")
    ax.axhline(full_donor, ls="--", color="0.5", lw=1)
    ax.set_xlabel("day after infusion")
    ax.set_ylabel("donor chimerism, %")
    ax.set_ylim(0, 102)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def fold_change_heatmap(log2fc: pd.DataFrame, title: str = "log2 fold change post/pre"
                        ) -> Figure:
    """Heat map of log2 fold changes (rows = analytes, columns = patients).

    The colour scale is symmetric about 0 (to the largest absolute value); missing cells
    are left blank and unlabelled.

    Parameters
    ----------
    log2fc : DataFrame
        log2(post / pre), analytes × patients.
    title : str, default "log2 fold change post/pre"
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The image with one value label per non-missing cell and a colour bar.

    Examples
    --------
    >>> m = pd.DataFrame({"P1": [3.0, -1.0], "P2": [1.5, np.nan]}, index=["IL6", "IFNG"])
    >>> ax = fold_change_heatmap(m).axes[0]
    >>> [t.get_text() for t in ax.texts], ax.images[0].get_clim()
    (['3.0', '1.5', '-1.0'], (-3.0, 3.0))
    >>> plt.close("all")
    """
    fig, ax = plt.subplots(figsize=(1.0 * log2fc.shape[1] + 3, 0.45 * log2fc.shape[0] + 1.5))
    v = log2fc.to_numpy(float)
    lim = np.nanmax(np.abs(v)) if np.isfinite(v).any() else 1.0
    im = ax.imshow(v, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(v.shape[1]), log2fc.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(v.shape[0]), log2fc.index, fontsize=8)
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            if np.isfinite(v[i, j]):
                ax.text(j, i, f"{v[i, j]:.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="log2 fold change")
    ax.set_title(title)
    fig.tight_layout()
    return fig
