"""Single-cell statistics: FindMarkers-style DE, composition, CD4:CD8 ratio, expansion.

Cells of one patient are not independent replicates: tests here describe the sampling of
cells, not biological variability between patients (Squair JW et al. Nat Commun
2021;12:5692). Results say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    import anndata

PSEUDOREPLICATION = ("cells of one patient are not independent replicates; p-values and "
                     "CIs describe the sampling of cells only (Squair et al. Nat Commun "
                     "2021;12:5692)")
REF_FINDMARKERS = ("Seurat 4 FindMarkers (test.use = 'wilcox', logfc.threshold = 0.25, "
                   "min.pct = 0.1, pseudocount.use = 1, Bonferroni over all genes): Hao Y "
                   "et al. Cell 2021;184:3573-3587.")


def find_markers(adata: anndata.AnnData, mask1: np.ndarray, mask2: np.ndarray,
                 logfc_threshold: float = 0.25, min_pct: float = 0.1,
                 only_pos: bool = False, chunk: int = 2000) -> pd.DataFrame:
    """Wilcoxon DE between two groups of cells with Seurat 4 FindMarkers semantics.

    ``avg_log2FC = log2(mean(expm1(x1)) + 1) - log2(mean(expm1(x2)) + 1)`` on the
    log-normalised data; ``pct.1``/``pct.2`` = share of cells with non-zero values,
    rounded to 3 decimals; genes kept when ``max(pct.1, pct.2) >= min_pct`` and
    ``|avg_log2FC| >= logfc_threshold``; two-sided Wilcoxon rank-sum p-value with tie and
    continuity correction (R ``wilcox.test(exact = FALSE)``); ``p_val_adj`` = Bonferroni
    over all genes of the data (``min(1, p * n_genes)``). Sorted by p then -avg_log2FC.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised ``X`` (all genes).
    mask1, mask2 : numpy.ndarray
        Boolean masks of the two groups (ident.1, ident.2).
    logfc_threshold, min_pct : float
        Seurat's pre-filters.
    only_pos : bool
        Keep only genes higher in group 1.
    chunk : int
        Genes per dense block (memory bound).

    Returns
    -------
    pandas.DataFrame
        Index gene; columns p_val, avg_log2FC, pct.1, pct.2, p_val_adj.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> day10 = (a.obs["time_point"] == "day 10").to_numpy()
    >>> de = find_markers(a, day10, ~day10)
    >>> list(de.columns)
    ['p_val', 'avg_log2FC', 'pct.1', 'pct.2', 'p_val_adj']
    >>> x = de.loc["XIST"]  # female recipient cells appear only at day 10 (male product)
    >>> bool(x["avg_log2FC"] > 1), float(x["pct.2"]), bool(x["p_val_adj"] < 1e-6)
    (True, 0.0, True)
    """
    from scipy.stats import mannwhitneyu

    m1, m2 = np.asarray(mask1, bool), np.asarray(mask2, bool)
    if m1.sum() < 3 or m2.sum() < 3:
        raise ValueError(f"each group needs at least 3 cells (got {m1.sum()} and {m2.sum()})")
    X = adata.X
    n_all = adata.n_vars

    def _mean_pct(M: object) -> tuple[np.ndarray, np.ndarray]:
        if sp.issparse(M):
            M = sp.csr_matrix(M)
            e = M.copy()
            e.data = np.expm1(e.data)
            mean = np.asarray(e.mean(axis=0)).ravel()
            nz = np.asarray((M > 0).sum(axis=0)).ravel()
        else:
            M = np.asarray(M)
            mean = np.expm1(M).mean(axis=0)
            nz = (M > 0).sum(axis=0)
        return mean, np.round(nz / M.shape[0], 3)

    def _mean_pct_rows(mask: np.ndarray, rows: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        # scipy's mean of an expm1 copy of X[mask], without either copy: each value times
        # 1/n, added per column in row order (np.add.at, unbuffered: the same sequence of
        # additions as scipy's sum over the group, so the same bits), a block of rows at a
        # time
        n, g = int(mask.sum()), X.shape[1]
        mean, nz = np.zeros(g), np.zeros(g, np.int64)
        for r0 in range(0, X.shape[0], rows):
            k = mask[r0:r0 + rows]
            if k.any():
                blk = X[r0:r0 + rows][k]
                w = np.expm1(blk.data)
                w *= 1.0 / n
                np.add.at(mean, blk.indices, w)
                np.add.at(nz, blk.indices[blk.data > 0], 1)
        return mean, np.round(nz / n, 3)

    # the two groups' matrices are never held whole beside the input (the genes' columns
    # a chunk at a time below): memory of the out-of-core route's DE step
    if sp.issparse(X) and X.format == "csr" and X.dtype == np.float64:
        (mean1, pct1), (mean2, pct2) = _mean_pct_rows(m1), _mean_pct_rows(m2)
    else:
        mean1, pct1 = _mean_pct(X[m1])
        mean2, pct2 = _mean_pct(X[m2])
    fc = np.log2(mean1 + 1) - np.log2(mean2 + 1)
    keep = np.maximum(pct1, pct2) >= min_pct
    keep &= (fc >= logfc_threshold) if only_pos else (np.abs(fc) >= logfc_threshold)
    genes = np.flatnonzero(keep)
    p = np.full(len(genes), np.nan)
    for s in range(0, len(genes), chunk):
        gsel = genes[s:s + chunk]
        sub = X[:, gsel]
        a, b = sub[m1], sub[m2]
        a = a.toarray() if sp.issparse(a) else np.asarray(a)
        b = b.toarray() if sp.issparse(b) else np.asarray(b)
        with np.errstate(invalid="ignore", divide="ignore"):
            p[s:s + chunk] = mannwhitneyu(a, b, axis=0, method="asymptotic",
                                          use_continuity=True,
                                          alternative="two-sided").pvalue
    out = pd.DataFrame({"p_val": p, "avg_log2FC": fc[genes], "pct.1": pct1[genes],
                        "pct.2": pct2[genes]}, index=adata.var_names[genes])
    out["p_val_adj"] = np.minimum(1.0, out["p_val"] * n_all)
    out = out.iloc[np.lexsort((-out["avg_log2FC"].to_numpy(), out["p_val"].to_numpy()))]
    out.index.name = "gene"
    return out


def composition(obs: pd.DataFrame, by: str, of: str) -> pd.DataFrame:
    """Counts and shares of ``of`` within each level of ``by`` (tidy).

    Parameters
    ----------
    obs : pandas.DataFrame
        Cell metadata.
    by, of : str
        Grouping column (e.g. sample) and the category column (e.g. cell type).

    Returns
    -------
    pandas.DataFrame
        Columns by, of, n, total, share.

    Examples
    --------
    >>> o = pd.DataFrame({"s": ["a", "a", "b"], "t": ["x", "y", "x"]})
    >>> composition(o, "s", "t")["share"].tolist()
    [0.5, 0.5, 1.0, 0.0]
    """
    ct = pd.crosstab(obs[by].astype(str), obs[of].astype(str))
    tidy = ct.stack().rename("n").reset_index()
    tidy.columns = [by, of, "n"]
    tidy["total"] = tidy[by].map(ct.sum(axis=1))
    tidy["share"] = tidy["n"] / tidy["total"]
    return tidy


def ratio_ci(n_num: int, n_den: int, level: float = 0.95) -> tuple[float, float, float]:
    """Ratio ``n_num / n_den`` with an exact (Clopper-Pearson) CI.

    The CI of ``p = n_num / (n_num + n_den)`` is mapped through ``p / (1 - p)``.

    Parameters
    ----------
    n_num, n_den : int
        Counts (e.g. CD4+ and CD8+ CAR+ cells).
    level : float
        Confidence level.

    Returns
    -------
    tuple of float
        ratio, lower, upper (inf when the denominator count is 0).

    Examples
    --------
    >>> r, lo, hi = ratio_ci(30, 10)
    >>> r, lo < 3, 3 < hi
    (3.0, True, True)
    """
    from scipy.stats import beta

    n = n_num + n_den
    a = 1 - level
    lo_p = beta.ppf(a / 2, n_num, n_den + 1) if n_num > 0 else 0.0
    hi_p = beta.ppf(1 - a / 2, n_num + 1, n_den) if n_den > 0 else 1.0
    def odds(p: float) -> float:
        return np.inf if p >= 1 else p / (1 - p)
    if n == 0:
        return np.nan, np.nan, np.nan
    ratio = np.inf if n_den == 0 else n_num / n_den
    return float(ratio), float(odds(lo_p)), float(odds(hi_p))


def lineage(labels: pd.Series, counts_cd4: np.ndarray, counts_cd8: np.ndarray) -> np.ndarray:
    """CD4 / CD8 lineage of T cells: from the subset label, else from CD4 vs CD8A+CD8B UMIs.

    Parameters
    ----------
    labels : pandas.Series
        Cell-type labels ("CD4 ...", "Treg", "CD8 ...", others).
    counts_cd4, counts_cd8 : numpy.ndarray
        Raw UMIs of CD4 and of CD8A + CD8B per cell.

    Returns
    -------
    numpy.ndarray
        "CD4", "CD8" or "undetermined".

    Examples
    --------
    >>> lineage(pd.Series(["Treg", "CD8 naive", "T proliferating"]), np.array([0, 0, 2]),
    ...         np.array([0, 1, 0])).tolist()
    ['CD4', 'CD8', 'CD4']
    """
    lab = labels.astype(str).to_numpy()
    by_label = np.where(np.char.startswith(lab.astype(str), "CD4") | (lab == "Treg"), "CD4",
                        np.where(np.char.startswith(lab.astype(str), "CD8"), "CD8", ""))
    by_expr = np.where((counts_cd4 > 0) & (counts_cd8 == 0), "CD4",
                       np.where((counts_cd8 > 0) & (counts_cd4 == 0), "CD8", "undetermined"))
    return np.where(by_label != "", by_label, by_expr)


def expansion(obs: pd.DataFrame, time_key: str, first: str, later: str, of: str,
              level: float = 0.95) -> pd.DataFrame:
    """Change in the share of each category from ``first`` to ``later`` (Fisher's exact).

    Parameters
    ----------
    obs : pandas.DataFrame
        Cells (already restricted, e.g. to CAR+ T cells).
    time_key : str
        Column with the time points.
    first, later : str
        The two time points (product, peak).
    of : str
        Category column (cell type).
    level : float
        Not used for the test; kept for the CI of the odds ratio (Woolf, 0.5 added when a
        cell is 0).

    Returns
    -------
    pandas.DataFrame
        Per category: n and share at each time, share difference, odds ratio with CI,
        Fisher p, BH-adjusted p, direction.

    Examples
    --------
    >>> o = pd.DataFrame({"t": ["a"] * 20 + ["b"] * 20,
    ...                   "c": ["x"] * 5 + ["y"] * 15 + ["x"] * 15 + ["y"] * 5})
    >>> expansion(o, "t", "a", "b", "c").loc["x", "direction"]
    'up'
    """
    from scipy.stats import fisher_exact, norm
    from statsmodels.stats.multitest import multipletests

    o = obs[obs[time_key].astype(str).isin([first, later])]
    t = o[time_key].astype(str)
    N1, N2 = int((t == first).sum()), int((t == later).sum())
    z = norm.ppf(0.5 + level / 2)
    rows = []
    for cat in sorted(o[of].astype(str).unique()):
        is_c = (o[of].astype(str) == cat).to_numpy()
        a, b = int((is_c & (t == later).to_numpy()).sum()), int((is_c & (t == first)
                                                                  .to_numpy()).sum())
        c, d = N2 - a, N1 - b
        _, p = fisher_exact([[a, c], [b, d]])
        aa, bb, cc, dd = (x + 0.5 for x in (a, b, c, d)) if 0 in (a, b, c, d) \
            else (a, b, c, d)
        lor = np.log(aa * dd / (bb * cc))
        se = np.sqrt(1 / aa + 1 / bb + 1 / cc + 1 / dd)
        s1, s2 = b / N1 if N1 else np.nan, a / N2 if N2 else np.nan
        rows.append({of: cat, f"n_{first}": b, f"share_{first}": s1, f"n_{later}": a,
                     f"share_{later}": s2, "share_difference": s2 - s1,
                     "odds_ratio": float(np.exp(lor)), "or_lower": float(np.exp(lor - z * se)),
                     "or_upper": float(np.exp(lor + z * se)), "p_value": float(p)})
    tab = pd.DataFrame(rows).set_index(of)
    if len(tab):
        tab["p_adj_bh"] = multipletests(tab["p_value"], method="fdr_bh")[1]
        tab["direction"] = np.where(tab["p_adj_bh"] >= 0.05, "no evidence of change",
                                    np.where(tab["share_difference"] > 0, "up", "down"))
    return tab


def top_genes(de: pd.DataFrame, n: int = 20, up: bool = True) -> Sequence[str]:
    """Top ``n`` genes of a FindMarkers table by p-value in one direction.

    Parameters
    ----------
    de : pandas.DataFrame
        From :func:`find_markers`.
    n : int
        How many.
    up : bool
        Higher in group 1 (True) or lower.

    Returns
    -------
    list of str
        Gene names.

    Examples
    --------
    >>> d = pd.DataFrame({"p_val": [0.1, 0.01], "avg_log2FC": [1.0, -1.0]}, index=["A", "B"])
    >>> top_genes(d, 1)
    ['A']
    """
    d = de[de["avg_log2FC"] > 0] if up else de[de["avg_log2FC"] < 0]
    return list(d.sort_values("p_val").index[:n])


REF_PSEUDOBULK = ("Squair JW, Gautier M, Kathe C et al. Confronting false discoveries in "
                  "single-cell differential expression. Nat Commun 2021;12:5692 (pseudobulk "
                  "DESeq2 across replicate samples).")


def pseudobulk(adata: anndata.AnnData, mask: np.ndarray | None = None,
               sample_key: str = "sample", layer: str = "counts",
               keep: Sequence[str] = ("time_point", "patient")) -> tuple[pd.DataFrame,
                                                                      pd.DataFrame]:
    """Sum raw counts of the selected cells per sample (pseudobulk).

    Parameters
    ----------
    adata : anndata.AnnData
        Raw counts in ``layers[layer]`` (or ``X`` when the layer is absent).
    mask : numpy.ndarray, optional
        Cells to pool (e.g. one cell type); default all.
    sample_key : str
        ``obs`` column naming the biological sample.
    layer : str
        Raw-count layer.
    keep : sequence of str
        Sample-level ``obs`` columns carried into the sample table when present.

    Returns
    -------
    counts : pandas.DataFrame
        Genes x samples, integer sums.
    samples : pandas.DataFrame
        Index = sample; ``n_cells`` and the ``keep`` columns.

    Examples
    --------
    >>> import anndata as ad
    >>> a = ad.AnnData(sp.csr_matrix(np.array([[1, 0], [2, 3], [4, 1]])),
    ...                obs=pd.DataFrame({"sample": ["s1", "s1", "s2"]}, index=list("abc")))
    >>> c, s = pseudobulk(a)
    >>> c.to_numpy().tolist(), s["n_cells"].tolist()
    ([[3, 4], [3, 1]], [2, 1])
    """
    m = np.ones(adata.n_obs, bool) if mask is None else np.asarray(mask, bool)
    M = adata.layers.get(layer, adata.X)
    M = sp.csr_matrix(M)[m]
    smp = adata.obs[sample_key].astype(str).to_numpy()[m]
    names = sorted(set(smp))
    code = np.searchsorted(names, smp)
    ind = sp.csr_matrix((np.ones(len(code)), (code, np.arange(len(code)))),
                        shape=(len(names), len(code)))
    sums = np.asarray((ind @ M).todense())
    counts = pd.DataFrame(np.rint(sums).astype(np.int64).T, index=adata.var_names.astype(str),
                          columns=pd.Index(names, name=sample_key))
    obs = adata.obs[m]
    tab = pd.DataFrame({"n_cells": np.bincount(code, minlength=len(names))},
                       index=pd.Index(names, name=sample_key))
    for c in keep:
        if c in obs:
            tab[c] = obs.groupby(smp, observed=True)[c].first().astype(str).reindex(names)
    return counts, tab


def pseudobulk_de(adata: anndata.AnnData, mask: np.ndarray, group_key: str, control: str,
                  treatment: str, sample_key: str = "sample", min_cells: int = 10,
                  alpha: float = 0.05) -> tuple[pd.DataFrame | None, pd.DataFrame, list[str]]:
    """DESeq2 on per-sample sums of the selected cells: ``treatment`` vs ``control``.

    Samples with fewer than ``min_cells`` selected cells are dropped; each group needs at
    least 2 remaining samples (replicates), otherwise no test is run. When the sample
    table has a ``patient`` column with repeated patients, the design is
    ``~ patient + group`` (paired samples).

    Parameters
    ----------
    adata : anndata.AnnData
        Raw counts in ``layers["counts"]``; ``obs[sample_key]`` and ``obs[group_key]``.
    mask : numpy.ndarray
        Cells to pool (e.g. CD4 effector memory cells).
    group_key : str
        Sample-level grouping (e.g. ``time_point``).
    control, treatment : str
        Reference and compared levels.
    sample_key : str
        Biological sample column.
    min_cells : int
        Minimum pooled cells per sample.
    alpha : float
        FDR level (DESeq2 independent filtering).

    Returns
    -------
    de : pandas.DataFrame or None
        DESeq2 table (baseMean, log2FoldChange, lfcSE, stat, pvalue, padj, shrunken
        log2FC) or None when there are too few replicates.
    samples : pandas.DataFrame
        The pseudobulk sample table (with ``used``).
    warnings : list of str
        Why samples were dropped or no test was run; PyDESeq2's warnings.

    Examples
    --------
    >>> from remission.singlecell.simulate import replicate_design, simulate
    >>> a = simulate(replicate_design(n_patients=2, n_cells=80, n_genes=300), seed=1)
    >>> a.layers["counts"] = a.X
    >>> cd4em = (a.obs["truth_population"] == "CD4 effector memory").to_numpy()
    >>> de, samples, w = pseudobulk_de(a, cd4em, "time_point", "product", "day 9")
    >>> int(samples["used"].sum()), bool(de.loc["GZMB", "log2FoldChange"] > 0)
    (4, True)
    """
    from remission.stats.deseq import run_deseq2

    keep = [group_key] + (["patient"] if "patient" in adata.obs else [])
    counts, samples = pseudobulk(adata, mask, sample_key, keep=keep)
    samples["group"] = samples[group_key]
    samples["used"] = samples["group"].isin([control, treatment]) & \
        (samples["n_cells"] >= min_cells)
    warns = [f"sample {s} left out: {n} cells (< {min_cells})" for s, n in
             samples.loc[samples["group"].isin([control, treatment])
                         & (samples["n_cells"] < min_cells), "n_cells"].items()]
    used = samples[samples["used"]]
    n_per = used["group"].value_counts()
    if min(n_per.get(control, 0), n_per.get(treatment, 0)) < 2:
        warns.append(f"pseudobulk DE needs >= 2 samples per group with >= {min_cells} cells "
                     f"(have {n_per.get(control, 0)} {control}, {n_per.get(treatment, 0)} "
                     f"{treatment}); not run")
        return None, samples, warns
    meta = used[["group"]].copy()
    if "patient" in used and used["patient"].duplicated().any():
        meta["batch"] = used["patient"]
    cts = counts[used.index]
    cts = cts[cts.sum(axis=1) > 0]
    de = run_deseq2(cts, meta, control, treatment, alpha=alpha)
    warns += list(de.attrs.get("warnings", []))
    if min(n_per[control], n_per[treatment]) < 3:
        warns.append("fewer than 3 samples in a group: dispersion estimates are unstable")
    return de.sort_values(["pvalue", "baseMean"], ascending=[True, False]), samples, warns
