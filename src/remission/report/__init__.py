"""Renderers: ReportBundle -> self-contained HTML, Word tables, JSON. They never compute."""
