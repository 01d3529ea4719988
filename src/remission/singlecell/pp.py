"""Preprocessing: CAR features, QC, LogNormalize, HVG, scale, PCA, Harmony (AnnData in/out).

Each function modifies ``adata`` in place (scanpy convention) and returns what it
computed (a table or ``None``). Choices follow Seurat 4 where a paper ran Seurat:
LogNormalize to 1e4, 2000 ``seurat_v3`` HVGs, scaling clipped at 10 on HVGs only, PCA on
the scaled HVGs, Harmony with harmony-0.1 parameters.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    import anndata

MAD_NORMAL = 1.4826  # R mad() constant (consistency with the normal SD)


@dataclass(frozen=True)
class QCParams:
    """QC thresholds (defaults: seed 002 / Seurat & scater conventions).

    ``mad_scale`` multiplies the raw median absolute deviation (1.4826 = R's ``mad()``;
    1.0 = scipy's default). Mito outliers are high-side only (scater ``type="higher"``);
    counts / genes outliers are both sides on log1p values. ``None`` disables a rule.
    ``doublets`` adds Scrublet doublet scores per sample (``doublet_rate`` = expected
    share); ``remove_doublets`` also removes the predicted doublets.
    """

    min_genes: int = 100
    max_genes: int = 30000
    mito_prefix: str = "MT-"
    mito_nmads: float | None = 3.0
    counts_nmads: float | None = 5.0
    genes_nmads: float | None = 5.0
    mad_scale: float = MAD_NORMAL
    by_sample: bool = True
    doublets: bool = False
    remove_doublets: bool = False
    doublet_rate: float = 0.05


def extract_car(adata: anndata.AnnData, features: Sequence[str], min_umis: int = 1,
                file: str = "counts") -> pd.DataFrame:
    """Move CAR construct features out of the gene matrix into ``obs``.

    Parameters
    ----------
    adata : anndata.AnnData
        Raw counts including the construct features as columns.
    features : sequence of str
        Feature names of the construct elements (scFv, RQR8, WPRE, ...).
    min_umis : int
        A cell is CAR-detected when the summed construct UMIs reach this number.
    file : str
        Name used in error messages.

    Returns
    -------
    pandas.DataFrame
        Per-cell construct UMIs (one column per feature); ``obs`` gains ``car_umis``
        (sum) and ``car_detected`` (bool). CAR-undetected cells are "not detected", not
        proven negative (dropout). The features are removed from ``adata`` so they never
        enter HVG selection, PCA or QC gene counts.

    Examples
    --------
    >>> from remission.singlecell.simulate import simulate, cart_design
    >>> a = simulate(cart_design(n_cells=100), seed=0)
    >>> t = extract_car(a, ["CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"])
    >>> "car_detected" in a.obs
    True
    """
    from remission.errors import InputError, Problem

    missing = [f for f in features if f not in adata.var_names]
    if not features or missing:
        raise InputError([Problem(file, "construct feature not found in the count matrix",
                                  column="singlecell.construct_features", value=f,
                                  expected="a feature name present in the matrix "
                                           "(extend the reference with the construct; see "
                                           "docs/singlecell.md)")
                          for f in (missing or ["<none declared>"])])
    idx = [adata.var_names.get_loc(f) for f in features]
    sub = adata.X[:, idx]
    sub = sub.toarray() if sp.issparse(sub) else np.asarray(sub)
    tab = pd.DataFrame(sub, index=adata.obs_names, columns=list(features))
    adata.obs["car_umis"] = tab.sum(axis=1).astype(int).to_numpy()
    adata.obs["car_detected"] = adata.obs["car_umis"] >= min_umis
    keep = np.ones(adata.n_vars, bool)
    keep[idx] = False
    X = adata.X
    if sp.issparse(X) and X.format == "csr" and not adata.is_view and not adata.isbacked:
        # anndata's column subset builds the new matrix beside the old one (and a mask
        # over all non-zeros): ~2.5x the counts at the peak. _drop_csr_columns releases
        # the old data array before it builds the new indices (~1.5x; same values, order
        # and dtypes), but it consumes X: only when nothing but this function holds X
        adata.X = None
        adata._inplace_subset_var(keep)
        sole = sys.getrefcount(X) <= 2  # this name + getrefcount's argument
        adata.X = _drop_csr_columns(X, keep) if sole else X[:, keep]
        del X
    else:
        adata._inplace_subset_var(keep)
    adata.uns["car"] = {"features": list(features), "min_umis": int(min_umis)}
    return tab


def _drop_csr_columns(X: sp.csr_matrix | sp.csr_array, keep: np.ndarray,
                     block: int = 1 << 18) -> sp.csr_matrix:
    """``X[:, keep]`` for a CSR matrix, built a block of non-zeros at a time.

    The new data array is filled and the old one released (when nothing else holds
    it) before the new column indices are built, so the peak is the matrix plus one
    array of it, instead of two matrices and a mask over every non-zero.

    Parameters
    ----------
    X : scipy.sparse CSR matrix or array
        Consumed: its arrays are detached (and released if nothing else holds them) as
        the result is built; the caller must be its only holder.
    keep : numpy.ndarray
        Boolean mask over the columns.
    block : int
        Non-zeros handled per step (memory of the temporaries).

    Returns
    -------
    scipy.sparse.csr_matrix
        The kept columns, in their order; the stored entries of each row in their order
        (sorted indices stay sorted), the dtypes of ``X``.

    Examples
    --------
    >>> X = sp.csr_matrix(np.arange(12.0).reshape(3, 4))
    >>> _drop_csr_columns(X.copy(), np.array([True, False, True, True])).toarray()
    array([[ 0.,  2.,  3.],
           [ 4.,  6.,  7.],
           [ 8., 10., 11.]])
    """
    keep = np.asarray(keep, bool)
    n, nk = X.shape[0], int(keep.sum())
    data, ind, ptr = X.data, X.indices, X.indptr
    remap = (np.cumsum(keep) - 1).astype(ind.dtype)
    X.data = X.indices = np.empty(0, ind.dtype)  # X is consumed
    new_ptr = np.zeros(n + 1, ptr.dtype)
    bounds = [0]  # row blocks of about ``block`` non-zeros
    while bounds[-1] < n:
        r0 = bounds[-1]
        r1 = int(np.searchsorted(ptr, ptr[r0] + block, side="right")) - 1
        bounds.append(min(n, max(r1, r0 + 1)))
    for r0, r1 in itertools.pairwise(bounds):
        s = ptr[r0]
        c = np.concatenate(([0], np.cumsum(keep[ind[s:ptr[r1]]], dtype=np.int64)))
        new_ptr[r0 + 1:r1 + 1] = new_ptr[r0] + c[ptr[r0 + 1:r1 + 1] - s]

    def compact(a: np.ndarray, cols: np.ndarray, f=None) -> np.ndarray:
        out = np.empty(int(new_ptr[-1]), a.dtype)
        for r0, r1 in itertools.pairwise(bounds):
            s, e = ptr[r0], ptr[r1]
            v = a[s:e][keep[cols[s:e]]]
            out[new_ptr[r0]:new_ptr[r1]] = v if f is None else f(v)
        return out

    new_data = compact(data, ind)
    del data
    new_ind = compact(ind, ind, lambda v: remap[v])
    del ind
    return sp.csr_matrix((new_data, new_ind, new_ptr), shape=(n, nk), copy=False)


def _drop_csr_rows(X: sp.csr_matrix | sp.csr_array, keep: np.ndarray,
                   block: int = 1 << 18) -> sp.csr_matrix:
    """``X[keep]`` for a CSR matrix, built as :func:`_drop_csr_columns` builds its result.

    Parameters
    ----------
    X : scipy.sparse CSR matrix or array
        Consumed (see :func:`_drop_csr_columns`); the caller must be its only holder.
    keep : numpy.ndarray
        Boolean mask over the rows.
    block : int
        Non-zeros handled per step.

    Returns
    -------
    scipy.sparse.csr_matrix
        The kept rows in their order, each row's entries as stored, the dtypes of ``X``.

    Examples
    --------
    >>> X = sp.csr_matrix(np.arange(12.0).reshape(4, 3))
    >>> _drop_csr_rows(X.copy(), np.array([True, False, True, False])).toarray()
    array([[0., 1., 2.],
           [6., 7., 8.]])
    """
    keep = np.asarray(keep, bool)
    n = X.shape[0]
    data, ind, ptr = X.data, X.indices, X.indptr
    X.data = X.indices = np.empty(0, ind.dtype)  # X is consumed
    lens = np.diff(ptr)
    new_ptr = np.zeros(int(keep.sum()) + 1, ptr.dtype)
    np.cumsum(lens[keep], out=new_ptr[1:])
    bounds = [0]
    while bounds[-1] < n:
        r0 = bounds[-1]
        r1 = int(np.searchsorted(ptr, ptr[r0] + block, side="right")) - 1
        bounds.append(min(n, max(r1, r0 + 1)))

    def compact(a: np.ndarray) -> np.ndarray:
        out = np.empty(int(new_ptr[-1]), a.dtype)
        pos = 0
        for r0, r1 in itertools.pairwise(bounds):
            v = a[ptr[r0]:ptr[r1]][np.repeat(keep[r0:r1], lens[r0:r1])]
            out[pos:pos + v.size] = v
            pos += v.size
        return out

    new_data = compact(data)
    del data
    new_ind = compact(ind)
    del ind
    return sp.csr_matrix((new_data, new_ind, new_ptr), shape=(len(new_ptr) - 1, X.shape[1]),
                         copy=False)


def mad_outlier(x: np.ndarray, nmads: float, scale: float = MAD_NORMAL,
                side: str = "both") -> np.ndarray:
    """Outliers beyond ``nmads`` scaled MADs from the median (scater ``isOutlier``).

    Parameters
    ----------
    x : numpy.ndarray
        Metric values.
    nmads : float
        Number of MADs.
    scale : float
        MAD scale constant (1.4826 = R ``mad()``).
    side : {"both", "higher", "lower"}
        Which tail(s) are outliers.

    Returns
    -------
    numpy.ndarray
        Boolean mask of outliers.

    Examples
    --------
    >>> mad_outlier(np.array([1.0, 2, 3, 4, 100]), 3, side="higher").tolist()
    [False, False, False, False, True]
    """
    x = np.asarray(x, float)
    med = np.median(x)
    mad = scale * np.median(np.abs(x - med))
    hi = x > med + nmads * mad
    lo = x < med - nmads * mad
    return hi if side == "higher" else lo if side == "lower" else hi | lo


def qc(adata: anndata.AnnData, params: QCParams = QCParams(), sample_key: str = "sample"
       ) -> pd.DataFrame:
    """Compute QC metrics, flag and remove failing cells; return removals per sample.

    Metrics (``obs``): ``n_genes_by_counts`` (Seurat nFeature_RNA), ``total_counts``
    (nCount_RNA), ``pct_counts_mt`` (PercentageFeatureSet "^MT-"). Rules: genes per cell
    outside ``[min_genes, max_genes]``; then, among cells passing that rule and within
    each sample, MAD outliers of mito % (high side), log1p counts and log1p genes.

    Parameters
    ----------
    adata : anndata.AnnData
        Raw counts; filtered in place.
    params : QCParams
        Thresholds.
    sample_key : str
        ``obs`` column with the sample of each cell.

    Returns
    -------
    pandas.DataFrame
        Per sample: cells in, removed per reason (a cell may fail several rules),
        removed (any), kept, and the thresholds applied. ``adata.uns["qc_removed"]`` keeps
        the per-cell reasons of the removed cells.

    Examples
    --------
    >>> from remission.singlecell.simulate import simulate, cart_design
    >>> a = simulate(cart_design(n_cells=200), seed=0)
    >>> int(qc(a)["removed"].sum()) > 0
    True
    """
    import scanpy as sc

    adata.var["mt"] = adata.var_names.str.startswith(params.mito_prefix)
    sc.pp.calculate_qc_metrics(adata, qc_vars=["mt"], percent_top=None, log1p=False,
                               inplace=True)
    table, removed, bad = qc_flags(adata.obs, params, sample_key)
    adata.uns["qc_removed"] = removed
    adata.uns["qc_params"] = {k: (v if v is not None else "off")
                              for k, v in params.__dict__.items()}
    _subset_obs(adata, ~bad)
    return table


def qc_flags(obs: pd.DataFrame, params: QCParams = QCParams(), sample_key: str = "sample"
             ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Apply the QC rules of :func:`qc` to per-cell metrics (no count matrix needed).

    Parameters
    ----------
    obs : pandas.DataFrame
        One row per cell with ``n_genes_by_counts``, ``total_counts``,
        ``pct_counts_mt`` and ``sample_key`` (as ``sc.pp.calculate_qc_metrics`` gives).
    params : QCParams
        Thresholds.
    sample_key : str
        Sample column.

    Returns
    -------
    table : pandas.DataFrame
        Per sample: cells in, removed per reason, removed, kept, mito threshold.
    removed : pandas.DataFrame
        Per removed cell (``barcode``): the rules it failed and its sample.
    bad : numpy.ndarray
        Boolean mask of removed cells.

    Examples
    --------
    >>> obs = pd.DataFrame({"n_genes_by_counts": [50, 500, 600], "total_counts": [90, 900,
    ...                     1000], "pct_counts_mt": [1.0, 2.0, 2.0], "sample": "s"})
    >>> qc_flags(obs)[2].tolist()
    [True, False, False]
    """
    ng = obs["n_genes_by_counts"].to_numpy()
    reasons = pd.DataFrame(False, index=obs.index, columns=[
        "genes_below_min", "genes_above_max", "mito_high", "counts_outlier",
        "genes_outlier"])
    reasons["genes_below_min"] = ng < params.min_genes
    reasons["genes_above_max"] = ng > params.max_genes
    base_ok = ~(reasons["genes_below_min"] | reasons["genes_above_max"]).to_numpy()
    rows, thresholds = [], {}
    for s, idx in obs.groupby(sample_key, observed=True).indices.items() \
            if params.by_sample else [("all", np.arange(len(obs)))]:
        ok = idx[base_ok[idx]]
        sub = obs.iloc[ok]
        th = {}
        if params.mito_nmads is not None and len(ok):
            m = sub["pct_counts_mt"].to_numpy()
            out = mad_outlier(m, params.mito_nmads, params.mad_scale, "higher")
            reasons.iloc[ok, 2] = out
            th["mito_max_pct"] = float(np.median(m) + params.mito_nmads * params.mad_scale
                                       * np.median(np.abs(m - np.median(m))))
        for col, key, n in ((3, "total_counts", params.counts_nmads),
                            (4, "n_genes_by_counts", params.genes_nmads)):
            if n is not None and len(ok):
                v = np.log1p(sub[key].to_numpy())
                reasons.iloc[ok, col] = mad_outlier(v, n, params.mad_scale, "both")
        thresholds[s] = th
    bad = reasons.any(axis=1)
    for s, idx in obs.groupby(sample_key, observed=True).indices.items():
        r = reasons.iloc[idx]
        rows.append({"sample": s, "cells_in": len(idx), **r.sum().astype(int).to_dict(),
                     "removed": int(bad.iloc[idx].sum()), "kept": int((~bad.iloc[idx]).sum()),
                     "mito_max_pct": thresholds.get(s if params.by_sample else "all", {})
                     .get("mito_max_pct", np.nan)})
    table = pd.DataFrame(rows).set_index("sample")
    removed = reasons[bad].copy()
    removed[sample_key] = obs.loc[bad, sample_key].astype(str)
    return table, removed.reset_index(names="barcode"), bad.to_numpy()


def _subset_obs(adata: anndata.AnnData, keep: np.ndarray) -> None:
    # anndata's row subset holds the old and the new matrix at once (~3x the counts at
    # the peak, measured); block-wise when nothing but this function holds X (~1.5x)
    X = adata.X
    if sp.issparse(X) and X.format == "csr" and not adata.is_view and not adata.isbacked:
        adata.X = None
        adata._inplace_subset_obs(keep)
        sole = sys.getrefcount(X) <= 2  # this name + getrefcount's argument
        adata.X = _drop_csr_rows(X, keep) if sole else X[keep]
        del X
    else:
        adata._inplace_subset_obs(keep)


def normalize(adata: anndata.AnnData, target_sum: float = 1e4) -> None:
    """Seurat LogNormalize: ``log1p(count / total * target_sum)`` (natural log).

    Raw counts are kept in ``adata.layers["counts"]``. Computed as Seurat does
    (``x / total * scale``, float64), not with scanpy's ``normalize_total``.

    Parameters
    ----------
    adata : anndata.AnnData
        Raw counts in ``X``; replaced by log-normalised values.
    target_sum : float
        Scale factor (Seurat ``scale.factor``, default 1e4).

    Returns
    -------
    None

    Examples
    --------
    >>> import anndata as ad
    >>> a = ad.AnnData(np.array([[1.0, 3.0]]))
    >>> normalize(a); round(float(a.X[0, 0]), 6)
    7.824446
    """
    # Seurat's arithmetic order, x / total * scale then log1p, in float64: equal ratios
    # (1/2000 and 2/4000) stay exactly equal, so Wilcoxon ties match R's
    # (scanpy's normalize_total multiplies by target / total and can split such ties).
    C = adata.X
    if sp.issparse(C) and C.format == "csr":
        # log1p(x / total * scale) > 0 wherever x > 0: X has exactly the counts' sparsity,
        # so it shares their column indices and row pointers (100,000 cells x 20,000
        # genes: ~1 GB less). Canonical first (sorted, no duplicates) so that neither
        # matrix is ever re-sorted in place under the other.
        C.sum_duplicates()
        X = sp.csr_matrix((C.data.astype(np.float64), C.indices, C.indptr), shape=C.shape)
    else:
        X = sp.csr_matrix(C, dtype=np.float64, copy=True)
    # the raw matrix itself becomes the counts layer (X is replaced below): no second copy
    adata.layers["counts"] = C
    total = np.asarray(X.sum(axis=1)).ravel()
    ip = X.indptr
    # in place, a block of rows at a time: same operations and order as the whole-matrix
    # expression (same bits), without cell-length temporaries (100k cells: ~6 GB less)
    with np.errstate(divide="ignore", invalid="ignore"):
        for r0 in range(0, X.shape[0], 8192):
            r1 = min(r0 + 8192, X.shape[0])
            d = X.data[ip[r0]:ip[r1]]
            d /= np.repeat(total[r0:r1], np.diff(ip[r0:r1 + 1]))
            d *= target_sum
            np.log1p(d, out=d)
    adata.X = X
    adata.uns["log1p"] = {"base": None}  # scanpy's marker that X is log1p-transformed
    adata.uns["normalization"] = {"method": "LogNormalize", "scale_factor": target_sum}


def highly_variable(adata: anndata.AnnData, n_top_genes: int = 2000) -> list[str]:
    """Seurat v3 (vst) highly variable genes on raw counts; returns warnings.

    Parameters
    ----------
    adata : anndata.AnnData
        Needs ``layers["counts"]``; ``var["highly_variable"]`` is set.
    n_top_genes : int
        Number of genes (capped at the number of genes).

    Returns
    -------
    list of str
        Warnings (e.g. the loess span had to be widened, where R only warns).

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("counts")
    >>> normalize(a)
    >>> highly_variable(a, n_top_genes=100)  # no warning: the loess fit worked
    []
    >>> int(a.var["highly_variable"].sum())
    100
    """
    import scanpy as sc

    warns: list[str] = []
    n = min(n_top_genes, adata.n_vars)
    try:
        sc.pp.highly_variable_genes(adata, flavor="seurat_v3", n_top_genes=n, layer="counts")
    except ValueError as exc:  # skmisc loess fails on near-singular fits where R warns
        sc.pp.highly_variable_genes(adata, flavor="seurat_v3", n_top_genes=n,
                                    layer="counts", span=0.5)
        warns.append(f"seurat_v3 loess failed with span 0.3 ({exc}); span 0.5 used")
    return warns


def pca(adata: anndata.AnnData, n_comps: int = 50, max_value: float = 10.0,
        seed: int = 0) -> None:
    """Scale the HVGs (clip ``max_value``) and run PCA on them (Seurat ScaleData + RunPCA).

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised, with ``var["highly_variable"]``; gains ``obsm["X_pca"]``.
    n_comps : int
        Number of components (capped by data size).
    max_value : float
        Clip of scaled values.
    seed : int
        No effect: the components come from an eigen-decomposition of the covariance,
        which has no random start (kept for callers of the earlier ARPACK route).

    Returns
    -------
    None

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> pca(a, n_comps=5)
    >>> a.obsm["X_pca"].shape
    (286, 5)
    >>> r = a.uns["pca"]["variance_ratio"]
    >>> bool((r[:-1] >= r[1:]).all())  # components by decreasing variance
    True
    """
    # One dense cells x HVGs float64 matrix, scaled and centred in place: the same
    # operations and order as ``sc.pp.scale`` (same bits) without scanpy's copy of the HVG
    # AnnData, its materialised HVG view and a centred copy (100,000 cells: ~3 x 1.6 GB less).
    X = adata.X[:, adata.var["highly_variable"].to_numpy()]
    X = X.toarray(order="F") if sp.issparse(X) else np.array(X, dtype=np.float64, order="F")
    _scale_inplace(X, max_value)
    k = min(n_comps, X.shape[1] - 1, X.shape[0] - 1)
    x_pca, ratio = _pca_covariance(X, k)
    del X
    adata.obsm["X_pca"] = x_pca.astype(np.float32)  # scanpy's default PCA dtype
    adata.uns["pca"] = {"variance_ratio": ratio, "n_comps": k}


def _pca_covariance(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA scores and variance ratios of ``X`` (centred in place) from its covariance.

    The top ``k`` eigenvectors of ``Xc^T Xc`` (one BLAS-3 product on both cores, then
    LAPACK's ``syevr`` for the top eigenpairs of a genes x genes matrix) are the right
    singular vectors that scanpy's default ``sc.tl.pca(svd_solver="arpack")`` finds by
    ARPACK's Lanczos iterations, each of which reads the whole matrix twice through
    memory-bound matrix-vector products (~4x the CPU at 47,000 cells x 2,000 genes). Signs
    as scikit-learn's PCA (``svd_flip(u_based_decision=False)``: the largest-magnitude
    loading of each component positive); variance ratio = eigenvalue / total variance.
    Equal to the ARPACK route within 1e-6 of the largest score
    (``tests/test_singlecell_pca_memory.py``); Seurat's RunPCA (irlba) is approximate too.
    """
    from scipy.linalg import eigh

    g = X.shape[1]
    X -= X.mean(axis=0)
    C = X.T @ X
    total = float(np.trace(C))
    vals, vecs = eigh(C, subset_by_index=(g - k, g - 1))
    del C
    vals, V = vals[::-1], np.ascontiguousarray(vecs[:, ::-1])
    big = np.argmax(np.abs(V), axis=0)
    V *= np.sign(V[big, np.arange(k)])
    ratio = vals / total if total > 0 else np.zeros(k)
    return X @ V, ratio


def _scale_inplace(X: np.ndarray, max_value: float | None) -> None:
    """``sc.pp.scale(X, max_value=max_value)`` of a C-ordered copy of ``X``, in place.

    ``X`` may be Fortran-ordered. scanpy's column variance squares the whole matrix at
    once (a second dense copy);
    here the squares are summed a block of rows at a time, continuing the same running
    sums in the same row order, which gives the same bits (checked against ``sc.pp.scale`` in
    ``tests/test_singlecell_pca_memory.py``).
    """
    n, g = X.shape
    tot = np.zeros(g, np.float64)
    sq = np.zeros(g, np.float64)
    for r0 in range(0, n, 2048):
        r1 = min(r0 + 2048, n)
        # the running sums as the first row of a C-ordered block: numpy reduces axis 0
        # of a C-ordered array row after row, so this continues one sequence of
        # additions over all rows (0 + a == a), as scanpy's sums over a C-ordered matrix
        blk = np.empty((r1 - r0 + 1, g), np.float64, order="C")
        blk[1:] = X[r0:r1]
        blk[0] = tot
        tot = np.add.reduce(blk, axis=0)
        np.multiply(blk[1:], blk[1:], out=blk[1:])
        blk[0] = sq
        sq = np.add.reduce(blk, axis=0)
        del blk  # before the next block is allocated
    mean = tot / n
    var = (sq / n - mean**2) * (n / (n - 1))
    std = np.sqrt(var)
    std[std == 0] = 1
    X -= mean
    X /= std
    if max_value is not None:
        np.clip(X, -max_value, max_value, out=X)


HARMONY01 = {"theta": 2.0, "lamb": 1.0, "sigma": 0.1, "max_iter_harmony": 10,
             "max_iter_kmeans": 20, "epsilon_cluster": 1e-5, "epsilon_harmony": 1e-4}


def harmony(adata: anndata.AnnData, key: str = "sample", n_pcs: int = 30,
            seed: int = 0) -> None:
    """Harmony on the first ``n_pcs`` PCs with harmony-0.1 parameters (harmonypy).

    harmonypy 2.x defaults are Harmony2-like (dynamic lambda, 4 k-means iterations);
    the R harmony 0.1 values used by the seed are passed explicitly (``HARMONY01``).
    Writes ``obsm["X_pca_harmony"]``; with one batch it copies the PCs.

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obsm["X_pca"]``.
    key : str
        Batch column.
    n_pcs : int
        PCs to integrate.
    seed : int
        harmonypy ``random_state``.

    Returns
    -------
    None

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> pca(a, n_comps=10)
    >>> harmony(a, key="sample", n_pcs=10)
    >>> a.obsm["X_pca_harmony"].shape
    (286, 10)
    >>> b = a[a.obs["sample"] == "product"].copy()
    >>> harmony(b, key="sample", n_pcs=10)  # one batch: nothing to integrate
    >>> bool(np.array_equal(b.obsm["X_pca_harmony"], b.obsm["X_pca"]))
    True
    """
    X = adata.obsm["X_pca"][:, :n_pcs]
    if adata.obs[key].nunique() < 2:
        adata.obsm["X_pca_harmony"] = X.copy()
        return
    import harmonypy

    ho = harmonypy.run_harmony(X, adata.obs[[key]].astype(str), [key], random_state=seed,
                               verbose=False, **HARMONY01)
    Z = np.asarray(ho.Z_corr)
    adata.obsm["X_pca_harmony"] = Z if Z.shape[0] == adata.n_obs else Z.T


REF_SCRUBLET = ("Wolock SL, Lopez R, Klein AM. Scrublet: computational identification of "
                "cell doublets in single-cell transcriptomic data. Cell Syst 2019;8:281-291 "
                "(scanpy 1.11 sc.pp.scrublet).")


def doublets(adata: anndata.AnnData, sample_key: str = "sample", expected_rate: float = 0.05,
             remove: bool = False, seed: int = 0) -> pd.DataFrame:
    """Scrublet doublet scores per sample (scanpy's ``pp.scrublet``) on raw counts.

    Each sample is scored on its own (``batch_key``): Scrublet simulates doublets by adding
    pairs of observed cells, embeds observed and simulated cells together (normalised,
    variance-scaled HVGs, 30 PCs) and scores each cell by the share of simulated doublets
    among its neighbours; the threshold is chosen automatically from the bimodal
    simulated-score distribution.

    Parameters
    ----------
    adata : anndata.AnnData
        Raw counts (after cell QC); gains ``obs["doublet_score"]`` and
        ``obs["predicted_doublet"]``.
    sample_key : str
        Sample column (doublets form within a 10x channel).
    expected_rate : float
        Expected doublet share (10x: about 0.8% per 1,000 cells loaded).
    remove : bool
        Remove predicted doublets (in place).
    seed : int
        Random state.

    Returns
    -------
    pandas.DataFrame
        Per sample: cells, predicted doublets, share, median score, threshold.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny()
    >>> qc_table = qc(a)
    >>> tab = doublets(a)
    >>> list(tab.index), bool(a.obs["doublet_score"].between(0, 1).all())
    (['patient', 'product'], True)
    """
    import scanpy as sc

    sc.pp.scrublet(adata, batch_key=sample_key, expected_doublet_rate=expected_rate,
                   random_state=seed, verbose=False)
    obs = adata.obs
    pred = obs["predicted_doublet"].fillna(False).astype(bool)
    obs["predicted_doublet"] = pred.to_numpy()
    thr = adata.uns.get("scrublet", {}).get("batches", {})
    rows = []
    for s, g in obs.groupby(sample_key, observed=True):
        t = thr.get(str(s), {}).get("threshold", np.nan) if isinstance(thr, dict) else np.nan
        rows.append({"sample": str(s), "cells": len(g),
                     "predicted_doublets": int(g["predicted_doublet"].sum()),
                     "share": float(g["predicted_doublet"].mean()),
                     "median_score": float(g["doublet_score"].median()),
                     "threshold": float(t) if t is not None else np.nan,
                     "removed": int(g["predicted_doublet"].sum()) if remove else 0})
    if remove:
        keep = ~obs["predicted_doublet"].to_numpy()
        adata._inplace_subset_obs(keep)
    return pd.DataFrame(rows).set_index("sample")
