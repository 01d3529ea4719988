"""The R oracle itself must round-trip numbers at full precision."""

import numpy as np
import pytest

from tests.rlive import run_r


@pytest.mark.r
def test_r_round_trips_full_precision() -> None:
    x = np.array([0.1, 1 / 3, 2.5e-12, 123456.789])
    out = run_r("out <- list(s = sum(x), v = x, name = 'ok', n = NA)", x=x)
    assert out["s"] == float(np.sum(x)) or abs(out["s"] - np.sum(x)) < 1e-15
    np.testing.assert_array_equal(out["v"], x)
    assert out["name"] == "ok"
    assert out["n"] is None
