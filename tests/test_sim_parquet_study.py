"""A simulated study streamed to Parquet (``stream_trial`` / ``simulate --parquet``) is a
study folder: ``load_study`` reads it as it reads the CSV route's folder (same typed
tables, same problems with the same lines), and ``validate`` and ``report`` work on it
with the same results as on the CSV study of the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from remission.cli import main
from remission.errors import InputError
from remission.pipeline import bundle_for
from remission.report import write_report
from remission.sim.design import DESIGN_DIR
from remission.sim.trial import stream_trial
from remission.study import load_study

DESIGN = DESIGN_DIR / "seed000_ven_leadin_cll1_cart.toml"


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same trial (2 arms x 1 patient, seed 5) by the CSV and the Parquet route."""
    tmp = tmp_path_factory.mktemp("routes")
    csv, pq = tmp / "csv", tmp / "pq"
    assert main(["simulate", str(DESIGN), "--out", str(csv), "--n", "1", "--seed", "5",
                 "--workers", "0"]) == 0
    # chunks of 1: the 2 patients are written as two part files per table
    r = stream_trial(DESIGN, pq, n=1, seed=5, workers=0, chunk_size=1, observations=True)
    assert r.chunks == 2 and len(list((pq / "patients").glob("*.parquet"))) == 2
    return csv, pq


def test_parquet_study_simulate_validate_report_equal_the_csv_route(
        routes: tuple[Path, Path], tmp_path: Path) -> None:
    csv, pq = routes
    assert (pq / "study.toml").read_bytes() == (csv / "study.toml").read_bytes()
    a, b = load_study(csv), load_study(pq)
    assert b.sources["patients"] == "patients/*.parquet"
    pd.testing.assert_frame_equal(a.patients, b.patients)  # same lines as index too
    assert sorted(a.tables) == sorted(b.tables) and {"events", "observations"} <= set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.decimals == b.decimals
    assert main(["validate", str(pq)]) == 0
    # the report (results.json, report.html, tables.docx; figures left out for time) of
    # each route: the same results, byte for byte, the per-patient Stein kinetic fits
    # included. With 1 patient per arm those fits sit on bounds (beta 0) and on a kink
    # (Tmax on a sampling day); fit_stein reports them so that a 1e-15 relative change of
    # the concentrations leaves the printed numbers unchanged
    # (tests/test_kinetics_stein_determined.py).
    for folder in (csv, pq):
        write_report(bundle_for(folder, figures=False), tmp_path / folder.name)
    out = {f: (tmp_path / f / "results.json").read_bytes() for f in ("csv", "pq")}
    assert out["pq"] == out["csv"]
    out = {f: json.loads(out[f]) for f in out}
    assert any(r["name"] == "kinetics.stein" for r in out["pq"]["results"])
    assert len(out["pq"]["results"]) > 5
    assert (tmp_path / "pq" / "report.html").stat().st_size > 0


def test_parquet_problems_are_the_csv_problems(routes: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    """The same bad cells in a Parquet part and in the CSV give the same problems (same
    message, line, column, value), all at once; only the file differs."""
    import shutil

    csv, pq = (Path(shutil.copytree(f, tmp_path / f.name)) for f in routes)
    bad = {("patients", 1): ("sex", "X"), ("events", 0): ("day", "soon")}
    for (name, part), (col, value) in bad.items():
        f = sorted((pq / name).glob("*.parquet"))[part]
        df = pd.read_parquet(f)
        df[col] = df[col].astype(str)  # a text column holding the bad value
        df.loc[0, col] = value
        df.to_parquet(f, index=False)
        c = pd.read_csv(csv / f"{name}.csv", dtype=str, keep_default_na=False)
        first = 0 if part == 0 else len(pd.read_parquet(sorted((pq / name).glob("*"))[0]))
        c.loc[first, col] = value
        c.to_csv(csv / f"{name}.csv", index=False)
    got = {}
    for folder in (csv, pq):
        with pytest.raises(InputError) as exc:
            load_study(folder)
        got[folder.name] = [(p.message, p.row, p.column, p.value) for p in exc.value.problems]
    assert len(got["pq"]) == 2 and got["pq"] == got["csv"]
    files = {p.file for p in exc.value.problems}
    assert files == {"patients/*.parquet", "events/*.parquet"}


def test_report_command_reads_parquet_in_a_fresh_process(routes: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    """``remission report`` hides pyarrow while it first imports pandas (a cold-start
    saving); the Parquet reader imports pyarrow itself afterwards, so a fresh ``report``
    process on a Parquet study gives the in-process results."""
    import subprocess
    import sys

    _, pq = routes
    out = tmp_path / "cli"
    run = subprocess.run([sys.executable, "-m", "remission.cli", "report", str(pq),
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    write_report(bundle_for(pq, figures=False), tmp_path / "lib")
    got = json.loads((out / "results.json").read_text())["results"]
    want = json.loads((tmp_path / "lib" / "results.json").read_text())["results"]
    assert any(r["name"] == "kinetics.stein" for r in got)
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
