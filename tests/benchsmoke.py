"""Run a benchmark script at its tiny size and read what it recorded (shared by the
benchmark smoke tests: they check exit status and the output comparison, not labels)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relpath: str):
    """Import a script of the repository (``benchmarks/...`` or ``scripts/...``, not a
    package) by its path, registered in ``sys.modules`` under its file name so that its
    dataclasses and pickled objects resolve."""
    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, path
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


def out_dir() -> Path:
    """Where the benchmarks run by the tests write (``REMISSION_BENCH_OUT``, read by
    ``benchmarks/harness.py``): ``build/bench`` in a serial run; ``build/bench/pytest-gwN``
    in pytest-xdist's worker ``gwN``, so that two workers running benchmarks at once never
    read each other's record, outputs (``work/``) or half-written data sets (``data/``)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = ROOT / "build" / "bench"
    return base / f"pytest-{worker}" if worker else base


def run_bench(script: str, *args: str, perturb: str | None = None, timeout: int = 600
              ) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``benchmarks/<script> --quick ARGS``; return the process and its JSON record."""
    out = out_dir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "REMISSION_BENCH_OUT": str(out)}
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", *args]
    if perturb:
        cmd += ["--perturb", perturb]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env)
    name = script.removeprefix("bench_").removesuffix(".py")
    rec = json.loads((out / f"{name}.json").read_text())
    return proc, rec


def assert_agrees(proc: subprocess.CompletedProcess, rec: dict) -> None:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert rec["status"] == 0 and not rec["errors"]
    assert rec["checks"] and all(c["ok"] for c in rec["checks"]), rec["checks"]
    pairs = [r for r in rec["rows"] if "baseline" in r]
    assert pairs and all(r.get("agree") for r in pairs)
    for r in pairs:  # both sides timed, every repetition
        assert r["subject_s"] > 0 and r["baseline_s"] > 0
        assert len(r["subject_runs"]) == len(r["baseline_runs"]) >= 2


def assert_perturbation_fails(proc: subprocess.CompletedProcess, rec: dict, key: str
                              ) -> None:
    assert proc.returncode != 0, proc.stdout[-3000:]
    bad = [c for c in rec["checks"] if not c["ok"]]
    assert bad and all(key in c["key"] for c in bad), rec["checks"]
