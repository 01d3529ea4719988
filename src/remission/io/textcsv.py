"""Reading a user's CSV table as text cells, with every reading problem recorded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from remission.errors import Problem

__all__ = ["read_text_csv"]


def read_text_csv(path: Path, probs: list[Problem]) -> pd.DataFrame | None:
    """Read ``path`` as a table of stripped text cells (nothing converted, nothing NA).

    Header names and cells are stripped of surrounding blanks; a UTF-8 byte-order mark is
    accepted. A missing file or one that is not CSV appends a :class:`Problem` and returns
    None; a file with a header but no rows appends "no data rows" and returns the empty
    table, so the caller can still check its columns.

    Parameters
    ----------
    path : Path
        The CSV file.
    probs : list of Problem
        Where problems are appended.

    Returns
    -------
    pandas.DataFrame or None
        All columns of dtype object (str).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("\\ufeffa , b\\n 1, x \\n")
    >>> probs = []
    >>> read_text_csv(p, probs).to_dict("records"), probs
    ([{'a': '1', 'b': 'x'}], [])
    """
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                         encoding="utf-8-sig")
    except FileNotFoundError:
        probs.append(Problem(str(path), "file not found"))
        return None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        probs.append(Problem(str(path), f"not a readable CSV: {exc}",
                             expected="UTF-8 comma-separated values with a header row"))
        return None
    df.columns = [str(c).strip() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip()
    if df.empty:
        probs.append(Problem(str(path), "no data rows"))
    return df
