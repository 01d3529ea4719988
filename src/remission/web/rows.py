"""Model instances from the columns of one plain SQL statement that reads several tables.

The fixed reads of a request (:mod:`remission.web.identity`: the session with its user;
:mod:`remission.web.access`: the study with the user's role, and the patient) are each one
statement joining two or three tables. :class:`Columns` writes the select list of one
model's table under a table alias and turns its slice of a result row back into an
instance exactly as a queryset does: each value passes the converters the database backend
and the field declare for it (SQLite's text datetimes and 0/1 booleans, the JSON text of a
``JSONField``...), then ``Model.from_db`` builds the instance (``_state.adding`` False,
``_state.db`` set), so a saved instance behaves as one the ORM read.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

_CACHE: dict[tuple, Columns] = {}


class Columns:
    """Every concrete column of ``model`` under ``alias`` in a statement on ``using``.

    Parameters
    ----------
    model : type of django.db.models.Model
        The model whose table is read.
    alias : str
        The table's alias in the statement (``FROM <table> <alias>``).
    using : str
        The database alias (``DATABASES`` key) the statement runs on.

    Attributes
    ----------
    select : str
        The quoted columns, ``alias."col", ...``, in the model's concrete-field order.
    width : int
        Number of columns (the length of the model's slice of a row).

    Examples
    --------
    >>> from django.contrib.auth import get_user_model
    >>> cols = Columns.of(get_user_model(), "u")
    >>> cols.select.split(", ")[:2], cols.width
    (['u."id"', 'u."password"'], 11)
    """

    def __init__(self, model: type, alias: str, using: str) -> None:
        conn = connections[using]
        q = conn.ops.quote_name
        fields = model._meta.concrete_fields
        self.model, self.using = model, using
        self.select = ", ".join(f"{alias}.{q(f.column)}" for f in fields)
        self.width = len(fields)
        # (index, column expression, converters) of the values that need converting
        self._convert = []
        for i, f in enumerate(fields):
            col = f.get_col(alias)
            convs = conn.ops.get_db_converters(col) + f.get_db_converters(conn)
            if convs:
                self._convert.append((i, col, convs))

    @classmethod
    def of(cls, model: type, alias: str, using: str = "default") -> Columns:
        """The (cached) :class:`Columns` of ``model`` under ``alias`` on ``using``.

        Parameters
        ----------
        model : type of django.db.models.Model
            The model whose table is read.
        alias : str
            The table's alias in the statement.
        using : str, default ``"default"``
            The database alias.

        Returns
        -------
        Columns
            Built once per (model, alias, database alias, vendor).
        """
        key = (model, alias, using, connections[using].vendor)
        cols = _CACHE.get(key)
        if cols is None:
            cols = _CACHE[key] = cls(model, alias, using)
        return cols

    def instance(self, row: tuple, start: int = 0) -> Any:
        """The instance held by ``row[start:start + width]``.

        Parameters
        ----------
        row : tuple
            A result row of a statement whose select list has :attr:`select` at ``start``.
        start : int, default 0
            Position of the model's first column in ``row``.

        Returns
        -------
        django.db.models.Model
            The instance, its values converted as a queryset converts them.
        """
        values = list(row[start:start + self.width])
        conn = connections[self.using]
        for i, col, convs in self._convert:
            v = values[i]
            for convert in convs:
                v = convert(v, col, conn)
            values[i] = v
        return self.model.from_db(self.using, None, values)
