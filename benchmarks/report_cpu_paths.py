"""CPU time on each of the two paths of one cold ``remission report`` (parent and figure
process), a figure that depends less on the machine's load than the wall time.

``remission report`` draws its figures in a forked child process
(:mod:`remission.report.background`). On an idle machine with two cores its wall time is
about the longer of two CPU paths: the parent's whole CPU time, and the path through the
child: it starts drawing when it has imported matplotlib (the parent's CPU time at the
fork + the child's) and the parent has sent the figures' data (the parent's CPU time at
``submit``), whichever is later; then the child's drawing; then the parent's work after it
receives the figures. Each run is a fresh interpreter (this script with ``--one``) that
wraps ``remission.cli.main(["report", STUDY, "--out", DIR])``, records
``time.process_time()`` when the child is forked, when the figures are submitted and when
the parent first asks for them, the child's CPU time when it is ready to draw, and its
total CPU time from ``getrusage(RUSAGE_CHILDREN)``. It also checks the report's files against
an in-process render (figures drawn in the report's own process) and exits 1 if any
file differs or a run fails.

Run: ``python benchmarks/report_cpu_paths.py [--runs 5] [STUDY]`` (default
examples/cll1-post-hsct).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(study: str, out: str) -> None:
    """One report in this process, timed by path; prints one JSON line."""
    from remission import cli
    from remission.report import background as bg

    marks: dict[str, float] = {}
    parent = os.getpid()
    ready = Path(out).with_name(Path(out).name + ".child-ready")
    start, collect = bg.BackgroundFigures._start, bg.BackgroundFigures._collect
    submit, mpl = bg.BackgroundFigures.submit, bg._import_matplotlib_2d

    def _start(self):
        marks["fork"] = time.process_time()
        marks["pandas_at_fork"] = "pandas" in sys.modules
        return start(self)

    def _submit(self, draws):
        marks["submit"] = time.process_time()
        return submit(self, draws)

    def _collect(self):
        marks.setdefault("collect", time.process_time())
        return collect(self)

    def _mpl():  # in the child: its CPU time when it is ready to draw
        mpl()
        if os.getpid() != parent:
            ready.write_text(str(time.process_time()))

    bg.BackgroundFigures._start, bg.BackgroundFigures._collect = _start, _collect
    bg.BackgroundFigures.submit, bg._import_matplotlib_2d = _submit, _mpl
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["report", study, "--out", out])
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent_cpu, child = me.ru_utime + me.ru_stime, ch.ru_utime + ch.ru_stime
    forked = all(k in marks for k in ("fork", "submit", "collect")) and ready.exists()
    if forked:
        # the child draws once it has imported matplotlib and the parent has sent the
        # figures' data; the parent then renders what does not wait for the figures
        child_ready = float(ready.read_text())
        starts = max(marks["fork"] + child_ready, marks["submit"])
        via_child = starts + (child - child_ready) + parent_cpu - marks["collect"]
    else:
        via_child = None
    longest = max(parent_cpu, via_child or 0.0)
    print(json.dumps({"status": status, "pyarrow": "pyarrow" in sys.modules,
                      "parent_cpu_s": parent_cpu, "child_cpu_s": child,
                      "fork_at_s": marks.get("fork"), "submit_at_s": marks.get("submit"),
                      "collect_at_s": marks.get("collect"),
                      "pandas_at_fork": marks.get("pandas_at_fork"),
                      "via_child_s": via_child, "longest_path_s": longest,
                      "load1": os.getloadavg()[0]}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", nargs="?", default=str(ROOT / "examples" / "cll1-post-hsct"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--one", nargs=2, metavar=("STUDY", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        one(*a.one)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from harness import compile_sources

    compile_sources()  # bytecode as a user's installation has it (see harness)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "MPLBACKEND": "Agg"}
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "in-process"
        subprocess.run([sys.executable, "-c", "import sys; from remission.pipeline import "
                        "bundle_for; from remission.report import write_report; "
                        "write_report(bundle_for(sys.argv[1]), sys.argv[2])", a.study,
                        str(ref)], check=True, env=env, cwd=ROOT)
        rows = []
        for i in range(a.runs):
            out = Path(tmp) / f"run{i}"
            proc = subprocess.run([sys.executable, __file__, "--one", a.study, str(out)],
                                  capture_output=True, text=True, env=env, cwd=ROOT)
            if proc.returncode != 0:
                print(f"run {i + 1}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
                failed += 1
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            same = all((out / f).read_bytes() == (ref / f).read_bytes()
                       for f in ("report.html", "results.json", "tables.docx"))
            failed += (r["status"] != 0) + (not same)
            rows.append(r)
            print(f"run {i + 1}: longest CPU path {r['longest_path_s']:.3f} s (parent "
                  f"{r['parent_cpu_s']:.3f} s, fork at {r['fork_at_s'] or 0:.3f} s, submit at "
                  f"{r['submit_at_s'] or 0:.3f} s, child {r['child_cpu_s']:.3f} s, path via "
                  f"the child {r['via_child_s'] or 0:.3f} s; pandas "
                  f"{'imported' if r['pandas_at_fork'] else 'not imported'} at the fork; "
                  f"pyarrow {'loaded' if r['pyarrow'] else 'not loaded'})"
                  f"; files {'identical to' if same else 'DIFFER from'}"
                  f" the in-process render; load {r['load1']:.1f}", flush=True)
    if rows:
        print(f"median longest CPU path {statistics.median(r['longest_path_s'] for r in rows):.3f}"
              f" s over {len(rows)} runs; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
              f"{os.cpu_count()} cores")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
