"""Figures for derived toxicity grades (matplotlib; return a Figure, no I/O)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

__all__ = ["anc_icaht_plot", "grade_heatmap", "grade_share_plot"]

_GRADE_COLOURS = ["#f2f2f2", "#fee391", "#fdae6b", "#f16913", "#a50f15", "#000000"]


def _systems_label(graded: pd.DataFrame) -> str:
    """The grading systems of a grader's output, for a figure title.

    Parameters
    ----------
    graded : DataFrame
        A grader's output; its ``system`` column, when present, names the system per row.

    Returns
    -------
    str
        The distinct systems, sorted and joined by ``", "``; ``""`` without the column.

    Examples
    --------
    >>> _systems_label(pd.DataFrame({"system": ["lee2019", "astct2019", "lee2019"]}))
    'astct2019, lee2019'
    >>> _systems_label(pd.DataFrame({"grade": [1]}))
    ''
    """
    return ", ".join(sorted(graded["system"].astype(str).unique())) if "system" in graded \
        else ""


def grade_heatmap(graded: pd.DataFrame, title: str | None = None,
                  days: tuple[int, int] | None = None) -> Figure:
    """Patient × day heat-map of daily grades (0-5) from a grader's output.

    Days without an observation are white (masked); each row is one patient (sorted ids).

    Parameters
    ----------
    graded : DataFrame
        ``patient_id, day, grade`` and optionally ``system`` (named in the default title).
    title : str, optional
        Figure title; default ``"Daily grade (<systems>)"``.
    days : tuple of (int, int), optional
        First and last day shown; default the range of ``graded``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with the image (values = grades) and a grade colour bar.

    Examples
    --------
    P1 has grade 2 on day 1 and grade 1 on day 3 (day 2 unobserved, masked):

    >>> g = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [1, 3, 1],
    ...                   "grade": [2, 1, 0], "system": "astct2019"})
    >>> fig = grade_heatmap(g)
    >>> fig.axes[0].images[0].get_array().filled(-1).tolist(), fig.axes[0].get_title()
    ([[2.0, -1.0, 1.0], [0.0, -1.0, -1.0]], 'Daily grade (astct2019)')
    """
    first = int(graded["day"].min()) if days is None else days[0]
    last = int(graded["day"].max()) if days is None else days[1]
    g = graded[(graded["day"] >= first) & (graded["day"] <= last)]
    pids = sorted(graded["patient_id"].unique())
    mat = np.full((len(pids), last - first + 1), np.nan)
    row = pd.Index(pids).get_indexer(g["patient_id"])
    mat[row, g["day"].to_numpy() - first] = g["grade"].to_numpy(dtype=float)
    fig = Figure(figsize=(8, max(2.5, 0.18 * len(pids) + 1.2)))
    ax = fig.subplots()
    cmap = ListedColormap(_GRADE_COLOURS).with_extremes(bad="white")
    im = ax.imshow(np.ma.masked_invalid(mat), aspect="auto", interpolation="nearest",
                   cmap=cmap, norm=BoundaryNorm(np.arange(-0.5, 6.5), cmap.N),
                   extent=(first - 0.5, last + 0.5, len(pids) - 0.5, -0.5))
    ax.set_yticks(range(len(pids)))
    ax.set_yticklabels(pids, fontsize=6)
    ax.set_xlabel("Day after infusion")
    system = _systems_label(graded)
    ax.set_title(title or f"Daily grade ({system})")
    cb = fig.colorbar(im, ax=ax, ticks=range(6))
    cb.set_label("Grade")
    fig.tight_layout()
    return fig


def grade_share_plot(graded: pd.DataFrame, title: str | None = None,
                     days: tuple[int, int] | None = None) -> Figure:
    """Share of patients at each grade per day (stacked bars): the aggregate heat-map.

    For cohorts too large for one row per patient. The denominator of a day is the
    patients graded that day (rows of ``graded`` with a non-missing grade); grade 0 is
    the unfilled remainder of each bar.

    Parameters
    ----------
    graded : DataFrame
        ``patient_id, day, grade`` and optionally ``system``.
    title : str, optional
        Figure title; default ``"Daily grade, all patients (<systems>)"``.
    days : tuple of (int, int), optional
        First and last day shown; default the range of graded days.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one bar series per grade 1-5.

    Examples
    --------
    Day 1: one of two graded patients at grade 2 (share 0.5); day 3: the only graded
    patient at grade 1 (share 1):

    >>> g = pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "day": [1, 3, 1],
    ...                   "grade": [2, 1, 0]})
    >>> ax = grade_share_plot(g).axes[0]
    >>> sorted((int(p.get_x() + 0.5), float(p.get_height())) for p in ax.patches
    ...        if p.get_height() > 0)
    [(1, 0.5), (3, 1.0)]
    """
    g = graded[graded["grade"].notna()]
    first = int(g["day"].min()) if days is None else days[0]
    last = int(g["day"].max()) if days is None else days[1]
    g = g[(g["day"] >= first) & (g["day"] <= last)]
    counts = pd.crosstab(g["day"], g["grade"].astype(int)).reindex(
        index=range(first, last + 1), columns=range(6), fill_value=0)
    share = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    bottom = np.zeros(len(share))
    for k in range(1, 6):
        y = share[k].to_numpy()
        ax.bar(share.index, y, bottom=bottom, width=1.0, color=_GRADE_COLOURS[k],
               label=f"grade {k}", edgecolor="none")
        bottom += y
    ax.set_xlim(first - 0.5, last + 0.5)
    ax.set_ylim(0, max(0.05, float(bottom.max()) * 1.1))
    ax.set_xlabel("Day after infusion")
    ax.set_ylabel("Share of patients graded that day")
    system = _systems_label(graded)
    ax.set_title(title or f"Daily grade, all patients ({system})")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def anc_icaht_plot(daily: pd.DataFrame, icaht: pd.DataFrame, last_day: int = 100,
                   max_patients: int | None = None) -> Figure:
    """ANC curves (log scale) coloured by early ICAHT grade, with the 500 and 100/µL lines.

    With more than ``max_patients`` patients, one median curve per ICAHT grade (over the
    patients sampled that day) replaces the individual curves. ANC below 0.01 ×10⁹/L is
    drawn at 0.01 (log scale).

    Parameters
    ----------
    daily : DataFrame
        ``patient_id, day, anc`` (×10⁹/L).
    icaht : DataFrame
        :func:`~remission.derive.criteria.icaht.early_icaht` output (``patient_id,
        icaht_early_grade``).
    last_day : int, default 100
        Last day drawn (from day 0).
    max_patients : int, optional
        Above this many patients draw median curves per grade.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, log-scale y, legend by ICAHT grade.

    References
    ----------
    Rejeski K, et al. Blood 2023;142:865-877 (500 and 100/µL ICAHT thresholds).

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P2"], "day": [0, 10, 0, 10],
    ...                   "anc": [0.05, 1.0, 0.3, 2.0]})
    >>> ic = pd.DataFrame({"patient_id": ["P1", "P2"], "icaht_early_grade": [3, 1]})
    >>> ax = anc_icaht_plot(d, ic).axes[0]
    >>> ax.get_legend_handles_labels()[1], ax.lines[0].get_ydata().tolist(), ax.get_yscale()
    (['ICAHT 3', 'ICAHT 1'], [0.05, 1.0], 'log')
    >>> anc_icaht_plot(d, ic, max_patients=1).axes[0].get_legend_handles_labels()[1]
    ['ICAHT 1 (median, n=1)', 'ICAHT 3 (median, n=1)']
    """
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    colours = dict(enumerate(_GRADE_COLOURS[:5]))
    colours[0] = "#9e9e9e"
    grade = icaht.set_index("patient_id")["icaht_early_grade"]
    d = daily.loc[daily["anc"].notna() & (daily["day"] >= 0) & (daily["day"] <= last_day),
                  ["patient_id", "day", "anc"]]
    seen: set[int] = set()
    if max_patients is not None and d["patient_id"].nunique() > max_patients:
        k = d["patient_id"].map(grade)
        d = d.assign(_k=k.fillna(-1).astype(int))
        for gk, g in d[d["_k"] >= 0].groupby("_k", sort=True):
            med = g.groupby("day")["anc"].median()
            n = g["patient_id"].nunique()
            ax.plot(med.index, np.maximum(med.to_numpy(), 0.01), lw=2,
                    color=colours.get(int(gk), "#1f77b4"),
                    label=f"ICAHT {gk} (median, n={n})")
    else:
        for pid, g in d.groupby("patient_id", sort=True):
            gr = grade.get(pid)
            k = -1 if gr is None or pd.isna(gr) else int(gr)
            ax.plot(g["day"], np.maximum(g["anc"], 0.01), lw=0.8, alpha=0.8,
                    color=colours.get(k, "#1f77b4"),
                    label=f"ICAHT {k}" if k not in seen and k >= 0 else None)
            seen.add(k)
    for y, lab in ((0.5, "500/µL"), (0.1, "100/µL")):
        ax.axhline(y, ls="--", lw=0.8, color="k")
        ax.text(0.99, y, lab, va="bottom", ha="right", fontsize=7,
                transform=ax.get_yaxis_transform())
    ax.axvline(30.5, ls=":", color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("Day after infusion")
    ax.set_ylabel("ANC (×10⁹/L)")
    ax.set_title("Neutrophil recovery by early ICAHT grade (EHA/EBMT 2023)")
    handles, labels = ax.get_legend_handles_labels()
    order = np.argsort(labels)
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=7,
              loc="lower right")
    fig.tight_layout()
    return fig
