"""Survival analysis matched to R's ``survival`` and ``cmprsk`` packages (docs/survival.md).

The public entry is :mod:`remission.survival` (the same functions, one hop). Every
estimator takes arrays, or column names with ``data=df``; returns a
:class:`~remission.results.Result`; refuses unknown keyword arguments with a message that
says what to use instead; and handles ``missing="error" | "omit"`` alike.

One estimator per module: ``km`` (Kaplan–Meier), ``survdiff`` (log-rank / G-rho), ``coxph``
(Efron Cox, cox.zph, Firth), ``competing`` (Aalen–Johansen CIF, Gray's test),
``finegray`` (Fine–Gray), ``restricted_mean`` (RMST), ``endpoints`` (ADTTE derivation).
Figures are drawn from ``km_curves``/``cif_curves`` by :mod:`remission.plot.survival`.
No submodule is named like an exported function: the API reference (griffe, which reads
the source statically) lists a submodule instead of a function of the same name.
"""

from remission.stats.survival import api
from remission.stats.survival._coxcore import load_kernels
from remission.stats.survival.api import *  # noqa: F403  (the methods: api.__all__)

__all__ = [*api.__all__, "load_kernels"]
