"""The fixed path of every request (remission.web.identity, remission.web.access): the
session and its user are read with one statement and keep Django's rules: sessions are
server-side (a logout ends the cookie's session for every server process), an expired
session row is never used, a deactivated user or a changed password signs the session out,
the session's user column decides nothing (the user key of the signed session data does),
and a role check costs one statement, the patient included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _signed_in(name: str) -> Client:
    from django.contrib.auth import get_user_model

    c = Client()
    c.force_login(get_user_model().objects.get(username=name))
    return c


def _same_cookie(c: Client) -> Client:
    """A second browser tab / another server process: only the cookie is shared."""
    other = Client()
    other.cookies["sessionid"] = c.cookies["sessionid"].value
    return other


def test_logout_ends_the_session_for_every_holder_of_the_cookie(studies):
    c = _signed_in("monitor")
    other = _same_cookie(c)
    assert other.get(reverse("home")).status_code == 200
    c.post(reverse("logout"))
    r = other.get(reverse("home"))
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_an_expired_session_row_is_not_used(studies):
    from remission.web.models import UserSession as Session

    c = _signed_in("monitor")
    assert c.get(reverse("home")).status_code == 200
    key = c.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    r = c.get(reverse("home"))
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_session_store_reads_the_row_or_nothing(studies):
    from remission.web.identity import SessionStore

    s = SessionStore()
    s["note"] = "ward 3"
    s.create()
    assert SessionStore(s.session_key).load() == {"note": "ward 3"}
    unknown = SessionStore("x" * 32)
    assert unknown.load() == {} and unknown.session_key is None  # a new key if saved


def test_deactivated_user_or_new_password_signs_the_session_out(studies):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    c = _signed_in("statistician")
    u = User.objects.get(username="statistician")
    u.is_active = False
    u.save()
    assert c.get(reverse("home")).status_code == 302
    u.is_active = True
    u.save()
    c = _signed_in("statistician")
    u.set_password("another-horse-battery-7")
    u.save()
    assert c.get(reverse("home")).status_code == 302


def test_access_checks_cost_one_statement_each(studies, django_assert_num_queries):
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from remission.web.access import patient_for, study_for
    from remission.web.models import Patient

    cll1, raw = studies
    monitor = get_user_model().objects.get(username="monitor")
    outsider = get_user_model().objects.get(username="outsider")
    p = Patient.objects.filter(study=raw).first()
    other = Patient.objects.filter(study=cll1).first()
    with django_assert_num_queries(1):
        study, role = study_for(monitor, raw.pk)
    assert (study, role) == (raw, "monitor")
    with django_assert_num_queries(1):  # the study, the role and the patient together
        study, got, role = patient_for(monitor, raw.pk, p.pk)
    assert (study, got, got.study, role) == (raw, p, raw, "monitor")
    assert got.data == p.data and got.revision == p.revision  # every column read
    with pytest.raises(PermissionDenied, match=r"Monitor \(read-only, queries\) role cannot"):
        patient_for(monitor, raw.pk, p.pk, "edit")
    with pytest.raises(Http404, match="no such patient"):
        patient_for(monitor, raw.pk, other.pk)  # a patient of another study: 404
    with pytest.raises(Http404, match="no such study"):
        patient_for(outsider, raw.pk, p.pk)


def _request_with_cookie(c: Client, path: str = "/"):
    """A request carrying ``c``'s session cookie through the session and authentication
    middleware of the settings (the user is read lazily, on first use)."""
    from django.conf import settings
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils.module_loading import import_string

    request = RequestFactory().get(path)
    request.COOKIES[settings.SESSION_COOKIE_NAME] = c.cookies["sessionid"].value
    for name in ("django.contrib.sessions.middleware.SessionMiddleware",
                 "remission.web.identity.AuthenticationMiddleware"):
        assert name in settings.MIDDLEWARE
        import_string(name)(lambda r: HttpResponse()).process_request(request)
    return request


def test_session_and_user_are_one_statement(studies, django_assert_num_queries):
    from django.contrib.auth import get_user_model

    from remission.web.models import UserSession

    c = _signed_in("investigator")
    u = get_user_model().objects.get(username="investigator")
    row = UserSession.objects.get(session_key=c.cookies["sessionid"].value)
    assert row.user_id == u.pk  # written from the session data at the save
    request = _request_with_cookie(c)
    with django_assert_num_queries(1) as q:
        assert request.user.is_authenticated and request.user == u
        assert request.user.get_session_auth_hash() == u.get_session_auth_hash()
    assert "auth_user" in q.captured_queries[0]["sql"]
    # the whole request: one statement reads the session table and no other the user table
    with CaptureQueriesContext(connection) as q:
        assert c.get(reverse("home")).status_code == 200
    sqls = [x["sql"] for x in q.captured_queries]
    assert sum(UserSession._meta.db_table in x for x in sqls) == 1
    assert sum("auth_user" in x for x in sqls) == 1


def test_the_session_user_column_decides_nothing(studies, django_assert_num_queries):
    from django.contrib.auth import get_user_model

    from remission.web.models import UserSession

    User = get_user_model()
    c = _signed_in("monitor")
    key = c.cookies["sessionid"].value
    admin = User.objects.get(username="admin")
    UserSession.objects.filter(session_key=key).update(user=admin)  # a wrong column
    request = _request_with_cookie(c)
    with django_assert_num_queries(2):  # the joined user is not the data's: read it
        assert request.user.username == "monitor"
    UserSession.objects.filter(session_key=key).update(user=None)
    assert _request_with_cookie(c).user.username == "monitor"
    monitor = User.objects.get(username="monitor")
    monitor.is_active = False
    monitor.save()
    UserSession.objects.filter(session_key=key).update(user=monitor)
    assert not _request_with_cookie(c).user.is_authenticated  # inactive: refused


def test_derived_cache_writes_many_keys_in_one_statement(studies, django_assert_max_num_queries):
    from django.core.cache import caches

    c = caches["derived"]
    data = {f"k{i}": {"day": i, "grades": [i, None]} for i in range(40)}
    c.set_many({"k0": "old", "k1": "old"}, timeout=None)
    # one INSERT ... ON CONFLICT for 40 keys (+ the savepoint pair; the size check is
    # held off: tests/web/conftest.py); Django's DatabaseCache issued 3 statements per key
    with django_assert_max_num_queries(3):
        assert c.set_many(data, timeout=None) == []
    assert c.get_many(list(data)) == data  # overwritten and new keys alike
    c.set("k3", "three", timeout=0)  # already expired: never read
    assert c.get("k3", "missing") == "missing" and c.get("k4") == data["k4"]


def test_derived_cache_stores_and_releases_a_lock_in_one_write(studies):
    """DerivedCache.write stores values and removes a lock key in one statement on
    PostgreSQL (two on SQLite), inside the caller's transaction without a savepoint."""
    from django.core.cache import caches

    c = caches["derived"]
    c.set("v:lock", 1)
    with CaptureQueriesContext(connection) as q:
        c.write({"v": [1, 2], "w": "two"}, timeout=None, delete=["v:lock"])
    assert len(q.captured_queries) == (1 if connection.vendor == "postgresql" else 2), \
        [x["sql"][:60] for x in q.captured_queries]
    assert c.get_many(["v", "w", "v:lock"]) == {"v": [1, 2], "w": "two"}
    with pytest.raises(ValueError, match="both stored and removed"):
        c.write({"v": 1}, delete=["v"])


