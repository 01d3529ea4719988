"""Peak resident memory of each step of remission.singlecell.analysis.profile, in order.

Reads an h5ad made by ``bench_singlecell.py`` (``build/bench/data/singlecell-sparse-s100-
share1500-<cells>x<genes>.h5ad``), runs the steps of ``profile`` one by one in this process with the
benchmark's parameters (no UMAP) and, for each, resets the kernel's peak-RSS mark
(``/proc/self/clear_refs`` = 5) and prints the RSS before and the peak during the step,
and its wall and CPU (user + system of this process and of the child processes it waited
for, e.g. Louvain's forked starts) seconds.
Linux only. Not a harness benchmark (no peer): it tells which step sets the peak.

Run: ``python benchmarks/singlecell_memory_steps.py build/bench/data/singlecell-sparse-s100-
share1500-10000x20000.h5ad``
"""

from __future__ import annotations

import os
import sys
import time


def _status(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1e6
    return float("nan")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(path: str) -> None:
    import anndata as ad

    from remission.singlecell import pp, tl
    from remission.singlecell.analysis import Params

    a = ad.read_h5ad(path)
    print(f"read: peak {_status('VmHWM'):.2f} GB", flush=True)
    p = Params(construct_features=("CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"),
               donor_sex="male", time_order=("product", "day 9"),
               de_labels=("CD4 effector memory",), de_car_only=False, umap=False)

    def hvg() -> None:
        a.layers["counts"] = a.X
        pp.highly_variable(a, p.n_top_genes)

    steps = [("CAR extraction", lambda: pp.extract_car(a, p.construct_features,
                                                       p.car_min_umis)),
             ("QC", lambda: pp.qc(a, p.qc)), ("HVG", hvg),
             ("LogNormalize", lambda: pp.normalize(a, p.target_sum)),
             ("scale + PCA", lambda: pp.pca(a, p.n_comps, seed=p.seed)),
             ("Harmony", lambda: pp.harmony(a, "sample", n_pcs=p.n_dims, seed=p.seed)),
             ("SNN + Louvain", lambda: tl.cluster(a, "seurat", None, n_dims=p.n_dims,
                                                  seed=p.seed)),
             ("annotation", lambda: tl.annotate(a, seed=p.seed))]
    for name, step in steps:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _status("VmRSS")
        t0, c0 = time.perf_counter(), _cpu()
        step()
        print(f"{name}: RSS before {before:.2f} GB, peak during {_status('VmHWM'):.2f} GB, "
              f"{time.perf_counter() - t0:.1f} s wall, {_cpu() - c0:.1f} s CPU",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
