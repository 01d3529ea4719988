"""What a report is made of: the contract between the pipeline and the renderers.

The pipeline (``remission.pipeline``) computes a :class:`ReportBundle`; renderers in
``remission.report`` turn it into HTML, Word and JSON without computing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
class StudyInfo:
    name: str
    disease: str
    products: tuple[str, ...]
    day0: str
    reference: str = ""
    n_patients: int = 0
    cohort_label: str = ""
    criteria: Mapping[str, str] = field(default_factory=dict)
    synthetic: bool = False
    #: cohort code -> label from study.toml (column headers show labels, not codes)
    cohort_labels: Mapping[str, str] = field(default_factory=dict)
    #: number style of the report (study.toml ``[report] number_style``; see
    #: :data:`remission.numbers.STYLES`)
    number_style: str = "remission"


@dataclass
class ReportBundle:
    study: StudyInfo
    results: ResultSet
    figures: list[FigureItem] = field(default_factory=list)
    software: Mapping[str, str] = field(default_factory=dict)
