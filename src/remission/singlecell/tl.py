"""Tools: graphs, clustering, UMAP, annotation, origin, composition, DE, module scores.

Two graph modes:

- ``"seurat"`` (default when reproducing a Seurat paper): k-NN (k = 20, the cell
  itself counted as a neighbour, as Seurat's FindNeighbors; exact below
  :data:`APPROX_MIN_CELLS` cells, approximate with pynndescent from there, as
  FindNeighbors' Annoy search), shared-nearest-neighbour
  weights = Jaccard overlap ``s / (2k - s)`` of the neighbour sets, edges below 1/15
  pruned, then Louvain (modularity with resolution, igraph multilevel) from 10 random
  starts keeping the highest modularity, as Seurat's ``n.start = 10``.
- ``"scanpy"``: scanpy's UMAP-kernel neighbour graph (15 NN) and Leiden (igraph,
  2 iterations).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from remission.singlecell.markers import MARKER_SETS, MODULES, MarkerSet

if TYPE_CHECKING:
    import anndata

REF_SEURAT = ("Hao Y et al. Cell 2021;184:3573-3587 (Seurat 4); Stuart T et al. Cell "
              "2019;177:1888-1902 (SNN graph, Louvain clustering).")
REF_LOUVAIN = "Blondel VD et al. J Stat Mech 2008:P10008 (Louvain)."
REF_LEIDEN = "Traag VA, Waltman L, van Eck NJ. Sci Rep 2019;9:5233 (Leiden)."
REF_HARMONY = "Korsunsky I et al. Nat Methods 2019;16:1289-1296 (Harmony)."
REF_SCANPY = "Wolf FA, Angerer P, Theis FJ. Genome Biol 2018;19:15 (Scanpy)."
REF_UMAP = "McInnes L, Healy J, Melville J. arXiv:1802.03426 (UMAP)."


APPROX_MIN_CELLS = 150_000
"""From this many cells the neighbour searches are approximate (pynndescent), as Seurat's
own: FindNeighbors and RunUMAP search with Annoy (``nn.method = "annoy"``); below it they
are exact (scikit-learn, on both cores). Measured on 94,798 cells x 30 Harmony components
(2026-11-30, 2 cores, loaded; CPU seconds): exact 30-NN 36.4 s per search; pynndescent
23.5 s per search plus ~24 s compiling its Numba code once per process (single-threaded),
so the two graphs' searches cost the same CPU at ~95,000 cells and the exact ones less
wall; the exact search grows with the square of the cells, pynndescent's about linearly.
``benchmarks/singlecell_knn_ab.py`` times both and checks the approximate neighbours."""


def knn(X: np.ndarray, k: int, metric: str = "euclidean", method: str = "auto",
        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of every row, the row itself included.

    Parameters
    ----------
    X : numpy.ndarray
        Cells x dimensions.
    k : int
        Neighbours per row, itself included (capped at the number of rows).
    metric : {"euclidean", "cosine"}
        Distance. Cosine distance ``1 - cos`` is half the squared Euclidean distance of
        the rows scaled to unit length: both metrics run the same Euclidean search (one
        Numba compilation for both graphs of the pipeline when approximate).
    method : {"auto", "exact", "approximate"}
        "exact": scikit-learn's brute-force search; "approximate": pynndescent's
        nearest-neighbour descent with the parameters umap-learn and scanpy use
        (``n_trees = min(64, 5 + round(sqrt(n) / 20))``, ``n_iters = max(5,
        round(log2(n)))``, 60 candidates); "auto": approximate from
        :data:`APPROX_MIN_CELLS` rows, exact below.
    seed : int
        pynndescent's ``random_state`` (the exact search has no randomness).

    Returns
    -------
    dist : numpy.ndarray
        Distances, rows x k, ascending.
    idx : numpy.ndarray
        Neighbour row numbers, rows x k.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [0.3, 3.0], [2.0, 0.0]])
    >>> d, i = knn(X, 2)
    >>> i.tolist(), d[:, 1].round(3).tolist()  # |(0.3, 2)| = 2.022, |(2, -1)| = 2.236
    ([[0, 1], [1, 0], [2, 0]], [2.022, 2.022, 2.236])
    >>> d, i = knn(X, 2, metric="cosine")  # 1 - cos: 0.005 for rows 0, 1; 0.9 for 2, 1
    >>> i.tolist(), d[:, 1].round(3).tolist()
    ([[0, 1], [1, 0], [2, 1]], [0.005, 0.005, 0.9])
    """
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"unknown metric {metric!r}; expected 'euclidean' or 'cosine'")
    if method not in ("auto", "exact", "approximate"):
        raise ValueError(f"unknown neighbour search {method!r}; expected 'auto', 'exact' "
                         "or 'approximate'")
    n = X.shape[0]
    k = min(k, n)
    X = np.asarray(X)
    if metric == "cosine":
        X = X.astype(np.float64)
        norm = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norm > 0, norm, 1.0)
    if method == "exact" or (method == "auto" and n < APPROX_MIN_CELLS):
        from sklearn.neighbors import NearestNeighbors

        dist, idx = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)
    else:
        import math

        from pynndescent import NNDescent

        index = NNDescent(X, n_neighbors=k, metric="euclidean", random_state=seed,
                          n_trees=min(64, 5 + round(math.sqrt(n) / 20.0)),
                          n_iters=max(5, round(math.log2(n))), max_candidates=60,
                          low_memory=True, verbose=False)
        idx, dist = index.neighbor_graph
        idx, dist = np.asarray(idx, np.int64), np.asarray(dist, np.float64)
    if metric == "cosine":
        dist = np.maximum(dist * dist / 2.0, 0.0)
    return dist, idx


