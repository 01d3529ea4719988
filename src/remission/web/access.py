"""Roles per study and object-level checks.

Every view reaches a study or patient only through :func:`study_for` / :func:`patient_for`,
which answer 404 when the user has no role in that study (so another study's records are
not even confirmed to exist) and 403 when the role lacks the capability.

Every request pays these checks, so they are one plain parameterised SQL statement per
request, read into the models by :class:`remission.web.rows.Columns` rather than a query
built by the ORM: building and compiling an ORM query costs about 0.4 ms of CPU, eight
times the statement itself (docs/performance.md, session 12, "the fixed cost of a
request"). On a patient's URL the study, the user's role in it and the patient are one
statement (the patient joined to the study row it must belong to), each further statement
costing its own round trip and the database driver's work. The rule is the same: a row of
the membership table for this user and this study, and the patient's own study.

On a study's URL :class:`AccessMiddleware` goes one step further: the session's own
statement (:mod:`remission.web.identity`) also reads the user's role, the study and the
patient, and the request's first check uses that read when it is for the same signed-in
user, study and patient, so such a request reads all of them with one statement.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.http import Http404

from remission.web.models import Membership, Patient, Study
from remission.web.rows import Columns

#: capability -> roles that have it
CAPABILITIES: dict[str, frozenset[str]] = {
    "view": frozenset({"admin", "investigator", "data_entry", "monitor", "statistician"}),
    "edit": frozenset({"admin", "investigator", "data_entry"}),
    "sign": frozenset({"investigator"}),
    "query": frozenset({"admin", "monitor"}),
    "answer": frozenset({"admin", "investigator", "data_entry"}),
    "export": frozenset({"admin", "investigator", "statistician"}),
    "manage": frozenset({"admin"}),
}


def _table(model, using: str) -> str:
    return connections[using].ops.quote_name(model._meta.db_table)


#: the study with the user's role in it (no row: no membership) and, on a patient's URL,
#: the patient if it belongs to that study (its columns NULL otherwise)
_STUDY_SQL = ("SELECT {study}, m.role{patient} FROM {study_t} s JOIN {membership_t} m "
              "ON m.study_id = s.id{join} WHERE m.user_id = %s AND s.id = %s")
_PATIENT_JOIN = " LEFT JOIN {patient_t} p ON p.id = %s AND p.study_id = s.id"


#: this request's read of the study, role and patient made with its session
#: (:class:`AccessMiddleware`): a dict, emptied by the first check that uses it
_READ: ContextVar = ContextVar("remission_web_access_read", default=None)


def _tail(using: str, patient: bool) -> tuple[str, str]:
    """The select list and joins that read, after the session's user (alias ``u``), the
    study with that user's role and, with ``patient``, the patient (parameters: the study
    id, then the patient's)."""
    s, p = Columns.of(Study, "st", using), Columns.of(Patient, "p", using)
    user_pk = connections[using].ops.quote_name(get_user_model()._meta.pk.column)
    select = f", m.role, {s.select}" + (f", {p.select}" if patient else "")
    join = (f" LEFT JOIN {_table(Membership, using)} m ON m.user_id = u.{user_pk} "
            "AND m.study_id = %s"
            f" LEFT JOIN {_table(Study, using)} st ON st.id = m.study_id")
    if patient:
        join += f" LEFT JOIN {_table(Patient, using)} p ON p.id = %s AND p.study_id = st.id"
    return select, join


def _from_row(row, patient: bool, using: str) -> tuple[Study | None, str | None,
                                                         Patient | None]:
    """(study, role, patient) from a row of the role, study and patient columns (study
    None: no membership; patient None: not asked for, or not in that study)."""
    s, p = Columns.of(Study, "st", using), Columns.of(Patient, "p", using)
    role = row[0]
    if role is None:
        return None, None, None
    study = s.instance(row, 1)
    start = 1 + s.width
    if not patient or row[start + _pk_index(Patient)] is None:
        return study, role, None
    pat = p.instance(row, start)
    pat.study = study
    return study, role, pat


class AccessMiddleware:
    """On a study's URL, the session, its user, the user's role in the study, the study
    and (on a patient's URL) the patient are read with one statement.

    Placed after Django's session and authentication middleware. Before the view runs,
    when the URL names a study, the request has a session cookie, and neither the session
    nor the user has been read: the session store loads the session with the role, study
    and patient joined (:meth:`remission.web.identity.SessionStore.load_with`), and the
    result is kept for this request only. The first :func:`study_for` or
    :func:`patient_for` of the request uses it when it is for the same signed-in user (the
    user ``django.contrib.auth.get_user`` gives, checked as always), study and patient;
    any other check, or a second one, reads with its own statement. The rules are those
    of :func:`study_for` and :func:`patient_for`, decided on the same columns.

    Parameters
    ----------
    get_response : callable
        The rest of Django's middleware chain.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _READ.set({})
        try:
            return self.get_response(request)
        finally:
            _READ.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        kept = _READ.get()
        study_id = view_kwargs.get("study_id")
        store = getattr(request, "session", None)
        if (kept is None or study_id is None or store is None
                or not hasattr(store, "load_with") or hasattr(request, "_cached_user")
                or store.session_key is None or hasattr(store, "_session_cache")):
            return None
        pk = view_kwargs.get("pk")
        using = router.db_for_read(Study)
        select, join = _tail(using, pk is not None)
        params = [int(study_id)] + ([int(pk)] if pk is not None else [])
        tail = store.load_with(select, join, params)
        user = store.joined_user()
        if tail is not None and user is not None:
            kept["read"] = (user.pk, int(study_id), None if pk is None else int(pk),
                            _from_row(tail, pk is not None, using))
        return None


def _kept(user, study_id: int, patient_pk: int | None):
    """This request's read for (user, study, patient), once; else None."""
    kept = _READ.get()
    if not kept or "read" not in kept:
        return None
    user_pk, sid, ppk, found = kept.pop("read")
    if user_pk != user.pk or sid != int(study_id) or (
            patient_pk is not None and ppk != int(patient_pk)):
        return None
    return found if patient_pk is not None else (*found[:2], None)


