"""Cellular kinetics of CAR-T / CAR-NK products: NCA, the Stein 2019 model, biomarkers."""

from remission.kinetics.associations import (
    associations,
    biomarker_summary,
    kruskal_test,
    mann_whitney_test,
    spearman_test,
)
from remission.kinetics.nca import auc_interval, nca, nca_profile
from remission.kinetics.stein import fit_stein, stein_conc

__all__ = [
    "associations",
    "auc_interval",
    "biomarker_summary",
    "fit_stein",
    "kruskal_test",
    "mann_whitney_test",
    "nca",
    "nca_profile",
    "spearman_test",
    "stein_conc",
]