def snn_graph(X: np.ndarray | None = None, k: int = 20, prune: float = 1 / 15,
              idx: np.ndarray | None = None, method: str = "auto",
              seed: int = 0) -> sp.csr_matrix:
    """Seurat's shared-nearest-neighbour graph from an embedding.

    Parameters
    ----------
    X : numpy.ndarray, optional
        Cells x dimensions (e.g. the first 30 Harmony components); searched with
        :func:`knn` (Euclidean, as FindNeighbors) unless ``idx`` is given.
    k : int
        Neighbours per cell, the cell itself included (Seurat ``k.param``).
    prune : float
        Edges with Jaccard weight below this are dropped (Seurat ``prune.SNN``).
    idx : numpy.ndarray, optional
        Neighbours already found (cells x at least ``k``, nearest first): the first
        ``k`` columns are used, e.g. of a larger search shared with another graph.
    method, seed : str, int
        :func:`knn`'s search (``"auto"``: approximate from :data:`APPROX_MIN_CELLS`
        cells, as Seurat's Annoy search) and its seed.

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric weights ``s / (2k - s)``, ``s`` = shared neighbours; diagonal = 1.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(50, 5))
    >>> g = snn_graph(X, k=5)
    >>> bool(abs(g - g.T).max() == 0)
    True
    >>> _, idx = knn(X, 8)  # a larger search, reused
    >>> bool((snn_graph(idx=idx, k=5) != g).nnz == 0)
    True
    """
    if idx is None:
        if X is None:
            raise ValueError("snn_graph needs an embedding X or neighbours idx")
        _, idx = knn(X, k, "euclidean", method, seed)
    n = idx.shape[0]
    k = min(k, idx.shape[1])
    idx = idx[:, :k]
    rows = np.repeat(np.arange(n), k)
    knn_m = sp.csr_matrix((np.ones(n * k), (rows, idx.ravel())), shape=(n, n))
    shared = (knn_m @ knn_m.T).tocsr()
    shared.data = shared.data / (2 * k - shared.data)
    shared.data[shared.data < prune] = 0.0
    shared.eliminate_zeros()
    return shared


def louvain(graph: sp.spmatrix, resolution: float = 0.8, n_start: int = 10,
            seed: int = 0, n_jobs: int | None = None) -> tuple[np.ndarray, float]:
    """Louvain communities of a weighted graph; best modularity over ``n_start`` runs.

    Parameters
    ----------
    graph : scipy.sparse matrix
        Symmetric weights (self-loops ignored).
    resolution : float
        Modularity resolution (Seurat ``resolution``).
    n_start : int
        Random starts (Seurat ``n.start``).
    seed : int
        Seed of the random orders (start ``i`` uses ``seed + i``).
    n_jobs : int, optional
        Processes running the starts (forked; each start is seeded on its own, so the
        result is the same for any number). Default: the usable CPUs for graphs of
        20,000 nodes or more, else 1.

    Returns
    -------
    labels : numpy.ndarray
        Cluster numbers ordered by size (0 = largest), as Seurat numbers them.
    modularity : float
        Modularity (with resolution) of the kept partition.

    Examples
    --------
    >>> g = sp.block_diag([np.ones((5, 5)), np.ones((5, 5))]).tocsr()
    >>> lab, q = louvain(g, 1.0)
    >>> sorted(set(lab.tolist()))
    [0, 1]
    """
    import igraph as ig

    g = sp.triu(graph, k=1).tocoo()
    G = ig.Graph(n=graph.shape[0], edges=list(zip(g.row.tolist(), g.col.tolist(),
                                                  strict=True)), directed=False)
    G.es["weight"] = g.data.tolist()
    if n_jobs is None:
        n_jobs = _usable_cpus() if graph.shape[0] >= 20_000 else 1
    n_jobs = max(1, min(n_jobs, n_start))
    if n_jobs > 1 and "fork" in _mp_methods():
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        _LOUVAIN[:] = [G, resolution, seed]  # inherited by the forked workers
        try:
            with ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("fork")) as ex:
                runs = list(ex.map(_louvain_start, range(n_start)))
        finally:
            _LOUVAIN.clear()
    else:
        runs = [_one_louvain(G, resolution, seed + i) for i in range(n_start)]
    best, best_q = None, -np.inf
    for membership, q in runs:  # in start order: the first of equal modularities wins
        if q > best_q + 1e-12:
            best, best_q = membership, q
    return _order_by_size(best), float(best_q)


