"""qPCR relative quantification vs R t.test (live) and hand-computed Pfaffl/Grubbs values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.lab.qpcr import (
    grubbs_critical,
    qpcr_results,
    relative_expression,
    summarise_replicates,
)
from tests.rlive import run_r


def _ct(seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    base = {"CLEC12A": 24.0, "MCL1": 22.0, "GAPDH": 18.0, "ACTB": 17.0}
    shift = {"CLEC12A": 2.5, "MCL1": 1.0, "GAPDH": 0.0, "ACTB": 0.0}
    for grp in ("shCtrl", "shCLL1"):
        for b in range(4):
            s = f"{grp}_{b + 1}"
            bio = rng.normal(0, 0.3)
            for gene, c in base.items():
                mu = c + bio + (shift[gene] if grp == "shCLL1" else 0) + rng.normal(0, 0.2)
                for r in range(3):
                    rows.append({"sample": s, "group": grp, "gene": gene, "replicate": r + 1,
                                 "ct": mu + rng.normal(0, 0.08)})
    return pd.DataFrame(rows)


@pytest.mark.r
@pytest.mark.parametrize("equal_var", [False, True])
def test_ddct_and_t_test_match_r(equal_var):
    ct = _ct()
    r = run_r(
        f"""
        m <- aggregate(ct ~ sample + group + gene, data = ct, FUN = mean)
        w <- reshape(m, idvar = c("sample", "group"), timevar = "gene", direction = "wide")
        ref <- (w$ct.GAPDH + w$ct.ACTB) / 2
        d <- w$ct.CLEC12A - ref
        kd <- d[w$group == "shCLL1"]; ctl <- d[w$group == "shCtrl"]
        tt <- t.test(kd, ctl, var.equal = {"TRUE" if equal_var else "FALSE"})
        ddct <- mean(kd) - mean(ctl)
        out <- list(ddct = ddct, fc = 2^-ddct, t = unname(tt$statistic),
                    df = unname(tt$parameter), p = tt$p.value,
                    lo = 2^-tt$conf.int[2], hi = 2^-tt$conf.int[1])
        """,
        ct=ct,
    )
    res = qpcr_results(ct, ["GAPDH", "ACTB"], "shCtrl", equal_var=equal_var)[1]
    key = "CLEC12A | shCLL1"
    np.testing.assert_allclose(res.cell(key, "ddct"), r["ddct"], rtol=1e-10)
    np.testing.assert_allclose(res.cell(key, "fold_change"), r["fc"], rtol=1e-10)
    # our t is on -dCt (expression), R's on dCt: same magnitude, opposite sign
    np.testing.assert_allclose(res.cell(key, "t"), -r["t"], rtol=1e-8)
    np.testing.assert_allclose(res.cell(key, "df"), r["df"], rtol=1e-8)
    np.testing.assert_allclose(res.cell(key, "p"), r["p"], rtol=1e-7)
    np.testing.assert_allclose([res.cell(key, "fc_lower"), res.cell(key, "fc_upper")],
                               [r["lo"], r["hi"]], rtol=1e-8)


def test_pfaffl_single_reference_hand_computed():
    ct = pd.DataFrame({
        "sample": ["c1", "c1", "c2", "c2", "t1", "t1", "t2", "t2"],
        "group": ["ctl"] * 4 + ["trt"] * 4,
        "gene": ["T", "R"] * 4,
        "ct": [25.0, 18.0, 25.4, 18.2, 22.0, 18.1, 22.2, 17.9],
    })
    eff = {"T": 1.9, "R": 2.05}
    res = qpcr_results(ct, ["R"], "ctl", efficiencies=eff)[1]
    # Pfaffl 2001 eq. 1 with group-mean Ct: E_T^dCt_T(ctl - trt) / E_R^dCt_R(ctl - trt)
    d_t = (25.0 + 25.4) / 2 - (22.0 + 22.2) / 2
    d_r = (18.0 + 18.2) / 2 - (18.1 + 17.9) / 2
    expected = 1.9**d_t / 2.05**d_r
    np.testing.assert_allclose(res.cell("T | trt", "fold_change"), expected, rtol=1e-12)


def test_two_references_geometric_mean():
    ct = pd.DataFrame({
        "sample": ["c"] * 3 + ["t"] * 3, "group": ["ctl"] * 3 + ["trt"] * 3,
        "gene": ["T", "R1", "R2"] * 2, "ct": [25.0, 18.0, 20.0, 24.0, 18.5, 21.5],
    })
    rel = relative_expression(ct, ["R1", "R2"])
    # quantities 2^-Ct; normaliser = geometric mean of the two references
    q = lambda c: 2.0 ** -c  # noqa: E731
    ratio = (q(24.0) / np.sqrt(q(18.5) * q(21.5))) / (q(25.0) / np.sqrt(q(18.0) * q(20.0)))
    y = rel.set_index("sample")["log2_rel"]
    np.testing.assert_allclose(2.0 ** (y["t"] - y["c"]), ratio, rtol=1e-12)


def test_replicate_flags():
    ct = pd.DataFrame({
        "sample": ["s"] * 6 + ["u"] * 3, "group": ["g"] * 9,
        "gene": ["A"] * 3 + ["B"] * 3 + ["A"] * 3,
        "ct": [20.0, 20.1, 21.0, 22.0, 22.05, 22.1, 30.0, 30.0, 30.0],
    })
    ct.loc[8, "ct"] = np.nan
    s = summarise_replicates(ct).set_index(["sample", "gene"])
    assert "SD" in s.loc[("s", "A"), "flags"]
    assert s.loc[("s", "B"), "flags"] == ""
    assert "undetermined" in s.loc[("u", "A"), "flags"]
    # G_crit(n=3, 0.05) = 1.1543 (Grubbs 1969 table: 1.153 at one-sided 0.05 / 1.155 at 0.025)
    assert abs(grubbs_critical(3) - 1.1543) < 1e-3
    # n = 10 two-sided 0.05: tabulated 2.290 (ASTM E178)
    assert abs(grubbs_critical(10) - 2.290) < 2e-3
    assert grubbs_critical(10) > 2.28
    five = pd.DataFrame({"sample": ["v"] * 5, "group": ["g"] * 5, "gene": ["A"] * 5,
                         "ct": [20.0, 20.05, 20.1, 20.02, 21.5]})
    # G = |21.5 - mean| / sd = 1.7801 > G_crit(5) = 1.7150 (tabulated 1.715)
    assert "Grubbs outlier Ct 21.50" in summarise_replicates(five).loc[0, "flags"]
    assert abs(grubbs_critical(5) - 1.715) < 1e-3


def test_bad_efficiency_rejected():
    ct = _ct()
    with pytest.raises(ValueError, match="amplification factor"):
        relative_expression(ct, ["GAPDH"], efficiencies={g: 95 for g in ct.gene.unique()})


@pytest.mark.r
def test_dose_series_anova_matches_r():
    # CLL1 expression across venetoclax doses (seed 000): 3 groups, control = VEN0
    ct = _ct(9)
    ct["group"] = ct["group"].map({"shCtrl": "VEN0", "shCLL1": "VEN100"})
    ct.loc[ct["sample"].isin(["shCtrl_3", "shCtrl_4", "shCLL1_4"]), "group"] = "VEN50"
    res = {r.name: r for r in qpcr_results(ct, ["GAPDH", "ACTB"], "VEN0")}
    mg = res["lab.qpcr.multigroup"]
    r = run_r("""
        m <- aggregate(ct ~ sample + group + gene, data = ct, FUN = mean)
        w <- reshape(m, idvar = c("sample", "group"), timevar = "gene", direction = "wide")
        d <- w$ct.CLEC12A - (w$ct.GAPDH + w$ct.ACTB) / 2
        s <- summary(aov(d ~ factor(w$group)))[[1]]
        out <- list(F = s[1, "F value"], p = s[1, "Pr(>F)"])
        """, ct=ct)
    np.testing.assert_allclose(mg.cell("CLEC12A | ANOVA", "statistic"), r["F"], rtol=1e-8)
    np.testing.assert_allclose(mg.cell("CLEC12A | ANOVA", "p"), r["p"], rtol=1e-7)
    assert mg.cell("CLEC12A | VEN100 - VEN0", "test") == "Dunnett"
    fc = mg.cell("CLEC12A | VEN100 - VEN0", "fold_change")
    np.testing.assert_allclose(fc, res["lab.qpcr.expression"].cell("CLEC12A | VEN100",
                                                                   "fold_change"), rtol=1e-12)
