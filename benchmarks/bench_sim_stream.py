"""Large virtual trials through Dask, streamed to Parquet: memory of every process,
1 -> 2 worker scaling, outputs compared.

For each number of workers asked for (default 1 then 2), the benchmark starts a Dask
**scheduler process and one process per worker** (``dask scheduler``; ``dask worker
--no-nanny --nthreads 1``, all on 127.0.0.1), so that the client (this process), the
scheduler and every worker are separate processes whose memory can be told apart, and
runs :func:`remission.sim.trial.stream_trial` on them: each worker simulates chunks of
patients and writes their Parquet parts itself; only row counts come back.

Printed and checked (exit 1 on any failure):

* the **peak resident memory (VmHWM) of every process**: client, scheduler, each worker,
  read from ``/proc/<pid>/status`` (sampled every 0.5 s while the run lasts and read once
  more at the end; the kernel's high-water mark, so no peak is missed between samples);
  each must be below 4 GB;
* the client's **current** resident memory once 10 % of the chunks had come back and once
  all had (``StreamResult.main_rss_mb``): it must not grow by more than
  ``--growth-limit`` MB (default 50) between the two, so a client that kept anything per
  patient fails at large sizes (1,000,000 patients: 900,000 patients between the two
  readings, 58 bytes per patient);
* the **output**: the part files are byte-identical between every number of workers, and
  the first and last chunks simulated again **in this process** (no Dask,
  :func:`remission.sim.trial.write_chunk`, after the memory figures are taken) give the
  same bytes as the parts the workers wrote; row counts match the number of patients;
* wall time, CPU time of the whole process tree (client + scheduler + workers, user +
  system), the load average (1 min, highest seen), patients per second and the scaling
  from the first to the last number of workers (wall and CPU).

Usage::

    python benchmarks/bench_sim_stream.py                    # 2 x 20,000 patients, 1 and 2
                                                             #   workers (< 5 min quiet)
    nice -n 10 python benchmarks/bench_sim_stream.py --n-per-arm 500000 --workers 2
                                                             # 1,000,000 patients

``--quick`` is a smoke run (2 x 200 patients, chunks of 100; what ``run_all.py --quick``
passes). ``--observations`` also writes the observation tables (~100 rows per patient);
``--json FILE`` writes the figures as JSON; ``--design`` picks another design (default
seed 000: VEN lead-in + Flu/Cy + CLL1 CAR-T vs Flu/Cy + CAR-T, 194 simulated days).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "examples" / "designs" / "seed000_ven_leadin_cll1_cart.toml"
LIMIT_MB = 4096.0


def _status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (MB) of a live process; empty when it is gone."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return out


class Sampler(threading.Thread):
    """Polls the memory of named processes and the load average every ``every`` s."""

    def __init__(self, pids: dict[str, int], every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.peak = dict.fromkeys(pids, 0.0)
        self.load_max = os.getloadavg()[0]
        self.samples = 0
        self._stop_event = threading.Event()

    def poll(self) -> None:
        for name, pid in self.pids.items():
            st = _status(pid)
            self.peak[name] = max(self.peak[name], st.get("VmHWM", 0.0), st.get("VmRSS", 0.0))
        self.load_max = max(self.load_max, os.getloadavg()[0])
        self.samples += 1

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.poll()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.poll()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_file(path: Path, procs: list[subprocess.Popen], timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.exists() or not path.read_text().strip():
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a Dask process exited while starting")
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{path} not written in {timeout:.0f} s")
        time.sleep(0.2)


def run_once(design: Path, n_per_arm: int, workers: int, chunk: int, observations: bool,
             folder: Path, seed: int) -> dict[str, Any]:
    """One streamed trial on a fresh scheduler + ``workers`` worker processes."""
    from dask.distributed import Client

    from remission.sim.trial import stream_trial

    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-stream-dask-"))
    sfile = tmp / "scheduler.json"
    py = [sys.executable, "-m"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": open(tmp / "dask.log", "w")}  # noqa: SIM115
    procs: list[subprocess.Popen] = []
    try:
        sched = subprocess.Popen([*py, "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard", "--scheduler-file",
                                  str(sfile)], **quiet)
        procs.append(sched)
        _wait_file(sfile, procs)
        for k in range(workers):
            procs.append(subprocess.Popen([
                *py, "distributed.cli.dask_worker", "--scheduler-file", str(sfile), "--nthreads",
                "1", "--no-nanny", "--memory-limit", "0", "--no-dashboard", "--name",
                f"w{k}"], **quiet))
        address = json.loads(sfile.read_text())["address"]
        with Client(address, timeout=120) as c:
            c.wait_for_workers(workers, timeout=300)
        pids = {"client": os.getpid(), "scheduler": sched.pid}
        pids.update({f"worker {k + 1}": p.pid for k, p in enumerate(procs[1:])})
        cpu0 = {name: _cpu_s(pid) for name, pid in pids.items()}
        sampler = Sampler(pids)
        sampler.start()
        t0 = time.perf_counter()
        r = stream_trial(design, folder, n=n_per_arm, seed=seed, scheduler=address,
                         chunk_size=chunk, observations=observations)
        wall = time.perf_counter() - t0
        sampler.stop()
        cpu = {name: _cpu_s(pid) - cpu0[name] for name, pid in pids.items()}
        final = {name: _status(pid).get("VmHWM", 0.0) for name, pid in pids.items()}
        peak = {name: max(sampler.peak[name], final[name]) for name in pids}
    finally:
        for p in reversed(procs):  # workers first, then the scheduler
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        quiet["stderr"].close()
        shutil.rmtree(tmp, ignore_errors=True)
    # the workers' own reports (VmHWM when each finished a chunk) and the scheduler's must
    # agree with what was sampled from outside: a process is who we think it is
    reported = {"scheduler": r.scheduler_peak_mb, **{
        f"worker {k + 1}": r.worker_peak_mb.get(p.pid, float("nan"))
        for k, p in enumerate(procs[1:])}}
    return {"workers": workers, "patients": r.patients, "chunks": r.chunks, "rows": r.rows,
            "wall_s": wall, "cpu_s": cpu, "cpu_total_s": sum(cpu.values()), "peak_mb": peak,
            "reported_peak_mb": reported, "client_rss_mb": r.main_rss_mb,
            "load_max": sampler.load_max, "samples": sampler.samples}


def part_hashes(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*.parquet"))}


def in_process_chunks(design: Path, n_per_arm: int, chunk: int, observations: bool,
                      seed: int, which: list[int]) -> dict[str, str]:
    """The chunks ``which`` simulated and written in this process (no Dask)."""
    from remission.sim.design import load_design
    from remission.sim.trial import plan_chunks, write_chunk

    d = load_design(design)
    tasks = plan_chunks(d, n_per_arm, chunk)
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sim-stream-inproc-") as tmp:
        for i in which:
            write_chunk(d, tasks[i], seed, observations, tmp, i)
        out = part_hashes(Path(tmp))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", type=Path, default=DESIGN)
    ap.add_argument("--n-per-arm", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--chunk", type=int, default=None,
                    help="patients per chunk (default remission.sim.trial.STREAM_CHUNK)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--observations", action="store_true",
                    help="also write the observation tables")
    ap.add_argument("--growth-limit", type=float, default=50.0,
                    help="MB the client may grow between 10%% and 100%% of the chunks")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for the Parquet output (default: a temporary folder, "
                         "removed at the end)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--quick", action="store_true",
                    help="smoke size (2 x 200 patients in chunks of 100; run_all --quick)")
    a = ap.parse_args(argv)
    if a.quick:
        a.n_per_arm, a.chunk = 200, a.chunk or 100
    from remission.sim.design import load_design
    from remission.sim.trial import STREAM_CHUNK

    chunk = a.chunk or STREAM_CHUNK
    base = a.out or Path(tempfile.mkdtemp(prefix="bench-sim-stream-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"design {a.design.name}, {a.n_per_arm:,} patients per arm, chunks of {chunk:,}, "
          f"observations {'yes' if a.observations else 'no'}, seed {a.seed}; "
          f"load at start {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    runs, hashes, failed = [], {}, []
    try:
        for w in a.workers:
            folder = base / f"trial-{w}w"
            shutil.rmtree(folder, ignore_errors=True)
            r = run_once(a.design, a.n_per_arm, w, chunk, a.observations, folder, a.seed)
            runs.append(r)
            hashes[w] = part_hashes(folder)
            grow = r["client_rss_mb"]["100%"] - r["client_rss_mb"]["10%"]
            r["client_growth_mb"] = grow
            print(f"\n{w} worker{'s' if w > 1 else ''}: {r['patients']:,} patients in "
                  f"{r['chunks']} chunks, wall {r['wall_s']:.1f} s "
                  f"({r['patients'] / r['wall_s']:.1f} patients/s), CPU {r['cpu_total_s']:.1f} s "
                  f"(" + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_s"].items()) + "), "
                  f"load max {r['load_max']:.1f}", flush=True)
            print(f"  rows: {r['rows']}")
            print("  peak RSS (VmHWM) MB: " + ", ".join(
                f"{k} {v:,.0f}" for k, v in r["peak_mb"].items()))
            print(f"  client RSS at 10% / 100% of chunks: {r['client_rss_mb']['10%']:.0f} / "
                  f"{r['client_rss_mb']['100%']:.0f} MB ({grow:+.1f} MB; limit "
                  f"+{a.growth_limit:.0f})", flush=True)
            if max(r["peak_mb"].values()) >= LIMIT_MB:
                failed.append(f"{w} workers: a process reached {max(r['peak_mb'].values()):.0f}"
                              f" MB (limit {LIMIT_MB:.0f})")
            if grow > a.growth_limit:
                failed.append(f"{w} workers: client grew {grow:.1f} MB from 10% to 100%")
            n_total = a.n_per_arm * len(load_design(a.design).arms)
            if r["patients"] != n_total or r["rows"]["patients"] != n_total:
                failed.append(f"{w} workers: {r['rows']['patients']} patient rows, "
                              f"expected {n_total}")
        first, last = runs[0], runs[-1]
        if len(runs) > 1:
            print(f"\nscaling {first['workers']} -> {last['workers']} workers: wall "
                  f"{first['wall_s']:.1f} -> {last['wall_s']:.1f} s "
                  f"({first['wall_s'] / last['wall_s']:.2f}x), CPU {first['cpu_total_s']:.1f} "
                  f"-> {last['cpu_total_s']:.1f} s; load max {first['load_max']:.1f} / "
                  f"{last['load_max']:.1f} (on a loaded machine the second worker has no "
                  "core of its own)")
            for w in a.workers[1:]:
                same = hashes[w] == hashes[a.workers[0]]
                print(f"Parquet parts, {w} vs {a.workers[0]} workers: "
                      f"{len(hashes[w])} files, {'byte-identical' if same else 'DIFFER'}")
                if not same:
                    failed.append(f"parts differ between {w} and {a.workers[0]} workers")
        # in-process re-run of the first and last chunks (after the memory figures)
        which = sorted({0, last["chunks"] - 1})
        mine = in_process_chunks(a.design, a.n_per_arm, chunk, a.observations, a.seed, which)
        theirs = {k: v for k, v in hashes[a.workers[-1]].items() if k in mine}
        same = bool(mine) and mine == theirs
        print(f"chunks {which} simulated in this process (no Dask) vs the workers' parts: "
              f"{len(mine)} files, {'byte-identical' if same else 'DIFFER'}")
        if not same:
            failed.append("in-process chunks differ from the Dask parts")
    finally:
        if a.out is None:
            shutil.rmtree(base, ignore_errors=True)
    ru_self = resource.getrusage(resource.RUSAGE_SELF)
    ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"process tree CPU (getrusage, self + waited children): "
          f"{ru_self.ru_utime + ru_self.ru_stime + ru_kids.ru_utime + ru_kids.ru_stime:.1f} s; "
          f"load at end {os.getloadavg()[0]:.1f}")
    if a.json:
        a.json.write_text(json.dumps({"argv": sys.argv[1:] if argv is None else argv,
                                      "runs": runs, "failed": failed,
                                      "date": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                            time.gmtime())}, indent=1))
    for f in failed:
        print("FAILED: " + f)
    print("exit " + ("1" if failed else "0"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
