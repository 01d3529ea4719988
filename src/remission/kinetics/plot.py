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

    Values <= 0 (below the limit of quantification) are drawn at LLOQ/2 when ``lloq`` is
    given, else omitted. The median is taken per nominal day over the patients sampled
    that day (all patients of the group). ``max_lines`` caps the individual curves drawn
    per group (the first patients in identifier order; the median still uses every
    patient).

    Parameters
    ----------
    data : DataFrame
        ``patient_id, day`` and the ``value`` column.
    group : Series
        patient_id -> group label; patients without one are not drawn.
    value : str, default "value"
        The concentration column.
    unit : str, default "copies/µg"
        Unit shown on the y axis.
    lloq : float, optional
        Lower limit of quantification (dashed line; BLQ drawn at half of it).
    max_lines : int, optional
        Individual curves drawn per group at most.

    Returns
    -------
    matplotlib.figure.Figure
        One log-scale axes; per group the patient lines then the median line.

    Examples
    --------
    P1's day-14 value is below the LLOQ of 50, drawn at 25; the day-14 median of 25 and
    200 is 112.5:

    >>> d = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"], "day": [7, 14, 7, 14],
    ...                   "value": [1000, 0, 3000, 200.0]})
    >>> ax = spaghetti_plot(d, pd.Series({"P1": "CR", "P2": "CR"}), lloq=50).axes[0]
    >>> ax.lines[0].get_ydata().tolist(), ax.lines[2].get_ydata().tolist()
    ([1000.0, 25.0], [2000.0, 112.5])
    >>> plt.close("all")
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
    """Cmax (or any exposure) by CRS grade: jittered points and per-grade median bars.

    Parameters
    ----------
    patients : DataFrame
        One row per patient with the ``exposure`` and ``grade`` columns (rows missing
        either are left out).
    exposure : str, default "cmax"
        The exposure column (log-scale y axis).
    grade : str, default "crs_grade"
        The grade column (integers).
    unit : str, default "copies/µg"
        Unit shown on the y axis.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the jitter is seeded, so the figure is reproducible.

    Examples
    --------
    Median of grade 0 (100, 300) = 200, of grade 2 (1000, 5000) = 3000:

    >>> pt = pd.DataFrame({"cmax": [100, 300, 1000, 5000.0], "crs_grade": [0, 0, 2, 2]})
    >>> ax = cmax_by_grade_plot(pt).axes[0]
    >>> [float(c.get_segments()[0][0, 1]) for c in ax.collections
    ...  if hasattr(c, "get_segments")]
    [200.0, 3000.0]
    >>> plt.close("all")
    """
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
