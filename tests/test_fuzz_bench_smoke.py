"""benchmarks/bench_fuzz.py at tiny size: every malformed folder keeps the contract
(no violation, no internal error, every folder accounted for), the run is timed and
recorded, and a reported violation makes the benchmark fail."""

from __future__ import annotations

from tests.benchsmoke import assert_perturbation_fails, run_bench


def test_bench_fuzz_quick_keeps_the_contract() -> None:
    proc, rec = run_bench("bench_fuzz.py", "--n", "6")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert rec["status"] == 0 and not rec["errors"]
    assert {c["key"] for c in rec["checks"]} == {
        "folders with contract violations", "internal errors",
        "every folder validated and reported"}
    assert all(c["ok"] for c in rec["checks"]), rec["checks"]
    (row,) = rec["rows"]
    assert row["subject_s"] > 0 and row["agree"] and len(row["subject_runs"]) == 1


def test_bench_fuzz_fails_on_a_violation() -> None:
    proc, rec = run_bench("bench_fuzz.py", "--n", "2", perturb="violations")
    assert_perturbation_fails(proc, rec, "violations")
