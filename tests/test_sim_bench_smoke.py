"""The simulation benchmark's --quick path runs and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_sim_quick_runs() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sim.py"), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "measure" in out and "speed-up vs fair loop" in out
    assert "error vs DOP853 1e-10 (1 pts): fair loop" in out
    assert "Dask trial seed000" in out and "peak RSS" in out
