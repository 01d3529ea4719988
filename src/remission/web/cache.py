"""The shared cache of derived values: Django's database cache, written in one statement.

Server processes share a patient's derived values (grades by day, dashboard counts)
through a table of the database (:data:`remission.web.settings.CACHES`, ``"derived"``).
Django's ``DatabaseCache`` writes each key with three statements (the table's size for
culling, a look-up of the key, then an insert or an update), and ``set_many`` loops over
the keys. :class:`DerivedCache` writes all keys of a ``set_many`` (or the one key of a
``set``) with one ``INSERT ... ON CONFLICT (cache_key) DO UPDATE`` (SQLite >= 3.24 and
PostgreSQL), and counts the table's rows for culling once every ``CHECK_EVERY`` writes of
an instance instead of at every write (Django makes one cache instance per thread, so in a
threaded server each thread counts its own writes). The table, the stored format (pickled,
base64) and every read are Django's own, so ``get``, ``get_many``, ``add`` (the
cross-process locks) and ``delete`` are unchanged. A write outside a transaction is that
one statement, without a transaction around it; :meth:`DerivedCache.write` also removes
keys (a lock released with the values it guarded) in the same statement on PostgreSQL, and
writes in the caller's transaction without a savepoint (a mark that commits with the data
it is about).
"""

from __future__ import annotations

import base64
import pickle
import threading
from contextlib import nullcontext
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

#: rows per INSERT statement (3 parameters each: below SQLite's older 999-variable limit)
CHUNK = 300


class DerivedCache(DatabaseCache):
    """``DatabaseCache`` whose ``set`` and ``set_many`` are one upsert statement.

    Parameters
    ----------
    table : str
        The cache table (``LOCATION``), made by ``createcachetable``.
    params : dict
        Django's cache settings; ``OPTIONS`` may add ``CHECK_EVERY`` (default 16): the
        table's size is compared with ``MAX_ENTRIES`` once every so many writes of this
        instance, one per thread (so the table may exceed ``MAX_ENTRIES`` by the keys of
        that many writes per server thread before it is culled as Django culls it).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database,
    which has the table):

    >>> from django.core.cache import caches
    >>> c = caches["derived"]
    >>> c.set_many({"a": 1, "b": [2, 3]}, timeout=None)
    []
    >>> c.set("a", "one")
    >>> sorted(c.get_many(["a", "b", "c"]).items())
    [('a', 'one'), ('b', [2, 3])]
    """

    def __init__(self, table, params):
        options = dict(params.get("OPTIONS", {}))
        self._check_every = max(1, int(options.pop("CHECK_EVERY", 16)))
        super().__init__(table, {**params, "OPTIONS": options})
        self._writes = 0
        self._writes_lock = threading.Lock()

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        self.set_many({key: value}, timeout=timeout, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None, *,
                 delete=()) -> list:
        """Store ``data`` (and remove the keys ``delete``) as :meth:`write` does; a
        failed write is not an error (as Django's database cache): inside the caller's
        transaction it is undone to a savepoint, so the caller's transaction goes on.

        Returns
        -------
        list
            The keys of ``data`` not stored (all of them after a failure).
        """
        if not data and not delete:
            return []
        db = router.db_for_write(self.cache_model_class)
        try:
            if connections[db].in_atomic_block:  # a failed statement must not end the
                with transaction.atomic(using=db):  # caller's transaction (PostgreSQL)
                    self.write(data, timeout, version, delete=delete)
            else:
                self.write(data, timeout, version, delete=delete)
        except DatabaseError:
            return list(data)
        return []

    def write(self, data, timeout=DEFAULT_TIMEOUT, version=None, *, delete=()) -> None:
        """Store ``data`` and remove the keys ``delete``, in as few statements as the
        database allows, in the caller's transaction when there is one.

        All keys of ``data`` go in one ``INSERT ... ON CONFLICT DO UPDATE`` (per
        :data:`CHUNK` keys). On PostgreSQL the removal of ``delete`` is part of the same
        statement (a ``WITH ... DELETE`` clause), on SQLite it is a second statement, run
        after the first. Outside a transaction a write of one statement runs on its own
        (a single statement is atomic); one of several statements (the size check every
        ``CHECK_EVERY`` writes, several chunks) runs in a transaction of its own, except
        for the removal of ``delete``, which follows the stored values (a reader in
        between sees both: the keys removed are marks whose readers read the values
        first). Inside the caller's transaction no savepoint is taken: a failure raises
        and the caller's transaction is rolled back as a whole, so use it for a write
        that belongs to the caller's (a mark that must commit with the data it is
        about), :meth:`set_many` otherwise.

        Parameters
        ----------
        data : dict
            Key -> value (pickled as Django's database cache pickles it).
        timeout : int or None, optional
            Seconds to keep the values (None: until culled).
        version : int, optional
            Key version, as Django's cache API.
        delete : iterable of str, optional
            Keys to remove (none of them in ``data``).

        Raises
        ------
        django.db.DatabaseError
            When a statement fails.
        ValueError
            When a key is both stored and removed.
        """
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        gone = [self.make_and_validate_key(key, version=version) for key in delete]
        if connection.vendor not in ("sqlite", "postgresql"):  # Django's own, key by key
            for key, value in data.items():
                super().set(key, value, timeout=timeout, version=version)
            self._base_delete_many(gone)
            return
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            exp = datetime.max
        else:
            exp = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        exp = connection.ops.adapt_datetimefield_value(exp.replace(microsecond=0))
        rows = [(self.make_and_validate_key(key, version=version),
                 base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1"),
                 exp) for key, value in data.items()]
        if set(gone) & {r[0] for r in rows}:
            raise ValueError("a key cannot be both stored and removed")
        q = connection.ops.quote_name
        table = q(self._table)
        key_c, value_c, expires_c = q("cache_key"), q("value"), q("expires")
        stores = []  # the upserts, then (SQLite) the removal
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i:i + CHUNK]
            stores.append((
                f"INSERT INTO {table} ({key_c}, {value_c}, {expires_c}) VALUES "
                + ", ".join(["(%s, %s, %s)"] * len(chunk))
                + f" ON CONFLICT ({key_c}) DO UPDATE SET {value_c} = excluded.{value_c}, "
                f"{expires_c} = excluded.{expires_c}", [x for row in chunk for x in row]))
        removals = []
        if gone:
            removal = (f"DELETE FROM {table} WHERE {key_c} IN ("
                       + ", ".join(["%s"] * len(gone)) + ")")
            if connection.vendor == "postgresql" and stores:  # part of the first upsert
                sql, params = stores[0]
                stores[0] = (f"WITH gone AS ({removal}) {sql}", [*gone, *params])
            else:
                removals.append((removal, gone))
        with self._writes_lock:
            check = self._writes % self._check_every == 0
            self._writes += 1
        own = (check or len(stores) > 1) and not connection.in_atomic_block
        with connection.cursor() as cursor:
            with transaction.atomic(using=db) if own else nullcontext():
                if check:
                    cursor.execute(f"SELECT COUNT(*) FROM {table}")
                    num = cursor.fetchone()[0]
                    if num > self._max_entries:
                        self._cull(db, cursor, timezone.now().replace(microsecond=0), num)
                for sql, params in stores:
                    cursor.execute(sql, params)
            for sql, params in removals:
                cursor.execute(sql, params)
