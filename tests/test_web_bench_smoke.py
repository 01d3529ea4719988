"""benchmarks/bench_web.py on the common harness: at its tiny size the live-grading
workload (remission's grade_day against the batch pipeline in another process) exits 0
with every patient-day's grade equal on both sides, both sides timed; and the two
comparisons fail on a wrong grade or a failed request (checked in-process on the
recorded shape of the sides' outputs, so the default suite does not start a web server).
``python benchmarks/bench_web.py --quick --perturb grades`` (or ``errors``) exits 1."""

from __future__ import annotations

import importlib.util

import pytest

from tests.benchsmoke import ROOT, run_bench

pytest.importorskip("django")
_spec = importlib.util.spec_from_file_location("bench_web", ROOT / "benchmarks" / "bench_web.py")
bench_web = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_web)


def test_bench_web_grading_quick_agrees() -> None:
    proc, rec = run_bench("bench_web.py", "--only", "live grading")  # one repetition
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert rec["status"] == 0 and not rec["errors"]
    [row] = [r for r in rec["rows"] if "baseline" in r]
    assert row["agree"] and row["subject_s"] > 0 and row["baseline_s"] > 0
    assert len(row["subject_runs"]) == len(row["baseline_runs"]) == 1
    [check] = rec["checks"]
    assert check["key"] == "live grade = batch grade, every patient-day"
    assert " 0 disagreeing" in check["detail"]
    # the 50 ms goal is judged on the CPU time of the gradings, the wall time beside it
    [limit] = [r for r in rec["rows"] if "limit_cpu_s" in r]
    assert not [r for r in rec["rows"] if "limit_s" in r]
    assert limit["limit_cpu_s"] == 0.05 and limit["median_s"] > 0 and limit["median_cpu_s"] > 0
    assert limit["target_met"] == (limit["median_cpu_s"] <= 0.05)
    assert f"{limit['median_cpu_s']:.3f} s CPU of the timed work" in proc.stdout


def _grading(live: dict[str, str]) -> dict:
    batch = {"stored P001 day 4": "grade 2 fever+hypoxia | not assessed",
             "typed P002 day 200": "grade 0 | grade 1 ice"}
    return {bench_web.LIVE: {"grades": live, "modes": {}},
            bench_web.BATCH: {"grades": batch}}


def test_grading_comparison_fails_on_any_difference() -> None:
    same = {"stored P001 day 4": "grade 2 fever+hypoxia | not assessed",
            "typed P002 day 200": "grade 0 | grade 1 ice"}
    [ok] = bench_web.compare_grading(_grading(same))
    assert ok.ok and ok.diff == 0
    for live in ({**same, "typed P002 day 200": "grade 0 | grade 2 ice"},  # other grade
                 {"stored P001 day 4": same["stored P001 day 4"]},       # day missing
                 {**same, "cold P001 day 4": "grade 2"}):                 # extra day
        [bad] = bench_web.compare_grading(_grading(live))
        assert not bad.ok and bad.diff == 1


def test_laboratory_and_febrile_neutropenia_grades_are_compared() -> None:
    # the day's CTCAE v5.0 laboratory rows (a missing grade stays None, not 0) and its
    # febrile-neutropenia grade, as grade_all writes them, are part of what both sides
    # report: a live page that showed "febrile neutropenia 2" where the batch pipeline
    # derives 3 must be a disagreement
    import numpy as np
    import pandas as pd

    out = {"labs": pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2"], "day": [3, 3, 4, 3],
                                 "term": ["Platelet count decreased", "Anemia",
                                          "Anemia", "Anemia"],
                                 "grade": [4, np.nan, 1, 2]}),
           "febrile_neutropenia": pd.DataFrame({"patient_id": ["P1"], "day": [3],
                                                "grade": [3]})}
    assert bench_web.lab_grades(out, "P1", 3) == (
        (("Anemia", None), ("Platelet count decreased", 4)), 3)
    assert bench_web.lab_grades(out, "P1", 5) == ((), None)
    crs = ((2, "hypotension"), None)
    batch = bench_web._code((*crs, *bench_web.lab_grades(out, "P1", 3)))
    assert batch.endswith("| labs Anemia None, Platelet count decreased 4 | "
                          "febrile neutropenia 3")
    live = bench_web._code((*crs, (("Anemia", None), ("Platelet count decreased", 4)), 2))
    [bad] = bench_web.compare_grading({bench_web.LIVE: {"grades": {"typed P1 day 3": live},
                                                        "modes": {}},
                                       bench_web.BATCH: {"grades": {"typed P1 day 3": batch}}})
    assert not bad.ok and bad.diff == 1
    assert bench_web._code(crs) == "grade 2 hypotension | not assessed"  # whole requests


def _load(errors: int, wrong: int, requests: int) -> dict:
    lat = {"grade": {"n": 3, "p50_ms": 40.0, "p95_ms": 90.0, "p99_ms": 95.0},
           "save": {"n": 0}}
    return {bench_web.WEB: {"errors": errors, "wrong_grades": wrong, "requests": requests,
                            "throughput_per_s": 1.0, "latency": lat,
                            "first_errors": ["grade: P001 day 200"] * wrong,
                            "load": {"before": 1.0, "during": [1.0], "after": 1.0},
                            "server_start_s": 1.0}}


