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


def test_only_counts_come_back_to_the_client(tmp_path: Path) -> None:
    """What a chunk sends back to the client (the only thing the client keeps) has the
    same size for 1 and 6 patients: counts, a pid and a memory figure, nothing per
    patient; and the client's memory is read at 10 % and 100 % of the chunks."""
    import pickle

    from remission.sim.design import load_design
    from remission.sim.trial import write_chunk

    d = load_design(DESIGN)
    one = write_chunk(d, [(0, 0, 1)], 0, False, str(tmp_path / "a"), 0)
    six = write_chunk(d, [(0, 0, 3), (1, 0, 3)], 0, False, str(tmp_path / "b"), 1)
    assert (one["patients"], six["patients"]) == (1, 6)
    assert six["rows"]["patients"] == 6 and set(one) == set(six)
    assert abs(len(pickle.dumps(six)) - len(pickle.dumps(one))) <= 16
    r = stream_trial(DESIGN, tmp_path / "s", n=1, workers=0, chunk_size=1)
    assert r.chunks == 2 and set(r.main_rss_mb) == {"10%", "100%"}
    assert all(v > 0 for v in r.main_rss_mb.values())
    assert r.scheduler_pid is None  # no Dask: no scheduler
