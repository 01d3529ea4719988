"""Kaplan–Meier, cumulative-incidence and forest figures (matplotlib, no I/O), drawn from
Results: nothing is estimated here.

:func:`km_figure` draws :func:`remission.survival.km_curves`, :func:`cif_figure` draws
:func:`remission.survival.cif_curves` (with ``end=True``), :func:`forest_plot` the HR or OR
rows of a Cox or logistic Result. Functions build a ``matplotlib.figure.Figure`` directly
(no pyplot state, so the Agg canvas is used regardless of the session backend) and return
it; callers save. Colours are the Okabe–Ito palette, distinguishable with common
colour-vision deficiencies (Okabe M, Ito K. Color Universal Design, 2008). Curves are drawn
as right-continuous steps with censoring marks; the number-at-risk table sits under the x
axis, aligned to the tick times, as recommended by Pocock SJ et al. Lancet
2002;359:1686-9 and Morris TP et al. BMJ Open 2019;9:e030215.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from remission.results import Result

__all__ = ["OKABE_ITO", "cif_figure", "default_ticks", "forest_plot", "km_figure"]

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
             "#000000")
LINESTYLES = ("-", "--", "-.", ":")


def _ticks(tmax: float, n: int = 6) -> np.ndarray:
    raw = tmax / n
    mag = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=raw)
    return np.arange(0, tmax + 1e-9, step)


def _figure(with_table: bool, n_rows: int) -> tuple[Figure, Any, Any]:
    fig = Figure(figsize=(7, 5 + 0.25 * n_rows if with_table else 5), dpi=100)
    FigureCanvasAgg(fig)
    if with_table:
        gs = fig.add_gridspec(2, 1, height_ratios=[4, 0.35 + 0.3 * n_rows], hspace=0.35)
        ax = fig.add_subplot(gs[0])
        tab = fig.add_subplot(gs[1], sharex=ax)
        return fig, ax, tab
    return fig, fig.add_subplot(111), None


def _risk_table(tab: Any, counts: Mapping[str, Sequence[int]], ticks: np.ndarray,
                colours: Sequence[str]) -> None:
    labels = list(counts)
    for i, lab in enumerate(labels):
        y = len(labels) - 1 - i
        for t, c in zip(ticks, counts[lab], strict=True):
            tab.text(t, y, f"{int(c)}", ha="center", va="center", fontsize=8,
                     color=colours[i % len(colours)])
    tab.set_ylim(-0.6, len(labels) - 0.4)
    tab.set_yticks(range(len(labels)))
    tab.set_yticklabels(labels[::-1], fontsize=8)
    tab.set_title("Number at risk", fontsize=8, loc="left")
    for s in ("top", "right", "left", "bottom"):
        tab.spines[s].set_visible(False)
    tab.tick_params(left=False, bottom=False, labelbottom=False, axis="both", pad=16)


def default_ticks(tmax: float, n: int = 6) -> np.ndarray:
    """Round x-axis tick times from 0 to ``tmax`` (about ``n`` steps of 1, 2, 2.5 or 5
    times a power of ten), also the times of the number-at-risk table.

    Parameters
    ----------
    tmax : float
        The longest follow-up time drawn.
    n : int, default 6
        The approximate number of steps.

    Returns
    -------
    numpy.ndarray
        Tick times, starting at 0.

    Examples
    --------
    >>> default_ticks(365).tolist()
    [0.0, 100.0, 200.0, 300.0]
    """
    return _ticks(tmax, n)


def _curves(curves: Result, order: Sequence[str] | None
            ) -> tuple[list[str], dict[str, pd.DataFrame], dict[str, pd.DataFrame],
                       np.ndarray]:
    """Groups (in ``order`` where given), their step rows and risk rows, and the ticks."""
    tab = curves.table
    keys = tab.index.astype(str)
    is_risk = keys.str.contains(" | risk@", regex=False)
    present = list(dict.fromkeys(tab["group"].astype(str)))
    labels = ([g for g in order if g in present] if order is not None else present)
    steps = {g: tab[~is_risk & (tab["group"].astype(str) == g)] for g in labels}
    risk = {g: tab[is_risk & (tab["group"].astype(str) == g)] for g in labels}
    ticks = np.asarray(curves.params.get("risk_times", []), float)
    return labels, steps, risk, ticks


def _finish(ax: Any, tab: Any, counts: Mapping[str, Sequence[int]], tk: np.ndarray, *,
            top: float, xlabel: str, ylabel: str, title: str, legend: str) -> None:
    """Axes limits, ticks, labels, legend and the number-at-risk table."""
    ax.set_ylim(0, top)
    ax.set_xlim(0, tk[-1] if len(tk) else None)
    ax.set_xticks(tk)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc=legend)
    if tab is not None:
        _risk_table(tab, counts, tk, OKABE_ITO)


def km_figure(curves: Result, *, order: Sequence[str] | None = None,
              medians: Mapping[str, float] | None = None, ci: bool = True,
              median_lines: bool = True, risk_table: bool = True,
              xlabel: str = "Days since infusion", ylabel: str = "Survival probability",
              title: str = "") -> Figure:
    """Kaplan–Meier curves (one per group) with CI bands, censor marks and the
    number-at-risk table, drawn from :func:`remission.survival.km_curves`.

    Parameters
    ----------
    curves : Result
        ``km_curves(..., risk_times=ticks)``: its ``risk_times`` are the x ticks and the
        times of the number-at-risk table.
    order : sequence of str, optional
        Group order (e.g. the study's cohort order); default the order in ``curves``.
    medians : mapping of str to float, optional
        Median survival per group (e.g. from :func:`remission.survival.kaplan_meier`),
        marked by dotted lines where finite.
    ci : bool, default True
        Shade the pointwise confidence band.
    median_lines : bool, default True
        Draw the median lines (needs ``medians``).
    risk_table : bool, default True
        Draw the number-at-risk table under the axis.
    xlabel, ylabel, title : str
        Axis labels and title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from remission.survival import km_curves
    >>> c = km_curves([5, 8, 12, 20, 3, 9, 15], [1, 1, 0, 1, 1, 0, 1],
    ...               ["A", "A", "A", "A", "B", "B", "B"], risk_times=default_ticks(20))
    >>> fig = km_figure(c, order=["B", "A"])
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['B (n=3, events=2)', 'A (n=4, events=3)']
    """
    labels, steps, risk, tk = _curves(curves, order)
    fig, ax, tab = _figure(risk_table, len(labels))
    counts = {}
    for i, lab in enumerate(labels):
        s = steps[lab]
        col = OKABE_ITO[i % len(OKABE_ITO)]
        xs = s["time"].to_numpy(float)
        n = int(s["n_risk"].iloc[0])
        events = int(s["n_event"].sum())
        ax.step(xs, s["surv"].to_numpy(float), where="post", color=col,
                linestyle=LINESTYLES[i % 4], label=f"{lab} (n={n}, events={events})")
        if ci:
            ax.fill_between(xs, s["lower"].fillna(0).to_numpy(float),
                            s["upper"].fillna(1).to_numpy(float), step="post",
                            color=col, alpha=0.15, linewidth=0)
        cens = s.iloc[1:][s["n_censor"].iloc[1:] > 0]
        ax.plot(cens["time"], cens["surv"], "|", color=col, markersize=7)
        med = (medians or {}).get(lab, np.nan)
        if median_lines and np.isfinite(med):
            ax.plot([0, med, med], [0.5, 0.5, 0], color=col, linewidth=0.8, linestyle=":")
        counts[lab] = risk[lab]["n_risk"].astype(int).tolist()
    _finish(ax, tab, counts, tk, top=1.02, xlabel=xlabel, ylabel=ylabel, title=title,
            legend="best")
    return fig


def cif_figure(curves: Result, *, order: Sequence[str] | None = None,
               cause_label: str = "Relapse", risk_table: bool = True,
               xlabel: str = "Days since infusion", title: str = "") -> Figure:
    """Cumulative incidence of one cause per group with the number-at-risk table, drawn
    from :func:`remission.survival.cif_curves`.

    Parameters
    ----------
    curves : Result
        ``cif_curves(..., risk_times=ticks, end=True)``: each curve is drawn to its
        group's last follow-up; ``risk_times`` are the x ticks and the risk-table times.
    order : sequence of str, optional
        Group order; default the order in ``curves``.
    cause_label : str, default "Relapse"
        The cause, in the y-axis label.
    risk_table : bool, default True
        Draw the number-at-risk table under the axis.
    xlabel, title : str
        Axis label and title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from remission.survival import cif_curves
    >>> c = cif_curves([5, 8, 12, 20, 3, 9], [1, 2, 0, 1, 1, 0], ["A"] * 4 + ["B"] * 2,
    ...                risk_times=default_ticks(20), end=True)
    >>> cif_figure(c).axes[0].get_ylabel()
    'Cumulative incidence of relapse'
    """
    labels, steps, risk, tk = _curves(curves, order)
    fig, ax, tab = _figure(risk_table, len(labels))
    counts = {}
    for i, lab in enumerate(labels):
        s = steps[lab]
        col = OKABE_ITO[i % len(OKABE_ITO)]
        ax.step(s["time"].to_numpy(float), s["est"].to_numpy(float), where="post",
                color=col, linestyle=LINESTYLES[i % 4],
                label=f"{lab} (n={int(s['n_risk'].iloc[0])})")
        counts[lab] = risk[lab]["n_risk"].astype(int).tolist()
    _finish(ax, tab, counts, tk, top=1.0, xlabel=xlabel,
            ylabel=f"Cumulative incidence of {cause_label.lower()}", title=title,
            legend="upper left")
    return fig


def forest_plot(result: Result, *, estimate: str | None = None, title: str = "") -> Figure:
    """Forest plot of HR (Cox) or OR (logistic) rows of a Result, log x axis.

    Parameters
    ----------
    result : Result
        A Cox or logistic Result whose table has ``<estimate>``, ``<estimate>_lo``,
        ``<estimate>_hi`` and ``p`` columns, one row per term (rows with a missing
        estimate are skipped).
    estimate : str, optional
        The ratio column; default ``"HR"`` when present, else ``"OR"``.
    title : str, default ``""``
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        Squares with CI whiskers on a log axis with a dashed line at 1, each row
        annotated "estimate (lower–upper), p=...".

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"HR": [0.5, 2.0], "HR_lo": [0.25, 1.0], "HR_hi": [1.0, 4.0],
    ...                   "p": [0.05, 0.049]}, index=["age", "dose"])
    >>> ax = forest_plot(Result("cox", "Cox", t, "Cox PH")).axes[0]
    >>> [x.get_text() for x in ax.texts], ax.get_xscale()
    (['0.50 (0.25–1.00), p=0.05', '2.00 (1.00–4.00), p=0.049'], 'log')
    >>> ax.get_xlabel()
    'Hazard ratio (95% CI, log scale)'
    """
    tab = result.table
    est = estimate or ("HR" if "HR" in tab.columns else "OR")
    rows = tab[tab[est].notna()]
    fig = Figure(figsize=(7.5, 1.6 + 0.45 * len(rows)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    y = np.arange(len(rows))[::-1]
    lo, hi = rows[f"{est}_lo"].to_numpy(float), rows[f"{est}_hi"].to_numpy(float)
    mid = rows[est].to_numpy(float)
    ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="s",
                color=OKABE_ITO[0], ecolor=OKABE_ITO[0], capsize=3, markersize=5)
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(y)
    ax.set_yticklabels([str(i) for i in rows.index])
    for yi, (e, a, b, p) in zip(y, zip(mid, lo, hi, rows["p"].to_numpy(float), strict=True),
                                strict=True):
        ax.annotate(f"{e:.2f} ({a:.2f}–{b:.2f}), p={p:.3g}", (1.02, yi),
                    xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.set_xlabel(f"{'Hazard' if est == 'HR' else 'Odds'} ratio (95% CI, log scale)")
    if title:
        ax.set_title(title)
    fig.subplots_adjust(left=0.25, right=0.68, bottom=0.8 / fig.get_figheight())
    return fig
