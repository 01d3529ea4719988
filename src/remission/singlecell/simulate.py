"""Deterministic simulator of droplet scRNA-seq counts for CAR products and patients' blood.

Every simulated dataset is labelled SYNTHETIC (``adata.uns["simulation"]["label"]``).
The generative model, per cell ``c`` and gene ``g``:

- a population (cell type / T or NK subset) with relative expression ``p_pop,g`` =
  a gene baseline (log-normal, shared by all populations) times ``2**fold`` for the
  population's marker and programme genes (``POPULATIONS``), renormalised;
- a library size ``L_c`` (log-normal; damaged cells smaller, with more mitochondrial RNA);
- a per-sample batch factor ``b_s,g`` (log-normal, ``batch_sd``) on every gene;
- counts ``Y ~ Poisson(Gamma(shape=1/phi, scale=phi * mu))`` (a negative binomial with
  mean ``mu = L_c p_pop,g b_s,g`` and dispersion ``phi``), then extra dropout: each count
  is zeroed with probability ``1 / (1 + exp(k (log mu - log m0)))`` (lowly expressed
  genes drop out more, the logistic form of Splatter, Zappia et al. Genome Biol 2017);
- sex genes: male cells express chrY genes (RPS4Y1, DDX3Y, KDM5D, UTY, EIF1AY), female
  cells XIST; donor and recipient sexes are parameters;
- CAR construct features in a chosen fraction of CAR-capable cells, with a small ambient
  leak into every cell;
- a product -> peak shift: composition changes and a planted up-regulated gene programme
  in one subset at the later time point.

The truth travels in ``obs`` columns starting with ``truth_`` and in
``uns["simulation"]``; the pipeline never reads them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    import anndata

SYNTHETIC = "SYNTHETIC (remission.singlecell.simulate)"

MT_GENES = ("MT-ND1", "MT-ND2", "MT-CO1", "MT-CO2", "MT-ATP8", "MT-ATP6", "MT-CO3", "MT-ND3",
            "MT-ND4L", "MT-ND4", "MT-ND5", "MT-ND6", "MT-CYB")
CHRY_GENES = ("RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY")
HOUSEKEEPING = ("ACTB", "B2M", "GAPDH", "MALAT1", "TMSB4X", "EEF1A1", "RPL13", "RPS27",
                "FTL", "TPT1")

# Population -> (broad type, {gene: log2 fold over the shared baseline}).
# The folds encode textbook expression patterns; they are the simulator's ground truth.
_T = {"CD3D": 4, "CD3E": 4, "CD3G": 3.5, "CD2": 3.5, "CD247": 3, "TRAC": 4}
_CD4 = {**_T, "CD4": 4, "IL7R": 2}
_CD8 = {**_T, "CD8A": 4.5, "CD8B": 4.5}
_NK = {"NCAM1": 3, "KLRD1": 4, "KLRF1": 4, "NCR1": 3.5, "TYROBP": 3.5, "NKG7": 3.5}
_CYTO = {"GZMB": 4, "PRF1": 3.5, "GNLY": 4.5, "NKG7": 4, "GZMH": 3, "FGFBP2": 3, "CX3CR1": 3}
POPULATIONS: dict[str, tuple[str, dict[str, float]]] = {
    "CD4 naive": ("T cell", {**_CD4, "CCR7": 4, "SELL": 3.5, "TCF7": 3.5, "LEF1": 4,
                             "CD27": 2, "CD28": 2}),
    "CD4 central memory": ("T cell", {**_CD4, "CCR7": 2.5, "SELL": 2.5, "IL7R": 3.5,
                                      "CD27": 3, "CD28": 3, "LTB": 4, "AQP3": 4,
                                      "ANXA1": 2}),
    "CD4 effector memory": ("T cell", {**_CD4, "GZMK": 4, "KLRB1": 4, "CCL5": 3,
                                       "S100A4": 3.5, "ANXA1": 3, "CXCR6": 3}),
    "Treg": ("T cell", {**_CD4, "FOXP3": 5, "IL2RA": 4.5, "CTLA4": 4, "IKZF2": 4,
                        "TNFRSF4": 3.5}),
    "CD8 naive": ("T cell", {**_CD8, "CCR7": 4, "SELL": 3.5, "TCF7": 3.5, "LEF1": 4,
                             "CD27": 2}),
    "CD8 effector": ("T cell", {**_CD8, **_CYTO, "CCL5": 3.5, "KLRG1": 3}),
    "CD8 exhausted": ("T cell", {**_CD8, "PDCD1": 4.5, "HAVCR2": 4.5, "LAG3": 4.5, "TOX": 4,
                                 "TIGIT": 4, "ENTPD1": 3.5, "LAYN": 3.5, "GZMB": 2}),
    "T proliferating": ("T cell", {**_T, "CD4": 2, "CD8A": 2, "MKI67": 5, "TOP2A": 5,
                                   "TYMS": 4, "STMN1": 4, "CDK1": 4, "TUBB": 3}),
    "NK CD56bright": ("NK cell", {**_NK, "NCAM1": 5, "SELL": 3, "GZMK": 3.5, "XCL1": 4.5,
                                  "KLRC1": 4, "CD44": 2.5, "IL7R": 2}),
    "NK CD56dim CD16high": ("NK cell", {**_NK, **_CYTO, "FCGR3A": 5, "KIR2DL1": 3,
                                        "KIR3DL1": 3}),
    "B cell": ("B cell", {"MS4A1": 5, "CD79A": 5, "CD79B": 4.5, "CD19": 4, "IGHM": 4.5,
                          "HLA-DRA": 3.5}),
    "Monocyte": ("Monocyte", {"CD14": 5, "LYZ": 5.5, "S100A8": 5, "S100A9": 5, "FCN1": 4.5,
                              "CST3": 4.5, "HLA-DRA": 3.5}),
    "AML blast": ("AML blast", {"CD34": 5, "CLEC12A": 4.5, "KIT": 4, "MPO": 5, "IL3RA": 3.5,
                                "CD33": 3.5, "SOX4": 3}),
}
PROGRAMMES: dict[str, dict[str, float]] = {
    # product -> peak: CD4 CAR-T at peak up-regulate killing and memory genes (seed 002 text)
    "cd4_killing_memory": {"NKG7": 2.5, "LAG3": 2.5, "PRF1": 2.5, "CST7": 2.5, "GZMB": 2.5,
                           "GNLY": 2.5, "GZMK": 2.0},
    # product -> patient: expanded CD56dim CD16high NK: cytotoxic, regulatory, adhesion
    "nk_cyto_reg_adhesion": {"GZMB": 1.5, "PRF1": 1.5, "GZMA": 2.0, "LAG3": 2.5,
                             "TIGIT": 2.5, "HAVCR2": 2.5, "ITGB1": 2.0, "ITGAL": 2.0,
                             "ICAM1": 2.5, "SELPLG": 2.0, "ITGB2": 1.5},
}
EXTRA_GENES = ("IFNG", "TNF", "IL2", "CCL3", "CCL4", "XCL2", "CSF2", "CD44", "ITGB1",
               "ITGAL", "ICAM1", "SELPLG", "ITGB2", "GZMA", "CST7", "TIGIT", "HAVCR2",
               "CLEC12A", "HBB", "HBA1", "PPBP", "PF4", "FCER1A", "CLEC10A", "IL3RA")


@dataclass(frozen=True)
class SampleSpec:
    """One simulated sample (a 10x channel).

    ``composition`` gives population -> fraction (normalised); ``car_fraction`` maps a
    population to the fraction of its cells carrying the CAR; ``origin`` maps a population
    to the fraction of its cells from the donor/product (the rest are recipient).
    ``programme`` plants a gene programme in one population: ``(population, name)``.
    """

    name: str
    time_point: str
    source: str
    n_cells: int
    composition: Mapping[str, float]
    car_fraction: Mapping[str, float] = field(default_factory=dict)
    origin: Mapping[str, float] = field(default_factory=dict)
    programme: tuple[str, str] | None = None
    library_median: float = 4000.0
    patient: str | None = None


@dataclass(frozen=True)
class Design:
    """A simulated study: samples, gene universe size and nuisance parameters.

    ``named_share_genes`` holds the named genes' (markers, programmes, housekeeping,
    sex, mitochondrial) expected share of each cell's library at what it is in a
    universe of that many genes, however large ``n_genes`` is: the background genes'
    baseline is scaled by ``(named_share_genes - n_named) / (n_genes - n_named)``, so
    more genes means more, individually rarer, background genes, not rarer markers; and
    ``subset_genes`` grows by the inverse factor (the same share of the background differs
    between populations as at ``named_share_genes`` genes).
    ``None`` (default; the examples and tests): one baseline normalised over all genes,
    so each named gene's share falls as ``n_genes`` grows (about 13x from 1,500 to
    20,000 genes). The option draws no random numbers: at ``n_genes ==
    named_share_genes`` the counts are those of ``None``.
    """

    name: str
    samples: tuple[SampleSpec, ...]
    construct_features: tuple[str, ...]
    n_genes: int = 1500
    donor_sex: str = "male"
    recipient_sex: str = "female"
    batch_sd: float = 0.15
    dispersion: float = 0.25
    dropout_midpoint: float = 0.05
    dropout_slope: float = 1.0
    damaged_fraction: float = 0.04
    low_library_fraction: float = 0.01
    car_umis_mean: float = 6.0
    car_ambient: float = 0.003
    library_sdlog: float = 0.35
    subset_genes: int = 25
    subset_fold: float = 1.5
    named_share_genes: int | None = None


def cart_design(n_cells: int = 1200, n_genes: int = 1500) -> Design:
    """Seed 002's design: a CLL-1 CAR-T infusion product and the patient's blood at peak.

    Donor-derived CAR-T (donor male, recipient female). Product dominated by CD4 naive
    CAR-T; at peak CD4 effector memory dominates and CD4 effector memory cells carry the
    killing/memory programme the paper reports (NKG7, LAG3, PRF1, CST7, GZMB, GNLY, GZMK).

    Parameters
    ----------
    n_cells : int, default 1200
        Cells simulated per sample.
    n_genes : int, default 1500
        Size of the gene universe (named genes plus background ``SIMG#####``).

    Returns
    -------
    Design
        Samples ``product`` and ``peak`` (day 9), construct features
        ``CAR-CLL1-scFv, CAR-RQR8, CAR-WPRE``.

    Examples
    --------
    >>> d = cart_design(n_cells=200)
    >>> [s.name for s in d.samples], d.samples[1].car_fraction["CD4 effector memory"]
    (['product', 'peak'], 0.75)
    >>> planted_genes(d)
    ['NKG7', 'LAG3', 'PRF1', 'CST7', 'GZMB', 'GNLY', 'GZMK']
    """
    t_product = {"CD4 naive": .30, "CD4 central memory": .13, "CD4 effector memory": .12,
                 "Treg": .06, "CD8 naive": .12, "CD8 effector": .12, "CD8 exhausted": .05,
                 "T proliferating": .10}
    peak = {"CD4 naive": .06, "CD4 central memory": .08, "CD4 effector memory": .30,
            "Treg": .04, "CD8 naive": .04, "CD8 effector": .12, "CD8 exhausted": .06,
            "T proliferating": .06, "Monocyte": .12, "B cell": .05, "NK CD56dim CD16high": .07}
    t_pops = [p for p, (b, _) in POPULATIONS.items() if b == "T cell"]
    product = SampleSpec("product", "product", "product", n_cells, t_product,
                         car_fraction=dict.fromkeys(t_pops, 0.35),
                         origin=dict.fromkeys(t_product, 1.0), library_median=5000)
    peak_spec = SampleSpec("peak", "day 9", "blood", n_cells, peak,
                           car_fraction={**dict.fromkeys(t_pops, 0.45),
                                         "CD4 effector memory": 0.75},
                           origin={**dict.fromkeys(peak, 0.97)},
                           programme=("CD4 effector memory", "cd4_killing_memory"),
                           library_median=3500)
    return Design("cart-cll1-002", (product, peak_spec),
                  ("CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"), n_genes=n_genes)


def carnk_design(n_cells: int = 1200, n_genes: int = 1500) -> Design:
    """Seed 004's design: a CD123 CAR-NK product and the patient's blood after infusion.

    Product NK cells (donor, male) with some T cells; in the patient (female) CD56dim
    CD16high NK cells of product origin expand and carry a cytotoxic / regulatory /
    adhesion programme, while the CAR+ share does not grow (CAR+ cells have no expansion
    advantage).

    Parameters
    ----------
    n_cells : int, default 1200
        Cells simulated per sample.
    n_genes : int, default 1500
        Size of the gene universe.

    Returns
    -------
    Design
        Samples ``product`` and ``patient`` (day 10), construct features
        ``CAR-CD123-scFv, CAR-WPRE``.

    Examples
    --------
    The CAR+ share falls from 40 % in the product to 30 % in the patient:

    >>> d = carnk_design()
    >>> [(s.name, s.car_fraction["NK CD56dim CD16high"]) for s in d.samples]
    [('product', 0.4), ('patient', 0.3)]
    """
    product = {"NK CD56bright": .40, "NK CD56dim CD16high": .45, "CD4 effector memory": .07,
               "CD8 effector": .08}
    patient = {"NK CD56bright": .05, "NK CD56dim CD16high": .55, "CD4 effector memory": .08,
               "CD8 effector": .07, "Monocyte": .10, "B cell": .05, "AML blast": .10}
    nk = ["NK CD56bright", "NK CD56dim CD16high"]
    prod = SampleSpec("product", "product", "product", n_cells, product,
                      car_fraction=dict.fromkeys(nk, 0.40),
                      origin=dict.fromkeys(product, 1.0), library_median=5000)
    pat = SampleSpec("patient", "day 10", "blood", n_cells, patient,
                     car_fraction=dict.fromkeys(nk, 0.30),
                     origin={"NK CD56bright": 0.6, "NK CD56dim CD16high": 0.95,
                             "CD4 effector memory": 0.2, "CD8 effector": 0.2,
                             "Monocyte": 0.0, "B cell": 0.0, "AML blast": 0.0},
                     programme=("NK CD56dim CD16high", "nk_cyto_reg_adhesion"),
                     library_median=3500)
    return Design("carnk-cd123-004", (prod, pat), ("CAR-CD123-scFv", "CAR-WPRE"),
                  n_genes=n_genes)


def replicate_design(n_patients: int = 3, n_cells: int = 300, n_genes: int = 1500,
                     programme: bool = True) -> Design:
    """Seed 002's design in ``n_patients`` patients: a product and a day-9 sample each.

    Sample names ``P<i>-product`` / ``P<i>-peak``; ``obs["patient"]`` pairs them. With
    ``programme=False`` no gene programme is planted (a null for DE). For pseudobulk DE
    across replicate samples.

    Parameters
    ----------
    n_patients : int
        Patients (each gives two samples).
    n_cells : int
        Cells per sample.
    n_genes : int
        Gene universe size.
    programme : bool
        Plant the CD4 effector-memory killing/memory programme at day 9.

    Returns
    -------
    Design
        The design.

    Examples
    --------
    >>> [s.name for s in replicate_design(2).samples]
    ['P1-product', 'P1-peak', 'P2-product', 'P2-peak']
    """
    from dataclasses import replace

    base = cart_design(n_cells=n_cells, n_genes=n_genes)
    prod, peak = base.samples
    specs = []
    for i in range(1, n_patients + 1):
        specs.append(replace(prod, name=f"P{i}-product", patient=f"P{i}"))
        specs.append(replace(peak, name=f"P{i}-peak", patient=f"P{i}",
                             programme=peak.programme if programme else None))
    return replace(base, name=f"cart-cll1-002-x{n_patients}", samples=tuple(specs))


def reference_design(n_per_population: int = 40, n_donors: int = 3,
                     n_genes: int = 1500) -> Design:
    """A labelled reference: every population in equal numbers, in ``n_donors`` samples.

    Simulate it with ``biology_seed`` set to the seed of the study it annotates (same
    ``n_genes``) so reference and study share gene baselines and population profiles,
    as a real atlas shares biology, not cells, with a new dataset. No CAR, no planted
    programme; damaged / low-library cells as in any sample (filter on ``truth_qc``).

    Parameters
    ----------
    n_per_population : int
        Expected cells per population and donor.
    n_donors : int
        Reference samples (pseudobulk replicates per label).
    n_genes : int
        Gene universe size (match the study).

    Returns
    -------
    Design
        The reference design.

    Examples
    --------
    >>> len(reference_design(n_donors=2).samples)
    2
    """
    pops = list(POPULATIONS)
    specs = tuple(SampleSpec(f"ref{i + 1}", "reference", "reference",
                             n_per_population * len(pops), dict.fromkeys(pops, 1.0))
                  for i in range(n_donors))
    return Design("reference-atlas", specs, (), n_genes=n_genes)


def gene_universe(design: Design) -> list[str]:
    """Gene symbols of a design: markers, programmes, sex, MT, housekeeping, background.

    Parameters
    ----------
    design : Design
        The simulated study.

    Returns
    -------
    list of str
        The named genes (each once) followed by background genes ``SIMG00001``... up to
        ``design.n_genes`` in all (none when the named genes already reach it).

    Examples
    --------
    >>> u = gene_universe(cart_design(n_genes=1500))
    >>> len(u), "XIST" in u, u[-1].startswith("SIMG")
    (1500, True, True)
    """
    named: list[str] = []
    for _, folds in POPULATIONS.values():
        named += list(folds)
    for folds in PROGRAMMES.values():
        named += list(folds)
    named += [*EXTRA_GENES, *HOUSEKEEPING, "XIST", *CHRY_GENES, *MT_GENES]
    named = list(dict.fromkeys(named))
    n_bg = max(design.n_genes - len(named), 0)
    return named + [f"SIMG{i:05d}" for i in range(1, n_bg + 1)]


def simulate(design: Design, seed: int = 0, chunk: int = 4096,
             biology_seed: int | None = None, sampler: str = "dense") -> anndata.AnnData:
    """Simulate raw UMI counts for every sample of ``design``.

    Parameters
    ----------
    design : Design
        Samples and nuisance parameters (see :func:`cart_design`, :func:`carnk_design`).
    seed : int
        Seed of ``numpy.random.default_rng``; same design and seed give identical counts.
    chunk : int
        Cells drawn at a time (memory bound); part of the random stream, so keep it fixed
        to reproduce a dataset (samples of <= ``chunk`` cells do not depend on it).
    biology_seed : int, optional
        Seed of the gene baseline and population profiles only ("the organism"); the
        cells are then drawn from ``seed``. ``None`` (default): one stream from ``seed``
        for both. ``simulate(d2, seed=s2, biology_seed=s)`` gives new cells of the same
        biology as ``simulate(d, seed=s)`` when ``d`` and ``d2`` have the same
        ``n_genes``, ``subset_genes`` and ``subset_fold`` (e.g. a labelled reference for
        label transfer).
    sampler : {"dense", "sparse"}
        How counts are drawn from the same model. ``"dense"`` (default; the shipped
        examples and tests use it): a Gamma, a Poisson and a dropout uniform for every
        cell x gene. ``"sparse"``: one uniform per cell x gene decides whether the count
        is non-zero (probability ``(1 - dropout) * (1 - P(NB = 0))``), and only non-zero
        entries get a value, from the zero-truncated negative binomial (inverse CDF on
        the same uniform, or Gamma-Poisson redrawn while zero for means > 50). Same
        distribution, a different random stream (so different cells for the same seed);
        it draws values only for the non-zero entries, for large benchmark inputs
        (timings in docs/performance.md, single-cell).

    Returns
    -------
    anndata.AnnData
        Cells x features, ``X`` CSR int32 raw counts (genes then construct features), obs
        ``sample``, ``time_point``, ``source`` and ``truth_*`` columns, var
        ``feature_type`` ("Gene Expression" / "CAR construct") and ``chromosome``.

    Examples
    --------
    >>> a = simulate(cart_design(n_cells=200), seed=1)
    >>> a.uns["simulation"]["label"].startswith("SYNTHETIC")
    True
    """
    import anndata as ad

    if sampler not in ("dense", "sparse"):
        raise ValueError(f"sampler must be 'dense' or 'sparse', not {sampler!r}")
    rng = np.random.default_rng(seed if biology_seed is None else biology_seed)
    genes = gene_universe(design)
    gi = {g: i for i, g in enumerate(genes)}
    n_g = len(genes)
    feats = genes + list(design.construct_features)
    # shared baseline: log-normal relative expression; housekeeping high, MT ~5% of UMIs
    base = rng.lognormal(mean=0.0, sigma=1.2, size=n_g)
    for g in HOUSEKEEPING:
        base[gi[g]] *= 40
    for g in ("XIST", *CHRY_GENES):
        base[gi[g]] = 0.0
    marker_genes = {g for _, f in POPULATIONS.values() for g in f}
    silent = marker_genes | {g for f in PROGRAMMES.values() for g in f} | set(EXTRA_GENES)
    for g in sorted(silent):
        base[gi[g]] = 0.25 * rng.lognormal(0.0, 0.3)  # silent unless a population uses it
    background = np.array([i for i, g in enumerate(genes) if g.startswith("SIMG")])
    if design.named_share_genes is not None and len(background):
        # background mass as in a universe of named_share_genes genes (expected share)
        n_named = n_g - len(background)
        if design.named_share_genes <= n_named:
            raise ValueError(f"named_share_genes must exceed the {n_named} named genes, "
                             f"not {design.named_share_genes}")
        base[background] *= (design.named_share_genes - n_named) / len(background)
        # and the same share of the background differs between populations
        n_subset = round(design.subset_genes * len(background)
                         / (design.named_share_genes - n_named))
    else:
        n_subset = design.subset_genes
    mt = np.array([gi[g] for g in MT_GENES])
    nonmt = np.setdiff1d(np.arange(n_g), mt)
    base[nonmt] /= base[nonmt].sum()
    base[mt] = rng.lognormal(0.0, 0.3, len(mt))
    base[mt] *= 0.05 / base[mt].sum() / 0.95
    # per-population profiles: named markers plus a population-specific background
    # programme (real subsets differ in hundreds of genes, not only in their markers)
    profiles: dict[str, np.ndarray] = {}
    for pop, (_, folds) in POPULATIONS.items():
        prof = base.copy()
        if len(background):
            pick = rng.choice(background, size=min(n_subset, len(background)),
                              replace=False)
            prof[pick] *= 2.0 ** rng.normal(design.subset_fold, 0.4, len(pick))
        for g, f in folds.items():
            prof[gi[g]] = base[gi[g]] * 2.0 ** f
        profiles[pop] = prof
    sex_idx = {"female": [gi["XIST"]], "male": [gi[g] for g in CHRY_GENES]}
    sex_level = {"female": 2e-3, "male": 3e-4}

    if biology_seed is not None:
        rng = np.random.default_rng(seed)
    blocks, obs_parts = [], []
    for s_i, spec in enumerate(design.samples):
        batch = rng.lognormal(0.0, design.batch_sd, n_g)
        pops = list(spec.composition)
        w = np.array([spec.composition[p] for p in pops], float)
        counts = rng.multinomial(spec.n_cells, w / w.sum())
        pop_of = np.repeat(np.arange(len(pops)), counts)
        rng.shuffle(pop_of)
        n = spec.n_cells
        lib = spec.library_median * rng.lognormal(0.0, design.library_sdlog, n)
        u = rng.random(n)
        qc = np.where(u < design.low_library_fraction, "low_library",
                      np.where(u < design.low_library_fraction + design.damaged_fraction,
                               "damaged", "ok"))
        lib[qc == "low_library"] = rng.uniform(40, 120, (qc == "low_library").sum())
        lib[qc == "damaged"] *= 0.6
        names = np.array(pops)[pop_of]
        car_p = np.array([spec.car_fraction.get(p, 0.0) for p in names])
        car = rng.random(n) < car_p
        donor_p = np.array([spec.origin.get(p, 0.0) for p in names])
        donor = rng.random(n) < donor_p
        pop_prof = []
        for p in pops:
            prof = profiles[p].copy()
            if spec.programme and spec.programme[0] == p:
                for g, f in PROGRAMMES[spec.programme[1]].items():
                    prof[gi[g]] = max(prof[gi[g]], base[gi[g]]) * 2.0 ** f
            prof = prof * batch
            prof[mt] = profiles[p][mt]
            pop_prof.append(prof / prof.sum())
        prof_matrix = np.asarray(pop_prof)
        dmg = qc == "damaged"
        n_f = len(design.construct_features)
        shape = 1.0 / design.dispersion
        if sampler == "sparse":
            is_mt = np.zeros(n_g, bool)
            is_mt[mt] = True
            mt_share = prof_matrix[:, mt].sum(axis=1)
            sexes = ("female", "male")
            sexg = np.full(n_g, -1, np.int64)
            for code, sx in enumerate(sexes):
                sexg[sex_idx[sx]] = code
            cellsex = np.where(donor, sexes.index(design.donor_sex),
                               sexes.index(design.recipient_sex)).astype(np.int64)
            # damaged cells: mitochondrial x6 then the row renormalised, as in the dense path
            rowsum = np.where(dmg, 1.0 + 5.0 * mt_share[pop_of], 1.0)
            cscale = lib / rowsum
            mtf = np.where(dmg, 6.0, 1.0)
            sexmu = np.array([sex_level[sexes[i]] for i in cellsex]) * lib
        # cells in chunks (bounded memory for 100k x 20k designs); one chunk = one stream
        # cells in chunks (bounded memory for 100k x 20k designs); one chunk = one stream
        for c0 in range(0, n, chunk):
            sl = slice(c0, min(c0 + chunk, n))
            if sampler == "sparse":
                y = _nb_dropout_sparse(rng, prof_matrix, pop_of[sl].astype(np.int64),
                                       mtf[sl], cscale[sl], is_mt, sexg, cellsex[sl],
                                       sexmu[sl], shape, design.dropout_midpoint,
                                       design.dropout_slope)
            else:
                y = _dense_counts(rng, prof_matrix, pop_of[sl], dmg[sl], mt,
                                  ((design.donor_sex, donor[sl]),
                                   (design.recipient_sex, ~donor[sl])),
                                  sex_idx, sex_level, lib[sl], shape, design)
            # construct features: CAR+ cells ~ NB(car_umis_mean * lib / 4000), ambient else
            car_mu = np.where(car[sl], design.car_umis_mean, design.car_ambient)[:, None] \
                * (lib[sl] / 4000.0)[:, None] * np.full((1, n_f), 1.0 / max(n_f, 1))
            car_y = rng.poisson(rng.gamma(2.0, 0.5, size=car_mu.shape) * car_mu)
            blocks.append(sp.hstack([y, sp.csr_matrix(car_y.astype(np.int32))],
                                    format="csr"))
        obs_parts.append(pd.DataFrame({
            "sample": spec.name, "time_point": spec.time_point, "source": spec.source,
            "truth_population": names,
            "truth_broad": [POPULATIONS[p][0] for p in names],
            "truth_car": car, "truth_origin": np.where(donor, "donor", "recipient"),
            "truth_sex": np.where(donor, design.donor_sex, design.recipient_sex),
            "truth_qc": qc,
            **({"patient": spec.patient} if spec.patient is not None else {}),
        }, index=[f"{spec.name}_{i:05d}-{s_i + 1}" for i in range(n)]))
    X = sp.vstack(blocks, format="csr")
    obs = pd.concat(obs_parts)
    chrom = ["MT" if g.startswith("MT-") else "Y" if g in CHRY_GENES else
             "X" if g == "XIST" else "" for g in genes] + ["construct"] * n_f
    var = pd.DataFrame({"feature_type": ["Gene Expression"] * n_g
                        + ["CAR construct"] * n_f, "chromosome": chrom},
                       index=pd.Index(feats))
    a = ad.AnnData(X=X, obs=obs, var=var)
    a.uns["simulation"] = {
        "label": SYNTHETIC, "design": design.name, "seed": int(seed),
        "construct_features": list(design.construct_features),
        "programmes": {s.name: list(s.programme) for s in design.samples if s.programme},
        "programme_genes": {k: list(v) for k, v in PROGRAMMES.items()},
    }
    return a


def _dense_counts(rng, prof_matrix, pop, d_sl, mt, sexes, sex_idx, sex_level, lib, shape,
                  design) -> sp.csr_matrix:
    mu = prof_matrix[pop]
    mu[np.ix_(d_sl, mt)] *= 6.0  # damaged cells: mitochondrial share ~6x
    mu /= mu.sum(axis=1, keepdims=True)
    for sex_name, is_sex in sexes:
        mu[np.ix_(is_sex, sex_idx[sex_name])] = sex_level[sex_name]
    mu *= lib[:, None]
    lam = rng.gamma(shape, 1.0 / shape, size=mu.shape) * mu
    y = rng.poisson(lam)
    del lam
    drop_p = 1.0 / (1.0 + np.exp(design.dropout_slope
                                 * (np.log(mu + 1e-12) - np.log(design.dropout_midpoint))))
    y[rng.random(y.shape) < drop_p] = 0
    return sp.csr_matrix(y.astype(np.int32))


_SPARSE_KERNEL = None


def _sparse_kernel():  # compiled on first use (numba, cached on disk); dense needs none
    global _SPARSE_KERNEL
    if _SPARSE_KERNEL is None:
        import math

        import numba

        @numba.njit(cache=True, nogil=True)
        def kernel(u, prof, pop, mtf, cscale, is_mt, sexg, cellsex, sexmu, r, m0, k,
                   cols, vals, indptr):
            n, g_n = u.shape
            nnz = 0
            for c in range(n):
                row = prof[pop[c]]
                for g in range(g_n):
                    if sexg[g] >= 0:
                        mu = sexmu[c] if sexg[g] == cellsex[c] else 0.0
                    else:
                        mu = row[g] * cscale[c] * (mtf[c] if is_mt[g] else 1.0)
                    if mu <= 0.0:
                        continue
                    x = u[c, g]
                    if x >= mu:                            # P(count > 0) <= E[NB] = mu
                        continue
                    # 1 - dropout probability (no pow() for the default slope 1)
                    keep = mu / (mu + m0) if k == 1.0 else 1.0 / (1.0 + (m0 / mu) ** k)
                    lp0 = -r * math.log1p(mu / r)          # log P(NB = 0)
                    q = -math.expm1(lp0)                   # P(NB > 0)
                    p = keep * q
                    if x >= p:
                        continue
                    w = min(x / p, 1.0 - 1e-12) * q        # target mass in P(1 <= Y <= y)
                    step = mu / (r + mu)
                    pmf = math.exp(lp0) * r * step         # P(Y = 1)
                    cum = pmf
                    y = 1
                    while cum < w and pmf > 0.0:
                        pmf *= (y + r) / (y + 1) * step
                        y += 1
                        cum += pmf
                    cols[nnz] = g
                    vals[nnz] = y
                    nnz += 1
                indptr[c + 1] = nnz
            return nnz

        _SPARSE_KERNEL = kernel
    return _SPARSE_KERNEL


def _nb_dropout_sparse(rng: np.random.Generator, prof: np.ndarray, pop: np.ndarray,
                       mtf: np.ndarray, cscale: np.ndarray, is_mt: np.ndarray,
                       sexg: np.ndarray, cellsex: np.ndarray, sexmu: np.ndarray,
                       r: float, m0: float, k: float, block: int = 512) -> sp.csr_matrix:
    """Counts ``B * Y`` with ``Y ~ NB(mean mu, size r)`` and ``B ~ Bernoulli(1 / (1 +
    (m0 / mu)**k))`` for the cells of one chunk, drawn sparsely (CSR int32).

    ``mu[c, g] = prof[pop[c], g] * cscale[c] * (mtf[c] if g is mitochondrial)``, or
    ``sexmu[c]`` for the sex genes of the cell's sex (``sexg[g] == cellsex[c]``), 0 for
    the other sex's. One uniform per entry (``rng.random``, drawn ``block`` rows at a time:
    the stream does not depend on ``block``): the count is non-zero when ``u < P(count >
    0)``, and then its value is the zero-truncated NB quantile of ``u / P(count > 0)``.
    """
    kern = _sparse_kernel()
    n, g_n = len(pop), prof.shape[1]
    parts = []
    for b0 in range(0, n, block):
        b1 = min(b0 + block, n)
        u = rng.random((b1 - b0, g_n))
        cols = np.empty(u.size, np.int32)
        vals = np.empty(u.size, np.int32)
        indptr = np.zeros(b1 - b0 + 1, np.int64)
        nnz = kern(u, prof, pop[b0:b1], mtf[b0:b1], cscale[b0:b1], is_mt, sexg,
                   cellsex[b0:b1], sexmu[b0:b1], float(r), float(m0), float(k),
                   cols, vals, indptr)
        parts.append(sp.csr_matrix((vals[:nnz].copy(), cols[:nnz].copy(), indptr),
                                   shape=(b1 - b0, g_n)))
    return sp.vstack(parts, format="csr")


def truth_summary(adata: anndata.AnnData) -> pd.DataFrame:
    """Planted CAR+ and donor fractions per sample (cells with ``truth_qc == 'ok'``).

    Parameters
    ----------
    adata : AnnData
        Output of :func:`simulate` (``obs`` columns ``sample, truth_qc, truth_car,
        truth_origin``).

    Returns
    -------
    DataFrame
        Indexed by sample: ``n`` (good-quality cells), ``car_fraction``,
        ``donor_fraction``.

    Examples
    --------
    Every product cell is of donor origin by design; about 35 % of product T cells carry
    the CAR:

    >>> t = truth_summary(simulate(cart_design(n_cells=200), seed=1))
    >>> float(t.loc["product", "donor_fraction"])
    1.0
    >>> bool(abs(t.loc["product", "car_fraction"] - 0.35) < 0.1)
    True
    """
    ok = adata.obs[adata.obs["truth_qc"] == "ok"]
    g = ok.groupby("sample", observed=True)
    return pd.DataFrame({"n": g.size(), "car_fraction": g["truth_car"].mean(),
                         "donor_fraction": g["truth_origin"].apply(
                             lambda s: float((s == "donor").mean()))})


def planted_genes(design: Design) -> Sequence[str]:
    """Genes of the programme planted at the later time point.

    Parameters
    ----------
    design : Design
        The simulated study.

    Returns
    -------
    list of str
        The programme's genes; empty when no sample carries a programme.

    Examples
    --------
    >>> planted_genes(carnk_design())[:3]
    ['GZMB', 'PRF1', 'GZMA']
    """
    for s in design.samples:
        if s.programme:
            return list(PROGRAMMES[s.programme[1]])
    return []


TINY_STAGES = ("counts", "normalised", "embedded", "clustered")
TINY_STUDY = """format = 1