_LOUVAIN: list = []


def _usable_cpus() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _mp_methods() -> list[str]:
    import multiprocessing as mp

    return mp.get_all_start_methods()


def _one_louvain(G, resolution: float, seed: int) -> tuple[np.ndarray, float]:
    import igraph as ig

    ig.set_random_number_generator(random.Random(seed))
    try:
        part = G.community_multilevel(weights="weight", resolution=resolution)
    finally:
        ig.set_random_number_generator(random)
    q = G.modularity(part.membership, weights="weight", resolution=resolution)
    return np.asarray(part.membership), q


def _louvain_start(i: int) -> tuple[np.ndarray, float]:
    G, resolution, seed = _LOUVAIN
    return _one_louvain(G, resolution, seed + i)


def umap_connectivities(X: np.ndarray, n_neighbors: int = 15,
                        metric: str = "euclidean") -> sp.csr_matrix:
    """UMAP's fuzzy-simplicial-set graph on the exact Euclidean kNN, without umap-learn.

    What ``sc.pp.neighbors(adata, n_neighbors, transformer="sklearn")`` stores as
    ``connectivities`` (scanpy 1.11 passes the exact kNN to umap-learn's
    ``fuzzy_simplicial_set``; McInnes, Healy, Melville 2018, section 3): per cell, ``rho``
    = distance to the nearest other cell, ``sigma`` by bisection (64 steps, tolerance
    1e-5, float32 as umap-learn) so that ``sum_j exp(-(d_j - rho) / sigma) = log2(k)``
    over the k - 1 neighbours; weights ``exp(-(d - rho) / sigma)`` (1 when ``d <= rho``,
    0 to itself); fuzzy union ``W + W^T - W * W^T``. Importing umap-learn (pynndescent)
    and compiling its Numba code is paid again by every process; this numpy version is
    checked against umap-learn's output (``tests/test_singlecell_umap_graph.py``).

    Parameters
    ----------
    X : numpy.ndarray
        Cells x dimensions (e.g. the first ``n_dims`` Harmony components).
    n_neighbors : int
        Neighbours including the cell itself (scanpy's ``n_neighbors``).
    metric : {"euclidean", "cosine"}
        Distance; cosine distance ``1 - cos`` is found as half the squared Euclidean
        distance of the rows scaled to unit length (same neighbours, same distances up
        to rounding).

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric float32 connectivities, cells x cells.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> g = umap_connectivities(X, n_neighbors=3)
    >>> g.shape, bool(abs(g - g.T).max() == 0), float(g[0, 1])
    ((4, 4), True, 1.0)
    """
    dist, idx = knn(X, n_neighbors, metric, method="exact")
    return _fuzzy_union(dist, idx, n_neighbors)


