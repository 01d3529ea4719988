"""benchmarks/bench_survival.py at tiny size: remission agrees with R and lifelines, and
a wrong remission output makes the benchmark fail."""

from __future__ import annotations

import pytest

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


@pytest.mark.r
def test_bench_survival_quick_agrees() -> None:
    proc, rec = run_bench("bench_survival.py", "--n", "1500")
    assert_agrees(proc, rec)
    keys = {c["key"] for c in rec["checks"]}
    assert {"cox_coef", "concordance_se", "gray_stat", "cif_var", "pair counts vs R"} <= keys
    assert {r["baseline"] for r in rec["rows"]} == {"R survival+cmprsk", "lifelines",
                                                    "R survival"}


@pytest.mark.r
def test_bench_survival_fails_on_wrong_output() -> None:
    proc, rec = run_bench("bench_survival.py", "--n", "1500", "--only", "pipeline",
                           "--reps", "1", perturb="gray_stat")
    assert_perturbation_fails(proc, rec, "gray_stat")
