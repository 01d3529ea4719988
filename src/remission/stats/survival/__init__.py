"""Survival analysis matched to R's ``survival`` and ``cmprsk`` packages (docs/survival.md).

One estimator per module: ``km`` (Kaplan–Meier), ``logrank`` (log-rank / G-rho), ``cox``
(Efron Cox, cox.zph, Firth), ``competing`` (Aalen–Johansen CIF, Gray's test),
``finegray`` (Fine–Gray), ``rmst``, ``endpoints`` (ADTTE derivation), ``plot``.
"""

from remission.stats.survival._coxcore import load_kernels
from remission.stats.survival.competing import AalenJohansen, cif_curves, cuminc, gray_test
from remission.stats.survival.cox import CoxPH, cox_fit, cox_ph, cox_result, cox_zph, firth_cox
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
from remission.stats.survival.logrank import logrank_test
from remission.stats.survival.rmst import rmst

__all__ = [
    "AalenJohansen",
    "CoxPH",
    "KaplanMeier",
    "cif_curves",
    "cox_fit",
    "cox_ph",
    "cox_result",
    "cox_zph",
    "cuminc",
    "derive_endpoints",
    "endpoint_results",
    "fine_gray",
    "firth_cox",
    "gray_test",
    "kaplan_meier",
    "km_curves",
    "load_kernels",
    "logrank_test",
    "reverse_km_followup",
    "rmst",
    "transplant_counting_process",
]
