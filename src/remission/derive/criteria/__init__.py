"""Grading and response engines derived from raw longitudinal observations.

Every function takes the criteria system explicitly and records it in its output
(``system`` column; versions in :data:`SYSTEMS`). Rules, sources and the readings
chosen where sources disagree are in each module's docstring and docs/criteria.md.
"""

from remission.derive.criteria._common import SYSTEMS
from remission.derive.criteria.compare import compare_recorded
from remission.derive.criteria.crs import CRS_SYSTEMS, grade_crs, summarise_crs
from remission.derive.criteria.ctcae import (
    CTCAE_TERMS,
    ctcae_grade,
    grade_febrile_neutropenia,
    grade_labs,
)
from remission.derive.criteria.daily import daily_features
from remission.derive.criteria.icaht import early_icaht, engraftment, grade_icaht, late_icaht
from remission.derive.criteria.neuro import (
    NEURO_SYSTEMS,
    grade_neurotoxicity,
    summarise_neurotoxicity,
)
from remission.derive.criteria.response import (
    RESPONSE_SYSTEMS,
    assess_response,
    summarise_response,
)
from remission.derive.criteria.run import grade_all

__all__ = [
    "CRS_SYSTEMS",
    "CTCAE_TERMS",
    "NEURO_SYSTEMS",
    "RESPONSE_SYSTEMS",
    "SYSTEMS",
    "assess_response",
    "compare_recorded",
    "ctcae_grade",
    "daily_features",
    "early_icaht",
    "engraftment",
    "grade_all",
    "grade_crs",
    "grade_febrile_neutropenia",
    "grade_icaht",
    "grade_labs",
    "grade_neurotoxicity",
    "late_icaht",
    "summarise_crs",
    "summarise_neurotoxicity",
    "summarise_response",
]
