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
    """First day (>= 0) the cumulative hazard exceeds -log(u); NaN if none."""
    post = days >= 0
    h = (p["hazard_baseline"] + p["hazard_progression"] * (blasts[post] / 100.0) ** 2
         + p["hazard_neutropenia"] * (anc[post] < 0.5))
    cum = np.cumsum(h, axis=0)
    hit = cum >= -np.log(u)[None, :]
    first = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), days[post][first], np.nan)
