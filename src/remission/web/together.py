"""Rows of several tables read in one SQL statement.

A page that lists a patient's infusions, treatments, adverse events, events, recorded
grades, sign-offs and queries read them with one statement each: on PostgreSQL each
statement costs a round trip and about half a millisecond of the server process's CPU,
whatever its size. :func:`read_together` reads the rows of several simple selections (one
table each, a ``WHERE`` on its own columns) with one ``UNION ALL``, and hands back each
selection's rows as Django would (its columns converted by the same field converters a
queryset applies), in the order of the selection's ``order``.

How the rows of different tables share one result: every branch of the union selects a
tag (the selection's position) and the same list of *slots*. A slot has one database type
(the column type Django gives the field, e.g. ``integer`` or ``varchar(200)``); each
selection's columns take the slots of their types in turn, so two tables' ``integer``
columns share slots, and a branch writes a typed ``CAST(NULL AS type)`` into every slot it
does not use (PostgreSQL resolves each slot's type pairwise along the union, so an
untyped ``NULL`` would become ``text`` and clash). The tag tells whose row each result
row is, and the selection's slots give its columns back in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connections, router


@dataclass
class Selection:
    """The rows of one table to read with :func:`read_together`.

    Parameters
    ----------
    model : type of django.db.models.Model
        The table's model.
    columns : sequence of str
        Its fields' attribute names (``patient_id``, not ``patient``), in the order the
        rows give them.
    where : str
        A condition on the table's own columns in SQL (column names quoted by the caller
        with ``connection.ops.quote_name`` or plain lower-case names), ``%s`` for each of
        ``params``.
    params : sequence
        The condition's parameters.
    order : sequence of str
        Field attribute names among ``columns`` to sort the rows by (``-name``:
        descending), as the model's ``Meta.ordering`` would sort them; the values must be
        comparable and never NULL (integers, booleans, dates; not text, which the
        database compares by its collation: use ``rank``).
    rank : str, optional
        An ``ORDER BY`` list in SQL (e.g. ``"time", "variable", "id"``): the rows are
        numbered by the database in that order (``ROW_NUMBER() OVER``, SQLite >= 3.25 and
        PostgreSQL), so text sorts by the database's collation as a queryset's
        ``order_by`` would, and returned in it (``order`` is then not used).
    """

    model: type
    columns: Sequence[str]
    where: str
    params: Sequence = ()
    order: Sequence[str] = field(default_factory=tuple)
    rank: str | None = None


def _sorted(rows: list[tuple], columns: Sequence[str], order: Sequence[str]) -> list[tuple]:
    """``rows`` sorted by ``order`` (stable sorts from the last key to the first, so a
    descending key needs no negation)."""
    for name in reversed(order):
        desc = name.startswith("-")
        i = list(columns).index(name.lstrip("-"))
        rows.sort(key=lambda r, i=i: r[i], reverse=desc)
    return rows


def read_together(selections: Sequence[Selection], using: str | None = None
                  ) -> list[list[tuple]]:
    """The rows of each selection, read with one ``UNION ALL`` statement.

    Parameters
    ----------
    selections : sequence of Selection
        What to read (see :class:`Selection`).
    using : str, optional
        The database alias (default: the router's read database of the first model).

    Returns
    -------
    list of list of tuple
        Per selection, its rows as tuples of its ``columns``, converted from the database
        values as a Django queryset converts them (booleans, dates, JSON), sorted by its
        ``order``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> from remission.web.models import Event, Observation, Patient, Study
    >>> p = Patient.objects.create(study=Study.objects.create(code="d", name="D", toml=""),
    ...                            patient_id="P01", line=2)
    >>> _ = Observation.objects.create(patient=p, day=1, variable="temperature",
    ...                                value="39.2", unit="°C", line=2)
    >>> _ = Event.objects.create(patient=p, day=28, event="death", line=2)
    >>> obs, ev = read_together([
    ...     Selection(Observation, ["day", "value", "retired"], "patient_id = %s", [p.pk]),
    ...     Selection(Event, ["day", "event", "extra"], "patient_id = %s", [p.pk])])
    >>> obs, ev
    ([(1, '39.2', False)], [(28, 'death', {})])
    """
    if not selections:
        return []
    db = using or router.db_for_read(selections[0].model)
    connection = connections[db]
    q = connection.ops.quote_name
    # slots: one per (database type, k-th column of that type in a selection)
    slots: list[str] = []
    placed: list[list[int]] = []  # per selection, the slot of each column
    fields = []
    for sel in selections:
        seen: dict[str, int] = {}
        mine = []
        fs = [sel.model._meta.get_field(c) for c in sel.columns]
        for f in fs:
            t = f.db_type(connection) if not f.is_relation else \
                f.target_field.rel_db_type(connection)
            k = seen.get(t, 0)
            seen[t] = k + 1
            taken = [i for i, s in enumerate(slots) if s == t]
            if k < len(taken):
                mine.append(taken[k])
            else:
                slots.append(t)
                mine.append(len(slots) - 1)
        placed.append(mine)
        fields.append(fs)
    parts, params = [], []
    ranked = any(sel.rank for sel in selections)
    for n, (sel, mine, fs) in enumerate(zip(selections, placed, fields, strict=True)):
        cols = [f"CAST(NULL AS {t})" for t in slots]
        for f, s in zip(fs, mine, strict=True):
            cols[s] = q(f.column)
        if ranked:  # the row's number in the selection's rank (0 without one)
            cols.append(f"ROW_NUMBER() OVER (ORDER BY {sel.rank})" if sel.rank else "0")
        parts.append(f"SELECT {n}, {', '.join(cols)} FROM {q(sel.model._meta.db_table)} "
                     f"WHERE {sel.where}")
        params.extend(sel.params)
    sql = " UNION ALL ".join(parts)
    # the converters a queryset applies to each field's column (Django's compiler's own)
    convs = []
    for sel, fs in zip(selections, fields, strict=True):
        mine = []
        for f in fs:
            col = f.get_col(sel.model._meta.db_table)
            cs = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            mine.append((cs, col))
        convs.append(mine)
    out: list[list[tuple]] = [[] for _ in selections]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if ranked:
        rows.sort(key=lambda r: r[-1])  # (a stable sort: each selection in its rank)
    for row in rows:
        n = row[0]
        vals = []
        for s, (cs, col) in zip(placed[n], convs[n], strict=True):
            v = row[1 + s]
            for c in cs:
                v = c(v, col, connection)
            vals.append(v)
        out[n].append(tuple(vals))
    return [rows if sel.rank else _sorted(rows, sel.columns, sel.order)
            for rows, sel in zip(out, selections, strict=True)]


def instances(model, columns: Sequence[str], rows: list[tuple], using: str = "default"
              ) -> list:
    """Model instances of rows read by :func:`read_together` (as a queryset builds them:
    ``Model.from_db``, so they compare, display and link as the queryset's would).

    Parameters
    ----------
    model : type of django.db.models.Model
        The rows' model.
    columns : sequence of str
        The rows' fields (attribute names); fields not among them are deferred.
    rows : list of tuple
        The rows.
    using : str
        The database alias the rows came from.

    Returns
    -------
    list
        One instance per row, in order.

    Examples
    --------
    >>> from remission.web.models import Event
    >>> e, = instances(Event, ["id", "day", "event", "value"], [(4, 28, "death", "")])
    >>> e.pk, e.get_event_display()
    (4, 'death')
    """
    names = [f.attname for f in model._meta.concrete_fields if f.attname in columns]
    if list(columns) == names:
        return [model.from_db(using, names, r) for r in rows]
    at = [list(columns).index(n) for n in names]  # from_db takes the fields' own order
    return [model.from_db(using, names, [r[i] for i in at]) for r in rows]
