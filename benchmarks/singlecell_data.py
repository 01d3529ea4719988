"""Simulated single-cell inputs of the single-cell benchmarks, generated once and cached.

Shared by ``bench_singlecell.py`` (seed 100) and ``bench_singlecell_outofcore.py``
(seed 101): the seed-002 design (CAR-T product + peak blood) from
:func:`remission.singlecell.simulate.simulate` with the sparse sampler, labelled SYNTHETIC,
written to a temporary file and renamed into place (a run killed half-way leaves no
file that a later run would take for the input). Generating is never timed.
"""

from __future__ import annotations

import time
from pathlib import Path


def cached_simulation(path: Path, cells: int, genes: int, seed: int,
                      share: int | None, depth: float = 1.0) -> Path:
    """Simulate ``cells`` per sample x ``genes`` into ``path`` unless it exists.

    Parameters
    ----------
    path : pathlib.Path
        Target ``.h5ad`` (raw counts); returned as is when it already exists.
    cells, genes : int
        Cells per sample and genes of :func:`~remission.singlecell.simulate.cart_design`.
    seed : int
        Simulation seed.
    share : int, optional
        ``Design.named_share_genes``: the named genes keep their library share at this
        many genes (``None``: the design's own).
    depth : float
        Every sample's median library size multiplied by this (deeper libraries: more
        non-zero counts per cell).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.h5ad"
    >>> cached_simulation(p, 60, 400, seed=1, share=None) == p  # doctest: +ELLIPSIS
    simulated 120 cells x 403 features (33,579 non-zero) in ... s -> .../x.h5ad
    True
    >>> cached_simulation(p, 60, 400, seed=1, share=None) == p  # cached: no new file
    True
    """
    if path.exists():
        return path
    from dataclasses import replace

    from remission.singlecell.simulate import cart_design, simulate

    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    design = replace(cart_design(n_cells=cells, n_genes=genes), named_share_genes=share)
    if depth != 1.0:
        design = replace(design, samples=tuple(
            replace(s, library_median=s.library_median * depth) for s in design.samples))
    a = simulate(design, seed=seed, sampler="sparse")
    tmp = path.with_suffix(".tmp.h5ad")
    a.write_h5ad(tmp)
    tmp.replace(path)
    print(f"simulated {a.n_obs:,} cells x {a.n_vars:,} features ({a.X.nnz:,} non-zero) in "
          f"{time.perf_counter() - t0:.1f} s -> {path}", flush=True)
    return path
