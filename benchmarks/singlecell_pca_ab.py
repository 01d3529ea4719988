"""Scale + PCA of the single-cell benchmark's input: remission's covariance route vs ARPACK.

``pp.pca`` takes the top eigenvectors of the scaled HVG matrix's covariance (one BLAS-3
product + LAPACK) where scanpy's default ``sc.tl.pca`` (and remission before 2026-11-30)
runs ARPACK's Lanczos iterations on the matrix. This script prepares the scaled, dense
cells x 2,000 HVGs matrix of ``bench_singlecell``'s input once (CAR features out, QC,
HVG, LogNormalize, as the pipeline), then times, in this one process, each route on its
own copy (``--reps`` rounds, order alternating): wall and CPU seconds. Checks (exit 1 when
one fails): scores equal within 1e-6 of the largest score (signs included), variance
ratios within 1e-9 (relative).

Run: ``python benchmarks/singlecell_pca_ab.py --cells 25000`` (input generated first if
missing, as by bench_singlecell.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_singlecell as bench  # noqa: E402


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=25_000, help="cells per sample")
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=1)
    a = ap.parse_args(argv)
    import anndata as ad
    import scipy.sparse as sp
    from sklearn.decomposition import PCA
    from sklearn.utils import check_random_state

    from remission.singlecell import pp

    b = ad.read_h5ad(bench.make_data(a.cells, a.genes))
    pp.extract_car(b, bench.FEATS, 1)
    pp.qc(b, pp.QCParams())
    b.layers["counts"] = b.X
    pp.highly_variable(b, 2000)
    pp.normalize(b, 1e4)
    X = b.X[:, b.var["highly_variable"].to_numpy()]
    X = X.toarray(order="F") if sp.issparse(X) else np.asfortranarray(X)
    pp._scale_inplace(X, 10.0)
    del b
    k = 50
    print(f"{X.shape[0]:,} cells x {X.shape[1]:,} HVGs, scaled; {k} components; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)

    def arpack():
        m = PCA(n_components=k, svd_solver="arpack", random_state=check_random_state(0),
                copy=False)
        return m.fit_transform(X.copy(order="F")), m.explained_variance_ratio_

    def covariance():
        return pp._pca_covariance(X.copy(order="F"), k)

    out, times = {}, {"ARPACK (sc.tl.pca default)": [], "covariance (pp.pca)": []}
    for rep in range(a.reps):
        order = list(times) if rep % 2 == 0 else list(times)[::-1]
        for name in order:
            fn = arpack if name.startswith("ARPACK") else covariance
            w, c = time.perf_counter(), _cpu()
            out[name] = fn()
            times[name].append((time.perf_counter() - w, _cpu() - c))
            print(f"  rep {rep + 1} {name:<28} {times[name][-1][0]:7.1f} s wall "
                  f"{times[name][-1][1]:7.1f} s CPU (load {os.getloadavg()[0]:.1f})",
                  flush=True)
    for name, t in times.items():
        med = np.median(np.array(t), axis=0)
        print(f"median {name:<28} {med[0]:7.1f} s wall {med[1]:7.1f} s CPU")
    (ya, ra), (yc, rc) = out["ARPACK (sc.tl.pca default)"], out["covariance (pp.pca)"]
    diff = float(np.abs(ya - yc).max())
    scale = float(np.abs(ya).max())
    rel = float(np.max(np.abs(rc - ra) / ra))
    ok1, ok2 = diff <= 1e-6 * scale, rel <= 1e-9
    print(f"{'ok  ' if ok1 else 'FAIL'} scores: max |difference| {diff:.3g} "
          f"(largest score {scale:.3g}; limit 1e-6 of it)")
    print(f"{'ok  ' if ok2 else 'FAIL'} variance ratios: max relative difference {rel:.3g} "
          "(limit 1e-9)")
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    sys.exit(main())