[study]
name = "SYNTHETIC tiny single-cell study (remission.singlecell.simulate.tiny)"
disease = "AML"
synthetic = true

[singlecell]
construct_features = ["CAR-CD123-scFv", "CAR-WPRE"]
n_top_genes = 200
n_pcs = 15
n_dims = 15
donor_sex = "male"
time_order = ["product", "day 10"]
de_car_only = false
"""


@functools.lru_cache(maxsize=8)
def _tiny(stage: str, seed: int) -> anndata.AnnData:
    if stage == "counts":
        return simulate(carnk_design(n_cells=150, n_genes=300), seed=seed)
    from remission.singlecell import pp, tl

    a = _tiny(TINY_STAGES[TINY_STAGES.index(stage) - 1], seed).copy()
    if stage == "normalised":
        pp.extract_car(a, carnk_design().construct_features)
        pp.qc(a)
        pp.normalize(a)
        pp.highly_variable(a, 200)
    elif stage == "embedded":
        pp.pca(a, 15, seed=seed)
        pp.harmony(a, "sample", n_pcs=15, seed=seed)
    else:
        tl.cluster(a, "seurat", n_dims=15, seed=seed)
        tl.annotate(a, seed=seed)
    return a


def tiny(stage: str = "counts", seed: int = 0) -> anndata.AnnData:
    """A tiny SYNTHETIC seed-004 data set (2 samples x 150 cells, 300 genes) for examples.

    Made by :func:`simulate` on :func:`carnk_design` (product and patient blood at day 10)
    and, by stage, processed with the package's own steps; each stage is built once per
    process and a copy returned, so examples and quick checks stay fast.

    Parameters
    ----------
    stage : {"counts", "normalised", "embedded", "clustered"}
        ``counts``: raw UMIs incl. the construct features; ``normalised``: CAR features
        moved to ``obs``, QC, LogNormalize, 200 HVGs; ``embedded``: + 15 PCs and Harmony;
        ``clustered``: + SNN/Louvain clusters and marker labels (``obs["cell_type"]``).
    seed : int
        Simulation and analysis seed.

    Returns
    -------
    anndata.AnnData
        A new copy each call.

    Examples
    --------
    >>> a = tiny()
    >>> a.shape, sorted(a.obs["sample"].unique())
    ((300, 302), ['patient', 'product'])
    >>> b = tiny("clustered")
    >>> "X_pca_harmony" in b.obsm and "cell_type" in b.obs
    True
    """
    if stage not in TINY_STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(TINY_STAGES)}")
    return _tiny(stage, seed).copy()


def write_tiny_study(folder: str | Path, seed: int = 0) -> Path:
    """Write :func:`tiny` counts as a single-cell study folder (10x folders + sample sheet).

    Parameters
    ----------
    folder : str or Path
        Study folder to create: ``study.toml`` (``[singlecell]``, donor male, 200 HVGs,
        15 PCs), ``singlecell/samples.csv`` and one 10x folder per sample.
    seed : int
        Simulation seed.

    Returns
    -------
    Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> d = write_tiny_study(Path(tempfile.mkdtemp()) / "study")
    >>> sorted(p.name for p in (d / "singlecell").iterdir())
    ['patient', 'product', 'samples.csv']
    """
    from remission.io.atomic import write_text
    from remission.singlecell.io import write_10x_mtx

    folder = Path(folder)
    a = tiny("counts", seed)
    rows = ["sample,path,time_point,source,format"]
    for s in carnk_design().samples:
        sub = a[a.obs["sample"] == s.name].copy()
        write_10x_mtx(sub, folder / "singlecell" / s.name)
        rows.append(f"{s.name},singlecell/{s.name},{s.time_point},{s.source},10x_mtx")
    write_text(folder / "singlecell" / "samples.csv", "\n".join(rows) + "\n")
    write_text(folder / "study.toml", TINY_STUDY)
    return folder
