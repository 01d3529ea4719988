"""Clinical figures: each function takes a pandas DataFrame and returns a matplotlib Figure.

No I/O and no global state: figures are built with :class:`matplotlib.figure.Figure`
(not pyplot), drawn with the Agg/SVG backends, a colour-blind-safe palette (Okabe & Ito,
2008) and text labels on every coloured mark so colour is never the only channel.
matplotlib is imported lazily inside the functions so ``import remission`` stays fast.
"""

from __future__ import annotations

# RC: the matplotlib rcParams every figure is drawn and saved with (renderers use them
# when serialising, so a figure looks the same in HTML and Word)
from remission.plot._style import RC
from remission.plot.grades import grade_by_group
from remission.plot.lanes import lane_chart, lane_chart_note
from remission.plot.response import response_by_group

__all__ = ["RC", "grade_by_group", "lane_chart", "lane_chart_note", "response_by_group"]
