"""Per-request CPU and wait accounting for load benchmarks (off unless asked for).

When the environment variable ``REMISSION_WEB_TIMING`` names a file prefix, the
settings add :class:`RequestTimingMiddleware` first in the chain, and every server
process appends one JSON line per request to ``<prefix>.<pid>``: the view, the status,
wall time, the CPU time of the thread that served it (``time.thread_time``), the time
and number of its database queries, and the time it slept waiting for another process's
shared value (:func:`remission.web.grading.per_revision`). The wall time minus CPU,
database and wait time is what the thread spent runnable but not running (the other
threads and processes held the cores or the interpreter lock) plus I/O outside the
database. ``benchmarks/bench_web.py --timing`` reads the files and prints the sums per
request kind.
"""

from __future__ import annotations

import json
import os
import threading
import time

ENV = "REMISSION_WEB_TIMING"
_state = threading.local()
_files: dict[int, object] = {}
_files_lock = threading.Lock()


def add_wait(seconds: float) -> None:
    """Count ``seconds`` spent sleeping for a value another process computes.

    Parameters
    ----------
    seconds : float
        Wall time slept (s); ignored outside a timed request.

    Returns
    -------
    None

    Examples
    --------
    >>> add_wait(0.05)  # outside a timed request: nothing happens
    """
    acc = getattr(_state, "acc", None)
    if acc is not None:
        acc["wait_s"] += seconds


def _out():
    pid = os.getpid()
    with _files_lock:
        f = _files.get(pid)
        if f is None:  # one file per process (gunicorn forks after the settings load)
            f = _files[pid] = open(f"{os.environ[ENV]}.{pid}", "a",  # noqa: SIM115
                                   encoding="utf-8", buffering=1)
        return f


class RequestTimingMiddleware:
    """Writes one JSON line per request (see the module docstring).

    Parameters
    ----------
    get_response : callable
        The rest of Django's middleware chain.

    Examples
    --------
    >>> import tempfile
    >>> from django.http import HttpResponse
    >>> from django.test import RequestFactory
    >>> tmp = tempfile.TemporaryDirectory()
    >>> os.environ[ENV] = os.path.join(tmp.name, "t")
    >>> mw = RequestTimingMiddleware(lambda request: HttpResponse("ok"))
    >>> mw(RequestFactory().get("/")).status_code
    200
    >>> _out().close(); _files.clear(); del os.environ[ENV]
    >>> rec = json.loads(open(os.path.join(tmp.name, f"t.{os.getpid()}")).read())
    >>> sorted(rec)
    ['cpu_s', 'db_n', 'db_s', 'method', 'status', 'view', 'wait_s', 'wall_s']
    >>> tmp.cleanup()
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import connection

        acc = {"db_s": 0.0, "db_n": 0, "wait_s": 0.0}

        def timed_query(execute, sql, params, many, context):
            t = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                acc["db_s"] += time.perf_counter() - t
                acc["db_n"] += 1

        _state.acc = acc
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            with connection.execute_wrapper(timed_query):
                response = self.get_response(request)
        finally:
            _state.acc = None
        wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
        match = getattr(request, "resolver_match", None)
        rec = {"view": match.url_name if match else None, "method": request.method,
               "status": response.status_code, "wall_s": wall, "cpu_s": cpu, **acc}
        _out().write(json.dumps(rec) + "\n")
        return response
