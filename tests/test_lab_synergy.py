"""Synergy scores against hand-computed values and the published reference models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.lab.synergy import (
    Hill,
    _bootstrap_scores,
    _loewe_expected,
    synergy_results,
    synergy_scores,
)

X1 = np.array([0, 1, 3, 10, 30, 100.0])
X2 = np.array([0, 0.25, 0.5, 1, 2, 4.0])


def _hill(x, m, h, top=100.0, bottom=0.0):
    return Hill(bottom, top, m, h)(x)


def test_bliss_and_hsa_hand_computed():
    x = np.array([0.0, 1.0])
    y = np.array([[0.0, 30.0], [20.0, 50.0]])
    s = synergy_scores(x, x, y, methods=("HSA", "Bliss"))
    assert s["Bliss"][1, 1] == pytest.approx(50 - (20 + 30 - 20 * 30 / 100))  # 6
    assert s["HSA"][1, 1] == pytest.approx(20.0)
    assert s["Bliss"][0, 1] == 0 and s["HSA"][1, 0] == 0


def test_loewe_hand_computed_for_hill_slope_one():
    # h = 1, bottom 0, top 100: X_i(y) = m_i y/(100-y), so x1/m1 + x2/m2 = y/(100-y)
    c1, c2 = Hill(0, 100, 10.0, 1.0), Hill(0, 100, 0.8, 1.0)
    for a, b in [(1, 0.25), (30, 2), (100, 4)]:
        s = a / 10.0 + b / 0.8
        assert _loewe_expected(a, b, c1, c2) == pytest.approx(100 * s / (1 + s), rel=1e-10)


def test_loewe_sham_combination_is_zero():
    # the same drug in both axes (dose-additive by construction): Loewe synergy 0 everywhere
    x = np.array([0, 0.3, 1, 3, 10, 30.0])
    y = _hill(x[:, None] + x[None, :], m=3.0, h=1.4, top=95, bottom=2)
    s = synergy_scores(x, x, y, methods=("Loewe",))
    np.testing.assert_allclose(s["Loewe"], 0, atol=1e-5)


def test_zip_zero_for_bliss_independent_hill_surface():
    # Yadav 2015: independent drugs with 0-100 Hill curves give delta = 0 exactly
    y1 = _hill(X1, m=12.0, h=1.2)
    y2 = _hill(X2, m=0.9, h=2.0)
    y = y1[:, None] + y2[None, :] - y1[:, None] * y2[None, :] / 100
    s = synergy_scores(X1, X2, y)
    np.testing.assert_allclose(s["ZIP"], 0, atol=1e-5)
    np.testing.assert_allclose(s["Bliss"], 0, atol=1e-10)
    assert (s["HSA"][1:, 1:] > 0).all()  # HSA always expects less than Bliss here


def test_zip_detects_added_synergy():
    y1 = _hill(X1, m=12.0, h=1.2)
    y2 = _hill(X2, m=0.9, h=2.0)
    y = y1[:, None] + y2[None, :] - y1[:, None] * y2[None, :] / 100
    # potentiation: drug 2 becomes 3x more potent whenever drug 1 is present
    y_syn = y.copy()
    for i in range(1, len(X1)):
        y2s = _hill(X2, m=0.3, h=2.0)
        y_syn[i, :] = y1[i] + y2s - y1[i] * y2s / 100
    s = synergy_scores(X1, X2, y_syn)
    assert s["ZIP"][1:, 1:].mean() > 5 and s["Bliss"][1:, 1:].mean() > 5


def test_bootstrap_reproducible_and_results():
    rng = np.random.default_rng(1)
    y1 = _hill(X1, m=12.0, h=1.2)
    y2 = _hill(X2, m=0.9, h=2.0)
    y = y1[:, None] + y2[None, :] - y1[:, None] * y2[None, :] / 100
    rows = [{"drug_row": "VEN", "drug_col": "E:T", "dose_row": a, "dose_col": b,
             "replicate": r, "response": float(y[i, j] + rng.normal(0, 3))}
            for i, a in enumerate(X1) for j, b in enumerate(X2) for r in range(3)]
    df = pd.DataFrame(rows)
    b1 = _bootstrap_scores(df, n_boot=5, seed=3, methods=("Bliss", "HSA"))
    b2 = _bootstrap_scores(df, n_boot=5, seed=3, methods=("Bliss", "HSA"))
    np.testing.assert_array_equal(b1["Bliss"], b2["Bliss"])
    res = synergy_results(df, n_boot=10, seed=3, methods=("HSA", "Bliss"))
    s = res[0]
    lo, hi = s.cell("VEN | E:T | Bliss", "boot_lower"), s.cell("VEN | E:T | Bliss", "boot_upper")
    assert lo <= s.cell("VEN | E:T | Bliss", "synergy_score") <= hi or hi - lo < 5
    assert abs(s.cell("VEN | E:T | Bliss", "synergy_score")) < 5  # independent surface


def test_most_synergistic_area_hand_computed():
    from remission.lab.synergy import _most_synergistic_area

    m = np.zeros((5, 5))
    m[1:, 1:] = np.arange(16).reshape(4, 4)
    # windows of the 4x4 block: the best is the bottom-right one, mean of 5,6,7,9,10,11,13,14,15
    assert _most_synergistic_area(m) == pytest.approx(np.mean([5, 6, 7, 9, 10, 11, 13, 14, 15]))
    assert np.isnan(_most_synergistic_area(np.zeros((3, 3))))


def test_viability_converted():
    df = pd.DataFrame({"dose_row": [0, 0, 1, 1], "dose_col": [0, 1, 0, 1],
                       "response": [100.0, 70.0, 80.0, 50.0]})
    res = synergy_results(df, response_type="viability", n_boot=0, methods=("Bliss",))
    assert res[0].cell("row agent | column agent | Bliss", "synergy_score") == pytest.approx(6)


def test_scores_symmetric_in_the_two_agents():
    # every reference model treats the agents symmetrically: swapping rows and columns
    # must transpose the per-cell scores (ZIP averages both fitting directions)
    rng = np.random.default_rng(5)
    y1 = _hill(X1, m=12.0, h=1.2)
    y2 = _hill(X2, m=0.9, h=2.0)
    y = y1[:, None] + y2[None, :] - y1[:, None] * y2[None, :] / 100
    y = y + rng.normal(0, 2, y.shape) + 5 * (X1[:, None] > 0) * (X2[None, :] > 0)
    a = synergy_scores(X1, X2, y)
    b = synergy_scores(X2, X1, y.T)
    for m in ("HSA", "Bliss", "Loewe", "ZIP"):
        np.testing.assert_allclose(a[m], b[m].T, atol=1e-6, err_msg=m)
