"""DESeq2 differential expression of count tables (PyDESeq2), shared by lab and singlecell.

Median-of-ratios size factors, negative-binomial GLM with empirical-Bayes shrunken
dispersions, Wald test, Cook's-distance outlier refit and independent filtering of adjusted
p-values (Love et al. 2014), computed by PyDESeq2 (Muzellec et al. 2023); optional apeGLM
shrinkage of the log2 fold changes (Zhu et al. 2019) for ranking and plots. Checked against
R DESeq2 in ``tests/test_lab_rnaseq.py`` and ``tests/test_singlecell_pseudobulk.py``.
"""

from __future__ import annotations

import warnings

import pandas as pd

REF_DESEQ2 = (
    "Love MI, Huber W, Anders S. Moderated estimation of fold change and dispersion for "
    "RNA-seq data with DESeq2. Genome Biol 2014;15:550."
)
REF_PYDESEQ2 = (
    "Muzellec B, Telenczuk M, Cabeli V, Andreux M. PyDESeq2: a python package for bulk "
    "RNA-seq differential expression analysis. Bioinformatics 2023;39:btad547."
)
REF_APEGLM = (
    "Zhu A, Ibrahim JG, Love MI. Heavy-tailed prior distributions for sequence count data: "
    "removing the noise and preserving large differences. Bioinformatics 2019;35:2084-2092."
)


def run_deseq2(counts: pd.DataFrame, samples: pd.DataFrame, control: str, treatment: str,
               shrink: bool = True, n_cpus: int = 1, alpha: float = 0.05) -> pd.DataFrame:
    """DESeq2 Wald test of ``treatment`` vs ``control`` (column ``group`` of ``samples``).

    Parameters
    ----------
    counts : pandas.DataFrame
        Raw integer counts, genes x samples.
    samples : pandas.DataFrame
        Index = sample; ``group`` and optional ``batch``.
    control, treatment : str
        Levels of ``group`` (reference first).
    shrink : bool
        Add apeGLM-shrunken fold changes.
    n_cpus : int
        PyDESeq2 workers.
    alpha : float
        FDR level of independent filtering.

    Returns
    -------
    pandas.DataFrame
        Per gene (see below); ``attrs["warnings"]`` holds PyDESeq2's warnings.

    Examples
    --------
    >>> # see tests/test_lab_rnaseq.py (checked against R DESeq2)

    Notes
    -----

    ``counts``: genes x samples (index = gene); ``samples``: index = sample, column
    ``group`` and optional ``batch`` (then the design is ``~ batch + group``).
    Returns per gene: baseMean, log2FoldChange (MLE), lfcSE, stat, pvalue, padj and, if
    ``shrink``, log2FC_shrunk / lfcSE_shrunk (apeGLM). ``alpha`` is DESeq2's
    ``results(alpha=)``: the FDR level that independent filtering optimises, so it changes
    padj, not only which genes are called.
    """
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats
    from threadpoolctl import threadpool_limits

    keep = samples.index[samples["group"].isin([control, treatment])]
    cts = counts[keep].T.astype(int)
    meta = pd.DataFrame(index=keep)
    design = "~group"
    if "batch" in samples and samples.loc[keep, "batch"].nunique() > 1:
        meta["batch"] = pd.Categorical(samples.loc[keep, "batch"].astype(str))
        design = "~batch + group"
    meta["group"] = pd.Categorical(samples.loc[keep, "group"], categories=[control, treatment])
    inference = DefaultInference(n_cpus=n_cpus)
    # small per-gene problems: one BLAS thread each (several threads only contend here)
    with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dds = DeseqDataSet(counts=cts, metadata=meta, design=design, inference=inference,
                           quiet=True)
        dds.deseq2()
        ds = DeseqStats(dds, contrast=["group", treatment, control], inference=inference,
                        alpha=alpha, quiet=True)
        ds.summary()
        res = ds.results_df.copy()
        if shrink:
            coeff = [c for c in dds.varm["LFC"].columns if c.startswith("group")
                     and treatment in c]
            ds.lfc_shrink(coeff=coeff[0])
            res["log2FC_shrunk"] = ds.results_df["log2FoldChange"]
            res["lfcSE_shrunk"] = ds.results_df["lfcSE"]
    res.index = res.index.astype(str)
    res.index.name = "gene"
    res.attrs["warnings"] = [f"PyDESeq2: {w.message}" for w in caught
                             if issubclass(w.category, UserWarning)]
    return res
