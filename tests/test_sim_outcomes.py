"""Outcome rules on hand-made trajectories (values computed by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from remission.sim.outcomes import (
    ALC_GRADES,
    ANC_GRADES,
    classify_response,
    crs_grade,
    crs_probabilities,
    death_day,
    grade_nadir,
)

TRIAL = {"cr_blast_pct": 5.0, "mrd_threshold_pct": 0.1, "require_count_recovery": False}


def test_response_categories() -> None:
    blasts = np.array([0.05, 2.0, 2.0, 12.0, 12.0, 30.0])
    base = np.array([40.0, 40.0, 40.0, 40.0, 20.0, 80.0])
    anc = np.array([0.2, 0.2, 1.5, 1.5, 1.5, 1.5])
    got = classify_response(blasts, base, anc, TRIAL)
    assert got.tolist() == ["MRD-CR", "MRD+CR", "MRD+CR", "PR", "NR", "NR"]
    got = classify_response(blasts, base, anc, {**TRIAL, "require_count_recovery": True})
    assert got.tolist() == ["CRi", "CRi", "MRD+CR", "PR", "NR", "NR"]


def test_ctcae_v5_grades() -> None:
    anc = np.array([2.5, 1.9, 1.5, 1.2, 0.99, 0.5, 0.49, 0.0])
    # CTCAE v5: G1 <LLN-1.5, G2 <1.5-1.0, G3 <1.0-0.5, G4 <0.5 (x10^9/L)
    assert grade_nadir(anc, ANC_GRADES).tolist() == [0, 1, 1, 2, 3, 3, 4, 4]
    alc = np.array([1.2, 0.9, 0.79, 0.5, 0.3, 0.19])
    assert grade_nadir(alc, ALC_GRADES).tolist() == [0, 1, 2, 2, 3, 4]


def test_crs_ordinal_draw() -> None:
    p = {"crs_cut1": 30.0, "crs_cut2": 150.0, "crs_cut3": 400.0, "crs_cut4": 4000.0,
         "crs_scale": 0.6}
    peak = np.array([30.0, 400.0, 400.0, 400.0])
    prob = crs_probabilities(peak, p)
    # at a cut-point the logistic is exactly 1/2
    assert prob[0, 0] == pytest.approx(0.5) and prob[2, 1] == pytest.approx(0.5)
    assert (np.diff(prob, axis=0) <= 0).all()  # P(>=k) decreasing in k
    # P(>=2) at 400 = expit(log(400/150)/0.6) = 0.8395...
    assert prob[1, 1] == pytest.approx(1 / (1 + (150 / 400) ** (1 / 0.6)), rel=1e-12)
    u = np.array([0.49, 0.49, 0.83, 0.999])
    assert crs_grade(peak, u, p).tolist() == [1, 3, 2, 0]


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
