"""Text cells that a spreadsheet may open: formula injection neutralised.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
taken by Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``,
``-2+3+cmd|' /C calc'!A0``). Following the OWASP guidance on CSV injection
(https://owasp.org/www-community/attacks/CSV_Injection), such a cell is written with a
leading single quote, which spreadsheets show as text and do not evaluate. A plain number
(``-1.5``, ``+3``, ``-2.1e-5``, ``-0.4 (-1.2, 0.3)``) is left as it is: it holds no letters,
quotes or the ``|``/``!`` of a DDE payload, so a spreadsheet can only read it as a number.

Every CSV remission writes goes through :func:`csv_bytes`; every docx table cell through
:func:`neutralise`. HTML output is escaped separately and unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_EXPONENT = re.compile(r"(?<=\d)[eE](?=[+-]?\d)")
_UNSAFE = re.compile(r"[^\W\d_]|[=@|!\"';\t\r\n]")  # a letter, or formula/DDE punctuation


def neutralise(text: Any) -> Any:
    """``text`` made safe to open in a spreadsheet (non-strings are returned unchanged).

    Parameters
    ----------
    text : Any
        A cell value.

    Returns
    -------
    Any
        The value, with a leading ``'`` when it is a string a spreadsheet would run as a
        formula.

    Examples
    --------
    >>> neutralise('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise("-1.5"), neutralise("@SUM(A1)"), neutralise("CR"), neutralise(3)
    ('-1.5', "'@SUM(A1)", 'CR', 3)
    """
    if not isinstance(text, str) or not text.startswith(TRIGGERS):
        return text
    if text[0] in "+-" and not _UNSAFE.search(_EXPONENT.sub("", text)):
        return text  # a number, or numbers with brackets: nothing a spreadsheet can run
    return "'" + text


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell, column name and index label neutralised.

    Parameters
    ----------
    df : DataFrame
        Any table.

    Returns
    -------
    DataFrame
        Numeric columns untouched; object/string columns passed through :func:`neutralise`.

    Examples
    --------
    >>> neutralise_frame(pd.DataFrame({"id": ["=1+1", "A"], "x": [-1.0, 2.0]}))["id"].tolist()
    ["'=1+1", 'A']
    """
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = out[c].map(neutralise)
    out.columns = [neutralise(c) for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(neutralise)
    return out


def csv_bytes(df: pd.DataFrame, **kw: Any) -> bytes:
    """UTF-8 CSV of ``df`` with formula-like text neutralised (``DataFrame.to_csv`` options).

    Parameters
    ----------
    df : DataFrame
        The table.
    **kw
        Passed to :meth:`pandas.DataFrame.to_csv` (default: no index, ``\\n`` line ends).

    Returns
    -------
    bytes
        The file's content.

    Examples
    --------
    >>> csv_bytes(pd.DataFrame({"term": ["+cmd|' /C calc'!A0"]}))
    b"term\\n'+cmd|' /C calc'!A0\\n"
    """
    kw.setdefault("index", False)
    kw.setdefault("lineterminator", "\n")
    return neutralise_frame(df).to_csv(**kw).encode("utf-8")
