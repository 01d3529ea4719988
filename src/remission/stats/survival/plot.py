"""Kaplan–Meier, cumulative-incidence and forest plots (matplotlib, no I/O).

Functions build a ``matplotlib.figure.Figure`` directly (no pyplot state, so the
Agg canvas is used regardless of the session backend) and return it; callers save.
Colours are the Okabe–Ito palette, distinguishable with common colour-vision
deficiencies (Okabe M, Ito K. Color Universal Design, 2008). Curves are drawn as
right-continuous steps with censoring marks; the number-at-risk table sits under the
x axis, aligned to the tick times, as recommended by Pocock SJ et al. Lancet
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
from remission.stats.survival.competing import cif_core
from remission.stats.survival.km import KaplanMeier

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


def _setup(time: Any, group: Any, ticks: Sequence[float] | None, risk_table: bool
           ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, tuple[Figure, Any, Any]]:
    """Times, group labels, x ticks and the figure with its axes.

    Groups appear in the order of a categorical ``group``'s categories (e.g. the study's
    cohort order), otherwise sorted."""
    t = np.asarray(time, float)
    cats = getattr(group, "categories", None)
    if cats is None and isinstance(group, pd.Series) and isinstance(group.dtype,
                                                                    pd.CategoricalDtype):
        cats = group.cat.categories
    g = (np.array(["All"] * len(t), dtype=object) if group is None
         else np.asarray(group, dtype=object))
    if cats is not None:
        present = set(g.tolist())
        labels = [str(x) for x in cats if x in present]
        g = np.array([str(x) for x in g], dtype=object)
    else:
        labels = [str(x) for x in pd.Categorical(pd.Series(g)).categories]
    tk = np.asarray(ticks, float) if ticks is not None else _ticks(float(t.max()))
    return t, g, labels, tk, _figure(risk_table, len(labels))


def km_plot(time: Any, event: Any, group: Any = None, *, conf_type: str = "log",
            ci: bool = True, median_lines: bool = True, risk_table: bool = True,
            xlabel: str = "Days since infusion", ylabel: str = "Survival probability",
            title: str = "", ticks: Sequence[float] | None = None) -> Figure:
    """Kaplan–Meier curves (one per group) with CI bands, censor marks, risk table."""
    t, g, labels, tk, (fig, ax, tab) = _setup(time, group, ticks, risk_table)
    e = np.asarray(event, int)
    counts = {}
    for i, lab in enumerate(labels):
        m = g.astype(str) == lab
        km = KaplanMeier(conf_type=conf_type).fit(t[m], e[m], label=lab)
        s = km.summary
        col = OKABE_ITO[i % len(OKABE_ITO)]
        xs = np.concatenate([[0.0], s["time"]])
        ax.step(xs, np.concatenate([[1.0], s["surv"]]), where="post", color=col,
                linestyle=LINESTYLES[i % 4], label=f"{lab} (n={km.n}, events={km.events})")
        if ci:
            ax.fill_between(xs, np.concatenate([[1.0], s["lower"].fillna(0)]),
                            np.concatenate([[1.0], s["upper"].fillna(1)]), step="post",
                            color=col, alpha=0.15, linewidth=0)
        cens = s[s["n_censor"] > 0]
        ax.plot(cens["time"], cens["surv"], "|", color=col, markersize=7)
        med = km.median[0]
        if median_lines and np.isfinite(med):
            ax.plot([0, med, med], [0.5, 0.5, 0], color=col, linewidth=0.8, linestyle=":")
        counts[lab] = km.risk_table(tk)["n_risk"].tolist()
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, tk[-1] if len(tk) else None)
    ax.set_xticks(tk)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="best")
    if tab is not None:
        _risk_table(tab, counts, tk, OKABE_ITO)
    return fig


def cif_plot(time: Any, status: Any, group: Any = None, *, cause: int = 1,
             cause_label: str = "Relapse", risk_table: bool = True,
             xlabel: str = "Days since infusion", title: str = "",
             ticks: Sequence[float] | None = None) -> Figure:
    """Aalen–Johansen cumulative incidence of ``cause`` per group, with risk table."""
    t, g, labels, tk, (fig, ax, tab) = _setup(time, group, ticks, risk_table)
    s = np.asarray(status, int)
    counts = {}
    for i, lab in enumerate(labels):
        m = g.astype(str) == lab
        core = cif_core(t[m], s[m], cause)
        col = OKABE_ITO[i % len(OKABE_ITO)]
        xs = np.concatenate([[0.0], core["time"], [t[m].max()]])
        ys = np.concatenate([[0.0], core["est"], [core["est"].iloc[-1] if len(core) else 0]])
        ax.step(xs, ys, where="post", color=col, linestyle=LINESTYLES[i % 4],
                label=f"{lab} (n={int(m.sum())})")
        counts[lab] = [int((t[m] >= x).sum()) for x in tk]
    ax.set_ylim(0, 1.0)
    ax.set_xlim(0, tk[-1] if len(tk) else None)
    ax.set_xticks(tk)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"Cumulative incidence of {cause_label.lower()}")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    if tab is not None:
        _risk_table(tab, counts, tk, OKABE_ITO)
    return fig


def forest_plot(result: Result, *, estimate: str | None = None, title: str = "") -> Figure:
    """Forest plot of HR (Cox) or OR (logistic) rows of a Result, log x axis."""
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
