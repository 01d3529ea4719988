"""Scale + PCA of the HVGs in one dense matrix: same bits as scanpy, a third of the memory.

Oracle: what ``pp.pca`` did before (and what a scanpy user writes): copy the HVG AnnData,
densify, ``sc.pp.scale(max_value=10)``, ``sc.tl.pca(svd_solver="arpack")``. The lean path
must give identical embeddings and variance ratios, and allocate at most ~1 dense HVG
matrix (the scanpy route allocates ~3: its scaling squares the matrix, its PCA
materialises the HVG view and sklearn centres a copy). Memory is counted with
tracemalloc (numpy reports its buffers to it): allocation sizes, not timing.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

pytest.importorskip("scanpy")

import scanpy as sc

from remission.singlecell import pp
from remission.singlecell.simulate import tiny


def _scanpy_route(a, n_comps: int, seed: int = 0):
    b = a[:, a.var["highly_variable"].to_numpy()].copy()
    b.X = b.X.toarray()
    sc.pp.scale(b, max_value=10)
    sc.tl.pca(b, n_comps=n_comps, svd_solver="arpack", random_state=seed)
    return b.obsm["X_pca"], b.uns["pca"]["variance_ratio"]


def _assert_same_pca(got, ratio_got, want, ratio_want) -> None:
    """Covariance route vs scanpy's ARPACK route: same scores (signs included) within
    1e-6 of the largest score, same variance ratios within 1e-9 (relative)."""
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
    scale = float(np.abs(want).max())
    assert np.abs(got.astype(np.float64) - want).max() <= 1e-6 * scale
    np.testing.assert_allclose(ratio_got, ratio_want, rtol=1e-9, atol=0)


@pytest.mark.parametrize("seed", [0, 3])
def test_pca_equals_the_scanpy_route(seed: int) -> None:
    a = tiny("normalised")
    want, ratio = _scanpy_route(a, 20, seed)
    pp.pca(a, 20, seed=seed)
    _assert_same_pca(a.obsm["X_pca"], a.uns["pca"]["variance_ratio"], want, ratio)


def test_pca_covariance_route_by_hand() -> None:
    # an independent oracle: numpy's full SVD of the centred matrix (no ARPACK, no
    # covariance); components' signs by the largest loading, as scikit-learn
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 12)) @ rng.normal(size=(12, 30)) + rng.normal(size=(400, 30))
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    signs = np.sign(Vt[np.arange(6), np.argmax(np.abs(Vt[:6]), axis=1)])
    want = (U[:, :6] * S[:6]) * signs
    got, ratio = pp._pca_covariance(np.asfortranarray(X), 6)
    assert np.allclose(got, want, atol=1e-9)
    assert np.allclose(ratio, S[:6] ** 2 / (S**2).sum(), rtol=1e-12)


def test_blockwise_scaling_equals_sc_pp_scale_across_blocks() -> None:
    # 9,001 rows: five blocks of 2,048 (the last partial); clipped values included
    rng = np.random.default_rng(1)
    X = rng.gamma(0.3, 2.0, (9001, 7)) * (rng.random((9001, 7)) < 0.3)
    X[:, 3] = 0.0                                   # constant column: std set to 1
    X[5, 1] = 500.0                                 # clipped at 10
    want = sc.pp.scale(X.copy(), max_value=10)
    got = np.asfortranarray(X)
    pp._scale_inplace(got, 10.0)
    assert np.array_equal(got, want)
    assert got.max() == 10.0


def _lognormal_like(n: int = 6_500, g: int = 150, hvg: int = 120):
    import anndata as ad
    import scipy.sparse as sp

    rng = np.random.default_rng(2)
    # six groups of cells with their own gene means (a clear spectral gap, so ARPACK
    # converges in a few iterations), ~10% non-zero
    mu = rng.gamma(0.3, 3.0, (6, g)) * (rng.random((6, g)) < 0.1)
    counts = rng.poisson(mu[rng.integers(0, 6, n)])
    a = ad.AnnData(sp.csr_matrix(np.log1p(counts.astype(np.float64))))
    a.var["highly_variable"] = np.arange(g) < hvg
    return a


def test_pca_allocates_about_one_dense_hvg_matrix() -> None:
    # large enough that the fixed costs (ARPACK workspace, the sparse HVG subset, one
    # 2,048-row block of the scaling) are small beside the dense matrix
    a = _lognormal_like()
    dense = a.n_obs * int(a.var["highly_variable"].sum()) * 8
    warm = a[:500].copy()                           # imports are not counted
    pp.pca(warm, 5)
    _scanpy_route(warm, 5)
    tracemalloc.start()
    try:
        pp.pca(a, 5)
        _, lean = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        want, ratio = _scanpy_route(a, 5)
        _, route = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak allocated: lean {lean / dense:.2f}, scanpy route {route / dense:.2f} "
          "dense HVG matrices")
    assert lean < 1.5 * dense, (lean, dense)
    assert route > 2.5 * dense, (route, dense)      # the oracle's copies are real
    _assert_same_pca(a.obsm["X_pca"], a.uns["pca"]["variance_ratio"], want, ratio)


def test_lognormalised_matrix_shares_the_counts_structure() -> None:
    import anndata as ad
    import scipy.sparse as sp

    # unsorted column indices in row 0 (as some writers leave them)
    counts = sp.csr_matrix((np.array([3, 1, 2, 5], np.int32), np.array([2, 0, 1, 1]),
                            np.array([0, 3, 4])), shape=(2, 3))
    dense = counts.toarray()
    a = ad.AnnData(counts)
    pp.normalize(a)
    X, C = a.X, a.layers["counts"]
    assert np.shares_memory(X.indices, C.indices) and np.shares_memory(X.indptr, C.indptr)
    assert np.array_equal(C.toarray(), dense)                  # counts intact
    want = np.log1p(dense / dense.sum(axis=1, keepdims=True) * 1e4)  # Seurat LogNormalize
    assert np.array_equal(X.toarray(), want)
    assert X.has_sorted_indices and C.has_sorted_indices


def test_set_scores_with_cached_gene_means_equal_scanpy_score_genes() -> None:
    # oracle: sc.tl.score_genes itself (set_scores without pool_means calls it)
    from remission.singlecell import tl
    from remission.singlecell.markers import MARKER_SETS, MODULES
    from remission.singlecell.simulate import cart_design, simulate

    # 2,000 genes: 25 bins of ~80 genes, so 50 controls per bin are sampled (at a few
    # hundred genes every bin is taken whole and the seed would not matter)
    d = cart_design(n_cells=120, n_genes=2000)
    a = simulate(d, seed=0)
    pp.extract_car(a, d.construct_features)
    pp.normalize(a)
    pool = tl.gene_means(a)
    from scanpy.tools._score_genes import _nan_means

    assert np.array_equal(pool, _nan_means(a.X, axis=0))
    sets = [m.positive for m in MARKER_SETS] + [m.negative for m in MARKER_SETS
                                                if m.negative]
    sets += [genes for genes, _ in MODULES.values()]
    for seed in (0,):
        for genes in sets:
            want = tl.set_scores(a, genes, seed=seed)
            got = tl.set_scores(a, genes, seed=seed, pool_means=pool)
            assert np.array_equal(got, want, equal_nan=True), (seed, genes)


# ---------------------------------------------------------------- CAR features out (CSR)
CAR = ["CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"]


@pytest.mark.parametrize("block", [1, 7, 1 << 22])
def test_drop_csr_columns_equals_scipy_column_subset(block: int) -> None:
    # oracle: scipy's own X[:, keep]; arrays compared element for element (order, dtypes)
    import scipy.sparse as sp

    rng = np.random.default_rng(5)
    for trial in range(12):
        n, m = int(rng.integers(1, 200)), int(rng.integers(2, 40))
        X = sp.random(n, m, density=float(rng.uniform(0, 0.6)), format="csr",
                      dtype=np.float32, random_state=trial)
        keep = rng.random(m) < 0.7
        want = X[:, keep]
        got = pp._drop_csr_columns(X.copy(), keep, block=block)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert got.indices.dtype == X.indices.dtype
        for f in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(got, f), getattr(want, f)), (trial, f)


def _car_counts(n: int = 20_000, g: int = 200):
    import anndata as ad
    import scipy.sparse as sp

    rng = np.random.default_rng(4)
    dense = np.where(rng.random((n, g), np.float32) < 0.3,
                     rng.integers(1, 6, (n, g)).astype(np.float32), np.float32(0))
    a = ad.AnnData(sp.csr_matrix(dense))
    a.var_names = [f"G{i}" for i in range(g - 3)] + CAR
    a.obs_names = [f"c{i}" for i in range(n)]
    return a, rng


def test_extract_car_same_matrix_and_leaves_a_held_matrix_intact() -> None:
    a, _ = _car_counts(2_000, 60)
    want = a.X[:, :-3].copy()
    held = a.copy()
    mine = held.X  # a reference kept by the caller: must not be consumed
    for b in (a, held):
        pp.extract_car(b, CAR)
        assert list(b.var_names) == [f"G{i}" for i in range(57)]
        for f in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(b.X, f), getattr(want, f))
    assert mine.shape == (2_000, 60) and mine.nnz == want.nnz + (mine[:, -3:] != 0).sum()
    assert a.obs["car_umis"].tolist() == held.obs["car_umis"].tolist()


def test_extract_car_peaks_at_one_and_a_half_matrices_not_three() -> None:
    # anndata's column subset (the route before) builds the new matrix and a mask over
    # every non-zero beside the old one (~3x data + indices at the peak, measured 3.0x);
    # the block-wise route releases the old data array before it builds the new indices
    # (~1.5x plus 256k-non-zero blocks; measured 1.71x). The old matrix is allocated
    # inside the traced span so that its release counts.
    a, _ = _car_counts(40_000)
    size = a.X.data.nbytes + a.X.indices.nbytes
    peaks = []
    for lean in (True, False):
        tracemalloc.start()
        b = a.copy()
        if lean:
            pp.extract_car(b, CAR)
        else:
            b._inplace_subset_var(~b.var_names.isin(CAR))
        peaks.append(tracemalloc.get_traced_memory()[1] / size)
        tracemalloc.stop()
        del b
    assert peaks[0] < 1.85 and peaks[1] > 2.5, peaks


@pytest.mark.parametrize("block", [1, 7, 1 << 18])
def test_drop_csr_rows_equals_scipy_row_subset(block: int) -> None:
    import scipy.sparse as sp

    rng = np.random.default_rng(6)
    for trial in range(12):
        n, m = int(rng.integers(1, 200)), int(rng.integers(1, 40))
        X = sp.random(n, m, density=float(rng.uniform(0, 0.6)), format="csr",
                      dtype=np.float32, random_state=trial)
        keep = rng.random(n) < 0.7
        want = X[keep]
        got = pp._drop_csr_rows(X.copy(), keep, block=block)
        assert got.shape == want.shape and got.dtype == want.dtype
        for f in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(got, f), getattr(want, f)), (trial, f)


def test_qc_row_subset_same_cells_and_peaks_at_one_and_a_half_matrices() -> None:
    # QC removes cells with anndata's row subset before (old and new matrix at once,
    # measured ~3x data + indices); _subset_obs builds the new rows block-wise (~1.5x)
    a, rng = _car_counts(40_000)
    keep = rng.random(a.n_obs) < 0.9
    size = a.X.data.nbytes + a.X.indices.nbytes
    peaks, kept = [], []
    for lean in (True, False):
        tracemalloc.start()
        b = a.copy()
        if lean:
            pp._subset_obs(b, keep)
        else:
            b._inplace_subset_obs(keep)
        peaks.append(tracemalloc.get_traced_memory()[1] / size)
        tracemalloc.stop()
        kept.append(b)
    assert list(kept[0].obs_names) == list(kept[1].obs_names)
    for f in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(kept[0].X, f), getattr(kept[1].X, f))
    assert peaks[0] < 1.85 and peaks[1] > 2.5, peaks
