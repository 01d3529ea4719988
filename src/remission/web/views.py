"""Views. Each reaches its study and patient through :mod:`remission.web.access` (404 for
another study's user, 403 for a role without the capability) and calls the library for
everything clinical: grades (:mod:`remission.web.grading` -> derive.criteria), validation
(:func:`remission.study.check_rows`), report (:func:`remission.web.folder.study_bundle`)."""

from __future__ import annotations

import csv
import hashlib
import io
import mimetypes
import tempfile
import threading
import zipfile
from pathlib import Path

import pandas as pd
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Max
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from remission.errors import InputError
from remission.io.cells import neutralise
from remission.study import check_rows
from remission.vocab import ctcae_terms
from remission.web import folder as folder_io
from remission.web import fragments, summaries
from remission.web.access import can, patient_for, study_for
from remission.web.forms import (
    AdverseEventForm,
    AnswerForm,
    BedsideForm,
    EventForm,
    ImportForm,
    InfusionForm,
    ObservationEditForm,
    PatientForm,
    QueryForm,
    RetireForm,
    SignOffForm,
    TreatmentForm,
    check_day_rows,
    problems_to_form,
    typed_rows,
)
from remission.web.grading import (
    claim_derivation,
    convert_day,
    daily_rows,
    fingerprint,
    grade_day,
    inputs_after_save,
    per_revision,
    recorded_grades,
    stored_day_rows,
    study_config,
)
from remission.web.models import (
    AdverseEvent,
    Event,
    Infusion,
    Membership,
    Observation,
    Patient,
    Query,
    RecordedGrade,
    SignOff,
    Treatment,
    create_records,
    patient_fingerprint,
)
from remission.web.records import patient_records
from remission.web.security import REPORT_CSP

# ----------------------------------------------------------------------------- helpers


def static(request, path: str):
    """Static files of the installed apps (htmx, the stylesheet); local use only.

    Served without sign-in (the login page needs them); paths with ``..`` are refused.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request.
    path : str
        Path relative to the apps' ``static`` folders, e.g. ``web/remission.css``.

    Returns
    -------
    django.http.FileResponse
        The file with its guessed content type, cacheable for an hour.

    Raises
    ------
    django.http.Http404
        No installed app has ``path``, or it contains ``..``.

    Examples
    --------
    >>> from django.test import RequestFactory
    >>> response = static(RequestFactory().get("/static/web/remission.css"),
    ...                   "web/remission.css")
    >>> response.status_code, response["Content-Type"], response["Cache-Control"]
    (200, 'text/css', 'max-age=3600')
    >>> response.file_to_stream.close()
    >>> static(RequestFactory().get("/"), "web/../settings.py")
    Traceback (most recent call last):
    ...
    django.http.response.Http404: web/../settings.py
    """
    found = finders.find(path)
    if not found or ".." in Path(path).parts:
        raise Http404(path)
    ctype = mimetypes.guess_type(found)[0] or "application/octet-stream"
    resp = FileResponse(open(found, "rb"), content_type=ctype)  # noqa: SIM115
    resp["Cache-Control"] = "max-age=3600"
    return resp


