"""The neighbour searches of the SNN and UMAP graphs (``tl.knn``): exact below
``tl.APPROX_MIN_CELLS`` cells, pynndescent from there (as Seurat's Annoy search).

pynndescent itself is not run here (its Numba code compiles for ~20-30 s in each new
process); a stand-in records what ``knn`` asks it for and answers with brute-force
neighbours, so the dispatch, the parameters and the cosine conversion are checked.
``benchmarks/singlecell_knn_ab.py`` runs the real search against the exact one.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

pytest.importorskip("scanpy")

from remission.singlecell import tl


def _brute(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    d = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, idx, 1), idx


@pytest.fixture
def fake_pynndescent(monkeypatch):
    calls: list[dict] = []

    class NNDescent:
        def __init__(self, data, **kw):
            calls.append({"data": np.array(data), **kw})
            d, i = _brute(np.asarray(data, np.float64), kw["n_neighbors"])
            self.neighbor_graph = (i.astype(np.int32), d.astype(np.float32))

    monkeypatch.setitem(sys.modules, "pynndescent", types.SimpleNamespace(NNDescent=NNDescent))
    return calls


def test_snn_from_a_larger_shared_search_equals_the_separate_exact_search():
    # the first k columns of an exact 30-NN search are the exact 20-NN search (no ties in
    # continuous data), so the SNN built from them is the same graph, bit for bit
    X = np.random.default_rng(5).normal(size=(300, 8))
    separate = tl.snn_graph(X, k=20, method="exact")
    _, idx30 = tl.knn(X, 30, method="exact")
    shared = tl.snn_graph(idx=idx30, k=20)
    assert separate.nnz > 0 and (separate != shared).nnz == 0
    assert (tl.snn_graph(idx=idx30, k=30) != separate).nnz > 0  # k is honoured


def test_exact_search_is_brute_force_and_cosine_is_half_the_unit_row_distance():
    X = np.random.default_rng(6).normal(size=(120, 5))
    d, i = tl.knn(X, 7, method="exact")
    bd, bi = _brute(X, 7)
    assert np.array_equal(i, bi) and np.allclose(d, bd)
    dc, ic = tl.knn(X, 7, metric="cosine", method="exact")
    cos = 1 - (X @ X.T) / np.outer(np.linalg.norm(X, axis=1), np.linalg.norm(X, axis=1))
    assert np.array_equal(ic, np.argsort(cos, axis=1, kind="stable")[:, :7])
    assert np.allclose(dc, np.take_along_axis(cos, ic, 1), atol=1e-12)


def test_auto_search_switches_to_pynndescent_at_the_threshold(monkeypatch, fake_pynndescent):
    X = np.random.default_rng(7).normal(size=(200, 6))
    monkeypatch.setattr(tl, "APPROX_MIN_CELLS", 201)
    tl.knn(X, 10)                           # 200 < 201 cells: exact, pynndescent untouched
    assert fake_pynndescent == []
    monkeypatch.setattr(tl, "APPROX_MIN_CELLS", 200)
    _, i = tl.knn(X, 10)                    # 200 cells: approximate
    (call,) = fake_pynndescent
    # umap-learn / scanpy's parameters: n_trees = min(64, 5 + round(sqrt(200) / 20)) = 6,
    # n_iters = max(5, round(log2(200))) = 8
    assert (call["n_neighbors"], call["n_trees"], call["n_iters"]) == (10, 6, 8)
    assert call["metric"] == "euclidean" and call["max_candidates"] == 60
    assert call["random_state"] == 0 and np.array_equal(call["data"], X)
    assert i.dtype == np.int64 and np.array_equal(i, tl.knn(X, 10, method="exact")[1])
    # cosine runs the same Euclidean search on unit rows and returns 1 - cos
    dc, ic = tl.knn(X, 10, metric="cosine", seed=3)
    call = fake_pynndescent[-1]
    assert call["metric"] == "euclidean" and call["random_state"] == 3
    assert np.allclose(np.linalg.norm(call["data"], axis=1), 1.0)
    de, ie = tl.knn(X, 10, metric="cosine", method="exact")
    assert np.array_equal(ic, ie) and np.allclose(dc, de, atol=1e-6)
    assert tl._search_name("auto", 200) == "approximate (pynndescent)"
    assert tl._search_name("auto", 199) == "exact"


def test_pipeline_graphs_use_the_search_asked_for(monkeypatch, fake_pynndescent):
    from remission.singlecell.simulate import tiny

    a = tiny("embedded")
    monkeypatch.setattr(tl, "APPROX_MIN_CELLS", a.n_obs)     # the fixture is "large"
    info = tl.cluster(a, n_dims=15)
    assert info["neighbours"] == "approximate (pynndescent)"
    assert len(fake_pynndescent) == 1 and fake_pynndescent[0]["n_neighbors"] == 20
    b = a.copy()
    exact = tl.cluster(b, n_dims=15, neighbors="exact", key_added="exact")
    assert exact["neighbours"] == "exact" and len(fake_pynndescent) == 1
    assert (a.obsp["cluster_snn"] != b.obsp["exact_snn"]).nnz == 0  # stand-in is exact
    assert a.obs["cluster"].tolist() == b.obs["exact"].tolist()
    tl._umap_graph(a, "X_pca_harmony", 30, 15, method="auto")
    assert fake_pynndescent[-1]["n_neighbors"] == 30 and len(fake_pynndescent) == 2
    assert a.uns["umap_nn"]["params"]["knn"] == "approximate (pynndescent)"


def test_unknown_search_or_metric_is_refused():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="neighbour search 'annoy'"):
        tl.knn(X, 2, method="annoy")
    with pytest.raises(ValueError, match="metric 'manhattan'"):
        tl.knn(X, 2, metric="manhattan")
