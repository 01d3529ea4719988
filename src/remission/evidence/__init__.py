"""Evidence reconstruction: check published numbers against what data could give."""

from remission.evidence.attainability import (
    grim_mean,
    median_range_attainable,
    range_attainable,
)
from remission.evidence.claims import reconstruct_claims
from remission.evidence.proportions import reconstruct_two_proportions
from remission.evidence.ratios import ratio_ci_consistency

__all__ = [
    "grim_mean",
    "median_range_attainable",
    "range_attainable",
    "ratio_ci_consistency",
    "reconstruct_claims",
    "reconstruct_two_proportions",
]
