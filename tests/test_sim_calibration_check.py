"""The calibration check can fail, in both directions.

:func:`remission.sim.calibrate.predictive_check` compares the Mahalanobis discrepancy of
the published seed results from virtual trials of the same size with the same
discrepancy of each virtual trial from the others (Gelman, Meng & Stern, Stat Sin
1996;6:733). It runs on random streams no fit used (the ABC fit uses stream 101; this
test stream 2). The shipped parameters must pass; each key parameter three-fold too weak
*or* too strong must fail (the targets include the CAR peak's timing and ICANS, which
move with too strong parameters, as well as response and CRS, and CRS grade >= 2, which
moves with the IL-6 production rate).

The 100 replicate virtual trials per case are simulated once by
``scripts/make_sim_check_summaries.py`` (about 3 min) and committed
(``tests/data/sim_check_summaries.csv``); the first trials of two cases are re-simulated
here, so committed rows the current model no longer produces fail the suite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.sim.calibrate import (
    ALL_TARGETS,
    DESCRIPTIVE_TARGETS,
    DOSE_GROUP_TARGETS,
    KEY_PARAMETERS,
    SHRINKAGE,
    TARGETS,
    TOP_GRADE_TARGETS,
    check_summaries,
    discrepancy,
    particle_targets,
    predictive_check,
)
from remission.sim.params import PARAMETERS

SUMMARIES = Path(__file__).parent / "data" / "sim_check_summaries.csv"
#: the values shipped before session 13 (benchmarks/sim_donor/README.md)
PRE_SESSION13 = {"antigen_density_cv": 0.839, "car_allo_recognition": 0.0}
#: session 12's step-1 summaries on fit stream 6, with the descriptive targets
#: (benchmarks/sim_donor/README.md)
STEP1 = (Path(__file__).parents[1] / "benchmarks" / "sim_donor"
         / "cal3_fitpower_shipped_stream6.csv")


def test_discrepancy_is_the_shrunk_mahalanobis_distance_by_hand() -> None:
    """Two targets, five replicate trials, worked by hand: covariance with n - 1,
    off-diagonal shrunk by 10 %, 2 x 2 inverse by the adjugate formula."""
    sims = np.array([[0.5, 8.0], [0.6, 9.0], [0.7, 9.5], [0.4, 7.5], [0.8, 11.0]])
    pub = np.array([0.9, 7.0])
    m = sims.mean(axis=0)  # 0.6, 9.0
    dev = sims - m
    s11 = (dev[:, 0] ** 2).sum() / 4  # 0.025
    s22 = (dev[:, 1] ** 2).sum() / 4  # 1.875
    s12 = (dev[:, 0] * dev[:, 1]).sum() / 4 * (1 - SHRINKAGE)
    det = s11 * s22 - s12**2
    r = pub - m
    hand = (s22 * r[0] ** 2 - 2 * s12 * r[0] * r[1] + s11 * r[1] ** 2) / det
    d, null = discrepancy(pub, sims, np.zeros(2))
    assert d == pytest.approx(hand, rel=1e-12)
    # the null: replicate 0 against the other four
    d0, _ = discrepancy(sims[0], sims[1:], np.zeros(2))
    assert null[0] == pytest.approx(d0, rel=1e-12)


def test_too_few_replicates_are_refused() -> None:
    sims = pd.DataFrame({"004.crs_any": [1.0, 0.8]})
    with pytest.raises(ValueError, match="at least 3"):
        check_summaries(sims)


def test_variance_floor_applies_to_a_target_the_model_never_varies() -> None:
    sims = np.column_stack([np.linspace(0, 1, 20), np.ones(20)])
    d, _ = discrepancy(np.array([0.5, 0.9]), sims, np.array([0.0, 0.05]))
    assert d == pytest.approx((0.1 / 0.05) ** 2, rel=1e-6)


def test_leave_one_out_null_gives_calibrated_p_values() -> None:
    """Data from the model itself: p < 0.05 in about 5 % of studies, not 0 or 30 %."""
    rng = np.random.default_rng(11)
    cov = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 1.0]])
    rejections = 0
    for _ in range(200):
        sims = rng.multivariate_normal(np.zeros(3), cov, size=60)
        obs = rng.multivariate_normal(np.zeros(3), cov)
        d, null = discrepancy(obs, sims, np.zeros(3))
        rejections += (1 + (null >= d).sum()) / (len(null) + 1) < 0.05
    assert 2 <= rejections <= 20  # binomial(200, 0.05): 10 +/- 3 SD


def _summaries() -> pd.DataFrame:
    return pd.read_csv(SUMMARIES, comment="#")


@pytest.fixture(scope="module")
def summaries() -> pd.DataFrame:
    return _summaries()


def _seed002(df: pd.DataFrame, case: str) -> pd.DataFrame:
    g = df[df["case"] == case]
    return g[[c for c in g.columns if c.startswith("002.")]]


def test_crs_targets_are_the_published_grades() -> None:
    """Seed 002, Zhang M et al. Front Immunol 2025;15:1491341, Table 2, CRS grade of
    patients 1-12 (Lee 2019 ASTCT grading): 3 2 2 4 2 2 3 3 1 3 1 2 -- CRS in 12/12,
    grade >= 2 in 10/12, grade >= 3 in 5/12 (the text's "5 patients experiencing grade
    >= 3"). Seed 004 (abstract): three grade 1, one grade 3, one grade 4."""
    by = {t.key: t.published for t in TARGETS}
    g002 = np.array([3, 2, 2, 4, 2, 2, 3, 3, 1, 3, 1, 2])
    g004 = np.array([1, 1, 1, 3, 4])
    for study, g in (("002", g002), ("004", g004)):
        assert by[f"{study}.crs_any"] == pytest.approx((g >= 1).mean())
        assert by[f"{study}.crs_ge2"] == pytest.approx((g >= 2).mean())
        assert by[f"{study}.crs_ge3"] == pytest.approx((g >= 3).mean())


#: seed 002, Zhang 2025 Table 2, patients 1-12: dose group (Table 1/2 "CLL-1 CAR-T cell
#: infused/kg": A 0.5e6, B 1.0e6, C 1.5e6), response, CRS grade, CRES grade
TABLE2 = pd.DataFrame({
    "arm": list("CABBCCCAACAB"),
    "response": ["MRD-CR", "MRD-CR", "MRD-CR", "MRD-CR", "PR", "MRD-CR", "MRD-CR",
                 "MRD+CR", "NR", "PR", "MRD-CR", "MRD+CR"],
    "crs": [3, 2, 2, 4, 2, 2, 3, 3, 1, 3, 1, 2],
    "cres": [1, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]})


def test_descriptive_targets_are_table_2_by_hand() -> None:
    """Every session-12 (descriptive) target of seed 002 re-derived from Table 2's
    patient rows; the pooled ones agree with the text (7 MRD-CR + 2 MRD+CR + 2 PR; CRS >= 3
    in 5, 3 of them at 1.5e6/kg; one grade-4 CRS and one grade-4 CRES, the same patient).
    Seed 004's grade-4 CRS: one of five (abstract)."""
    by = {t.key: t for t in ALL_TARGETS}
    t2 = TABLE2
    assert t2["arm"].value_counts().to_dict() == {"A": 4, "B": 3, "C": 5}
    assert (t2["response"] != "NR").mean() == pytest.approx(by["002.orr_d14"].published)
    for g, d in t2.groupby("arm"):
        assert by[f"002.orr_d14_{g}"].published == pytest.approx((d["response"] != "NR").mean())
        assert by[f"002.orr_d14_{g}"].n_published == len(d)
        for k in (2, 3):
            assert by[f"002.crs_ge{k}_{g}"].published == pytest.approx((d["crs"] >= k).mean())
    assert (t2.loc[t2["arm"] == "C", "crs"] >= 3).sum() == 3
    assert by["002.crs_ge4"].published == pytest.approx((t2["crs"] >= 4).mean())
    assert by["002.icans_ge3"].published == pytest.approx((t2["cres"] >= 3).mean())
    assert by["004.crs_ge4"].published == pytest.approx(1 / 5)
    keys = {t.key for t in DESCRIPTIVE_TARGETS}
    assert keys == set(DOSE_GROUP_TARGETS) | set(TOP_GRADE_TARGETS) and len(keys) == 12
    assert not keys & {t.key for t in TARGETS}  # not in the check (README, session 12)


def test_dose_group_metrics_count_one_arm_and_its_evaluable_patients() -> None:
    """A simulated patients table by hand: CR + marrow PR and CRS shares of one dose
    group only; a patient with no CRS grade (not evaluable) is not in the denominator;
    a group without patients has no rate (NaN, not 0)."""
    by = {t.key: t.metric for t in ALL_TARGETS}
    pts = pd.DataFrame({
        "arm": ["A", "A", "A", "B", "B", "C"],
        "response_at_day": ["CR_MRD-", "NR", "NR", "CR", "NR", "CRi"],
        "marrow_pr_at_day": [False, True, None, False, False, False],
        "crs_grade": [3.0, 1.0, np.nan, 4.0, 2.0, 1.0],
        "icans_grade": [0.0, 0.0, np.nan, 3.0, 0.0, 0.0]})
    assert by["002.orr_d14_A"](pts) == pytest.approx(2 / 3)  # CR, marrow PR, NA = no
    assert by["002.orr_d14_B"](pts) == pytest.approx(1 / 2)
    assert by["002.orr_d14_C"](pts) == 1.0
    assert by["002.crs_ge2_A"](pts) == pytest.approx(1 / 2)  # of the 2 evaluable
    assert by["002.crs_ge3_B"](pts) == pytest.approx(1 / 2)
    assert by["002.crs_ge4"](pts) == pytest.approx(1 / 5)
    assert by["002.icans_ge3"](pts) == pytest.approx(1 / 5)
    assert np.isnan(by["002.crs_ge2_C"](pts[pts["arm"] != "C"]))
    assert np.isnan(by["002.orr_d14_C"](pts[pts["arm"] != "C"]))


def test_step1_summaries_are_what_the_model_simulates() -> None:
    """Trial 1 of the shipped case of session 12's step-1 file (fit stream 6, every
    target), re-simulated now with the descriptive targets, equals the committed row,
    so the README's power tables come from the current model. The file was made at the
    values shipped before session 13 (``antigen_density_cv`` 0.839, no donor term)."""
    step1 = pd.read_csv(STEP1, comment="#")
    live = particle_targets([PRE_SESSION13] * 2, ("002", "004"), seed=6,
                            targets=ALL_TARGETS).iloc[[1]]
    assert set(DOSE_GROUP_TARGETS) | set(TOP_GRADE_TARGETS) <= set(live.columns)
    row = step1[(step1["case"] == "shipped") & (step1["trial"] == 1)]
    np.testing.assert_allclose(live.to_numpy(), row[live.columns].to_numpy(), rtol=1e-12)


def test_committed_summaries_are_what_the_model_simulates(summaries) -> None:
    """Trial 0 of the shipped case and trial 1 of the il6_car x0.3 case, re-simulated
    now in one call (set k of a call uses trial k's patients), equal the committed rows
    (else: re-run scripts/make_sim_check_summaries.py)."""
    cols = [c for c in summaries.columns if c.split(".", 1)[0] in ("002", "004")]
    live = particle_targets([{}, {"il6_car": 0.3 * PARAMETERS["il6_car"].value}],
                            ("002", "004"), seed=2)
    shipped = summaries[summaries["case"] == "shipped"]
    low = summaries[summaries["case"] == "il6_car x0.3"]
    committed = pd.concat([shipped[shipped["trial"] == 0], low[low["trial"] == 1]])
    np.testing.assert_allclose(live[cols].to_numpy(), committed[cols].to_numpy(),
                               rtol=1e-12)
    # seeds 000 and 003 (shipped case only): trial 0
    live0 = particle_targets([{}], ("000", "003"), seed=2)
    np.testing.assert_allclose(live0.to_numpy(),
                               shipped[shipped["trial"] == 0][live0.columns].to_numpy(),
                               rtol=1e-12)
    # the wrapper simulates the same trials
    r = predictive_check(("002",), replicates=3, seed=2)
    np.testing.assert_allclose(r.table["model_mean"].to_numpy(),
                               _seed002(summaries, "shipped").iloc[:3].mean().to_numpy(),
                               rtol=1e-12)


def test_summaries_hold_every_case_at_full_size(summaries) -> None:
    n = summaries.groupby("case", sort=False).size()
    expected = {"shipped", "fresh"} | {f"{k} x{f:g}" for k in KEY_PARAMETERS
                                       for f in (0.3, 3.0)}
    assert set(n.index) == expected
    assert (n.drop("fresh") == 100).all() and n["fresh"] == 200
    fresh = summaries.loc[summaries["case"] == "fresh", "trial"]
    assert fresh.min() == 100  # patients the replicate set never used
    # the shipped case holds every seed's targets, the others seeds 002 and 004 only
    targets = [c for c in summaries.columns if c not in ("case", "trial")]
    assert targets == [t.key for t in TARGETS]
    shipped = summaries["case"] == "shipped"
    assert summaries.loc[shipped, targets].notna().all().all()
    other = [c for c in targets if c[:3] in ("000", "003")]
    assert summaries.loc[~shipped, other].isna().all().all()
    assert summaries.loc[~shipped, [c for c in targets if c not in other]].notna().all().all()


def test_shipped_parameters_on_unseen_streams_pass_seed_002(summaries) -> None:
    """Seed 002 alone at the shipped point values, its CR + PR target counted as the
    study counted it (CR or marrow PR at day 14, session 10): the check passes, p 15/101
    at the session-13 values (antigen_density_cv 1.6, car_allo_recognition 0.1; 18/101
    at the earlier 0.839 / 0; 4/101 while the target was the ELN CR + PR, which equals
    CR during aplasia). The largest miss is still the published peak range (all 12
    peaks within days 7-11; the model puts ~76 % there, z +2.0); every other target is
    within 2 SD."""
    r = check_summaries(_seed002(summaries, "shipped"))
    assert r.replicates == 100
    assert {"002.orr_d14", "002.peak_7_11", "002.icans_any", "002.crs_ge2"} <= set(
        r.table.index)
    assert r.p_value == pytest.approx(15 / 101) and r.passed
    z = r.table["z"].abs()
    assert z.idxmax() == "002.peak_7_11"
    assert (z.drop("002.peak_7_11") < 2).all(), r.table


def test_seed_002_cr_plus_pr_counts_marrow_prs(summaries) -> None:
    """Seed 002 reports 9 CR and 11 CR + PR at day 14 (2 PRs by "NCCN" amid CAR-T
    aplasia: marrow PRs). The ELN engine calls no PR there (it needs CR counts), so the
    target counts CR or marrow PR (``marrow_pr_at_day``, tests/test_sim_marrow_pr.py):
    CR + PR exceeds CR in 119 of the 300 committed virtual trials at the session-13
    values (97 at the earlier values; it equalled it in all 300 before session 10),
    never falls below it, and the model's mean CR + PR over the 100 replicates is 0.840
    (CR 0.788; published 0.917 / 0.75). With the target seed 002 passes (p 15/101);
    without it, 15/101 too."""
    x = pd.concat([_seed002(summaries, "shipped"), _seed002(summaries, "fresh")])
    assert len(x) == 300
    assert (x["002.orr_d14"] >= x["002.cr_d14"]).all()
    assert (x["002.orr_d14"] > x["002.cr_d14"]).sum() == 119
    shipped = _seed002(summaries, "shipped")
    assert shipped["002.orr_d14"].mean() == pytest.approx(0.8400, abs=1e-4)
    assert shipped["002.cr_d14"].mean() == pytest.approx(0.7883, abs=1e-4)
    assert check_summaries(shipped).p_value == pytest.approx(15 / 101)
    r = check_summaries(shipped.drop(columns="002.orr_d14"))
    assert r.passed and r.p_value == pytest.approx(15 / 101)


@pytest.mark.parametrize(("study", "passes", "hits"),
                         [("000", True, 90), ("002", True, 15), ("003", True, 86),
                          ("004", True, 62)])
def test_each_seed_alone_at_the_shipped_values_on_unseen_streams(
        summaries, study: str, passes: bool, hits: int) -> None:
    """Each seed's own check on the 100 committed shipped-value trials (stream 2, never
    fitted): every seed passes at the session-13 values (antigen_density_cv 1.6,
    car_allo_recognition 0.1; benchmarks/sim_donor/README.md, session 13), as in the
    independent ``judge_point.py`` run (``cal4_judge_stream2.txt``: 90, 15, 86, 62) and
    on fresh stream 17 (76, 24, 79, 54). Seed 000 failed at the earlier values (p 2/101:
    CR/PR 0.896 with the venetoclax lead-in vs 26/33 = 0.788 published, 0.797 without
    vs 20/30 = 0.667); the wider antigen-density spread gives 0.806 / 0.707.
    p = hits / 101."""
    g = summaries[summaries["case"] == "shipped"]
    r = check_summaries(g[[c for c in g.columns if c.startswith(study + ".")]])
    assert r.replicates == 100
    assert r.p_value == pytest.approx(hits / 101)
    assert r.passed is passes
    if study == "000":
        assert (r.table["z"].abs() < 0.6).all(), r.table  # both arms near the published
        assert r.table.loc["000.orr_ven", "model_mean"] == pytest.approx(0.806, abs=5e-4)
        assert r.table.loc["000.orr_noven", "model_mean"] == pytest.approx(0.707, abs=5e-4)


#: three-fold errors that seed 002's own check does not reject on stream 2 at the
#: session-13 values: IL-6 x 3 and exhaustion x 3 since its CR + PR target counts marrow
#: PRs (session 10; 6/101 and 15/101 at the earlier values), exhaustion x 0.3 (5/101, a
#: failure, at the earlier values). Over three fresh streams (10, 14, 15) seed 002's
#: check caught exhaustion x 0.3 on none at either value set, IL-6 x 3 on two of three at
#: both (benchmarks/sim_donor/cal4_power_streams.txt, session 13)
PASSING_THREEFOLD = {("il6_car", 3.0): 8, ("car_exhaustion", 0.3): 16,
                     ("car_exhaustion", 3.0): 24}


@pytest.mark.parametrize("name", KEY_PARAMETERS)
@pytest.mark.parametrize("factor", [0.3, 3.0])
def test_threefold_errors_fail_in_both_directions(summaries, name: str,
                                                  factor: float) -> None:
    """Each key parameter three-fold too weak or too strong fails on seed 002's twelve
    patients (docs/simulation.md has the table) and lies farther from the published data
    than the shipped values -- except IL-6 production x 3 and exhaustion x 0.3 and x 3
    (:data:`PASSING_THREEFOLD`; both exhaustion values lie within its posterior 95 %
    interval, 0.0118-0.243): seed 002's twelve patients do not reject them on this
    stream. Asserted as they are, so a change either way is seen."""
    shipped = check_summaries(_seed002(summaries, "shipped"))
    bad = check_summaries(_seed002(summaries, f"{name} x{factor:g}"))
    if (name, factor) in PASSING_THREEFOLD:
        assert bad.passed, (name, factor, bad.p_value)
        assert bad.p_value == pytest.approx(PASSING_THREEFOLD[name, factor] / 101)
        return
    assert not bad.passed, (name, factor, bad.p_value, bad.table)
    assert bad.statistic > shipped.statistic


def test_the_passing_threefold_errors_fail_seeds_002_and_004_together(summaries) -> None:
    """IL-6 production x 3 fails once seed 004's CAR-NK targets are added (p 4/101 at the
    session-13 values, 5/101 at the earlier ones); exhaustion x 0.3 and x 3 (CAR-T only,
    which seed 004 does not see) pass there too (25/101, 45/101)."""
    for case, hits, passed in (("il6_car x3", 4, False), ("car_exhaustion x0.3", 25, True),
                               ("car_exhaustion x3", 45, True)):
        g = summaries[summaries["case"] == case]
        r = check_summaries(g[[c for c in g.columns if c[:3] in ("002", "004")]])
        assert r.p_value == pytest.approx(hits / 101) and r.passed is passed, case


def test_shipped_parameters_pass_seeds_002_and_004_together(summaries) -> None:
    """With seed 004's CRS grades as targets the shipped model failed (CAR-NK CRS >= 2
    0.95 vs 2/5 published) until CAR-NK got their own IL-6 rate (nk_il6_factor)."""
    g = summaries[summaries["case"] == "shipped"]
    r = check_summaries(g[[c for c in g.columns if c[:3] in ("002", "004")]])
    assert r.passed, (r.p_value, r.table)
    assert abs(r.table.loc["004.crs_ge2", "z"]) < 2


def test_low_il6_production_is_caught_by_the_crs_grade_2_target(summaries) -> None:
    """IL-6 production three-fold too low lowers CRS grade >= 2 far below the published
    10 of 12: the largest standardised residual is on that target."""
    bad = check_summaries(_seed002(summaries, "il6_car x0.3"))
    assert bad.table["z"].abs().idxmax() == "002.crs_ge2"
    assert bad.table.loc["002.crs_ge2", "z"] > 2.5
    ok = check_summaries(_seed002(summaries, "shipped"))
    assert abs(ok.table.loc["002.crs_ge2", "z"]) < 2


def test_false_positive_rate_on_studies_drawn_from_the_model(summaries) -> None:
    """200 virtual studies from the shipped model on patients the replicates never
    used, each checked as if published: p < 0.05 in about 5 % (binomial(200, 0.05):
    10, 95 % range 4-16), not 0 and not 20 %."""
    sims = _seed002(summaries, "shipped")
    fresh = _seed002(summaries, "fresh")
    null = check_summaries(sims).null
    rejected = sum(not check_summaries(sims, row, null=null).passed
                   for _, row in fresh.iterrows())
    assert 3 <= rejected <= 18, rejected


def test_power_table_from_summaries_is_the_documented_table(summaries) -> None:
    """``python -m remission.sim.calibrate power-from`` (docs/simulation.md): the
    shipped row passes (p 15/101 at the session-13 values; 18/101 at the earlier ones,
    4/101 before seed 002's CR + PR counted marrow PRs), five of the eight perturbed rows
    fail (IL-6 production x 3 and exhaustion x 0.3 and x 3 pass; exhaustion x 0.3
    failed at the earlier values, 5/101), 7 of 200 false positives (15 at the earlier
    values; binomial(200, 0.05) 95 % range 4-16)."""
    from remission.sim.calibrate import power_table_from_summaries

    t = power_table_from_summaries(summaries)
    assert t["verdict"].tolist() == ["pass", "fail", "fail", "fail", "fail", "fail",
                                     "pass", "pass", "pass"]
    assert t.loc[0, "p"] == pytest.approx(15 / 101)
    assert t.attrs["false_positives"] == (7, 200)
