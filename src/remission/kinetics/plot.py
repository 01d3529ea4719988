"""Figures for cellular kinetics (matplotlib; return a Figure, no I/O)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["cmax_by_grade_plot", "spaghetti_plot"]


def spaghetti_plot(data: pd.DataFrame, group: pd.Series, *, value: str = "value",
                   unit: str = "copies/µg", lloq: float | None = None,
                   max_lines: int | None = None) -> Figure:
    """Per-patient expansion curves (log scale) by group (e.g. responder), with group medians.

    ``group`` maps patient_id -> label. Values <= 0 (BLQ) are drawn at LLOQ/2 when
    ``lloq`` is given, else omitted. The median is taken per nominal day over patients
    sampled that day (all patients of the group). ``max_lines`` caps the individual
    curves drawn per group (the first patients in identifier order; the median still
    uses every patient).
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    d = data[["patient_id", "day", value]].copy()
    floor = lloq / 2 if lloq else np.nan
    d[value] = d[value].where(d[value] > 0, floor)
    d["_g"] = d["patient_id"].map(group)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (lab, g) in enumerate(d.dropna(subset=["_g"]).groupby("_g", sort=True)):
        c = colours[k % len(colours)]
        for i, (_, p) in enumerate(g.groupby("patient_id", sort=True)):
            if max_lines is not None and i >= max_lines:
                break
            ax.plot(p["day"], p[value], color=c, lw=0.6, alpha=0.35)
        med = g.groupby("day")[value].median()
        ax.plot(med.index, med.to_numpy(), color=c, lw=2.5, label=f"{lab} (median)")
    if lloq:
        ax.axhline(lloq, ls="--", color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("Day after infusion")
    ax.set_ylabel(f"CAR transgene ({unit})")
    ax.set_title("Cellular kinetics by group")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cmax_by_grade_plot(patients: pd.DataFrame, *, exposure: str = "cmax",
                       grade: str = "crs_grade", unit: str = "copies/µg") -> Figure:
    """Cmax (or any exposure) by CRS grade: points with jitter and per-grade medians."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    d = patients[[exposure, grade]].dropna()
    rng = np.random.default_rng(0)  # deterministic jitter
    levels = sorted(d[grade].astype(int).unique())
    for lv in levels:
        y = d.loc[d[grade].astype(int) == lv, exposure].to_numpy(dtype=float)
        ax.scatter(lv + rng.uniform(-0.15, 0.15, len(y)), y, s=18, alpha=0.8)
        ax.hlines(np.median(y), lv - 0.3, lv + 0.3, color="k", lw=2)
    ax.set_yscale("log")
    ax.set_xticks(levels)
    ax.set_xlabel(grade.replace("_", " "))
    ax.set_ylabel(f"{exposure} ({unit})")
    ax.set_title(f"{exposure} by {grade.replace('_', ' ')}")
    fig.tight_layout()
    return fig
