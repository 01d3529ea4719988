"""Death hazard of virtual patients (grades and responses come from the criteria engines)."""

from __future__ import annotations

import numpy as np

from remission.sim.outcomes import death_day


def test_death_day_from_cumulative_hazard() -> None:
    p = {"hazard_baseline": 0.0, "hazard_progression": 0.1, "hazard_neutropenia": 0.05}
    days = np.arange(-2, 6)
    blasts = np.full((8, 2), 100.0)  # progression hazard 0.1/day
    anc = np.array([[1.0, 0.1]] * 8)  # patient 2: + 0.05/day
    u = np.exp(-np.array([0.25, 0.25]))  # event when cumulative hazard >= 0.25
    # day 0 counts from the first post-infusion day: cum 0.1, 0.2, 0.3 -> day 2;
    # patient 2: 0.15, 0.30 -> day 1
    assert death_day(days, blasts, anc, u, p).tolist() == [2.0, 1.0]
    assert np.isnan(death_day(days, blasts * 0, anc * 10, u, p)).all()
