"""Draw figures in a second process while this one builds the tables.

Drawing a report's figures (importing matplotlib and its SVG backend, laying out each
figure, writing it as SVG with text as paths) is independent of building its tables.
On a machine with two or more usable cores (:func:`usable_cores`),
:class:`BackgroundFigures` forks a child process when it is created (after numpy is
imported, which the child shares; ``remission report`` forks before it imports pandas).
The child imports matplotlib (without its 3-D toolkit, which the report's figures do not
use, and without the artists' ``set`` docstrings) while the parent imports pandas and
reads the study; the parent then pickles the drawing functions with their data
(:meth:`BackgroundFigures.submit`; the report's clinical figures send remission.plot's
``draw_*`` functions with plain Python values, so the child never imports pandas), the
child draws each figure, serialises it with :func:`remission.report.figures.figure_svg`
(the function the HTML renderer would have called) and sends the SVG bytes back through
a pipe. The parent never imports matplotlib. The bytes are those of drawing in-process:
same code, same data (a pickle round trip is exact), same fixed ``svg.hashsalt``;
``tests/test_background_figures.py`` checks this and every fallback.

Fallbacks, each giving the same bytes: without ``os.fork`` or with one usable core, or
when the child fails for any reason (exception, killed, unreadable reply, drawing
functions that cannot be pickled, no answer within ``timeout``), the figures are drawn
in this process when first needed, so an error in a figure surfaces here with its usual
traceback. Only ``remission report`` uses this (``bundle_for(..., background=True)``); a
library caller or the web server gets ordinary matplotlib Figures. Timings are in
docs/performance.md.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from remission.report.figures import figure_svg

Draw = Callable[[], Any]  # returns a matplotlib Figure


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one).

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> usable_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class DeferredFigure:
    """A figure whose SVG is drawn elsewhere: :func:`figure_svg` returns :meth:`svg`.

    Parameters
    ----------
    owner : BackgroundFigures
        The batch this figure belongs to.
    index : int
        Its position in the batch.
    """

    def __init__(self, owner: BackgroundFigures, index: int) -> None:
        self._owner, self._index = owner, index

    def svg(self) -> bytes:
        """The figure as SVG bytes (waits for the child process the first time).

        Returns
        -------
        bytes
            What ``figure_svg(draw())`` gives in this process.

        Examples
        --------
        >>> from matplotlib.figure import Figure
        >>> [fig] = BackgroundFigures(fork=False).submit([lambda: Figure(figsize=(1, 1))])
        >>> fig.svg().startswith(b"<svg")
        True
        """
        return self._owner.svg(self._index)

    def draw(self) -> Any:
        """Draw the figure in this process (a matplotlib Figure).

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> from matplotlib.figure import Figure
        >>> [fig] = BackgroundFigures(fork=False).submit([lambda: Figure(figsize=(2, 1))])
        >>> fig.draw().get_size_inches().tolist()
        [2.0, 1.0]
        """
        return self._owner.draws[self._index]()


def _reap(pid: int, fds: tuple[int, ...]) -> None:
    """Close the pipes, stop the child if it still runs, and collect its exit status."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # not yet reaped, so the pid is still the child's
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to a pipe and close it (in a thread: the child reads it only once
    matplotlib is imported, and a large study's data would not fit the pipe's buffer)."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:  # the child died: the parent draws the figures itself
        pass
    finally:
        os.close(fd)


NO_3D = "mpl_toolkits.mplot3d"


def _import_matplotlib_2d() -> None:
    """Import matplotlib's figure and SVG backend without its 3-D toolkit and without
    writing the docstrings of the artists' ``set`` methods.

    ``matplotlib.projections`` imports :mod:`mpl_toolkits.mplot3d` only to register the
    ``"3d"`` projection; the report's figures are 2-D. And every Artist class, when it is
    defined, gets a ``set()`` whose docstring lists its properties
    (``matplotlib.artist.kwdoc``, which parses every setter's docstring): text nobody reads
    in a process that only draws. Both are on the longest path of a cold report (measured
    in docs/performance.md). Called only in the child: a figure that asks for 3-D axes
    there fails ("unknown projection") and the parent draws it itself, with the same bytes
    (the usual fallback); the drawing does not read docstrings. When the toolkit or
    matplotlib is already loaded (inherited at the fork) nothing changes.
    """
    blocked = NO_3D not in sys.modules
    if blocked:
        sys.modules[NO_3D] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        with warnings.catch_warnings():  # matplotlib warns that "3d" is unavailable
            warnings.filterwarnings("ignore", message="Unable to import Axes3D")
            import matplotlib.artist as artist

            kwdoc = getattr(artist, "kwdoc", None)
            if kwdoc is not None:  # read when each Artist subclass is defined
                artist.kwdoc = _no_kwdoc
            try:
                import matplotlib.backends.backend_svg
                import matplotlib.figure  # noqa: F401
            finally:
                if kwdoc is not None:
                    artist.kwdoc = kwdoc
    finally:
        if blocked and sys.modules.get(NO_3D, 0) is None:
            del sys.modules[NO_3D]


def _no_kwdoc(artist: Any) -> str:
    """Stand-in for ``matplotlib.artist.kwdoc`` while the child imports matplotlib."""
    return ""


def _child(job_r: int, res_w: int) -> None:
    """The child process: import matplotlib, wait for the drawing functions, draw them,
    send the SVG bytes (or the error) back."""
    _import_matplotlib_2d()  # while the parent reads the study and computes the tables

    with os.fdopen(job_r, "rb") as f:
        data = f.read()
    if not data:  # the parent needs no figures after all
        return
    try:
        draws = pickle.loads(data)
        payload = pickle.dumps(("ok", [figure_svg(d()) for d in draws]))
    except BaseException as exc:  # reported; the parent redraws and raises it itself
        payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
    with os.fdopen(res_w, "wb") as f:
        f.write(payload)


