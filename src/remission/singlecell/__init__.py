"""Single-cell profiling of CAR products and patients' blood (scanpy-style ``pp``/``tl``/``pl``).

AnnData in, AnnData + Results out::

    from remission.singlecell import load_singlecell, run_folder
    prof = run_folder("examples/singlecell-cart-002-synthetic")
    prof.results            # list of Result (section "singlecell")
    prof.adata.obs          # cluster, cell_type, car_detected, origin, module scores

Heavy libraries (scanpy, harmonypy, igraph) are imported inside functions; install them with
the ``singlecell`` extra (``pip install 'remission[singlecell]'``). See docs/singlecell.md.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remission.singlecell.declared import has_singlecell

if TYPE_CHECKING:
    from remission.singlecell.analysis import Params, Profile, profile
    from remission.singlecell.io import load_singlecell, read_counts

# Everything but has_singlecell is imported on first use (PEP 562): a study report asks
# has_singlecell of every folder, and importing the single-cell stack (scipy.sparse,
# the analysis modules) costs CPU time that a study without cells need not pay
# (docs/performance.md).
_LAZY = {"Params": "analysis", "Profile": "analysis", "profile": "analysis",
         "load_singlecell": "io", "read_counts": "io", "pl": None, "pp": None,
         "stats": None, "tl": None}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod = importlib.import_module(f"{__name__}.{_LAZY[name] or name}")
    return mod if _LAZY[name] is None else getattr(mod, name)

__all__ = ["Params", "Profile", "figures", "has_singlecell", "load_singlecell", "pl", "pp",
           "profile", "read_counts", "run_folder", "stats", "tl"]


def run_folder(folder: str | Path) -> Profile:
    """Load the single-cell part of a study folder and profile it.

    Parameters
    ----------
    folder : str or Path
        Study folder with ``[singlecell]`` in study.toml and ``singlecell/samples.csv``
        (``out_of_core = true``, or ``"auto"`` with ``memory_gb``: the counts are read a
        block of cells at a time, :func:`remission.singlecell.outofcore.profile_h5ad`).

    Returns
    -------
    Profile
        Processed AnnData and Results. Bad input raises ``remission.errors.InputError``
        before anything is computed or written.

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.simulate import write_tiny_study
    >>> folder = write_tiny_study(Path(tempfile.mkdtemp()) / "study")
    >>> prof = run_folder(folder)
    >>> prof.adata.n_obs  # cells passing QC
    286
    >>> t = next(r for r in prof.results if r.name == "immunogenetics.origin_by_cluster").table
    >>> float(t.loc[("product", "product", "all clusters"), "donor_share"])  # product is donor
    1.0
    """
    from dataclasses import replace

    from remission.singlecell.analysis import profile
    from remission.singlecell.io import load_singlecell

    st = load_singlecell(folder)
    warns = list(st.warnings)
    if st.parts is not None:  # out_of_core = true, or "auto" above memory_gb
        from remission.singlecell.outofcore import profile_h5ad

        prof = profile_h5ad(st.parts, st.params, st.chunk_cells, origin=st.origin)
        warns.append(f"route: {st.route}")
    else:
        a = st.adata
        if st.origin is not None:
            a.obs["origin"] = st.origin.to_numpy()
        prof = profile(a, st.params)
    if warns:
        r0 = prof.results[0]
        prof.results[0] = replace(r0, warnings=(*r0.warnings, *warns))
    return prof


def figures(prof: Profile) -> list[tuple[str, str, str, object]]:
    """Standard figures of a profile: (name, title, caption, matplotlib Figure).

    Parameters
    ----------
    prof : Profile
        From :func:`profile` or :func:`run_folder`.

    Returns
    -------
    list of tuple
        Embedding by label / sample / CAR, marker dot plot, composition bars, volcano.

    Examples
    --------
    >>> from remission.singlecell.analysis import Params, profile
    >>> from remission.singlecell.simulate import tiny
    >>> p = Params(construct_features=("CAR-CD123-scFv", "CAR-WPRE"), n_top_genes=200,
    ...            n_comps=15, n_dims=15, time_order=("product", "day 10"), de_car_only=False)
    >>> figs = figures(profile(tiny(), p))
    >>> [name for name, *_ in figs]  # doctest: +NORMALIZE_WHITESPACE
    ['fig.singlecell.labels', 'fig.singlecell.samples', 'fig.singlecell.car',
     'fig.singlecell.dotplot', 'fig.singlecell.composition', 'fig.singlecell.volcano']
    """
    from remission.singlecell import pl
    from remission.singlecell.markers import MARKER_SETS

    a = prof.adata
    basis = "UMAP" if "X_umap" in a.obsm else "first two Harmony components"
    out = [("fig.singlecell.labels", "Cells by marker-based label",
            f"Cells on the {basis}, coloured by cluster label.",
            pl.embedding(a, "cell_type")),
           ("fig.singlecell.samples", "Cells by sample",
            f"Cells on the {basis}, coloured by sample (after Harmony).",
            pl.embedding(a, "sample"))]
    if "car_detected" in a.obs:
        a.obs["CAR"] = a.obs["car_detected"].map({True: "CAR detected",
                                                  False: "not detected"})
        out.append(("fig.singlecell.car", "CAR-detected cells",
                    f"Cells on the {basis}; CAR detected from construct UMIs.",
                    pl.embedding(a, "CAR")))
    genes = [g for m in MARKER_SETS for g in m.positive[:3]]
    out.append(("fig.singlecell.dotplot", "Marker genes by label",
                "Dot size: share of cells with non-zero expression; colour: mean log "
                "expression.", pl.dotplot(a, genes)))
    comp = next(r for r in prof.results if r.name == "singlecell.composition")
    out.append(("fig.singlecell.composition", "Composition per sample",
                "Share of each label among QC-passing cells.",
                pl.composition_bars(comp.table.reset_index())))
    if prof.de is not None:
        out.append(("fig.singlecell.volcano", "Differential expression",
                    "Seurat-style Wilcoxon; red: Bonferroni-adjusted p < 0.05.",
                    pl.volcano(prof.de)))
    return out
