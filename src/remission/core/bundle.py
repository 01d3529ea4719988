"""What a report is made of: the contract between the pipeline and the renderers.

The pipeline (``remission.pipeline``) computes a :class:`ReportBundle`; renderers in
``remission.report`` turn it into HTML, Word and JSON without computing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from remission.core.identity import StudyIdentity
from remission.results import ResultSet

SECTIONS: tuple[tuple[str, str], ...] = (
    ("baseline", "Patient characteristics"),
    ("efficacy", "Efficacy"),
    ("safety", "Safety"),
    ("kinetics", "Cellular kinetics and biomarkers"),
    ("survival", "Time-to-event"),
    ("lab", "Translational laboratory"),
    ("immunogenetics", "Immunogenetics and cell tracking"),
    ("singlecell", "Single-cell profiling"),
    ("audit", "Audit of reported numbers"),
    ("other", "Other analyses"),
)


@dataclass(frozen=True)
class FigureItem:
    """A figure ready to embed: a matplotlib Figure plus caption and report section."""

    name: str
    title: str
    caption: str
    section: str
    figure: Any  # matplotlib.figure.Figure (imported lazily)


@dataclass(frozen=True)
class StudyInfo(StudyIdentity):
    """The report header: the study's identity (:class:`~remission.core.identity.
    StudyIdentity`, the same fields as ``StudyConfig``) plus what renderers show about it."""

    n_patients: int = 0
    cohort_label: str = ""
    #: criteria system code -> display label
    criteria: Mapping[str, str] = field(default_factory=dict)
    #: cohort code -> label from study.toml (column headers show labels, not codes)
    cohort_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ReportBundle:
    study: StudyInfo
    results: ResultSet
    figures: list[FigureItem] = field(default_factory=list)
    software: Mapping[str, str] = field(default_factory=dict)
