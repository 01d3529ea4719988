"""The grading benchmark runs (--quick) and prints its table; results must agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_grading_quick():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_grading.py"),
                           "--quick"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "stage" in out and "rows/s" in out and "per-row Python: extrapolated" in out
    assert "identical output tables" in out and "DIFFER" not in out
    assert "speed-up vs per-row Python" in out and "one-off" in out
