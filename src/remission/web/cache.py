"""The shared cache of derived values: Django's database cache, written in one statement.

Server processes share a patient's derived values (grades by day, dashboard counts)
through a table of the database (:data:`remission.web.settings.CACHES`, ``"derived"``).
Django's ``DatabaseCache`` writes each key with three statements (the table's size for
culling, a look-up of the key, then an insert or an update), and ``set_many`` loops over
the keys. :class:`DerivedCache` writes all keys of a ``set_many`` (or the one key of a
``set``) with one ``INSERT ... ON CONFLICT (cache_key) DO UPDATE`` (SQLite >= 3.24 and
PostgreSQL), and counts the table's rows for culling once every ``CHECK_EVERY`` writes of
a process instead of at every write. The table, the stored format (pickled, base64) and
every read are Django's own, so ``get``, ``get_many``, ``add`` (the cross-process locks)
and ``delete`` are unchanged.
"""

from __future__ import annotations

import base64
import pickle
import threading
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
        table's size is compared with ``MAX_ENTRIES`` once every so many writes of a
        process (so it may exceed ``MAX_ENTRIES`` by that many writes' keys before it is
        culled as Django culls it).

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

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        if not data:
            return []
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor not in ("sqlite", "postgresql"):  # Django's own, key by key
            for key, value in data.items():
                super().set(key, value, timeout=timeout, version=version)
            return []
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            exp = datetime.max
        else:
            exp = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        exp = connection.ops.adapt_datetimefield_value(exp.replace(microsecond=0))
        rows = [(self.make_and_validate_key(key, version=version),
                 base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1"),
                 exp) for key, value in data.items()]
        q = connection.ops.quote_name
        table = q(self._table)
        key_c, value_c, expires_c = q("cache_key"), q("value"), q("expires")
        with self._writes_lock:
            check = self._writes % self._check_every == 0
            self._writes += 1
        try:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                if check:
                    cursor.execute(f"SELECT COUNT(*) FROM {table}")
                    num = cursor.fetchone()[0]
                    if num > self._max_entries:
                        self._cull(db, cursor, timezone.now().replace(microsecond=0), num)
                for i in range(0, len(rows), CHUNK):
                    chunk = rows[i:i + CHUNK]
                    cursor.execute(
                        f"INSERT INTO {table} ({key_c}, {value_c}, {expires_c}) VALUES "
                        + ", ".join(["(%s, %s, %s)"] * len(chunk))
                        + f" ON CONFLICT ({key_c}) DO UPDATE SET {value_c} = excluded.{value_c}, "
                        f"{expires_c} = excluded.{expires_c}",
                        [x for row in chunk for x in row])
        except DatabaseError:  # as Django's database cache: a failed write is not an error
            return list(data)
        return []
