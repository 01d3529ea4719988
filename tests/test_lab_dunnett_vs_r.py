"""Dunnett's many-to-one comparisons against R multcomp (glht, mcp Dunnett), run live.

Both sides integrate the multivariate t numerically (scipy: seeded quasi-Monte Carlo;
multcomp: mvtnorm's randomised lattice), so p-values and simultaneous CIs agree to the
integration error (~1e-4), while estimates and t statistics agree to 1e-8.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.lab.apoptosis import compare_groups
from tests.rlive import run_r


@pytest.mark.r
def test_dunnett_matches_multcomp() -> None:
    rng = np.random.default_rng(7)
    groups = np.repeat(["ctrl", "ven10", "ven100", "ven1000"], 4)
    shift = {"ctrl": 0.0, "ven10": 1.5, "ven100": 4.0, "ven1000": 9.0}
    values = np.array([10 + shift[g] + rng.normal(0, 1.5) for g in groups])
    rows, _, _ = compare_groups(values, groups, control="ctrl", equal_var=True)
    ours = pd.DataFrame([r for r in rows if r["test"] == "Dunnett"]).set_index("comparison")
    out = run_r(
        """
        suppressPackageStartupMessages(library(multcomp))
        d$g <- factor(d$g, levels = c("ctrl", "ven10", "ven100", "ven1000"))
        set.seed(1)
        fit <- glht(aov(y ~ g, data = d), linfct = mcp(g = "Dunnett"))
        s <- summary(fit, test = adjusted("single-step"))
        set.seed(1)
        ci <- confint(fit, level = 0.95)$confint
        out <- list(est = unname(s$test$coefficients), t = unname(s$test$tstat),
                    p = unname(s$test$pvalues), lo = unname(ci[, "lwr"]), hi = unname(ci[, "upr"]))
        """, d=pd.DataFrame({"y": values, "g": groups}))
    order = ["ven10 - ctrl", "ven100 - ctrl", "ven1000 - ctrl"]
    np.testing.assert_allclose(ours.loc[order, "estimate"], out["est"], rtol=1e-10)
    np.testing.assert_allclose(ours.loc[order, "statistic"], out["t"], rtol=1e-8)
    np.testing.assert_allclose(ours.loc[order, "p"], out["p"], atol=5e-4)
    np.testing.assert_allclose(ours.loc[order, "lower"], out["lo"], atol=5e-3)
    np.testing.assert_allclose(ours.loc[order, "upper"], out["hi"], atol=5e-3)
    assert ours.loc["ven1000 - ctrl", "p"] == pytest.approx(out["p"][2], abs=5e-4)
