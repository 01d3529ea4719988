"""Who sent the request: the session and the signed-in user, read with one statement each.

Every request reads its session row and its user before the view runs. Django's
database session store and ``ModelBackend`` build each of these reads as an ORM query,
whose construction and compilation cost several times the statement itself (about
0.25 and 0.2 ms of CPU against 0.02 and 0.07 ms; docs/performance.md, session 12, "the
fixed cost of a request"). The two classes here issue the same statements directly and keep
everything else of Django's: sessions stay server-side in the database table (a logout
or a password change ends them in every server process at once), the session cookie and
its settings are unchanged, an expired row is never read, and an inactive user is not
signed in. The session's hash of the password is still checked by
``django.contrib.auth.get_user``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone


class SessionStore(DbSessionStore):
    """Django's database session store; the row is read with one plain statement.

    Selected by ``SESSION_ENGINE = "remission.web.identity"``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> s = SessionStore()
    >>> s["_auth_user_id"] = "7"
    >>> s.create()
    >>> SessionStore(s.session_key).load()
    {'_auth_user_id': '7'}
    >>> SessionStore("no-such-session-key-0000000000").load()
    {}
    """

    def _get_session_from_db(self):
        model = self.model
        conn = connections[router.db_for_read(model)]
        q = conn.ops.quote_name
        meta = model._meta
        sql = (f"SELECT {q(meta.get_field('session_data').column)} FROM {q(meta.db_table)} "
               f"WHERE {q(meta.pk.column)} = %s AND {q(meta.get_field('expire_date').column)} > %s")
        with conn.cursor() as cur:
            cur.execute(sql, [self.session_key,
                              conn.ops.adapt_datetimefield_value(timezone.now())])
            row = cur.fetchone()
        if row is None:  # unknown or expired: a new key is made if the session is saved
            self._session_key = None
            return None
        return model(session_key=self.session_key, session_data=row[0])


class UserBackend(ModelBackend):
    """Django's ``ModelBackend`` (passwords, permissions, ``is_active``); the user of a
    session is read with one plain statement.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> User = get_user_model()
    >>> u = User.objects.create_user("ward-nurse", password="x" * 12)
    >>> UserBackend().get_user(str(u.pk)) == u
    True
    >>> u.is_active = False
    >>> u.save()
    >>> UserBackend().get_user(u.pk) is None, UserBackend().get_user("not a number") is None
    (True, True)
    """

    def get_user(self, user_id):
        User = get_user_model()
        meta = User._meta
        try:
            pk = meta.pk.to_python(user_id)
        except ValidationError:
            return None
        conn = connections[router.db_for_read(User)]
        q = conn.ops.quote_name
        sql = f"SELECT * FROM {q(meta.db_table)} WHERE {q(meta.pk.column)} = %s"
        user = next(iter(User._default_manager.db_manager(conn.alias).raw(sql, [pk])), None)
        return user if user is not None and self.user_can_authenticate(user) else None
