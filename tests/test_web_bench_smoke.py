"""benchmarks/bench_web.py on the common harness: at its tiny size the live-grading
workload (remission's grade_day against the batch pipeline in another process) exits 0
with every patient-day's grade equal on both sides, both sides timed; and the two
comparisons fail on a wrong grade or a failed request (checked in-process on the
recorded shape of the sides' outputs, so the default suite does not start a web server).
``python benchmarks/bench_web.py --quick --perturb grades`` (or ``errors``) exits 1."""

from __future__ import annotations

import importlib.util

import pytest

from tests.benchsmoke import ROOT, run_bench

pytest.importorskip("django")
_spec = importlib.util.spec_from_file_location("bench_web", ROOT / "benchmarks" / "bench_web.py")
bench_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_web)


def test_bench_web_grading_quick_agrees() -> None:
    proc, rec = run_bench("bench_web.py", "--only", "live grading")  # one repetition
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert rec["status"] == 0 and not rec["errors"]
    [row] = [r for r in rec["rows"] if "baseline" in r]
    assert row["agree"] and row["subject_s"] > 0 and row["baseline_s"] > 0
    assert len(row["subject_runs"]) == len(row["baseline_runs"]) == 1
    [check] = rec["checks"]
    assert check["key"] == "live grade = batch grade, every patient-day"
    assert " 0 disagreeing" in check["detail"]
    # the 50 ms goal is judged on the CPU time of the gradings, the wall time beside it
    [limit] = [r for r in rec["rows"] if "limit_cpu_s" in r]
    assert not [r for r in rec["rows"] if "limit_s" in r]
    assert limit["limit_cpu_s"] == 0.05 and limit["median_s"] > 0 and limit["median_cpu_s"] > 0
    assert limit["target_met"] == (limit["median_cpu_s"] <= 0.05)
    assert f"{limit['median_cpu_s']:.3f} s CPU of the timed work" in proc.stdout


def _grading(live: dict[str, str]) -> dict:
    batch = {"stored P001 day 4": "grade 2 fever+hypoxia | not assessed",
             "typed P002 day 200": "grade 0 | grade 1 ice"}
    return {bench_web.LIVE: {"grades": live, "modes": {}},
            bench_web.BATCH: {"grades": batch}}


def test_grading_comparison_fails_on_any_difference() -> None:
    same = {"stored P001 day 4": "grade 2 fever+hypoxia | not assessed",
            "typed P002 day 200": "grade 0 | grade 1 ice"}
    [ok] = bench_web.compare_grading(_grading(same))
    assert ok.ok and ok.diff == 0
    for live in ({**same, "typed P002 day 200": "grade 0 | grade 2 ice"},  # other grade
                 {"stored P001 day 4": same["stored P001 day 4"]},       # day missing
                 {**same, "cold P001 day 4": "grade 2"}):                 # extra day
        [bad] = bench_web.compare_grading(_grading(live))
        assert not bad.ok and bad.diff == 1


def _load(errors: int, wrong: int, requests: int) -> dict:
    lat = {"grade": {"n": 3, "p50_ms": 40.0, "p95_ms": 90.0, "p99_ms": 95.0},
           "save": {"n": 0}}
    return {bench_web.WEB: {"errors": errors, "wrong_grades": wrong, "requests": requests,
                            "throughput_per_s": 1.0, "latency": lat,
                            "first_errors": ["grade: P001 day 200"] * wrong,
                            "load": {"before": 1.0, "during": [1.0], "after": 1.0},
                            "server_start_s": 1.0}}


def test_load_comparison_fails_on_errors_or_no_requests() -> None:
    assert bench_web.compare_load(_load(0, 0, 12))[0].ok
    assert not bench_web.compare_load(_load(1, 1, 12))[0].ok   # a wrong grade
    assert not bench_web.compare_load(_load(2, 0, 12))[0].ok   # HTTP errors
    assert not bench_web.compare_load(_load(0, 0, 0))[0].ok    # nothing measured
