"""Doublet scores (Scrublet via scanpy 1.11 ``pp.scrublet``) recover planted doublets.

Planted truth: 6% of the QC-passing cells of each simulated sample are added again as
doublets (the summed UMIs of two random cells of that sample, as Scrublet itself and
real droplets make them). Heterotypic doublets (two populations) are what Scrublet can
see; homotypic ones are not separable by expression, which the Result states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("scanpy")
pytest.importorskip("skimage")

import anndata as ad
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from remission.singlecell import pp
from remission.singlecell.simulate import cart_design, simulate


def _with_doublets(rate=0.06, seed=0):
    a = simulate(cart_design(n_cells=500, n_genes=1200), seed=3)
    a = a[:, (a.var["feature_type"] == "Gene Expression").to_numpy()].copy()
    rng = np.random.default_rng(seed)
    parts = [a]
    for s in ("product", "peak"):
        idx = np.flatnonzero((a.obs["sample"] == s).to_numpy()
                             & (a.obs["truth_qc"] == "ok").to_numpy())
        n = int(rate * len(idx))
        i, j = rng.choice(idx, n), rng.choice(idx, n)
        o = pd.DataFrame({"sample": s, "truth_qc": "ok",
                          "truth_population": a.obs["truth_population"].iloc[i].to_numpy(),
                          "truth_pop2": a.obs["truth_population"].iloc[j].to_numpy()},
                         index=[f"dbl_{s}_{k}" for k in range(n)])
        parts.append(ad.AnnData(X=sp.csr_matrix(a.X[i] + a.X[j]), obs=o, var=a.var))
    b = ad.concat(parts, join="outer")
    b.obs["truth_doublet"] = b.obs_names.str.startswith("dbl_")
    pp.qc(b)
    return b


@pytest.fixture(scope="module")
def scored():
    b = _with_doublets()
    tab = pp.doublets(b)
    return b, tab


def test_planted_doublets_score_high_and_are_called(scored):
    b, tab = scored
    y = b.obs["truth_doublet"].to_numpy()
    het = y & (b.obs["truth_population"] != b.obs["truth_pop2"]).to_numpy()
    score = b.obs["doublet_score"].to_numpy()
    assert roc_auc_score(y, score) >= 0.8                    # observed 0.88
    singlets_and_het = ~y | het
    assert roc_auc_score(het[singlets_and_het], score[singlets_and_het]) >= 0.9  # obs. 0.96
    pred = b.obs["predicted_doublet"].to_numpy()
    # called doublets are mostly planted ones (base rate ~6%)
    assert y[pred].mean() >= 0.4 and pred.sum() >= 10
    assert list(tab.index) == ["peak", "product"]
    assert (tab["predicted_doublets"] == b.obs.groupby("sample")["predicted_doublet"].sum()
            .reindex(tab.index)).all()
    assert tab["threshold"].between(0, 1).all()


def test_remove_doublets_drops_the_called_cells():
    b = _with_doublets(seed=1)
    n0 = b.n_obs
    tab = pp.doublets(b, remove=True)
    assert b.n_obs == n0 - int(tab["removed"].sum())
    assert int(tab["removed"].sum()) == int(tab["predicted_doublets"].sum()) > 0
    assert not b.obs["predicted_doublet"].any()


def test_doublet_keys_are_checked():
    from remission.errors import ProblemLog
    from remission.singlecell.io import parse_params

    log = ProblemLog()
    p = parse_params({"qc": {"doublets": "yes", "doublet_rate": 2}}, log)
    cols = sorted(q.column for q in log.problems)
    assert cols == ["singlecell.qc.doublet_rate", "singlecell.qc.doublets"]
    assert p.qc.doublets is False
    ok = parse_params({"qc": {"doublets": True, "remove_doublets": True,
                              "doublet_rate": 0.08}}, ProblemLog())
    assert ok.qc.doublets and ok.qc.remove_doublets and ok.qc.doublet_rate == 0.08
