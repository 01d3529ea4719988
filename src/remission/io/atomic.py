"""Atomic writes: outputs appear whole or not at all.

Files are written to a temporary sibling and moved into place with ``os.replace``,
which is atomic on POSIX; a directory of outputs is built in a temporary sibling
directory and swapped in at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: the file appears whole or not at all.

    The bytes go to a temporary sibling (``.{name}.*.tmp``), which is given the usual file
    mode (0666 minus the umask) and moved into place with ``os.replace``; on any error the
    temporary file is removed and an existing ``path`` is left as it was. Parent folders
    are created.

    Parameters
    ----------
    path : str or Path
        The destination file.
    data : bytes
        Its full contents.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> write_bytes(d / "out" / "a.bin", b"\\x00\\x01").read_bytes()
    b'\\x00\\x01'
    >>> sorted(p.name for p in (d / "out").iterdir())  # no temporary file left behind
    ['a.bin']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (see :func:`write_bytes`).

    Parameters
    ----------
    path : str or Path
        The destination file.
    text : str
        Its full contents (no newline translation).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> p = write_text(Path(tempfile.mkdtemp()) / "note.txt", "CRS grade ≥ 3\\n")
    >>> p.read_bytes()
    b'CRS grade \\xe2\\x89\\xa5 3\\n'
    """
    return write_bytes(path, text.encode("utf-8"))


@contextmanager
def staged_dir(final: str | Path) -> Iterator[Path]:
    """Build a folder of outputs in a temporary sibling and move its files into ``final``.

    Yield a temporary directory; when the block ends without error its entries replace
    those of the same name in ``final`` (created if needed; other files of ``final`` are
    kept). On any exception the temporary directory is removed and ``final`` is untouched.

    Parameters
    ----------
    final : str or Path
        The destination folder.

    Returns
    -------
    contextmanager of Path
        The temporary directory to write into.

    Examples
    --------
    >>> import tempfile
    >>> final = Path(tempfile.mkdtemp()) / "report"
    >>> try:
    ...     with staged_dir(final) as tmp:
    ...         _ = (tmp / "results.json").write_text("{}")
    ...         raise RuntimeError("analysis failed")
    ... except RuntimeError:
    ...     pass
    >>> final.exists()
    False
    >>> with staged_dir(final) as tmp:
    ...     _ = (tmp / "results.json").write_text("{}")
    >>> [p.name for p in final.iterdir()], len(list(final.parent.iterdir()))
    (['results.json'], 1)
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        yield tmp
        final.mkdir(parents=True, exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, final / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def swapped_dir(final: str | Path) -> Iterator[Path]:
    """Build a whole folder in a temporary sibling and swap it in for ``final``.

    Yield a temporary directory; when the block ends without error an existing ``final``
    is renamed aside (into ``.{name}.*.old``), the temporary directory is renamed to
    ``final`` and the old folder is removed, so old and new files are never mixed. On any
    exception (or interruption) the temporary directory is removed and a ``final`` that
    was renamed aside is put back: ``final`` is as it was. Unlike :func:`staged_dir`, no
    file of the old folder survives a successful swap.

    Parameters
    ----------
    final : str or Path
        The destination folder (replaced as a whole when it exists; parents created).

    Returns
    -------
    contextmanager of Path
        The temporary directory to write into.

    Examples
    --------
    >>> import tempfile
    >>> final = Path(tempfile.mkdtemp()) / "sim"
    >>> final.mkdir()
    >>> _ = (final / "old.csv").write_text("x")
    >>> try:
    ...     with swapped_dir(final) as tmp:
    ...         _ = (tmp / "patients.csv").write_text("y")
    ...         raise RuntimeError("simulation failed")
    ... except RuntimeError:
    ...     pass
    >>> [p.name for p in final.iterdir()]
    ['old.csv']
    >>> with swapped_dir(final) as tmp:
    ...     _ = (tmp / "patients.csv").write_text("y")
    >>> [p.name for p in final.iterdir()], [p.name for p in final.parent.iterdir()]
    (['patients.csv'], ['sim'])
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    old: Path | None = None
    try:
        yield tmp
        if final.exists():
            old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.",
                                        suffix=".old"))
            os.rename(final, old / "d")
        os.rename(tmp, final)
    except BaseException:
        if old is not None and (old / "d").exists() and not final.exists():
            os.rename(old / "d", final)  # put the previous folder back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
