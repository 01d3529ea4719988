"""Who sent the request: the session and the signed-in user, read with one statement.

Every request reads its session row and its user before the view runs. Django's
database session store and ``ModelBackend`` build each of these reads as an ORM query,
whose construction and compilation cost several times the statement itself (about
0.25 and 0.2 ms of CPU against 0.02 and 0.07 ms; docs/performance.md, session 12, "the
fixed cost of a request"), and each statement is a round trip with the database driver's
own work on top. Here the session table (:class:`remission.web.models.UserSession`) keeps
the user's key in a column, so one plain statement reads the session row joined to its
user:

1. :class:`SessionStore` loads the session (``session_key`` and ``expire_date`` in the
   future, as Django's store) and keeps the joined user row, if any, on the store. At every
   save it writes the ``user`` column from the user key of the session data.
2. :class:`AuthenticationMiddleware` (Django's, same lazy ``request.user``) runs Django's
   ``django.contrib.auth.get_user`` with the request's session store made visible to the
   authentication backend for that call only.
3. :class:`UserBackend` (Django's ``ModelBackend``) answers ``get_user(user_id)`` with the
   store's joined user when it was read with the session the store still holds and its
   key is ``user_id``; otherwise (a session read before this code, a changed key) it reads
   the user with one statement.

On a study's URL :class:`remission.web.access.AccessMiddleware` loads the session with
:meth:`SessionStore.load_with`, the same statement also reading the user's role, the study
and the patient.

Everything else is Django's: sessions stay server-side in the database table (a logout or
a password change ends them in every server process at once), the session cookie and its
settings are unchanged, an expired row is never read, an inactive user is not signed in,
and ``get_user`` still checks the session's hash of the password.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.contrib import auth
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from remission.web.rows import Columns

#: the session store of the request whose user ``auth.get_user`` is reading (else None)
_SESSION: ContextVar = ContextVar("remission_web_session", default=None)


def _user_key(value):
    """The user model's primary key from a session's ``_auth_user_id`` (None if invalid)."""
    if value is None:
        return None
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


class SessionStore(DbSessionStore):
    """Django's database session store; the row and its user are read with one statement.

    Selected by ``SESSION_ENGINE = "remission.web.identity"``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> User = get_user_model()
    >>> u = User.objects.create_user("ward-clerk", password="x" * 12)
    >>> s = SessionStore()
    >>> s[SESSION_KEY] = str(u.pk)
    >>> s.create()
    >>> t = SessionStore(s.session_key)
    >>> t.load() == {SESSION_KEY: str(u.pk)}, t.joined_user() == u
    (True, True)
    >>> SessionStore("no-such-session-key-0000000000").load()
    {}
    """

    @classmethod
    def get_model_class(cls):
        from remission.web.models import UserSession

        return UserSession

    def _read(self, tail_select: str = "", tail_join: str = "", tail_params=()):
        """The session row joined to its user (and to ``tail_join``'s tables): the row, or
        None for an unknown or expired key (which is then forgotten)."""
        model = self.model
        using = router.db_for_read(model)
        conn = connections[using]
        q = conn.ops.quote_name
        meta = model._meta
        users = Columns.of(get_user_model(), "u", using)
        user_pk = users.model._meta.pk.column
        sql = (f"SELECT s.{q(meta.get_field('session_data').column)}, {users.select}"
               f"{tail_select} "
               f"FROM {q(meta.db_table)} s LEFT JOIN {q(users.model._meta.db_table)} u "
               f"ON u.{q(user_pk)} = s.{q(meta.get_field('user').column)}{tail_join} "
               f"WHERE s.{q(meta.pk.column)} = %s "
               f"AND s.{q(meta.get_field('expire_date').column)} > %s")
        with conn.cursor() as cur:
            cur.execute(sql, [*tail_params, self.session_key,
                              conn.ops.adapt_datetimefield_value(timezone.now())])
            row = cur.fetchone()
        self._joined = None
        if row is None:  # unknown or expired: a new key is made if the session is saved
            self._session_key = None
            return None
        pk_at = 1 + users.model._meta.concrete_fields.index(users.model._meta.pk)
        if row[pk_at] is not None:
            self._joined = (self.session_key, users.instance(row, 1))
        return row

    def _get_session_from_db(self):
        row = self._read()
        if row is None:
            return None
        return self.model(session_key=self.session_key, session_data=row[0])

    def load_with(self, tail_select: str, tail_join: str, tail_params) -> tuple | None:
        """Load the session as ``load`` does, in a statement that also reads other tables.

        For :mod:`remission.web.access`: the tables are joined after the user (alias
        ``u``; the session is ``s``), their columns selected after the user's.

        Parameters
        ----------
        tail_select : str
            ``, col, ...``: the further columns.
        tail_join : str
            `` LEFT JOIN ...``: the further tables, joined so the session row stays one row.
        tail_params : sequence
            The parameters of ``tail_join``.

        Returns
        -------
        tuple or None
            The further columns' values; None when the session row is unknown or expired
            (the session is then empty, as after ``load``).
        """
        row = self._read(tail_select, tail_join, tail_params)
        self._session_cache = self.decode(row[0]) if row is not None else {}
        if row is None:
            return None
        return row[1 + Columns.of(get_user_model(), "u", router.db_for_read(self.model)).width:]

    def joined_user(self):
        """The user read with this store's session row, while the store holds that session.

        Returns
        -------
        User or None
            None before a load, without a user column, or after the session key changed
            (``cycle_key``, ``flush``).
        """
        joined = getattr(self, "_joined", None)
        if joined is None or joined[0] != self.session_key:
            return None
        return joined[1]

    def create_model_instance(self, data):
        """The row to save: Django's, with ``user`` from the data's ``_auth_user_id``."""
        obj = super().create_model_instance(data)
        obj.user_id = _user_key(data.get(SESSION_KEY))
        return obj


class AuthenticationMiddleware(DjangoAuthentication):
    """Django's ``AuthenticationMiddleware``: ``request.user`` is the lazily read user of
    ``django.contrib.auth.get_user``, which reads it, for that call only, with the
    session's own statement (:class:`UserBackend`).
    """

    def process_request(self, request) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user_of(request))


def _user_of(request):
    if not hasattr(request, "_cached_user"):  # the attribute Django's middleware caches in
        token = _SESSION.set(request.session)
        try:
            request._cached_user = auth.get_user(request)
        finally:
            _SESSION.reset(token)
    return request._cached_user


class UserBackend(ModelBackend):
    """Django's ``ModelBackend`` (passwords, permissions, ``is_active``); the user of a
    session is the one read with the session, else read with one plain statement.

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
        pk = _user_key(user_id)
        if pk is None:
            return None
        joined = getattr(_SESSION.get(), "joined_user", None)
        user = joined() if joined is not None else None
        if user is None or user.pk != pk:
            User = get_user_model()
            using = router.db_for_read(User)
            conn = connections[using]
            users = Columns.of(User, "u", using)
            q = conn.ops.quote_name
            sql = (f"SELECT {users.select} FROM {q(User._meta.db_table)} u "
                   f"WHERE u.{q(User._meta.pk.column)} = %s")
            with conn.cursor() as cur:
                cur.execute(sql, [pk])
                row = cur.fetchone()
            user = users.instance(row) if row is not None else None
        return user if user is not None and self.user_can_authenticate(user) else None
