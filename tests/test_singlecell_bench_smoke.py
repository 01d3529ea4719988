"""benchmarks/bench_singlecell.py at tiny size (2 x 400 cells x 800 genes, no UMAP): both
sides run, their outputs are compared (CAR shares, kept cells, ARI, planted DE genes) and
a wrong CAR share on the remission side makes the benchmark fail."""

from __future__ import annotations

import pytest

from tests.benchsmoke import assert_perturbation_fails, run_bench

pytest.importorskip("scanpy")

KEYS = {"car_share: CAR-detected share per sample", "kept: QC-kept cells",
        "ari: remission clusters vs planted populations >= 0.8",
        "ari: scanpy defaults clusters vs planted populations >= 0.8",
        "planted_top: remission >= 5 of 7 planted genes in top 20",
        "planted_top: scanpy defaults >= 5 of 7 planted genes in top 20",
        "ari_labels: remission labels vs planted populations >= 0.8"}


def test_bench_singlecell_quick_agrees_and_fails_on_a_wrong_car_share() -> None:
    proc, rec = run_bench("bench_singlecell.py", "--reps", "1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert rec["status"] == 0 and not rec["errors"]
    assert {c["key"] for c in rec["checks"]} == KEYS and all(c["ok"] for c in rec["checks"])
    pair = next(r for r in rec["rows"] if "baseline" in r)
    assert pair["agree"] and pair["subject_s"] > 0 and pair["baseline_s"] > 0
    assert pair["subject_peak_mb"] > 0 and pair["baseline_peak_mb"] > 0
    mem = next(r for r in rec["rows"] if "limit_peak_mb" in r)
    assert mem["limit_peak_mb"] == 8192 and mem["peak_mb"] == pair["subject_peak_mb"]

    proc, rec = run_bench("bench_singlecell.py", "--reps", "1", perturb="car_share")
    assert_perturbation_fails(proc, rec, "car_share")
