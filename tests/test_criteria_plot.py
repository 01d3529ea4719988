"""Plots return Figures built from the data (no I/O)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from remission.derive.criteria import grade_crs, grade_icaht
from remission.derive.criteria.plot import anc_icaht_plot, grade_heatmap
from tests.test_criteria_common import daily_from


def test_heatmap_and_anc_plot():
    d = daily_from([("P1", 1, "temperature", 38.5), ("P1", 3, "temperature", 37.0),
                    ("P2", 2, "temperature", 38.5), ("P2", 2, "oxygen_device", "bipap")]
                   + [("P1", k, "anc", 0.3 if k < 10 else 2.0) for k in range(0, 40, 2)])
    g = grade_crs(d, "astct2019")
    fig = grade_heatmap(g)
    assert isinstance(fig, Figure)
    img = fig.axes[0].images[0].get_array()
    assert img[1, 2 - int(g["day"].min())] == 4  # P2 day 2 grade 4
    assert np.ma.is_masked(img[1, 0])  # no data -> blank
    fig2 = anc_icaht_plot(d, grade_icaht(d))
    assert isinstance(fig2, Figure) and fig2.axes[0].get_yscale() == "log"
    assert any("ICAHT" in t.get_text() for t in fig2.axes[0].get_legend().get_texts())
