"""A throw-away PostgreSQL cluster on 127.0.0.1 (initdb + pg_ctl in a temporary folder),
for the PostgreSQL run of the web tests and the load benchmark."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def server_bin() -> Path | None:
    """Folder of Debian's PostgreSQL server binaries (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def pg_cluster() -> Iterator[str | None]:
    """Yield a ``DATABASE_URL`` of a fresh cluster (superuser ``postgres``, trust on
    127.0.0.1 only, fsync off), or None when PostgreSQL is not installed; removed after."""
    bindir = server_bin()
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="remission-pg-"))
    data = tmp / "data"
    try:
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres", "postgres")
        subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--no-locale", "-N"]),
                       check=True, capture_output=True, timeout=120)
        port = _free_port()
        opts = (f"-h 127.0.0.1 -p {port} -k {tmp} -F -c fsync=off -c full_page_writes=off "
                "-c max_connections=200")
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts,
                                     "-l", str(tmp / "log"), "-w", "start"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p",
                                     str(port), "-U", "postgres", "remission"]),
                       check=True, capture_output=True, timeout=60)
        yield f"postgresql://postgres@127.0.0.1:{port}/remission"
    finally:
        if data.exists():
            subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                         "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
