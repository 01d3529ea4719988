"""pytest configuration shared by the tests and the doctests of src/remission.

Doctests of ``remission.web`` whose Examples say they run in "a rolled-back transaction of
the test database" get one: they are marked ``django_db`` for pytest-django, as a test is.
Every other doctest runs without a database (pytest-django refuses access).
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
