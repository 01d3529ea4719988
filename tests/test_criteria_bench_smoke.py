"""benchmarks/bench_grading.py at tiny size: remission's graders give exactly the tables of
the vectorised pandas baseline and of the per-row loop, and a wrong output fails it."""

from __future__ import annotations

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


def test_bench_grading_quick_agrees() -> None:
    proc, rec = run_bench("bench_grading.py")
    assert_agrees(proc, rec)
    keys = {c["key"] for c in rec["checks"]}
    assert keys == {f"{t} vs {b}" for t in ("crs", "icans", "labs", "icaht")
                    for b in ("pandas (vectorised)", "per-row Python")}


def test_bench_grading_fails_on_wrong_output() -> None:
    proc, rec = run_bench("bench_grading.py", "--only", "first call", "--reps", "1",
                          perturb="icaht")
    assert_perturbation_fails(proc, rec, "icaht")
