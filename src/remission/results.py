"""Result: the one currency every analysis returns and every renderer consumes.

A Result is a tidy table plus what a reader needs to trust it: the method, why that
method was chosen, warnings and references. Renderers format Results and never compute;
analyses compute Results and never format. The audit addresses a single cell of a Result
by ``(result name, row key, column)``, so each number a paper prints can be checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from remission.roles import Role, col_name, infer_roles, parse_role


@dataclass(frozen=True)
class Result:
    """An analysis result.

    Attributes
    ----------
    name:
        Stable dotted identifier, e.g. ``"response.rates"``; claims address it.
    title:
        Human caption for reports.
    table:
        Tidy table. Its index holds the row keys claims use (string labels; a
        MultiIndex is flattened with ``" | "`` when addressed).
    method:
        What was computed, in one or two sentences (goes into the methods paragraph).
    rationale:
        Why this method/test (e.g. "expected count < 5, so Fisher's exact").
    warnings:
        Caveats a reader must see (small counts, ties, non-proportional hazards...).
    references:
        Citations for methods and criteria.
    params:
        Inputs that define the analysis (confidence level, criteria system, ...).
    section:
        Report section the Result belongs to (``"baseline"``, ``"efficacy"``, ...).
    display:
        Optional publication layout for renderers: ``{"rows": <column>, "columns": <column>,
        "cell": <template>}`` pivots the tidy table (e.g. variables × groups) and formats each
        cell with a named template (see ``remission.report.publication.CELL_TEMPLATES``:
        ``n_pct``, ``median_iqr``, ``median_range``, ``pct_ci``). The tidy table stays the
        data of record (JSON, claims); the layout is presentation only.
    roles:
        Declared column roles, ``{column: "kind[:of]"}`` (see :mod:`remission.roles`:
        ``"ratio"``, ``"ci_low:HR"``, ``"p"``, ``"percent:n"`` ...). Columns not declared
        get a role inferred from their name and values by :meth:`column_roles`, so a
        renderer never guesses from a name. Presentation metadata: not in results.json.
    """

    name: str
    title: str
    table: pd.DataFrame
    method: str
    rationale: str = ""
    warnings: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    section: str = "other"
    display: Mapping[str, Any] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for role in self.roles.values():
            parse_role(role)  # a misspelled role is a programming error: raise now

    def column_roles(self) -> list[Role]:
        """The role of each column of ``table``, in column order.

        Declared :attr:`roles` first, the others inferred from name and values (see
        :func:`remission.roles.infer_roles`).

        Examples
        --------
        >>> t = pd.DataFrame({"HR": [0.5], "lo": [0.2], "hi": [1.1], "p": ["NA"]})
        >>> r = Result("x", "X", t, "m", roles={"HR": "ratio"})
        >>> [str(x) for x in r.column_roles()]
        ['ratio', 'ci_low', 'ci_high', 'value']
        """
        names = [col_name(c) for c in self.table.columns]
        values = [self.table.iloc[:, j].tolist() for j in range(self.table.shape[1])]
        return infer_roles(names, values, self.roles)

    def row_keys(self) -> list[str]:
        return [_key(k) for k in self.table.index]

    def cell(self, row: str, column: str) -> Any:
        """Value at ``(row, column)``; raises KeyError naming what exists."""
        keys = self.row_keys()
        if row not in keys:
            raise KeyError(f"result {self.name!r} has no row {row!r}; rows: {keys}")
        if column not in self.table.columns:
            cols = list(self.table.columns)
            raise KeyError(f"result {self.name!r} has no column {column!r}; columns: {cols}")
        return self.table.iloc[keys.index(row)][column]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation (NaN -> None, numpy scalars -> Python)."""
        cols = [str(c) for c in self.table.columns]
        values = self.table.to_numpy(dtype=object).tolist()  # one conversion, not iterrows
        rows = [{"row": key, **{c: to_jsonable(v) for c, v in zip(cols, rec, strict=True)}}
                for key, rec in zip(self.row_keys(), values, strict=True)]
        return {
            "name": self.name,
            "title": self.title,
            "section": self.section,
            "method": self.method,
            "rationale": self.rationale,
            "warnings": list(self.warnings),
            "references": list(self.references),
            "params": {k: to_jsonable(v) for k, v in self.params.items()},
            "display": dict(self.display),
            "columns": [str(c) for c in self.table.columns],
            "rows": rows,
        }


def _key(k: Any) -> str:
    if isinstance(k, tuple):
        return " | ".join(str(x) for x in k)
    return str(k)


def to_jsonable(v: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON types.

    Parameters
    ----------
    v : Any
        A value of a Result table or params: a scalar, or a mapping, list or tuple of
        them (converted recursively).

    Returns
    -------
    Any
        Mappings as dicts with string keys, lists and tuples as lists, numpy scalars as
        Python scalars, ``None``/``pd.NA``/``pd.NaT`` and non-finite floats (NaN, ±inf)
        as ``None``, Timestamps as ISO 8601 text; anything else unchanged.

    Examples
    --------
    >>> to_jsonable({"n": np.int64(3), "p": float("nan"), "ci": (0.1, np.float64(0.5))})
    {'n': 3, 'p': None, 'ci': [0.1, 0.5]}
    >>> to_jsonable(pd.Timestamp("2024-03-01"))
    '2024-03-01T00:00:00'
    """
    if isinstance(v, Mapping):
        return {str(k): to_jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [to_jsonable(x) for x in v]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


class ResultSet:
    """Ordered collection of Results, addressable by name."""

    def __init__(self, results: Iterable[Result] = ()) -> None:
        self._items: dict[str, Result] = {}
        for r in results:
            self.add(r)

    def add(self, result: Result) -> Result:
        if result.name in self._items:
            raise ValueError(f"duplicate result name {result.name!r}")
        self._items[result.name] = result
        return result

    def extend(self, results: Iterable[Result]) -> None:
        for r in results:
            self.add(r)

    def __getitem__(self, name: str) -> Result:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"no result named {name!r}; known: {sorted(self._items)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[Result]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return list(self._items)

    def by_section(self, section: str) -> list[Result]:
        return [r for r in self if r.section == section]

    def to_dict(self) -> dict[str, Any]:
        return {"results": [r.to_dict() for r in self]}
