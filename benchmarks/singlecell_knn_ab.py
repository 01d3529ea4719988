"""Neighbour searches of the single-cell graphs: exact (scikit-learn) vs pynndescent.

``tl.knn`` searches exactly below ``tl.APPROX_MIN_CELLS`` cells and with pynndescent from
there (Seurat's FindNeighbors and RunUMAP search with Annoy). This script times both on a
Harmony embedding of the benchmark's simulated input and checks that the approximate
search gives the same graphs' results:

* each method runs in a fresh process (pynndescent's Numba compilation counts, as in the
  pipeline), alternating exact / approximate over ``--reps`` rounds; per run: wall and
  CPU (process + waited-for children) of the SNN search (Euclidean 20-NN) and of the UMAP
  graph's search (cosine 30-NN, the same compiled Euclidean search on unit rows);
* checks (:func:`check_neighbours`; exit 1 when one fails): recall of the approximate
  neighbours against the exact ones >= 0.98 for both searches, and Louvain clusters (one
  start, seed 0, resolution 0.8: the 10 starts would double the script's time) on the
  approximate SNN against those on the exact SNN: ARI >= 0.95. A run starts by deleting
  the previous run's neighbour files, so it never compares stale ones.

The embedding (QC, HVG, LogNormalize, PCA, Harmony of ``bench_singlecell``'s input with
its parameters) is computed once and cached beside the input as ``<input>.harmony.npy``.

Run: ``python benchmarks/singlecell_knn_ab.py --cells 25000 --reps 2`` (2 x 25,000 cells
x 20,000 genes; the input is generated first if missing, as by bench_singlecell.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_singlecell as bench  # noqa: E402
import harness as hz  # noqa: E402


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def embedding(data: Path) -> Path:
    """The first 30 Harmony components of the input, as the pipeline computes them."""
    out = data.with_suffix(".harmony.npy")
    if out.exists():
        return out
    import anndata as ad

    from remission.singlecell import pp

    a = ad.read_h5ad(data)
    pp.extract_car(a, bench.FEATS, 1)
    pp.qc(a, pp.QCParams())
    a.layers["counts"] = a.X
    pp.highly_variable(a, 2000)
    pp.normalize(a, 1e4)
    pp.pca(a, 50, seed=0)
    pp.harmony(a, "sample", n_pcs=30, seed=0)
    tmp = out.with_suffix(".tmp.npy")
    np.save(tmp, np.asarray(a.obsm["X_pca_harmony"])[:, :30])
    tmp.replace(out)
    return out


def worker(method: str, emb: str, out: str) -> None:
    """One method in this process: both searches timed, neighbours saved."""
    from remission.singlecell import tl

    X = np.load(emb)
    res = {}
    for name, k, metric in (("snn", 20, "euclidean"), ("umap", 30, "cosine")):
        w, c = time.perf_counter(), _cpu()
        _, idx = tl.knn(X, k, metric, method=method)
        res[name] = [time.perf_counter() - w, _cpu() - c]
        np.save(f"{out}.{name}.npy", idx)
    Path(out).write_text(json.dumps(res))


def _recall(a: np.ndarray, b: np.ndarray) -> float:
    hits = sum(len(set(x) & set(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True))
    return hits / a.size


def check_neighbours(folder: Path) -> bool:
    """The script's checks on the neighbour files of one exact and one approximate run
    (``exact.snn.npy``, ``approximate.snn.npy``, ``exact.umap.npy``,
    ``approximate.umap.npy`` in ``folder``): recall >= 0.98 for both searches and Louvain
    on the approximate SNN against the exact SNN ARI >= 0.95; prints one ok/FAIL line
    each; True when all pass."""
    from sklearn.metrics import adjusted_rand_score

    from remission.singlecell import tl

    ok = True
    for name in ("snn", "umap"):
        exact = np.load(folder / f"exact.{name}.npy")
        approx = np.load(folder / f"approximate.{name}.npy")
        rec = _recall(exact, approx)
        good = rec >= 0.98
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} recall of pynndescent's {name} neighbours vs "
              f"exact >= 0.98: {rec:.4f}")
    labs = [tl.louvain(tl.snn_graph(idx=np.load(folder / f"{m}.snn.npy"), k=20), 0.8,
                       n_start=1)[0]
            for m in ("exact", "approximate")]
    ari = float(adjusted_rand_score(*labs))
    ok &= ari >= 0.95
    print(f"{'ok  ' if ari >= 0.95 else 'FAIL'} Louvain on the approximate SNN vs the exact "
          f"SNN: ARI {ari:.4f} (>= 0.95); {len(set(labs[0]))} / {len(set(labs[1]))} clusters")
    return bool(ok)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=25_000, help="cells per sample")
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--worker", nargs=3, metavar=("METHOD", "EMB", "OUT"))
    a = ap.parse_args(argv)
    if a.worker:
        worker(*a.worker)
        return 0
    if a.reps < 1:
        ap.error("--reps must be at least 1")
    emb = embedding(bench.make_data(a.cells, a.genes))
    n = np.load(emb, mmap_mode="r").shape[0]
    tmp = hz.OUT_DIR / "knn_ab"
    tmp.mkdir(parents=True, exist_ok=True)
    for old in tmp.glob("*.npy"):  # never compare a previous run's neighbours
        old.unlink()
    env = {**os.environ, **hz.py_env()}
    times: dict[str, list] = {"exact": [], "approximate": []}
    print(f"{n:,} cells x 30 Harmony components ({emb}); load {os.getloadavg()[0]:.1f}")
    for rep in range(a.reps):
        order = ("exact", "approximate") if rep % 2 == 0 else ("approximate", "exact")
        for m in order:
            out = tmp / m
            w, c = time.perf_counter(), _cpu()
            subprocess.run([sys.executable, __file__, "--worker", m, str(emb), str(out)],
                           check=True, env=env)
            r = json.loads(out.read_text())
            r["process"] = [time.perf_counter() - w, _cpu() - c]
            times[m].append(r)
            print(f"  rep {rep + 1} {m:<12} SNN 20-NN {r['snn'][0]:6.1f} s wall "
                  f"{r['snn'][1]:6.1f} s CPU | UMAP cosine 30-NN {r['umap'][0]:6.1f} s wall "
                  f"{r['umap'][1]:6.1f} s CPU | process {r['process'][0]:6.1f} s wall "
                  f"{r['process'][1]:6.1f} s CPU (load {os.getloadavg()[0]:.1f})", flush=True)
    for m, rs in times.items():
        med = np.median([r["process"] for r in rs], axis=0)
        print(f"median {m:<12} process {med[0]:.1f} s wall {med[1]:.1f} s CPU")
    ok = check_neighbours(tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