def test_derived_cache_is_still_culled(studies):
    from remission.web.cache import DerivedCache

    c = DerivedCache("remission_derived_cache", {
        "TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 20, "CULL_FREQUENCY": 2,
                                     "CHECK_EVERY": 5}})
    c.clear()
    for i in range(60):
        c.set(f"n{i:03d}", i)
    # the size is looked at every 5th write and then halved when above 20
    assert 20 // 2 <= len(c.get_many([f"n{i:03d}" for i in range(60)])) <= 20 + 5
    assert c.get("n059") == 59  # Django culls the lowest keys; the last one stays


def test_study_page_links_every_patient_with_its_signoff_status(studies, login):
    import re

    from django.contrib.auth import get_user_model

    from remission.web.models import Patient, SignOff, patient_fingerprint

    _, raw = studies
    patients = list(Patient.objects.filter(study=raw).order_by("line", "id"))
    inv = get_user_model().objects.get(username="investigator")
    a, b = patients[1], patients[3]
    SignOff.objects.create(patient=a, signed_by=inv, fingerprint=patient_fingerprint(a),
                           statement="ok")
    SignOff.objects.create(patient=b, signed_by=inv, fingerprint=patient_fingerprint(a),
                           statement="ok")  # not b's data: shown as invalidated
    page = login("monitor").get(reverse("study", args=[raw.pk])).content.decode()
    rows = re.findall(r'<td><a href="([^"]+)">([^<]+)</a></td>\n<td>([^<]*)</td>\n<td>(.*?)</td>',
                      page)
    want = [(reverse("patient", args=[raw.pk, p.pk]), p.patient_id, "active",
             "signed by investigator" if p == a else
             '<span class="warn">invalidated by later changes</span>' if p == b else "—")
            for p in patients]
    assert rows == want and len(want) > 10


