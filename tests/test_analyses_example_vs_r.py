"""The bundled example's Results recomputed independently in R from the raw CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from remission.pipeline import analyse
from remission.study import load_study
from tests.conftest import EXAMPLE
from tests.rlive import run_r


@pytest.fixture(scope="module")
def analysis():
    return analyse(load_study(EXAMPLE), figures=False)


@pytest.fixture(scope="module")
def r_out():
    raw = pd.read_csv(EXAMPLE / "patients.csv")
    return run_r(
        """
        d <- p
        d$grp <- factor(c("A", "B", "C")[match(d$cart_dose_per_kg, c(5e5, 1e6, 1.5e6))])
        resp <- d$best_response %in% c("MRD-CR", "MRD+CR", "PR")
        cr <- d$best_response %in% c("MRD-CR", "MRD+CR")
        sev <- d$crs_grade >= 3
        tab <- function(v) table(factor(v, levels = c(TRUE, FALSE)), d$grp)
        ci <- binom.test(sum(resp), nrow(d))$conf.int
        trend <- function(v) suppressWarnings(prop.trend.test(
          tapply(v, d$grp, sum), as.vector(table(d$grp))))$p.value
        out <- list(
          kw_age = kruskal.test(age ~ grp, data = d)$p.value,
          kw_burden = kruskal.test(baseline_burden_pct ~ grp, data = d)$p.value,
          med_burden = median(d$baseline_burden_pct),
          fisher_sex = fisher.test(table(d$sex, d$grp))$p.value,
          fisher_emd = fisher.test(table(d$extramedullary, d$grp))$p.value,
          orr_lo = ci[1], orr_hi = ci[2],
          fisher_orr = fisher.test(tab(resp))$p.value,
          fisher_cr = fisher.test(tab(cr))$p.value,
          fisher_sev = fisher.test(tab(sev))$p.value,
          trend_orr = trend(resp), trend_sev = trend(sev))
        """, p=raw)


@pytest.mark.r
def test_table1_matches_r(analysis, r_out) -> None:
    tests = analysis.results["baseline.tests"]
    assert tests.cell("age", "p") == pytest.approx(r_out["kw_age"], rel=1e-9)
    assert tests.cell("baseline_burden_pct", "p") == pytest.approx(r_out["kw_burden"], rel=1e-9)
    assert tests.cell("sex", "test") == "Fisher's exact"
    assert tests.cell("sex", "p") == pytest.approx(r_out["fisher_sex"], rel=1e-6)
    assert tests.cell("extramedullary", "p") == pytest.approx(r_out["fisher_emd"], rel=1e-6)
    cont = analysis.results["baseline.continuous"]
    assert cont.cell("baseline_burden_pct | Overall", "median") == pytest.approx(
        r_out["med_burden"], rel=1e-12)


@pytest.mark.r
def test_response_and_toxicity_tests_match_r(analysis, r_out) -> None:
    rates = analysis.results["response.rates"]
    assert rates.cell("ORR | Overall", "n") == 11
    assert rates.cell("ORR | Overall", "ci_low") == pytest.approx(100 * r_out["orr_lo"], rel=1e-9)
    assert rates.cell("ORR | Overall", "ci_high") == pytest.approx(100 * r_out["orr_hi"], rel=1e-9)
    tests = analysis.results["response.tests"]
    assert tests.cell("ORR", "p") == pytest.approx(r_out["fisher_orr"], rel=1e-6)
    assert tests.cell("CR", "p") == pytest.approx(r_out["fisher_cr"], rel=1e-6)
    assert tests.cell("ORR", "trend_p") == pytest.approx(r_out["trend_orr"], rel=1e-9)
    crs = analysis.results["safety.crs"]
    assert crs.params["grade>=3 p"] == pytest.approx(r_out["fisher_sev"], rel=1e-6)
    assert crs.params["grade>=3 trend p (Cochran-Armitage)"] == pytest.approx(
        r_out["trend_sev"], rel=1e-9)


def test_adsl_derivations(analysis) -> None:
    adsl = analysis.adsl.set_index("USUBJID")
    assert adsl.loc["2", "COHORT"] == "A" and adsl.loc["3", "COHORT"] == "B"
    assert adsl.loc["1", "COHORTL"] == "1.5×10⁶/kg" and adsl.loc["1", "COHORTN"] == 3
    assert adsl.loc["9", "RESPFL"] == "N" and adsl.loc["5", "RESPFL"] == "Y"
    assert adsl.loc["5", "CRFL"] == "N" and adsl.loc["12", "MRDNEGFL"] == "N"
    assert adsl.loc["7", "TRANSFL"] == "Y" and adsl.loc["7", "POSTTRT"] == "MUDT"
    assert adsl.loc["11", "TRANSFL"] == "N" and adsl.loc["11", "POSTTRT"] == ""
    assert adsl.loc["1", "DTHFL"] == "Y" and adsl.loc["1", "DTHDY"] == 26
    assert adsl.loc["3", "DTHFL"] == "Y" and pd.isna(adsl.loc["3", "DTHDY"])
    assert adsl.loc["2", "DTHFL"] == "N"
    assert int(adsl["CRSGR"].sum()) == 3 + 2 + 2 + 4 + 2 + 2 + 3 + 3 + 1 + 3 + 1 + 2


@pytest.mark.r
def test_every_table1_test_and_every_rate_ci_matches_r(analysis) -> None:
    """All rows, not a sample: each baseline test p, each response CI and test p."""
    raw = pd.read_csv(EXAMPLE / "patients.csv")
    out = run_r(
        """
        d <- p
        d$grp <- factor(c("A", "B", "C")[match(d$cart_dose_per_kg, c(5e5, 1e6, 1.5e6))])
        cont <- c("age", "prior_lines", "baseline_burden_pct", "cll1_positivity_pct",
                  "transduction_pct")
        kw <- sapply(cont, function(v) kruskal.test(d[[v]] ~ d$grp)$p.value)
        cat <- c("sex", "cns_leukemia", "extramedullary")
        fe <- sapply(cat, function(v) fisher.test(table(d[[v]], d$grp))$p.value)
        sets <- list(ORR = c("MRD-CR", "MRD+CR", "PR"), CR = c("MRD-CR", "MRD+CR"),
                     MRDNEG = c("MRD-CR"))
        lo <- c(); hi <- c(); fp <- c(); tp <- c()
        for (s in names(sets)) {
          y <- d$best_response %in% sets[[s]]
          for (g in c("Overall", "A", "B", "C")) {
            yy <- if (g == "Overall") y else y[d$grp == g]
            ci <- binom.test(sum(yy), length(yy))$conf.int
            lo <- c(lo, ci[1]); hi <- c(hi, ci[2])
          }
          fp <- c(fp, fisher.test(table(factor(y, levels = c(TRUE, FALSE)), d$grp))$p.value)
          tp <- c(tp, suppressWarnings(prop.trend.test(tapply(y, d$grp, sum),
                                                       as.vector(table(d$grp))))$p.value)
        }
        out <- list(kw = unname(kw), fe = unname(fe), lo = lo, hi = hi, fp = fp, tp = tp)
        """, p=raw)
    tests = analysis.results["baseline.tests"]
    cont = ["age", "prior_lines", "baseline_burden_pct", "cll1_positivity_pct",
            "transduction_pct"]
    for v, p in zip(cont, out["kw"], strict=True):
        assert tests.cell(v, "p") == pytest.approx(p, rel=1e-9), v
    for v, p in zip(["sex", "cns_leukemia", "extramedullary"], out["fe"], strict=True):
        assert tests.cell(v, "p") == pytest.approx(p, rel=1e-6), v
    rates = analysis.results["response.rates"]
    keys = [f"{e} | {g}" for e in ("ORR", "CR", "MRD-negative CR")
            for g in ("Overall", "A", "B", "C")]
    for k, lo, hi in zip(keys, out["lo"], out["hi"], strict=True):
        assert rates.cell(k, "ci_low") == pytest.approx(100 * lo, rel=1e-9, abs=1e-12), k
        assert rates.cell(k, "ci_high") == pytest.approx(100 * hi, rel=1e-9), k
    rt = analysis.results["response.tests"]
    for k, fp, tp in zip(["ORR", "CR", "MRD-negative CR"], out["fp"], out["tp"], strict=True):
        assert rt.cell(k, "p") == pytest.approx(fp, rel=1e-6), k
        assert rt.cell(k, "trend_p") == pytest.approx(tp, rel=1e-9), k
