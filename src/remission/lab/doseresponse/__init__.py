"""Dose-response curves: 4- and 3-parameter log-logistic fits, IC50 and group comparisons.

Parameterisation (identical to R ``stats::SSfpl`` applied to log dose)::

    y = A + (B - A) / (1 + exp((xmid - log(dose)) / scal))

``A`` is the response as dose -> 0 (top of an inhibition curve), ``B`` the response as
dose -> infinity, ``xmid = log(IC50)`` the log-dose at the midpoint between the two
asymptotes (the *relative* IC50/EC50), ``scal`` the slope scale on the log-dose axis.
In drc's LL.4 notation (Ritz et al. 2015), ``f = c + (d - c) / (1 + exp(b (log x -
log e)))``, this is ``d = A``, ``c = B``, ``e = exp(xmid)`` and ``b = +1/scal`` (a
falling viability curve has ``scal > 0`` and drc's ``b > 0``); ``1/scal`` is the Hill
slope. The 3-parameter model (drc LL.3) fixes the *lower* asymptote at 0: ``B`` for a
falling curve, ``A`` for a rising one (:func:`asymptotes_fixed`); either asymptote may be
fixed at any value via ``fixed=`` (or ``lower=``/``upper=`` in
:func:`dose_response_results`, ``fix_lower``/``fix_upper`` in lab.toml).

Fitting is ordinary least squares (Levenberg-Marquardt); standard errors are the usual
linearisation ``s^2 (J'J)^-1`` with ``s^2 = RSS / (n - p)`` exactly as ``summary.nls``
(Bates & Watts 1988). The IC50 confidence interval is a delta-method (Wald) interval on
the log scale, ``exp(xmid +/- t_{df} se(xmid))``, which is what drc reports for
``ED(..., interval = "delta")`` after fitting on log dose; it is never negative and is
asymmetric on the dose scale. A profile-likelihood interval (:func:`profile_ic50_ci`) is
reported beside it; it is more accurate when the curvature is strong (few doses, IC50
near the edge of the range). Curves are compared by the extra-sum-of-squares F test
(R ``anova(nls_reduced, nls_full)``) and potency ratios get a Fieller interval (Fieller
1954), as drc ``EDcomp(..., interval = "fieller")``.

``fit_many`` fits thousands of curves at once with a batched Levenberg-Marquardt in
numpy, falling back to the per-curve scipy solver for the curves it cannot settle.

The package is split by job: :mod:`~remission.lab.doseresponse.model` (mean function,
Jacobian, starting values), :mod:`~remission.lab.doseresponse.fit` (one curve),
:mod:`~remission.lab.doseresponse.batch` (thousands of curves),
:mod:`~remission.lab.doseresponse.joint` (group comparisons),
:mod:`~remission.lab.doseresponse.results` (plate table → Results) and
:mod:`~remission.lab.doseresponse.plot` (the figure, drawn from the fits). Every public
name (``__all__``) is importable from here and from :mod:`remission.lab`.
"""

from remission.lab.doseresponse.batch import (
    BatchFit,
    fit_many,
)
from remission.lab.doseresponse.fit import (
    CurveFit,
    absolute_ic50,
    asymptotes_fixed,
    fit_curve,
    lack_of_fit_test,
    profile_ic50_ci,
)
from remission.lab.doseresponse.joint import (
    JointFit,
    compare_curves,
    extra_ss_f_test,
    fieller_ratio,
    fit_joint,
)

# the model's internals (names, Jacobian, starting values, the reach warning) stay importable
# from here (``X as X``: an explicit re-export) for the benchmarks and older callers, but are
# not the public API: not in __all__, not one hop from remission.lab
from remission.lab.doseresponse.model import (
    MODELS as MODELS,
)
from remission.lab.doseresponse.model import (
    PARAMS as PARAMS,
)
from remission.lab.doseresponse.model import (
    free_parameters as free_parameters,
)
from remission.lab.doseresponse.model import (
    jacobian as jacobian,
)
from remission.lab.doseresponse.model import (
    ll_curve,
)
from remission.lab.doseresponse.model import (
    self_start as self_start,
)
from remission.lab.doseresponse.plot import plot_dose_response
from remission.lab.doseresponse.results import (
    dose_response_results,
    normalise_to_vehicle,
)
from remission.lab.doseresponse.results import (
    reach_warning as reach_warning,
)

__all__ = [
    "BatchFit",
    "CurveFit",
    "JointFit",
    "absolute_ic50",
    "asymptotes_fixed",
    "compare_curves",
    "dose_response_results",
    "extra_ss_f_test",
    "fieller_ratio",
    "fit_curve",
    "fit_joint",
    "fit_many",
    "lack_of_fit_test",
    "ll_curve",
    "normalise_to_vehicle",
    "plot_dose_response",
    "profile_ic50_ci",
]
