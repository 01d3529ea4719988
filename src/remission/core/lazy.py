"""One-hop package exports that import their submodule on first use (PEP 562).

A package lists ``name -> submodule`` once and gets the module-level ``__getattr__`` and
``__dir__`` from :func:`lazy_exports`, so ``from remission.lab import fit_curve`` works
while ``import remission.lab`` loads none of its submodules (tests/test_one_hop.py).
"""

from __future__ import annotations

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: dict[str, str], namespace: dict) -> tuple:
    """Module ``__getattr__`` and ``__dir__`` for a package whose names live in submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict of str to str
        Exported name -> the submodule (relative name) that defines it.
    namespace : dict
        The package's ``globals()``: a name, once imported, is stored there so the next
        lookup is an ordinary attribute.

    Returns
    -------
    tuple of (callable, callable)
        ``(__getattr__, __dir__)`` to bind at the package's top level. ``__getattr__``
        raises AttributeError for a name not in ``where``.

    Examples
    --------
    >>> ns = {}
    >>> getattr_, dir_ = lazy_exports("remission.core", {"identity_names": "nowhere",
    ...                                                  "FigureItem": "bundle"}, ns)
    >>> getattr_("FigureItem").__name__, "FigureItem" in ns
    ('FigureItem', True)
    >>> try:
    ...     getattr_("missing")
    ... except AttributeError as e:
    ...     print(e)
    module 'remission.core' has no attribute 'missing'
    >>> "identity_names" in dir_()
    True
    """

    def __getattr__(name: str) -> object:
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        # __import__ rather than importlib: nothing beyond the builtins at package import
        value = getattr(__import__(f"{package}.{module}", fromlist=[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