def _fuzzy_union(dist: np.ndarray, idx: np.ndarray, n_neighbors: int) -> sp.csr_matrix:
    n, k = idx.shape
    d = dist.astype(np.float32)
    # rho: the nearest non-zero distance (local_connectivity = 1)
    nzd = d > 0
    rho = np.zeros(n, np.float32)
    has = nzd.any(axis=1)
    rho[has] = d[has, np.argmax(nzd, axis=1)[has]]
    target = np.log2(float(n_neighbors))
    fmax = np.finfo(np.float32).max
    lo = np.zeros(n, np.float32)
    hi = np.full(n, fmax, np.float32)
    mid = np.ones(n, np.float32)
    dd = d[:, 1:] - rho[:, None]
    act = np.arange(n)
    for _ in range(64):
        if not act.size:
            break
        x = dd[act]
        terms = np.where(x > 0, np.exp(-(x / mid[act, None])), np.float32(1.0))
        psum = np.zeros(len(act), np.float32)
        for j in range(terms.shape[1]):  # sequential float32 sum, as umap-learn
            psum += terms[:, j]
        conv = np.abs(psum.astype(np.float64) - target) < 1e-5
        above = psum > target
        a_hi = act[~conv & above]
        hi[a_hi] = mid[a_hi]
        mid[a_hi] = ((lo[a_hi] + hi[a_hi]).astype(np.float64) / 2.0).astype(np.float32)
        a_lo = act[~conv & ~above]
        lo[a_lo] = mid[a_lo]
        unb = hi[a_lo] >= fmax
        mid[a_lo[unb]] *= np.float32(2)
        b = a_lo[~unb]
        mid[b] = ((lo[b] + hi[b]).astype(np.float64) / 2.0).astype(np.float32)
        act = act[~conv]
    sigma = mid
    mean_d = d.mean(axis=1)  # umap-learn's floor: sigma >= 1e-3 x mean neighbour distance
    floor = np.where(rho > 0, 1e-3 * mean_d, 1e-3 * d.mean()).astype(np.float32)
    sigma = np.where(sigma < floor, floor, sigma).astype(np.float32)
    delta = d - rho[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.exp(-(delta / sigma[:, None]))
    w = np.where((delta <= 0) | (sigma[:, None] == 0), np.float32(1.0), w).astype(np.float32)
    w[idx == np.arange(n)[:, None]] = 0.0
    g = sp.coo_matrix((w.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    g.eliminate_zeros()
    t = g.transpose()
    g = (g + t - g.multiply(t)).tocsr()
    g.eliminate_zeros()
    return g


def _order_by_size(lab: np.ndarray) -> np.ndarray:
    u, c = np.unique(lab, return_counts=True)
    order = u[np.lexsort((u, -c))]
    remap = {old: new for new, old in enumerate(order)}
    return np.array([remap[x] for x in lab])


def cluster(adata: anndata.AnnData, mode: str = "seurat", resolution: float | None = None,
            use_rep: str = "X_pca_harmony", n_dims: int = 30, k: int = 20,
            key_added: str = "cluster", seed: int = 0, neighbors: str = "auto") -> dict:
    """Build the neighbour graph and cluster (``mode`` = "seurat" or "scanpy").

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obsm[use_rep]``.
    mode : {"seurat", "scanpy"}
        SNN + Louvain (k = 20, prune 1/15, default resolution 0.8) or scanpy's UMAP-kernel
        graph (15 NN) + Leiden (default resolution 1.0).
    resolution : float, optional
        Resolution; default per mode.
    use_rep, n_dims : str, int
        Embedding and number of its dimensions.
    k : int
        Neighbours for the SNN graph.
    key_added : str
        ``obs`` column for the cluster labels (strings "0", "1", ...).
    seed : int
        Random seed.
    neighbors : {"auto", "exact", "approximate"}
        The SNN's neighbour search (see :func:`knn`; "auto" = approximate from
        :data:`APPROX_MIN_CELLS` cells, as Seurat's Annoy search, exact below).

    Returns
    -------
    dict
        Parameters and modularity, also stored in ``adata.uns[key_added]``.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("embedded")
    >>> info = cluster(a, mode="seurat", n_dims=15)
    >>> info["graph"], info["algorithm"], info["resolution"]
    ('SNN k=20 Jaccard prune 1/15', 'Louvain (10 starts)', 0.8)
    >>> a.obs["cluster"].value_counts(sort=False).tolist()  # numbered by size
    [144, 79, 26, 24, 13]
    """
    X = np.asarray(adata.obsm[use_rep])[:, :n_dims]
    if mode == "seurat":
        res = 0.8 if resolution is None else resolution
        search = _search_name(neighbors, adata.n_obs)
        g = snn_graph(X, k=k, method=neighbors, seed=seed)
        lab, q = louvain(g, res, seed=seed)
        adata.obsp[f"{key_added}_snn"] = g
        info = {"mode": "seurat", "graph": f"SNN k={k} Jaccard prune 1/15",
                "algorithm": "Louvain (10 starts)", "resolution": res, "modularity": q,
                "neighbours": search}
    elif mode == "scanpy":
        import scanpy as sc

        res = 1.0 if resolution is None else resolution
        key = f"{key_added}_nn"
        if adata.n_obs < 50000:
            # scanpy's graph (UMAP kernel on the exact 15-NN, as transformer="sklearn"),
            # computed without importing umap-learn (see umap_connectivities)
            adata.obsp[f"{key}_connectivities"] = umap_connectivities(X, 15)
        else:
            sc.pp.neighbors(adata, n_neighbors=15, use_rep=use_rep, n_pcs=n_dims,
                            key_added=key, random_state=seed)
        sc.tl.leiden(adata, resolution=res, flavor="igraph", n_iterations=2, directed=False,
                     obsp=f"{key}_connectivities", key_added="_leiden", random_state=seed)
        lab = _order_by_size(adata.obs.pop("_leiden").astype(int).to_numpy())
        info = {"mode": "scanpy", "graph": "UMAP kernel 15 NN" + (
                    " (exact kNN)" if adata.n_obs < 50000 else " (pynndescent kNN)"),
                "algorithm": "Leiden", "resolution": res}
    else:
        raise ValueError(f"unknown clustering mode {mode!r}; expected 'seurat' or 'scanpy'")
    cats = [str(i) for i in range(lab.max() + 1)]
    adata.obs[key_added] = pd.Categorical(lab.astype(str), categories=cats)
    adata.uns[key_added] = info
    return info


def umap(adata: anndata.AnnData, use_rep: str = "X_pca_harmony", n_dims: int = 30,
         seed: int = 42, neighbors: str = "auto") -> None:
    """UMAP with Seurat's RunUMAP settings (30 cosine neighbours, min_dist 0.3).

    The neighbours are exact below :data:`APPROX_MIN_CELLS` cells and approximate
    (pynndescent) from there (RunUMAP searches approximately with annoy, scanpy with
    pynndescent); the layout is umap-learn's, through ``sc.tl.umap``.

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obsm[use_rep]``; gains ``obsm["X_umap"]``.
    use_rep, n_dims : str, int
        Embedding and dimensions.
    seed : int
        Layout seed (layouts are never bit-identical to R's uwot).
    neighbors : {"auto", "exact", "approximate"}
        The neighbour search (see :func:`knn`).

    Returns
    -------
    None

    Examples
    --------
    Not run here: the first UMAP in a process compiles Numba code (slow).

    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("embedded")
    >>> umap(a, n_dims=15)  # doctest: +SKIP
    >>> a.obsm["X_umap"].shape  # doctest: +SKIP
    (286, 2)
    """
    import scanpy as sc

    _umap_graph(adata, use_rep, 30, n_dims, method=neighbors)
    sc.tl.umap(adata, min_dist=0.3, neighbors_key="umap_nn", random_state=seed)


def _umap_graph(adata: anndata.AnnData, use_rep: str, n_neighbors: int,
                n_dims: int | None = None, key: str = "umap_nn", method: str = "exact",
                seed: int = 0) -> None:
    """RunUMAP's graph: UMAP kernel on the cosine kNN, stored as scanpy stores it.

    ``method`` as :func:`knn`. Below :data:`APPROX_MIN_CELLS` cells the exact search costs
    less than compiling pynndescent's Numba code (~10-30 s in each new process) and gives
    the true neighbours; above it pynndescent (RunUMAP itself searches with Annoy).
    ``sc.tl.umap`` reads the graph from the same keys as scanpy's ``sc.pp.neighbors``.
    """
    X = np.asarray(adata.obsm[use_rep])
    X = X[:, :n_dims] if n_dims else X
    dist, idx = knn(X, n_neighbors, "cosine", method, seed)
    n, k = idx.shape
    rows = np.repeat(np.arange(n), k)
    other = idx.ravel() != rows  # scanpy's distances leave the cell itself out
    D = sp.csr_matrix((dist.ravel()[other], (rows[other], idx.ravel()[other])),
                      shape=(n, n))
    adata.obsp[f"{key}_distances"] = D
    adata.obsp[f"{key}_connectivities"] = _fuzzy_union(dist, idx, n_neighbors)
    adata.uns[key] = {"connectivities_key": f"{key}_connectivities",
                      "distances_key": f"{key}_distances",
                      "params": {"n_neighbors": n_neighbors, "method": "umap",
                                 "metric": "cosine", "random_state": 0,
                                 "use_rep": use_rep, "n_pcs": X.shape[1],
                                 "knn": _search_name(method, n)}}


def _search_name(method: str, n: int) -> str:
    """"exact" or "approximate (pynndescent)": what :func:`knn` runs for ``n`` rows."""
    approx = method == "approximate" or (method == "auto" and n >= APPROX_MIN_CELLS)
    return "approximate (pynndescent)" if approx else "exact"


def _expr(adata: anndata.AnnData, genes: Sequence[str]) -> np.ndarray:
    X = adata[:, list(genes)].X
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def gene_means(adata: anndata.AnnData) -> np.ndarray:
    """Per-gene mean of ``X`` as ``sc.tl.score_genes`` bins genes (its own function).

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised ``X``.

    Returns
    -------
    numpy.ndarray
        float64, one value per gene; pass to :func:`set_scores` as ``pool_means`` to
        score many sets without a pass (and two copies of ``X``) per set.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> gene_means(tiny("normalised")).shape
    (300,)
    """
    import scipy.sparse as sp
    from scanpy.tools._score_genes import _nan_means

    X = adata.X
    if sp.issparse(X) and X.format == "csr":
        d = X.data
        if not (np.isnan(d).any() or (d == 0).any()):
            # scanpy's NaN-aware mean copies X twice to drop NaNs and explicit zeros; with
            # neither present it is this column sum over the same structure (same bits)
            return np.asarray(X.sum(axis=0, dtype="float64")).ravel() / X.shape[0]
    return _nan_means(X, axis=0)


def control_genes(genes: Sequence[str], pool_means: pd.Series, seed: int = 0,
                  n_bins: int = 25, ctrl_size: int = 50) -> tuple[pd.Index, pd.Index]:
    """The genes of a set and the control genes :func:`set_scores` draws for it.

    scanpy 1.11.5's ``score_genes`` steps (expression bins of the pool's means, up to
    ``ctrl_size`` genes per bin of the set's genes, numpy's global seed), given the mean
    of every gene in the pool instead of the matrix: the out-of-core route
    (:mod:`remission.singlecell.outofcore`) uses it to know which genes to keep in memory.

    Parameters
    ----------
    genes : sequence of str
        Gene set (genes absent from the pool are ignored).
    pool_means : pandas.Series
        Mean log-normalised expression of every gene of the pool (index: gene names, in
        the matrix's order), as :func:`gene_means`.
    seed, n_bins, ctrl_size : int
        As :func:`set_scores`.

    Returns
    -------
    tuple of pandas.Index
        The set's genes present in the pool, and the control genes.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> pool = pd.Series(gene_means(a), index=a.var_names)
    >>> genes, ctrl = control_genes(["NKG7", "GNLY", "NOT-A-GENE"], pool)
    >>> list(genes), len(ctrl) > 0, bool(ctrl.isin(genes).any())
    (['NKG7', 'GNLY'], True, False)
    """
    from scanpy.tools._score_genes import _score_genes_bins

    np.random.seed(seed)  # as score_genes: pandas' sample() draws from numpy's global state
    var_names = pd.Index(pool_means.index)
    gene_list = pd.Index([g for g in genes if g in var_names]).intersection(var_names)
    gene_pool = var_names.astype("string")
    pool_row = np.asarray(pool_means, np.float64)[None, :]  # nanmean of one row = itself
    control = pd.Index([], dtype="string")
    for r_genes in _score_genes_bins(gene_list, gene_pool, ctrl_as_ref=True,
                                     ctrl_size=ctrl_size, n_bins=n_bins,
                                     get_subset=lambda g: pool_row):
        control = control.union(r_genes)
    return gene_list, control


def set_scores(adata: anndata.AnnData, genes: Sequence[str], seed: int = 0,
               n_bins: int = 25, ctrl_size: int = 50,
               pool_means: np.ndarray | pd.Series | None = None) -> np.ndarray:
    """Seurat AddModuleScore / scanpy ``score_genes``: mean of the set minus controls.

    With ``pool_means`` (from :func:`gene_means` on the same ``X``) the steps of scanpy
    1.11.5's ``score_genes`` run with the all-gene means given instead of recomputed:
    the same control genes and the same bits (``tests/test_singlecell_pca_memory.py``),
    without the two copies of ``X`` that scanpy's NaN-aware mean makes on every call.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised ``X``.
    genes : sequence of str
        Gene set (absent genes are ignored).
    seed, n_bins, ctrl_size : int
        Control-gene sampling (expression bins, controls per gene).
    pool_means : numpy.ndarray or pandas.Series, optional
        :func:`gene_means` of ``adata`` (``None``: call ``sc.tl.score_genes``); a Series
        indexed by gene names is the pool itself, which may hold genes that ``adata``
        lacks (the out-of-core route: all genes' means, with ``adata`` holding the set
        and its control genes).

    Returns
    -------
    numpy.ndarray
        Per-cell score (NaN when no gene of the set is present).

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> s = set_scores(a, ["NKG7", "GNLY", "GZMB", "PRF1"])  # cytotoxic genes
    >>> by = pd.Series(s).groupby(a.obs["truth_broad"].to_numpy()).mean()
    >>> by.idxmax(), bool(by["NK cell"] > 0 > by["B cell"])
    ('NK cell', True)
    >>> bool(np.isnan(set_scores(a, ["NOT-A-GENE"])).all())
    True
    """
    import scanpy as sc

    present = [g for g in genes if g in adata.var_names]
    if not present:
        return np.full(adata.n_obs, np.nan)
    if pool_means is None:
        sc.tl.score_genes(adata, present, score_name="_score", random_state=seed,
                          n_bins=n_bins, ctrl_size=ctrl_size, use_raw=False)
        return adata.obs.pop("_score").to_numpy(float)
    from scanpy.tools._score_genes import _check_score_genes_args, _nan_means

    if not isinstance(pool_means, pd.Series):
        pool_means = pd.Series(np.asarray(pool_means, np.float64), index=adata.var_names)
    gene_list, control = control_genes(present, pool_means, seed, n_bins, ctrl_size)
    absent = control.difference(adata.var_names)
    if len(absent):  # scanpy's subset would silently take the last column for them
        raise ValueError(f"{len(absent)} control genes drawn from the pool are not in "
                         f"adata (e.g. {', '.join(map(str, absent[:3]))}); keep every "
                         "control gene (remission.singlecell.outofcore does)")
    _, _, get_subset = _check_score_genes_args(adata, present, None, use_raw=False,
                                               layer=None)
    if len(control) == 0:
        raise RuntimeError("No control genes found in any cut.")
    score = (_nan_means(get_subset(gene_list), axis=1, dtype="float64")
             - _nan_means(get_subset(control), axis=1, dtype="float64"))
    return np.array(score, dtype=np.float64).ravel()


def annotate(adata: anndata.AnnData, cluster_key: str = "cluster",
             sets: Sequence[MarkerSet] = MARKER_SETS, min_score: float = 0.1,
             min_margin: float = 0.05, min_detected: float = 0.5,
             key_added: str = "cell_type", seed: int = 0,
             pool_means: pd.Series | None = None) -> pd.DataFrame:
    """Label clusters from curated marker sets; unconvincing clusters stay unassigned.

    Each set's score per cell = module score of its positive genes minus the positive part
    of its negative genes' score (AddModuleScore-style controls; expressing a negative
    marker penalises, its absence earns nothing). A cluster gets the set with the
    highest mean score if that mean is at least ``min_score``, beats the runner-up by
    ``min_margin``, and at least ``min_detected`` of the set's positive genes are detected
    in >= 20% of the cluster's cells; otherwise "unassigned". Confidence = share of the
    cluster's cells whose own best-scoring set agrees with the cluster label.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised, clustered.
    cluster_key : str
        Cluster column.
    sets : sequence of MarkerSet
        Marker sets (default: shipped, cited in ``remission.singlecell.markers``).
    min_score, min_margin : float
        Thresholds (log-expression units above controls).
    min_detected : float
        Share of the winning set's positive genes that must be detected (>= 20% of cells).
    key_added : str
        ``obs`` columns ``{key_added}``, ``{key_added}_broad``, ``{key_added}_cell``.
    seed : int
        Control-gene sampling seed.
    pool_means : pandas.Series, optional
        Control-gene pool (see :func:`set_scores`); default: :func:`gene_means` of
        ``adata``.

    Returns
    -------
    pandas.DataFrame
        Per cluster: n cells, label, broad type, best score, runner-up, margin,
        confidence, status ("assigned"/"unassigned").

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("embedded")
    >>> _ = cluster(a, n_dims=15)
    >>> tab = annotate(a)
    >>> tab[["n_cells", "label", "status"]]  # doctest: +NORMALIZE_WHITESPACE
             n_cells                label    status
    cluster
    0            144  NK CD56dim CD16high  assigned
    1             79        NK CD56bright  assigned
    2             26  CD4 effector memory  assigned
    3             24         CD8 effector  assigned
    4             13            AML blast  assigned
    >>> a.obs["cell_type"].iloc[0] == tab.loc[a.obs["cluster"].iloc[0], "label"]
    True
    """
    scores = {}
    pool = gene_means(adata) if pool_means is None else pool_means  # once for all sets
    for m in sets:
        s = set_scores(adata, m.positive, seed=seed, pool_means=pool)
        if m.negative:
            neg = set_scores(adata, m.negative, seed=seed, pool_means=pool)
            s = s - np.clip(np.nan_to_num(neg), 0.0, None)  # absence earns nothing
        scores[m.name] = s
    S = pd.DataFrame(scores, index=adata.obs_names).dropna(axis=1, how="all")
    cell_best = S.idxmax(axis=1)
    broad = {m.name: m.broad for m in sets}
    means = S.groupby(adata.obs[cluster_key].to_numpy()).mean()
    by_name = {m.name: m for m in sets}
    rows = []
    for cl, r in means.iterrows():
        top = r.sort_values(ascending=False)
        best, second = top.index[0], top.index[1] if len(top) > 1 else None
        margin = float(top.iloc[0] - top.iloc[1]) if second else np.inf
        in_cl = (adata.obs[cluster_key] == cl).to_numpy()
        pos = [g for g in by_name[best].positive if g in adata.var_names]
        detected = float(((_expr(adata[in_cl], pos) > 0).mean(axis=0) >= 0.2).mean()) \
            if pos else 0.0
        ok = top.iloc[0] >= min_score and margin >= min_margin and detected >= min_detected
        conf = float((cell_best[in_cl] == best).mean())
        rows.append({"cluster": str(cl), "n_cells": int(in_cl.sum()),
                     "label": best if ok else "unassigned",
                     "broad": broad[best] if ok else "unassigned",
                     "best_set": best, "score": float(top.iloc[0]), "runner_up": second,
                     "margin": margin, "markers_detected": detected, "confidence": conf,
                     "status": "assigned" if ok else "unassigned"})
    tab = pd.DataFrame(rows).set_index("cluster")
    cl = adata.obs[cluster_key].astype(str)
    adata.obs[key_added] = cl.map(tab["label"]).to_numpy()
    adata.obs[f"{key_added}_broad"] = cl.map(tab["broad"]).to_numpy()
    adata.obs[f"{key_added}_cell"] = cell_best.to_numpy()
    adata.uns[f"{key_added}_scores"] = S.groupby(cl.to_numpy()).mean()
    return tab


def module_scores(adata: anndata.AnnData,
                  modules: Mapping[str, tuple[Sequence[str], str]] = MODULES,
                  seed: int = 0, pool_means: pd.Series | None = None) -> list[str]:
    """Per-cell module scores (``obs["score_<module>"]``); returns the modules scored.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised ``X``.
    modules : mapping
        name -> (genes, source); default: shipped modules.
    seed : int
        Control-gene seed.
    pool_means : pandas.Series, optional
        Control-gene pool (see :func:`set_scores`); default: :func:`gene_means` of
        ``adata``.

    Returns
    -------
    list of str
        Names of the ``obs`` columns written.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> module_scores(a)  # doctest: +NORMALIZE_WHITESPACE
    ['score_cytotoxicity', 'score_exhaustion', 'score_regulatory',
     'score_adhesion_migration', 'score_cytokine', 'score_memory']
    >>> bool(a.obs["score_cytotoxicity"].notna().all())
    True
    """
    cols = []
    pool = gene_means(adata) if pool_means is None else pool_means
    for name, (genes, _) in modules.items():
        s = set_scores(adata, genes, seed=seed, pool_means=pool)
        if not np.all(np.isnan(s)):
            adata.obs[f"score_{name}"] = s
            cols.append(f"score_{name}")
    return cols


def sex_origin(adata: anndata.AnnData, donor_sex: str, min_umis: int = 1,
               chry: Sequence[str] = ("RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY"),
               xist: str = "XIST", layer: str = "counts") -> pd.Series:
    """Donor / recipient calls from sex genes when donor and recipient differ in sex.

    A cell is "male" when its chrY-gene UMIs reach ``min_umis`` and XIST UMIs are 0,
    "female" when XIST reaches ``min_umis`` and chrY is 0, otherwise "undetermined"
    (both or neither: dropout, doublets or ambient RNA). The donor's sex maps to
    "donor", the other to "recipient".

    Parameters
    ----------
    adata : anndata.AnnData
        With raw counts in ``layers[layer]``.
    donor_sex : {"male", "female"}
        Sex of the donor / product.
    min_umis : int
        UMIs needed for a call.
    chry, xist, layer : sequence of str, str, str
        Sex genes and the raw-count layer.

    Returns
    -------
    pandas.Series
        "donor", "recipient" or "undetermined" per cell (also ``obs["origin"]``).

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")  # SYNTHETIC: male product (donor), female patient
    >>> o = sex_origin(a, donor_sex="male")
    >>> pd.crosstab(o, a.obs["truth_origin"])  # doctest: +NORMALIZE_WHITESPACE
    truth_origin  donor  recipient
    origin
    donor           233          0
    recipient         0         50
    undetermined      2          1
    """
    M = adata.layers.get(layer, adata.X)
    ys = [g for g in chry if g in adata.var_names]
    def umis(gs: Sequence[str]) -> np.ndarray:
        if not gs:
            return np.zeros(adata.n_obs)
        sub = M[:, [adata.var_names.get_loc(g) for g in gs]]
        return np.asarray(sub.sum(axis=1)).ravel()
    y, x = umis(ys), umis([xist] if xist in adata.var_names else [])
    male = (y >= min_umis) & (x == 0)
    female = (x >= min_umis) & (y == 0)
    other = "female" if donor_sex == "male" else "male"
    sex = np.where(male, "male", np.where(female, "female", "undetermined"))
    origin = np.where(sex == donor_sex, "donor", np.where(sex == other, "recipient",
                                                          "undetermined"))
    adata.obs["sex_call"] = sex
    adata.obs["origin"] = origin
    return adata.obs["origin"]
