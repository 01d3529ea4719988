"""benchmarks/bench_report.py at tiny size: cold reports succeed, their counts equal the
pandas baseline's, results.json is identical run to run (cached or freshly compiled
Numba kernels), every file equals the in-process render, CPU time and load are recorded,
and a wrong output makes the benchmark fail."""

from __future__ import annotations

import importlib.util

from tests.benchsmoke import ROOT, assert_agrees, assert_perturbation_fails, run_bench

_spec = importlib.util.spec_from_file_location("bench_report",
                                               ROOT / "benchmarks" / "bench_report.py")
bench_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_report)


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



def _outputs(html_hashes: list[str]) -> dict:
    """What run_workload hands cmp_cll1: one report.html hash per run of the in-process
    render, the subject's runs all equal to the first."""
    rec = {"response": {"CR": 2}, "crs": {"grade 1": 2}, "files": [
        "report.html", "results.json", "tables.docx"]}

    def one(h: str) -> dict:
        return {**rec, "results_sha256": "r",
                "sha256": {"report.html": h, "results.json": "r", "tables.docx": "d"}}
    subject = [one(html_hashes[0])] * 2
    return {"remission report (cold)": subject[-1], "pandas counts (cold)": rec,
            "_reps": {"remission report (cold)": subject,
                      bench_report.IN_PROCESS: [one(h) for h in html_hashes]}}


def test_cll1_comparison_requires_identical_files() -> None:
    # the comparison itself, without running reports: equal hashes pass; one run of the
    # in-process render with another report.html fails the byte-identity check only
    ok = {c.key: c.ok for c in bench_report.cmp_cll1(_outputs(["a", "a"]))}
    assert all(ok.values()) and len(ok) == 5
    bad = {c.key: c.ok for c in bench_report.cmp_cll1(_outputs(["a", "b"]))}
    assert [k for k, v in bad.items() if not v] == [
        "every file (sha256) identical to the in-process render, every run"]
