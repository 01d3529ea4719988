"""CPU of the pieces of the single-cell graph step on a Harmony embedding (not a harness
benchmark: one process, pieces timed in order, for choosing ``tl.APPROX_MIN_CELLS``).

Pieces: exact 30-NN (scikit-learn), pynndescent's import, its first search (Numba
compilation included) and a second one on unit rows (the cosine search of the UMAP graph),
recall of pynndescent against the exact neighbours (every 50th cell), the SNN product
(k = 20), building the igraph graph, one Louvain start (igraph multilevel, resolution
0.8; ``tl.louvain`` runs 10) and one igraph Leiden run (modularity objective, until
stable) with the modularity of both. ``--double`` stacks the embedding with a copy
jittered by N(0, 0.3) to reach ~2x the cells (94,798 from the 2 x 25,000 input).

Run: ``python benchmarks/singlecell_graph_costs.py --cells 25000 --double`` (the
embedding is ``singlecell_knn_ab.py``'s cached one).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_singlecell as bench  # noqa: E402
from singlecell_knn_ab import embedding  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=25_000, help="cells per sample")
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--double", action="store_true")
    a = ap.parse_args(argv)
    import igraph as ig
    import scipy.sparse as sp
    from sklearn.neighbors import NearestNeighbors

    from remission.singlecell import tl

    X = np.load(embedding(bench.make_data(a.cells, a.genes)))
    if a.double:
        X = np.vstack([X, X + np.random.default_rng(0).normal(scale=0.3, size=X.shape)])
    n = X.shape[0]
    last = [time.perf_counter(), sum(os.times()[:2])]

    def lap(name: str) -> None:
        w, c = time.perf_counter(), sum(os.times()[:2])
        print(f"  {name:<44}{w - last[0]:8.1f} s wall {c - last[1]:7.1f} s CPU", flush=True)
        last[:] = [w, c]

    print(f"{n:,} cells x {X.shape[1]} dimensions; load {os.getloadavg()[0]:.1f}")
    lap("load")
    idx = NearestNeighbors(n_neighbors=30).fit(X).kneighbors(X, return_distance=False)
    lap("exact 30-NN (scikit-learn)")
    import pynndescent  # noqa: F401

    lap("import pynndescent")
    _, i2 = tl.knn(X, 30, method="approximate")
    lap("pynndescent 30-NN, first (compiles)")
    tl.knn(X, 30, metric="cosine", method="approximate")
    lap("pynndescent 30-NN, second (cosine, unit rows)")
    rec = np.mean([len(set(p) & set(q)) for p, q in zip(idx[::50], i2[::50], strict=True)])
    print(f"  recall of pynndescent's 30-NN vs exact: {rec / 30:.4f}")
    g = tl.snn_graph(idx=idx, k=20)
    lap("SNN product (k = 20)")
    t = sp.triu(g, k=1).tocoo()
    G = ig.Graph(n=n, edges=list(zip(t.row.tolist(), t.col.tolist(), strict=True)))
    G.es["weight"] = t.data.tolist()
    lap(f"igraph graph ({G.ecount():,} edges)")
    ig.set_random_number_generator(random.Random(0))
    p = G.community_multilevel(weights="weight", resolution=0.8)
    ig.set_random_number_generator(random)
    lap(f"one Louvain start ({len(set(p.membership))} clusters)")
    q1 = G.modularity(p.membership, weights="weight", resolution=0.8)
    p2 = G.community_leiden(objective_function="modularity", weights="weight",
                            resolution=0.8, n_iterations=-1)
    lap(f"one igraph Leiden run ({len(set(p2.membership))} clusters)")
    q2 = G.modularity(p2.membership, weights="weight", resolution=0.8)
    print(f"  modularity (resolution 0.8): Louvain {q1:.5f}, Leiden {q2:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
