"""Survival figures: drawn from Results (km_curves, cif_curves), never refitted; built
without I/O, risk table aligned with the x ticks, deterministic.

Moved from stats.survival.plot (issue 13: the plots refitted Kaplan–Meier and the CIF
although ``km_curves``/``cif_curves`` exist for renderers). The report's survival
figures were compared before and after the move: identical PNG and SVG bytes for the
EFS/CIR/OS figures of examples/synthetic-cart-raw, the OS figure of
examples/cll1-post-hsct and a simulated seed-003 study.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import remission.plot.survival as plot_survival
from remission.plot.survival import OKABE_ITO, cif_figure, forest_plot, km_figure
from remission.stats.regression import logistic
from remission.survival import cif_curves, cox, kaplan_meier, km_curves

T = np.array([5, 8, 12, 12, 20, 25, 30, 41, 50, 60, 3, 9, 15, 22, 22, 35, 44, 58.0])
E = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1])
G = np.array(["A"] * 10 + ["B"] * 8)
TICKS = [0, 20, 40, 60]


def test_km_figure_risk_table_counts_and_order() -> None:
    fig = km_figure(km_curves(T, E, G, risk_times=TICKS), order=["B", "A"],
                    medians=kaplan_meier(T, E, G).table["median"].to_dict())
    assert isinstance(fig, Figure)
    ax, tab = fig.axes
    texts = [(round(t.get_position()[0]), t.get_text()) for t in tab.texts]
    # B first (the order asked): at risk at 0, 20, 40, 60: B 8, 5, 2, 0; A 10, 6, 3, 1
    # (hand count of time >= t)
    assert [x for x in texts if x[0] == 20] == [(20, "5"), (20, "6")]
    assert [x[1] for x in texts if x[0] == 60] == ["0", "1"]
    assert ax.lines[0].get_color().lower() == OKABE_ITO[0].lower()
    assert ax.get_legend_handles_labels()[1] == ["B (n=8, events=6)", "A (n=10, events=6)"]
    # the median lines sit at the medians given; by hand: A drops below 0.5 at 30; B is
    # exactly 0.5 from 22 to its next event at 35, so R's survfit median is (22 + 35) / 2
    meds = sorted(line.get_xdata()[1] for line in ax.lines if line.get_linestyle() == ":")
    assert meds == [28.5, 30.0]


def test_cif_figure_draws_to_the_last_follow_up() -> None:
    status = np.where(E == 1, np.where(np.arange(18) % 3 == 0, 2, 1), 0)
    c = cif_curves(T, status, G, risk_times=TICKS, end=True)
    # cif_curves' risk rows: hand count of time >= t, as the KM figure's
    assert c.table.loc[[f"A | risk@{t}" for t in TICKS], "n_risk"].tolist() == [10, 6, 3, 1]
    assert c.table.loc[[f"B | risk@{t}" for t in TICKS], "n_risk"].tolist() == [8, 5, 2, 0]
    assert c.table.loc["B | end", "time"] == 58 and c.table.loc["B | 0", "n_risk"] == 8
    fig = cif_figure(c)
    ax = fig.axes[0]
    for line, lab in zip(ax.lines, ["A", "B"], strict=True):
        last = T[np.equal(G, lab)].max()  # A ends at 60, B at 58
        assert line.get_xdata()[-1] == last
    bufs = []
    for _ in range(2):
        b = io.BytesIO()
        cif_figure(c).savefig(b, format="png", metadata={"Software": None})
        bufs.append(b.getvalue())
    assert bufs[0] == bufs[1] and len(bufs[0]) > 1000


def test_forest_plot_rows() -> None:
    d = pd.DataFrame({"time": T, "event": E, "arm": (G == "B").astype(float),
                      "x": np.linspace(0, 1, 18)})
    fig = forest_plot(cox("time", "event", ["arm", "x"], data=d))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["arm", "x"]
    d["resp"] = E
    fig = forest_plot(logistic(d, "resp", ["arm"], ci="wald"))
    assert "Odds" in fig.axes[0].get_xlabel()


def test_the_survival_figures_import_no_estimator() -> None:
    # renderers compute nothing: the module imports Results, never an estimator
    tree = ast.parse(Path(plot_survival.__file__).read_text(encoding="utf-8"))
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in mods if m and m.startswith("remission")} == {"remission.results"}
