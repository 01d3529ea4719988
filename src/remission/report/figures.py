"""Deterministic serialisation of matplotlib figures for embedding.

SVG output is made byte-reproducible by fixing ``svg.hashsalt`` (ids of clip paths and
glyphs are otherwise salted with a random UUID) and dropping the ``Date`` metadata;
PNG output drops the ``Software`` text chunk (the only variable metadata matplotlib
writes). See the matplotlib docs for ``savefig(metadata=...)`` and ``rcParams``.
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any

from remission.plot import RC

_SVG_META = {"Date": None, "Creator": "remission", "Format": None, "Type": None}


def figure_svg(fig: Any) -> bytes:
    """SVG bytes of ``fig``, identical for identical figures (no date, fixed ids).

    ``fig`` is a matplotlib Figure, or a :class:`~remission.report.background.
    DeferredFigure` drawn by a child process (its bytes are returned as they are).
    """
    from remission.report.background import DeferredFigure

    if isinstance(fig, DeferredFigure):
        return fig.svg()
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context({**RC, "svg.hashsalt": "remission"}):
        fig.savefig(buf, format="svg", metadata=_SVG_META)
    data = buf.getvalue()
    # drop the XML prolog/DOCTYPE (it carries an external DTD URL); the SVG stays valid
    data = re.sub(rb"^<\?xml[^>]*>\s*<!DOCTYPE[^>]*>\s*", b"", data, count=1)
    return re.sub(rb"\s*<metadata>.*?</metadata>", b"", data, count=1, flags=re.S)


def figure_png(fig: Any, dpi: int = 150) -> bytes:
    """PNG bytes of ``fig`` without a Software/time chunk."""
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def svg_data_uri(svg: bytes) -> str:
    """A ``data:`` URI: the figure is embedded, never fetched."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
