"""Shared benchmark harness: side-by-side runs, output comparison, one table, JSON record.

Every workload has a *subject* (remission) and one or more *baselines* (R, lifelines,
pandas, scipy ...). Each side is a separate child process of this one (same process
group), started with ``DATA OUT`` appended to its command line. Runs alternate between
the sides (rep 1: A B C, rep 2: C B A, ...) so that a change in machine load hits all
sides alike; the figure reported is the median over the repetitions.

A side writes ``OUT`` (JSON for R, JSON or pickle for Python)::

    {"seconds": <time of the computation, measured inside the process>,
     "output": {<key>: number | list | table}}

and exits 0. The harness records, per run, the in-process ``seconds``, the wall time
of the whole process (interpreter start, imports, data load included) and its peak
resident memory (the child's ``VmHWM``, polled every 10 ms; for the shell wrapper of
"validate + report" that of the report process, which the shell execs). The outputs of
the last repetition are compared key by key with the workload's tolerance. The harness
exits non-zero when any side fails (non-zero exit status, missing output, time not
reported) or when an output disagrees beyond the stated tolerance. Targets (ratio
limits) are printed and recorded but only ``--strict`` turns a missed target into a
failure: the machine this runs on may be shared, so the load average is recorded next
to every figure.

``REMISSION_BENCH_PERTURB=<key>`` makes a Python side written with :func:`emit`
multiply ``output[key]`` by 1.01 and add 0.01 (integer tables: add 1) before writing
it: the smoke tests use it to check that a wrong answer fails the benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: where a benchmark writes ``<bench>.json``, its sides' outputs (``work/``) and its cached
#: data sets (``data/``): ``build/bench``, or ``$REMISSION_BENCH_OUT`` (the smoke tests give
#: each pytest-xdist worker its own, tests/benchsmoke.py: two benchmarks running at once
#: never read each other's record or outputs)
OUT_DIR = Path(os.environ.get("REMISSION_BENCH_OUT") or ROOT / "build" / "bench")
PERTURB_ENV = "REMISSION_BENCH_PERTURB"


# --------------------------------------------------------------------------- worker side
def emit(out_path: str | Path, output: dict[str, Any], seconds: float,
         load_s: float | None = None, cpu_seconds: float | None = None) -> None:
    """Write a Python side's result (pickle when it holds tables, else JSON).

    ``load_s``: time spent loading libraries before ``seconds`` started (reported on a
    separate line, for comparison with a baseline that also reports it, e.g. R's
    ``library()`` calls). ``cpu_seconds``: the CPU time of the same timed work as
    ``seconds`` (what a workload's ``cpu_limits`` judge)."""
    key = os.environ.get(PERTURB_ENV)
    if key:
        if key not in output:
            raise SystemExit(f"{PERTURB_ENV}={key}: no such output key")
        output = dict(output)
        output[key] = _perturb(output[key])
    out_path = Path(out_path)
    payload = {"seconds": float(seconds), "output": output}
    if load_s is not None:
        payload["load_s"] = float(load_s)
    if cpu_seconds is not None:
        payload["cpu_seconds"] = float(cpu_seconds)
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    if out_path.suffix == ".pkl":
        tmp.write_bytes(pickle.dumps(payload))
    else:
        tmp.write_text(json.dumps(payload, default=_jsonable))
    tmp.replace(out_path)


def _perturb(v: Any) -> Any:
    import pandas as pd

    if isinstance(v, dict):
        k = next(iter(v))
        return {**v, k: _perturb(v[k])}
    if isinstance(v, str):
        return v + "-perturbed"

    if isinstance(v, pd.DataFrame):
        v = v.copy()
        num = [c for c in v.columns if pd.api.types.is_numeric_dtype(v[c])]
        c = num[0]
        v[c] = v[c] + 1 if pd.api.types.is_integer_dtype(v[c]) else v[c] * 1.01 + 0.01
        return v
    a = np.asarray(v, float)
    return (a * 1.01 + 0.01).tolist() if a.ndim else float(a * 1.01 + 0.01)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v)}")


