"""Plain-text tables for the command line (same formatting rules as HTML and Word)."""

from __future__ import annotations

from collections.abc import Iterable

from remission.method_text import method_line
from remission.report.publication import find_tests, publication_table
from remission.report.tables import DisplayTable, display_table
from remission.results import Result

MAX_ROWS = 50


def _table(t: DisplayTable) -> list[str]:
    header = [t.index_header, *(c.replace("\n", " ") for c in t.columns)]
    kinds = t.row_kinds or ("",) * len(t.rows)
    body = [[("  " if kind == "sub" else "") + key, *(c.text for c in cells)]
            for (key, cells), kind in zip(t.rows, kinds, strict=True)]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    numeric = (False, *(t.numeric or (False,) * len(t.columns)))

    def line(row: list[str]) -> str:
        cells = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(row, widths, numeric, strict=True)]
        return "  ".join(cells).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body)]


def render_result(r: Result, max_rows: int | None = MAX_ROWS,
                  pub: DisplayTable | None = None) -> str:
    """One Result as text: its publication layout ``pub`` when given, else the tidy table.

    Parameters
    ----------
    r : Result
        The Result.
    max_rows : int or None, default :data:`MAX_ROWS`
        Rows of the tidy table shown (a note says how many there are); None shows all.
    pub : DisplayTable, optional
        Publication layout (:func:`remission.report.publication.publication_table`)
        printed instead of the tidy table.

    Returns
    -------
    str
        Title with the Result's name, underline, the table in aligned columns (numbers
        right-aligned), table notes, the method line and one ``! Warning:`` line per
        warning; no trailing newline.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n": [3, 12], "N": [4, 20]},
    ...                  index=pd.Index(["CR", "CRi"], name="response"))
    >>> r = Result("efficacy.orr", "Response", t, "Counts", warnings=("small cohort",))
    >>> print(render_result(r))
    Response  [efficacy.orr]
    ========================
    response   n   N
    --------  --  --
    CR         3   4
    CRi       12  20
    Method: Counts.
    ! Warning: small cohort
    """
    t = pub if pub is not None else display_table(r, max_rows=max_rows)
    title = f"{r.title}  [{r.name}]"
    lines = [title, "=" * len(title)]
    lines += _table(t) if t.rows else ["(no rows)"]
    if t.truncated:
        lines.append(f"... first {len(t.rows)} of {t.n_rows_total} rows shown")
    lines += list(t.notes)
    lines.append("Method: " + method_line(r.method, r.rationale, r.params))
    lines += [f"! Warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def render(results: Iterable[Result], max_rows: int | None = MAX_ROWS) -> str:
    """All Results as plain text, separated by blank lines (ends with a newline).

    Results with ``display`` print in their publication layout (as in tables.docx).

    Parameters
    ----------
    results : iterable of Result
        In the order to print; a Result's tests (for the P column of a publication
        layout) are looked up among them by name.
    max_rows : int or None, default :data:`MAX_ROWS`
        Rows shown per table; None shows all.

    Returns
    -------
    str
        The text ``remission report`` prints.

    Examples
    --------
    >>> import pandas as pd
    >>> rs = [Result(f"r{i}", f"Table {i}", pd.DataFrame({"n": range(60)}), "Counts")
    ...       for i in (1, 2)]
    >>> text = render(rs)
    >>> text.count("... first 50 of 60 rows shown"), text.count("\\n\\n"), text[-1]
    (2, 1, '\\n')
    """
    results = list(results)
    by_name = {r.name: r for r in results}
    return "\n\n".join(
        render_result(r, max_rows, publication_table(r, find_tests(r, by_name), max_rows)
                      if r.display else None)
        for r in results) + "\n"
