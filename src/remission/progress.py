"""Progress of long jobs: the library names its steps, an interface shows them.

The library calls :func:`step` ("analysing", "drawing figures", ...); nothing is shown
unless an interface installed a reporter with :func:`reporting`. The command line shows
the steps with a rich progress display on a terminal (stderr), and nothing when output is
redirected, so logs and pipes stay clean.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_REPORTER: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "remission_progress", default=None)


def step(text: str) -> None:
    """Announce the step the current job starts now (no-op without a reporter).

    Parameters
    ----------
    text : str
        What is being done, e.g. ``"analysing"``.

    Returns
    -------
    None

    Examples
    --------
    >>> seen = []
    >>> with reporting(seen.append):
    ...     step("analysing")
    >>> seen
    ['analysing']
    """
    fn = _REPORTER.get()
    if fn is not None:
        fn(text)


@contextmanager
def reporting(fn: Callable[[str], None]) -> Iterator[None]:
    """Send :func:`step` announcements to ``fn`` inside the block.

    Parameters
    ----------
    fn : callable
        Receives each step's text.

    Returns
    -------
    contextmanager

    Examples
    --------
    >>> with reporting(print):
    ...     step("writing")
    writing
    """
    token = _REPORTER.set(fn)
    try:
        yield
    finally:
        _REPORTER.reset(token)


@contextmanager
def terminal_progress(title: str, enabled: bool) -> Iterator[None]:
    """A rich spinner with the current step and elapsed time on stderr while the block runs.

    Parameters
    ----------
    title : str
        Job name shown before the step, e.g. ``"report"``.
    enabled : bool
        False (e.g. stderr is not a terminal): steps are not shown at all.

    Returns
    -------
    contextmanager

    Examples
    --------
    >>> with terminal_progress("report", enabled=False):
    ...     step("analysing")
    """
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn(f"[bold]{title}[/bold] {{task.description}}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)
        with reporting(lambda text: bar.update(task, description=text)):
            yield
