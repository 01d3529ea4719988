"""Chimerism: every STR constellation by hand (Kristt 2007 / Thiede 2004 formulas), the
combined t interval by hand, alert thresholds on both sides, SNP maximum likelihood vs a
brute-force grid, and per-cluster origin counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from remission.immunogenetics.chimerism import (
    chimerism_alerts,
    chimerism_results,
    locus_donor_fraction,
    origin_by_cluster,
    snp_donor_fractions,
    str_chimerism,
)


@pytest.mark.parametrize("rec,don,areas,expected", [
    # no shared alleles, both heterozygous: (c+d)/(a+b+c+d)
    (("8", "9"), ("10", "11"), {"8": 10, "9": 10, "10": 40, "11": 40}, 0.8),
    # one shared allele, both heterozygous: c/(b+c)
    (("8", "9"), ("8", "10"), {"8": 50, "9": 10, "10": 40}, 0.8),
    # recipient a/b, donor c/c: c/(a+b+c)
    (("8", "9"), ("10", "10"), {"8": 10, "9": 10, "10": 80}, 0.8),
    # recipient a/a, donor c/d: (c+d)/(a+c+d)
    (("8", "8"), ("10", "11"), {"8": 20, "10": 40, "11": 40}, 0.8),
    # recipient a/b, donor a/a (donor homozygous for the shared allele): 1 - 2b/(a+b)
    (("8", "9"), ("8", "8"), {"8": 90, "9": 10}, 0.8),
    # recipient a/a, donor a/c: 2c/(a+c)
    (("8", "8"), ("8", "10"), {"8": 60, "10": 40}, 0.8),
    # complete donor, recipient allele absent
    (("8", "9"), ("8", "10"), {"8": 50, "10": 50}, 1.0),
])
def test_constellations_by_hand(rec, don, areas, expected):
    d, _ = locus_donor_fraction(rec, don, areas)
    assert d == pytest.approx(expected)


def test_identical_genotypes_not_informative():
    d, how = locus_donor_fraction(("8", "9"), ("9", "8"), {"8": 1, "9": 1})
    assert np.isnan(d) and how == "not informative"


def _str_tables():
    geno = pd.DataFrame(
        [("001", "recipient", "D8", "8", "9"), ("001", "donor", "D8", "10", "11"),
         ("001", "recipient", "TH01", "6", "7"), ("001", "donor", "TH01", "6", "9.3"),
         ("001", "recipient", "FGA", "20", "21"), ("001", "donor", "FGA", "21", "20")],
        columns=["patient", "role", "locus", "allele_1", "allele_2"])
    peaks = pd.DataFrame(
        [("001", "s1", 14, "CD3", "D8", "8", 5), ("001", "s1", 14, "CD3", "D8", "9", 5),
         ("001", "s1", 14, "CD3", "D8", "10", 45), ("001", "s1", 14, "CD3", "D8", "11", 45),
         ("001", "s1", 14, "CD3", "TH01", "6", 50), ("001", "s1", 14, "CD3", "TH01", "7", 15),
         ("001", "s1", 14, "CD3", "TH01", "9.3", 35),
         ("001", "s1", 14, "CD3", "FGA", "20", 50), ("001", "s1", 14, "CD3", "FGA", "21", 50)],
        columns=["patient", "sample", "day", "lineage", "locus", "allele", "area"])
    return geno, peaks


def test_combined_mean_and_t_interval_by_hand():
    geno, peaks = _str_tables()
    per, comb = str_chimerism(geno, peaks)
    # D8: 90/100 = 0.9; TH01: 35/(35+15) = 0.7; FGA identical -> not informative
    assert per.set_index("locus").loc["D8", "donor_fraction"] == pytest.approx(0.9)
    assert per.set_index("locus").loc["TH01", "donor_fraction"] == pytest.approx(0.7)
    assert per.set_index("locus").loc["FGA", "formula"] == "not informative"
    r = comb.iloc[0]
    assert r["n_loci"] == 2 and r["donor_pct"] == pytest.approx(80.0)
    sd = np.std([90, 70], ddof=1)
    h = stats.t.ppf(0.975, 1) * sd / np.sqrt(2)
    assert (r["low"], r["high"]) == pytest.approx((max(0, 80 - h), min(100, 80 + h)))


def test_alerts_at_thresholds():
    comb = pd.DataFrame({"patient": ["1"] * 4, "sample": list("abcd"), "day": [7, 14, 21, 28],
                         "lineage": ["CD3"] * 4, "donor_pct": [99.0, 95.0, 94.9, 84.9],
                         "low": np.nan, "high": np.nan, "n_loci": 3, "sd": 1.0})
    a = chimerism_alerts(comb).set_index("sample")
    assert a.loc["b", "status"] == "complete donor"      # exactly 95% counts as complete
    assert a.loc["c", "status"] == "mixed"
    assert a.loc["c", "alert"] == "complete -> mixed chimerism"
    assert a.loc["d", "alert"].startswith("donor fell 10.0 points")  # 94.9 -> 84.9 = 10.0
    assert a.loc["b", "alert"] == ""                     # 4-point fall: below 10
    a2 = chimerism_alerts(comb, drop_points=10.1).set_index("sample")
    assert a2.loc["d", "alert"] == ""


def _simulate_snps(fr, n=300, depth=400, seed=3):
    rng = np.random.default_rng(seed)
    k = len(fr)
    g = rng.integers(0, 3, (n, k))
    af = g @ np.asarray(fr) / 2
    alt = rng.binomial(depth, af)
    return g, alt, np.full(n, depth)


def _grid_nll(g, alt, depth, f):
    af = np.clip(g @ f / 2, 1e-12, 1 - 1e-12)
    return -np.sum(alt * np.log(af) + (depth - alt) * np.log1p(-af))


def test_snp_one_donor_matches_grid_and_profile_bounds():
    g, alt, depth = _simulate_snps([0.25, 0.75])
    fit = snp_donor_fractions(g, alt, depth, err=0.0)
    grid = np.linspace(0, 1, 20001)
    inf = g.max(1) != g.min(1)
    nll = [_grid_nll(g[inf], alt[inf], depth[inf], np.array([1 - d, d])) for d in grid]
    assert fit["fractions"][1] == pytest.approx(grid[int(np.argmin(nll))], abs=1e-4)
    assert fit["fractions"][1] == pytest.approx(0.75, abs=0.02)
    best = min(nll)
    for b in (fit["low"][1], fit["high"][1]):  # 2 x drop in log-lik = chi2(1) 95% point
        v = _grid_nll(g[inf], alt[inf], depth[inf], np.array([1 - b, b]))
        assert 2 * (v - best) == pytest.approx(stats.chi2.ppf(0.95, 1), abs=1e-3)


def test_snp_two_donors_matches_grid():
    g, alt, depth = _simulate_snps([0.2, 0.5, 0.3], seed=9)
    fit = snp_donor_fractions(g, alt, depth, err=0.0)
    best, arg = np.inf, None
    for a in np.linspace(0, 1, 401):
        for b in np.linspace(0, 1 - a, max(2, round((1 - a) * 400) + 1)):
            v = _grid_nll(g, alt, depth, np.array([1 - a - b, a, b]))
            if v < best:
                best, arg = v, (a, b)
    assert fit["fractions"][1:] == pytest.approx(list(arg), abs=3e-3)
    assert fit["fractions"][1:] == pytest.approx([0.5, 0.3], abs=0.03)
    assert all(lo <= f <= hi for lo, f, hi in
               zip(fit["low"][1:], fit["fractions"][1:], fit["high"][1:], strict=True))


def test_results_and_origin_by_cluster():
    geno, peaks = _str_tables()
    res = chimerism_results(geno, peaks)
    assert [r.name for r in res] == ["immunogenetics.chimerism_loci",
                                     "immunogenetics.chimerism"]
    assert res[1].cell("001 | s1 | CD3", "status") == "mixed"
    cells = pd.DataFrame({"cluster": ["0", "0", "0", "1"],
                          "origin": ["product", "product", "recipient", "recipient"]})
    o = origin_by_cluster(cells)
    assert o.loc["0", "product"] == 2 and o.loc["0", "product_share"] == pytest.approx(2 / 3)
    assert o.loc["1", "recipient_share"] == 1.0
