"""Whether a study folder declares single-cell data (``[singlecell]`` in study.toml).

Kept apart from :mod:`remission.singlecell.io` so that asking the question costs a TOML
read, not the import of the single-cell stack (scipy.sparse, the analysis modules): a
report of a study without single-cell data never loads it (docs/performance.md).
"""

from __future__ import annotations

import tomllib
from pathlib import Path


def has_singlecell(folder: str | Path) -> bool:
    """True if ``study.toml`` has a ``[singlecell]`` table.

    Parameters
    ----------
    folder : str or Path
        Study folder.

    Returns
    -------
    bool
        Whether the folder declares single-cell data.

    Examples
    --------
    >>> has_singlecell("/nonexistent")
    False
    """
    p = Path(folder) / "study.toml"
    if not p.exists():
        return False
    try:
        return "singlecell" in tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