def _next_line(model, study, field: str = "patient__study") -> int:
    if model is Observation:  # the study's highest line is the highest of its patients'
        # highest lines: one look-up per patient on the (patient, line) index instead of
        # a scan of the study's readings (every bedside save reads it); the statement the
        # ORM builds for Max(Subquery(...)), written once (building it cost more than
        # running it)
        q = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT MAX((SELECT U0.{q('line')} FROM {q(Observation._meta.db_table)} U0 "
                f"WHERE U0.{q('patient_id')} = P.{q('id')} ORDER BY U0.{q('line')} DESC "
                f"LIMIT 1)) FROM {q(Patient._meta.db_table)} P WHERE P.{q('study_id')} = %s",
                [study.pk])
            m = cur.fetchone()[0]
    else:
        m = model.objects.filter(**{field: study}).aggregate(m=Max("line"))["m"]
    return (m or 1) + 1


def _treatment_line(study) -> int:
    return max(_next_line(Treatment, study), _next_line(Infusion, study))


def _ctx(request, study, role, **kw):
    return {"study": study, "role": role, "can_edit": can(role, "edit"),
            "can_sign": can(role, "sign"), "can_query": can(role, "query"),
            "can_answer": can(role, "answer"), "can_export": can(role, "export"),
            "can_manage": can(role, "manage"), **kw}


# ----------------------------------------------------------------------------- pages


@login_required
def home(request):
    """The signed-in user's studies (one line per membership, by study name) and, for
    staff, the link to import a study.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).

    Returns
    -------
    django.http.HttpResponse
        The ``web/home.html`` page.

    Examples
    --------
    Reached through ``urls.py``; a request that is not signed in is sent to the login page
    before any data are read:

    >>> from django.contrib.auth.models import AnonymousUser
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("home", kwargs={})
    >>> url, resolve(url).func is home
    ('/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = AnonymousUser()
    >>> response = home(request)
    >>> response.status_code, response.url
    (302, '/login/?next=/')
    """
    ms = Membership.objects.filter(user=request.user).select_related("study").order_by(
        "study__name")
    return render(request, "web/home.html", {"memberships": ms,
                                             "can_import": request.user.is_staff})


@login_required
def study_page(request, study_id: int):
    """The study's patients (by line), each with its sign-off and whether the sign-off
    still matches the patient's data, and the number of open queries.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).

    Returns
    -------
    django.http.HttpResponse
        The ``web/study.html`` page.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a request that is not signed in is sent to the login page
    before any data are read:

    >>> from django.contrib.auth.models import AnonymousUser
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("study", kwargs={"study_id": 3})
    >>> url, resolve(url).func is study_page
    ('/study/3/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = AnonymousUser()
    >>> response = study_page(request, study_id=3)
    >>> response.status_code, response.url
    (302, '/login/?next=/study/3/')
    """
    from django.contrib.auth import get_user_model

    from remission.web.together import Selection, instances, read_together

    study, role = study_for(request.user, study_id)
    # the list shows four columns of each patient; whole rows (clinical data, decoded
    # JSON) are read only for the signed-off patients, whose fingerprint is checked. The
    # patients, their sign-offs with who signed and the open queries: one statement
    User = get_user_model()
    q = connection.ops.quote_name
    mine = (f"{q('patient_id')} IN (SELECT {q('id')} FROM {q(Patient._meta.db_table)} "
            f"WHERE {q('study_id')} = %s)")
    pcols = ["id", "patient_id", "retired", "retire_reason", "line"]
    scols = [f.attname for f in SignOff._meta.concrete_fields]
    prows, srows, urows, qrows = read_together([
        Selection(Patient, pcols, f"{q('study_id')} = %s", [study.pk], ("line", "id")),
        Selection(SignOff, scols, mine, [study.pk], ("signed_at", "id")),
        Selection(User, ["id", "username"],
                  f"{q('id')} IN (SELECT {q('signed_by_id')} FROM "
                  f"{q(SignOff._meta.db_table)} WHERE {mine})", [study.pk]),
        Selection(Query, ["id"], f"{mine} AND NOT {q('closed')}", [study.pk])])
    patients = [{"pk": pk, "patient_id": pid, "retired": r, "retire_reason": why}
                for pk, pid, r, why, _ in prows]
    users = {u.pk: u for u in instances(User, ["id", "username"], urows)}
    signed = {}
    for s in instances(SignOff, scols, srows):
        s.signed_by = users[s.signed_by_id]
        signed[s.patient_id] = s
    full = Patient.objects.in_bulk(list(signed)) if signed else {}
    for p in full.values():
        p.study = study  # read once (the fingerprint's key carries its study.toml)
    rows = []
    # one reverse() for the list: a patient's URL is its study's prefix and its pk (urls.P)
    prefix = reverse("patient", args=[study.pk, 0]).removesuffix("0/")
    for p in patients:
        s = signed.get(p["pk"])
        rows.append({"p": p, "signoff": s, "url": f"{prefix}{p['pk']}/",
                     "valid": s is not None
                     and s.fingerprint == fingerprint(full[p["pk"]], fresh=True)})
    cfg = study_config(study)
    return render(request, "web/study.html", _ctx(
        request, study, role, rows=rows, config=cfg, open_queries=len(qrows)))


def _patient_lists(p) -> dict:
    """The patient page's lists: records (kept per revision of the patient:
    :func:`remission.web.records.patient_records`), sign-off and queries with the names
    of who signed or raised them, all read in one statement."""
    from django.contrib.auth import get_user_model

    from remission.web.records import selection
    from remission.web.together import Selection, instances

    User = get_user_model()
    q = connection.ops.quote_name
    users = (f"{q('id')} IN (SELECT {q('signed_by_id')} FROM {q(SignOff._meta.db_table)} "
             f"WHERE {q('patient_id')} = %s UNION SELECT {q('raised_by_id')} FROM "
             f"{q(Query._meta.db_table)} WHERE {q('patient_id')} = %s)")
    recs, (sigs, queries, names) = patient_records(p, [
        selection(SignOff, p.pk), selection(Query, p.pk),
        Selection(User, ["id", "username"], users, [p.pk, p.pk])])
    by_id = {u.pk: u for u in instances(User, ["id", "username"], names)}
    sig = None
    if sigs:  # the latest (SignOff's ordering)
        sig, = instances(SignOff, [f.attname for f in SignOff._meta.concrete_fields],
                         sigs[:1])
        sig.signed_by = by_id[sig.signed_by_id]
    qs = instances(Query, [f.attname for f in Query._meta.concrete_fields], queries)
    for x in qs:
        x.raised_by = by_id[x.raised_by_id]
    return {"infusions": recs["infusions"], "treatments": recs["treatments"],
            "adverse_events": recs["adverse_events"], "events": recs["events"],
            "queries": qs, "signoff": sig}


def _day_rows_html(template: str, rows, study, p) -> str:
    """The rows of a patient's table by day (``d``), each linking its bedside day."""
    head, tail = fragments.url_around("bedside", study.pk, p.pk)
    return fragments.render_rows(template, rows, day_url=head, day_url_end=tail)


def _stored_rows_html(stored, study, p, can_edit: bool) -> str:
    """The bedside day's stored readings (``o``), with links to correct or retire each
    one for a role that edits."""
    links = {}
    if can_edit:
        for name in ("record_edit", "retire"):
            head, tail = fragments.url_around(name, study.pk, p.pk, "observation")
            key = "edit" if name == "record_edit" else name
            links.update({f"{key}_url": head, f"{key}_url_end": tail})
    return fragments.render_rows("web/_stored_row.html", stored, name="o",
                                 can_edit=can_edit, **links)


def _record_links(study, p, role) -> dict[str, str]:
    """The text around a record's key in its links to correct or retire it, per kind of
    record the patient page lists (``infusion_edit`` + pk + ``infusion_edit_end``...),
    for a role that edits: no ``{% url %}`` per record."""
    if not can(role, "edit"):
        return {}
    links = {}
    for kind in ("infusion", "treatment", "adverse_event", "event"):
        for name, key in (("record_edit", "edit"), ("retire", "retire")):
            head, tail = fragments.url_around(name, study.pk, p.pk, kind)
            links.update({f"{kind}_{key}": head, f"{kind}_{key}_end": tail})
    return links


#: the daily table's grade columns (whole numbers, None when not assessed or not recorded)
_GRADE_CELLS = ("crs", "neuro", "crs_recorded", "neuro_recorded")


def _daily_shown(p) -> tuple[list[dict], int | None, int | None]:
    """The patient page's daily table as rows (dicts) and its maximum CRS and
    neurotoxicity grades (None when not assessed): the rows of the daily table
    (:func:`~remission.web.grading.daily_rows`, no frame) with each grade a whole number
    or None."""
    rows = [{**r, **{k: None if pd.isna(r[k]) else int(r[k]) for k in _GRADE_CELLS}}
            for r in daily_rows(p, fresh=True) or ()]

    def most(k: str) -> int | None:
        return max((r[k] for r in rows if r[k] is not None), default=None)

    return rows, most("crs"), most("neuro")


def _shown_grades(p) -> tuple[list[dict], int | None, int | None]:
    """:func:`_daily_shown` of a patient read in this request, once per revision of the
    patient in this process (shared by the looks at the revision: never changed). The
    maxima are the ones the patient page shows and a sign-off stores."""
    return per_revision(p, "daily_shown", lambda: _daily_shown(p), fresh=True, shared=False)


def _patient_ctx(request, study, p, role, lists):
    daily, crs_max, neuro_max = _shown_grades(p)
    sig = lists["signoff"]
    return _ctx(
        request, study, role, patient=p, daily=daily,
        daily_rows=_day_rows_html("web/_daily_row.html", daily, study, p),
        crs_max=crs_max, neuro_max=neuro_max,
        **lists,
        signoff_valid=sig is not None and sig.fingerprint == fingerprint(p, fresh=True),
        # the unbound forms as their as_p() writes them, kept in this process
        query_form={"as_p": fragments.form_as_p(QueryForm)},
        answer_form={"as_p": fragments.form_as_p(AnswerForm)},
        signoff_form={"as_p": fragments.form_as_p(SignOffForm)},
        fields=[(k, v) for k, v in p.data.items()])


@login_required
def patient_page(request, study_id: int, pk: int):
    """One patient: derived CRS and neurotoxicity grades by day next to the recorded
    ones, records, queries and sign-off. Stored data the validator no longer accepts are
    shown as problems instead of grades.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.

    Returns
    -------
    django.http.HttpResponse
        The ``web/patient.html`` page.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a request that is not signed in is sent to the login page
    before any data are read:

    >>> from django.contrib.auth.models import AnonymousUser
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("patient", kwargs={"study_id": 3, "pk": 1})
    >>> url, resolve(url).func is patient_page
    ('/study/3/patient/1/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = AnonymousUser()
    >>> response = patient_page(request, study_id=3, pk=1)
    >>> response.status_code, response.url
    (302, '/login/?next=/study/3/patient/1/')
    """
    study, p, role = patient_for(request.user, study_id, pk)
    lists = {**_patient_lists(p), **_record_links(study, p, role)}
    try:
        ctx = _patient_ctx(request, study, p, role, lists)
    except InputError as exc:  # stored data the validator no longer accepts
        ctx = _ctx(request, study, role, patient=p, daily=[], problems=exc.problems,
                   **{k: v for k, v in lists.items() if k != "signoff"},
                   fields=list(p.data.items()))
    return render(request, "web/patient.html", ctx)


@login_required
@require_http_methods(["GET"])
def timeline_page(request, study_id: int, pk: int):
    """The patient's course by day (remission.web.summaries.timeline).

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.

    Returns
    -------
    django.http.HttpResponse
        The ``web/timeline.html`` page (problems instead of days when the stored
        data no longer validate).

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's POST is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("timeline", kwargs={"study_id": 3, "pk": 1})
    >>> url, resolve(url).func is timeline_page
    ('/study/3/patient/1/timeline/', True)
    >>> request = RequestFactory().post(url)
    >>> request.user = User(username="ann")
    >>> response = timeline_page(request, study_id=3, pk=1)
    >>> response.status_code, response["Allow"]
    (405, 'GET')
    """
    study, p, role = patient_for(request.user, study_id, pk, "view")
    problems = []
    try:
        days = summaries.timeline(p, fresh=True)
    except InputError as exc:  # stored data the validator no longer accepts
        days, problems = [], exc.problems
    return render(request, "web/timeline.html", _ctx(
        request, study, role, patient=p, days=days, problems=problems,
        day_rows=_day_rows_html("web/_timeline_row.html", days, study, p)))


@login_required
@require_http_methods(["GET"])
def dashboard_page(request, study_id: int):
    """Cohort dashboard (remission.web.summaries.dashboard): grade distributions by
    cohort, responses, monitoring and overdue queries.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).

    Returns
    -------
    django.http.HttpResponse
        The ``web/dashboard.html`` page.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's POST is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("dashboard", kwargs={"study_id": 3})
    >>> url, resolve(url).func is dashboard_page
    ('/study/3/dashboard/', True)
    >>> request = RequestFactory().post(url)
    >>> request.user = User(username="ann")
    >>> response = dashboard_page(request, study_id=3)
    >>> response.status_code, response["Allow"]
    (405, 'GET')
    """
    study, role = study_for(request.user, study_id, "view")
    problems = []
    try:
        d = summaries.dashboard(study)
    except InputError as exc:
        d, problems = None, exc.problems
    tables, responses = [], []
    if d is not None:
        responses = [(kind, counts.most_common()) for kind, counts in d.responses.items()]
        for name, counts in zip(d.grade_names, (d.crs, d.neuro), strict=True):
            tables.append((name, summaries.grade_rows(counts, d.cohorts, d.grade_levels)))
    return render(request, "web/dashboard.html", _ctx(
        request, study, role, d=d, tables=tables, responses=responses, problems=problems,
        monitoring=summaries.MONITORING_DAYS, query_days=summaries.QUERY_OVERDUE_DAYS))


# ----------------------------------------------------------------------------- bedside


def _day_rows(p, day: int) -> list[dict[str, str]]:
    # the cells only (no model instances built: the live grade reads them per keystroke)
    return [{"variable": v, "value": x, "unit": u, "time": t, "source": s, **e}
            for v, x, u, t, s, e in p.observations.active().filter(day=day).values_list(
                "variable", "value", "unit", "time", "source", "extra")]


def _bedside_rows(p, day: int):
    """What the bedside GET shows of the stored day, read in one statement: the recorded
    (CRS, neurotoxicity) grades (None when none), the active readings as
    :func:`_day_rows` gives them and every reading of the day (retired ones too) for the
    stored table, in the database's order (time, variable, id)."""
    from remission.web.together import Selection, read_together

    q = connection.ops.quote_name
    cond = f"{q('patient_id')} = %s AND {q('day')} = %s"
    ocols = ["id", "time", "variable", "value", "unit", "extra", "retired", "retire_reason",
             "source", "line"]
    recs, obs = read_together([
        Selection(RecordedGrade, ["crs_grade", "neuro_grade", "id"],
                  f"{cond} AND NOT {q('retired')}", [p.pk, day], ("id",)),
        Selection(Observation, ocols, cond, [p.pk, day],
                  rank=f"{q('time')}, {q('variable')}, {q('id')}")])
    rec = recs[0][:2] if recs else None
    stored = [{"pk": pk, "time": t, "variable": v, "value": x, "unit": u, "extra": e,
               "retired": r, "retire_reason": why}
              for pk, t, v, x, u, e, r, why, _s, _line in obs]
    active = sorted((o for o in obs if not o[6]), key=lambda o: (o[9], o[0]))  # line, id
    rows = [{"variable": v, "value": x, "unit": u, "time": t, "source": src, **e}
            for _pk, t, v, x, u, e, _r, _why, src, _line in active]
    return rec, rows, stored


def _grades_for(p, day: int, new: list[dict[str, str]], stored=None):
    """Grades with the typed readings ``new`` added to the day's stored ones (None +
    problems when the validator rejects a value); ``stored``: the recorded grades and
    the day's rows of :func:`_bedside_rows` when read (nothing typed)."""
    if new:  # the day's stored rows as graded (read once per revision of the patient)
        rows = stored_day_rows(p, day, fresh=True) + new
        problems = check_day_rows(p.patient_id, day, rows)
    else:  # the stored day: its rows change only with the patient's revision
        rows = _day_rows(p, day) if stored is None else stored[1]
        problems = per_revision(p, f"day-problems:{day}",
                                lambda: check_day_rows(p.patient_id, day, rows), fresh=True,
                                shared=False)
    if problems:
        return None, problems
    try:
        # nothing typed: the stored day, from the patient's course (graded once per
        # revision of the patient for all server processes)
        day = grade_day(p, day, rows if new else None, checked=True, fresh=True,
                        stored=None if new or stored is None else (
                            [{"variable": r["variable"], "value": r["value"],
                              "unit": r["unit"]} for r in rows], stored[0]))
        return day, []
    except InputError as exc:
        return None, exc.problems


def _with_typed_recorded(grades, data):
    """The recorded grades typed in the form's ``data`` (in place of the stored ones)."""
    for key, g in (("crs_recorded", grades.crs), ("neuro_recorded", grades.neuro)):
        v = str(data.get(key, "") or "").strip()
        if v.isdigit():
            g.recorded = int(v)
    return grades


@login_required
@require_http_methods(["GET", "POST"])
def bedside(request, study_id: int, pk: int, day: int):
    """The bedside page of one patient-day: readings typed and graded live.

    GET shows the day's stored readings and grades. POST checks the new readings with the
    study validator (problems shown on their fields), grades the day, and saves the
    readings and the recorded grades in one transaction; changing a recorded grade needs
    a reason (kept in the audit trail). Viewing needs ``view``, saving ``edit``.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.
    day : int
        Day relative to the first infusion (negative before day 0).

    Returns
    -------
    django.http.HttpResponse
        The ``web/bedside.html`` page, or a redirect to it after a save.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` (GET) or ``edit`` (POST`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's PUT is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("bedside", kwargs={"study_id": 3, "pk": 1, "day": -2})
    >>> url, resolve(url).func is bedside
    ('/study/3/patient/1/day/-2/', True)
    >>> request = RequestFactory().put(url)
    >>> request.user = User(username="ann")
    >>> response = bedside(request, study_id=3, pk=1, day=-2)
    >>> response.status_code, response["Allow"]
    (405, 'GET, POST')
    """
    cap = "edit" if request.method == "POST" else "view"
    study, p, role = patient_for(request.user, study_id, pk, cap)
    if request.method == "POST":  # the save grades the day: the patient's inputs are read
        # anyway (once per revision), and tell whether the day has a recorded grade
        rec = p.recorded_grades.active().filter(day=day).first() \
            if day in recorded_grades(p, fresh=True) else None
        initial = {} if rec is None else {"crs_recorded": rec.crs_grade,
                                          "neuro_recorded": rec.neuro_grade}
        shown = None
    else:  # the day's recorded grades and readings, one statement
        shown = _bedside_rows(p, day)
        initial = {} if shown[0] is None else {"crs_recorded": shown[0][0],
                                               "neuro_recorded": shown[0][1]}
    if request.method == "POST":
        form = BedsideForm(request.POST)
        if form.is_valid():
            new = form.new_rows()
            rows = stored_day_rows(p, day, fresh=True) + new  # as _day_rows reads them
            probs = check_day_rows(p.patient_id, day, rows)
            n_old = len(rows) - len(new)
            # problems of the new rows only (line = 2 + position)
            problems_to_form(form, [pr for pr in probs if (pr.row or 0) - 2 >= n_old],
                             {"value": None, "time": "time", "unit": None})
            if not probs:
                try:  # the values convert as grading converts them
                    convert_day(p, day, rows, checked=True, fresh=True)
                except InputError as exc:
                    problems_to_form(form, exc.problems, {})
            crs_r = form.cleaned_data.get("crs_recorded")
            ntx_r = form.cleaned_data.get("neuro_recorded")
            changing = rec is not None and (rec.crs_grade, rec.neuro_grade) != (crs_r, ntx_r)
            reason = form.require_reason(changing)
            if form.is_valid() and not form.errors:
                previous = p.revision
                claimed, readings = _save_bedside(request, p, day, new, rec, crs_r, ntx_r,
                                                  reason)
                if readings and claimed == p.revision:  # only readings added to previous
                    inputs_after_save(p, previous, readings)  # nothing read again
                summaries.after_write(p, claimed)  # graded once here, read by every page
                messages.success(request, f"Day {day}: {len(new)} reading(s) saved.")
                return redirect("bedside", study_id=study.pk, pk=p.pk, day=day)
        form_fields = fragments.render("web/_bedside_fields.html", {"form": form},
                                       keep=False)
    else:
        form = None  # GET: the unbound form, rendered once per process for its initial
        form_fields = fragments.render(
            "web/_bedside_fields.html", {"initial": initial},
            factory=lambda: {"form": BedsideForm(initial=initial)}) \
            if can(role, "edit") else ""
    grades, problems = _grades_for(p, day, form.new_rows() if request.method == "POST"
                                   else [], shown)
    if grades is not None and request.method == "POST":
        _with_typed_recorded(grades, form.data)
    stored = shown[2] if shown is not None else list(
        p.observations.filter(day=day).order_by("time", "variable", "id").values(
            "pk", "time", "variable", "value", "unit", "extra", "retired", "retire_reason"))
    return render(request, "web/bedside.html", _ctx(
        request, study, role, patient=p, day=day, form=form, form_fields=form_fields,
        grades=grades, problems=problems, stored=stored,
        stored_rows=_stored_rows_html(stored, study, p, can(role, "edit")),
        prev_day=day - 1, next_day=day + 1))


def _save_bedside(request, p, day, new, rec, crs_r, ntx_r, reason):
    """Save the day's new readings and recorded grades in one transaction; returns the
    claimed revision (:func:`claim_derivation`) and the readings when they were added to
    the revision ``p`` was read at (``p.revision`` is then the new one), else None."""
    study = p.study
    readings = None
    with transaction.atomic():
        if new:  # the readings and their audit-trail rows, one INSERT each
            line = _next_line(Observation, study)
            readings = []
            for i, r in enumerate(new):
                o = Observation(patient=p, day=day, time=r["time"], variable=r["variable"],
                                value=r["value"], unit=r["unit"], line=line + i,
                                extra={"attributed_to": r["attributed_to"]}
                                if r.get("attributed_to") else {})
                o._change_reason = reason or "bedside entry"
                readings.append(o)
            revision = create_records(readings, request.user, previous=p.revision)
            if revision is None:  # another write came in between: read again below
                readings = None
            else:
                p.revision = revision
        if crs_r is not None or ntx_r is not None or rec is not None:
            if rec is None:
                rec = RecordedGrade(patient=p, day=day, line=_next_line(RecordedGrade, study))
                rec._change_reason = reason or "grade recorded at the bedside"
            else:
                rec._change_reason = reason
            if rec.pk is None or (rec.crs_grade, rec.neuro_grade) != (crs_r, ntx_r):
                rec.crs_grade, rec.neuro_grade = crs_r, ntx_r
                rec.save()  # a new revision of the patient (read again below)
                return claim_derivation(p.pk), None
        # readers of the new revision wait for summaries.after_write's values
        return claim_derivation(p.pk, written=p if readings else None), readings


@login_required
@require_POST
def bedside_grade(request, study_id: int, pk: int, day: int):
    """htmx: the grades panel for the values being typed (nothing is saved).

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.
    day : int
        Day relative to the first infusion (negative before day 0).

    Returns
    -------
    django.http.HttpResponse
        The ``web/_grades.html`` fragment: grades with their deciding domain, or the
        validator's problems.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's GET is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("bedside_grade", kwargs={"study_id": 3, "pk": 1, "day": 2})
    >>> url, resolve(url).func is bedside_grade
    ('/study/3/patient/1/day/2/grade/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = User(username="ann")
    >>> response = bedside_grade(request, study_id=3, pk=1, day=2)
    >>> response.status_code, response["Allow"]
    (405, 'POST')
    """
    _study, p, _role = patient_for(request.user, study_id, pk, "view")
    # the typed values only (BedsideForm.new_rows of the same data, without the form's
    # fields being built: nothing is saved here)
    grades, problems = _grades_for(p, day, typed_rows(request.POST))
    if grades is not None:
        _with_typed_recorded(grades, request.POST)
    return render(request, "web/_grades.html", {"grades": grades, "problems": problems,
                                                "live": True})


# ----------------------------------------------------------------------------- records


RECORDS = {
    "treatment": (Treatment, TreatmentForm),
    "infusion": (Infusion, InfusionForm),
    "adverse_event": (AdverseEvent, AdverseEventForm),
    "event": (Event, EventForm),
    "observation": (Observation, ObservationEditForm),
}


def _record_row(kind: str, p, data: dict) -> dict[str, str]:
    row = {"patient_id": p.patient_id}
    row.update({k: str(v if v is not None else "").strip() for k, v in data.items()
                if k != "reason"})
    if kind == "observation":
        row.update(day=str(data["day"]), variable=data["variable"])
    return row


def _event_order_problems(p, obj, row: dict[str, str]) -> list:
    """Event-order problems (nothing after death, no assessment before day 0) of the
    patient's events with ``row`` added, by the study validator."""
    evs = [{"patient_id": p.patient_id, "day": str(e.day), "event": e.event, "value": e.value,
            "detail": e.detail} for e in p.events.active() if obj is None or e.pk != obj.pk]
    evs.append({k: row.get(k, "") for k in ("patient_id", "day", "event", "value", "detail")})
    df = pd.DataFrame(evs)
    df.index = pd.RangeIndex(2, 2 + len(df), name="line")
    prow = pd.DataFrame([{"patient_id": p.patient_id, **p.data}])
    prow.index = pd.Index([2], name="line")
    ptyped, _ = check_rows("patients", prow)
    _, problems = check_rows("events", df, patients=ptyped)
    return problems


def _initial(kind: str, obj) -> dict:
    if kind == "infusion":
        return {"agent": obj.product, "start_day": obj.day, "time": obj.time, "dose": obj.dose,
                "dose_unit": obj.dose_unit}
    if kind == "treatment":
        return {f: getattr(obj, f) for f in ("agent", "role", "start_day", "time", "end_day",
                                             "dose", "dose_unit", "route")}
    if kind == "adverse_event":
        return {f: getattr(obj, f) for f in ("term", "grade", "onset_day", "end_day",
                                             "serious", "attribution")}
    if kind == "event":
        return {f: getattr(obj, f) for f in ("day", "event", "value", "detail")}
    return {"time": obj.time, "value": obj.value, "unit": obj.unit,
            "attributed_to": obj.extra.get("attributed_to", "")}


def _apply(kind: str, obj, typed: pd.Series, cd: dict) -> None:
    def day(v):
        return None if pd.isna(v) else int(v)

    if kind == "infusion":
        obj.product, obj.day = cd["agent"], day(typed["start_day"])
        obj.time, obj.dose, obj.dose_unit = cd["time"], cd["dose"], cd["dose_unit"]
    elif kind == "treatment":
        obj.agent, obj.role = cd["agent"], cd["role"]
        obj.start_day, obj.end_day = day(typed["start_day"]), day(typed["end_day"])
        obj.time, obj.dose, obj.dose_unit, obj.route = (cd["time"], cd["dose"],
                                                        cd["dose_unit"], cd["route"])
    elif kind == "adverse_event":
        obj.term = ctcae_terms.lookup(cd["term"]).term
        obj.grade = int(typed["grade"])
        obj.onset_day, obj.end_day = day(typed["onset_day"]), day(typed["end_day"])
        obj.serious, obj.attribution = cd["serious"], cd["attribution"]
    elif kind == "event":
        obj.day, obj.event, obj.value, obj.detail = (day(typed["day"]), cd["event"],
                                                     cd["value"], cd["detail"])
    else:
        obj.time, obj.value, obj.unit = cd["time"], cd["value"], cd["unit"]
        cause = cd["attributed_to"].strip()
        extra = {k: v for k, v in obj.extra.items() if k != "attributed_to"}
        if cause or "attributed_to" in obj.extra:  # a column the file has stays
            extra["attributed_to"] = cause
        obj.extra = extra


@login_required
@require_http_methods(["GET", "POST"])
def record(request, study_id: int, pk: int, kind: str, rec_id: int | None = None):
    """Create (``rec_id`` None) or correct a clinical record; a correction needs a reason.

    The row is checked by the study validator (:func:`remission.study.check_rows`; for
    events also the event order, for readings the whole day) and saved only without
    problems, which are shown on their fields. Readings are created on the bedside page
    only.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.
    kind : str
        ``treatment``, ``infusion``, ``adverse_event``, ``event`` or ``observation``
        (:data:`RECORDS`).
    rec_id : int, optional
        The record to correct; None creates one.

    Returns
    -------
    django.http.HttpResponse
        The ``web/record_form.html`` page, or a redirect to the patient (the bedside
        page for a reading) after a save.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``edit`` capability (answered 403).
    django.http.Http404
        An unknown ``kind`` or record, or a new reading (entered at the bedside).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's PUT is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("record_new", kwargs={"study_id": 3, "pk": 1, "kind": "event"})
    >>> url, resolve(url).func is record
    ('/study/3/patient/1/event/new/', True)
    >>> request = RequestFactory().put(url)
    >>> request.user = User(username="ann")
    >>> response = record(request, study_id=3, pk=1, kind="event")
    >>> response.status_code, response["Allow"]
    (405, 'GET, POST')
    """
    if kind not in RECORDS:
        raise Http404(kind)
    study, p, role = patient_for(request.user, study_id, pk, "edit")
    model, form_cls = RECORDS[kind]
    obj = None
    if rec_id is not None:
        obj = model.objects.filter(pk=rec_id, patient=p).first()
        if obj is None:
            raise Http404("no such record")
    elif kind == "observation":
        raise Http404("readings are entered on the bedside page")
    if request.method == "POST":
        form = form_cls(request.POST)
        if form.is_valid():
            reason = form.require_reason(obj is not None)
            cd = form.cleaned_data
            data = dict(cd)
            if kind == "observation":
                data.update(day=obj.day, variable=obj.variable)
            row = _record_row(kind, p, data)
            if kind == "infusion":
                row.pop("agent")
                row["agent"] = cd["agent"]
            table = form_cls.table if kind != "observation" else "observations"
            df = pd.DataFrame([row])
            df.index = pd.Index([2], name="line")
            typed, problems = check_rows(table, df, study_config(study))
            if kind == "event" and not problems:
                problems = _event_order_problems(p, obj, row)
            if kind == "observation":
                rows = [{"variable": o.variable, "value": o.value, "unit": o.unit,
                         "time": o.time, **o.extra}
                        for o in p.observations.active().filter(day=obj.day)
                        if o.pk != obj.pk]
                rows.append({"variable": obj.variable, "value": cd["value"],
                             "unit": cd["unit"], "time": cd["time"],
                             **{**obj.extra, "attributed_to": cd["attributed_to"].strip()}})
                problems = check_day_rows(p.patient_id, obj.day, rows)
            problems_to_form(form, problems, {c: c for c in form.fields})
            if not form.errors:
                if obj is None:
                    obj = model(patient=p, line=(_treatment_line(study)
                                                 if kind in ("treatment", "infusion")
                                                 else _next_line(model, study)))
                _apply(kind, obj, typed.iloc[0], cd)
                obj._change_reason = reason or "initial entry"
                with transaction.atomic():
                    obj.save()
                    claimed = claim_derivation(p.pk)
                summaries.after_write(p, claimed)
                messages.success(request, "Saved.")
                if kind == "observation":
                    return redirect("bedside", study_id=study.pk, pk=p.pk, day=obj.day)
                return redirect("patient", study_id=study.pk, pk=p.pk)
    else:
        form = form_cls(initial=_initial(kind, obj) if obj is not None else None)
    return render(request, "web/record_form.html", _ctx(
        request, study, role, patient=p, form=form, kind=kind.replace("_", " "), obj=obj,
        terms=ctcae_terms.names() if kind == "adverse_event" else ()))


@login_required
@require_http_methods(["GET", "POST"])
def retire(request, study_id: int, pk: int, kind: str, rec_id: int):
    """Retire a record or a whole patient: it stays in the database and the audit trail
    with the reason, and no longer counts in grades, exports or the report.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.
    kind : str
        ``patient`` or a record kind of :data:`RECORDS`.
    rec_id : int
        The record (ignored for ``patient``).

    Returns
    -------
    django.http.HttpResponse
        The ``web/retire.html`` form, or a redirect to the patient once retired.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``edit`` capability (answered 403).
    django.http.Http404
        An unknown ``kind`` or record.

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's PUT is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("retire", kwargs={"study_id": 3, "pk": 1, "kind": "event", "rec_id": 7})
    >>> url, resolve(url).func is retire
    ('/study/3/patient/1/event/7/retire/', True)
    >>> request = RequestFactory().put(url)
    >>> request.user = User(username="ann")
    >>> response = retire(request, study_id=3, pk=1, kind="event", rec_id=7)
    >>> response.status_code, response["Allow"]
    (405, 'GET, POST')
    """
    study, p, role = patient_for(request.user, study_id, pk, "edit")
    if kind == "patient":
        obj = p
    elif kind in RECORDS:
        obj = RECORDS[kind][0].objects.filter(pk=rec_id, patient=p).first()
    else:
        obj = None
    if obj is None:
        raise Http404("no such record")
    form = RetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            obj.retire(form.cleaned_data["reason"], request.user)
            claimed = claim_derivation(p.pk)
        summaries.after_write(p, claimed)
        messages.success(request, "Record retired (kept in the audit trail).")
        return redirect("patient", study_id=study.pk, pk=p.pk)
    return render(request, "web/retire.html", _ctx(request, study, role, patient=p, obj=obj,
                                                   form=form, kind=kind))


@login_required
@require_http_methods(["GET", "POST"])
def patient_form(request, study_id: int, pk: int | None = None):
    """Create (``pk`` None) or edit a patient's row of patients.csv; an edit needs a
    reason. Patient IDs are unique within the study and the row is checked by the study
    validator before it is saved.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int, optional
        The patient to edit; None creates one.

    Returns
    -------
    django.http.HttpResponse
        The ``web/patient_form.html`` page, or a redirect to the patient after a save.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``edit`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's PUT is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("patient_new", kwargs={"study_id": 3})
    >>> url, resolve(url).func is patient_form
    ('/study/3/patient/new/', True)
    >>> request = RequestFactory().put(url)
    >>> request.user = User(username="ann")
    >>> response = patient_form(request, study_id=3)
    >>> response.status_code, response["Allow"]
    (405, 'GET, POST')
    """
    study, role = study_for(request.user, study_id, "edit")
    p = None
    if pk is not None:
        study, p, role = patient_for(request.user, study_id, pk, "edit")
    columns = list(study.columns.get("patients") or [])
    initial = None if p is None else {"patient_id": p.patient_id, **p.data}
    if request.method == "POST":
        form = PatientForm(request.POST, columns=columns)
        if form.is_valid():
            reason = form.require_reason(p is not None)
            row = form.row()
            others = Patient.objects.filter(study=study).exclude(pk=getattr(p, "pk", None))
            if others.filter(patient_id=row["patient_id"]).exists():
                form.add_error("patient_id", "duplicate patient_id; expected unique study IDs")
            df = pd.DataFrame([row])
            df.index = pd.Index([2], name="line")
            _, problems = check_rows("patients", df, study_config(study))
            problems_to_form(form, problems, {c: c for c in form.fields})
            if not form.errors:
                keep = {k: v for k, v in row.items() if k != "patient_id" and
                        (v != "" or k in columns)}
                if p is None:
                    p = Patient(study=study, line=_next_line(Patient, study, "study"))
                p.patient_id, p.data = row["patient_id"], keep
                p._change_reason = reason or "initial entry"
                p._history_user = request.user
                with transaction.atomic():
                    p.save()
                    claimed = claim_derivation(p.pk)
                summaries.after_write(p, claimed)
                messages.success(request, f"Patient {p.patient_id} saved.")
                return redirect("patient", study_id=study.pk, pk=p.pk)
    else:
        form = PatientForm(columns=columns, initial_data=initial)
    return render(request, "web/patient_form.html", _ctx(request, study, role, patient=p,
                                                         form=form))


# ----------------------------------------------------------------------------- audit trail


def _history_rows(p) -> list[dict]:
    """Every historical version of the patient's records with the fields that changed."""
    out = []
    sources = [("patient", p.history.all())]
    for name, rel in (("infusion", p.infusions), ("treatment", p.treatments),
                      ("observation", p.observations), ("adverse event", p.adverse_events),
                      ("event", p.events), ("recorded grade", p.recorded_grades)):
        model = rel.model
        sources.append((name, model.history.filter(patient_id=p.pk)))
    sources.append(("sign-off", SignOff.history.filter(patient_id=p.pk)))
    sources.append(("query", Query.history.filter(patient_id=p.pk)))
    for name, qs in sources:
        prev: dict = {}
        for h in qs.order_by("history_date", "history_id").select_related("history_user"):
            key = h.id
            changes = []
            before = prev.get(key)
            if before is not None:
                for ch in h.diff_against(before).changes:
                    changes.append((ch.field, ch.old, ch.new))
            prev[key] = h
            out.append({"when": h.history_date, "who": getattr(h.history_user, "username", "")
                        or "system", "what": name, "record": key,
                        "type": {"+": "created", "~": "changed", "-": "deleted"}[
                            h.history_type],
                        "changes": changes, "reason": h.history_change_reason or "",
                        "label": _label(name, h)})
    out.sort(key=lambda r: (r["when"], r["what"], r["record"]))
    return out


def _label(name: str, h) -> str:
    if name == "observation":
        return f"day {h.day} {h.time} {h.variable} = {h.value} {h.unit}".replace("  ", " ")
    if name == "patient":
        return h.patient_id
    if name in ("treatment",):
        return f"{h.agent} day {h.start_day}"
    if name == "infusion":
        return f"{h.product} day {h.day}"
    if name == "adverse event":
        return f"{h.term} grade {h.grade}"
    if name == "event":
        return f"{h.event} day {h.day}"
    if name == "recorded grade":
        return f"day {h.day}: CRS {h.crs_grade}, ICANS {h.neuro_grade}"
    if name == "sign-off":
        return f"CRS max {h.crs_max}, neuro max {h.neuro_max}"
    return f"query {h.id}"


@login_required
@require_http_methods(["GET"])
def audit_trail(request, study_id: int, pk: int):
    """Every version of the patient's records: who, when, what changed and why;
    ``?format=csv`` downloads it (cells neutralised against spreadsheet formulas).

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.

    Returns
    -------
    django.http.HttpResponse
        The ``web/audit.html`` page, or ``audit-<study>-<patient>.csv``.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's POST is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("audit", kwargs={"study_id": 3, "pk": 1})
    >>> url, resolve(url).func is audit_trail
    ('/study/3/patient/1/audit/', True)
    >>> request = RequestFactory().post(url)
    >>> request.user = User(username="ann")
    >>> response = audit_trail(request, study_id=3, pk=1)
    >>> response.status_code, response["Allow"]
    (405, 'GET')
    """
    study, p, role = patient_for(request.user, study_id, pk, "view")
    rows = _history_rows(p)
    if request.GET.get("format") == "csv":
        return _csv_response(f"audit-{study.code}-{p.patient_id}.csv",
                             ["when", "who", "record", "record_id", "action", "changes",
                              "reason"],
                             [[r["when"].isoformat(), r["who"], f"{r['what']}: {r['label']}",
                               r["record"], r["type"],
                               "; ".join(f"{f}: {o!r} -> {n!r}" for f, o, n in r["changes"]),
                               r["reason"]] for r in rows])
    return render(request, "web/audit.html", _ctx(request, study, role, patient=p, rows=rows))


def _csv_response(name: str, header: list[str], rows: list[list]) -> HttpResponse:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([neutralise(c) for c in r])
    resp = HttpResponse(buf.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


# ----------------------------------------------------------------------------- sign-off


@login_required
@require_POST
def signoff(request, study_id: int, pk: int):
    """Sign off the patient's data (investigators): stores the data's fingerprint and the
    highest derived grades, so a later change shows the sign-off as outdated.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.

    Returns
    -------
    django.http.HttpResponseRedirect
        To the patient page (with a message when the confirmation was not ticked).

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``sign`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's GET is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("signoff", kwargs={"study_id": 3, "pk": 1})
    >>> url, resolve(url).func is signoff
    ('/study/3/patient/1/signoff/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = User(username="ann")
    >>> response = signoff(request, study_id=3, pk=1)
    >>> response.status_code, response["Allow"]
    (405, 'POST')
    """
    study, p, _role = patient_for(request.user, study_id, pk, "sign")
    form = SignOffForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the confirmation to sign off.")
        return redirect("patient", study_id=study.pk, pk=p.pk)
    _, crs, ntx = _shown_grades(p)
    s = SignOff(patient=p, signed_by=request.user, fingerprint=patient_fingerprint(p),
                crs_max=crs, neuro_max=ntx, statement=str(form.fields["confirm"].label))
    s._history_user = request.user
    s._change_reason = "signed off"
    s.save()
    messages.success(request, "Signed off.")
    return redirect("patient", study_id=study.pk, pk=p.pk)


# ----------------------------------------------------------------------------- queries


@login_required
@require_POST
def raise_query(request, study_id: int, pk: int):
    """Raise a data query on the patient (monitors, admins).

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.

    Returns
    -------
    django.http.HttpResponseRedirect
        To the patient page.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``query`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's GET is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("query", kwargs={"study_id": 3, "pk": 1})
    >>> url, resolve(url).func is raise_query
    ('/study/3/patient/1/query/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = User(username="ann")
    >>> response = raise_query(request, study_id=3, pk=1)
    >>> response.status_code, response["Allow"]
    (405, 'POST')
    """
    study, p, _role = patient_for(request.user, study_id, pk, "query")
    form = QueryForm(request.POST)
    if form.is_valid():
        q = Query(patient=p, day=form.cleaned_data["day"], text=form.cleaned_data["text"],
                  raised_by=request.user)
        q._change_reason = "query raised"
        q.save()
        messages.success(request, "Query raised.")
    return redirect("patient", study_id=study.pk, pk=p.pk)


@login_required
@require_POST
def answer_query(request, study_id: int, pk: int, qid: int):
    """Answer (and optionally close) a query on the patient.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    pk : int
        Primary key of the patient; it must belong to the study.
    qid : int
        The query; it must be on this patient.

    Returns
    -------
    django.http.HttpResponseRedirect
        To the patient page.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``answer`` capability (answered 403).
    django.http.Http404
        No such query on this patient.

    Examples
    --------
    Reached through ``urls.py``; a signed-in user's GET is refused (405) before
    any data are read:

    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("answer", kwargs={"study_id": 3, "pk": 1, "qid": 5})
    >>> url, resolve(url).func is answer_query
    ('/study/3/patient/1/query/5/answer/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = User(username="ann")
    >>> response = answer_query(request, study_id=3, pk=1, qid=5)
    >>> response.status_code, response["Allow"]
    (405, 'POST')
    """
    study, p, _role = patient_for(request.user, study_id, pk, "answer")
    q = Query.objects.filter(pk=qid, patient=p).first()
    if q is None:
        raise Http404("no such query")
    form = AnswerForm(request.POST)
    if form.is_valid():
        q.answer, q.answered_by = form.cleaned_data["answer"], request.user
        q.closed = form.cleaned_data["close"]
        q._change_reason = "query answered"
        q.save()
        messages.success(request, "Answer saved.")
    return redirect("patient", study_id=study.pk, pk=p.pk)


# ----------------------------------------------------------------------------- report/export

_REPORTS: dict[tuple[int, str], dict[str, bytes]] = {}
_REPORT_LOCK = threading.Lock()


def _report_files(study) -> dict[str, bytes]:
    """report.html, results.json and tables.docx of the study's current data (cached by the
    exported folder's content, so the report is recomputed only when data change)."""
    files = folder_io.export_files(study)
    digest = hashlib.sha256(b"".join(hashlib.sha256(k.encode() + v).digest()
                                     for k, v in sorted(files.items()))).hexdigest()
    key = (study.pk, digest)
    with _REPORT_LOCK:
        if key in _REPORTS:
            return _REPORTS[key]
    from remission.report import write_report

    with tempfile.TemporaryDirectory(prefix="remission-web-") as tmp:
        bundle = folder_io.study_bundle(study)
        paths = write_report(bundle, Path(tmp) / "report")
        out = {p.name: p.read_bytes() for p in paths.values()}
    with _REPORT_LOCK:
        for k in [k for k in _REPORTS if k[0] == study.pk]:
            del _REPORTS[k]
        _REPORTS[key] = out
    return out


@login_required
def report(request, study_id: int, name: str = "report.html"):
    """The study's report (``report.html``, ``results.json`` or ``tables.docx``) of the
    current data, as ``remission report`` writes it for the exported folder. report.html
    is shown under a Content-Security-Policy that forbids scripts; ``?download=1`` and the
    other files download.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).
    name : str, default ``"report.html"``
        ``report.html``, ``results.json`` or ``tables.docx``.

    Returns
    -------
    django.http.HttpResponse
        The file, or the ``web/problems.html`` page with status 422 when the data do
        not validate.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).
    django.http.Http404
        Any other ``name``.

    Examples
    --------
    Reached through ``urls.py``; a request that is not signed in is sent to the login page
    before any data are read:

    >>> from django.contrib.auth.models import AnonymousUser
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("report_file", kwargs={"study_id": 3, "name": "results.json"})
    >>> url, resolve(url).func is report
    ('/study/3/report/results.json', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = AnonymousUser()
    >>> response = report(request, study_id=3, name="results.json")
    >>> response.status_code, response.url
    (302, '/login/?next=/study/3/report/results.json')
    """
    study, role = study_for(request.user, study_id, "view")
    if name not in ("report.html", "results.json", "tables.docx"):
        raise Http404(name)
    try:
        files = _report_files(study)
    except InputError as exc:
        return render(request, "web/problems.html", _ctx(request, study, role,
                                                         problems=exc.problems), status=422)
    types = {"report.html": "text/html; charset=utf-8",
             "results.json": "application/json",
             "tables.docx": "application/vnd.openxmlformats-officedocument."
                            "wordprocessingml.document"}
    resp = HttpResponse(files[name], content_type=types[name])
    if name == "report.html" and request.GET.get("download") != "1":
        resp["Content-Security-Policy"] = REPORT_CSP
    else:
        resp["Content-Disposition"] = f'attachment; filename="{study.code}-{name}"'
    return resp


@login_required
def export(request, study_id: int):
    """The study as a zip of its folder (study.toml and the CSV tables
    :func:`remission.web.folder.export_zip` writes), for ``remission report`` offline.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).

    Returns
    -------
    django.http.HttpResponse
        ``<code>.zip`` as an attachment.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``export`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a request that is not signed in is sent to the login page
    before any data are read:

    >>> from django.contrib.auth.models import AnonymousUser
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("export", kwargs={"study_id": 3})
    >>> url, resolve(url).func is export
    ('/study/3/export/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = AnonymousUser()
    >>> response = export(request, study_id=3)
    >>> response.status_code, response.url
    (302, '/login/?next=/study/3/export/')
    """
    study, _role = study_for(request.user, study_id, "export")
    resp = HttpResponse(folder_io.export_zip(study), content_type="application/zip")
    resp["Content-Disposition"] = f'attachment; filename="{study.code}.zip"'
    return resp


@login_required
def data_quality(request, study_id: int):
    """The study validator on the current data, plus recorded-vs-derived disagreements
    (the ``audit.recorded_vs_derived`` Result of the report) and all queries.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).
    study_id : int
        Primary key of the study (from the URL).

    Returns
    -------
    django.http.HttpResponse
        The ``web/quality.html`` page.

    Raises
    ------
    django.http.Http404
        The user has no role in the study, or the patient is not in it
        (:func:`~remission.web.access.study_for`, :func:`~remission.web.access.patient_for`).
    django.core.exceptions.PermissionDenied
        The user's role lacks the ``view`` capability (answered 403).

    Examples
    --------
    Reached through ``urls.py``; a request that is not signed in is sent to the login page
    before any data are read:

    >>> from django.contrib.auth.models import AnonymousUser
    >>> from django.test import RequestFactory
    >>> from django.urls import resolve, reverse
    >>> url = reverse("quality", kwargs={"study_id": 3})
    >>> url, resolve(url).func is data_quality
    ('/study/3/quality/', True)
    >>> request = RequestFactory().get(url)
    >>> request.user = AnonymousUser()
    >>> response = data_quality(request, study_id=3)
    >>> response.status_code, response.url
    (302, '/login/?next=/study/3/quality/')
    """
    study, role = study_for(request.user, study_id, "view")
    problems, conflicts = [], None
    try:
        files = _report_files(study)
        import json

        res = json.loads(files["results.json"])
        for r in res.get("results", []):
            if r.get("name") == "audit.recorded_vs_derived":
                conflicts = r
    except InputError as exc:
        problems = exc.problems
    recorded = []
    for g in RecordedGrade.objects.filter(patient__study=study).active().select_related(
            "patient"):
        recorded.append(g)
    return render(request, "web/quality.html", _ctx(
        request, study, role, problems=problems, conflicts=conflicts,
        queries=Query.objects.filter(patient__study=study).select_related("patient")))


@login_required
@require_http_methods(["GET", "POST"])
def import_study(request):
    """Create a study from an uploaded zip of a study folder (staff only); the importer
    becomes its admin. The folder is validated as ``remission validate`` does; an
    archive with a path leaving its folder is refused.

    Parameters
    ----------
    request : django.http.HttpRequest
        The request; its ``user`` must be signed in (anyone else is redirected to the
        login page, :data:`~remission.web.settings.LOGIN_URL`).

    Returns
    -------
    django.http.HttpResponse
        The ``web/import.html`` form (with problems), a redirect to the new study, or
        400 for an unsafe archive.

    Raises
    ------
    django.core.exceptions.PermissionDenied
        The user is not staff.

    Examples
    --------
    >>> from django.contrib.auth.models import User
    >>> from django.test import RequestFactory
    >>> from django.urls import reverse
    >>> request = RequestFactory().get(reverse("import"))
    >>> request.user = User(username="ann", is_staff=False)
    >>> import_study(request)
    Traceback (most recent call last):
    ...
    django.core.exceptions.PermissionDenied: only staff users create studies
    """
    if not request.user.is_staff:
        raise PermissionDenied("only staff users create studies")
    form = ImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        with tempfile.TemporaryDirectory() as tmp:
            try:
                with zipfile.ZipFile(form.cleaned_data["archive"]) as z:
                    for info in z.infolist():
                        target = (Path(tmp) / info.filename).resolve()
                        if not str(target).startswith(str(Path(tmp).resolve())):
                            return HttpResponseBadRequest("unsafe path in archive")
                    z.extractall(tmp)
            except zipfile.BadZipFile:
                form.add_error("archive", "not a zip archive")
            if not form.errors:
                tops = [d for d in Path(tmp).iterdir() if d.is_dir()]
                root = tops[0] if len(tops) == 1 and not (Path(tmp) / "study.toml").exists() \
                    else Path(tmp)
                try:
                    study = folder_io.import_study(root, form.cleaned_data["code"] or None)
                except InputError as exc:
                    problems = exc.problems
                else:
                    Membership.objects.create(user=request.user, study=study, role="admin")
                    messages.success(request, f"Imported {study.name}.")
                    return redirect("study", study_id=study.pk)
    return render(request, "web/import.html", {"form": form, "problems": problems})
