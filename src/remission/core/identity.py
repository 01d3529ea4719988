"""What names a study, declared once.

:class:`StudyIdentity` holds the fields that both the parsed ``study.toml``
(:class:`remission.study.config.StudyConfig`) and the report header
(:class:`remission.core.bundle.StudyInfo`) carry, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["StudyIdentity", "identity_of"]


@dataclass(frozen=True)
class StudyIdentity:
    """Name, disease, products, day 0, reference, synthetic flag and number style.

    Attributes
    ----------
    name, disease : str
        Study name and disease (``[study]`` of study.toml).
    products : tuple of str
        Cellular products or agents studied.
    day0 : str
        What day 0 is (e.g. "first CAR-T infusion").
    reference : str
        Publication or registry reference.
    synthetic : bool
        True for simulated or synthetic data (reports say so on every page).
    number_style : str
        How numbers print (``[report] number_style``; :data:`remission.numbers.STYLES`).
    """

    name: str
    disease: str
    products: tuple[str, ...]
    day0: str
    reference: str = ""
    synthetic: bool = False
    number_style: str = "remission"


def identity_of(obj: Any) -> dict[str, Any]:
    """The :class:`StudyIdentity` fields of ``obj`` (any subclass), as keyword arguments.

    Parameters
    ----------
    obj : Any
        An object with the :class:`StudyIdentity` attributes (a ``StudyIdentity``, a
        ``StudyConfig`` or a ``StudyInfo``).

    Returns
    -------
    dict
        Field name -> value for the seven identity fields only, ready for
        ``StudyInfo(**identity_of(config), ...)``.

    Raises
    ------
    AttributeError
        When ``obj`` lacks one of the fields.

    Examples
    --------
    >>> identity_of(StudyIdentity("CAR-T 01", "AML", ("CLL1",), "infusion"))["products"]
    ('CLL1',)
    """
    return {f.name: getattr(obj, f.name) for f in fields(StudyIdentity)}
