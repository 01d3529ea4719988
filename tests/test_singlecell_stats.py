"""Single-cell statistics checked by hand, by brute force and against R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("scanpy")

import anndata as ad
import scipy.sparse as sp

from remission.singlecell import pp, stats, tl
from tests.rlive import run_r


def test_mad_outlier_uses_r_scaled_mad():
    # R: mad(c(1,2,3,4,100)) = 1.4826 (median 3, raw MAD 1); 3 MADs -> 3 + 4.4478
    x = np.array([1.0, 2, 3, 4, 7.4, 7.5, 100])
    med = 4.0                                   # median of x
    raw = np.median(np.abs(x - med))            # 3.0
    assert pp.mad_outlier(x, 3, side="higher").tolist() == list(x > med + 3 * 1.4826 * raw)
    # y: median 3.5, raw MAD 1.5 -> limits 8.0 (scale 1, scipy's default) vs 10.17 (R mad)
    y = np.array([1.0, 2, 3, 4, 5, 9.5])
    assert pp.mad_outlier(y, 3, scale=1.0, side="higher").tolist() == [False] * 5 + [True]
    assert not pp.mad_outlier(y, 3, side="higher").any()


def test_snn_graph_matches_brute_force_jaccard():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    k = 20  # Seurat's k: 1 or 2 shared neighbours (1/39, 2/38) fall below 1/15 and are pruned
    g = tl.snn_graph(X, k=k, prune=1 / 15).toarray()
    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    nn = [set(np.argsort(d[i], kind="stable")[:k]) for i in range(80)]
    n_pruned = 0
    for i in range(80):
        for j in range(80):
            s = len(nn[i] & nn[j])
            w = s / (2 * k - s)
            assert g[i, j] == pytest.approx(w if w >= 1 / 15 else 0.0, abs=1e-12)
            n_pruned += s > 0 and w < 1 / 15
    assert n_pruned > 0  # the pruning rule is exercised


def test_louvain_finds_planted_cliques_and_orders_by_size():
    blocks = [np.ones((n, n)) for n in (4, 9, 6)]
    g = sp.block_diag(blocks).tocsr()
    lab, q = tl.louvain(g, 1.0)
    assert lab.tolist() == [2] * 4 + [0] * 9 + [1] * 6
    assert q > 0.5


def test_louvain_starts_in_worker_processes_give_the_serial_result():
    # each start is seeded on its own (seed + i) and the best is taken in start order, so
    # running the 10 starts in 2 forked processes must give the serial labels and
    # modularity; a random graph with many near-equal partitions makes the starts differ
    rng = np.random.default_rng(3)
    n = 300
    r, c = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    w = rng.random(3000)
    g = sp.coo_matrix((w, (r, c)), shape=(n, n)).tocsr()
    g = (g + g.T).tocsr()
    G = _igraph(g)
    runs = [tl._one_louvain(G, 0.8, i)[1] for i in range(12)]
    assert len(set(np.round(runs, 12))) > 1       # the starts do differ
    serial = tl.louvain(g, 0.8, n_start=10, seed=0, n_jobs=1)
    forked = tl.louvain(g, 0.8, n_start=10, seed=0, n_jobs=2)
    assert np.array_equal(serial[0], forked[0]) and serial[1] == forked[1]
    assert forked[1] == max(runs[:10])             # start i uses seed + i, best in order
    for seed in (0, 2):  # two starts: the better of seed, seed + 1 (seed + 2 would differ)
        forked = tl.louvain(g, 0.8, n_start=2, seed=seed, n_jobs=2)
        assert forked[1] == max(runs[seed:seed + 2]) != max(runs[seed + 1:seed + 3])


def _igraph(g):
    import igraph as ig

    t = sp.triu(g, k=1).tocoo()
    G = ig.Graph(n=g.shape[0], edges=list(zip(t.row.tolist(), t.col.tolist(), strict=True)))
    G.es["weight"] = t.data.tolist()
    return G


def test_find_markers_by_hand():
    # two genes, 4 + 4 cells; values are log1p-normalised
    x = np.log1p(np.array([[3, 0], [2, 0], [4, 1], [0, 0], [0, 2], [1, 0], [0, 3], [0, 0.]]))
    a = ad.AnnData(sp.csr_matrix(x), var=pd.DataFrame(index=["G1", "G2"]))
    m1 = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    de = stats.find_markers(a, m1, ~m1, logfc_threshold=0.0, min_pct=0.0)
    fc = np.log2(np.array([3, 2, 4, 0]).mean() + 1) - np.log2(np.array([0, 1, 0, 0]).mean() + 1)
    assert de.loc["G1", "avg_log2FC"] == pytest.approx(fc)
    assert de.loc["G1", "pct.1"] == 0.75 and de.loc["G1", "pct.2"] == 0.25
    assert de.loc["G1", "p_val_adj"] == pytest.approx(min(1, 2 * de.loc["G1", "p_val"]))


@pytest.mark.r
def test_find_markers_p_values_match_r_wilcox():
    rng = np.random.default_rng(4)
    counts = rng.poisson(rng.gamma(0.6, 2.0, size=(1, 30)), size=(80, 30))
    a = ad.AnnData(sp.csr_matrix(counts.astype(float)),
                   var=pd.DataFrame(index=[f"g{i}" for i in range(30)]))
    pp.normalize(a)
    m1 = np.arange(80) < 35
    de = stats.find_markers(a, m1, ~m1, logfc_threshold=0.0, min_pct=0.0)
    X = pd.DataFrame(a.X.toarray(), columns=[f"g{i}" for i in range(30)])
    X["grp"] = np.where(m1, 1, 2)
    genes = [g for g in de.index if de.loc[g, "p_val"] == de.loc[g, "p_val"]]
    r = run_r("""
      gs <- setdiff(names(d), "grp")
      p <- sapply(gs, function(g) suppressWarnings(
             wilcox.test(d[d$grp == 1, g], d[d$grp == 2, g])$p.value))
      out <- list(g = gs, p = unname(p))
    """, d=X)
    rp = pd.Series(r["p"], index=r["g"])
    np.testing.assert_allclose(de.loc[genes, "p_val"], rp[genes], rtol=1e-9)


@pytest.mark.r
def test_ratio_ci_and_expansion_fisher_match_r():
    r = run_r("""
      b <- binom.test(37, 37 + 12)$conf.int
      f <- fisher.test(matrix(c(40, 60, 10, 90), 2))
      out <- list(lo = b[1] / (1 - b[1]), hi = b[2] / (1 - b[2]), p = f$p.value)
    """)
    ratio, lo, hi = stats.ratio_ci(37, 12)
    assert ratio == pytest.approx(37 / 12)
    assert lo == pytest.approx(r["lo"], rel=1e-9) and hi == pytest.approx(r["hi"], rel=1e-9)
    # 'x' at later time 40/100, at first time 10/100 -> R's table [[40, 60], [10, 90]]
    obs = pd.DataFrame({"t": ["b"] * 100 + ["a"] * 100,
                        "c": ["x"] * 40 + ["y"] * 60 + ["x"] * 10 + ["y"] * 90})
    tab = stats.expansion(obs, "t", "a", "b", "c")
    assert tab.loc["x", "p_value"] == pytest.approx(r["p"], rel=1e-9)
    assert tab.loc["x", "direction"] == "up" and tab.loc["y", "direction"] == "down"
    assert tab.loc["x", "odds_ratio"] == pytest.approx(40 * 90 / (60 * 10))


def test_ratio_ci_edges():
    assert np.isnan(stats.ratio_ci(0, 0)[0])
    r, lo, hi = stats.ratio_ci(5, 0)
    assert r == np.inf and hi == np.inf and lo > 0
    r, lo, hi = stats.ratio_ci(0, 5)
    assert r == 0 and lo == 0 and hi > 0


def test_sex_origin_calls():
    genes = ["XIST", "RPS4Y1", "DDX3Y", "CD3E"]
    counts = np.array([[3, 0, 0, 1],     # female
                       [0, 2, 1, 1],     # male
                       [2, 1, 0, 0],     # both -> undetermined
                       [0, 0, 0, 5]])    # neither -> undetermined
    a = ad.AnnData(sp.csr_matrix(counts.astype(float)), var=pd.DataFrame(index=genes))
    a.layers["counts"] = a.X.copy()
    o = tl.sex_origin(a, donor_sex="male")
    assert o.tolist() == ["recipient", "donor", "undetermined", "undetermined"]
    o = tl.sex_origin(a, donor_sex="female")
    assert o.tolist()[:2] == ["donor", "recipient"]


def test_lineage_and_composition():
    lab = pd.Series(["CD4 naive", "Treg", "CD8 effector", "T proliferating",
                     "T proliferating", "T proliferating"])
    got = stats.lineage(lab, np.array([0, 0, 0, 3, 0, 2]), np.array([0, 0, 0, 0, 4, 1]))
    assert got.tolist() == ["CD4", "CD4", "CD8", "CD4", "CD8", "undetermined"]
    comp = stats.composition(pd.DataFrame({"s": list("aab"), "t": list("xyx")}), "s", "t")
    assert comp.set_index(["s", "t"])["share"].to_dict() == {
        ("a", "x"): 0.5, ("a", "y"): 0.5, ("b", "x"): 1.0, ("b", "y"): 0.0}