def load_output(path: Path) -> dict[str, Any]:
    if path.suffix == ".pkl":
        return pickle.loads(path.read_bytes())
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- comparison
@dataclass
class Check:
    """One compared quantity: ``ok`` when within tolerance; ``diff`` the max abs diff."""

    key: str
    ok: bool
    diff: float
    detail: str = ""


def close(key: str, a: Any, b: Any, rtol: float, atol: float = 0.0) -> Check:
    """Numbers/vectors equal within ``|a - b| <= atol + rtol |b|`` (NaN equals NaN)."""
    try:
        x, y = np.asarray(a, float), np.asarray(b, float)
    except (TypeError, ValueError) as exc:
        return Check(key, False, math.inf, f"not numeric: {exc}")
    if x.shape != y.shape:
        return Check(key, False, math.inf, f"shape {x.shape} vs {y.shape}")
    nan_x, nan_y = np.isnan(x), np.isnan(y)
    if np.any(nan_x != nan_y):
        return Check(key, False, math.inf, f"NaN pattern differs ({int(np.sum(nan_x != nan_y))})")
    m = ~nan_x
    d = np.abs(x[m] - y[m])
    bad = d > atol + rtol * np.abs(y[m])
    diff = float(d.max()) if d.size else 0.0
    return Check(key, not bool(bad.any()), diff,
                 f"rtol {rtol:g}, atol {atol:g}" + (f"; {int(bad.sum())} outside" if bad.any()
                                                    else ""))


def same_table(key: str, a: Any, b: Any) -> Check:
    """Two tables with the same columns and exactly the same values, row order included
    (dtypes may differ: e.g. a categorical against strings, Int64 against int64)."""
    import pandas as pd

    def norm(t: pd.DataFrame) -> pd.DataFrame:
        t = t.reset_index(drop=True).copy()
        for c in t.columns:
            if isinstance(t[c].dtype, pd.CategoricalDtype):
                t[c] = t[c].astype(object)
            elif pd.api.types.is_extension_array_dtype(t[c].dtype) and \
                    pd.api.types.is_numeric_dtype(t[c].dtype):
                t[c] = t[c].astype("float64")
        return t

    try:
        pd.testing.assert_frame_equal(norm(a), norm(b), check_exact=True, check_dtype=False)
    except AssertionError as exc:
        return Check(key, False, math.inf, (str(exc).splitlines() or ["differs"])[0])
    return Check(key, True, 0.0, f"{len(a):,} rows x {a.shape[1]} columns, exact")


# --------------------------------------------------------------------------- running
@dataclass
class Side:
    """One implementation: ``cmd`` gets ``DATA OUT`` appended; ``out_ext`` .json/.pkl."""

    name: str
    cmd: list[str]
    out_ext: str = ".json"
    env: dict[str, str] = field(default_factory=dict)
    cold: bool = False  # the figure is the whole-process wall time (imports included)
    # cold sides: argv after ``cmd`` from (DATA, OUT) (default: DATA OUT), and the output
    # to compare, read from OUT after the process exits (the process writes no JSON)
    args: Callable[[Path, Path], list[str]] | None = None
    collect: Callable[[Path], dict[str, Any]] | None = None


@dataclass
class Workload:
    """Subject (first side) against baselines, with an output comparison."""

    name: str
    data: Path
    sides: list[Side]
    compare: Callable[[dict[str, dict[str, Any]]], list[Check]]
    targets: dict[str, float] = field(default_factory=dict)  # baseline name -> max ratio
    limits: dict[str, float] = field(default_factory=dict)  # side name -> max seconds
    # side name -> max CPU seconds of its timed work (the side's emitted cpu_seconds):
    # a target judged on CPU time, which the machine's load hardly moves
    cpu_limits: dict[str, float] = field(default_factory=dict)
    mem_limits: dict[str, float] = field(default_factory=dict)  # side name -> max peak MB
    note: str = ""


