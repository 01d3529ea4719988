"""Plain-text tables for the command line (same formatting rules as HTML and Word)."""

from __future__ import annotations

from collections.abc import Iterable

from remission.report.format import DisplayTable, display_table
from remission.results import Result

MAX_ROWS = 50


def _table(t: DisplayTable) -> list[str]:
    header = [t.index_header, *t.columns]
    body = [[key, *(c.text for c in cells)] for key, cells in t.rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    numeric = (False, *(t.numeric or (False,) * len(t.columns)))

    def line(row: list[str]) -> str:
        cells = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(row, widths, numeric, strict=True)]
        return "  ".join(cells).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body)]


def render_result(r: Result, max_rows: int | None = MAX_ROWS) -> str:
    t = display_table(r, max_rows=max_rows)
    title = f"{r.title}  [{r.name}]"
    lines = [title, "=" * len(title)]
    lines += _table(t) if t.rows else ["(no rows)"]
    if t.truncated:
        lines.append(f"... first {len(t.rows)} of {t.n_rows_total} rows shown")
    lines.append("Method: " + " ".join(x for x in (r.method, r.rationale) if x))
    lines += [f"! Warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def render(results: Iterable[Result], max_rows: int | None = MAX_ROWS) -> str:
    """All Results as plain text, separated by blank lines (ends with a newline)."""
    return "\n\n".join(render_result(r, max_rows) for r in results) + "\n"
