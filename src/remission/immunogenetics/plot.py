"""Figures for immunogenetics (matplotlib; return a Figure, no I/O, no computation
beyond arranging the given numbers)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


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
    """Donor % over time per patient and lineage with interval bars."""
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
    """Heat map of log2 fold changes (rows = analytes, columns = patients)."""
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
