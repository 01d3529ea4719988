"""benchmarks/bench_report.py at tiny size: cold reports succeed, their counts equal the
pandas baseline's, results.json is identical run to run (cached or freshly compiled
Numba kernels), every file equals the in-process render, CPU time and load are recorded,
and a wrong output makes the benchmark fail."""

from __future__ import annotations

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


def test_bench_report_quick_agrees() -> None:
    proc, rec = run_bench("bench_report.py")
    assert_agrees(proc, rec)
    keys = {c["key"] for c in rec["checks"]}
    assert {"response counts vs pandas", "crs counts vs pandas",
            "results.json identical in every run",
            "every file (sha256) identical to the in-process render, every run"} <= keys
    limits = [r for r in rec["rows"] if "limit_s" in r]
    assert limits and all(r["median_s"] > 0 and r["median_cpu_s"] > 0 for r in limits)
    assert all(x["cpu_s"] > 0 and x["load1"] >= 0 for r in limits for x in r["runs"])


def test_bench_report_fails_on_wrong_output() -> None:
    proc, rec = run_bench("bench_report.py", "--only", "cll1", "--reps", "1",
                          perturb="response")
    assert_perturbation_fails(proc, rec, "response")


def test_bench_report_fails_when_a_file_differs_from_the_in_process_render() -> None:
    proc, rec = run_bench("bench_report.py", "--only", "cll1", "--reps", "1",
                          perturb="sha256")
    assert_perturbation_fails(proc, rec, "sha256")
