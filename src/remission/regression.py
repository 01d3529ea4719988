"""Regression, one hop: ``from remission import regression``.

The same objects as :mod:`remission.stats.regression`, reached from the top as
:mod:`remission.survival` reaches the survival estimators.

============================  ============================================  ===========
function                      method                                        R
============================  ============================================  ===========
:func:`logistic`              logistic regression as a Result (odds         ``glm``,
                              ratios, profile or Wald CIs; Firth when the   ``logistf``
                              outcome is separated or events are few)
:func:`logistic_fit`          the fitted model (:class:`LogisticFit`)       ``glm``
:func:`logistic_univariable`  one model per covariate, side by side         ``glm``
============================  ============================================  ===========

Examples
--------
Unknown keyword arguments are refused, as everywhere in remission:

>>> import pandas as pd
>>> from remission import regression
>>> df = pd.DataFrame({"cr": [0, 1, 0, 1, 1, 0, 1, 0], "age": [61, 45, 70, 52, 38, 66, 49, 58]})
>>> from remission.stats import regression as implementation
>>> all(getattr(regression, n) is getattr(implementation, n) for n in regression.__all__)
True
>>> try:
...     regression.logistic(df, "cr", ["age"], family="binomial")
... except TypeError as e:
...     print(type(e).__name__)
TypeError
"""

from remission.stats.regression import (
    LogisticFit,
    logistic,
    logistic_fit,
    logistic_univariable,
)

__all__ = ["LogisticFit", "logistic", "logistic_fit", "logistic_univariable"]
