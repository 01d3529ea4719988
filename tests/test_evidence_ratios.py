"""Ratio/CI/P consistency checks: values computed in R from a real Cox fit."""

from __future__ import annotations

import pytest

from remission.evidence.ratios import ratio_ci_consistency
from tests.rlive import run_r


@pytest.mark.r
def test_printed_cox_summary_is_consistent() -> None:
    r = run_r("""library(survival)
      f <- coxph(Surv(time, status) ~ sex + age, data = survival::lung)
      s <- summary(f)
      ci <- s$conf.int
      out <- list(hr = sprintf("%.2f", ci[1, 1]), lo = sprintf("%.2f", ci[1, 3]),
                  hi = sprintf("%.2f", ci[1, 4]), p = sprintf("%.3f", s$coefficients[1, 5]))""")
    res = ratio_ci_consistency(r["hr"], r["lo"], r["hi"], r["p"], label="sex")
    assert res.table["consistent"].all() and not res.warnings


def test_inconsistent_values_flagged() -> None:
    # HR 0.52 (0.30-0.90): log-midpoint sqrt(0.27) = 0.5196 -> fine; se = ln(3)/3.92,
    # z = ln(0.52)/se = -2.33 -> P about 0.02, so a printed 0.20 is impossible
    res = ratio_ci_consistency("0.52", "0.30", "0.90", "0.20")
    assert res.cell("estimate", "consistent")
    assert not res.cell("p", "consistent")
    assert 0.01 < res.cell("p", "low") < res.cell("p", "high") < 0.03
    # estimate far from the geometric midpoint
    res = ratio_ci_consistency("0.95", "0.30", "0.90")
    assert not res.cell("estimate", "consistent") and res.warnings
    assert ratio_ci_consistency("2.1", "1.3", "3.4", "<0.01").cell("p", "consistent")


def test_ratio_claims_from_file(tmp_path) -> None:
    from remission.evidence.claims import reconstruct_claims

    f = tmp_path / "claims.toml"
    f.write_text('[[ratio]]\nlabel = "OS, arm"\nestimate = "0.52"\nlower = "0.30"\n'
                 'upper = "0.90"\nreported_p = "0.02"\n')
    (res,) = reconstruct_claims(f)
    assert res.table["consistent"].all()
