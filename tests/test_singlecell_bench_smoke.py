"""benchmarks/bench_singlecell.py at tiny size (2 x 400 cells x 800 genes, no UMAP), run
once with ``--perturb car_share``: both sides run and are timed with their peak memory,
every other comparison (kept cells, ARI of both sides, planted DE genes of both sides,
remission's labels) agrees, and the wrong CAR share alone makes the benchmark exit
non-zero. One run instead of an agreeing run plus a perturbed one: four cold scanpy
processes would cost ~20 s of the CI budget; the exit-0 path is the harness's own
(tests/test_bench_harness.py)."""

from __future__ import annotations

import pytest

from tests.benchsmoke import assert_perturbation_fails, run_bench

pytest.importorskip("scanpy")

KEYS = {"car_share: CAR-detected share per sample", "kept: QC-kept cells",
        "kept_digest: the same QC-kept barcodes",
        "ari_sides: remission vs scanpy clusters >= 0.9",
        "ari: remission clusters vs planted populations >= 0.8",
        "ari: scanpy defaults clusters vs planted populations >= 0.8",
        "planted_top: remission >= 5 of 7 planted genes in top 20",
        "planted_top: scanpy defaults >= 5 of 7 planted genes in top 20",
        "ari_labels: remission labels vs planted populations >= 0.8"}


def test_bench_singlecell_quick_compares_and_fails_only_on_the_wrong_car_share() -> None:
    proc, rec = run_bench("bench_singlecell.py", "--reps", "1", perturb="car_share")
    assert_perturbation_fails(proc, rec, "car_share")
    assert not rec["errors"], rec["errors"]
    assert {c["key"] for c in rec["checks"]} == KEYS
    bad = [c["key"] for c in rec["checks"] if not c["ok"]]
    assert bad == ["car_share: CAR-detected share per sample"]
    pair = next(r for r in rec["rows"] if "baseline" in r)
    assert pair["subject_s"] > 0 and pair["baseline_s"] > 0
    assert pair["subject_peak_mb"] > 0 and pair["baseline_peak_mb"] > 0
    mem = next(r for r in rec["rows"] if "limit_peak_mb" in r)
    assert mem["limit_peak_mb"] == 8192 and mem["peak_mb"] == pair["subject_peak_mb"]