@dataclass
class Run:
    seconds: float
    wall: float
    peak_mb: float
    load1: float
    lib_load_s: float = math.nan  # library load before the timed part, when reported
    # CPU time (user + sys) of the whole child process and of the processes it waited
    # for, from wait4: less sensitive to the machine's load than the wall time
    cpu_s: float = math.nan
    # CPU time of the timed work itself, as the side reports it (emit's cpu_seconds)
    work_cpu_s: float = math.nan


def status_kb(pid: int, field: str) -> int:
    """A memory field of a running process's ``/proc/PID/status``, in kB.

    ``field``: ``"VmHWM"`` (peak resident set size), ``"VmRSS"`` (current resident set
    size) or another ``kB`` line. 0 when it cannot be read (the process is gone, or no
    such file or line)."""
    prefix = f"{field}:"
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(prefix):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _run_side(side: Side, data: Path, out: Path, extra_env: dict[str, str]) -> tuple[Run | None,
                                                                                    str]:
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    env = {**os.environ, **side.env, **extra_env}
    argv = side.args(data, out) if side.args else [str(data), str(out)]
    load1 = os.getloadavg()[0]
    log = out.with_suffix(".stderr")
    t0 = time.perf_counter()
    with open(log, "wb") as err_f:
        proc = subprocess.Popen([*side.cmd, *argv], stdout=subprocess.DEVNULL,
                                stderr=err_f, env=env, cwd=ROOT)
        # peak memory: the child's own high-water mark (VmHWM of /proc/PID/status),
        # polled until it exits. (ru_maxrss from wait4 is not used: Linux folds the
        # parent's resident size at spawn into it, so every child would look as big as
        # the harness.) Reaped with wait4 for the exit status.
        peak_kb = 0
        while True:
            pid, sts, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            peak_kb = max(peak_kb, status_kb(proc.pid, "VmHWM"))
            time.sleep(0.01)
    wall = time.perf_counter() - t0
    cpu = usage.ru_utime + usage.ru_stime
    status = os.waitstatus_to_exitcode(sts)
    proc.returncode = status  # already reaped; Popen must not wait again
    peak = peak_kb / 1024.0 if peak_kb else float("nan")
    stderr = log.read_bytes()
    text = (stderr or b"").decode(errors="replace")[-3000:]
    if status != 0:
        return None, f"{side.name}: exit status {status}\n{text}"
    if side.collect is not None:  # a whole-process side: its figure is the wall time
        try:
            res = {"seconds": wall, "output": side.collect(out)}
        except Exception as exc:  # an output that cannot be read is a failure
            return None, f"{side.name}: output unreadable: {exc}\n{text}"
        key = extra_env.get(PERTURB_ENV)
        if key:
            res["output"][key] = _perturb(res["output"][key])
        rec = out.parent / (out.name + ".result.json")
        rec.write_text(json.dumps(res, default=_jsonable))
        return Run(wall, wall, peak, load1, cpu_s=cpu), ""
    if not out.exists():
        return None, f"{side.name}: exit 0 but wrote no output {out}\n{text}"
    try:
        res = load_output(out)
        secs = float(res["seconds"])
    except Exception as exc:  # any unreadable output is a failure
        return None, f"{side.name}: unreadable output {out}: {exc}\n{text}"
    if side.cold:
        secs = wall
    if not (secs >= 0 and math.isfinite(secs)):
        return None, f"{side.name}: reported time {secs!r}"
    return Run(secs, wall, peak, load1, float(res.get("load_s", math.nan)), cpu,
               float(res.get("cpu_seconds", math.nan))), ""


@dataclass
class Outcome:
    workload: Workload
    runs: dict[str, list[Run]]
    checks: list[Check]
    errors: list[str]

    def median(self, side: str) -> float:
        return statistics.median(r.seconds for r in self.runs[side])


