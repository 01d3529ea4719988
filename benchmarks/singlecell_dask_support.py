"""Which scanpy preprocessing functions accept a lazily read (dask) count matrix here.

Reads the tiny SYNTHETIC study's counts from an .h5ad with anndata's
``experimental.read_elem_lazy`` (a dask array of CSR blocks of 64 cells) and calls each
function on an AnnData holding it; prints OK or the error, and the versions. The record in
docs/singlecell.md ("Data larger than memory") comes from this script. It checks only that
the call returns, not whether scanpy materialises the whole matrix inside it.

Run: ``python benchmarks/singlecell_dask_support.py`` (a few seconds).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import warnings
from collections.abc import Callable

import anndata as ad
import dask
import h5py
import numpy as np
import scanpy as sc
import scipy.sparse as sp

from remission.singlecell.simulate import tiny


def main() -> int:
    warnings.filterwarnings("ignore")
    a = tiny()
    a.X = sp.csr_matrix(a.X, dtype=np.float32)
    path = os.path.join(tempfile.mkdtemp(), "tiny.h5ad")
    a.write_h5ad(path)
    with h5py.File(path) as f:
        X = ad.experimental.read_elem_lazy(f["X"], chunks=(64, a.n_vars))
        print(f"scanpy {sc.__version__}, anndata {ad.__version__}, dask {dask.__version__}, "
              f"dask-ml installed: {importlib.util.find_spec('dask_ml') is not None}")
        print(f"lazy X: {type(X).__name__} of {type(X._meta).__name__} blocks "
              f"{X.chunks[0][:3]}...")

        def check(name: str, fn: Callable[[ad.AnnData], object]) -> None:
            b = ad.AnnData(X, obs=a.obs.copy(), var=a.var.copy())
            try:
                fn(b)
                print(f"OK    {name}")
            except Exception as exc:  # the record is the error itself
                print(f"FAIL  {name}: {type(exc).__name__}: {str(exc)[:80]}")

        def lognorm(b: ad.AnnData) -> None:
            sc.pp.normalize_total(b, target_sum=1e4)
            sc.pp.log1p(b)

        check("calculate_qc_metrics",
              lambda b: sc.pp.calculate_qc_metrics(b, percent_top=None, inplace=True))
        check("filter_cells(min_genes=10)", lambda b: sc.pp.filter_cells(b, min_genes=10))
        check("normalize_total + log1p", lognorm)
        check("highly_variable_genes(flavor='seurat_v3')",
              lambda b: sc.pp.highly_variable_genes(b, flavor="seurat_v3", n_top_genes=50))
        check("highly_variable_genes(flavor='seurat') on log data",
              lambda b: (lognorm(b), sc.pp.highly_variable_genes(b, flavor="seurat",
                                                                 n_top_genes=50)))
        check("scale(max_value=10)", lambda b: sc.pp.scale(b, max_value=10))
        check("pca(svd_solver='covariance_eigh')",
              lambda b: sc.pp.pca(b, n_comps=5, svd_solver="covariance_eigh"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
