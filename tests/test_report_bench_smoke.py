"""The renderer benchmark's --quick path runs and prints its table."""

import subprocess
import sys
from pathlib import Path


def test_bench_report_render_quick_runs():
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "bench_report_render.py"), "--quick"],
        capture_output=True, text=True, timeout=300, cwd=root,
    )
    assert proc.returncode == 0, proc.stderr
    assert "cold import remission.results (baseline)" in proc.stdout
    assert "cold write_report, 200 patients" in proc.stdout
    assert "publication_table" in proc.stdout and "display_table, tidy layout" in proc.stdout
