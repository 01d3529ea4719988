"""benchmarks/bench_report_render.py at tiny size: the cold renderer writes the numbers it
is given (results.json against the baseline's pandas counts), the publication pivot shows
the same cells as the tidy layout, and a wrong output makes the benchmark fail."""

from __future__ import annotations

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


def test_bench_report_render_quick_agrees() -> None:
    proc, rec = run_bench("bench_report_render.py")
    assert_agrees(proc, rec)
    assert {r["workload"] for r in rec["rows"]} == {
        "cold write_report, 12 patients", "cold write_report, 200 patients",
        "publication pivot, 200 tidy rows"}
    keys = {c["key"] for c in rec["checks"]}
    assert "responders per cohort in results.json vs pandas" in keys
    assert "pivot cells = tidy cells" in keys


def test_bench_report_render_fails_on_wrong_counts() -> None:
    proc, rec = run_bench("bench_report_render.py", "--only", "12 patients", "--reps", "1",
                          perturb="responders")
    assert_perturbation_fails(proc, rec, "responders")


def test_bench_report_render_fails_on_wrong_pivot() -> None:
    proc, rec = run_bench("bench_report_render.py", "--only", "pivot", "--reps", "1",
                          perturb="cells")
    assert_perturbation_fails(proc, rec, "pivot cells")
