"""benchmarks/bench_report.py --quick runs and prints its table (figures not asserted)."""

import subprocess
import sys
from pathlib import Path


def test_bench_report_quick_runs() -> None:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_report.py"),
                           "--quick"], capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "report, 12-patient example (cold)" in proc.stdout
    assert "validate + report, 500 patients" in proc.stdout
