"""The database tests again on PostgreSQL: a throw-away cluster (initdb + pg_ctl in a
temporary directory, listening on 127.0.0.1 only) and the web test modules run against it
through DATABASE_URL, in a child pytest. The browser tests and the engine-only grading
comparison are left to the SQLite run (they do not depend on the database backend)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import ROOT

INNER = "REMISSION_WEB_PG_INNER"
MODULES = ["test_access.py", "test_audit.py", "test_folder.py", "test_forms.py",
           "test_security.py"]


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.mark.skipif(bool(os.environ.get(INNER)) or bool(os.environ.get("DATABASE_URL")),
                    reason="already running on PostgreSQL")
def test_web_database_tests_pass_on_postgresql():
    bindir = _bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (make web-deps installs "
                    "Debian's postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    tmp = Path(tempfile.mkdtemp(prefix="remission-pg-"))
    data = tmp / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres", "postgres")
        subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--no-locale", "-N"]),
                       check=True, capture_output=True, timeout=120)
        port = _free_port()
        opts = f"-h 127.0.0.1 -p {port} -k {tmp} -F -c fsync=off -c full_page_writes=off"
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts,
                                     "-l", str(tmp / "log"), "-w", "start"]),
                       check=True, capture_output=True, timeout=120)
        env = {**os.environ, INNER: "1",
               "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/remission",
               "MPLBACKEND": "Agg"}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             *[str(ROOT / "tests" / "web" / m) for m in MODULES]],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        assert proc.returncode == 0, tail + proc.stderr[-2000:]
        assert " passed" in tail and " failed" not in tail and "error" not in tail, tail
        assert "web tests database: django.db.backends.postgresql" in proc.stdout, tail
        n = int(tail.split(" passed")[0].split()[-1])
        assert n >= 25, tail
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                     "immediate", "-w", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