class BackgroundFigures:
    """Figures drawn and serialised to SVG in a forked child process.

    The child is started when this object is made, imports matplotlib at once, and
    waits for one batch of drawing functions (:meth:`submit`): create it as early as
    possible, submit when the data to draw are known.

    Parameters
    ----------
    fork : bool, optional
        Start the child (default: when ``os.fork`` exists and at least two cores are
        usable). Without a child the figures are drawn in this process on first use.
    timeout : float
        Seconds to wait for the child's figures once they are needed (default 600). A
        child that has not answered by then (e.g. stuck on a lock held by another thread
        at the fork) is stopped and the figures are drawn here: slower, same bytes.

    Examples
    --------
    >>> from functools import partial
    >>> from remission.plot import response_by_group
    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"USUBJID": ["1", "2", "3"], "COHORT": ["A", "A", "B"],
    ...                      "BOR": ["CR", "NR", "CR"]})
    >>> bg = BackgroundFigures()
    >>> [fig] = bg.submit([partial(response_by_group, adsl)])
    >>> fig.svg() == figure_svg(response_by_group(adsl))
    True
    """

    def __init__(self, fork: bool | None = None, timeout: float = 600.0) -> None:
        self.draws: list[Draw] = []
        self.timeout = timeout
        self._svgs: list[bytes | None] | None = None
        self._pid: int | None = None
        self._res_r: int | None = None
        self._job_w: int | None = None
        self._finalizer: Any = None
        if fork is None:
            fork = hasattr(os, "fork") and usable_cores() > 1
        if fork:
            self._start()

    @property
    def forked(self) -> bool:
        """True while a child process is drawing (or ready to draw) this batch."""
        return self._pid is not None

    def _start(self) -> None:
        # numpy is imported here so that both processes share it; pandas is imported by
        # the parent only, after the fork (remission report forks first): the child draws
        # from plain Python values (remission.plot's draw_* functions)
        import numpy  # noqa: F401

        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: leave without running any of the parent's cleanup
            status = 0
            try:
                os.close(job_w)
                os.close(res_r)
                _child(job_r, res_w)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(job_r)
        os.close(res_w)
        self._pid, self._job_w, self._res_r = pid, job_w, res_r
        self._finalizer = weakref.finalize(self, _reap, pid, (job_w, res_r))

    def close(self) -> None:
        """Stop the child (if any) and release its pipes; figures not yet collected are
        then drawn in this process when needed.

        Returns
        -------
        None

        Examples
        --------
        >>> bg = BackgroundFigures()
        >>> bg.close()
        >>> bg.forked
        False
        """
        if self._finalizer is not None:
            self._finalizer()
        self._pid = None

    def submit(self, draws: Sequence[Draw]) -> list[DeferredFigure]:
        """Hand over the figures to draw (once).

        Parameters
        ----------
        draws : sequence of callables
            Each returns a matplotlib Figure. They are pickled to the child (module-level
            functions and their data, e.g. ``functools.partial(plot.lane_chart, adsl)``);
            if that fails they are drawn in this process.

        Returns
        -------
        list of DeferredFigure
            One per draw, in order.

        Examples
        --------
        >>> len(BackgroundFigures(fork=False).submit([lambda: None, lambda: None]))
        2
        """
        if self.draws:
            raise RuntimeError("BackgroundFigures takes one batch")
        self.draws = list(draws)
        if self._pid is not None and self._job_w is not None:
            try:
                data = pickle.dumps(self.draws)
            except Exception:  # not picklable: drawn here instead
                self.close()
            else:
                fd, self._job_w = self._job_w, None
                self._finalizer.detach()  # the writer thread closes the job pipe
                self._finalizer = weakref.finalize(self, _reap, self._pid, (self._res_r,))
                threading.Thread(target=_write_all, args=(fd, data), daemon=True).start()
        return [DeferredFigure(self, i) for i in range(len(self.draws))]

    def _collect(self) -> list[bytes | None]:
        if self._svgs is not None:
            return self._svgs
        svgs: list[bytes | None] = [None] * len(self.draws)
        if self._pid is not None and self._res_r is not None and self.draws:
            chunks = []
            deadline = time.monotonic() + self.timeout
            try:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:  # no answer in time: stop the child, draw here
                        chunks = []
                        break
                    if not select.select([self._res_r], [], [], left)[0]:
                        continue
                    b = os.read(self._res_r, 1 << 20)
                    if not b:
                        break
                    chunks.append(b)
            except OSError:
                chunks = []
            self.close()  # reap the child
            try:
                kind, value = pickle.loads(b"".join(chunks))
            except Exception:  # killed or half-written: drawn here instead
                kind, value = "error", None
            if kind == "ok" and isinstance(value, list) and len(value) == len(self.draws) \
                    and all(isinstance(v, bytes) for v in value):
                svgs = list(value)
        self._svgs = svgs
        return svgs

    def svg(self, index: int) -> bytes:
        """SVG bytes of the ``index``-th submitted figure.

        Parameters
        ----------
        index : int

        Returns
        -------
        bytes
            From the child when it succeeded, else drawn in this process (an error in
            the drawing code is then raised here, with its usual traceback).

        Examples
        --------
        >>> from matplotlib.figure import Figure
        >>> bg = BackgroundFigures(fork=False)
        >>> _ = bg.submit([lambda: Figure(figsize=(1, 1))])
        >>> bg.svg(0).rstrip().endswith(b"</svg>")
        True
        """
        svgs = self._collect()
        if svgs[index] is None:
            svgs[index] = figure_svg(self.draws[index]())
        return svgs[index]
