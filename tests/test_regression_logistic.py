"""Logistic regression (ML, Firth) against R glm/confint and a direct R penalised fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.stats.regression import logistic, logistic_fit
from tests.rlive import run_r

pytestmark = pytest.mark.r


def test_ml_wald_and_profile_match_glm() -> None:
    r = run_r("""
      d <- MASS::birthwt; d$race <- as.character(d$race)
      f <- glm(low ~ age + lwt + race + smoke, family = binomial, data = d,
               control = glm.control(epsilon = 1e-14, maxit = 100))
      ci <- suppressMessages(confint(f)); cw <- confint.default(f)
      out <- list(d = d[, c("low", "age", "lwt", "race", "smoke")], coef = unname(coef(f)),
        se = unname(sqrt(diag(vcov(f)))), p = unname(summary(f)$coefficients[, 4]),
        plo = unname(ci[, 1]), phi = unname(ci[, 2]), wlo = unname(cw[, 1]),
        whi = unname(cw[, 2]), ll = as.numeric(logLik(f)))""")
    d = pd.DataFrame(r["d"])
    f = logistic_fit(d, "low", ["age", "lwt", "race", "smoke"], method="ml", ci="profile")
    np.testing.assert_allclose(f.coef, r["coef"], rtol=1e-8)
    np.testing.assert_allclose(f.se, r["se"], rtol=1e-6)
    np.testing.assert_allclose(f.p, r["p"], rtol=1e-6)
    assert f.loglik == pytest.approx(r["ll"], rel=1e-10)
    # R's profile CI interpolates a spline through a grid: agreement to ~1e-4 only
    np.testing.assert_allclose(f.lower, r["plo"], rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(f.upper, r["phi"], rtol=2e-3, atol=1e-4)
    w = logistic_fit(d, "low", ["age", "lwt", "race", "smoke"], method="ml", ci="wald")
    np.testing.assert_allclose(w.lower, r["wlo"], rtol=1e-6)
    np.testing.assert_allclose(w.upper, r["whi"], rtol=1e-6)
    res = logistic(d, "low", ["age", "lwt", "race", "smoke"], method="auto")
    assert res.params["method"] == "ml" and "events per variable" in res.rationale


# Quasi-separated small data: all 'exposed' patients respond.
DATA = pd.DataFrame({
    "resp": [1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1],
    "exposed": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "blasts": [10, 35, 60, 22, 80, 45, 90, 15, 70, 55, 30, 85, 65, 20, 75, 50, 95, 40.0],
})

R_FIRTH = """
X <- cbind(1, d$exposed, d$blasts); y <- d$resp
pl <- function(b) { eta <- drop(X %*% b); p <- 1 / (1 + exp(-eta))
  sum(y * eta - log1p(exp(eta))) + 0.5 * determinant(crossprod(X * sqrt(p * (1 - p))))$modulus }
fit <- function(fix = NULL) {
  free <- setdiff(1:3, fix[1]); f <- function(bf) { b <- numeric(3); b[free] <- bf
    if (!is.null(fix)) b[fix[1]] <- fix[2]; -pl(b) }
  o <- optim(if (is.null(fix)) rep(0, 3) else full$par[free], f, method = "BFGS",
             control = list(reltol = 1e-16, maxit = 5000))
  o <- optim(o$par, f, method = "Nelder-Mead", control = list(reltol = 1e-16, maxit = 20000))
  list(par = o$par, val = -o$value) }
full <- fit(); crit <- qchisq(0.95, 1)
prof <- function(j, b) 2 * (full$val - fit(c(j, b))$val) - crit
w <- c(NA, 25, 0.5)
ci <- sapply(2:3, function(j) c(uniroot(function(b) prof(j, b), c(full$par[j] - w[j],
  full$par[j]), tol = 1e-10)$root, uniroot(function(b) prof(j, b), c(full$par[j],
  full$par[j] + w[j]), tol = 1e-10)$root))
lr <- sapply(2:3, function(j) pchisq(2 * (full$val - fit(c(j, 0))$val), 1, lower.tail = FALSE))
ml <- suppressWarnings(glm(resp ~ exposed + blasts, family = binomial, data = d))
out <- list(coef = full$par, pl = full$val, lo = ci[1, ], hi = ci[2, ], p = lr,
            ml_exposed = unname(coef(ml)[2]))
"""


def test_firth_matches_direct_penalised_likelihood_in_r() -> None:
    r = run_r(R_FIRTH, d=DATA)
    assert abs(r["ml_exposed"]) > 10  # R's glm diverges: separation
    f = logistic_fit(DATA, "resp", ["exposed", "blasts"], method="auto")
    assert f.method == "firth" and "separation" in f.why
    # oracle is R's optim on the penalised likelihood: agreement to optimiser precision
    np.testing.assert_allclose(f.coef, r["coef"], rtol=1e-5, atol=1e-6)
    assert f.loglik == pytest.approx(r["pl"], rel=1e-10)
    np.testing.assert_allclose(f.lower[1:], r["lo"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(f.upper[1:], r["hi"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(f.p[1:], r["p"], rtol=1e-4)
    res = logistic(DATA, "resp", ["exposed", "blasts"])
    assert res.row_keys() == ["exposed", "blasts"]
    assert "Firth" in res.method and res.cell("exposed", "OR_lo") > 1


def test_univariable_rows_equal_single_models() -> None:
    from remission.stats.regression import logistic_univariable

    res = logistic_univariable(DATA, "resp", ["exposed", "blasts"], ci="wald")
    assert res.row_keys() == ["exposed", "blasts"]
    single = logistic_fit(DATA[["resp", "blasts"]], "resp", ["blasts"], ci="wald")
    assert res.cell("blasts", "coef") == pytest.approx(single.coef[1], rel=1e-12)
    assert res.cell("exposed", "method") == "firth"


@pytest.mark.parametrize("fn", ["logistic", "logistic_fit", "logistic_univariable"])
@pytest.mark.parametrize("value", [0, 1])
def test_a_constant_outcome_is_an_input_error(fn: str, value: int) -> None:
    # all 0 or all 1: no odds to model; was a LinAlgError ("Singular matrix")
    from remission import regression
    from remission.errors import InputError

    df = pd.DataFrame({"cr": [value] * 8, "age": [61, 45, 70, 52, 38, 66, 49, 58]})
    with pytest.raises(InputError) as ei:
        getattr(regression, fn)(df, "cr", ["age"])
    assert [(p.column, p.row) for p in ei.value.problems] == [("cr", None)]
    assert "outcome takes one value only" in str(ei.value)
