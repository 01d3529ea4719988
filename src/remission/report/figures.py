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

    Parameters
    ----------
    fig : matplotlib.figure.Figure or remission.report.background.DeferredFigure
        The figure; a :class:`~remission.report.background.DeferredFigure` drawn by a
        child process returns its bytes as they are.

    Returns
    -------
    bytes
        The ``<svg>`` document without XML prolog, DOCTYPE or ``<metadata>``, drawn
        with :data:`remission.plot.RC` and a fixed ``svg.hashsalt``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> def draw():
    ...     fig = Figure(figsize=(2, 1))
    ...     fig.add_subplot().plot([0, 1], [1, 0])
    ...     return fig
    >>> svg = figure_svg(draw())
    >>> svg.startswith(b"<svg"), b"<metadata>" in svg, svg == figure_svg(draw())
    (True, False, True)
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
    """PNG bytes of ``fig`` without a Software/time chunk.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, drawn with :data:`remission.plot.RC`.
    dpi : int, default 150
        Resolution in dots per inch (pixels = inches x dpi).

    Returns
    -------
    bytes
        The PNG file.

    Examples
    --------
    >>> import struct
    >>> from matplotlib.figure import Figure
    >>> png = figure_png(Figure(figsize=(2, 1)), dpi=50)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", struct.unpack(">II", png[16:24])
    (True, (100, 50))
    >>> b"Software" in png
    False
    """
    import matplotlib as mpl

    buf = io.BytesIO()
    with mpl.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def svg_data_uri(svg: bytes) -> str:
    """A ``data:`` URI: the figure is embedded, never fetched.

    Parameters
    ----------
    svg : bytes
        An SVG document (:func:`figure_svg`).

    Returns
    -------
    str
        ``data:image/svg+xml;base64,`` followed by the base64 of ``svg``.

    Examples
    --------
    >>> svg_data_uri(b"<svg/>")
    'data:image/svg+xml;base64,PHN2Zy8+'
    """
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
