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
_COUNTER: contextvars.ContextVar[Callable[[int, int, str], None] | None] = \
    contextvars.ContextVar("remission_progress_count", default=None)


def advance(done: int, total: int, what: str) -> None:
    """Announce that ``done`` of ``total`` items (e.g. patients) are finished (no-op
    without a counter installed by :func:`counting` or :func:`terminal_progress`).

    Parameters
    ----------
    done, total : int
        Items finished so far and items in the job.
    what : str
        What is counted, e.g. ``"patients simulated"``.

    Returns
    -------
    None

    Examples
    --------
    >>> seen = []
    >>> with counting(lambda d, t, w: seen.append((d, t, w))):
    ...     advance(3, 12, "patients simulated")
    >>> seen
    [(3, 12, 'patients simulated')]
    """
    fn = _COUNTER.get()
    if fn is not None:
        fn(done, total, what)


@contextmanager
def counting(fn: Callable[[int, int, str], None]) -> Iterator[None]:
    """Send :func:`advance` counts to ``fn(done, total, what)`` inside the block.

    Parameters
    ----------
    fn : callable
        Receives each count.

    Returns
    -------
    contextmanager

    Examples
    --------
    >>> with counting(lambda d, t, w: print(f"{w}: {d}/{t}")):
    ...     advance(1, 2, "patients")
    patients: 1/2
    """
    token = _COUNTER.set(fn)
    try:
        yield
    finally:
        _COUNTER.reset(token)


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
def terminal_progress(title: str, enabled: bool,
                      console: object | None = None) -> Iterator[None]:
    """A rich spinner with the current step and elapsed time on stderr while the block runs;
    a bar with ``done/total`` when the library counts items (:func:`advance`).

    A finished count (``done == total``) is drawn at once rather than at the next timed
    refresh, so a fast job's counts are always shown, whatever the machine's speed.

    Parameters
    ----------
    title : str
        Job name shown before the step, e.g. ``"report"``.
    enabled : bool
        False (e.g. stderr is not a terminal): steps are not shown at all.
    console : rich.console.Console, optional
        Where to draw (default: a console on stderr).

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
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(SpinnerColumn(), TextColumn(f"[bold]{title}[/bold] {{task.description}}"),
                  BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console if console is not None else Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def count(done: int, total: int, what: str) -> None:
            bar.update(task, description=what, completed=done, total=total)
            if done >= total:
                bar.refresh()

        def show(text: str) -> None:  # a new step: back to a spinner until it counts
            bar.update(task, description=text, completed=0, total=None)

        with reporting(show), counting(count):
            yield
