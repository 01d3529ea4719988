"""Figures: built without I/O, risk table aligned with the x ticks, deterministic."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from remission.stats.regression import logistic
from remission.stats.survival.plot import OKABE_ITO, cif_plot, forest_plot, km_plot
from remission.survival import cox

T = np.array([5, 8, 12, 12, 20, 25, 30, 41, 50, 60, 3, 9, 15, 22, 22, 35, 44, 58.0])
E = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1])
G = np.array(["A"] * 10 + ["B"] * 8)


def test_km_plot_risk_table_counts() -> None:
    fig = km_plot(T, E, G, ticks=[0, 20, 40, 60])
    assert isinstance(fig, Figure)
    ax, tab = fig.axes
    texts = [(round(t.get_position()[0]), t.get_text()) for t in tab.texts]
    # A at risk at 0, 20, 40, 60: 10, 6, 3, 1 ; B: 8, 5, 2, 0 (hand count of time >= t)
    assert [x for x in texts if x[0] == 20] == [(20, "6"), (20, "5")]
    assert [x[1] for x in texts if x[0] == 60] == ["1", "0"]
    assert ax.lines[0].get_color().lower() == OKABE_ITO[0].lower()


def test_cif_and_forest_render_deterministically() -> None:
    status = np.where(E == 1, np.where(np.arange(18) % 3 == 0, 2, 1), 0)
    bufs = []
    for _ in range(2):
        b = io.BytesIO()
        cif_plot(T, status, G).savefig(b, format="png", metadata={"Software": None})
        bufs.append(b.getvalue())
    assert bufs[0] == bufs[1] and len(bufs[0]) > 1000
    d = pd.DataFrame({"time": T, "event": E, "arm": (G == "B").astype(float),
                      "x": np.linspace(0, 1, 18)})
    fig = forest_plot(cox("time", "event", ["arm", "x"], data=d))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["arm", "x"]
    d["resp"] = E
    fig = forest_plot(logistic(d, "resp", ["arm"], ci="wald"))
    assert "Odds" in fig.axes[0].get_xlabel()
