"""Analyses: a study in, Results out.

This layer sits above the estimators (:mod:`remission.stats`, :mod:`remission.kinetics`,
…) and below :mod:`remission.audit` and :mod:`remission.pipeline`. It holds
:class:`Analysis`, what :func:`remission.pipeline.analyse` returns and the audit reads, and
:mod:`remission.analyses.raw` (bedside observations → grades, response, kinetics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from remission.core.bundle import FigureItem
from remission.results import ResultSet
from remission.study import Study

__all__ = ["Analysis"]


@dataclass
class Analysis:
    """Every standard analysis of one study (see :func:`remission.pipeline.analyse`).

    Attributes
    ----------
    study : Study
        The validated study the analyses were run on.
    adsl, adae : pandas.DataFrame
        The subject-level and adverse-event analysis datasets derived from it.
    results : ResultSet
        Results keyed by name (``"response.rates"``, ``"survival.km"``, …).
    figures : list of FigureItem
        Figures for the report (empty when analysed with ``figures=False``).
    """

    study: Study
    adsl: pd.DataFrame
    adae: pd.DataFrame
    results: ResultSet
    figures: list[FigureItem] = field(default_factory=list)
