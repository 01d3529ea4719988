"""The whole single-cell analysis: AnnData of raw counts in, AnnData + Results out.

Steps (seed 002's Methods, in Python): CAR features to ``obs`` -> QC -> LogNormalize ->
HVG (seurat_v3) -> scale + PCA -> Harmony (harmony-0.1 parameters) -> graph + clusters
(Seurat SNN/Louvain or scanpy/Leiden) -> optional UMAP -> marker annotation -> origin ->
composition, CAR+ fraction, CD4:CD8 ratio of CAR+ cells, expansion first -> later time
point, DE (FindMarkers semantics) in a chosen subset, module scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from remission.results import Result
from remission.singlecell import labeltransfer, pp, stats, tl
from remission.singlecell.markers import MARKER_SETS, MODULES

if TYPE_CHECKING:
    import anndata

SECTION = "singlecell"


@dataclass(frozen=True)
class Params:
    """Parameters of :func:`profile` (defaults reproduce seed 002's Methods).

    ``time_order`` names the earlier and later time points (``obs["time_point"]``
    values) for expansion and DE; ``de_labels`` restricts DE to cells with these labels
    (``None`` = all cells) and ``de_car_only`` to CAR-detected cells. ``reference``
    (a labelled :class:`~remission.singlecell.labeltransfer.Reference`) adds SingleR-style
    label transfer beside the marker-based labels. ``genesets`` (name -> (description,
    genes)) replaces the shipped sets for enrichment of DE genes (``None`` = shipped).
    ``neighbors`` is the neighbour search of the SNN and UMAP graphs ("auto": exact below
    :data:`remission.singlecell.tl.APPROX_MIN_CELLS` cells, pynndescent from there, as
    Seurat's Annoy search; "exact"; "approximate").
    """

    construct_features: tuple[str, ...] = ()
    car_min_umis: int = 1
    qc: pp.QCParams = field(default_factory=pp.QCParams)
    target_sum: float = 1e4
    n_top_genes: int = 2000
    n_comps: int = 50
    n_dims: int = 30
    mode: str = "seurat"
    resolution: float | None = None
    umap: bool = False
    neighbors: str = "auto"
    donor_sex: str | None = None
    time_order: tuple[str, str] | None = None
    de_labels: tuple[str, ...] | None = None
    de_car_only: bool = True
    annotation_min_score: float = 0.1
    annotation_min_margin: float = 0.05
    reference: labeltransfer.Reference | None = None
    genesets: dict | None = None
    go_genesets: bool = True
    pseudobulk_min_cells: int = 10
    seed: int = 0


STEPS = ("CAR extraction", "QC", "doublets", "HVG", "LogNormalize", "scale + PCA", "Harmony",
         "graph + clusters", "UMAP", "annotation", "reference labels", "tables", "DE",
         "pseudobulk DE", "enrichment", "module scores")
"""Names :func:`profile` passes to ``on_step``, in order (optional steps only when run;
"tables" = composition, CAR+, CD4:CD8, origin and expansion tables)."""


def _no_step(name: str) -> None:
    return None


@dataclass
class Profile:
    """Output of :func:`profile`: the processed AnnData and the Results."""

    adata: anndata.AnnData
    results: list[Result]
    de: pd.DataFrame | None = None


def profile(adata: anndata.AnnData, params: Params, copy: bool = True,
            on_step: Callable[[str], None] | None = None) -> Profile:
    """Run the single-cell analysis on raw counts of one or more samples.

    Parameters
    ----------
    adata : anndata.AnnData
        Raw integer counts (cells x features incl. construct features); ``obs`` has
        ``sample``, ``time_point`` and ``source``. Not modified unless ``copy=False``.
    params : Params
        Analysis parameters.
    copy : bool
        Work on a copy (default) or in place (halves peak memory on large data).
    on_step : callable, optional
        Called with a step's name (one of :data:`STEPS`) as that step starts, e.g. to time
        each step (``benchmarks/bench_singlecell.py``); results do not depend on it.

    Returns
    -------
    Profile
        Processed AnnData (log-normalised ``X``, ``layers["counts"]``, embeddings,
        ``obs`` cluster / cell_type / car_detected / origin / module scores) and Results
        (section "singlecell").

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> p = Params(construct_features=("CAR-CD123-scFv", "CAR-WPRE"), n_top_genes=200,
    ...            n_comps=15, n_dims=15, donor_sex="male", time_order=("product", "day 10"),
    ...            de_labels=("NK CD56dim CD16high",), de_car_only=False)
    >>> prof = profile(tiny(), p)
    >>> [r.name for r in prof.results]  # doctest: +NORMALIZE_WHITESPACE
    ['singlecell.qc', 'singlecell.clusters', 'singlecell.composition', 'singlecell.car',
     'singlecell.cd4_cd8', 'immunogenetics.origin_by_cluster', 'singlecell.expansion.all',
     'singlecell.expansion.car', 'singlecell.de', 'singlecell.enrichment',
     'singlecell.modules']
    >>> o = prof.results[5].table.loc[("patient", "day 10", "NK CD56dim CD16high")]
    >>> bool(o["donor_share"] > 0.9)  # seed 004: the expanded NK cells are the product's
    True
    """
    a = adata.copy() if copy else adata
    results: list[Result] = []
    warns: list[str] = []
    car_tab = None
    step = on_step or _no_step
    if params.construct_features:
        step("CAR extraction")
        car_tab = pp.extract_car(a, params.construct_features, params.car_min_umis)
    step("QC")
    qc_tab = pp.qc(a, params.qc)
    results.append(_qc_result(qc_tab, params.qc))
    if params.qc.doublets:
        step("doublets")
        results.append(_doublet_result(pp.doublets(a, expected_rate=params.qc.doublet_rate,
                                                   remove=params.qc.remove_doublets,
                                                   seed=params.seed), params.qc))
    # HVGs (seurat_v3 reads raw counts only) before LogNormalize: scanpy copies the counts
    # inside highly_variable_genes, and doing that before the float64 log-normalised matrix
    # exists keeps the peak lower (100k cells x 20k genes: ~9.7 GB -> ~6 GB); same result
    step("HVG")
    a.layers["counts"] = a.X
    warns += pp.highly_variable(a, params.n_top_genes)
    step("LogNormalize")
    pp.normalize(a, params.target_sum)
    step("scale + PCA")
    pp.pca(a, params.n_comps, seed=params.seed)
    return after_pca(a, params, results, warns, car_tab is not None, on_step=step)


def after_pca(a: anndata.AnnData, params: Params, results: list[Result],
              warns: list[str], car: bool,
              de: bool | Callable[[anndata.AnnData], anndata.AnnData] = True,
              pool_means: pd.Series | None = None,
              on_step: Callable[[str], None] | None = None) -> Profile:
    """The steps of :func:`profile` from Harmony on, on an AnnData that has ``X_pca``.

    Shared by :func:`profile` and the out-of-core route
    (:func:`remission.singlecell.outofcore.profile_h5ad`), which builds ``a`` from a file
    larger than memory with only the genes the later steps read.

    Parameters
    ----------
    a : anndata.AnnData
        Log-normalised ``X``, ``layers["counts"]``, ``obsm["X_pca"]``; modified in place.
    params : Params
        Analysis parameters.
    results : list of Result
        Results so far (QC, doublets); appended to.
    warns : list of str
        Warnings so far (HVG selection), reported with the clusters.
    car : bool
        Construct features were extracted (``obs["car_detected"]`` exists).
    de : bool or callable
        Run differential expression, pseudobulk and enrichment on ``a`` (``True``), not
        at all (``False``), or on the AnnData the callable returns for ``a`` (every gene
        of the cells they compare, when ``a`` holds only some genes).
    pool_means : pandas.Series, optional
        Mean expression of every gene when ``a`` holds only some genes: marker and
        module scores then draw their control genes from all genes (see
        :func:`remission.singlecell.tl.set_scores`).
    on_step : callable, optional
        As in :func:`profile`.

    Returns
    -------
    Profile
        As :func:`profile`.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> pp.pca(a, n_comps=10)
    >>> prof = after_pca(a, Params(n_dims=10), [], [], car=False)  # doctest: +SKIP
    >>> [r.name for r in prof.results][:2]  # doctest: +SKIP
    ['singlecell.clusters', 'singlecell.composition']

    (Skipped in the doctest run for time: :func:`profile`'s example runs it.)
    """
    step = on_step or _no_step
    n_dims = min(params.n_dims, a.obsm["X_pca"].shape[1])
    step("Harmony")
    pp.harmony(a, "sample", n_pcs=n_dims, seed=params.seed)
    step("graph + clusters")
    info = tl.cluster(a, params.mode, params.resolution, n_dims=n_dims, seed=params.seed,
                      neighbors=params.neighbors)
    if params.umap:
        step("UMAP")
        tl.umap(a, n_dims=n_dims, neighbors=params.neighbors)
    step("annotation")
    ann = tl.annotate(a, min_score=params.annotation_min_score,
                      min_margin=params.annotation_min_margin, seed=params.seed,
                      pool_means=pool_means)
    results.append(_cluster_result(ann, info, warns))
    if params.reference is not None:
        step("reference labels")
        labeltransfer.transfer_labels(a, params.reference)
        results.append(_reference_result(a))
    step("tables")
    results.append(_composition_result(a))
    if car:
        results.append(_car_result(a))
        results.append(_ratio_result(a))
    if "origin" in a.obs:  # per-cell assignment supplied (e.g. vireo)
        a.obs["origin"] = a.obs["origin"].astype(str)
        results.append(_origin_result(a, "file"))
    elif params.donor_sex:
        tl.sex_origin(a, params.donor_sex)
        results.append(_origin_result(a, "sex"))
    de_tab = None
    if params.time_order:
        results += _expansion_results(a, params)
    if params.time_order and de is not False:
        d = a if de is True else de(a)
        step("DE")
        de_res, de_tab = _de_result(d, params)
        step("pseudobulk DE")
        pb_res, pb, pb_warns = _pseudobulk_result(d, params)
        if de_res is not None:
            if pb_res is None:
                de_res = replace(de_res, warnings=(*de_res.warnings, *pb_warns))
            results.append(de_res)
        if pb_res is not None:
            results.append(pb_res)
        step("enrichment")
        enr = _enrichment_result(d, params, de_tab, pb)
        if enr is not None:
            results.append(enr)
    step("module scores")
    tl.module_scores(a, seed=params.seed, pool_means=pool_means)
    results.append(_module_result(a))
    return Profile(a, results, de_tab)


def _qc_result(tab: pd.DataFrame, q: pp.QCParams) -> Result:
    return Result(
        name="singlecell.qc", title="Single-cell QC: cells removed per sample and why",
        table=tab, section=SECTION,
        method=(f"Cells with detected genes outside [{q.min_genes}, {q.max_genes}] removed; "
                f"then per sample, mitochondrial % above median + {q.mito_nmads} MADs, and "
                f"log counts / log genes beyond {q.counts_nmads} / {q.genes_nmads} MADs "
                f"(MAD scaled by {q.mad_scale}, as R mad()). A cell may fail several rules."),
        rationale="Seed 002 (Seurat 4.1.1): genes 100-30000, MAD rule on mitochondrial %; "
                  "scater isOutlier conventions for the MAD rules.",
        references=("McCarthy DJ et al. Bioinformatics 2017;33:1179-1186 (scater).",),
        params={k: str(v) for k, v in q.__dict__.items()})


def _doublet_result(tab: pd.DataFrame, q: pp.QCParams) -> Result:
    return Result(
        name="singlecell.doublets", title="Doublet scores per sample (Scrublet)",
        table=tab, section=SECTION,
        method=(f"Scrublet per sample on raw counts after cell QC (expected doublet rate "
                f"{q.doublet_rate}); threshold chosen automatically from the simulated-"
                "doublet score distribution. Predicted doublets were "
                + ("removed before normalisation." if q.remove_doublets else
                   "flagged (obs predicted_doublet) but kept.")),
        rationale="Doublets of two cell types form spurious intermediate clusters and blur "
                  "composition; Scrublet finds heterotypic doublets, not doublets of two "
                  "cells of the same type.",
        warnings=("Homotypic doublets (two cells of one type) are not detectable by "
                  "expression; predicted shares are a lower bound.",),
        references=(pp.REF_SCRUBLET,),
        params={"expected_rate": q.doublet_rate, "removed": q.remove_doublets})


def _cluster_result(ann: pd.DataFrame, info: dict, warns: Sequence[str]) -> Result:
    w = list(warns)
    n_un = int((ann["status"] == "unassigned").sum())
    if n_un:
        w.append(f"{n_un} cluster(s) left unassigned: no marker set scored convincingly")
    return Result(
        name="singlecell.clusters", title="Clusters and their marker-based labels",
        table=ann, section=SECTION,
        method=(f"LogNormalize (1e4), seurat_v3 HVGs, scaling (clip 10), PCA, Harmony; "
                f"{info['graph']}, {info['algorithm']} at resolution {info['resolution']}. "
                "Labels: curated marker sets (positive minus negative module scores); a label "
                "is given only if its score and margin over the runner-up pass thresholds; "
                "confidence = share of the cluster's cells whose own best set agrees."),
        rationale="Marker-based labels are never forced: unconvincing clusters stay "
                  "'unassigned'.",
        warnings=tuple(w),
        references=(tl.REF_SEURAT, tl.REF_HARMONY, tl.REF_LOUVAIN if info["mode"] == "seurat"
                    else tl.REF_LEIDEN, *sorted({m.source for m in MARKER_SETS})),
        params={k: v for k, v in info.items()})


def _reference_result(a: anndata.AnnData) -> Result:
    info = a.uns["ref_transfer"]
    obs = a.obs
    rows = []
    for cl, g in obs.groupby("cluster", observed=True):
        called = g.loc[g["ref_pruned_label"] != "pruned", "ref_pruned_label"]
        top = called.value_counts()
        lab = str(top.index[0]) if len(top) else "pruned"
        rows.append({"cluster": str(cl), "n_cells": len(g),
                     "marker_label": str(g["cell_type"].iloc[0]),
                     "reference_label": lab,
                     "reference_share": float(top.iloc[0] / len(g)) if len(top) else 0.0,
                     "pruned": int((g["ref_pruned_label"] == "pruned").sum()),
                     "agree": lab == str(g["cell_type"].iloc[0])})
    tab = pd.DataFrame(rows).set_index("cluster")
    called = obs["ref_pruned_label"] != "pruned"
    agree_cells = float((obs.loc[called, "ref_pruned_label"].astype(str)
                         == obs.loc[called, "cell_type"].astype(str)).mean()) \
        if called.any() else float("nan")
    w = []
    n_pr = int((~called).sum())
    if n_pr:
        w.append(f"{n_pr} cell(s) pruned: their reference label was not convincing "
                 "(left without a label, never forced)")
    dis = tab.index[~tab["agree"]].tolist()
    if dis:
        w.append("reference and marker labels disagree for cluster(s) "
                 + ", ".join(dis) + "; check the reference covers these populations")
    return Result(
        name="singlecell.reference_labels",
        title="Reference label transfer (SingleR-style) beside the marker labels",
        table=tab, section=SECTION,
        method=(f"Per cell: Spearman correlation with each profile of the reference "
                f"'{info['source']}' over {info['n_marker_genes']} marker genes (classic "
                f"markers, {info['de_n']} per label pair, of {info['n_common_genes']} "
                "shared genes); label score = 0.8 quantile; fine-tuning on the markers of "
                "labels within 0.05 of the best; pruned when the score margin is below the "
                "label's median - 3 MADs. Per cluster: the most frequent unpruned label."),
        rationale="An independent, reference-based label beside the curated marker sets "
                  "(seed 002 used SingleR with the Human Primary Cell Atlas; no reference "
                  "is downloaded, the study supplies its own).",
        warnings=tuple(w), references=(labeltransfer.REF_SINGLER,),
        params={"cells_agreeing_with_marker_labels": agree_cells,
                "labels": ", ".join(info["labels"])})


def _composition_result(a: anndata.AnnData) -> Result:
    tab = stats.composition(a.obs, "sample", "cell_type").set_index(["sample", "cell_type"])
    return Result(name="singlecell.composition", title="Cell-type composition per sample",
                  table=tab, section=SECTION,
                  method="Counts and shares of marker-based labels among QC-passing cells.",
                  warnings=(stats.PSEUDOREPLICATION,))


def _car_result(a: anndata.AnnData) -> Result:
    from statsmodels.stats.proportion import proportion_confint

    rows = []
    for (s, lab), g in a.obs.groupby(["sample", "cell_type"], observed=True):
        rows.append({"sample": s, "cell_type": lab, "n": len(g),
                     "car_detected": int(g["car_detected"].sum())})
    for s, g in a.obs.groupby("sample", observed=True):
        rows.append({"sample": s, "cell_type": "all cells", "n": len(g),
                     "car_detected": int(g["car_detected"].sum())})
    tab = pd.DataFrame(rows)
    tab["share"] = tab["car_detected"] / tab["n"]
    lo, hi = proportion_confint(tab["car_detected"], tab["n"], method="wilson")
    tab["ci_lower"], tab["ci_upper"] = lo, hi
    car = a.uns["car"]
    return Result(
        name="singlecell.car", title="CAR-detected cells per sample and cell type",
        table=tab.set_index(["sample", "cell_type"]), section=SECTION,
        method=(f"A cell is CAR-detected when the UMIs of the construct features "
                f"({', '.join(car['features'])}) sum to >= {car['min_umis']}; Wilson 95% CI."),
        rationale="Construct features are moved out of the gene matrix before QC, HVG and "
                  "PCA so they cannot drive clustering.",
        warnings=("CAR-undetected cells are 'not detected', not proven CAR-negative "
                  "(3' dropout); the share is a lower bound of the CAR+ share.",
                  stats.PSEUDOREPLICATION))


def _raw(a: anndata.AnnData, genes: Sequence[str]) -> np.ndarray:
    gs = [g for g in genes if g in a.var_names]
    if not gs:
        return np.zeros(a.n_obs)
    M = a.layers["counts"][:, [a.var_names.get_loc(g) for g in gs]]
    return np.asarray(M.sum(axis=1)).ravel()


def _ratio_result(a: anndata.AnnData) -> Result:
    is_t = (a.obs["cell_type_broad"] == "T cell").to_numpy()
    lin = stats.lineage(a.obs["cell_type"], _raw(a, ["CD4"]), _raw(a, ["CD8A", "CD8B"]))
    a.obs["lineage"] = np.where(is_t, lin, "not T")
    rows = []
    for s, g in a.obs[is_t & a.obs["car_detected"].to_numpy()].groupby("sample",
                                                                        observed=True):
        n4, n8 = int((g["lineage"] == "CD4").sum()), int((g["lineage"] == "CD8").sum())
        r, lo, hi = stats.ratio_ci(n4, n8)
        rows.append({"sample": s, "cd4": n4, "cd8": n8,
                     "undetermined": int((g["lineage"] == "undetermined").sum()),
                     "ratio": r, "ci_lower": lo, "ci_upper": hi})
    tab = pd.DataFrame(rows, columns=["sample", "cd4", "cd8", "undetermined", "ratio",
                                      "ci_lower", "ci_upper"]).set_index("sample")
    return Result(
        name="singlecell.cd4_cd8", title="CD4:CD8 ratio of CAR-detected T cells",
        table=tab, section=SECTION,
        method=("Lineage from the T-cell subset label (CD4 subsets and Treg = CD4; CD8 "
                "subsets = CD8); cells of other T labels (e.g. proliferating) by CD4 vs "
                "CD8A+CD8B UMIs, undetermined when both or neither. Ratio with exact "
                "Clopper-Pearson 95% CI of the CD4 share mapped to odds."),
        warnings=(stats.PSEUDOREPLICATION,))


def _origin_result(a: anndata.AnnData, how: str) -> Result:
    """Origin by cell-type label per sample: the immunogenetics summary, called once."""
    from remission.immunogenetics.origin import origin_result

    if how == "file":
        source = ("read from the study's single-cell origin file, e.g. a genotype "
                  "demultiplexer's output; unlisted cells undetermined")
        why = ""
    else:
        source = ("sex-gene proxy: chrY genes (RPS4Y1, DDX3Y, KDM5D, UTY, EIF1AY) without "
                  "XIST = male, XIST without chrY = female, otherwise undetermined; the "
                  "donor's sex maps to donor")
        why = ("Valid only when donor and recipient differ in sex; otherwise supply per-cell "
               "calls from a genotype demultiplexer (e.g. vireo) as the origin file.")
    return origin_result(a.obs, source, cluster="cell_type", by=("sample", "time_point"),
                         rationale=why)


def _expansion_results(a: anndata.AnnData, p: Params) -> list[Result]:
    first, later = p.time_order  # type: ignore[misc]
    out = []
    tp = a.obs["time_point"].astype(str)
    if not {first, later} <= set(tp):
        return out
    sets = [("all", np.ones(a.n_obs, bool), "all QC-passing cells")]
    if "car_detected" in a.obs:
        sets.append(("car", a.obs["car_detected"].to_numpy(), "CAR-detected cells"))
    for key, mask, what in sets:
        tab = stats.expansion(a.obs[mask], "time_point", first, later, "cell_type")
        out.append(Result(
            name=f"singlecell.expansion.{key}",
            title=f"Shift in composition of {what}: {first} -> {later}",
            table=tab, section=SECTION,
            method=("Share of each label among " + what + " at each time point; odds ratio "
                    "(Woolf CI) and Fisher's exact test of the label vs the rest, "
                    "Benjamini-Hochberg across labels."),
            warnings=(stats.PSEUDOREPLICATION,)))
    return out


def _de_result(a: anndata.AnnData, p: Params) -> tuple[Result | None, pd.DataFrame | None]:
    first, later = p.time_order  # type: ignore[misc]
    tp = a.obs["time_point"].astype(str).to_numpy()
    sel = _de_mask(a, p)
    m1, m2 = sel & (tp == later), sel & (tp == first)
    if m1.sum() < 3 or m2.sum() < 3:
        return None, None
    de = stats.find_markers(a, m1, m2)
    who = ", ".join(p.de_labels) if p.de_labels else "all cells"
    car = " CAR-detected" if p.de_car_only and "car_detected" in a.obs else ""
    return Result(
        name="singlecell.de", title=f"Differential expression, {later} vs {first} ({who}"
                                    f"{car})",
        table=de, section=SECTION, method=stats.REF_FINDMARKERS,
        rationale="Seurat 4 semantics so numbers compare with papers that used FindMarkers.",
        warnings=(stats.PSEUDOREPLICATION,),
        references=("Wilcoxon F. Biometrics Bull 1945;1:80-83.",),
        params={"group1": later, "group2": first, "n1": int(m1.sum()), "n2": int(m2.sum()),
                "labels": who}), de


def _de_mask(a: anndata.AnnData, p: Params) -> np.ndarray:
    sel = np.ones(a.n_obs, bool)
    if p.de_labels:
        sel &= a.obs["cell_type"].isin(p.de_labels).to_numpy()
    if p.de_car_only and "car_detected" in a.obs:
        sel &= a.obs["car_detected"].to_numpy()
    return sel


def _pseudobulk_result(a: anndata.AnnData, p: Params
                       ) -> tuple[Result | None, pd.DataFrame | None, list[str]]:
    first, later = p.time_order  # type: ignore[misc]
    de, samples, warns = stats.pseudobulk_de(a, _de_mask(a, p), "time_point", first, later,
                                             min_cells=p.pseudobulk_min_cells)
    if de is None:
        return None, None, warns
    used = samples[samples["used"]]
    who = ", ".join(p.de_labels) if p.de_labels else "all cells"
    car = " CAR-detected" if p.de_car_only and "car_detected" in a.obs else ""
    paired = "patient" in used and used["patient"].duplicated().any()
    from remission.stats.deseq import REF_APEGLM, REF_DESEQ2, REF_PYDESEQ2

    return Result(
        name="singlecell.pseudobulk_de",
        title=f"Pseudobulk differential expression, {later} vs {first} ({who}{car})",
        table=de, section=SECTION,
        method=("Raw UMIs of the selected cells summed per sample; DESeq2 (PyDESeq2) Wald "
                f"test, design ~ {'patient + ' if paired else ''}time point; BH-adjusted p "
                "with independent filtering; apeGLM-shrunken log2 fold changes. Samples with "
                f"fewer than {p.pseudobulk_min_cells} selected cells are left out."),
        rationale="Samples, not cells, are the replicates: pseudobulk tests keep the false "
                  "discovery rate that cell-level tests lose (Squair et al. 2021).",
        warnings=tuple(warns),
        references=(stats.REF_PSEUDOBULK, REF_DESEQ2, REF_PYDESEQ2, REF_APEGLM),
        params={"comparison": f"{later} vs {first}", "labels": who,
                "samples": ", ".join(f"{s} ({g}, {n} cells)" for s, g, n in zip(
                    used.index, used["group"], used["n_cells"], strict=True)),
                "n_significant": int((de["padj"] < 0.05).sum())}), de, warns


def _enrichment_result(a: anndata.AnnData, p: Params, de: pd.DataFrame | None,
                       pb: pd.DataFrame | None) -> Result | None:
    from remission.stats.enrichment import (
        REF_BH,
        REF_GO,
        REF_ORA,
        builtin_genesets,
        go_genesets,
        ora,
    )

    curated = p.genesets if p.genesets is not None else builtin_genesets()
    go = go_genesets() if p.go_genesets else {}
    sets = {**go, **curated}
    if pb is not None:
        tested = pb.dropna(subset=["padj"])
        lfc = tested.get("log2FC_shrunk", tested["log2FoldChange"])
        sig, universe = tested["padj"] < 0.05, tested.index
        up, down = tested.index[sig & (lfc > 0)], tested.index[sig & (lfc < 0)]
        source = "pseudobulk DESeq2 genes with padj < 0.05"
    elif de is not None:
        sel = _de_mask(a, p)
        X = a.layers["counts"][sel] if "counts" in a.layers else a.X[sel]
        universe = a.var_names[np.asarray((X > 0).sum(axis=0)).ravel() > 0]
        sig = de["p_val_adj"] < 0.05
        up = de.index[sig & (de["avg_log2FC"] > 0)]
        down = de.index[sig & (de["avg_log2FC"] < 0)]
        source = ("cell-level Wilcoxon (FindMarkers) genes with Bonferroni p < 0.05; cells "
                  "as replicates, so read the p-values as a ranking")
    else:
        return None
    parts = []
    for direction, genes in (("up", up), ("down", down)):
        t = ora(genes, universe, sets)       # BH over every tested set
        t.insert(0, "direction", direction)
        t.insert(2, "source", np.where(t["gene_set"].isin(list(curated)), "curated", "GO"))
        parts.append(t[(t["source"] == "curated") | (t["overlap"] > 0)])  # GO: hits only
    tab = pd.concat(parts, ignore_index=True)
    tab.index = [f"{d} | {g}" for d, g in zip(tab["direction"], tab["gene_set"], strict=True)]
    first, later = p.time_order  # type: ignore[misc]
    return Result(
        name="singlecell.enrichment",
        title=f"Gene-set over-representation of DE genes, {later} vs {first}",
        table=tab, section=SECTION,
        method=(f"One-sided hypergeometric test of the {source} (up and down separately) "
                "against the genes tested (universe); BH over sets; sets with >= 3 genes in "
                "the universe; rows of GO sets without any DE gene are not listed (they "
                "count in the BH adjustment)."),
        rationale=("Gene sets are the project's shipped, cited sets "
                   "(remission/data/genesets), the shipped GO biological-process sets under "
                   "'immune system process' (GO 2022-07-01) and the study's own GMT files; "
                   "nothing is downloaded and no KEGG files are shipped."),
        warnings=() if pb is not None else (stats.PSEUDOREPLICATION,),
        references=(REF_ORA, REF_BH, *((REF_GO,) if go else ())),
        params={"n_up": len(up), "n_down": len(down), "n_universe": len(universe),
                "gene_sets": "user GMT" if p.genesets is not None else "shipped"})


def _module_result(a: anndata.AnnData) -> Result:
    cols = [c for c in a.obs.columns if c.startswith("score_")]
    tab = a.obs.groupby(["time_point", "cell_type"], observed=True)[cols].mean()
    return Result(
        name="singlecell.modules", title="Gene-module scores (mean per time point and label)",
        table=tab, section=SECTION,
        method="AddModuleScore-style scores (set mean minus expression-matched controls).",
        references=tuple(f"{k}: {v[1]}" for k, v in MODULES.items()))