HOSTILE = "'\"><script>alert('x')</script> &amp; é"


def test_lean_widgets_render_the_same_bytes_as_djangos_templates(studies, login):
    """Every form page, GET and POSTed back with hostile text (so fields carry the values
    and their errors), with remission.web.widgets.LeanFormRenderer against Django's own
    widget templates (FORM_RENDERER unset); CSRF tokens (random per render) masked."""
    import re

    from django.test.utils import override_settings

    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.filter(study=raw).first()
    o = Observation.objects.filter(patient=p).first()
    s, pk = raw.pk, p.pk
    bad = {"time": HOSTILE, "temperature": HOSTILE, "reason": HOSTILE, "crs_recorded": "9",
           "product": HOSTILE, "dose": HOSTILE, "agent": HOSTILE, "term": HOSTILE,
           "grade": HOSTILE, "onset_day": HOSTILE, "day": HOSTILE, "value": HOSTILE,
           "patient_id": HOSTILE, "text": HOSTILE, "answer": HOSTILE}
    pages = [("GET", reverse("bedside", args=[s, pk, 3])),
             ("POST", reverse("bedside", args=[s, pk, 3])),
             ("POST", reverse("bedside_grade", args=[s, pk, 3])),
             ("GET", reverse("patient", args=[s, pk])),
             ("GET", reverse("patient_edit", args=[s, pk])),
             ("POST", reverse("patient_edit", args=[s, pk])),
             ("GET", reverse("record_edit", args=[s, pk, "observation", o.pk])),
             ("POST", reverse("record_edit", args=[s, pk, "observation", o.pk])),
             ("GET", reverse("retire", args=[s, pk, "observation", o.pk]))]
    pages += [("POST", reverse("record_new", args=[s, pk, k])) for k in
              ("infusion", "treatment", "adverse_event", "event")]
    client = login("investigator")

    def render_all():
        out = []
        for method, url in pages:
            r = client.get(url) if method == "GET" else client.post(url, bad)
            assert r.status_code == 200, (method, url, r.status_code)
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf",
                          r.content.decode())
            out.append(re.sub(r"Graded in [0-9.]+ s", "Graded", html))
        return out

    lean = render_all()
    with override_settings(FORM_RENDERER="django.forms.renderers.DjangoTemplates"):
        django = render_all()
    for (method, url), a, b in zip(pages, lean, django, strict=True):
        assert a == b, (method, url)
    html = "".join(lean)
    assert html.count("<input") > 100 and html.count("<select") > 10
    assert "&#x27;&quot;&gt;&lt;script&gt;" in html and "<script>alert" not in html


