"""Report figures stay bounded for large cohorts (aggregate or cap; captions say so)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from remission.analyses.raw.figures import MAX_HEATMAP_PATIENTS, _grade_figure
from remission.derive.criteria.plot import anc_icaht_plot, grade_share_plot
from remission.kinetics.plot import spaghetti_plot


def _graded(n: int) -> pd.DataFrame:
    """n patients, days 0-2: day 1 grade 1 for the first 30 %, grade 3 for the next 10 %."""
    rows = []
    for i in range(n):
        for d in range(3):
            g = 0
            if d == 1:
                g = 1 if i < 0.3 * n else 3 if i < 0.4 * n else 0
            rows.append((f"P{i:03d}", d, g, "astct2019"))
    return pd.DataFrame(rows, columns=["patient_id", "day", "grade", "system"])


def test_grade_share_plot_heights():
    fig = grade_share_plot(_graded(100), days=(0, 2))
    heights = {}
    for container in fig.axes[0].containers:
        heights[container.get_label()] = [p.get_height() for p in container.patches]
    assert heights["grade 1"] == [0.0, 0.3, 0.0]
    assert heights["grade 3"] == [0.0, 0.1, 0.0]
    assert heights["grade 5"] == [0.0, 0.0, 0.0]


def test_heatmap_aggregates_above_the_cap():
    small = _grade_figure(_graded(MAX_HEATMAP_PATIENTS), "f", "CRS", "astct2019")
    assert small.figure.axes[0].images  # one row per patient
    assert "One row per patient" in small.caption
    big = _grade_figure(_graded(MAX_HEATMAP_PATIENTS + 1), "f", "CRS", "astct2019")
    assert not big.figure.axes[0].images and big.figure.axes[0].containers
    assert f"more than {MAX_HEATMAP_PATIENTS}" in big.caption


def test_anc_plot_median_curves_above_the_cap():
    days = np.arange(0, 10)
    rows = []
    for i in range(6):
        anc = 0.2 + 0.1 * i + 0.01 * days  # ordered by patient
        rows += [(f"P{i}", int(d), float(a)) for d, a in zip(days, anc, strict=True)]
    daily = pd.DataFrame(rows, columns=["patient_id", "day", "anc"])
    icaht = pd.DataFrame({"patient_id": [f"P{i}" for i in range(6)],
                          "icaht_early_grade": [1, 1, 1, 3, 3, 3]})
    fig = anc_icaht_plot(daily, icaht, max_patients=4)
    curves = [ln for ln in fig.axes[0].lines if "median" in ln.get_label()]
    assert [c.get_label() for c in curves] == ["ICAHT 1 (median, n=3)", "ICAHT 3 (median, n=3)"]
    np.testing.assert_allclose(curves[0].get_ydata(), 0.3 + 0.01 * days)  # middle patient P1
    np.testing.assert_allclose(curves[1].get_ydata(), 0.6 + 0.01 * days)  # P4
    fig2 = anc_icaht_plot(daily, icaht)  # uncapped: one line per patient (+ 3 reference lines)
    assert isinstance(fig2, Figure) and len(fig2.axes[0].lines) == 6 + 3


def test_spaghetti_caps_lines_but_not_the_median():
    df = pd.DataFrame({"patient_id": np.repeat([f"P{i}" for i in range(5)], 2),
                       "day": [7, 14] * 5, "value": [10, 1, 20, 2, 30, 3, 40, 4, 50, 5]})
    fig = spaghetti_plot(df, pd.Series({f"P{i}": "R" for i in range(5)}), max_lines=2)
    lines = fig.axes[0].lines
    med = [ln for ln in lines if ln.get_label() == "R (median)"]
    assert len(lines) == 3 and len(med) == 1
    assert list(med[0].get_ydata()) == [30.0, 3.0]
