"""cProfile of one side of ``bench_singlecell.py`` (remission or scanpy defaults) in-process.

Runs the benchmark's worker (``w_remission`` or ``w_scanpy``, UMAP on) under cProfile on
an input the benchmark cached, prints the worker's outputs, the process CPU seconds and
the 60 functions with the largest cumulative time, and writes the profile to
``build/bench/singlecell-<side>.prof`` (read it with ``pstats``). cProfile's clock is
wall time: under load read the shares, not the seconds. Not a harness benchmark.

Run: ``python benchmarks/singlecell_profile.py build/bench/data/singlecell-sparse-s100-
share1500-10000x20000.h5ad remission`` (or ``scanpy``)
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_singlecell as bench  # noqa: E402
import harness as hz  # noqa: E402


def main(data: str, side: str) -> None:
    os.environ.pop(bench.FAST_ENV, None)
    hz.emit = lambda out, res, secs: print(side, res, f"{secs:.1f} s wall", flush=True)
    worker = {"remission": bench.w_remission, "scanpy": bench.w_scanpy}[side]
    prof = cProfile.Profile()
    c0 = time.process_time()
    prof.enable()
    worker(data, os.devnull)
    prof.disable()
    print(f"CPU {time.process_time() - c0:.1f} s", flush=True)
    out = hz.OUT_DIR / f"singlecell-{side}.prof"
    out.parent.mkdir(parents=True, exist_ok=True)
    prof.dump_stats(out)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
