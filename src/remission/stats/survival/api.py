"""The survival methods and what they return, listed once.

These names are the public survival API: :mod:`remission.stats.survival` exports them
(with :func:`~remission.stats.survival.load_kernels`, a warm-up of the compiled Cox
kernels) and :mod:`remission.survival` re-exports exactly them, one hop from the top,
by taking this module's ``__all__``; a method added here reaches both.
"""

from remission.stats.survival.competing import AalenJohansen, cif_curves, cuminc, gray
from remission.stats.survival.coxph import cox, cox_zph, firth_cox
from remission.stats.survival.endpoints import (
    derive_endpoints,
    endpoint_results,
    transplant_counting_process,
)
from remission.stats.survival.finegray import fine_gray
from remission.stats.survival.km import (
    KaplanMeier,
    kaplan_meier,
    km_curves,
    reverse_km_followup,
)
from remission.stats.survival.restricted_mean import rmst
from remission.stats.survival.survdiff import logrank

__all__ = [
    "AalenJohansen",
    "KaplanMeier",
    "cif_curves",
    "cox",
    "cox_zph",
    "cuminc",
    "derive_endpoints",
    "endpoint_results",
    "fine_gray",
    "firth_cox",
    "gray",
    "kaplan_meier",
    "km_curves",
    "logrank",
    "reverse_km_followup",
    "rmst",
    "transplant_counting_process",
]
