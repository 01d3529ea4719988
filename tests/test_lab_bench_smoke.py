"""benchmarks/bench_lab.py at tiny size: batched LL.4 fits reach the least-squares minimum
of scipy's curve_fit loop and of R nls(SSfpl) with the same IC50s, and a wrong output
makes the benchmark fail."""

from __future__ import annotations

import pytest

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


@pytest.mark.r
def test_bench_lab_quick_agrees() -> None:
    proc, rec = run_bench("bench_lab.py", "--n", "60")
    assert_agrees(proc, rec)
    assert {r["baseline"] for r in rec["rows"]} == {"scipy curve_fit loop", "R nls(SSfpl)"}
    assert len(rec["checks"]) == 4


@pytest.mark.r
def test_bench_lab_fails_on_wrong_output() -> None:
    proc, rec = run_bench("bench_lab.py", "--n", "60", "--reps", "1", perturb="rss")
    assert_perturbation_fails(proc, rec, "RSS")
