"""Figures drawn in a child process (remission.report.background): same bytes as drawn
in-process, and every fallback (no fork, child killed, drawing error, unpicklable draw)
still gives those bytes or the drawing's own error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from remission.plot import grade_by_group, response_by_group
from remission.report.background import BackgroundFigures, usable_cores
from remission.report.figures import figure_svg

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cll1-post-hsct"
ADSL = pd.DataFrame({"USUBJID": ["1", "2", "3", "4"], "COHORT": ["A", "A", "B", "B"],
                     "BOR": ["CR", "NR", "CR", "PR"], "CRSGR": [1, 2, 0, 3]})
needs_fork = pytest.mark.skipif(not hasattr(os, "fork") or usable_cores() < 2,
                                reason="a child is forked only with os.fork and 2+ cores")


def _boom() -> None:
    raise ValueError("figure cannot be drawn")


@needs_fork
def test_child_draws_the_same_svg() -> None:
    draws = [partial(response_by_group, ADSL), partial(grade_by_group, ADSL, grade_col="CRSGR")]
    bg = BackgroundFigures()
    assert bg.forked
    figs = bg.submit(draws)
    got = [f.svg() for f in figs]
    assert not bg.forked  # collected and reaped
    assert got == [figure_svg(d()) for d in draws]
    assert figure_svg(figs[0]) == got[0]  # the renderers' entry point


@pytest.mark.parametrize("how", ["no fork", "killed", "not picklable"])
def test_fallbacks_draw_in_process(how: str) -> None:
    want = figure_svg(response_by_group(ADSL))
    bg = BackgroundFigures(fork=how != "no fork")
    if how == "not picklable":
        [fig] = bg.submit([lambda: response_by_group(ADSL)])
    else:
        [fig] = bg.submit([partial(response_by_group, ADSL)])
    if how == "killed" and bg.forked:
        os.kill(bg._pid, signal.SIGKILL)
    assert fig.svg() == want


def _stuck_in_child(parent: int) -> object:
    if os.getpid() != parent:  # the child never answers (as if stuck on a lock)
        time.sleep(600)
    return response_by_group(ADSL)


@needs_fork
def test_child_that_does_not_answer_is_stopped_and_the_parent_draws() -> None:
    bg = BackgroundFigures(timeout=0.2)
    pid = bg._pid
    [fig] = bg.submit([partial(_stuck_in_child, os.getpid())])
    assert fig.svg() == figure_svg(response_by_group(ADSL))
    with pytest.raises(ChildProcessError):  # stopped and reaped
        os.waitpid(pid, os.WNOHANG)


@needs_fork
def test_drawing_error_is_raised_in_the_parent() -> None:
    bg = BackgroundFigures()
    [fig] = bg.submit([_boom])
    with pytest.raises(ValueError, match="figure cannot be drawn"):
        fig.svg()


@needs_fork
def test_unused_child_is_stopped_and_reaped() -> None:
    bg = BackgroundFigures()
    pid = bg._pid
    bg.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_report_process_draws_no_figure_itself(tmp_path: Path) -> None:
    # what `remission report` runs, in a fresh process: the figures are DeferredFigures
    # drawn by the child, the report process itself imports neither matplotlib nor the
    # single-cell stack (the study declares no cells), and report.html embeds the three
    # SVG figures. (That every file equals the in-process render, every run, is checked
    # by tests/test_report_bench_smoke.py through benchmarks/bench_report.py.)
    code = ("import sys; from remission.pipeline import bundle_for; "
            "from remission.report import write_report; "
            "b = bundle_for(sys.argv[1], background=True); "
            "print([type(f.figure).__name__ for f in b.figures]); "
            "write_report(b, sys.argv[2]); "
            "print(sorted({'.'.join(m.split('.')[:2]) for m in sys.modules "
            "if m.startswith(('matplotlib', 'scipy.sparse', 'remission.singlecell.pp'))}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLE), str(tmp_path / "bg")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    kinds, loaded = proc.stdout.strip().splitlines()[-2:]
    assert kinds == str(["DeferredFigure"] * 3)
    if usable_cores() >= 2 and hasattr(os, "fork"):
        assert loaded == "[]"
    html = (tmp_path / "bg" / "report.html").read_text(encoding="utf-8")
    assert html.count("src='data:image/svg+xml;base64,") == 3
