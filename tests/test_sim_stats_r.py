"""Statistics reported by the simulation layer, against R run live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.sim.calibrate import _row, pearson_p
from remission.stats.proportions import wilson
from tests.rlive import run_r


@pytest.mark.r
def test_pearson_chisq_matches_r_and_seed000_p() -> None:
    """Seed 000: 26/33 vs 20/30 CR/PR, Pearson chi-square P = 0.279 (abstract)."""
    df = pd.DataFrame({"arm": ["VEN"] * 33 + ["noVEN"] * 30,
                       "best_response": ["PR"] * 26 + ["NR"] * 7 + ["PR"] * 20 + ["NR"] * 10})
    ours = pearson_p(df, ["VEN", "noVEN"], ["PR"])
    r = run_r("out <- list(p = chisq.test(matrix(c(26, 7, 20, 10), 2, byrow = TRUE),"
              " correct = FALSE)$p.value)")
    assert ours == pytest.approx(r["p"], rel=1e-10)
    assert round(ours, 3) == 0.279


@pytest.mark.r
def test_wilson_interval_matches_r_prop_test() -> None:
    # the sweep's intervals come from the stats module's Wilson (one copy, clipped to
    # [0, 1]); x = 0 and x = n are the boundary cases
    x = np.array([0, 3, 26, 20, 12])
    n = np.array([12, 12, 33, 30, 12])
    lo, hi = np.array([wilson(int(a), int(b)) for a, b in zip(x, n, strict=True)]).T
    r = run_r("ci <- t(mapply(function(a, b) prop.test(a, b, correct = FALSE)$conf.int,"
              " d$x, d$n)); out <- list(lo = ci[, 1], hi = ci[, 2])",
              d=pd.DataFrame({"x": x, "n": n}))
    np.testing.assert_allclose(lo, r["lo"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hi, r["hi"], rtol=1e-10, atol=1e-12)
    assert 0.0 <= lo[0] < 1e-15 and 1 - 1e-15 < hi[-1] <= 1.0  # clipped to [0, 1]


def test_the_sweep_uses_the_stats_wilson() -> None:
    from remission.sim import sweep

    assert sweep.wilson is wilson


@pytest.mark.r
def test_replicate_interval_is_r_quantile_type7() -> None:
    vals = np.random.default_rng(1).beta(2, 3, size=57)
    row = _row("k", "000", "d", 0.5, vals, "proportion")
    r = run_r("q <- quantile(d$v, c(0.025, 0.5, 0.975), type = 7); out <- list(q = unname(q))",
              d=pd.DataFrame({"v": vals}))
    got = [row["interval_low"], row["simulated_median"], row["interval_high"]]
    np.testing.assert_allclose(got, r["q"], rtol=1e-12)
