"""The out-of-core route (an .h5ad read a block of cells at a time) equals the in-memory one.

Oracle: ``remission.singlecell.analysis.profile`` on the same file read whole with
anndata; its QC metrics come from ``sc.pp.calculate_qc_metrics`` on the whole matrix and
its HVGs from ``sc.pp.highly_variable_genes(flavor="seurat_v3")`` (scanpy 1.11.5), neither
of which the out-of-core route calls on more than one block. Blocks of 37 cells: block
boundaries fall inside samples and QC-removed cells, and the last block is partial.
Seen red: a block's last row dropped from the clipped sums (HVG set and variances_norm),
each block's totals shifted by one row (LogNormalize values), the clipped sums restarted
at each block (variances_norm; caught only by test_clipped_sums_continue_across_blocks,
whose data put many clipped, non-integer entries in several blocks).
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from remission.errors import InputError
from remission.singlecell import outofcore
from remission.singlecell.analysis import Params, profile
from remission.singlecell.pp import QCParams
from remission.singlecell.simulate import cart_design, simulate
from remission.singlecell.tl import gene_means

CONSTRUCT = ("CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE")
PARAMS = Params(construct_features=CONSTRUCT, n_top_genes=150, n_comps=15, n_dims=15,
                time_order=("product", "day 9"), donor_sex="male", go_genesets=False,
                qc=QCParams(doublets=True, remove_doublets=True))
CHUNK = 37


@pytest.fixture(scope="module")
def h5ad(tmp_path_factory) -> Path:
    # SYNTHETIC: seed 002's design, 2 x 180 cells x 900 genes (HVGs 150 of 900)
    a = simulate(cart_design(n_cells=180, n_genes=900), seed=5)
    # 12 planted heterotypic doublets per sample (a cell's counts plus another type's)
    rng = np.random.default_rng(7)
    D = a.X.toarray()
    for s in ("product", "peak"):
        idx = np.flatnonzero((a.obs["sample"] == s).to_numpy())
        pop = a.obs["truth_population"].to_numpy()
        for i in rng.choice(idx, 12, replace=False):
            D[i] += D[rng.choice(idx[pop[idx] != pop[i]])]
    a.X = sp.csr_matrix(D)
    path = tmp_path_factory.mktemp("ooc") / "counts.h5ad"
    a.write_h5ad(path)
    return path


@pytest.fixture(scope="module")
def routes(h5ad) -> tuple:
    path = h5ad
    mem = profile(ad.read_h5ad(path), PARAMS, copy=False)
    ooc = outofcore.profile_h5ad(path, PARAMS, chunk_cells=CHUNK)
    # one block
    one = outofcore.preprocess_h5ad(path, PARAMS, chunk_cells=10_000)
    return mem, ooc, one


def test_qc_exact(routes):
    mem, ooc, _ = routes
    A, B = mem.adata, ooc.adata
    assert list(A.obs_names) == list(B.obs_names)  # same cells kept, same order
    assert mem.results[0].table.equals(ooc.results[0].table)  # removals per sample, reason
    assert A.uns["qc_removed"].equals(B.uns["qc_removed"])
    assert A.uns["qc_removed"].shape[0] > 0
    for c in ("n_genes_by_counts", "total_counts", "total_counts_mt", "pct_counts_mt",
              "car_umis", "car_detected"):
        assert np.array_equal(A.obs[c].to_numpy(), B.obs[c].to_numpy()), c
    g = B.var_names
    for c in ("n_cells_by_counts", "total_counts", "mean_counts", "pct_dropout_by_counts"):
        assert np.array_equal(A.var.loc[g, c].to_numpy(), B.var[c].to_numpy()), c


def test_hvg_and_lognormalize_equal(routes):
    mem, ooc, _ = routes
    A, B = mem.adata, ooc.adata
    assert list(A.var_names[A.var["highly_variable"]]) == B.uns["hvg"]["genes"]
    assert len(B.uns["hvg"]["genes"]) == 150
    # only the genes later steps read are kept after PCA (few HVGs among them)
    assert int(B.var["highly_variable"].sum()) < 150
    g = B.var_names
    for c in ("means", "variances", "variances_norm", "highly_variable_rank"):
        assert np.array_equal(A.var.loc[g, c].to_numpy(), B.var[c].to_numpy(),
                              equal_nan=True), c
    # every gene's statistics, not only the materialised ones (here from one block)
    full = routes[2].genes
    assert list(full.index) == list(A.var_names) and A.n_vars > B.n_vars
    for c in ("n_cells_by_counts", "mean_counts", "means", "variances_norm",
              "highly_variable"):
        assert np.array_equal(A.var[c].to_numpy(), full[c].to_numpy()), c
    # LogNormalize values and raw counts of the materialised genes: same bits
    assert (A[:, g].X != B.X).nnz == 0 and np.array_equal(A[:, g].X.data, B.X.data)
    assert (A[:, g].layers["counts"] != B.layers["counts"]).nnz == 0


def test_doublets_per_sample_equal(routes):
    """Scrublet out of core (one sample's kept cells at a time) = in memory (batch_key).

    Seen red: the sample's cells read from the blocks in reverse order (scores differ).
    """
    mem, ooc, _ = routes
    A, B = mem.adata, ooc.adata
    assert [r.name for r in ooc.results][:2] == ["singlecell.qc", "singlecell.doublets"]
    m, o = mem.results[1].table, ooc.results[1].table
    assert o.equals(m) and o["predicted_doublets"].sum() > 0
    assert (o["removed"] == o["predicted_doublets"]).all()
    assert "doublet_score" in B.obs and (~B.obs["predicted_doublet"].astype(bool)).all()
    assert np.array_equal(A.obs["doublet_score"].to_numpy(),
                          B.obs["doublet_score"].to_numpy())


def test_pca_clusters_results_equal(routes):
    mem, ooc, _ = routes
    A, B = mem.adata, ooc.adata
    np.testing.assert_allclose(B.obsm["X_pca"], A.obsm["X_pca"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(B.obsm["X_pca_harmony"], A.obsm["X_pca_harmony"], rtol=0,
                               atol=1e-10)
    assert adjusted_rand_score(A.obs["cluster"], B.obs["cluster"]) == 1.0
    # marker and module scores: control genes drawn from every gene's mean, as in memory
    assert np.array_equal(A.obs["cell_type"], B.obs["cell_type"])
    for c in [c for c in A.obs if c.startswith("score_")]:
        np.testing.assert_allclose(B.obs[c], A.obs[c], rtol=0, atol=1e-12, err_msg=c)
    assert [r.name for r in ooc.results] == [r.name for r in mem.results]
    for r in ooc.results:
        m = next(x for x in mem.results if x.name == r.name)
        if r.name in ("singlecell.car", "immunogenetics.origin_by_cluster",
                      "singlecell.expansion.all", "singlecell.composition",
                      "singlecell.cd4_cd8"):
            # same rows and values; the order may differ: in memory, scanpy's batched
            # scrublet rebuilds obs by concatenating the samples' obs, so categorical
            # columns become strings (groups then in order of appearance)
            t, ref = _plain(r.table), _plain(m.table)
            assert t.index.sort_values().equals(ref.index.sort_values()), r.name
            assert t.equals(ref.loc[t.index]), r.name
    # DE on the compared cells x every gene, read in one more pass: FindMarkers columns
    # (Bonferroni over all genes) as in memory
    assert ooc.de.shape == mem.de.shape and len(mem.de) > 0
    np.testing.assert_allclose(ooc.de.to_numpy(float), mem.de.loc[ooc.de.index].to_numpy(
        float), rtol=1e-12, atol=0)
    assert list(ooc.de.index) == list(mem.de.index)
    clusters = next(r for r in ooc.results if r.name == "singlecell.clusters")
    assert any("one more pass" in w for w in clusters.warnings)


def test_block_size_does_not_matter(routes):
    mem, ooc, one = routes
    assert one.passes == {"qc": 1, "hvg": 2, "materialise": 2}
    assert one.doublets.equals(ooc.results[1].table)
    assert ooc.adata.uns["outofcore"]["chunk_cells"] == CHUNK
    # the mean LogNormalize value of every gene (the control-gene pool): same bits as
    # tl.gene_means on the whole log-normalised matrix
    assert np.array_equal(one.genes["lognorm_means"].to_numpy(), gene_means(mem.adata))
    assert np.array_equal(one.adata.obsm["X_pca"], ooc.adata.obsm["X_pca"])


def _write(path: Path, a: ad.AnnData) -> Path:
    a.write_h5ad(path)
    return path


def test_bad_input_all_problems(tmp_path):
    a = simulate(cart_design(n_cells=60, n_genes=300), seed=1)
    p = Params(construct_features=CONSTRUCT)
    dense = a.copy()
    dense.X = dense.X.toarray()
    with pytest.raises(InputError) as e:
        outofcore.profile_h5ad(_write(tmp_path / "dense.h5ad", dense), p)
    assert "CSR" in str(e.value) and "dense.h5ad" in str(e.value)
    b = a.copy()
    b.obs = b.obs.drop(columns="sample")
    b.obs_names = [a.obs_names[0], *a.obs_names[1:-1], a.obs_names[0]]
    with pytest.raises(InputError) as e:
        outofcore.profile_h5ad(_write(tmp_path / "b.h5ad", b),
                               Params(construct_features=("CAR-nope",)))
    msg = str(e.value)
    assert "CAR-nope" in msg and "sample" in msg and "duplicate barcodes" in msg
    c = a.copy()
    X = c.X.tolil()
    X[100, 5] = -3  # in the third block of 40
    c.X = sp.csr_matrix(X, dtype=np.float64)
    c.X[7, c.X[7].indices[0]] = 1.5
    with pytest.raises(InputError) as e:
        outofcore.profile_h5ad(_write(tmp_path / "c.h5ad", c), p, chunk_cells=40)
    msg = str(e.value)
    assert "negative counts" in msg and str(c.obs_names[100]) in msg
    assert "non-integer counts" in msg and str(c.obs_names[7]) in msg
    with pytest.raises(InputError, match="file not found"):
        outofcore.profile_h5ad(tmp_path / "none.h5ad", p)


def test_memory_cap_watchdog():
    """The benchmark's cap: a child above it fails (killed, judged by the kernel's peak)."""
    import subprocess
    import sys

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_singlecell_outofcore.py"
    r = subprocess.run([sys.executable, str(bench), "--check-watchdog"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "watchdog OK" in r.stdout


def test_scores_refuse_a_pool_gene_not_in_memory(routes):
    from remission.singlecell.tl import set_scores

    _, ooc, one = routes
    B = ooc.adata
    genes = ["NKG7", "GNLY", "GZMB", "PRF1"]
    pool = one.genes["lognorm_means"]
    s = set_scores(B, genes, pool_means=pool)  # every control gene is in memory
    assert np.isfinite(s).all()
    few = B[:, [g for g in B.var_names if g in genes or g.startswith("MT-")]].copy()
    with pytest.raises(ValueError, match="control genes drawn from the pool"):
        set_scores(few, genes, pool_means=pool)


def test_clipped_sums_continue_across_blocks(tmp_path):
    """Seurat vst's clipped sums run on over blocks in scanpy's order: same bits.

    The clipped values are the only non-integers summed in the HVG passes, so only data
    with many entries above the clip (``sqrt(n) x`` the trend's SD above the mean) in
    several blocks can tell one sequence of additions from per-block sums added
    afterwards. Here 12 "spiky" genes (30 cells of 400 with 600-5,000 UMIs) sit on a
    tight NB trend (size 50) of 1,000 genes: 66 entries of 10 genes, in 11 blocks, are
    clipped. Seen red: the clipped sums restarted at each block of 37 and added
    (variances_norm of 1 gene differs in the last bits).
    """
    import pandas as pd
    import scanpy as sc
    from skmisc.loess import loess

    rng = np.random.default_rng(3)
    n, g = 400, 1000
    mu = rng.lognormal(1, 1.5, g)
    X = rng.negative_binomial(50, 50 / (50 + mu), size=(n, g)).astype(np.float32)
    for j in range(12):
        X[rng.choice(n, 30, replace=False), j] = rng.integers(600, 5000, 30)
    a = ad.AnnData(sp.csr_matrix(X), obs=pd.DataFrame({"sample": "s"},
                                                      index=[f"c{i}" for i in range(n)]),
                   var=pd.DataFrame(index=[f"G{j}" for j in range(g)]))
    path = _write(tmp_path / "spiky.h5ad", a)
    ref = sc.pp.highly_variable_genes(a, flavor="seurat_v3", n_top_genes=50, inplace=False)
    # the data do what the test needs: clipped entries in several blocks of 37 rows
    mean, var = X.mean(0, dtype=np.float64), X.var(0, ddof=1, dtype=np.float64)
    fit = loess(np.log10(mean), np.log10(var), span=0.3, degree=2)
    fit.fit()
    clip = np.sqrt(10 ** fit.outputs.fitted_values) * np.sqrt(n) + mean
    rows = np.nonzero(clip < X)[0]
    assert len(rows) >= 60 and len(np.unique(rows // CHUNK)) >= 10
    src = outofcore.BlockSource(path, ())
    try:
        tot = np.asarray(a.X.sum(axis=1), np.float64).ravel()
        ooc, _ = outofcore._hvg_passes(src, np.ones(n, bool), 50, CHUNK, tot, 1e4)
    finally:
        src.close()
    for c in ("means", "variances", "variances_norm", "highly_variable"):
        assert np.array_equal(ref[c].to_numpy(), ooc[c].to_numpy()), c


# --- the route chosen in a study folder's [singlecell] table --------------------------

STUDY_TOML = """[singlecell]
construct_features = ["CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"]
n_top_genes = 150
n_pcs = 15
n_dims = 15
time_order = ["product", "day 9"]
donor_sex = "male"
go_genesets = false

[singlecell.qc]
doublets = true
remove_doublets = true
"""


def _study(folder: Path, route: str, rows: str) -> Path:
    (folder / "singlecell").mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(STUDY_TOML.replace("\n[singlecell.qc]",
                                                          route + "\n[singlecell.qc]"))
    (folder / "singlecell" / "samples.csv").write_text(
        "sample,path,time_point,source\n" + rows)
    return folder


def _plain(t: pd.DataFrame) -> pd.DataFrame:
    idx = pd.MultiIndex.from_tuples([tuple(map(str, i)) for i in t.index], names=t.index.names) \
        if isinstance(t.index, pd.MultiIndex) else pd.Index(t.index.astype(str), name=t.index.name)
    return t.set_axis(idx)


def test_study_folder_out_of_core_same_results(routes, h5ad, tmp_path):
    """``out_of_core = true`` in study.toml: run_folder takes the route; same Results.

    Oracle: the in-memory route on the same counts (``routes``' ``mem``); the study's
    one .h5ad holds both samples, declared in its row order, read 37 cells at a time.
    """
    import shutil

    from remission.singlecell import run_folder

    d = _study(tmp_path / "s", "out_of_core = true\nchunk_cells = 37\n",
               "product,singlecell/counts.h5ad,product,product\n"
               "peak,singlecell/counts.h5ad,day 9,blood\n")
    shutil.copy(h5ad, d / "singlecell" / "counts.h5ad")
    mem = routes[0]
    st = run_folder(d)
    assert [n.split(":", 1)[1] for n in st.adata.obs_names] == list(mem.adata.obs_names)
    assert [r.name for r in st.results] == [r.name for r in mem.results]
    for r in st.results:
        m = next(x for x in mem.results if x.name == r.name)
        extra = set(r.warnings) - set(m.warnings)
        assert all(w.startswith(("route: out of core", "out-of-core route:"))
                   for w in extra), (r.name, extra)
        if r.name == "singlecell.de":  # FindMarkers on every gene, one more pass
            np.testing.assert_allclose(r.table.to_numpy(float), m.table.to_numpy(float),
                                       rtol=1e-12, atol=0)
            assert list(r.table.index) == list(m.table.index)
            continue
        # same rows; their order and index dtype may differ (see above)
        t, ref = _plain(r.table), _plain(m.table)
        assert t.index.sort_values().equals(ref.index.sort_values()), r.name
        if r.name == "singlecell.modules":
            pd.testing.assert_frame_equal(t, ref.loc[t.index], rtol=0, atol=1e-12)
        else:
            assert t.equals(ref.loc[t.index]), r.name
    assert "route: out of core (out_of_core = true)" in st.results[0].warnings
    assert st.results[0].table["removed"].sum() > 0
    assert np.array_equal(st.adata.obsm["X_pca"], routes[1].adata.obsm["X_pca"])
