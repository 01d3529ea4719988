"""Death of virtual patients: a cumulative hazard on the simulated trajectory.

Grades and responses are *not* decided here: they are derived from the simulated
observations by the criteria engines (:mod:`remission.derive.criteria`, via
:func:`remission.sim.trial.derive_recorded`). This module only decides when a virtual
patient dies of disease or infection: cumulative hazard on the daily trajectory
(progression ~ blasts^2, infection while ANC < 0.5 x10^9/L) against an Exp(1) draw.
Death after severity-4 CRS is decided in :mod:`remission.sim.trial`. All hazards are
stated assumptions (docs/simulation.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def death_day(days: np.ndarray, blasts: np.ndarray, anc: np.ndarray, u: np.ndarray,
              p: Mapping[str, np.ndarray]) -> np.ndarray:
    """First day (>= 0) the cumulative hazard exceeds -log(u); NaN if none.

    The daily hazard (per day) is ``hazard_baseline + hazard_progression x (blasts/100)^2
    + hazard_neutropenia x [ANC < 0.5]``, summed from day 0; the patient dies on the first
    day the cumulative hazard reaches ``-log(u)`` (an Exp(1) threshold: the inversion
    method for a non-homogeneous hazard).

    Parameters
    ----------
    days : numpy.ndarray
        Study days of the rows (n_days,); days before 0 are ignored.
    blasts : numpy.ndarray
        Marrow blasts (%), shape (n_days, n).
    anc : numpy.ndarray
        ANC (10^9/L), shape (n_days, n).
    u : numpy.ndarray
        One uniform (0, 1) per patient, shape (n,).
    p : Mapping
        ``hazard_baseline``, ``hazard_progression`` and ``hazard_neutropenia`` (1/day),
        scalars or per-patient arrays.

    Returns
    -------
    numpy.ndarray
        Day of death per patient (float; NaN when alive at the last day).

    Examples
    --------
    A constant hazard of 0.1/day and ``u = exp(-0.25)``: the cumulative hazard 0.1, 0.2,
    0.3 on days 0, 1, 2 passes 0.25 on day 2; ``u = exp(-10)`` survives the 5 days:

    >>> days = np.arange(-1, 5)
    >>> flat = np.zeros((6, 2))
    >>> p = {"hazard_baseline": 0.1, "hazard_progression": 0.0, "hazard_neutropenia": 0.0}
    >>> death_day(days, flat, flat + 1.0, np.exp([-0.25, -10.0]), p).tolist()
    [2.0, nan]
    """
    post = days >= 0
    h = (p["hazard_baseline"] + p["hazard_progression"] * (blasts[post] / 100.0) ** 2
         + p["hazard_neutropenia"] * (anc[post] < 0.5))
    cum = np.cumsum(h, axis=0)
    hit = cum >= -np.log(u)[None, :]
    first = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), days[post][first], np.nan)
