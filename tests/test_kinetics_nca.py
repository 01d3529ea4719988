"""NCA against hand-computed values (PKNCA definitions: lin-up/log-down, BLQ rules)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from remission.kinetics.nca import auc_interval, nca, nca_profile

T = [0, 1, 4, 7, 14, 21, 28]
C = [0, 10, 500, 4000, 1000, 200, 60]


def log_seg(c1, c2, dt):
    return (c1 - c2) / math.log(c1 / c2) * dt


def test_lin_up_log_down_hand_computed():
    expected = (0.5 * 10 * 1 + 0.5 * 510 * 3 + 0.5 * 4500 * 3 + log_seg(4000, 1000, 7)
                + log_seg(1000, 200, 7) + log_seg(200, 60, 7))
    r = nca_profile(T, C)
    assert r["auc"] == pytest.approx(expected, rel=1e-12)
    assert (r["cmax"], r["tmax"], r["clast"], r["tlast"]) == (4000, 7, 60, 28)
    assert r["tfirst"] == 1 and r["time_above_lloq"] == 27


def test_linear_option_hand_computed():
    c = np.array(C, dtype=float)
    expected = float(np.sum((c[1:] + c[:-1]) / 2 * np.diff(T)))
    assert nca_profile(T, C, auc_method="linear")["auc"] == pytest.approx(expected, rel=1e-12)


def test_auc_interpolated_at_day_28_with_log_rule():
    # samples at 21 (200) and 35 (50): log-interpolated C(28) = 100
    t, c = [0, 7, 21, 35], [0, 1000, 200, 50]
    expected = 0.5 * 1000 * 7 + log_seg(1000, 200, 14) + log_seg(200, 100, 7)
    assert auc_interval(np.array(t, float), np.array(c, float), 28) == pytest.approx(expected)
    lin = 0.5 * 1000 * 7 + 0.5 * 1200 * 14 + 0.5 * (200 + 125) * 7
    assert auc_interval(np.array(t, float), np.array(c, float), 28, "linear") == pytest.approx(lin)


def test_auc_not_extrapolated():
    assert math.isnan(nca_profile([0, 7, 21], [0, 1000, 200])["auc"])


def test_tmax_is_first_occurrence_of_cmax():
    assert nca_profile([0, 3, 7, 9], [0, 50, 50, 10], auc_end=9)["tmax"] == 3


BLQ_T = [0, 1, 4, 7, 14, 21, 28]
BLQ_C = [0, 10, 500, 4000, 30, 200, 40]  # LLOQ 50: 0, 10, 30 and 40 are BLQ


@pytest.mark.parametrize("rule,expected", [
    # BLQ before Tmax -> 0, after -> missing: day 14 dropped, day 28 dropped -> no AUC0-28
    ("tmax", float("nan")),
    # PKNCA default: leading BLQ 0, middle dropped, trailing 0
    ("pknca", 0 + 0.5 * 500 * 3 + 0.5 * 4500 * 3 + log_seg(4000, 200, 14) + 0.5 * 200 * 7),
    ("zero", 0.5 * 500 * 3 + 0.5 * 4500 * 3 + 0.5 * 4000 * 7 + 0.5 * 200 * 7
     + 0.5 * 200 * 7),
    ("drop", float("nan")),  # last kept sample is day 21
    ("half_lloq", 0.5 * 50 * 1 + 0.5 * 525 * 3 + 0.5 * 4500 * 3 + log_seg(4000, 25, 7)
     + 0.5 * 225 * 7 + log_seg(200, 25, 7)),
])
def test_blq_rules(rule, expected):
    r = nca_profile(BLQ_T, BLQ_C, lloq=50, blq=rule)
    if math.isnan(expected):
        assert math.isnan(r["auc"])
    else:
        assert r["auc"] == pytest.approx(expected, rel=1e-12)
    assert (r["cmax"], r["tmax"], r["tlast"], r["clast"]) == (4000, 7, 21, 200)
    assert r["tfirst"] == 4 and r["n_quantifiable"] == 3


def test_drop_rule_adds_c0_and_integrates_kept_samples():
    r = nca_profile(BLQ_T, BLQ_C, lloq=50, blq="drop", auc_end=21)
    assert r["auc"] == pytest.approx(0.5 * 500 * 4 + 0.5 * 4500 * 3 + log_seg(4000, 200, 14))


def test_tmax_rule_with_day_28_sample():
    c = [0, 10, 500, 4000, 30, 200, 60]
    r = nca_profile(BLQ_T, c, lloq=50)
    expected = 0.5 * 500 * 3 + 0.5 * 4500 * 3 + log_seg(4000, 200, 14) + log_seg(200, 60, 7)
    assert r["auc"] == pytest.approx(expected, rel=1e-12)


def test_nca_result_contract():
    df = pd.DataFrame({"patient_id": ["A"] * 7 + ["B"] * 3, "day": [*BLQ_T, 0, 7, 14],
                       "value": [*C, 0, 0, 0]})
    r = nca(df, lloq=50)
    assert r.row_keys() == ["A", "B"]
    assert r.cell("A", "auc0_28") == pytest.approx(nca_profile(T, C, lloq=50)["auc"])
    assert any("without a quantifiable" in w for w in r.warnings)
    assert r.params["blq"] == "tmax" and "linear-up/log-down" in r.method
    with pytest.raises(ValueError):
        nca_profile(T, C, auc_method="log")
