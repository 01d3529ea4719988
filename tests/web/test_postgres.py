"""The database tests again on PostgreSQL: a throw-away cluster (initdb + pg_ctl in a
temporary directory, listening on 127.0.0.1 only; :mod:`pgcluster`) and the web test
modules run against it through DATABASE_URL, in a child pytest. The browser tests and the
engine-only grading comparison are left to the SQLite run (they do not depend on the
database backend)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT
from .pgcluster import pg_cluster

INNER = "REMISSION_WEB_PG_INNER"
MODULES = ["test_access.py", "test_after_write.py", "test_audit.py", "test_code_tag.py",
           "test_derived_cache.py", "test_folder.py", "test_forms.py", "test_live_grade_cache.py",
           "test_request_path.py", "test_response_reuse.py", "test_save_path.py",
           "test_save_inputs.py",
           "test_security.py", "test_fragments.py", "test_page_statements.py"]


@pytest.mark.heavy  # minutes: sent first to a pytest-xdist worker (conftest.py)
@pytest.mark.skipif(bool(os.environ.get(INNER)) or bool(os.environ.get("DATABASE_URL")),
                    reason="already running on PostgreSQL")
def test_web_database_tests_pass_on_postgresql():
    with pg_cluster() as url:
        if url is None:
            pytest.skip("PostgreSQL server binaries not installed (make web-deps installs "
                        "Debian's postgresql)")
        env = {**os.environ, INNER: "1", "DATABASE_URL": url, "MPLBACKEND": "Agg"}
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