def test_load_comparison_fails_on_errors_or_no_requests() -> None:
    assert bench_web.compare_load(_load(0, 0, 12))[0].ok
    assert not bench_web.compare_load(_load(1, 1, 12))[0].ok   # a wrong grade
    assert not bench_web.compare_load(_load(2, 0, 12))[0].ok   # HTTP errors
    assert not bench_web.compare_load(_load(0, 0, 0))[0].ok    # nothing measured


def test_load_client_keeps_its_connection_and_cookies_and_resends_once() -> None:
    """The load client (bench_web.User) logs in and sends its cookies back over one
    kept-alive connection; when the server has closed that connection while the user was
    idle (as gunicorn does after its keep-alive time), the request is sent again on a new
    one and counted; a connection that fails on its first request is an error. A local
    stdlib server, no Django."""
    import http.server
    import itertools
    import socket
    import threading

    seen: list[tuple[str, str, str, int]] = []  # method, path, Cookie header, connection
    numbers = itertools.count()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def setup(self) -> None:  # one handler per connection: number it (an object's
            super().setup()       # id can be reused once a closed connection is freed)
            self.number = next(numbers)

        def _answer(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode()
            seen.append((self.command, self.path, self.headers.get("Cookie", ""),
                         self.number))
            self.send_response(302 if self.command == "POST" else 200)
            if self.path == "/login/" and self.command == "GET":
                self.send_header("Set-Cookie", "csrftoken=tok1; Path=/; SameSite=Lax")
            if self.path == "/login/" and self.command == "POST":
                assert "csrfmiddlewaretoken=tok1" in body and "password=pw" in body
                self.send_header("Set-Cookie", "sessionid=s1; HttpOnly; Path=/")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            if self.path == "/idle-close/":  # answered, then closed as after keep-alive
                self.close_connection = True

        do_GET = do_POST = _answer

        def log_message(self, *a) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        u = bench_web.User(base, "pw")
        assert u.cookies == {"csrftoken": "tok1", "sessionid": "s1"}
        assert u.get("/a/") == (200, b"ok")
        assert u.get("/idle-close/") == (200, b"ok")
        assert u.reconnects == 0
        # the server closed the connection after that answer without saying so: the
        # next request fails on it and is sent once more on a new connection
        assert u.post("/b/", {"x": "1"}) == (302, b"ok") and u.reconnects == 1
        conns = [c for *_, c in seen]
        assert len(seen) == 5 and len(set(conns[:4])) == 1 and conns[4] != conns[3]
        assert seen[2][2] == "csrftoken=tok1; sessionid=s1"  # cookies sent back
        assert seen[4][:2] == ("POST", "/b/")  # sent once to the application
        u.conn.sock.shutdown(socket.SHUT_RDWR)  # closed under the client while idle
        assert u.get("/c/") == (200, b"ok") and u.reconnects == 2
    finally:
        srv.shutdown()
        srv.server_close()
    u2 = bench_web.User.__new__(bench_web.User)  # a fresh connection that fails: raised
    u2.base, u2.host, u2.port, u2.conn, u2.cookies, u2.reconnects = (
        base, "127.0.0.1", srv.server_address[1], None, {}, 0)
    with pytest.raises(OSError):
        u2.get("/")


def test_request_timing_sums_every_process_file(tmp_path) -> None:
    """--timing's table: the per-request lines of every server process summed per kind."""
    import json

    rows = [{"view": "bedside_grade", "method": "POST", "status": 200, "wall_s": 0.1,
             "cpu_s": 0.04, "db_s": 0.01, "db_n": 6, "wait_s": 0.0},
            {"view": "dashboard", "method": "GET", "status": 200, "wall_s": 0.5,
             "cpu_s": 0.2, "db_s": 0.05, "db_n": 50, "wait_s": 0.05}]
    (tmp_path / "req.1").write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1]) + "\n")
    (tmp_path / "req.2").write_text(json.dumps(rows[0]) + "\n")
    (tmp_path / "other.3").write_text("not read\n")
    t = bench_web.request_timing(tmp_path)
    assert t["POST bedside_grade"]["n"] == 2 and t["GET dashboard"]["n"] == 1
    assert t["POST bedside_grade"]["cpu_s"] == pytest.approx(0.08)
    assert t["POST bedside_grade"]["db_n"] == 12 and t["GET dashboard"]["wait_s"] == 0.05
    lines = bench_web.timing_lines(t)
    assert "all but logins" in lines[-1] and "n=     3" in lines[-1]
    assert bench_web.timing_lines(None) == []
    # each process's requests and CPU (hand sums: req.1 has 2 requests, 0.24 s; req.2 1, 0.04 s)
    shares = bench_web.process_shares(tmp_path)
    assert shares == [(2, pytest.approx(0.24)), (1, pytest.approx(0.04))]
    assert bench_web.share_line(shares).endswith("2 (67%), 0.2 s; 1 (33%), 0.0 s")
