"""Integration-site clonality: metrics vs scikit-bio and hand values, alerts, tracking,
annotation. Oracles: scikit-bio's alpha-diversity functions (independent implementation),
brute-force Gini (mean absolute difference), hand-computed UC50/top shares, R vegan live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from remission.immunogenetics.annotate import cis_windows, grubbs_cis, nearest_gene
from remission.immunogenetics.clonality import (
    METRICS,
    clonality_results,
    clone_alerts,
    diversity_matrix,
    sample_matrix,
    track_product,
)

skbio_alpha = pytest.importorskip("skbio.diversity.alpha")

CASES = [[10, 5, 1, 1], [10, 5, 1, 1, 2], [7], [3, 3, 3], [5, 4, 3], [1], [1, 1, 1, 2],
         [120, 40, 40, 9, 3, 2, 2, 1, 1, 1, 1, 1]]


def _m(counts):
    return dict(zip(METRICS, diversity_matrix(np.array([counts], float))[0], strict=True))


@pytest.mark.parametrize("c", CASES)
def test_metrics_match_scikit_bio(c):
    m = _m(c)
    assert m["n_sites"] == skbio_alpha.sobs(c)
    assert m["shannon"] == pytest.approx(skbio_alpha.shannon(c), abs=1e-12)
    assert m["simpson"] == pytest.approx(skbio_alpha.simpson(c), abs=1e-12)
    assert m["inv_simpson"] == pytest.approx(skbio_alpha.inv_simpson(c), rel=1e-12)
    assert m["chao1"] == pytest.approx(skbio_alpha.chao1(c), rel=1e-12)
    lo, hi = skbio_alpha.chao1_ci(c, zscore=float(ndtri(0.975)))
    assert (m["chao1_low"], m["chao1_high"]) == pytest.approx((lo, hi), rel=1e-9)
    if len(c) > 1:
        assert m["pielou"] == pytest.approx(skbio_alpha.pielou_e(c), abs=1e-12)


@pytest.mark.parametrize("c", CASES)
def test_gini_uc50_top_by_hand(c):
    m = _m(c)
    x = np.array(c, float)
    brute = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert m["gini"] == pytest.approx(brute, abs=1e-12)
    s = np.sort(x)[::-1]
    cum = np.cumsum(s) / s.sum()
    assert m["uc50"] == next(i + 1 for i, v in enumerate(cum) if v >= 0.5)
    assert m["top_clone_share"] == pytest.approx(s[0] / s.sum())
    assert m["top10_share"] == pytest.approx(s[:10].sum() / s.sum())


def test_hand_values_small_sample():
    # [10, 5, 1, 1]: total 17; UC50 = 1 (10/17 = 58.8%); Simpson 1 - (100+25+1+1)/289
    m = _m([10, 5, 1, 1])
    assert m["simpson"] == pytest.approx(1 - 127 / 289)
    assert m["uc50"] == 1 and m["singletons"] == 2 and m["doubletons"] == 0
    # bias-corrected Chao1 = 4 + 2*1/(2*1) = 5
    assert m["chao1"] == 5
    # exactly 50% at the first clone counts (">= 50%")
    assert _m([5, 3, 2])["uc50"] == 1


def test_zero_padding_and_chunks_do_not_change_metrics():
    rng = np.random.default_rng(3)
    rows = [rng.geometric(0.2, rng.integers(1, 60)) for _ in range(150)]
    width = max(map(len, rows)) + 7
    mat = np.zeros((len(rows), width))
    for i, r in enumerate(rows):
        mat[i, rng.permutation(width)[: len(r)]] = r
    a = diversity_matrix(mat)
    for i, r in enumerate(rows):
        np.testing.assert_allclose(a[i], _arr(r), rtol=1e-12, equal_nan=True)
    # the sort path (non-integer or huge abundances) equals the histogram path on shares
    share_cols = [METRICS.index(k) for k in ("n_sites", "shannon", "pielou", "simpson",
                                              "inv_simpson", "gini", "uc50",
                                              "top_clone_share", "top10_share")]
    for scaled in (mat * 0.37, mat * 1e7):
        b = diversity_matrix(scaled)
        np.testing.assert_allclose(b[:, share_cols], a[:, share_cols], rtol=1e-9,
                                   equal_nan=True)


def test_bad_rows_are_nan_not_wrong():
    m = diversity_matrix(np.array([[3.0, -1.0], [np.nan, 2.0], [0.0, 0.0]]))
    assert np.isnan(m[:2]).all()
    assert m[2, 0] == 0 and np.isnan(m[2, 2])


def _arr(r):
    return diversity_matrix(np.array([r], float))[0]


def test_sample_matrix_sums_duplicate_sites():
    t = pd.DataFrame({"sample": ["a", "a", "a", "b"], "site": ["x", "x", "y", "z"],
                      "abundance": [2, 3, 1, 4]})
    mat, samples = sample_matrix(t)
    assert list(samples) == ["a", "b"]
    assert sorted(mat[0].tolist()) == [1.0, 5.0]


@pytest.mark.r
def test_vegan_live():
    from tests.rlive import run_r

    c = CASES[-1]
    out = run_r("library(vegan); x <- matrix(d, nrow = 1); e <- estimateR(x);"
                "out <- list(H = diversity(x), simp = diversity(x, 'simpson'),"
                "inv = diversity(x, 'invsimpson'), chao = unname(e['S.chao1', 1]))",
                d=np.array(c))
    m = _m(c)
    assert m["shannon"] == pytest.approx(out["H"], abs=1e-12)
    assert m["simpson"] == pytest.approx(out["simp"], abs=1e-12)
    assert m["inv_simpson"] == pytest.approx(out["inv"], rel=1e-12)
    assert m["chao1"] == pytest.approx(out["chao"], rel=1e-12)


# ------------------------------------------------------------------ planted clone


def _synthetic(seed: int = 7):
    """Product cells of 400 equal-ish clones; the product sample and day 14 blood are two
    independent samples of them (no selection); day 28 blood: one clone planted at 41%."""
    rng = np.random.default_rng(seed)
    sites = [("chr" + str(rng.integers(1, 23)), int(rng.integers(1e6, 2e8)),
              "+" if rng.random() < 0.5 else "-") for _ in range(400)]
    cells = rng.integers(5, 15, 400)
    pop = cells / cells.sum()
    prod = rng.multinomial(4000, pop)
    rows = [("P1", *s, int(a)) for s, a in zip(sites, prod, strict=True) if a > 0]
    d14 = rng.multinomial(1500, pop)
    rows += [("B14", *s, int(a)) for s, a in zip(sites, d14, strict=True) if a > 0]
    d28 = rng.multinomial(1000, pop)
    d28[17] += 700  # planted clone: 700 of ~1700 = 41%
    rows += [("B28", *s, int(a)) for s, a in zip(sites, d28, strict=True) if a > 0]
    df = pd.DataFrame(rows, columns=["sample", "chromosome", "position", "strand",
                                     "abundance"])
    meta = pd.DataFrame({"patient": ["001"] * 3, "source": ["product", "blood", "blood"],
                         "day": [0, 14, 28]}, index=["P1", "B14", "B28"])
    return df, meta, sites[17]


def test_planted_clone_alerts_and_oligoclonality():
    df, meta, planted = _synthetic()
    res = {r.name: r for r in clonality_results(df, meta, n_resamples=499)}
    al = res["immunogenetics.is_alerts"].table
    key = f"{planted[0]}:{planted[1]}:{planted[2]}"
    dom = al[(al["alert"] == "dominant clone")]
    assert dom["site"].tolist() == [key] and dom["sample"].tolist() == ["B28"]
    assert key in al.loc[al["alert"] == "growing clone", "site"].tolist()
    test = res["immunogenetics.is_oligoclonality"].table.set_index("sample")
    assert test.loc["B28", "p_oligoclonal"] < 0.01
    assert test.loc["B14", "p_oligoclonal"] > 0.05   # random draw from the product
    div = res["immunogenetics.is_diversity"].table
    assert div.loc["B28", "top_clone_share"] > 0.35
    assert div.loc["B28", "uc50"] < div.loc["B14", "uc50"]


def test_fold_expansion_by_hand():
    df = pd.DataFrame({"sample": ["P", "P", "P", "B", "B"],
                       "chromosome": ["1", "1", "2", "1", "3"],
                       "position": [100, 200, 300, 100, 900], "strand": ["+", "+", "-", "+", "+"],
                       "abundance": [2, 4, 4, 6, 4]})
    meta = pd.DataFrame({"patient": ["x", "x"], "source": ["product", "blood"], "day": [0, 7]},
                        index=["P", "B"])
    shared, tests = track_product(df, meta, n_resamples=99)
    # clone 1:100:+ : product 2/10 = 0.2, blood 6/10 = 0.6 -> 3-fold
    assert shared["site"].tolist() == ["1:100:+"]
    assert shared["fold_expansion"].iloc[0] == pytest.approx(3.0)
    assert tests["n_shared"].iloc[0] == 1 and tests["shared_share"].iloc[0] == pytest.approx(.6)


def test_same_seed_same_result():
    df, meta, _ = _synthetic()
    a = track_product(df, meta, n_resamples=99, seed=5)[1]
    b = track_product(df, meta, n_resamples=99, seed=5)[1]
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------ annotation


GENES = pd.DataFrame({"chromosome": ["1", "1", "1", "2"],
                      "start": [1000, 5000, 5500, 100],
                      "end": [2000, 9000, 6000, 200],
                      "gene": ["A", "LONG", "NESTED", "C"],
                      "strand": ["+", "-", "+", "+"]})


def test_nearest_gene_by_hand():
    s = pd.DataFrame({"chromosome": ["1", "1", "1", "1", "1", "2", "3"],
                      "position": [1500, 2100, 4950, 7000, 9500, 50, 10],
                      "strand": ["+", "+", "-", "-", "+", "+", "+"]})
    a = nearest_gene(s, GENES)
    assert a["gene"].tolist() == ["A", "A", "LONG", "LONG", "LONG", "C", ""]
    assert a["distance"].tolist()[:6] == [0, 100, 50, 0, 500, 50]
    assert a["in_gene"].tolist() == [True, False, False, True, False, False, False]
    assert a["orientation"].tolist() == ["same", "", "", "same", "", "", ""]
    assert np.isnan(a["distance"].iloc[6])


def test_cis_window_rules_at_their_limits():
    # 2 within 30 kb: 30,000 apart counts, 30,001 does not
    yes = pd.DataFrame({"chromosome": ["1", "1"], "position": [1, 30_001]})
    no = pd.DataFrame({"chromosome": ["1", "1"], "position": [1, 30_002]})
    assert len(cis_windows(yes)) == 1 and len(cis_windows(no)) == 0
    # 3 within 50 kb (pairs 40 kb apart fail the 2/30 rule)
    three = pd.DataFrame({"chromosome": ["1"] * 3, "position": [1, 25_001, 50_001]})
    r = cis_windows(three)
    assert r["n_sites"].tolist() == [3] and "3 within 50 kb" in r["rule"].iloc[0]
    three_no = pd.DataFrame({"chromosome": ["1"] * 3, "position": [1, 40_001, 80_001]})
    assert len(cis_windows(three_no)) == 0
    # 5 within 200 kb, each gap 45 kb (fails 2/30, 3/50 and 4/100 (135 kb))
    five = pd.DataFrame({"chromosome": ["1"] * 5, "position": [1 + 45_000 * i for i in range(5)]})
    r = cis_windows(five)
    assert r["n_sites"].tolist() == [5] and r["rule"].iloc[0] == "5 within 200 kb"
    # different chromosomes never pool
    two_chr = pd.DataFrame({"chromosome": ["1", "2"], "position": [1, 2]})
    assert len(cis_windows(two_chr)) == 0


def test_grubbs_flags_one_dense_gene_by_hand():
    genes = pd.DataFrame({"chromosome": ["1"] * 8, "start": np.arange(8) * 100_000 + 1,
                          "end": np.arange(8) * 100_000 + 10_000,
                          "gene": list("ABCDEFGH"), "strand": ["+"] * 8})
    n = {"A": 1, "B": 2, "C": 1, "D": 2, "E": 1, "F": 2, "G": 1, "H": 40}
    annot = pd.DataFrame({"gene": [g for g, k in n.items() for _ in range(k)], "in_gene": True})
    out = grubbs_cis(annot, genes)
    assert out["gene"].tolist() == ["H"]
    x = np.log(np.array(list(n.values())) / 10.0)
    g = (x.max() - x.mean()) / x.std(ddof=1)
    assert out["G"].iloc[0] == pytest.approx(g)
    # critical value for n = 8, alpha 0.05 two-sided (Grubbs 1969 table: 2.1266)
    assert out["G_critical"].iloc[0] == pytest.approx(2.1266, abs=5e-4)


def test_oligoclonality_test_holds_its_level_under_no_selection():
    """Calibration by simulation: 100 patients whose product sample and day-14 blood are
    two independent samples (depth 3000 and 750) of the same 1,000 product clones with
    log-normal sizes (no selection). A valid test rejects about 10% of them at P < 0.10
    (allowed: <= 15%, about 1.7 SD above 10% with 100 patients; fixed seed, so the outcome
    is the same on every machine). The earlier Monte-Carlo test (multinomial draws from the
    product shares, statistic over shared clones only) rejected about 38% in the same
    simulation."""
    rng = np.random.default_rng(11)
    parts, meta = [], []
    for i in range(100):
        pop = rng.lognormal(0.0, 1.5, 1000)
        pop /= pop.sum()
        for smp, depth, src, day in ((f"prod{i}", 3000, "product", 0), (f"b{i}", 750,
                                                                          "blood", 14)):
            x = rng.multinomial(depth, pop)
            nz = np.flatnonzero(x)
            parts.append(pd.DataFrame({"sample": smp, "chromosome": "chr1",
                                       "position": nz + 1, "strand": "+",
                                       "abundance": x[nz]}))
            meta.append((smp, f"P{i}", src, day))
    samples = pd.DataFrame(meta, columns=["sample", "patient", "source", "day"]
                           ).set_index("sample")
    tests = track_product(pd.concat(parts), samples, n_resamples=99, seed=3)[1]
    assert len(tests) == 100
    assert (tests["p_oligoclonal"] < 0.10).mean() <= 0.15


def test_growth_alert_compares_samples_of_one_compartment():
    """Clone x: blood day 14 10%, marrow day 21 25%, blood day 28 12%. Blood 10 -> 12% is
    not growth; the marrow sample is its own series, so no growing-clone alert at all
    (comparing marrow day 21 with blood day 14 would give a false 2.5-fold alert)."""
    rows = []
    for smp, share in (("b14", 10), ("m21", 25), ("b28", 12)):
        rows.append((smp, "chr1", 1000, "+", share))
        rows.append((smp, "chr2", 2000, "+", 100 - share))
    df = pd.DataFrame(rows, columns=["sample", "chromosome", "position", "strand",
                                     "abundance"])
    meta = pd.DataFrame({"patient": "P", "source": ["blood", "marrow", "blood"],
                         "day": [14, 21, 28]}, index=["b14", "m21", "b28"])
    al = clone_alerts(df, meta, share=0.9)
    assert (al["alert"] == "growing clone").sum() == 0
    meta.loc["b28", "source"] = "marrow"   # now marrow 25% -> 12%: still no growth
    meta.loc["b14", "source"] = "marrow"   # marrow 10% -> 25%: 2.5-fold growth
    al = clone_alerts(df, meta, share=0.9)
    assert al.loc[al["alert"] == "growing clone", "sample"].tolist() == ["m21"]
