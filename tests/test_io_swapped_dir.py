"""``remission.io.atomic.swapped_dir``: a folder is replaced as a whole or not at all.

The oracle is the file system itself: the names and bytes under ``final`` and the
entries of its parent before and after, with a failure injected in the block and in the
final rename (after the old folder was renamed aside, the one moment it is missing).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from remission.io import atomic
from remission.io.atomic import swapped_dir


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _old_folder(tmp_path: Path) -> Path:
    final = tmp_path / "sim"
    (final / "sub").mkdir(parents=True)
    (final / "mine.csv").write_bytes(b"real data\n")
    (final / "sub" / "a.txt").write_bytes(b"a")
    return final


def test_success_replaces_the_whole_folder_and_leaves_no_sibling(tmp_path: Path) -> None:
    final = _old_folder(tmp_path)
    with swapped_dir(final) as tmp:
        assert tmp.parent == tmp_path and tmp != final and not any(tmp.iterdir())
        (tmp / "patients.csv").write_bytes(b"p\n")
    assert _tree(final) == {"patients.csv": b"p\n"}  # no file of the old folder is kept
    assert [p.name for p in tmp_path.iterdir()] == ["sim"]


def test_new_folder_and_parents_are_created(tmp_path: Path) -> None:
    final = tmp_path / "a" / "b" / "sim"
    with swapped_dir(final) as tmp:
        (tmp / "x").write_bytes(b"1")
    assert _tree(final) == {"x": b"1"}
    assert [p.name for p in final.parent.iterdir()] == ["sim"]


def test_failure_in_the_block_leaves_the_old_folder(tmp_path: Path) -> None:
    final = _old_folder(tmp_path)
    before = _tree(final)
    with pytest.raises(KeyboardInterrupt), swapped_dir(final) as tmp:
        (tmp / "patients.csv").write_bytes(b"p\n")
        raise KeyboardInterrupt  # an interruption, not only an Exception
    assert _tree(final) == before
    assert [p.name for p in tmp_path.iterdir()] == ["sim"]


def test_failed_swap_puts_the_old_folder_back(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    final = _old_folder(tmp_path)
    before = _tree(final)
    calls: list[tuple[str, str]] = []
    real_rename = os.rename

    def rename(src: str | Path, dst: str | Path) -> None:
        calls.append((Path(src).name, Path(dst).name))
        if Path(dst) == final and Path(src).suffix == ".tmp":
            raise OSError("disk full")  # the new folder cannot be moved in
        real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", rename)
    with pytest.raises(OSError, match="disk full"), swapped_dir(final) as tmp:
        (tmp / "patients.csv").write_bytes(b"p\n")
    assert calls[0] == ("sim", "d")  # the old folder was renamed aside first ...
    assert _tree(final) == before  # ... and is back, whole
    assert [p.name for p in tmp_path.iterdir()] == ["sim"]
