"""Problems found in user input, collected and reported all at once.

Every check appends a :class:`Problem` naming file, row, column, value and what was
expected; a caller raises :class:`InputError` once with all of them. Interfaces print
them and exit with status 2 -- never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    ``row`` is the 1-based line number in the file as a spreadsheet shows it
    (header = line 1, first data row = line 2), or ``None`` for file-level problems.
    A NumPy scalar ``value`` is shown as the Python number it holds.

    Examples
    --------
    >>> import numpy as np
    >>> print(Problem("model data", "covariate is constant", column="age",
    ...               value=np.float64(1.0), expected="at least two distinct values"))
    model data, column 'age': covariate is constant (got 1.0); expected at least two distinct values
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: Any = None
    expected: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", line {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.value is not None:
            value = self.value
            if type(value).__module__ == "numpy" and hasattr(value, "item"):
                value = value.item()  # a NumPy scalar reads as the number, not np.float64(..)
            text += f" (got {value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class InputError(Exception):
    """Raised with every problem found in an input, never just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self.render())

    def render(self, limit: int = 200) -> str:
        """All problems, the same problem on many lines grouped into one entry.

        One wrong patient ID repeated on 196 lines is one entry naming the lines
        ("lines 2-197"), not 196 entries; at most ``limit`` entries are printed.

        Examples
        --------
        >>> err = InputError([Problem("a.csv", "bad", row=r, column="x", value="q")
        ...                   for r in (2, 3, 4, 9)])
        >>> print(err.render())
        4 problems found:
          - a.csv, lines 2-4, 9, column 'x': bad (got 'q')
        """
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found:"
        groups: dict[tuple, list[Problem]] = {}
        for p in self.problems:
            key = (p.file, p.message, p.column, repr(p.value), p.expected, p.row is None)
            groups.setdefault(key, []).append(p)
        lines = []
        for members in groups.values():
            first = members[0]
            if len(members) == 1 or first.row is None:
                lines.extend(f"  - {p}" for p in members)
                continue
            rows = sorted({int(p.row) for p in members if p.row is not None})
            lines.append(f"  - {_str_rows(first, rows)}")
        if len(lines) > limit:
            lines = [*lines[:limit], f"  ... and {len(lines) - limit} more entries"]
        return "\n".join([head, *lines])


def _ranges(rows: list[int], show: int = 12) -> str:
    spans: list[tuple[int, int]] = []
    for r in rows:
        if spans and r == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], r)
        else:
            spans.append((r, r))
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in spans[:show]]
    if len(spans) > show:
        text.append(f"… ({len(rows)} lines in all)")
    return ", ".join(text)


def _str_rows(p: Problem, rows: list[int]) -> str:
    text = str(Problem(p.file, p.message, None, p.column, p.value, p.expected))
    where = f"{p.file}, lines {_ranges(rows)}"
    return where + text[len(p.file):]


class ProblemLog:
    """Accumulates problems; ``raise_if_any`` raises one InputError with all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, message: str, **kw: Any) -> None:
        self.problems.append(Problem(file=file, message=message, **kw))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)
