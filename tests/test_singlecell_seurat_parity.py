"""Parity with Seurat 4.3 (Debian r-cran-seurat) on a shared simulated input.

Committed reference values (``tests/data/singlecell_seurat/reference.json``, made by
``seurat_parity.R`` through ``tests/singlecell_parity.py``) are always checked; the ``r``
test re-runs Seurat live. Compared: QC metrics (exact), the genes-per-cell filter (exact),
R's ``median + 3 * mad()`` mito threshold (1e-9), LogNormalize values (1e-6), HVG overlap
(vst, 200 genes), FindMarkers statistics (1e-6), the SNN graph from the same embedding
(1e-9) and Louvain clusters on it (ARI >= 0.95). Differs by design: UMAP layout, Harmony
implementation (not in Debian's R), annoy vs exact neighbours (R side uses ``rann``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("scanpy")

import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from remission.singlecell import pp, stats, tl
from tests.singlecell_parity import REFERENCE, inputs, run_seurat


@pytest.fixture(scope="module")
def ours():
    a, b, groups, emb, pi, pj = inputs()
    raw = a.copy()
    import scanpy as sc

    raw.var["mt"] = raw.var_names.str.startswith("MT-")
    sc.pp.calculate_qc_metrics(raw, qc_vars=["mt"], percent_top=None, inplace=True)
    g1 = b.obs_names.isin(groups.loc[groups["group"] == "g1", "cell"])
    de = stats.find_markers(b, g1, ~g1)
    snn = tl.snn_graph(emb.to_numpy(), k=20)
    lab, _ = tl.louvain(snn, 0.8)
    return {"raw": raw, "b": b, "de": de, "snn": snn, "lab": lab, "pi": pi, "pj": pj}


def _check(o, ref):
    raw, b = o["raw"], o["b"]
    assert list(raw.obs_names) == ref["cells"]
    np.testing.assert_array_equal(raw.obs["n_genes_by_counts"], ref["n_feature"])
    np.testing.assert_array_equal(raw.obs["total_counts"], ref["n_count"])
    np.testing.assert_allclose(raw.obs["pct_counts_mt"], ref["percent_mt"], atol=1e-9)
    mt = raw.obs["pct_counts_mt"].to_numpy()
    thr = np.median(mt) + 3 * pp.MAD_NORMAL * np.median(np.abs(mt - np.median(mt)))
    assert thr == pytest.approx(ref["mito_threshold_3mad"], abs=1e-9)
    assert list(b.obs_names) == ref["kept"]
    assert list(b.var_names) == ref["data_genes"]
    X = b.X.toarray() if sp.issparse(b.X) else b.X
    np.testing.assert_allclose(X.sum(axis=1), ref["data_cell_sums"], rtol=1e-9)
    np.testing.assert_allclose(X[o["pj"], o["pi"]], ref["data_probe"], atol=1e-6)
    hvg = set(b.var_names[b.var["highly_variable"]])
    assert len(hvg & set(ref["hvg"])) / 200 >= 0.95
    r = pd.DataFrame({"p_val": ref["fm_p"], "avg_log2FC": ref["fm_fc"],
                      "pct.1": ref["fm_pct1"], "pct.2": ref["fm_pct2"],
                      "p_val_adj": ref["fm_padj"]}, index=ref["fm_gene"])
    de = o["de"]
    assert set(de.index) == set(r.index)        # the same genes pass min.pct / logfc
    assert (np.diff(de["p_val"].to_numpy()) >= 0).all()  # ordered by p (ties: either order)
    de = de.loc[r.index]
    for c in r.columns:
        np.testing.assert_allclose(de[c], r[c], rtol=1e-6, atol=1e-12, err_msg=c)
    n = o["snn"].shape[0]
    rs = sp.coo_matrix((ref["snn_x"], (ref["snn_i"], ref["snn_j"])), shape=(n, n)).tocsr()
    diff = abs(o["snn"] - rs)
    assert diff.nnz == 0 or diff.max() < 1e-9
    assert o["snn"].nnz == rs.nnz
    assert adjusted_rand_score(ref["clusters"], o["lab"]) >= 0.95


def test_matches_committed_seurat_reference(ours):
    ref = json.loads(REFERENCE.read_text())
    assert ref["seurat_version"].startswith("4.3")
    _check(ours, ref)


@pytest.mark.r
def test_matches_seurat_live(ours):
    _check(ours, run_seurat())
