"""Log-rank / G-rho tests against R survival::survdiff, run live."""

from __future__ import annotations

import numpy as np
import pytest

from remission.survival import logrank
from tests.rlive import run_r

pytestmark = pytest.mark.r

R = """
library(survival)
res <- list()
run <- function(f, d, rho) {{ s <- survdiff(f, data = d, rho = rho)
  list(chisq = s$chisq, obs = if (is.matrix(s$obs)) rowSums(s$obs) else s$obs,
       exp = if (is.matrix(s$exp)) rowSums(s$exp) else s$exp, p = pchisq(s$chisq, length(s$n) - 1,
       lower.tail = FALSE)) }}
lung <- survival::lung; lung$status <- lung$status - 1
vet <- survival::veteran; vet$celltype <- as.character(vet$celltype)
ov <- survival::ovarian
out <- list(
  lung_sex = run(Surv(time, status) ~ sex, lung, {rho}),
  vet_cell = run(Surv(time, status) ~ celltype, vet, {rho}),
  vet_trt_strat = run(Surv(time, status) ~ trt + strata(prior), vet, {rho}),
  ov_rx = run(Surv(futime, fustat) ~ rx, ov, {rho}),
  lung = lung[, c("time", "status", "sex")], vet = vet[, c("time", "status", "celltype",
  "trt", "prior")], ov = ov[, c("futime", "fustat", "rx")])
"""


def _check(res, r, groups_order=None):
    t = res.table
    grp = [i for i in t.index if i != "test"]
    np.testing.assert_allclose(t.loc[grp, "observed"], r["obs"], rtol=1e-10)
    np.testing.assert_allclose(t.loc[grp, "expected"], r["exp"], rtol=1e-10)
    assert res.cell("test", "chisq") == pytest.approx(r["chisq"], rel=1e-9)
    assert res.cell("test", "p") == pytest.approx(r["p"], rel=1e-8)


@pytest.mark.parametrize("rho", [0, 1, 0.5])
def test_survdiff(rho: float) -> None:
    r = run_r(R.format(rho=rho))
    lung, vet, ov = r["lung"], r["vet"], r["ov"]
    _check(logrank(lung["time"], lung["status"], lung["sex"], rho=rho), r["lung_sex"])
    _check(logrank(vet["time"], vet["status"], vet["celltype"], rho=rho), r["vet_cell"])
    _check(logrank(vet["time"], vet["status"], vet["trt"], strata=vet["prior"], rho=rho),
           r["vet_trt_strat"])
    res = logrank(ov["futime"], ov["fustat"], ov["rx"], rho=rho)
    _check(res, r["ov_rx"])
    assert res.cell("test", "df") == 1


def test_two_group_hand_computed() -> None:
    # group A: deaths at 1, 3; group B: death at 2, censored at 4.
    # t=1: n=4 (2,2), d=1 -> E_A=0.5, V=0.25; t=2: n=3 (1,2), d=1 -> E_A=1/3, V=2/9;
    # t=3: n=2 (1,1), d=1 -> E_A=0.5, V=0.25. O_A=2, E_A=4/3, V=13/18.
    res = logrank([1, 3, 2, 4], [1, 1, 1, 0], ["A", "A", "B", "B"])
    assert res.cell("A", "expected") == pytest.approx(4 / 3)
    assert res.cell("test", "chisq") == pytest.approx((2 - 4 / 3) ** 2 / (13 / 18))