def _read(user, study_id: int, patient_pk: int | None,
          capability: str) -> tuple[Study, str, Patient | None]:
    """The one statement of :func:`study_for` / :func:`patient_for` and the study checks.

    Returns (study, role, patient or None: not in that study or not asked for); raises
    404 without a role and 403 when the role lacks ``capability``.
    """
    study = role = pat = None
    if user.is_authenticated:
        found = _kept(user, study_id, patient_pk)
        study, role, pat = found if found is not None else _statement(
            user, study_id, patient_pk)
    if study is None:
        raise Http404("no such study")
    if not can(role, capability):
        raise PermissionDenied(f"the {_role_names().get(role, role)} role cannot do this")
    return study, role, pat


def _statement(user, study_id: int, patient_pk: int | None):
    using = router.db_for_read(Study)
    s, p = Columns.of(Study, "s", using), Columns.of(Patient, "p", using)
    params = [user.pk, int(study_id)]
    join = patient = ""
    if patient_pk is not None:
        join = _PATIENT_JOIN.format(patient_t=_table(Patient, using))
        patient = ", " + p.select
        params.insert(0, int(patient_pk))
    sql = _STUDY_SQL.format(study=s.select, patient=patient, study_t=_table(Study, using),
                            membership_t=_table(Membership, using), join=join)
    with connections[using].cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None, None, None
    role = row[s.width]
    study = s.instance(row)
    start = s.width + 1
    if patient_pk is None or row[start + _pk_index(Patient)] is None:
        return study, role, None
    pat = p.instance(row, start)
    pat.study = study
    return study, role, pat


def _pk_index(model) -> int:
    return model._meta.concrete_fields.index(model._meta.pk)


def _role_names() -> dict[str, str]:
    return dict(Membership._meta.get_field("role").flatchoices)


def can(role: str | None, capability: str) -> bool:
    """Whether ``role`` has ``capability`` (see :data:`CAPABILITIES`).

    Parameters
    ----------
    role : str or None
        A membership role; None (no role) has no capability.
    capability : str
        A key of :data:`CAPABILITIES`: ``view``, ``edit``, ``sign``, ``query``,
        ``answer``, ``export`` or ``manage``.

    Returns
    -------
    bool

    Raises
    ------
    KeyError
        For an unknown capability.

    Examples
    --------
    >>> can("monitor", "edit"), can("monitor", "view"), can(None, "view")
    (False, True, False)
    >>> [r for r in sorted(CAPABILITIES["view"]) if can(r, "sign")]  # investigators only
    ['investigator']
    """
    return role is not None and role in CAPABILITIES[capability]


def study_for(user, study_id: int, capability: str = "view") -> tuple[Study, str]:
    """(study, role) if ``user`` has ``capability`` in it; 404 without a role, 403 without
    the capability.

    Parameters
    ----------
    user : django.contrib.auth.models.User or AnonymousUser
        The request's user.
    study_id : int
        Primary key of the study.
    capability : str, default ``"view"``
        What the caller is about to do (:data:`CAPABILITIES`).

    Returns
    -------
    tuple of (Study, str)
        The study and the user's role in it.

    Raises
    ------
    django.http.Http404
        The user is not signed in or has no role in the study (whether the study exists
        is not revealed).
    django.core.exceptions.PermissionDenied
        The role lacks ``capability``.

    Examples
    --------
    >>> from django.contrib.auth.models import AnonymousUser
    >>> study_for(AnonymousUser(), 3)
    Traceback (most recent call last):
    ...
    django.http.response.Http404: no such study
    """
    study, role, _ = _read(user, study_id, None, capability)
    return study, role


def patient_for(user, study_id: int, patient_pk: int,
                capability: str = "view") -> tuple[Study, Patient, str]:
    """(study, patient, role) with the checks of :func:`study_for`; the patient must belong
    to that study (else 404).

    Parameters
    ----------
    user : django.contrib.auth.models.User or AnonymousUser
        The request's user.
    study_id : int
        Primary key of the study.
    patient_pk : int
        Primary key of the patient.
    capability : str, default ``"view"``
        What the caller is about to do (:data:`CAPABILITIES`).

    Returns
    -------
    tuple of (Study, Patient, str)
        The study, the patient and the user's role.

    Raises
    ------
    django.http.Http404
        As :func:`study_for`, or the patient is not in that study.
    django.core.exceptions.PermissionDenied
        The role lacks ``capability``.

    Examples
    --------
    >>> from django.contrib.auth.models import AnonymousUser
    >>> patient_for(AnonymousUser(), 3, 1, "edit")
    Traceback (most recent call last):
    ...
    django.http.response.Http404: no such study
    """
    study, role, p = _read(user, study_id, int(patient_pk), capability)
    if p is None:
        raise Http404("no such patient")
    return study, p, role
