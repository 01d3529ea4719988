"""`remission web` starts on 127.0.0.1 with migrations applied and the demo account owning
both bundled studies, and prints the URL and the credentials that work."""

from __future__ import annotations

import gc
import http.client
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from .conftest import ROOT


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_remission_web_starts_with_demo_account(tmp_path):
    port = _port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "REMISSION_WEB_INSECURE_COOKIES": "1"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "remission.cli", "web", "--home",
                             str(tmp_path), "--port", str(port), "--workers", "2",
                             "--switch-interval", "20"],
                            cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "stop with Ctrl-C" in line:
                break
        out = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in out
        assert "server: gunicorn, 2 processes" in out
        assert "; thread switch interval 20 ms" in out
        password = re.search(r"user 'demo', password '([^']+)'", out).group(1)
        for _ in range(300):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        jar = http.cookiejar.CookieJar()
        op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        op.open(base + "/login/").read()
        token = next(c.value for c in jar if c.name == "csrftoken")
        body = urllib.parse.urlencode({"username": "demo", "password": password,
                                       "csrfmiddlewaretoken": token}).encode()
        page = op.open(urllib.request.Request(base + "/login/", data=body, headers={
            "Referer": base + "/login/"})).read().decode()
        assert "SYNTHETIC two-arm CAR-T study" in page and "CLL-1" in page
        # every connection is closed after its response (serve.KEEPALIVE = 0), so the next
        # request is accepted by whichever process gets to it rather than staying with one
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/login/")
        r = c.getresponse()
        r.read()
        assert r.status == 200 and r.will_close and r.getheader("Connection") == "close"
        c.close()
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
        # gunicorn's master and two worker processes answer on the port
        kids = subprocess.run(["ps", "--ppid", str(proc.pid), "-o", "pid="],
                              capture_output=True, text=True).stdout.split()
        assert len(kids) == 2, kids
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode is not None


@pytest.fixture(autouse=True)
def _collector_restored():
    """``remission web`` in this process freezes its objects and sets the garbage
    collector's thresholds (serve.freeze_heap): undone after each test."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_setup_objects_are_frozen_before_the_workers_are_forked(tmp_path, monkeypatch):
    """What the set-up and the warm-up made is out of the garbage collector's walks when
    gunicorn forks its workers (a collection of the oldest generation stops every thread
    of a process for as long as it walks them), and the collector's thresholds are
    serve.GC_THRESHOLDS; the threaded server of one process too."""
    from remission import cli
    from remission.web import serve

    warmed = {}
    seen = []
    monkeypatch.setattr(serve, "setup", lambda home: tmp_path)
    monkeypatch.setattr(serve, "_warm_up", lambda studies: warmed.update(value=[{"x": 1}]))

    def served(*args) -> None:
        value = warmed["value"]
        seen.append((gc.is_tracked(value), any(o is value for o in gc.get_objects()),
                     gc.get_freeze_count() > 0, gc.get_threshold()))

    monkeypatch.setattr(serve, "_serve_gunicorn", served)
    monkeypatch.setattr(serve, "_serve_django", served)
    for workers in ("2", "1"):
        gc.unfreeze()
        assert cli.main(["web", "--no-demo", "--workers", workers]) == 0
    # tracked by the collector, yet in none of its generations: frozen
    assert seen == [(True, False, True, serve.GC_THRESHOLDS)] * 2


def test_default_server_is_one_process_per_core(monkeypatch):
    """One gunicorn worker per core (2 to 8): each process rebuilds every changed
    patient's inputs, so processes beyond the cores cost CPU (docs/performance.md,
    session 9)."""
    from remission.web import serve

    for cores, want in ((None, 2), (1, 2), (2, 2), (4, 4), (32, 8)):
        monkeypatch.setattr(serve.os, "cpu_count", lambda c=cores: c)
        assert serve._default_workers() == want, cores


def test_switch_interval_is_set_before_the_workers_are_forked(tmp_path, monkeypatch, capsys):
    """``remission web --switch-interval MS``: the server process's interval is set before
    gunicorn forks its workers (which inherit it); a bad value is refused before anything
    is set up; without the option Python's own interval is left."""
    from remission import cli
    from remission.web import serve

    seen = []
    monkeypatch.setattr(serve, "setup", lambda home: tmp_path)
    monkeypatch.setattr(serve, "_warm_up", lambda studies: None)

    def served(app, host, port, workers, threads, keepalive) -> None:
        seen.append((workers, threads, round(sys.getswitchinterval() * 1e6)))

    monkeypatch.setattr(serve, "_serve_gunicorn", served)
    before = sys.getswitchinterval()
    try:
        assert cli.main(["web", "--no-demo", "--workers", "3", "--threads", "2",
                         "--switch-interval", "12.5"]) == 0
        assert seen == [(3, 2, 12500)]  # microseconds
        assert "3 processes x 2 threads; thread switch interval 12.5 ms" in capsys.readouterr().out
        sys.setswitchinterval(before)
        assert cli.main(["web", "--no-demo", "--workers", "2"]) == 0
        assert seen[-1] == (2, 4, round(before * 1e6))
        for bad in ("0", "-3", "nan"):
            assert cli.main(["web", "--no-demo", "--switch-interval", bad]) == 2
            assert "positive number of milliseconds" in capsys.readouterr().err
        assert len(seen) == 2
    finally:
        sys.setswitchinterval(before)
