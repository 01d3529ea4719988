"""Streamed (Parquet) virtual trials: the parts are run_trial's tables, row for row; the
folder appears whole or not at all; bad arguments are reported together, nothing written.
(1 vs 2 Dask workers, byte for byte, and memory: benchmarks/bench_sim.py, smoke-tested in
tests/test_sim_bench_smoke.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from remission.errors import InputError
from remission.sim.design import DESIGN_DIR
from remission.sim.trial import recorded, run_trial, stream_trial

DESIGN = DESIGN_DIR / "seed003_blinatumomab_ven.toml"


def test_parts_equal_run_trial_tables(tmp_path: Path) -> None:
    out = tmp_path / "big"
    r = stream_trial(DESIGN, out, n=2, seed=4, workers=0, chunk_size=3, observations=True)
    ref = run_trial(DESIGN, n=2, seed=4, workers=0, observations=True)
    assert r.patients == 4 and r.chunks == 2  # 2 arms x 2 patients in chunks of 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["patients"] == 4 and manifest["seed"] == 4 and manifest["simulated"]
    for name in ("patients", "events", "adverse_events", "observations",
                 "model_observations"):
        got = pd.read_parquet(out / name)
        want = recorded(getattr(ref, name).reset_index(drop=True))
        assert manifest["tables"][name]["rows"] == len(want) == r.rows[name]
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False)
    assert r.worker_peak_mb and all(v > 0 for v in r.worker_peak_mb.values())


def test_refusals_then_force_without_observations(tmp_path: Path) -> None:
    out = tmp_path / "big"
    out.mkdir()
    (out / "mine.csv").write_text("real data\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(InputError) as exc:  # every problem at once, nothing written
        stream_trial(DESIGN, out, n=0, workers=0, chunk_size=0)
    text = str(exc.value)
    assert "chunk_size" in text and "--n" in text and "not empty" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (out / "mine.csv").exists()
    # --force replaces the folder as a whole (never mixed); no observation tables
    stream_trial(DESIGN, out, n=1, workers=0, force=True)
    names = sorted(p.name for p in out.iterdir())
    assert "mine.csv" not in names and "observations" not in names
    assert {"events", "manifest.json", "patients"} <= set(names)
    assert json.loads((out / "manifest.json").read_text())["patients"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]  # no temporaries left
