"""The bottom layer: what every other layer may import.

- :mod:`remission.core.bundle`: :class:`ReportBundle` and :class:`FigureItem`, the
  contract between the pipeline and the renderers.

:mod:`remission.results`, :mod:`remission.errors`, :mod:`remission.io` and
:mod:`remission.progress` belong to the same layer, :mod:`remission.roles` and
:mod:`remission.numbers` (how a number looks, shared by report and plot) to the two below
it (see docs/architecture.md).
"""
