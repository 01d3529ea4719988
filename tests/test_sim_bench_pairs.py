"""The solver benchmark's speed-up is measured on the same patients for both sides
(``benchmarks/bench_sim.py``: :func:`interleaved_pairs`), and its summary uses every
repetition's pairs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_sim  # noqa: E402


def test_the_loop_sample_spreads_over_the_population_and_holds_the_accuracy_patients() -> None:
    idx = bench_sim.sample(2000, 24)
    assert len(idx) == 24 and idx[0] == 0 and idx[-1] == 1999
    gaps = np.diff(idx)
    assert gaps.min() >= 86 and gaps.max() <= 87  # even spread, by hand: 1999 / 23 = 86.9
    acc = bench_sim.acc_patients({"n_vec": 2000, "n_loop": 24, "n_acc": 8})
    assert len(acc) == 8 and set(acc) <= set(idx) and acc[0] == 0 and acc[-1] == 1999
    # fewer loop patients than accuracy patients: all of the sample
    assert bench_sim.acc_patients({"n_vec": 10, "n_loop": 2, "n_acc": 8}).tolist() == [0, 9]


def test_interleaved_pairs_time_both_sides_on_the_same_patients() -> None:
    spec = {"n_vec": 10, "n_loop": 2, "n_acc": 2, "tile": 4}
    res = bench_sim.interleaved_pairs(spec)
    assert res["sample"] == [0, 9]
    mine, loop = res["pair_mine_cpu_s"], res["pair_loop_cpu_s"]
    assert len(mine) == len(loop) == bench_sim.PAIRS
    assert res["pair_ratios"] == [b / a for a, b in zip(mine, loop, strict=True)]
    # the loop's states are those of the sample's patients (0 and 9), not the first two
    p, s = bench_sim._patients(10)
    for j, i in enumerate((0, 9)):
        want = bench_sim.fair_loop(bench_sim._one(p, i), s, bench_sim.RTOL)[:, bench_sim.DISEASE]
        assert np.array_equal(res["states"][j], want)
    assert res["loop_nfev_per_patient"] > 0 and res["sample_steps_per_patient"] > 0


def test_the_summary_uses_every_repetitions_pairs() -> None:
    o = {"_reps": {"solve_ivp loop (LSODA 1e-6)": [{"pair_ratios": [100.0, 120.0]},
                                                   {"pair_ratios": [90.0]}]}}
    assert bench_sim.paired_ratios(o) == [100.0, 120.0, 90.0]
    # quartiles by hand: sorted 90, 100, 110, 120, 150 -> Q1 100, median 110, Q3 120
    assert bench_sim.spread([100.0, 120.0, 90.0, 150.0, 110.0]) == \
        "median 110x (IQR 100-120x, range 90-150x; 5 values)"
