"""Counts larger than the memory allowed: the out-of-core route succeeds, the in-memory one fails.

Data (SYNTHETIC, deterministic): seed 002's design (CAR-T product + blood at peak) from the
repo's simulator, sparse sampler, seed 101, ``--cells`` cells per sample (default 10,000)
x ``--genes`` genes (default 33,538, the gene count of 10x's GRCh38 3.0.0 reference) with
``named_share_genes=1500`` (markers as strong as in the examples) and deep libraries
(``--depth 4``: median 20,000 UMIs in the product, 14,000 at peak; ~6,700 genes per
cell, 108 million non-zero counts, 0.86 GB as CSR), written once as an .h5ad with ``X``
in CSR (``build/bench/data/singlecell-ooc-...h5ad``; generating is not timed).

The cap (``--cap-gb``, default 1.5 GB) is on resident memory (RSS), enforced by a
watchdog: the parent reads the child's ``VmRSS`` every 5 ms and kills it (SIGKILL) when it
exceeds the cap. The verdict does not depend on the poll interval: after the child exits,
the kernel's high-water mark of its resident set (``ru_maxrss`` from ``wait4``; it also
counts this small parent's ~0.1 GB resident at the fork, so it errs towards failing) must
be at most the cap for a success, and the in-memory route counts as failed when it was
killed, raised, or peaked above the cap. Why not ``RLIMIT_AS``: it limits address space,
not memory; the interpreter with numpy, scanpy and numba already reserves ~0.86 GB of it
(measured: ``VmSize`` after the imports) against ~0.33 GB resident, and allocator arenas
and thread stacks reserve more, so a 1.5 GB address-space cap would measure reservations
rather than data.

Sides, each a fresh Python process (imports and reading included):

* ``in-memory`` -- ``remission.singlecell.profile(anndata.read_h5ad(path))`` (UMAP off)
  under TWICE the cap, where it must fail: the data need more than twice the memory
  the out-of-core route is allowed;
* ``out-of-core`` -- ``remission.singlecell.outofcore.profile_h5ad(path, chunk_cells=1024)``
  with the same parameters under the cap, which must succeed with peak RSS <= cap and
  recover the
  planted truth: ARI of clusters and of labels against the planted populations >= 0.8,
  CAR-detected share within 2 points of the planted share per sample, 2,000 HVGs, and
  >= 5 of the 7 planted programme genes among the 20 top up-regulated DE genes (peak vs
  product, CAR-detected CD4 effector memory; every gene of those cells read in one more
  pass).

Exits non-zero if any of that fails. ``--quick`` (what ``make bench --quick`` passes) and
``--check-watchdog`` only check the cap itself (a child filling 300 MB must fail a 150 MB
cap, one filling 20 MB must pass): data small enough to be quick fit in memory.
``--uncapped`` also runs the in-memory route without a cap and compares the two routes'
outputs (same kept cells, cluster ARI 1, identical labels and CAR calls, same HVGs and
top-20 DE genes; its peak must be >= 2 x the cap). The record goes to
``build/bench/singlecell_outofcore.json``.

Run: ``python benchmarks/bench_singlecell_outofcore.py [--cap-gb 1.5] [--cells N]
[--genes G] [--depth D] [--chunk C] [--uncapped]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness as hz  # noqa: E402
from singlecell_data import cached_simulation  # noqa: E402

FEATS = ("CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE")
SHARE_GENES = 1500
DEPTH = 4.0  # median library x 4 (product 20,000, peak 14,000 UMIs): ~6,700 genes per cell
GB = 10**9  # decimal gigabytes throughout (cap and sizes)


def make_data(cells: int, genes: int, depth: float = DEPTH) -> Path:
    """Simulate once (sparse sampler, seed 101) and cache the h5ad under build/bench/data."""
    tag = "" if depth == 1 else f"-depth{depth:g}"
    path = hz.OUT_DIR / "data" / \
        f"singlecell-ooc-s101-share{SHARE_GENES}{tag}-{cells}x{genes}.h5ad"
    return cached_simulation(path, cells, genes, seed=101, share=SHARE_GENES, depth=depth)


def _params():
    from remission.singlecell.analysis import Params

    return Params(construct_features=FEATS, donor_sex="male",
                  time_order=("product", "day 9"), de_labels=("CD4 effector memory",),
                  de_car_only=True, umap=False)  # DE among CAR-detected cells (the default)


def worker(route: str, data: str, out: str, chunk: int) -> None:
    """Run one route in this process and write a summary JSON."""
    t0 = time.perf_counter()
    import anndata as ad
    import h5py
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    if route == "in-memory":
        from remission.singlecell.analysis import profile

        prof = profile(ad.read_h5ad(data), _params(), copy=False)
    else:
        from remission.singlecell.outofcore import profile_h5ad

        prof = profile_h5ad(data, _params(), chunk_cells=chunk)
    with h5py.File(data, "r") as f:
        planted = list(ad.io.read_elem(
            f["uns/simulation/programme_genes/cd4_killing_memory"]))
    de = prof.de
    up = [] if de is None else list(de[de["avg_log2FC"] > 0].index[:20])
    b = prof.adata
    obs = b.obs
    # out of core, X keeps only the genes later steps read; every HVG is in uns
    hvg = b.uns["hvg"].get("genes") or list(b.var_names[b.var["highly_variable"]])
    # per-cell outputs, compared between the routes by the parent (--uncapped)
    obs[["cluster", "cell_type", "car_detected"]].to_csv(Path(out).with_suffix(".cells.csv"))
    car = obs.groupby("sample", observed=True)[["car_detected", "truth_car"]].mean()
    summary = {
        "kept": int(b.n_obs), "genes_in_memory": int(b.n_vars),
        "hvg": len(hvg),
        "ari_clusters": float(adjusted_rand_score(obs["truth_population"], obs["cluster"])),
        "ari_labels": float(adjusted_rand_score(obs["truth_population"], obs["cell_type"])),
        "car_detected": car["car_detected"].round(4).to_dict(),
        "car_planted": car["truth_car"].astype(float).round(4).to_dict(),
        "car_diff_max_points": float(np.abs(car["car_detected"] - car["truth_car"]).max()
                                     * 100),
        "results": [r.name for r in prof.results],
        "planted_in_top20_up": len(set(up) & set(planted)),
        "top20_up": up,
        "hvg_genes": sorted(hvg),
        "seconds_in_process": time.perf_counter() - t0,
    }
    Path(out).write_text(json.dumps(summary, indent=1))


def run_capped(cmd: list[str], cap_bytes: int | None, env: dict[str, str] | None = None,
               poll: float = 0.005) -> dict:
    """Run ``cmd`` with a resident-memory cap; return exit status, peak RSS, times.

    Parameters
    ----------
    cmd : list of str
        Command of the child process.
    cap_bytes : int or None
        RSS cap (``None``: no cap, only measured).
    env : dict, optional
        Environment of the child.
    poll : float
        Watchdog interval in seconds (the verdict uses the kernel's peak, not the polls).

    Returns
    -------
    dict
        ``returncode``, ``killed`` (by the watchdog), ``peak_rss_bytes`` (kernel
        high-water mark, ``ru_maxrss``), ``within_cap``, ``wall_s``, ``cpu_s``, ``stderr``
        (last lines).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    killed = False
    err_lines: list[str] = []
    import threading

    def drain() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            err_lines.append(line)
            del err_lines[:-20]

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    while True:
        try:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:  # pragma: no cover
            raise
        if pid:
            break
        if (cap_bytes is not None and not killed
                and hz.status_kb(proc.pid, "VmRSS") * 1024 > cap_bytes):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
        time.sleep(poll)
    t.join(timeout=5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = ru.ru_maxrss * 1024  # Linux: kB
    return {"returncode": proc.returncode, "killed": killed, "peak_rss_bytes": peak,
            "within_cap": cap_bytes is None or peak <= cap_bytes,
            "wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
            "stderr": "".join(err_lines[-5:])}


def check_watchdog(cap_mb: int = 150) -> int:
    """A child that fills 300 MB must fail a 150 MB cap; one that fills 20 MB must pass.

    Run from this small process, not from a large one: the kernel's ``ru_maxrss`` of a
    child includes the parent's resident set at the fork (the high-water mark of the
    pre-exec memory is carried over exec), so a parent above the cap would fail every
    child.
    """
    code = "import numpy as np, time; a = np.ones({n} * 2**20 // 8); time.sleep(0.5)"
    cap = cap_mb * 2**20
    big = run_capped([sys.executable, "-c", code.format(n=2 * cap_mb)], cap)
    small = run_capped([sys.executable, "-c", code.format(n=20)], cap)
    ok = (not big["within_cap"] and big["peak_rss_bytes"] > cap
          and (big["killed"] or big["returncode"] != 0)
          and small["returncode"] == 0 and small["within_cap"] and not small["killed"]
          and small["peak_rss_bytes"] > 20 * 2**20)
    for name, r in (("300 MB child", big), ("20 MB child", small)):
        print(f"{name}: exit {r['returncode']}, killed {r['killed']}, peak RSS "
              f"{r['peak_rss_bytes'] / 2**20:.0f} MB, within {cap_mb} MB cap: "
              f"{r['within_cap']}")
    print("watchdog OK" if ok else "watchdog FAILED")
    return 0 if ok else 1


def _sizes(path: Path) -> dict:
    import h5py

    with h5py.File(path, "r") as f:
        X = f["X"]
        n, g = (int(v) for v in X.attrs["shape"])
        nnz = int(X["data"].shape[0])
        data_b, idx_b = X["data"].dtype.itemsize, X["indices"].dtype.itemsize
    return {"cells": n, "features": g, "nnz": nnz, "file_bytes": path.stat().st_size,
            "dense_int32_bytes": n * g * 4, "dense_float64_bytes": n * g * 8,
            "csr_in_memory_bytes": nnz * (data_b + idx_b) + (n + 1) * 8}


def _compare(rec: dict, out_dir: Path, cap: int) -> list[str]:
    """In-memory (no cap) vs out-of-core outputs: cells, clusters, labels, CAR, HVGs, DE."""
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    free = rec["in-memory (no cap)"]
    if free["returncode"] != 0 or not free["summary"]:
        return ["the in-memory route without a cap failed: nothing to compare"]
    a = pd.read_csv(out_dir / "in-memory-uncapped.cells.csv", index_col=0)
    b = pd.read_csv(out_dir / "out-of-core.cells.csv", index_col=0)
    sm, so = free["summary"], rec[f"out-of-core (cap {cap / GB:g} GB)"]["summary"]
    same_cells = list(a.index) == list(b.index)
    cmp = {"peak_over_cap": free["peak_rss_bytes"] / cap, "same_kept_cells": same_cells,
           "ari_clusters": float(adjusted_rand_score(a["cluster"], b["cluster"]))
           if same_cells else float("nan"),
           "labels_equal": bool(same_cells and (a["cell_type"] == b["cell_type"]).all()),
           "car_calls_equal": bool(same_cells
                                   and (a["car_detected"] == b["car_detected"]).all()),
           "hvg_equal": sm["hvg_genes"] == so["hvg_genes"],
           "top20_up_equal": sm["top20_up"] == so["top20_up"]}
    rec["comparison"] = cmp
    print(f"in-memory (no cap) peak = {cmp['peak_over_cap']:.2f} x the cap; vs out-of-core: "
          f"same kept cells {same_cells}, cluster ARI {cmp['ari_clusters']:.3f}, labels "
          f"equal {cmp['labels_equal']}, CAR calls equal {cmp['car_calls_equal']}, HVGs "
          f"equal {cmp['hvg_equal']}, top-20 DE genes equal {cmp['top20_up_equal']}",
          flush=True)
    out = []
    if cmp["peak_over_cap"] < 2:
        out.append(f"the in-memory route's peak is {cmp['peak_over_cap']:.2f} x the cap (< 2)")
    if not (same_cells and cmp["ari_clusters"] == 1.0 and cmp["labels_equal"]
            and cmp["car_calls_equal"] and cmp["hvg_equal"] and cmp["top20_up_equal"]):
        out.append("the out-of-core outputs differ from the in-memory route's")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap-gb", type=float, default=1.5)
    ap.add_argument("--cells", type=int, default=10_000, help="cells per sample")
    ap.add_argument("--genes", type=int, default=33_538)
    ap.add_argument("--depth", type=float, default=DEPTH,
                    help="median library size multiplier (default 4)")
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--uncapped", action="store_true",
                    help="also run the in-memory route without a cap: its peak, and its "
                         "outputs compared with the out-of-core route's")
    ap.add_argument("--check-watchdog", action="store_true",
                    help="only check the cap itself: a child above it must fail, one "
                         "below it must pass (the smoke test)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke size for `make bench --quick`: the cap check only (data "
                         "small enough to be quick fit in memory, so the routes' check "
                         "needs the default size)")
    ap.add_argument("--worker", choices=("in-memory", "out-of-core"))
    ap.add_argument("--data")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.data, args.out, args.chunk)
        return 0
    if args.check_watchdog or args.quick:
        return check_watchdog()
    cap = int(args.cap_gb * GB)
    env = {**os.environ, **hz.py_env()}
    gen = run_capped([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); "
                      "import bench_singlecell_outofcore as b; "
                      f"b.make_data({args.cells}, {args.genes}, {args.depth})"], None, env)
    if gen["returncode"] != 0:
        print("data generation failed:\n" + gen["stderr"])
        return 1
    path = make_data(args.cells, args.genes, args.depth)  # cached: returns the path
    sizes = _sizes(path)
    load = os.getloadavg()
    rec: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": hz.machine(), "load_avg_1_5_15": [round(x, 2) for x in load],
                 "cap_bytes": cap, "cap": "RSS (VmRSS watchdog, verdict on ru_maxrss)",
                 "data": {**sizes, "path": str(path)}, "chunk_cells": args.chunk}
    print(f"data: {sizes['cells']:,} cells x {sizes['features']:,} features, "
          f"{sizes['nnz']:,} non-zero; dense int32 {sizes['dense_int32_bytes'] / GB:.2f} GB "
          f"(float64 {sizes['dense_float64_bytes'] / GB:.2f} GB), CSR in memory "
          f"{sizes['csr_in_memory_bytes'] / GB:.2f} GB, file {sizes['file_bytes'] / GB:.2f} "
          f"GB; cap {args.cap_gb} GB RSS; load average {load[0]:.1f}", flush=True)
    failures = []
    out_dir = hz.OUT_DIR / "singlecell_outofcore"
    out_dir.mkdir(parents=True, exist_ok=True)
    # the in-memory route must need more than TWICE the cap: it runs under 2 x cap and
    # must fail there; the out-of-core route must finish under the cap itself
    runs = [("in-memory", 2 * cap), ("out-of-core", cap)]
    if args.uncapped:
        runs.append(("in-memory", None))
    for route, c in runs:
        out = out_dir / f"{route}{'' if c else '-uncapped'}.json"
        out.unlink(missing_ok=True)
        out.with_suffix(".cells.csv").unlink(missing_ok=True)
        r = run_capped([sys.executable, __file__, "--worker", route, "--data", str(path),
                        "--out", str(out), "--chunk", str(args.chunk)], c, env)
        r["summary"] = json.loads(out.read_text()) if out.exists() else None
        key = route + (f" (cap {c / GB:g} GB)" if c else " (no cap)")
        rec[key] = r
        state = ("killed at the cap" if r["killed"] else
                 f"exit {r['returncode']}")
        print(f"{key:>26}: {state}, peak RSS {r['peak_rss_bytes'] / GB:.2f} GB, "
              f"wall {r['wall_s']} s, CPU {r['cpu_s']} s", flush=True)
        if r["summary"]:
            s = r["summary"]
            print(f"{'':>28}kept {s['kept']:,} cells, {s['genes_in_memory']:,} genes in "
                  f"memory, ARI clusters {s['ari_clusters']:.3f} / labels "
                  f"{s['ari_labels']:.3f}, CAR share off by <= "
                  f"{s['car_diff_max_points']:.2f} points, planted DE genes in the top "
                  f"20: {s['planted_in_top20_up']} of 7", flush=True)
        elif r["stderr"].strip() and not r["killed"]:
            print("    " + r["stderr"].strip().splitlines()[-1])
    mem = rec[f"in-memory (cap {2 * cap / GB:g} GB)"]
    ooc = rec[f"out-of-core (cap {cap / GB:g} GB)"]
    if mem["returncode"] == 0 and mem["within_cap"]:
        failures.append("the in-memory route fit under twice the cap: the data do not need "
                        "twice the memory allowed")
    if ooc["returncode"] != 0 or not ooc["within_cap"] or not ooc["summary"]:
        failures.append(f"the out-of-core route failed under the cap (exit "
                        f"{ooc['returncode']}, killed {ooc['killed']}, peak "
                        f"{ooc['peak_rss_bytes'] / GB:.2f} GB)")
    else:
        s = ooc["summary"]
        if min(s["ari_clusters"], s["ari_labels"]) < 0.8:
            failures.append(f"out-of-core ARI against the planted populations < 0.8 "
                            f"({s['ari_clusters']:.3f} / {s['ari_labels']:.3f})")
        if s["car_diff_max_points"] > 2:
            failures.append(f"out-of-core CAR share off by {s['car_diff_max_points']:.2f} "
                            "points (> 2)")
        if s["hvg"] != 2000:
            failures.append(f"{s['hvg']} HVGs, not 2000")
        if s["planted_in_top20_up"] < 5:
            failures.append(f"{s['planted_in_top20_up']} of the 7 planted programme genes "
                            "among the 20 top up-regulated DE genes (< 5)")
    if args.uncapped:
        failures += _compare(rec, out_dir, cap)
    rec["failures"] = failures
    hz.OUT_DIR.mkdir(parents=True, exist_ok=True)
    (hz.OUT_DIR / "singlecell_outofcore.json").write_text(json.dumps(rec, indent=1,
                                                                      default=str))
    for f in failures:
        print("FAIL:", f)
    print("OK" if not failures else "FAILED", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
