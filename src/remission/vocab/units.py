"""Unit spellings and conversions to the canonical units of the observation vocabulary.

Conversions are affine (``value * multiply / divide + offset``), optionally rounded, and
optionally per kilogram of body weight (vasopressor doses). Division is used where the
factor is a power of ten so that boundary values stay exact in binary floating point
(1000 cells/µL -> exactly 1.0 ×10⁹/L, so CTCAE/ELN boundaries are not blurred).

Factors: °F -> °C (F - 32) × 5/9; haemoglobin 1 mmol/L (monomer) = 1.611 g/dL
(molar mass 16 114.5 g/mol; CTCAE v5.0 pairs 10.0 g/dL with 6.2 mmol/L); 1 kPa =
7.50062 mmHg; cytokines 1 ng/mL = 1000 pg/mL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["IDENTITY", "Conversion", "convert", "unit_token"]


@dataclass(frozen=True)
class Conversion:
    """``canonical = value * multiply / divide + offset`` (then rounded to ``ndigits``).

    ``per_weight`` = +1 multiplies by body weight (µg/kg/min -> µg/min), -1 divides
    by it (µg/min -> µg/kg/min); 0 means weight is not involved.
    """

    multiply: float = 1.0
    divide: float = 1.0
    offset: float = 0.0
    ndigits: int | None = None
    per_weight: int = 0

    def apply(self, values: np.ndarray, weight_kg: np.ndarray | None = None) -> np.ndarray:
        out = np.asarray(values, dtype=float)
        if self.multiply != 1.0:
            out = out * self.multiply
        if self.divide != 1.0:
            out = out / self.divide
        if self.offset != 0.0:
            out = out + self.offset
        if self.per_weight:
            if weight_kg is None:
                raise ValueError("conversion needs body weight")
            w = np.asarray(weight_kg, dtype=float)
            out = out * w if self.per_weight > 0 else out / w
        if self.ndigits is not None:
            out = np.round(out, self.ndigits)
        return out


IDENTITY = Conversion()

_SUBS = [
    ("µ", "u"),
    ("μ", "u"),
    ("⁹", "^9"),
    ("³", "^3"),
    ("⁶", "^6"),
    ("×", "x"),
    ("°", ""),
    ("deg", ""),
]


def unit_token(unit: object) -> str:
    """Normalise a unit spelling: case, micro sign, superscripts, spaces, 'x10^9' vs '10^9'.

    Parameters
    ----------
    unit : object
        The unit as written (None or NaN allowed).

    Returns
    -------
    str
        The normalised token used to look up a :class:`Conversion`; ``""`` for a missing
        unit.

    Examples
    --------
    >>> unit_token("×10⁹/L"), unit_token("x10^9/l"), unit_token("cells/µL"), unit_token("/mm³")
    ('10^9/l', '10^9/l', '/ul', '/ul')
    >>> unit_token(None), unit_token(float("nan"))
    ('', '')
    """
    if unit is None or (isinstance(unit, float) and np.isnan(unit)):
        return ""
    s = str(unit).strip()
    for a, b in _SUBS:
        s = s.replace(a, b)
    s = s.lower().replace(" ", "")
    s = re.sub(r"^x(?=10)", "", s)
    s = s.replace("10e9", "10^9").replace("10e3", "10^3").replace("10**9", "10^9")
    s = s.replace("cells/", "/").replace("mm^3", "ul").replace("mm3", "ul")
    s = s.replace("/microl", "/ul")
    return s


def convert(values: np.ndarray, conversion: Conversion, weight_kg: np.ndarray | None = None):
    """Convert ``values`` to the canonical unit with ``conversion``.

    ``canonical = value * multiply / divide + offset``, rounded to ``ndigits`` when set,
    then multiplied (``per_weight = 1``) or divided (-1) by body weight.

    Parameters
    ----------
    values : ndarray of float
        Values in the written unit.
    conversion : Conversion
        From the variable's ``units`` (:func:`remission.vocab.vocabulary.variable`).
    weight_kg : ndarray of float, optional
        Body weight per value, needed by weight-based conversions.

    Returns
    -------
    ndarray of float
        Values in the canonical unit.

    Raises
    ------
    ValueError
        A weight-based conversion without ``weight_kg``.

    Examples
    --------
    500 cells/µL = 0.5 ×10⁹/L; 100.4 °F = 38.0 °C; haemoglobin 6.2 mmol/L × 1.611 =
    10.0 g/dL; norepinephrine 0.1 µg/kg/min for 80 kg = 8 µg/min:

    >>> from remission.vocab.vocabulary import variable
    >>> convert(np.array([500.0]), variable("anc").units["/ul"]).tolist()
    [0.5]
    >>> convert(np.array([100.4]), variable("temperature").units["f"]).tolist()
    [38.0]
    >>> convert(np.array([6.2]), variable("hemoglobin").units["mmol/l"]).tolist()
    [10.0]
    >>> convert(np.array([0.1]), variable("norepinephrine").units["ug/kg/min"],
    ...         weight_kg=np.array([80.0])).round(6).tolist()
    [8.0]
    """
    return conversion.apply(values, weight_kg)
