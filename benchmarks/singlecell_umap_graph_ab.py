"""CPU of RunUMAP's graph + layout in a fresh process: pynndescent (scanpy) vs exact search.

One side per process (the Numba compilation a cold process pays is the point):
``pynn`` = what ``tl.umap`` did before 2026-11-30, ``sc.pp.neighbors(n_neighbors=30,
metric="cosine")`` (pynndescent) then ``sc.tl.umap(min_dist=0.3)``; ``exact`` = what it
does now, ``tl._umap_graph`` (exact cosine 30-NN, umap-learn's kernel in numpy) then the
same ``sc.tl.umap``. Input: a random 30-dimensional embedding with 10 clusters (seed 0),
``N`` cells. Prints the process CPU seconds (user + system, all threads) of imports, the
graph and the layout. Not a harness benchmark: the two graphs are checked equal where the
neighbours are exact in ``tests/test_singlecell_umap_graph.py``.

Run: ``python benchmarks/singlecell_umap_graph_ab.py pynn 20000`` and
``python benchmarks/singlecell_umap_graph_ab.py exact 20000`` (alternate under load).
"""

from __future__ import annotations

import sys
import time


def main(side: str, n: int) -> None:
    t0 = time.process_time()
    import anndata as ad
    import numpy as np
    import scanpy as sc

    from remission.singlecell import tl

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(n, 30)) + 3 * rng.integers(0, 10, n)[:, None]
         * rng.normal(size=(1, 30))).astype(np.float32)
    a = ad.AnnData(np.zeros((n, 1), np.float32))
    a.obsm["h"] = X
    print(f"imports {time.process_time() - t0:.1f} s CPU", flush=True)
    c = time.process_time()
    if side == "pynn":
        sc.pp.neighbors(a, n_neighbors=30, use_rep="h", metric="cosine", key_added="umap_nn",
                        random_state=0)
    else:
        tl._umap_graph(a, "h", 30)
    print(f"{side} graph {time.process_time() - c:.1f} s CPU", flush=True)
    c = time.process_time()
    sc.tl.umap(a, min_dist=0.3, neighbors_key="umap_nn", random_state=42)
    print(f"{side} layout {time.process_time() - c:.1f} s CPU, total "
          f"{time.process_time() - t0:.1f} s CPU", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