def run_workload(w: Workload, reps: int, work: Path, perturb: str | None = None) -> Outcome:
    runs: dict[str, list[Run]] = {s.name: [] for s in w.sides}
    errors: list[str] = []
    outs: dict[str, Path] = {}
    outs_by_rep: dict[str, list[dict[str, Any]]] = {}
    for rep in range(reps):
        order = w.sides if rep % 2 == 0 else list(reversed(w.sides))
        for side in order:
            out = work / f"{_slug(w.name)}-{_slug(side.name)}{side.out_ext}"
            extra = {PERTURB_ENV: perturb} if perturb and side is w.sides[0] else {}
            r, err = _run_side(side, w.data, out, extra)
            if r is None:
                errors.append(err)
                return Outcome(w, runs, [], errors)
            runs[side.name].append(r)
            if side.collect is not None:
                outs_by_rep.setdefault(side.name, []).append(
                    load_output(out.parent / (out.name + ".result.json"))["output"])
                out = out.parent / (out.name + ".result.json")
            else:  # a worker side: its scalar figures (e.g. CPU per patient) of every
                # rep, and its lists of numbers (e.g. per-pass timings)
                outs_by_rep.setdefault(side.name, []).append(
                    {k: v for k, v in load_output(out)["output"].items()
                     if isinstance(v, (int, float)) or (
                         isinstance(v, list) and all(isinstance(x, (int, float)) for x in v))})
            outs[side.name] = out
    results: dict[str, Any] = {name: load_output(p)["output"] for name, p in outs.items()}
    # every repetition's output of whole-process sides; scalar outputs of worker sides
    results["_reps"] = outs_by_rep
    try:
        checks = w.compare(results)
    except Exception as exc:  # a comparison that cannot run fails
        checks = [Check("comparison", False, math.inf, f"{type(exc).__name__}: {exc}")]
    if not checks:
        checks = [Check("comparison", False, math.inf, "nothing compared")]
    return Outcome(w, runs, checks, errors)


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in s).strip("_").lower()


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def report(bench: str, outcomes: Sequence[Outcome], argv: Sequence[str], strict: bool,
           extra: dict[str, Any] | None = None) -> int:
    """Print the table, write build/bench/<bench>.json, return the exit status."""
    status = 0
    rows = []
    head = (f"{'workload':<44}{'remission s':>12}  {'baseline':<22}{'baseline s':>11}"
            f"{'ratio':>8}{'target':>8}{'peak MB r/b':>14}{'load':>6}  agree")
    print(head)
    print("-" * len(head))
    for o in outcomes:
        w = o.workload
        subj = w.sides[0].name
        agree_ok = bool(o.checks) and all(c.ok for c in o.checks) and not o.errors
        if not agree_ok:
            status = 1
        if len(w.sides) == 1 and not o.errors and o.runs[subj]:
            # a workload checked against a contract, with no baseline to time
            ts = o.median(subj)
            pr = max(r.peak_mb for r in o.runs[subj])
            load = max(r.load1 for r in o.runs[subj])
            print(f"{w.name:<44}{ts:>12.3f}  {'(no baseline)':<22}{'':>11}{'':>8}{'':>8}"
                  f"{pr:>7.0f}{'':<7}{load:>6.2f}  {'yes' if agree_ok else 'NO'}")
            rows.append({"workload": w.name, "subject": subj, "subject_s": ts,
                         "subject_runs": [r.__dict__ for r in o.runs[subj]],
                         "subject_peak_mb": pr, "max_load1": load, "agree": agree_ok,
                         "note": w.note})
        for b in w.sides[1:]:
            if o.errors or not o.runs[b.name] or not o.runs[subj]:
                print(f"{w.name:<44}{'FAILED':>12}  {b.name:<22}")
                rows.append({"workload": w.name, "baseline": b.name, "failed": True})
                continue
            ts, tb = o.median(subj), o.median(b.name)
            ratio = ts / tb if tb > 0 else math.inf
            tgt = w.targets.get(b.name)
            met = None if tgt is None else ratio <= tgt
            if strict and met is False:
                status = 1
            pr = max(r.peak_mb for r in o.runs[subj])
            pb = max(r.peak_mb for r in o.runs[b.name])
            load = max(r.load1 for rs in o.runs.values() for r in rs)
            tg = "" if tgt is None else f"<={tgt:g}" + ("" if met else "!")
            print(f"{w.name:<44}{ts:>12.3f}  {b.name:<22}{tb:>11.3f}{ratio:>8.3f}{tg:>8}"
                  f"{pr:>7.0f}/{pb:<6.0f}{load:>6.2f}  {'yes' if agree_ok else 'NO'}")
            ls = statistics.median(r.lib_load_s for r in o.runs[subj])
            lb = statistics.median(r.lib_load_s for r in o.runs[b.name])
            if math.isfinite(ls) and math.isfinite(lb):
                print(f"    incl. library load ({subj} {ls:.3f} s, {b.name} {lb:.3f} s): "
                      f"{ts + ls:.3f} s vs {tb + lb:.3f} s, ratio {(ts + ls) / (tb + lb):.3f}")
            rows.append({
                "workload": w.name, "subject": subj, "baseline": b.name,
                "subject_lib_load_s": ls, "baseline_lib_load_s": lb,
                "subject_s": ts, "baseline_s": tb, "ratio": ratio, "target_ratio": tgt,
                "target_met": met, "subject_runs": [r.__dict__ for r in o.runs[subj]],
                "baseline_runs": [r.__dict__ for r in o.runs[b.name]],
                "subject_peak_mb": pr, "baseline_peak_mb": pb, "max_load1": load,
                "cold": b.cold, "agree": agree_ok, "note": w.note})
        for side, lim in w.limits.items():
            if o.errors or not o.runs.get(side):
                continue
            rs = o.runs[side]
            t = statistics.median(r.seconds for r in rs)
            cpu = statistics.median(r.cpu_s for r in rs)
            met = t <= lim
            if strict and not met:
                status = 1
            print(f"    {'PASS' if met else 'FAIL'} target {side} < {lim:g} s: median {t:.3f} s "
                  f"wall, whole-process CPU (user+sys) median {cpu:.3f} s; runs (wall s / "
                  f"CPU s @ 1-min load): "
                  f"{', '.join(f'{r.seconds:.2f}/{r.cpu_s:.2f}@{r.load1:.1f}' for r in rs)}")
            rows.append({"workload": w.name, "subject": side, "limit_s": lim, "median_s": t,
                         "median_cpu_s": cpu, "target_met": met,
                         "runs": [r.__dict__ for r in rs]})
        for side, lim in w.cpu_limits.items():
            if o.errors or not o.runs.get(side):
                continue
            rs = o.runs[side]
            c = statistics.median(r.work_cpu_s for r in rs)
            t = statistics.median(r.seconds for r in rs)
            met = math.isfinite(c) and c <= lim
            if strict and not met:
                status = 1
            print(f"    {'PASS' if met else 'FAIL'} target {side} < {lim:g} s CPU: median "
                  f"{c:.3f} s CPU of the timed work ({t:.3f} s wall"
                  + ("" if math.isfinite(c) else "; the side reported no CPU time")
                  + "); runs (CPU s / wall s @ 1-min load): "
                  f"{', '.join(f'{r.work_cpu_s:.3f}/{r.seconds:.3f}@{r.load1:.1f}' for r in rs)}")
            rows.append({"workload": w.name, "subject": side, "limit_cpu_s": lim,
                         "median_cpu_s": c, "median_s": t, "target_met": met,
                         "runs": [r.__dict__ for r in rs]})
        for side, lim in w.mem_limits.items():
            if o.errors or not o.runs.get(side):
                continue
            pk = max(r.peak_mb for r in o.runs[side])
            met = 0 < pk <= lim
            if strict and not met:
                status = 1
            print(f"    {'PASS' if met else 'FAIL'} target {side} < {lim:g} MB: peak memory "
                  f"{pk:.0f} MB (max over runs)")
            rows.append({"workload": w.name, "subject": side, "limit_peak_mb": lim,
                         "peak_mb": pk, "target_met": met})
        for c in o.checks:
            flag = "ok " if c.ok else "BAD"
            print(f"    {flag} {w.name}: {c.key}: max |diff| {c.diff:.3g} ({c.detail})")
        for e in o.errors:
            print(f"    FAILED {w.name}: {e}", file=sys.stderr)
            print(f"    FAILED {w.name}: {e.splitlines()[0]}")
    print("ratio = remission median / baseline median (lower is better); "
          "times are medians of the alternating runs; load = highest 1-min load average "
          f"seen; {'ALL OUTPUTS AGREE' if status == 0 else 'FAILURE: see BAD/FAILED lines'}")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rec = {"bench": bench, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": " ".join(["python", *argv]), "machine": machine(),
           "status": status, "rows": rows, "extra": extra or {},
           "checks": [{"workload": o.workload.name, **c.__dict__} for o in outcomes
                      for c in o.checks],
           "errors": [e for o in outcomes for e in o.errors]}
    path = OUT_DIR / f"{bench}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec, indent=1, default=_jsonable))
    tmp.replace(path)
    print(f"written {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return status


def common_args(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 repetitions (smoke)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 5; quick 2)")
    ap.add_argument("--strict", action="store_true", help="a missed target fails the run")
    ap.add_argument("--perturb", default=None,
                    help="perturb this output key of the remission side (must then fail)")
    ap.add_argument("--only", default=None, help="run only workloads whose name contains this")
    return ap


def select(workloads: list[Workload], only: str | None) -> list[Workload]:
    """The workloads whose name contains ``only`` (all when None); at least one."""
    chosen = [w for w in workloads if only is None or only in w.name]
    if not chosen:
        raise SystemExit(f"--only {only!r} matches no workload")
    return chosen


def py_env() -> dict[str, str]:
    """Environment of a Python child: this checkout's ``src`` first on the path."""
    return {"PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def python_side(name: str, script: Path, side: str, out_ext: str = ".json") -> Side:
    """A Python side: ``python script --worker SIDE DATA OUT``."""
    return Side(name, [sys.executable, str(script), "--worker", side], out_ext, env=py_env())


def r_side(name: str, script: Path) -> Side:
    return Side(name, ["Rscript", "--vanilla", str(script)])


def worker_call(argv: Sequence[str], workers: dict[str, Any]) -> bool:
    """Run ``--worker SIDE DATA OUT`` (a benchmark re-invoking itself as one side); True if so."""
    if argv and argv[0] == "--worker":
        workers[argv[1]](argv[2], argv[3])
        return True
    return False


def compile_sources() -> None:
    """Byte-compile this checkout's ``src`` into ``__pycache__`` before anything is timed.

    A user's installation has compiled bytecode (``pip install`` writes it; an editable
    install writes it on first import). Without this, a cold timing made with
    ``PYTHONDONTWRITEBYTECODE`` set, or with a ``__pycache__`` left stale by a change,
    compiles remission's own modules from source in every run (for the cold report, see
    docs/performance.md). Imports still count: only the compilation a user never pays is
    left out."""
    import compileall

    compileall.compile_dir(str(ROOT / "src"), quiet=1)


def run_all(bench: str, workloads: list[Workload], args: argparse.Namespace, reps: int,
            argv: Sequence[str], params: dict[str, Any]) -> int:
    """Run the selected workloads (alternating sides, ``reps`` each) and report; exit status."""
    compile_sources()
    work = OUT_DIR / "work"
    work.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for w in select(workloads, args.only):
        print(f"running {w.name} ({reps} alternating repetitions) ...", flush=True)
        outcomes.append(run_workload(w, reps, work, args.perturb))
    return report(bench, outcomes, [f"benchmarks/bench_{bench}.py", *argv], args.strict, params)
