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
    destutter,
    locus_donor_fraction,
    origin_by_cluster,
    snp_donor_fractions,
    str_chimerism,
    stutter_positions,
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
    prof_r = {}  # recipient fraction (in 1/400) -> best nll over the donor split
    for a in np.linspace(0, 1, 401):
        for b in np.linspace(0, 1 - a, max(2, round((1 - a) * 400) + 1)):
            v = _grid_nll(g, alt, depth, np.array([1 - a - b, a, b]))
            k = round((1 - a - b) * 400)
            prof_r[k] = min(prof_r.get(k, np.inf), v)
            if v < best:
                best, arg = v, (a, b)
    assert fit["fractions"][1:] == pytest.approx(list(arg), abs=3e-3)
    # recipient: profile-likelihood interval from the grid (chi-square 1 df at 95%)
    inside = [k / 400 for k, v in prof_r.items() if v - best <= stats.chi2.ppf(0.95, 1) / 2]
    assert fit["low"][0] == pytest.approx(min(inside), abs=4e-3)
    assert fit["high"][0] == pytest.approx(max(inside), abs=4e-3)
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


# ------------------------------------------------------------------ STR back stutter
# Model (Brookes et al., Forensic Sci Int Genet 2012;6:58): PCR gives a back-stutter peak
# one repeat unit shorter than each allele, a locus-specific fraction of the parent peak.


@pytest.mark.parametrize("rec,don,expected", [
    (("10", "13"), ("12", "14"), ["12 (donor) at n-1 of 13 (recipient)",
                                  "13 (recipient) at n-1 of 14 (donor)"]),
    # partial repeats: 9.3's stutter is 8.3, not 9 or 8; the shared 9.3 is not informative
    (("6", "9.3"), ("7", "9.3"), ["6 (recipient) at n-1 of 7 (donor)"]),
    (("28", "30"), ("29", "31.2"), ["28 (recipient) at n-1 of 29 (donor)",
                                    "29 (donor) at n-1 of 30 (recipient)"]),
    # a donor allele two below is not in stutter position; but one below is
    (("12", "13"), ("10", "10"), []),
    (("11", "12"), ("10", "10"), ["10 (donor) at n-1 of 11 (recipient)"]),
    # only informative alleles are listed (the shared 11 is not), nor a party's own
    (("11", "12"), ("11", "11"), []),
    (("8", "8"), ("10", "11"), []),
    (("X", "Y"), ("X", "X"), []),  # amelogenin: no repeat numbers
])
def test_stutter_positions_by_hand(rec, don, expected):
    assert stutter_positions(rec, don) == expected


def test_destutter_by_hand():
    # true areas 300/700/300/700 at 10/11/12/13 with 10% back stutter, observed:
    # 10: 300 + 0.1*700 (stutter of 11) = 370; 11: 700 + 0.1*300 (of 12) = 730;
    # 12: 300 + 0.1*700 (of 13) = 370; 13: 700
    obs = {"10": 370, "11": 730, "12": 370, "13": 700}
    assert destutter(obs, 0.1) == {"10": 300, "11": 700, "12": 300, "13": 700}
    assert destutter(obs, 0.0) == obs
    # a stutter-position allele that is mostly stutter is clipped at 0, never negative
    assert destutter({"9": 5, "10": 100}, 0.1) == {"9": 0.0, "10": 100.0}
    # 9.3 and 10 are not n-1 / n of each other
    assert destutter({"9.3": 50, "10": 100}, 0.1) == {"9.3": 50.0, "10": 100.0}
    # uncorrected donor fraction 1430/2170 (biased low), corrected exactly 0.7
    d0, _ = locus_donor_fraction(("10", "12"), ("11", "13"), obs)
    d1, _ = locus_donor_fraction(("10", "12"), ("11", "13"), obs, stutter_ratio=0.1)
    assert d0 == pytest.approx(1430 / 2170) and d1 == pytest.approx(0.7)


def _stutter_tables():
    geno = pd.DataFrame(
        [("001", "recipient", "D8", "10", "12"), ("001", "donor", "D8", "11", "13"),
         ("001", "recipient", "FGA", "20", "22"), ("001", "donor", "FGA", "24", "26")],
        columns=["patient", "role", "locus", "allele_1", "allele_2"])
    peaks = pd.DataFrame(
        [("001", "s1", 7, "CD3", "D8", "10", 370), ("001", "s1", 7, "CD3", "D8", "11", 730),
         ("001", "s1", 7, "CD3", "D8", "12", 370), ("001", "s1", 7, "CD3", "D8", "13", 700),
         ("001", "s1", 7, "CD3", "FGA", "20", 150), ("001", "s1", 7, "CD3", "FGA", "22", 150),
         ("001", "s1", 7, "CD3", "FGA", "24", 350), ("001", "s1", 7, "CD3", "FGA", "26", 350)],
        columns=["patient", "sample", "day", "lineage", "locus", "allele", "area"])
    return geno, peaks


