"""Read one study table from CSV, an Excel sheet or Parquet, as text, reporting
file-level problems.

Everything is read as strings first; typing happens in :mod:`remission.study.typing`
so that each bad cell can be reported with its line and column. A Parquet table (one
``name.parquet`` file, or a ``name/`` folder of part files as large simulated trials
write them) is turned into the text a CSV of it would hold, so it is typed and checked
by exactly the same rules. Its rows are numbered as the lines of that CSV would be
(header = line 1, the first row of the first part = line 2, counting on across the parts
in name order), so a problem reads the same in either format but for the file name.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from remission.errors import ProblemLog

# Line number in the file of the first data row (header is line 1). Tables read here
# carry each row's line number in the file as their index (named LINE), so every later
# check can report where a bad value sits.
FIRST_DATA_LINE = 2
LINE = "line"


def parquet_parts(path: Path) -> list[Path]:
    """The Parquet files of a table: ``path`` itself (a ``.parquet`` file), or the
    ``*.parquet`` files of the folder ``path`` in name order (``part-00000.parquet`` ...).

    Parameters
    ----------
    path : Path
        A ``.parquet`` file or a folder.

    Returns
    -------
    list of Path
        Empty when ``path`` is neither.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for k in (1, 0):
    ...         _ = (Path(d) / f"part-{k:05d}.parquet").write_bytes(b"")
    ...     [q.name for q in parquet_parts(Path(d))]
    ['part-00000.parquet', 'part-00001.parquet']
    """
    if path.is_file() and path.suffix.lower() == ".parquet":
        return [path]
    if path.is_dir():
        return sorted(q for q in path.glob("*.parquet") if q.is_file())
    return []


def find_table(folder: Path, name: str) -> tuple[Path | None, str | None]:
    """Where table ``name`` of a study folder is: ``name.csv``, else a sheet of
    ``study.xlsx`` (or ``name.xlsx``), else ``name.parquet`` or a folder ``name/`` of
    Parquet part files.

    Parameters
    ----------
    folder : Path
        The study folder.
    name : str
        The table, e.g. ``"patients"`` or ``"events"``.

    Returns
    -------
    tuple
        ``(path, sheet)``: ``(csv path, None)``, ``(workbook, sheet name)``,
        ``(Parquet file or folder, None)``, or ``(None, None)`` when the folder has no
        such table.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "patients.csv").write_text("patient_id\\n1\\n")
    ...     find_table(Path(d), "patients")[0].name, find_table(Path(d), "events")
    ('patients.csv', (None, None))
    """
    csv_path = folder / f"{name}.csv"
    if csv_path.exists():
        return csv_path, None
    for xlsx in (folder / "study.xlsx", folder / f"{name}.xlsx"):
        if xlsx.exists():
            try:
                sheets = pd.ExcelFile(xlsx, engine="openpyxl").sheet_names
            except Exception:  # unreadable workbook: reported by read_table
                return xlsx, name
            if name in sheets or xlsx.stem == name:
                return xlsx, (name if name in sheets else sheets[0])
    for pq in (folder / f"{name}.parquet", folder / name):
        if parquet_parts(pq):
            return pq, None
    return None, None


def table_label(path: Path, sheet: str | None) -> str:
    """How problems name a table's source.

    Parameters
    ----------
    path : Path
        The table's file, or a folder of Parquet part files.
    sheet : str or None
        The sheet name when the table is a sheet of a workbook.

    Returns
    -------
    str
        ``patients.csv``, ``study.xlsx[patients]``, ``patients.parquet`` or
        ``patients/*.parquet`` (a folder of parts).

    Examples
    --------
    >>> table_label(Path("s/events.csv"), None), table_label(Path("s/study.xlsx"), "events")
    ('events.csv', 'study.xlsx[events]')
    """
    if sheet is not None:
        return f"{path.name}[{sheet}]"
    if path.is_dir() and parquet_parts(path):
        return f"{path.name}/*.parquet"
    return path.name


def read_table(path: Path, sheet: str | None, log: ProblemLog) -> pd.DataFrame | None:
    """Read a table as text, every cell a string, indexed by its line in the file.

    CSV must be UTF-8 (a byte-order mark is accepted) and comma-separated; Excel's
    ``sep=,`` first line is skipped, Windows and old-Mac line endings are read, a stray
    quote is reported at its line. Excel sheets are read with openpyxl.

    Parameters
    ----------
    path : Path
        The CSV file or workbook.
    sheet : str or None
        The sheet of a workbook; None for a CSV file.
    log : ProblemLog
        Collects the problems (file, line, what was expected).

    Returns
    -------
    pandas.DataFrame or None
        Strings (blank cells ``""``), index ``line`` = the line in the file (header = 1);
        None when the table cannot be read (the problems are in ``log``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "patients.csv"
    ...     _ = p.write_text("patient_id;age\\n1;34\\n")
    ...     log = ProblemLog()
    ...     read_table(p, None, log) is None, log.problems[0].message
    (True, 'columns are separated by semicolons, not commas')
    """
    label = table_label(path, sheet)
    if sheet is None and parquet_parts(path):
        return _read_parquet(path, label, log)
    if sheet is not None or path.suffix.lower() == ".xlsx":
        try:
            df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
        except Exception as exc:
            log.add(label, f"cannot read Excel workbook: {exc}", expected="a valid .xlsx file")
            return None
        df = df.fillna("")
        df.columns = [str(c).strip() for c in df.columns]
        df.index = pd.Index(range(FIRST_DATA_LINE, FIRST_DATA_LINE + len(df)), name=LINE)
        return _non_empty(df, label, log)

    if path.is_dir():
        log.add(label, "is a folder, not a file", expected=f"a CSV file named {path.name}")
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        log.add(label, f"cannot be read: {exc.strerror or exc}", expected="a readable CSV file")
        return None
    if not raw.strip():
        log.add(label, "file is empty", expected="a header line and at least one data row")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        log.add(
            label,
            f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line})",
            row=line,
            expected="UTF-8 encoding (in Excel: Save As 'CSV UTF-8')",
        )
        return None
    if "\r" in text:  # Windows (CRLF) and old-Mac (CR only) line endings read as newlines
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    skip = 0
    first = text.split("\n", 1)[0]
    if first.strip().lower().startswith("sep="):  # Excel's separator hint line
        sep = first.strip()[4:]
        if sep != ",":
            log.add(label, f"Excel separator line says the separator is {sep!r}", row=1,
                    value=first.strip(), expected="comma-separated values ('sep=,' or no line)")
            return None
        skip = 1
        text = text.split("\n", 1)[1] if "\n" in text else ""
    lines_all = text.splitlines()
    header = lines_all[0] if lines_all else ""
    if "," not in header:
        for delim, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delim in header:
                log.add(
                    label,
                    f"columns are separated by {word}, not commas",
                    row=1 + skip,
                    value=header[:60],
                    expected="comma-separated values",
                )
                return None
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for r in reader:
            multi = reader.line_num - start > 0 and any("\n" in c for c in r)
            if multi and rows and len(r) != len(rows[0]):  # a stray quote swallowed lines
                log.add(label, f"a quote opened on line {start + skip} is closed only on line "
                        f"{reader.line_num + skip}", row=start + skip,
                        expected='quotes in pairs around a value ("a, b"); a stray " joins lines')
                return None
            if any(c.strip() for c in r):
                rows.append(r)
                lines.append(start + skip)
            start = reader.line_num + 1
    except csv.Error as exc:
        log.add(label, f"malformed CSV: {_csv_reason(exc)}", row=reader.line_num + skip,
                expected='valid comma-separated values (a value with a quote must be quoted: '
                         '"5"" tall")')
        return None
    if not rows:
        log.add(label, "file is empty", expected="a header line and at least one data row")
        return None
    head = [h.strip() for h in rows[0]]
    bad = False
    for i, r in zip(lines[1:], rows[1:], strict=True):
        if len(r) != len(head):
            log.add(
                label,
                f"line has {len(r)} fields but the header has {len(head)}",
                row=i,
                expected=f"{len(head)} comma-separated fields (quote values containing commas)",
            )
            bad = True
    if bad:
        return None
    dupes = sorted({h for h in head if head.count(h) > 1})
    for d in dupes:
        log.add(label, "column appears more than once in the header", row=lines[0], column=d,
                expected="unique column names")
    for h in head:
        if not h:
            log.add(label, "a column has no name", row=lines[0], column=h,
                    expected="a name for every column in the header")
            return None
    if dupes:
        return None
    if len(rows) == 1:
        log.add(label, "file has a header but no data rows", row=lines[0],
                expected="at least one data row")
        return None
    stray = False
    physical = text.split("\n")
    for line, r in zip(lines[1:], rows[1:], strict=True):
        if not any('"' in cell for cell in r):
            continue
        for j in _unquoted_with_quote(physical[line - 1 - skip]):
            if j < len(head):
                log.add(label, "stray quote character in a value", row=line, column=head[j],
                        value=r[j], expected='no quote, or the whole value in quotes with '
                                             'inner quotes doubled ("5"" tall")')
                stray = True
    if stray:
        return None
    df = pd.DataFrame(rows[1:], columns=head, dtype=str)
    df.index = pd.Index(lines[1:], name=LINE)
    df.attrs["header_line"] = lines[0]
    return _non_empty(df, label, log)


def _parquet_text(col: pd.Series) -> pd.Series:
    """One Parquet column as the text a CSV of it holds: missing -> ``""``; whole floats
    without ``.0``; other floats in their shortest round-trip form; dates as ISO text."""
    missing = col.isna()
    if pd.api.types.is_bool_dtype(col):
        # a nullable boolean column may hold NA (blank in the CSV): kept for ``missing``
        text = col.map(lambda v: "True" if v else "False", na_action="ignore")
    elif pd.api.types.is_float_dtype(col):
        def fmt(v: float) -> str:
            r = repr(float(v))
            return r[:-2] if r.endswith(".0") else r
        text = col.map(fmt, na_action="ignore")
    elif pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.to_datetime(col)
        midnight = bool((ts.dropna() == ts.dropna().dt.normalize()).all())
        text = ts.dt.strftime("%Y-%m-%d") if midnight else ts.map(
            lambda v: v.isoformat(), na_action="ignore")
    else:
        text = col.map(str, na_action="ignore")
    return text.where(~missing, "").astype(object)


def _read_parquet(path: Path, label: str, log: ProblemLog) -> pd.DataFrame | None:
    """A Parquet table (file or folder of parts) as text cells, indexed by the line each
    row would have in a CSV of the table (from 2, across the parts in name order); every
    part must have the first part's columns."""
    import pyarrow.parquet as pq

    frames: list[pd.DataFrame] = []
    head: list[str] | None = None
    bad = False
    for part in parquet_parts(path):
        where = part.name if part == path else f"{path.name}/{part.name}"
        try:
            df = pq.read_table(part).to_pandas()
        except Exception as exc:  # any unreadable part is reported, with its reason
            log.add(where, f"cannot read Parquet file: {exc}", expected="a valid Parquet file")
            bad = True
            continue
        cols = [str(c).strip() for c in df.columns]
        if head is None:
            head = cols
            for d in sorted({h for h in cols if cols.count(h) > 1}):
                log.add(where, "column appears more than once", column=d,
                        expected="unique column names")
                bad = True
        elif cols != head:
            log.add(where, f"part has columns {cols} but the first part has {head}",
                    expected="the same columns, in the same order, in every part")
            bad = True
            continue
        frames.append(pd.DataFrame({c: _parquet_text(df[k]) for c, k in
                                    zip(cols, df.columns, strict=True)}))
    if bad or head is None:
        return None
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=head)
    df.index = pd.Index(range(FIRST_DATA_LINE, FIRST_DATA_LINE + len(df)), name=LINE)
    df.attrs["header_line"] = 1
    return _non_empty(df, label, log)


def _unquoted_with_quote(raw: str) -> list[int]:
    """Indices of fields of one CSV line that are not quoted yet contain a quote."""
    out, i, j, n = [], 0, 0, len(raw)
    while i <= n:
        if i < n and raw[i] == '"':  # quoted field: to the closing quote not doubled
            i += 1
            while i < n:
                if raw[i] == '"' and i + 1 < n and raw[i + 1] == '"':
                    i += 2
                elif raw[i] == '"':
                    break
                else:
                    i += 1
            end = raw.find(",", i)
        else:
            end = raw.find(",", i)
            if '"' in raw[i: n if end < 0 else end]:
                out.append(j)
        if end < 0:
            break
        i, j = end + 1, j + 1
    return out


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "expected after" in text:
        return "a quote inside a value (quote the whole value and double the inner quote)"
    if "unexpected end of data" in text:
        return "a quote is never closed"
    return text


def _non_empty(df: pd.DataFrame, label: str, log: ProblemLog) -> pd.DataFrame | None:
    if df.empty:
        log.add(label, "file has a header but no data rows", expected="at least one data row")
        return None
    out = df.apply(lambda s: s.str.strip())
    out.attrs["header_line"] = df.attrs.get("header_line", 1)
    return out
