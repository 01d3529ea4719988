"""tl.umap_connectivities equals scanpy's UMAP-kernel graph (umap-learn's fuzzy simplicial
set on the exact 15-NN), so scanpy mode need not import umap-learn (~20-40 s of Numba
compilation per process).

Oracles: the graph scanpy 1.11.5 / umap-learn 0.5.12 computed on a fixed embedding
(``tests/data/singlecell_umap_graph_ref.npz``, written by
``scripts/make_umap_graph_ref.py``), and a hand calculation from the definition in McInnes,
Healy & Melville 2018 (arXiv:1802.03426, section 3.1): ``rho_i`` = distance to the nearest
neighbour, ``sigma_i`` such that ``sum_j exp(-(d_ij - rho_i) / sigma_i) = log2(k)``,
fuzzy union ``a + b - ab``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from remission.singlecell.tl import umap_connectivities

REF = Path(__file__).parent / "data" / "singlecell_umap_graph_ref.npz"


def _ref():
    z = np.load(REF)
    g = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    return z["X"], g


def test_equals_umap_learn_graph_on_a_fixed_embedding() -> None:
    X, ref = _ref()
    g = umap_connectivities(X, 15)
    assert g.dtype == np.float32 and g.shape == ref.shape
    assert ((g != 0) != (ref != 0)).nnz == 0            # same edges
    assert abs(g - ref).max() < 1e-5                    # float32 rounding only
    assert abs(g - g.T).max() == 0


def test_cosine_umap_graph_equals_scanpys_pynndescent_graph() -> None:
    # tl.umap's graph (RunUMAP's 30 cosine neighbours) is now searched exactly; on this
    # embedding pynndescent found the exact neighbours for every cell (the script checks),
    # so scanpy's graph is the oracle for the cosine distances and the kernel
    import anndata as ad

    from remission.singlecell.tl import _umap_graph

    z = np.load(REF)
    ref = sp.csr_matrix((z["cos_data"], z["cos_indices"], z["cos_indptr"]),
                        shape=tuple(z["shape"]))
    a = ad.AnnData(np.zeros((z["X"].shape[0], 1), np.float32))
    a.obsm["E"] = z["X"]
    _umap_graph(a, "E", 30)
    g = a.obsp["umap_nn_connectivities"]
    assert a.uns["umap_nn"]["params"]["metric"] == "cosine"
    assert ((g != 0) != (ref != 0)).nnz == 0
    assert abs(g - ref).max() < 1e-5
    d = a.obsp["umap_nn_distances"]
    assert d.nnz == a.n_obs * 29 and d.diagonal().max() == 0


def test_leiden_partition_same_as_on_umap_learn_graph() -> None:
    import anndata as ad
    import scanpy as sc
    from sklearn.metrics import adjusted_rand_score

    X, ref = _ref()
    labs = []
    for graph in (umap_connectivities(X, 15), ref):
        a = ad.AnnData(np.zeros((X.shape[0], 1), np.float32))
        sc.tl.leiden(a, adjacency=graph, flavor="igraph", n_iterations=2, directed=False,
                     random_state=0)
        labs.append(a.obs["leiden"].to_numpy())
    assert adjusted_rand_score(*labs) == 1.0


def test_hand_calculation_on_four_points() -> None:
    # 1-D points 0, 1, 3, 7 and k = 3 (self + 2): cell 0 has neighbours at 1 (= rho) and 3,
    # so exp(-(3 - 1) / sigma) = log2(3) - 1 =: p; cell 2 (x = 3) has neighbours at 2 (rho)
    # and 3 (cell 0), so its weight to cell 0 is also p. Union: 2p - p^2.
    g = umap_connectivities(np.array([[0.0], [1.0], [3.0], [7.0]]), n_neighbors=3).toarray()
    p = np.log2(3) - 1
    assert g[0, 1] == 1.0 and g[0, 0] == 0.0
    assert g[0, 2] == pytest.approx(2 * p - p * p, abs=1e-5)
    # cell 3 (x = 7): neighbours 3 (rho = 4) and 1 (d = 6) -> weight p to cell 1; cell 1
    # does not have cell 3 among its neighbours, so the union is p alone
    assert g[1, 3] == pytest.approx(p, abs=1e-5) and g[3, 1] == g[1, 3]
