"""Number formatting and table text shared by every renderer (HTML, Word, terminal).

This module is the stable import path of what used to live here in one file; the code is
split by job:

* :mod:`remission.numbers` — scalar formatting and the journal number styles (bottom
  layer, shared with figures);
* :mod:`remission.roles` — what each column of a Result *is* (p-value, ratio, confidence
  limit, count, percentage ...), declared by the analysis or inferred once;
* :mod:`remission.report.labels` — reader-facing column labels, verdict words;
* :mod:`remission.report.tables` — the tidy table as text cells, formatted by role;
* :mod:`remission.report.publication` — the manuscript layout (``Result.display``).
"""

from __future__ import annotations

from remission.numbers import (
    AUDIT_DIGITS,
    CLEAN_DIGITS,
    EN_DASH,
    MISSING,
    P_DIGITS,
    P_EPS,
    STYLES,
    NumberStyle,
    format_ci,
    format_count,
    format_n_pct,
    format_number,
    format_p,
    format_percent,
    format_percent_value,
    format_proportion,
    format_value,
    get_style,
    is_missing,
)
from remission.report.labels import (
    VERDICT_CLASSES,
    VERDICT_SYMBOL,
    conf_level_label,
    format_param,
    format_verdict,
    human_label,
    verdict_class,
)
from remission.report.publication import (
    CELL_TEMPLATES,
    OVERALL,
    STUB_HEADERS,
    SUPERSCRIPT,
    CellTemplate,
    find_tests,
    publication_table,
)
from remission.report.tables import Cell, DisplayTable, display_table

__all__ = [
    "AUDIT_DIGITS", "CELL_TEMPLATES", "CLEAN_DIGITS", "EN_DASH", "MISSING", "OVERALL",
    "P_DIGITS", "P_EPS", "STUB_HEADERS", "STYLES", "SUPERSCRIPT", "VERDICT_CLASSES",
    "VERDICT_SYMBOL", "Cell", "CellTemplate", "DisplayTable", "NumberStyle",
    "conf_level_label", "display_table", "find_tests", "format_ci", "format_count",
    "format_n_pct", "format_number", "format_p", "format_param", "format_percent",
    "format_percent_value", "format_proportion", "format_value", "format_verdict",
    "get_style", "human_label", "is_missing", "publication_table", "verdict_class",
]
