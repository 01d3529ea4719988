"""Apoptosis percentages and tests vs R (t.test, aov, TukeyHSD) run live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.lab.apoptosis import (
    apoptosis_results,
    compare_groups,
    percent_apoptosis,
    two_way_anova,
)
from tests.rlive import run_r

pytestmark = pytest.mark.r


def _flow(seed=8, groups=("shCtrl", "shCLL1"), doses=(0.0,), times=(48,), n=3):
    rng = np.random.default_rng(seed)
    rows = []
    for gi, grp in enumerate(groups):
        for d in doses:
            for t in times:
                for r in range(n):
                    p_apo = min(0.9, 0.08 + 0.1 * gi + 0.2 * np.log1p(d) + 0.001 * t
                                + rng.normal(0, 0.03))
                    tot = 10000
                    early = int(tot * p_apo * 0.6)
                    late = int(tot * p_apo * 0.4)
                    nec = int(rng.integers(50, 200))
                    rows.append({"sample": f"{grp}_{d}_{t}_{r}", "group": grp, "dose": d,
                                 "time_h": t, "q_viable": tot - early - late - nec,
                                 "q_early": early, "q_late": late, "q_necrotic": nec})
    return pd.DataFrame(rows)


def test_percent_hand_computed():
    df = pd.DataFrame({"sample": ["a"], "group": ["g"], "q_viable": [700], "q_early": [150],
                       "q_late": [100], "q_necrotic": [50]})
    p = percent_apoptosis(df).iloc[0]
    assert p["pct_apoptotic"] == 25.0 and p["pct_viable"] == 70.0 and p["pct_late"] == 10.0


def test_welch_matches_r():
    df = percent_apoptosis(_flow())
    r = run_r("""
        tt <- t.test(pct_apoptotic ~ factor(group, levels = c("shCLL1", "shCtrl")), data = df)
        out <- list(t = unname(tt$statistic), df = unname(tt$parameter), p = tt$p.value,
                    ci = tt$conf.int)
        """, df=df)
    rows, _, _ = compare_groups(df.pct_apoptotic, df.group, control="shCtrl")
    row = rows[0]
    np.testing.assert_allclose([row["statistic"], row["df"], row["p"]],
                               [r["t"], r["df"], r["p"]], rtol=1e-8)
    np.testing.assert_allclose([row["lower"], row["upper"]], r["ci"], rtol=1e-8)


def test_anova_and_tukey_match_r():
    df = percent_apoptosis(_flow(groups=("A", "B", "C"), n=4))
    r = run_r("""
        df$group <- factor(df$group, levels = c("A", "B", "C"))
        fit <- aov(pct_apoptotic ~ group, data = df)
        s <- summary(fit)[[1]]
        tk <- TukeyHSD(fit, conf.level = 0.95)$group
        out <- list(F = s[1, "F value"], p = s[1, "Pr(>F)"], diff = tk[, "diff"],
                    lwr = tk[, "lwr"], upr = tk[, "upr"], padj = tk[, "p adj"])
        """, df=df)
    rows, _, _ = compare_groups(df.pct_apoptotic, df.group)
    np.testing.assert_allclose([rows[0]["statistic"], rows[0]["p"]], [r["F"], r["p"]],
                               rtol=1e-8)
    # R order: B-A, C-A, C-B -- same as ours
    np.testing.assert_allclose([x["estimate"] for x in rows[1:]], r["diff"], rtol=1e-10)
    np.testing.assert_allclose([x["lower"] for x in rows[1:]], r["lwr"], rtol=1e-6)
    np.testing.assert_allclose([x["upper"] for x in rows[1:]], r["upr"], rtol=1e-6)
    # studentized-range tail probabilities: R ptukey and scipy agree to ~1e-6 absolute
    np.testing.assert_allclose([x["p"] for x in rows[1:]], r["padj"], atol=1e-5)


def test_dunnett_reasonable_against_bonferroni_bounds():
    df = percent_apoptosis(_flow(groups=("ctl", "B", "C"), n=4))
    rows, _, m = compare_groups(df.pct_apoptotic, df.group, control="ctl")
    assert "Dunnett" in m and [x["comparison"] for x in rows[1:]] == ["B - ctl", "C - ctl"]
    # Dunnett p lies between the unadjusted pooled-variance t p and its Bonferroni bound
    v, g = df.pct_apoptotic.to_numpy(), df.group.to_numpy()
    mse = sum(((v[g == k] - v[g == k].mean()) ** 2).sum() for k in ("ctl", "B", "C")) / 9
    from scipy import stats

    for row, lev in zip(rows[1:], ("B", "C"), strict=True):
        t = (v[g == lev].mean() - v[g == "ctl"].mean()) / np.sqrt(mse * (1 / 4 + 1 / 4))
        np.testing.assert_allclose(row["statistic"], t, rtol=1e-10)
        p_raw = 2 * stats.t.sf(abs(t), 9)
        assert p_raw - 1e-4 <= row["p"] <= min(1, 2 * p_raw) + 1e-4


def test_two_way_anova_matches_r_aov():
    df = percent_apoptosis(_flow(groups=("KD",), doses=(0.0, 0.1, 1.0), times=(24, 48), n=3))
    r = run_r("""
        fit <- aov(pct_apoptotic ~ factor(dose) * factor(time_h), data = df)
        s <- summary(fit)[[1]]
        out <- list(ss = s[, "Sum Sq"], df = s[, "Df"], F = s[1:3, "F value"],
                    p = s[1:3, "Pr(>F)"])
        """, df=df)
    tab, balanced = two_way_anova(df, "pct_apoptotic", "dose", "time_h")
    assert balanced
    np.testing.assert_allclose(tab["sum_sq"], r["ss"], rtol=1e-8)
    np.testing.assert_allclose(tab["df"], r["df"])
    np.testing.assert_allclose(tab["F"].iloc[:3], r["F"], rtol=1e-8)
    np.testing.assert_allclose(tab["p"].iloc[:3], r["p"], rtol=1e-6)


def test_results_contract():
    res = apoptosis_results(_flow(doses=(0.0, 1.0), times=(24, 48)), control="shCtrl")
    names = [x.name for x in res]
    assert "lab.apoptosis.tests" in names and "lab.apoptosis.anova2.shCtrl" in names
    assert all(x.section == "lab" for x in res)


def test_group_by_dose_anova_matches_r():
    df = percent_apoptosis(_flow(doses=(0.0, 1.0, 3.0), n=3))
    res = {r.name: r for r in apoptosis_results(df, control="shCtrl")}
    tab = res["lab.apoptosis.anova2"]
    r = run_r("""
        df$group <- factor(df$group, levels = c("shCtrl", "shCLL1"))
        s <- summary(aov(pct_apoptotic ~ group * factor(dose), data = df))[[1]]
        out <- list(F = s[1:3, "F value"], p = s[1:3, "Pr(>F)"], ss = s[, "Sum Sq"])
        """, df=df)
    np.testing.assert_allclose(tab.table["sum_sq"], r["ss"], rtol=1e-8)
    np.testing.assert_allclose(tab.table["F"].iloc[:3], r["F"], rtol=1e-8)
    np.testing.assert_allclose(tab.table["p"].iloc[:3], r["p"], rtol=1e-6)
    assert tab.row_keys()[2] == "group:dose"


def test_compare_groups_reports_bad_values_and_labels_at_once() -> None:
    # wrong length was an IndexError, text a bare "could not convert" ValueError and a
    # missing label the group 'None'
    from remission.errors import InputError
    from remission.lab.apoptosis import compare_groups

    v = [10, 12, 11, 30, 32, 31, 20, 21, 22]
    g = ["c"] * 3 + ["a"] * 3 + ["b"] * 3
    with pytest.raises(InputError) as ei:
        compare_groups(v, g[:-1], control="c")
    assert [(p.row, p.column) for p in ei.value.problems] == [(None, "group")]
    assert "9 values but 8 group labels" in str(ei.value)
    with pytest.raises(InputError) as ei:
        compare_groups([*v[:1], "x", *v[2:]], [*g[:4], None, *g[5:]], control="c")
    assert [(p.row, p.column) for p in ei.value.problems] == [(3, "value"), (6, "group")]
