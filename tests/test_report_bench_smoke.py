"""benchmarks/bench_report.py at tiny size: cold reports succeed, their counts equal the
pandas baseline's, results.json is identical run to run (cached or freshly compiled
Numba kernels), and a wrong output makes the benchmark fail."""

from __future__ import annotations

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


def test_bench_report_quick_agrees() -> None:
    proc, rec = run_bench("bench_report.py")
    assert_agrees(proc, rec)
    keys = {c["key"] for c in rec["checks"]}
    assert {"response counts vs pandas", "crs counts vs pandas",
            "results.json identical in every run"} <= keys
    limits = [r for r in rec["rows"] if "limit_s" in r]
    assert limits and all(r["median_s"] > 0 for r in limits)


def test_bench_report_fails_on_wrong_output() -> None:
    proc, rec = run_bench("bench_report.py", "--only", "cll1", "--reps", "1",
                          perturb="response")
    assert_perturbation_fails(proc, rec, "response")
