"""CPU time and database queries per request of bench_web's mix, in one process (Django's
test client, no HTTP server, no concurrency): a figure that does not depend on the
machine's load, to see where a load run's server time goes.

The demo database is set up as ``remission web`` sets it up (SQLite in a temporary
folder, or PostgreSQL when ``DATABASE_URL`` is set; both bundled studies imported, the
warm-up run), then ``--requests`` requests are drawn from bench_web's mix (same kinds,
shares, patients, days and typed values) and sent one after the other. Prints per request
kind: count, median and mean CPU (``time.process_time``), mean database queries; and the
mean CPU per request over the mix. Every live grade shown is compared with the batch
pipeline's (bench_web's oracle); exits 1 on a wrong grade or a failed request.

``--processes N`` sends each request to one of N simulated server processes (drawn at
random, as gunicorn's workers take connections): each has its own copy of the
per-process caches of :mod:`remission.web.grading` (``_CACHE``, ``_LOCAL``) and the
rendered fragments of :mod:`remission.web.fragments` (``_KEPT``), copied from the
warmed-up state as a fork would, so the figure includes what a multi-process server
pays when a patient's data change in another process (default 1).

After the copies (the fork) the set-up's objects are frozen out of the garbage
collector's walks and its thresholds set as ``remission web`` does
(:func:`remission.web.serve.freeze_heap`; ``--no-freeze``: Python's collector as it
is); the collections during the counted requests are printed (count and CPU per
generation: a collection of the oldest generation stops every thread of a process).

``--warm N`` first sends N requests of the mix that are not counted (nor profiled): the
figures are then those of a server that has been serving for a while, as in bench_web's
two-minute load run (thousands of requests: rows already rendered, every patient's values
kept), rather than those of a server's first looks at each patient.

``--profile N`` prints the N most expensive functions (cProfile, cumulative) of the run.
``--calls`` also counts the Python and built-in function calls of each request
(``sys.setprofile``; slower): a figure that does not move with the machine's load, for
comparing two versions of the code on a shared machine (same ``--seed``, same requests).
``--distinct`` sends each live grade's (patient, day) at most once (up to 16 x 50
requests of kind ``grade``): every live grade then has typed values this process has not
graded before, what a user's edit of a field costs the first time it is sent (bench_web's
users repeat their patient-day's values, which the per-process memos of a re-sent form
answer). ``--grade-all`` also times the pipeline's ``grade_all`` alone on the inputs the run's live
grades gave it (each input 5 times; CPU median per call): the grading engine's part of a
live grade, without the request around it.

    python benchmarks/web_request_cpu.py                    # 600 requests of the mix
    python benchmarks/web_request_cpu.py --profile 40 --kind save
    python benchmarks/web_request_cpu.py --kind grade --requests 100 --grade-all
    python benchmarks/web_request_cpu.py --kind grade --requests 400 --distinct
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib.util
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_web", HERE / "bench_web.py")
bw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bw)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", choices=list(bw.MIX), default=None,
                    help="only this request kind (default: the mix)")
    ap.add_argument("--processes", type=int, default=1,
                    help="simulated server processes, each with its own caches")
    ap.add_argument("--profile", type=int, default=0, help="print the N top functions")
    ap.add_argument("--warm", type=int, default=0,
                    help="first send N requests of the mix, not counted (a served-for-a-"
                         "while server)")
    ap.add_argument("--calls", action="store_true",
                    help="also count the function calls of each request (load-independent)")
    ap.add_argument("--distinct", action="store_true",
                    help="each live grade's (patient, day) at most once (values never sent "
                         "before)")
    ap.add_argument("--no-freeze", action="store_true",
                    help="leave the garbage collector as Python sets it (remission web "
                         "freezes the set-up's objects: serve.freeze_heap)")
    ap.add_argument("--grade-all", action="store_true",
                    help="also time grade_all alone on the live grades' inputs")
    a = ap.parse_args(argv)
    if a.calls and a.profile:
        ap.error("--calls and --profile both use the profiler hook: give one")
    home = Path(tempfile.mkdtemp(prefix="remission-web-cpu-"))
    atexit.register(shutil.rmtree, home, True)  # the throw-away server home goes at exit
    os.environ.setdefault("REMISSION_WEB_INSECURE_COOKIES", "1")
    from remission.web.serve import _load_demo, _warm_up, freeze_heap, setup

    setup(home)
    _user, _pw, studies = _load_demo()
    _warm_up(studies)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from remission.web.models import Patient

    study = next(s for s in studies if s.code == "synthetic-cart-raw")
    ids = {p.patient_id: p.pk for p in Patient.objects.filter(study=study)}
    pids = sorted(ids)
    oracle = bw.batch_oracle(pids)
    client = Client()
    client.force_login(get_user_model().objects.get(username="demo"))
    sid = study.pk
    rnd = random.Random(a.seed)
    # --distinct: the (patient, day) pairs of the live grades, each once, in random order
    unsent = [(pid, day) for pid in pids for day in bw.GRADE_DAYS]
    random.Random(a.seed + 2).shuffle(unsent)
    which = random.Random(a.seed + 1)  # the process of each request (same mix for any N)
    kinds, weights = list(bw.MIX), list(bw.MIX.values())
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    queries: dict[str, list[int]] = {k: [] for k in kinds}
    calls: dict[str, list[int]] = {k: [] for k in kinds}
    n_calls = [0]

    def count(frame, event, arg) -> None:
        if event == "call" or event == "c_call":
            n_calls[0] += 1
    errors: list[str] = []
    captured: list = []
    if a.grade_all:
        import remission.derive.criteria as crit

        real_grade_all = crit.grade_all

        def capture(*args, **kw):
            captured.append((args, kw))
            return real_grade_all(*args, **kw)

        crit.grade_all = capture
    import copy

    import remission.web.fragments as fragments
    import remission.web.grading as grading

    procs = [(copy.deepcopy(grading._CACHE), copy.deepcopy(grading._LOCAL),
              copy.copy(fragments._KEPT)) for _ in range(max(1, a.processes))]
    if not a.no_freeze:  # as remission web does before it forks its workers
        freeze_heap()
    collections: dict[int, list[float]] = {0: [], 1: [], 2: []}  # generation -> CPU s
    started = [0.0, True]

    def collected(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.process_time()
        elif started[1]:
            collections[info["generation"]].append(time.process_time() - started[0])
    gc.callbacks.append(collected)
    prof = None
    if a.profile:
        import cProfile

        prof = cProfile.Profile()
    for i in range(a.warm + a.requests):
        counted = i >= a.warm  # the --warm requests come first, not counted
        started[1] = counted
        kind = (a.kind if counted else None) or rnd.choices(kinds, weights)[0]
        pid = rnd.choice(pids)
        pat = f"/study/{sid}/patient/{ids[pid]}/"
        grading._CACHE, grading._LOCAL, fragments._KEPT = procs[which.randrange(len(procs))]
        with CaptureQueriesContext(connection) as q:
            c0 = time.process_time()
            n_calls[0] = 0
            if a.calls and counted:
                sys.setprofile(count)
            if prof and counted:
                prof.enable()
            if kind == "grade":
                day = rnd.choice(bw.GRADE_DAYS)
                if a.distinct:
                    if not unsent:
                        ap.error(f"--distinct: at most {len(pids) * len(bw.GRADE_DAYS)} "
                                 "live grades")
                    pid, day = unsent.pop()
                    pat = f"/study/{sid}/patient/{ids[pid]}/"
                r = client.post(f"{pat}day/{day}/grade/",
                                bw.SCENARIOS[bw.scenario_of(pid, day)])
                got = bw.shown_grades(r.content.decode())
                ok = r.status_code == 200 and got == oracle[(pid, day)]
                why = f"{pid} day {day}: page {got}, batch {oracle[(pid, day)]}"
            elif kind == "save":
                day = rnd.choice(bw.SAVE_DAYS)
                tm = f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}"
                r = client.post(f"{pat}day/{day}/", {
                    "time": tm, "temperature": f"{36 + rnd.random() * 3:.1f}",
                    "sbp": str(90 + rnd.randrange(40))})
                ok = r.status_code == 302 or (r.status_code == 200
                                              and b"duplicated observation" in r.content)
                why = f"save status {r.status_code}"
            else:
                path = {"bedside": f"{pat}day/{rnd.randrange(0, 15)}/",
                        "patient": pat, "timeline": f"{pat}timeline/",
                        "study": f"/study/{sid}/", "dashboard": f"/study/{sid}/dashboard/"}[kind]
                r = client.get(path)
                ok, why = r.status_code == 200, f"status {r.status_code} {path}"
            if prof:
                prof.disable()
            if a.calls:
                sys.setprofile(None)
            if counted:
                cpu[kind].append(time.process_time() - c0)
                calls[kind].append(n_calls[0])
        if counted:
            queries[kind].append(len(q.captured_queries))
        if not ok:
            errors.append(f"{kind}: {why}")
    total = [x for v in cpu.values() for x in v]
    print(f"{len(total)} requests (after {a.warm} not counted), {len(errors)} errors; "
          f"database {connection.vendor}; {len(procs)} simulated process(es); load average "
          f"{os.getloadavg()[0]:.1f}")
    for k in kinds:
        if cpu[k]:
            v = np.array(cpu[k]) * 1000
            print(f"  {k:<9} n={len(v):>4}  CPU median {np.median(v):6.1f} ms  mean "
                  f"{v.mean():6.1f} ms  max {v.max():7.1f} ms  queries mean "
                  f"{np.mean(queries[k]):5.1f}"
                  + (f"  calls mean {np.mean(calls[k]):9.0f}" if a.calls else ""))
    print(f"  mix: mean CPU {np.mean(total) * 1000:.1f} ms per request"
          + (f"; mean {np.mean([x for v in calls.values() for x in v]):.0f} function calls"
             if a.calls else ""))
    gc.callbacks.remove(collected)
    print("  garbage collections (CPU, in the counted requests): " + "; ".join(
        f"generation {g} {len(v)} x, {sum(v) * 1000:.0f} ms"
        + (f" (max {max(v) * 1000:.0f} ms)" if v else "") for g, v in collections.items())
        + f"; heap {len(gc.get_objects())} containers, {gc.get_freeze_count()} frozen")
    if captured:
        crit.grade_all = real_grade_all
        per = []
        for args, kw in captured:
            for _ in range(5):
                c0 = time.process_time()
                real_grade_all(*args, **kw)
                per.append(time.process_time() - c0)
        print(f"  grade_all alone on {len(captured)} live-grade inputs x 5: CPU median "
              f"{np.median(per) * 1000:.1f} ms, mean {np.mean(per) * 1000:.1f} ms")
    for e in errors[:10]:
        print("   error:", e)
    if prof:
        import pstats

        pstats.Stats(prof).sort_stats("cumulative").print_stats(a.profile)
    return 1 if errors or not total else 0


if __name__ == "__main__":
    sys.exit(main())
