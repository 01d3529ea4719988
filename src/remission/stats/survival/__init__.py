"""Survival analysis matched to R's ``survival`` and ``cmprsk`` packages (docs/survival.md).

The public entry is :mod:`remission.survival` (the same functions, one hop). Every
estimator takes arrays, or column names with ``data=df``; returns a
:class:`~remission.results.Result`; refuses unknown keyword arguments with a message that
says what to use instead; and handles ``missing="error" | "omit"`` alike.

One estimator per module: ``km`` (Kaplan–Meier), ``survdiff`` (log-rank / G-rho), ``coxph``
(Efron Cox, cox.zph, Firth), ``competing`` (Aalen–Johansen CIF, Gray's test),
``finegray`` (Fine–Gray), ``rmst``, ``endpoints`` (ADTTE derivation), ``plot``.
"""

from remission.stats.survival._coxcore import load_kernels
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
from remission.stats.survival.rmst import rmst
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
    "load_kernels",
    "logrank",
    "reverse_km_followup",
    "rmst",
    "transplant_counting_process",
]
