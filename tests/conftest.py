"""Shared fixtures: a fresh copy of the bundled example study for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cll1-post-hsct"


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    """A writable copy of examples/cll1-post-hsct."""
    dst = tmp_path / "study"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("report"))
    return dst
