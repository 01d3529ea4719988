"""The simulator's sparse sampler draws from the same model as the dense one.

Oracle for the counts: scipy.stats.nbinom (negative binomial with size r and mean mu:
``p = r / (r + mu)``) times the Splatter-style logistic dropout the simulator documents,
``P(kept) = 1 / (1 + (m0 / mu)**k)``: ``P(0) = 1 - kept * (1 - nbinom.pmf(0))`` and
``P(y) = kept * nbinom.pmf(y)`` for ``y >= 1``. Chi-square goodness of fit at fixed seeds
(deterministic: the same draws every run).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as ss

from remission.singlecell.simulate import (
    CHRY_GENES,
    MT_GENES,
    _nb_dropout_sparse,
    cart_design,
    simulate,
)

MU = np.array([0.02, 0.3, 1.5, 6.0, 40.0, 120.0])


def _draw(mu: np.ndarray, n: int, r: float, m0: float, k: float, seed: int, block: int = 512):
    g = len(mu)
    return _nb_dropout_sparse(
        np.random.default_rng(seed), mu[None, :], np.zeros(n, np.int64), np.ones(n),
        np.ones(n), np.zeros(g, bool), np.full(g, -1, np.int64), np.zeros(n, np.int64),
        np.zeros(n), r, m0, k, block=block)


@pytest.mark.parametrize(("r", "m0", "k"), [(4.0, 0.05, 1.0), (2.5, 0.5, 0.7)])
def test_counts_follow_nb_times_dropout(r: float, m0: float, k: float) -> None:
    n = 30_000
    X = _draw(MU, n, r, m0, k, seed=7).toarray()
    assert X.dtype == np.int32 and X.min() >= 0
    for j, mu in enumerate(MU):
        kept = 1.0 / (1.0 + (m0 / mu) ** k)
        nb = ss.nbinom(r, r / (r + mu))
        top = int(nb.ppf(0.999)) + 1
        ys = np.arange(top)
        p = kept * nb.pmf(ys)
        p[0] = 1.0 - kept * nb.sf(0)
        p = np.append(p, kept * nb.sf(top - 1))          # y >= top
        obs = np.bincount(np.minimum(X[:, j], top), minlength=top + 1)
        # pool sparse cells of the expected table (chi-square needs expected >= 5)
        exp = p * n
        keep = exp >= 5
        o = np.append(obs[keep], obs[~keep].sum())
        e = np.append(exp[keep], exp[~keep].sum())
        o, e = o[e > 0], e[e > 0]
        pval = ss.chisquare(o, e * o.sum() / e.sum()).pvalue
        assert pval > 1e-4, (mu, pval, o, e)
        # and the mean: kept * mu
        assert X[:, j].mean() == pytest.approx(kept * mu, rel=6 * np.sqrt(
            nb.var() + nb.mean() ** 2) / mu / np.sqrt(n) + 1e-3)


def test_same_seed_same_counts_whatever_the_block_size() -> None:
    a = _draw(MU, 1000, 4.0, 0.05, 1.0, seed=3, block=512)
    b = _draw(MU, 1000, 4.0, 0.05, 1.0, seed=3, block=7)
    c = _draw(MU, 1000, 4.0, 0.05, 1.0, seed=4)
    assert (a != b).nnz == 0 and (a != c).nnz > 0


def _z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    se = np.sqrt(x.var(axis=0) / len(x) + y.var(axis=0) / len(y))
    d = x.mean(axis=0) - y.mean(axis=0)
    return np.divide(d, se, out=np.zeros_like(d), where=se > 0)


def test_sparse_and_dense_simulations_agree_in_distribution() -> None:
    d = cart_design(n_cells=1500, n_genes=400)
    sa = simulate(d, seed=1, sampler="sparse")
    de = simulate(d, seed=1, sampler="dense")
    assert sa.uns["simulation"]["label"].startswith("SYNTHETIC")
    assert list(sa.var_names) == list(de.var_names)
    genes = ~sa.var_names.str.startswith("CAR-")
    # the first sample's cells, populations, libraries and batch factor come from the
    # stream before any count is drawn: identical truth, so its counts must agree in
    # distribution gene by gene (later samples draw their batch factors after the counts,
    # from a stream the two samplers leave at different places)
    first = d.samples[0].name
    pd_obs = de.obs[de.obs["sample"] == first]
    assert (sa.obs.loc[pd_obs.index, "truth_population"] == pd_obs["truth_population"]).all()
    for (s, p), _ in sa.obs[sa.obs["sample"] == first].groupby(
            ["sample", "truth_population"], observed=True):
        ms = ((sa.obs["sample"] == s) & (sa.obs["truth_population"] == p)
              & (sa.obs["truth_qc"] == "ok")).to_numpy()
        md = ((de.obs["sample"] == s) & (de.obs["truth_population"] == p)
              & (de.obs["truth_qc"] == "ok")).to_numpy()
        if min(ms.sum(), md.sum()) < 40:
            continue
        xs = sa.X[ms][:, genes].toarray().astype(float)
        xd = de.X[md][:, genes].toarray().astype(float)
        # library-size-normalised mean per gene and detection rate per gene: same model
        ns = xs / xs.sum(1, keepdims=True) * 1e4
        nd = xd / xd.sum(1, keepdims=True) * 1e4
        assert np.abs(_z(ns, nd)).max() < 5, (s, p)
        assert np.abs(_z((xs > 0) * 1.0, (xd > 0) * 1.0)).max() < 5, (s, p)
        # totals: ratio of medians within 5% (library size, dropout, NB noise together)
        assert np.median(xs.sum(1)) == pytest.approx(np.median(xd.sum(1)), rel=0.05)
    # damaged cells carry ~6x the mitochondrial share, sex genes follow the cell's origin
    mt = sa.var_names.isin(MT_GENES)
    tot = np.asarray(sa.X[:, genes].sum(1)).ravel()
    frac = np.asarray(sa.X[:, mt].sum(1)).ravel() / np.maximum(tot, 1)
    dmg = (sa.obs["truth_qc"] == "damaged").to_numpy()
    ok = (sa.obs["truth_qc"] == "ok").to_numpy()
    assert 4 < np.median(frac[dmg]) / np.median(frac[ok]) < 8
    y = np.asarray(sa.X[:, sa.var_names.isin(CHRY_GENES)].sum(1)).ravel()
    xist = np.asarray(sa.X[:, sa.var_names == "XIST"].sum(1)).ravel()
    male = (sa.obs["truth_sex"] == "male").to_numpy()
    assert y[~male].sum() == 0 and xist[male].sum() == 0
    assert (y[male & ok] > 0).mean() > 0.5 and (xist[~male & ok] > 0).mean() > 0.5


def test_unknown_sampler_refused() -> None:
    with pytest.raises(ValueError, match="sampler"):
        simulate(cart_design(n_cells=10, n_genes=100), sampler="fast")
