"""Firth-penalised Cox against a direct penalised-likelihood maximisation in R.

R's coxph evaluated at fixed beta (iter.max = 0) gives the log partial likelihood and
the inverse information, so the penalised likelihood l(b) + ½ log|I(b)| is computed by
R itself and maximised with optim; coxphf is not packaged for Debian.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.survival import firth_cox
from tests.rlive import run_r

pytestmark = pytest.mark.r

# 14 patients, 5 events, no tied event times; all events in the exposed arm -> monotone
D = pd.DataFrame({
    "time": [3, 7, 11, 14, 20, 26, 31, 40, 45, 52, 60, 66, 71, 80.0],
    "event": [1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
    "arm": [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0.0],
    "age": [61, 45, 70, 52, 66, 39, 58, 73, 48, 55, 63, 41, 69, 50.0],
})

R = """
library(survival)
X <- as.matrix(d[, c("arm", "age")]); storage.mode(X) <- "double"
Y <- Surv(as.numeric(d$time), as.numeric(d$event))
ctl <- coxph.control(iter.max = 0)
pl <- function(b) tryCatch({ f <- survival:::coxph.fit(X, Y, strata = NULL, offset = NULL,
  init = b, control = ctl, weights = NULL, method = "efron", rownames = NULL)
  f$loglik[2] + 0.5 * log(det(solve(f$var))) }, error = function(e) -1e10)
fit <- function(fix = NULL, start = c(0, 0)) {
  free <- setdiff(1:2, fix[1]); g <- function(bf) { b <- numeric(2); b[free] <- bf
    if (!is.null(fix)) b[fix[1]] <- fix[2]; -pl(b) }
  if (length(free) == 1) { o <- optimize(g, start[free] + c(-15, 15), tol = 1e-12)
    return(list(par = o$minimum, val = -o$objective)) }
  o <- optim(start, g, method = "BFGS", control = list(reltol = 1e-16, maxit = 2000))
  o <- optim(o$par, g, method = "Nelder-Mead", control = list(reltol = 1e-16, maxit = 5000))
  list(par = o$par, val = -o$value) }
full <- fit(); crit <- qchisq(0.95, 1)
prof <- function(j, b) 2 * (full$val - fit(c(j, b), full$par)$val) - crit
w <- c(12, 0.5)
ci <- sapply(1:2, function(j) c(uniroot(function(b) prof(j, b), c(full$par[j] - w[j],
  full$par[j]), tol = 1e-10)$root, uniroot(function(b) prof(j, b), c(full$par[j],
  full$par[j] + w[j]), tol = 1e-10)$root))
lr <- sapply(1:2, function(j) pchisq(2 * (full$val - fit(c(j, 0), full$par)$val), 1,
  lower.tail = FALSE))
ml <- suppressWarnings(coxph(Surv(time, event) ~ arm + age, data = d))
out <- list(b = full$par, val = full$val, lo = ci[1, ], hi = ci[2, ], p = lr,
            ml_arm = unname(coef(ml)[1]))
"""


def test_firth_cox_matches_penalised_likelihood_in_r() -> None:
    r = run_r(R, d=D)
    assert r["ml_arm"] > 5  # ordinary Cox diverges (monotone likelihood)
    res = firth_cox("time", "event", ["arm", "age"], data=D)
    t = res.table
    assert res.params["penalised_loglik"] == pytest.approx(r["val"], rel=1e-9)
    np.testing.assert_allclose(t["coef"], r["b"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.log(t["HR_lo"]), r["lo"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.log(t["HR_hi"]), r["hi"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(t["p"], r["p"], rtol=1e-5)
    assert np.isfinite(t.loc["arm", "HR"]) and t.loc["arm", "HR_lo"] > 1


def test_ordinary_cox_flags_monotone_likelihood() -> None:
    from remission.survival import cox

    res = cox("time", "event", ["arm", "age"], data=D)
    assert any("monotone" in w for w in res.warnings)
