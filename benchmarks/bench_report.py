"""Benchmark the main job: cold `remission report` on the example, and a 10,000-patient study.

Each run is a fresh interpreter (cold: imports included), timed by wall clock, with the
peak resident memory of the child process. The baseline, measured in the same run, is a bare
interpreter importing numpy + pandas: the floor no report can go below.

    python benchmarks/bench_report.py            # full: example x5, 10,000 patients x3
    python benchmarks/bench_report.py --quick    # smoke: example x1, 500 patients x1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from make_large_study import make  # noqa: E402

TARGETS = {"example": 3.0, "large": 30.0}


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, rusage = os.wait4(proc.pid, 0)[1:]
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, None) and proc.wait() != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read() if proc.stderr else ''}")
    return wall, rusage.ru_maxrss / 1024


def remission(*args: str) -> list[str]:
    return [sys.executable, "-m", "remission.cli", *args]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    reps_small, reps_large, n_large = (1, 1, 500) if a.quick else (5, 3, 10_000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        base = [run([sys.executable, "-c", "import numpy, pandas"]) for _ in range(reps_small)]
        rows.append(("baseline: python + numpy + pandas import", base, None))
        ex = ROOT / "examples" / "cll1-post-hsct"
        small = [run(remission("report", str(ex), "--out", str(tmpd / f"ex{i}")))
                 for i in range(reps_small)]
        rows.append(("report, 12-patient example (cold)", small, TARGETS["example"]))
        big = make(tmpd / "large", n_large, seed=1)
        large = []
        for i in range(reps_large):
            v = run(remission("validate", str(big)))
            r = run(remission("report", str(big), "--out", str(tmpd / f"big{i}")))
            large.append((v[0] + r[0], max(v[1], r[1])))
        rows.append((f"validate + report, {n_large:,} patients", large, TARGETS["large"]))
    floor = statistics.median(w for w, _ in base)
    print(f"{'job':<45} {'median s':>9} {'min s':>7} {'x baseline':>10} {'peak MB':>8} "
          f"{'target s':>8}  ok")
    ok_all = True
    for name, runs, target in rows:
        walls = [w for w, _ in runs]
        med = statistics.median(walls)
        peak = max(m for _, m in runs)
        ok = "" if target is None else ("yes" if med < target and peak < 2048 else "NO")
        ok_all &= ok != "NO"
        tgt = "" if target is None else f"{target:.0f}"
        print(f"{name:<45} {med:>9.2f} {min(walls):>7.2f} {med / floor:>10.1f} {peak:>8.0f} "
              f"{tgt:>8}  {ok}")
    print("targets: example < 3 s cold; 10,000 patients < 30 s and peak RSS < 2 GB (full run)")
    return 0 if ok_all or a.quick else 1


if __name__ == "__main__":
    sys.exit(main())