def test_stutter_modes_flag_exclude_correct():
    geno, peaks = _stutter_tables()
    per, comb = str_chimerism(geno, peaks)  # flag: numbers unchanged, alleles listed
    d8 = per.set_index("locus").loc["D8"]
    assert d8["donor_fraction"] == pytest.approx(1430 / 2170)
    assert d8["stutter"] == ("10 (recipient) at n-1 of 11 (donor); 11 (donor) at n-1 of "
                             "12 (recipient); 12 (recipient) at n-1 of 13 (donor)")
    assert per.set_index("locus").loc["FGA", "stutter"] == ""   # 22 vs 24: two repeats apart
    assert comb["donor_pct"].iloc[0] == pytest.approx(100 * (1430 / 2170 + 0.7) / 2)
    per, comb = str_chimerism(geno, peaks, stutter="exclude")
    d8 = per.set_index("locus").loc["D8"]
    assert np.isnan(d8["donor_fraction"]) and d8["formula"] == "excluded: stutter position"
    assert comb["donor_pct"].iloc[0] == pytest.approx(70.0) and comb["n_loci"].iloc[0] == 1
    per, comb = str_chimerism(geno, peaks, stutter="correct", stutter_ratio={"D8": 0.1})
    assert per.set_index("locus").loc["D8", "donor_fraction"] == pytest.approx(0.7)
    assert comb["donor_pct"].iloc[0] == pytest.approx(70.0) and comb["n_loci"].iloc[0] == 2
    with pytest.raises(ValueError):
        str_chimerism(geno, peaks, stutter="ignore")


def test_stutter_warnings_in_results():
    geno, peaks = _stutter_tables()
    loci = chimerism_results(geno, peaks)[0]
    assert any("001 D8: 10 (recipient) at n-1 of 11 (donor)" in w for w in loci.warnings)
    assert "Brookes" in " ".join(loci.references) and loci.params["stutter"] == "flag"
    loci = chimerism_results(geno, peaks, stutter="correct", stutter_ratio={"FGA": 0.1})[0]
    assert "no stutter ratio for D8: not corrected" in loci.warnings
    assert "Back stutter removed" in loci.method


def test_snp_chimerism_status_and_loss_of_donor_alerts():
    """Two donors (transplant donor A, third-party product B). Reads are set to their
    expected counts, so the ML fractions are the planted ones (to < 0.5 points). By hand:
    day 14 R 2 / A 58 / B 40 (total 98: complete); day 28 R 3 / A 85 / B 12: B falls 28
    points (alert), total 97 complete; day 56 R 20 / A 75 / B 5: total 80, mixed, fell 17
    points (alert), A falls 10 points (alert, >= 10), B falls 7 (no alert). Also a check
    of the two-donor fit at 100,000 reads per SNP, where the unscaled optimiser used to
    stop at its starting point (R 10 / A 45 / B 45 instead of 2 / 58 / 40)."""
    rng = np.random.default_rng(4)
    g = rng.integers(0, 3, (400, 3))
    g = g[g.max(axis=1) != g.min(axis=1)]
    rows = []
    for day, f in ((14, (0.02, 0.58, 0.40)), (28, (0.03, 0.85, 0.12)),
                   (56, (0.20, 0.75, 0.05))):
        af = g @ np.array(f) / 2
        for i, (gi, a) in enumerate(zip(g, af, strict=True)):
            for src, gt in zip(("recipient", "A", "B"), gi, strict=True):
                rows.append(("P1", f"d{day}", day, "CD56", f"rs{i}", src, gt,
                             round(100_000 * a), 100_000))
    snps = pd.DataFrame(rows, columns=["patient", "sample", "day", "lineage", "snp",
                                       "source", "genotype", "alt", "depth"])
    res = {r.name: r for r in chimerism_results(snps=snps, snp_error=0.0)}
    fit = res["immunogenetics.chimerism_snp"].table
    assert fit.loc["P1 | d14 | CD56 | B", "pct"] == pytest.approx(40, abs=0.05)
    al = res["immunogenetics.chimerism_snp_alerts"].table
    assert al.loc["P1 | d14 | CD56 | B", "status"] == "partial"
    got = {(r.day, r.source): (round(r.donor_pct), r.status, r.alert != "")
           for r in al.itertuples()}
    assert got[(14, "all donors")] == (98, "complete donor", False)
    assert got[(28, "all donors")] == (97, "complete donor", False)
    assert got[(56, "all donors")] == (80, "mixed", True)
    assert got[(28, "B")][2] and not got[(28, "A")][2]
    assert got[(56, "A")][2] and not got[(56, "B")][2]
    assert al.loc["P1 | d56 | CD56 | all donors", "alert"] == (
        "donor fell 17.0 points (97.0% -> 80.0%)")
    assert len(res["immunogenetics.chimerism_snp_alerts"].warnings) == 3
