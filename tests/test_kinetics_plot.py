"""Kinetics plots return Figures built from the data (no I/O)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from remission.kinetics.plot import cmax_by_grade_plot, spaghetti_plot


def test_spaghetti_and_cmax_plots():
    days = [0, 7, 14, 28]
    df = pd.DataFrame({"patient_id": np.repeat(["A", "B", "C"], 4), "day": days * 3,
                       "value": [0, 100, 50, 10, 0, 300, 100, 20, 0, 10, 5, 0]})
    fig = spaghetti_plot(df, pd.Series({"A": "responder", "B": "responder", "C": "NR"}),
                         lloq=5)
    assert isinstance(fig, Figure)
    med = next(ln for ln in fig.axes[0].lines if ln.get_label() == "responder (median)")
    assert list(med.get_ydata()) == [2.5, 200.0, 75.0, 15.0]
    pts = pd.DataFrame({"cmax": [100, 300, 10, 50], "crs_grade": [1, 2, 0, 1]})
    fig2 = cmax_by_grade_plot(pts)
    assert isinstance(fig2, Figure)
    assert len(fig2.axes[0].collections) == 6  # one scatter + one median line per grade
