"""Translational lab assays: dose-response, qPCR, apoptosis, synergy and bulk RNA-seq.

Each analysis returns :class:`remission.results.Result` objects with ``section="lab"``;
:func:`analyse_folder` runs everything present in a lab folder (docs/lab-formats.md).
Every public function is one hop away (``from remission.lab import fit_curve``); it lives
in, and is documented with, its submodule (:mod:`~remission.lab.doseresponse`,
:mod:`~remission.lab.qpcr`, :mod:`~remission.lab.apoptosis`, :mod:`~remission.lab.synergy`,
:mod:`~remission.lab.rnaseq`, :mod:`~remission.lab.enrichment`, :mod:`~remission.lab.formats`
for the readers, :mod:`~remission.lab.folder`), which is imported on first use.
"""

from remission.core.lazy import lazy_exports

# name -> submodule that defines it (each submodule's ``__all__``); the submodules load on
# first use (PEP 562), so ``import remission.lab`` stays as cheap as it was (no scipy/matplotlib).
# tests/test_one_hop.py keeps this map equal to the submodules' ``__all__``.
_WHERE: dict[str, str] = {
    "apoptosis_results": "apoptosis",
    "compare_groups": "apoptosis",
    "percent_apoptosis": "apoptosis",
    "plot_apoptosis": "apoptosis",
    "two_way_anova": "apoptosis",
    "BatchFit": "doseresponse",
    "CurveFit": "doseresponse",
    "JointFit": "doseresponse",
    "absolute_ic50": "doseresponse",
    "asymptotes_fixed": "doseresponse",
    "compare_curves": "doseresponse",
    "dose_response_results": "doseresponse",
    "extra_ss_f_test": "doseresponse",
    "fieller_ratio": "doseresponse",
    "fit_curve": "doseresponse",
    "fit_joint": "doseresponse",
    "fit_many": "doseresponse",
    "lack_of_fit_test": "doseresponse",
    "ll_curve": "doseresponse",
    "normalise_to_vehicle": "doseresponse",
    "plot_dose_response": "doseresponse",
    "profile_ic50_ci": "doseresponse",
    "GeneSets": "enrichment",
    "builtin_genesets": "enrichment",
    "ora": "enrichment",
    "ranksum_test": "enrichment",
    "read_gmt": "enrichment",
    "analyse_folder": "folder",
    "read_config": "folder",
    "read_counts": "formats",
    "read_ct_table": "formats",
    "read_flow_quadrants": "formats",
    "read_plate_map": "formats",
    "read_plate_table": "formats",
    "read_synergy_matrix": "formats",
    "grubbs_critical": "qpcr",
    "grubbs_statistic": "qpcr",
    "plot_qpcr": "qpcr",
    "qpcr_results": "qpcr",
    "relative_expression": "qpcr",
    "summarise_replicates": "qpcr",
    "plot_ma": "rnaseq",
    "plot_volcano": "rnaseq",
    "rnaseq_results": "rnaseq",
    "run_deseq2": "rnaseq",
    "Hill": "synergy",
    "plot_synergy": "synergy",
    "synergy_results": "synergy",
    "synergy_scores": "synergy",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
