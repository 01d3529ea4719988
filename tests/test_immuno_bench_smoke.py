"""The immunogenetics benchmark's --quick path runs, compares with its baselines and passes."""

import subprocess
import sys
from pathlib import Path


def test_bench_immunogenetics_quick_runs():
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_immunogenetics.py"),
                           "--quick"], capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "scikit-bio (baseline)" in proc.stdout and "pandas merge (baseline)" in proc.stdout
    assert "True" in proc.stdout and "FAILED" not in proc.stdout
