"""Immunogenetics and cell tracking: KIR–HLA models, integration-site clonality, chimerism.

Each analysis returns :class:`remission.results.Result` objects (section
``"immunogenetics"``) that join the study report; the study-folder reader is
:mod:`remission.immunogenetics.folder`. Every public function is one hop away
(``from remission.immunogenetics import evaluate_pairs``); it lives in, and is documented
with, its submodule (:mod:`~remission.immunogenetics.hla`, :mod:`~remission.immunogenetics.kir`,
:mod:`~remission.immunogenetics.chimerism`, :mod:`~remission.immunogenetics.clonality`,
:mod:`~remission.immunogenetics.annotate`, :mod:`~remission.immunogenetics.origin`,
:mod:`~remission.immunogenetics.panel`, :mod:`~remission.immunogenetics.vcf`,
:mod:`~remission.immunogenetics.plot`), which is imported on first use.
"""

from remission.core.lazy import lazy_exports

# name -> submodule that defines it (each submodule's ``__all__``); the submodules load on
# first use (PEP 562), so ``import remission.immunogenetics`` stays as cheap as it was
# (no scipy/matplotlib).
# tests/test_one_hop.py keeps this map equal to the submodules' ``__all__``.
_WHERE: dict[str, str] = {
    "cis_windows": "annotate",
    "grubbs_cis": "annotate",
    "nearest_gene": "annotate",
    "read_genes": "annotate",
    "watch_hits": "annotate",
    "chimerism_alerts": "chimerism",
    "chimerism_results": "chimerism",
    "destutter": "chimerism",
    "locus_donor_fraction": "chimerism",
    "snp_donor_fractions": "chimerism",
    "str_chimerism": "chimerism",
    "clonality_metrics": "clonality",
    "clonality_results": "clonality",
    "clone_alerts": "clonality",
    "clone_shares": "clonality",
    "diversity_matrix": "clonality",
    "sample_matrix": "clonality",
    "track_product": "clonality",
    "Inputs": "folder",
    "analyse_folder": "folder",
    "chromosome_sizes": "folder",
    "read_config": "folder",
    "read_folder": "folder",
    "Allele": "hla",
    "LigandClass": "hla",
    "classify": "hla",
    "classify_residues": "hla",
    "common_alleles": "hla",
    "parse_allele": "hla",
    "allele_classes": "kir",
    "evaluate_pairs": "kir",
    "kir_genotype": "kir",
    "kir_hla_results": "kir",
    "ligand_status": "kir",
    "normalise_origin": "origin",
    "origin_by_cluster": "origin",
    "origin_result": "origin",
    "panel_results": "panel",
    "chimerism_plot": "plot",
    "clone_size_plot": "plot",
    "fold_change_heatmap": "plot",
    "read_vcf_snps": "vcf",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
