"""The lab benchmark's --quick path runs and prints its table."""

import subprocess
import sys
from pathlib import Path


def test_bench_lab_quick_runs():
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_lab.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "naive curve_fit loop (baseline)" in proc.stdout
    assert "remission fit_many (batched LM)" in proc.stdout
