"""Write tests/data/singlecell_umap_graph_ref.npz: scanpy/umap-learn connectivities on a
fixed embedding, the reference for remission.singlecell.tl.umap_connectivities.

The embedding is ``simulate.tiny("embedded")``'s first 15 Harmony components (300 cells,
SYNTHETIC), stored with the graph so the test does not depend on PCA/Harmony numerics.
The graph is what ``sc.pp.neighbors(n_neighbors=15, transformer="sklearn")`` stores as
``obsp["connectivities"]`` (scanpy 1.11.5, umap-learn 0.5.12), and (keys ``cos_*``) what
``sc.pp.neighbors(n_neighbors=30, metric="cosine")`` stores (the graph ``tl.umap`` built
before it searched exactly: pynndescent, approximate in general; the script reports
whether its neighbours are the exact ones on this embedding). Run:
``python scripts/make_umap_graph_ref.py`` (~30 s: umap-learn compiles its Numba code).
"""

from __future__ import annotations

import io
from importlib.metadata import version
from pathlib import Path

import anndata as ad
import numpy as np
import scanpy as sc

from remission.io.atomic import write_bytes
from remission.singlecell.simulate import tiny

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "singlecell_umap_graph_ref.npz"


def main() -> None:
    X = np.asarray(tiny("embedded").obsm["X_pca_harmony"])[:, :15].astype(np.float64)
    a = ad.AnnData(np.zeros((X.shape[0], 1), np.float32))
    a.obsm["E"] = X
    sc.pp.neighbors(a, n_neighbors=15, use_rep="E", transformer="sklearn", random_state=0)
    g = a.obsp["connectivities"].tocsr()
    g.sort_indices()
    sc.pp.neighbors(a, n_neighbors=30, use_rep="E", metric="cosine", random_state=0,
                    key_added="cos")
    c = a.obsp["cos_connectivities"].tocsr()
    c.sort_indices()
    d = a.obsp["cos_distances"].tocsr()
    from sklearn.metrics import pairwise_distances

    exact = np.argsort(pairwise_distances(X, metric="cosine"), axis=1, kind="stable")[:, :30]
    found = [set(d[i].indices) | {i} for i in range(X.shape[0])]
    same = sum(found[i] == set(exact[i]) for i in range(X.shape[0]))
    print(f"pynndescent cosine 30-NN equal to the exact neighbours for {same} of "
          f"{X.shape[0]} cells")
    buf = io.BytesIO()
    np.savez_compressed(buf, X=X, data=g.data, indices=g.indices, indptr=g.indptr,
                        shape=np.array(g.shape), cos_data=c.data, cos_indices=c.indices,
                        cos_indptr=c.indptr, versions=np.array(
                            [f"{p} {version(p)}" for p in ("scanpy", "umap-learn",
                                                          "scikit-learn")]))
    write_bytes(OUT, buf.getvalue())
    print(f"wrote {OUT} ({g.nnz} edges)")


if __name__ == "__main__":
    main()