def test_a_signoff_is_checked_once_per_revision_of_its_patient(studies, login, monkeypatch):
    """The dashboard, the study list and the patient page compare a sign-off with the
    patient's fingerprint (models.patient_fingerprint: four queries and a hash) computed
    once per revision of the patient (grading.fingerprint), and a change of the
    patient's data still invalidates the sign-off everywhere at once."""
    import remission.web.models as models
    from remission.web.models import Observation, Patient, SignOff
    from remission.web.summaries import dashboard

    cll1, _ = studies  # 12 patients
    patients = list(Patient.objects.filter(study=cll1).order_by("line", "id"))[:3]
    inv = get_user_model_user("investigator")
    for p in patients:
        SignOff.objects.create(patient=p, signed_by=inv,
                               fingerprint=models.patient_fingerprint(p), statement="ok")
    real, calls = models.patient_fingerprint, []
    monkeypatch.setattr(models, "patient_fingerprint",
                        lambda p: calls.append(p.pk) or real(p))
    # (a revision seen by an earlier test of this session may be kept already)
    assert dashboard(cll1).signed == 3 and set(calls) <= {p.pk for p in patients}
    calls.clear()
    client = login("monitor")
    assert dashboard(cll1).signed == 3
    assert client.get(reverse("study", args=[cll1.pk])).content.decode().count(
        "signed by investigator") == 3
    assert 'class="ok">valid' in client.get(
        reverse("patient", args=[cll1.pk, patients[0].pk])).content.decode()
    assert calls == []  # every look read the kept fingerprints
    o = Observation(patient=patients[0], day=500, variable="temperature", value="37.2",
                    unit="°C", line=9000)
    o._change_reason = "late reading"
    o.save()
    d = dashboard(cll1)
    assert d.signed == 2 and patients[0] in d.pending_signoff and calls == [patients[0].pk]
    page = client.get(reverse("study", args=[cll1.pk])).content.decode()
    assert page.count("signed by investigator") == 2 and "invalidated by later" in page
    assert "invalidated: the data changed" in client.get(
        reverse("patient", args=[cll1.pk, patients[0].pk])).content.decode()
    assert calls == [patients[0].pk]


def get_user_model_user(name: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


def test_dashboard_cohorts_follow_the_patient_rows(studies):
    """The dashboard's cohorts (study.toml [cohorts] on patients.csv, assigned by the
    library) are kept per process under the patient rows: a changed dose moves the
    patient to its new cohort on the next look (CLL-1: cart_dose_per_kg 5e5 is A,
    1e6 is B)."""
    from remission.web.models import Patient
    from remission.web.summaries import dashboard

    cll1, _ = studies

    def sizes():
        return {c: sum(n.values()) for c, n in dashboard(cll1).crs.items()}

    first = sizes()
    assert sizes() == first and sum(first.values()) == 12
    p = next(p for p in Patient.objects.filter(study=cll1)
             if p.data.get("cart_dose_per_kg") == "5e5")
    p.data = {**p.data, "cart_dose_per_kg": "1e6"}
    p._change_reason = "dose corrected"
    p.save()
    assert sizes() == {**first, "A": first["A"] - 1, "B": first["B"] + 1}


def test_a_patient_url_reads_session_user_role_and_patient_in_one_statement(studies):
    from remission.web.models import Patient, UserSession

    _cll1, raw = studies
    c = _signed_in("monitor")
    p = Patient.objects.filter(study=raw).first()
    url = reverse("timeline", kwargs={"study_id": raw.pk, "pk": p.pk})
    with CaptureQueriesContext(connection) as q:
        assert c.get(url).status_code == 200
    sqls = [x["sql"] for x in q.captured_queries]
    first = [x for x in sqls if UserSession._meta.db_table in x]
    assert len(first) == 1 and "auth_user" in first[0] and "web_membership" in first[0] \
        and "web_patient" in first[0]
    assert sum("web_membership" in x for x in sqls) == 1
    assert sum("auth_user" in x for x in sqls) == 1


def test_the_joined_role_is_only_the_signed_in_users(studies):
    from django.contrib.auth import get_user_model

    from remission.web.models import Patient, Study, UserSession

    User = get_user_model()
    other = Study.objects.get(code="other")  # the outsider is its admin; monitor has no role
    c = _signed_in("monitor")
    UserSession.objects.filter(session_key=c.cookies["sessionid"].value).update(
        user=User.objects.get(username="outsider"))  # a wrong user column
    assert c.get(reverse("study", kwargs={"study_id": other.pk})).status_code == 404
    _cll1, raw = studies
    p = Patient.objects.filter(study=raw).first()
    c = _signed_in("monitor")
    assert c.get(reverse("timeline", kwargs={"study_id": raw.pk, "pk": p.pk})).status_code \
        == 200
    c = _signed_in("outsider")
    assert c.get(reverse("timeline", kwargs={"study_id": raw.pk, "pk": p.pk})).status_code \
        == 404
