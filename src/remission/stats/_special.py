"""scipy.special, imported on first use without the numpy submodules nobody here uses.

scipy.special imports scipy's array-API layer, which copies numpy's namespace
(``scipy._lib.array_api_compat.numpy``) with ``from numpy import *`` and ``dir``: that
imports every numpy submodule numpy itself loads lazily (``numpy.f2py``, ``numpy.testing``
with ``unittest``, ``numpy.polynomial``, ``numpy.matlib``...), about half of
scipy.special's import time and on the longest path of a cold ``remission report``
(docs/performance.md). :func:`special` imports it while numpy's ``__all__`` and
``__dir__`` leave out the submodules not yet imported; afterwards they are restored and
scipy's copy of the namespace gets them on first use (a module ``__getattr__`` returning
numpy's), so every name is still there. The functions are scipy.special's own, so every
number is unchanged.
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["special"]


def special() -> ModuleType:
    """The :mod:`scipy.special` module (imported the first time, see the module notes).

    Returns
    -------
    module
        ``scipy.special``.

    Examples
    --------
    >>> round(float(special().chdtrc(1, 3.841458820694124)), 12)  # P(chi-square, 1 df > 3.84)
    0.05
    """
    mod = sys.modules.get("scipy.special")
    if mod is not None:
        return mod
    import numpy
    import numpy.typing  # scipy's copy imports it first: it stays in the copy

    hidden = {n for n in getattr(numpy, "__numpy_submodules__", ()) if n not in vars(numpy)}
    names, listing = numpy.__all__, vars(numpy).get("__dir__")
    if hidden and listing is not None:
        numpy.__all__ = [n for n in names if n not in hidden]
        numpy.__dir__ = lambda: [n for n in listing() if n not in hidden]  # type: ignore[misc]
    try:
        import scipy.special
    finally:
        numpy.__all__ = names
        if listing is not None:
            numpy.__dir__ = listing  # type: ignore[misc]
    copy = sys.modules.get("scipy._lib.array_api_compat.numpy")
    if hidden and copy is not None and "__getattr__" not in vars(copy):
        def __getattr__(name: str) -> object:
            if name in hidden:
                return getattr(numpy, name)
            raise AttributeError(f"module {copy.__name__!r} has no attribute {name!r}")

        copy.__getattr__ = __getattr__  # type: ignore[method-assign]
    return scipy.special
