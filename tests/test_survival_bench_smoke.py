"""The survival benchmark's --quick path runs and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_runs() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/bench_survival.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "remission s" in proc.stdout and "lifelines s" in proc.stdout
    assert "Cox PH" in proc.stdout and "TOTAL" in proc.stdout
