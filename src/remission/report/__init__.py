"""Renderers: ReportBundle -> self-contained HTML, Word tables, JSON. They never compute."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from remission.core.bundle import FigureItem, ReportBundle, StudyInfo

__all__ = ["FigureItem", "ReportBundle", "StudyInfo", "write_report"]
_BUNDLE = ("FigureItem", "ReportBundle", "StudyInfo")


def __getattr__(name: str) -> object:
    """``FigureItem``, ``ReportBundle``, ``StudyInfo`` of :mod:`remission.core.bundle`,
    imported on first use: ``remission report`` imports :mod:`remission.report.background`
    and forks its figure process before pandas is imported (remission.core.bundle imports
    it), so the figure process never loads pandas (docs/performance.md)."""
    if name in _BUNDLE:
        from remission.core import bundle

        value = globals()[name] = getattr(bundle, name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_BUNDLE})


FILES = ("report.html", "results.json", "tables.docx")


def write_report(bundle: ReportBundle, out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``results.json`` and ``tables.docx`` into ``out_dir``.

    All three are rendered in memory first and written into a staged directory that
    replaces them in ``out_dir`` only when every renderer succeeded: a failure (e.g. a
    figure that cannot be drawn) leaves ``out_dir`` as it was. Same bundle -> same bytes.

    Parameters
    ----------
    bundle : ReportBundle
        The report (:func:`remission.pipeline.build_bundle` or
        :func:`remission.pipeline.bundle_for`).
    out_dir : str or Path
        The folder to write; created if needed, its three report files replaced.

    Returns
    -------
    dict of str to Path
        ``{"html": path, "json": path, "docx": path}``.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from remission.report import ReportBundle, StudyInfo
    >>> from remission.results import Result, ResultSet
    >>> r = Result("safety.ae", "Adverse events", pd.DataFrame({"n": [1]}), "Counts")
    >>> bundle = ReportBundle(StudyInfo("Demo", "AML", ("CAR-T",), "day 0"), ResultSet([r]))
    >>> tmp = tempfile.TemporaryDirectory()
    >>> paths = write_report(bundle, Path(tmp.name) / "report")
    >>> sorted(p.name for p in paths["html"].parent.iterdir())
    ['report.html', 'results.json', 'tables.docx']
    >>> first = paths["json"].read_bytes()
    >>> write_report(bundle, Path(tmp.name) / "report")["json"].read_bytes() == first
    True
    >>> tmp.cleanup()
    """
    from remission.io.atomic import staged_dir, write_bytes
    from remission.progress import step
    from remission.report.html import MAX_TABLE_ROWS, publication_tables, render_html
    from remission.report.jsonout import render_json
    from remission.report.tables import display_table
    from remission.report.word import render_docx

    step("writing report.html, results.json, tables.docx")
    style = bundle.study.number_style
    tables = {r.name: display_table(r, max_rows=MAX_TABLE_ROWS, style=style)
              for r in bundle.results}
    pubs = publication_tables(bundle, MAX_TABLE_ROWS)
    # report.html last: its figures may still be being drawn by a child process
    # (remission.report.background), which gets the time the other two take
    payload = {"results.json": render_json(bundle),
               "tables.docx": render_docx(bundle, tables=tables, publication=pubs)}
    payload["report.html"] = render_html(bundle, tables=tables,
                                         publication=pubs).encode("utf-8")
    out = Path(out_dir)
    with staged_dir(out) as tmp:
        for name in FILES:
            write_bytes(tmp / name, payload[name])
    return {
        "html": out / "report.html",
        "json": out / "results.json",
        "docx": out / "tables.docx",
    }
