"""Clinical figures: each function takes a pandas DataFrame and returns a matplotlib Figure.

Each comes in two halves as well, ``<name>_data(adsl, ...)`` (reads the DataFrame into
plain Python values) and ``draw_<name>(data, ...)`` (draws them without pandas), so the
report's figure process (:mod:`remission.report.background`) never imports pandas; the
package imports pandas only when a function that reads a DataFrame runs.

No I/O and no global state: figures are built with :class:`matplotlib.figure.Figure`
(not pyplot), drawn with the Agg/SVG backends, a colour-blind-safe palette (Okabe & Ito,
2008) and text labels on every coloured mark so colour is never the only channel.
matplotlib is imported lazily inside the functions so ``import remission`` stays fast.
"""

from __future__ import annotations

# RC: the matplotlib rcParams every figure is drawn and saved with (renderers use them
# when serialising, so a figure looks the same in HTML and Word)
from remission.plot._style import RC
from remission.plot.grades import draw_grade_by_group, grade_by_group, grade_by_group_data
from remission.plot.lanes import draw_lane_chart, lane_chart, lane_chart_data, lane_chart_note
from remission.plot.response import (
    draw_response_by_group,
    response_by_group,
    response_by_group_data,
)

__all__ = ["RC", "draw_grade_by_group", "draw_lane_chart", "draw_response_by_group",
           "grade_by_group", "grade_by_group_data", "lane_chart", "lane_chart_data",
           "lane_chart_note", "response_by_group", "response_by_group_data"]
