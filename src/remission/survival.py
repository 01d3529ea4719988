"""Survival analysis, one hop: ``from remission import survival``.

Each method has one public function; each takes arrays, or column names with
``data=df``; each returns a :class:`~remission.results.Result` (tidy table, method,
rationale, warnings, references) and refuses unknown keyword arguments with a message
naming the accepted ones (and, for names brought from R or lifelines, what they are
called here). Numbers match R's ``survival`` and ``cmprsk`` (docs/survival.md).

=====================  ==========================================  ========================
function               method                                      R
=====================  ==========================================  ========================
:func:`kaplan_meier`   Kaplan–Meier: median, landmarks, follow-up   ``survfit``
:func:`km_curves`      Kaplan–Meier step functions (for plots)      ``survfit``
:func:`logrank`        log-rank / Fleming–Harrington G-rho test     ``survdiff``
:func:`cuminc`         Aalen–Johansen cumulative incidence          ``cmprsk::cuminc``
:func:`cif_curves`     cumulative incidence step functions          ``cmprsk::cuminc``
:func:`gray`           Gray's test of equal cumulative incidence    ``cmprsk::cuminc``
:func:`fine_gray`      Fine–Gray subdistribution hazards            ``cmprsk::crr``
:func:`cox`            Cox proportional hazards                     ``coxph``
:func:`cox_zph`        proportional-hazards test                    ``cox.zph``
:func:`firth_cox`      Firth-penalised Cox                          ``coxphf``
:func:`rmst`           restricted mean survival time                ``survRM2::rmst2``
=====================  ==========================================  ========================

:class:`KaplanMeier` is the fitted curve itself (``summary`` table, ``median``,
``quantile(p)`` as R's ``quantile.survfit``, ``survival_at``, ``risk_table``).

Examples
--------
>>> import pandas as pd
>>> from remission import survival
>>> df = pd.DataFrame({"months": [6, 6, 6, 7, 10, 13], "died": [1, 1, 0, 1, 0, 1]})
>>> float(survival.kaplan_meier("months", "died", data=df).table.loc["all", "median"])
7.0
>>> try:
...     survival.kaplan_meier("months", "died", data=df, conf_int=0.9)
... except TypeError as e:
...     print(str(e).split(" (")[0:2])
["kaplan_meier() got unexpected keyword argument(s) 'conf_int'", 'the confidence level is conf=']
"""

from remission.stats.survival import api as _api
from remission.stats.survival.api import *  # noqa: F403  (the names: _api.__all__)

# the names are said once, in remission.stats.survival.api; this module is the same
# objects one hop from the top (tests/test_survival_api.py)
__all__ = [*_api.__all__]
