"""pytest configuration shared by the tests and the doctests of src/remission.

Doctests of ``remission.web`` whose Examples say they run in "a rolled-back transaction of
the test database" get one: they are marked ``django_db`` for pytest-django, as a test is.
Every other doctest runs without a database (pytest-django refuses access).

Under pytest-xdist (``make test`` runs ``pytest -n 2 --dist loadfile
--no-loadscope-reorder``, docs/performance.md, session 15) the tests marked ``heavy``
(minutes each, no database: the PostgreSQL run of the web tests in a child pytest) are
sent to the workers first, so that no worker is left with one of them at the end while
the other has nothing to do. A serial run keeps pytest-django's order unchanged.
"""

from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the web doctests that state they use the test database ``django_db``."""
    for item in items:
        if not isinstance(item, DoctestItem) or not item.name.startswith("remission.web."):
            continue
        doc = " ".join((item.dtest.docstring or "").split())
        if "transaction of the test database" in doc:
            item.add_marker(pytest.mark.django_db)


class HeavyFirst:
    """Under pytest-xdist, the ``heavy`` tests first (in their collected order), then the
    others in the order pytest-django left them: its database tests before its
    transactional ones. A worker takes its files in this order, so a transactional test,
    which empties the database, never runs before a test that reads the session's data
    (no test file mixes the two). Only tests without the database are marked ``heavy``."""

    @pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


def pytest_configure(config: pytest.Config) -> None:
    """Register :class:`HeavyFirst` in the workers of pytest-xdist (never in a serial run)."""
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(HeavyFirst(), "remission-heavy-first")
