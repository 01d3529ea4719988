"""Permission matrix: every view as every role, an outsider (another study's
administrator) and an anonymous visitor. Object-level: another study's user gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .conftest import ROLES

pytestmark = pytest.mark.django_db

EDIT = {"admin", "investigator", "data_entry"}
ALL = set(ROLES)


def _targets(studies):
    from remission.web.models import AdverseEvent, Event, Observation, Patient, Query

    cll1, raw = studies
    p = Patient.objects.filter(study=raw).first()
    o = Observation.objects.filter(patient=p).first()
    e = Event.objects.filter(patient__study=raw).first()
    pc = Patient.objects.filter(study=cll1).first()
    from django.contrib.auth import get_user_model

    q = Query(patient=p, text="check day 3", raised_by=get_user_model().objects.get(
        username="monitor"))
    q.save()
    ae = AdverseEvent(patient=p, term="Fatigue", grade=1, onset_day=2)
    ae.save()
    s, pk = raw.pk, p.pk
    # (method, url, roles allowed, POST data)
    return [
        ("GET", reverse("study", args=[s]), ALL, None),
        ("GET", reverse("patient", args=[s, pk]), ALL, None),
        ("GET", reverse("bedside", args=[s, pk, 3]), ALL, None),
        ("GET", reverse("bedside", args=[s, pk, -2]), ALL, None),
        ("POST", reverse("bedside_grade", args=[s, pk, 3]), ALL, {"temperature": "38.5"}),
        ("POST", reverse("bedside", args=[s, pk, 3]), EDIT, {"time": "03:00",
                                                             "temperature": "38.5"}),
        ("GET", reverse("audit", args=[s, pk]), ALL, None),
        ("GET", reverse("audit", args=[s, pk]) + "?format=csv", ALL, None),
        ("GET", reverse("quality", args=[cll1.pk]), ALL, None),
        ("GET", reverse("report", args=[cll1.pk]), ALL, None),
        ("GET", reverse("report_file", args=[cll1.pk, "results.json"]), ALL, None),
        ("GET", reverse("export", args=[s]), {"admin", "investigator", "statistician"}, None),
        ("GET", reverse("patient_new", args=[s]), EDIT, None),
        ("POST", reverse("patient_new", args=[cll1.pk]), EDIT, {"patient_id": "NEW-1"}),
        ("GET", reverse("patient_edit", args=[s, pk]), EDIT, None),
        ("GET", reverse("record_new", args=[s, pk, "treatment"]), EDIT, None),
        ("POST", reverse("record_new", args=[s, pk, "adverse_event"]), EDIT,
         {"term": "Fatigue", "grade": "2", "onset_day": "3"}),
        ("GET", reverse("record_edit", args=[s, pk, "observation", o.pk]), EDIT, None),
        ("GET", reverse("record_edit", args=[s, pk, "event", e.pk]), EDIT, None),
        ("POST", reverse("retire", args=[s, pk, "adverse_event", ae.pk]), EDIT,
         {"reason": "entered twice"}),
        ("POST", reverse("signoff", args=[s, pk]), {"investigator"}, {"confirm": "on"}),
        ("POST", reverse("query", args=[s, pk]), {"admin", "monitor"}, {"text": "why?"}),
        ("POST", reverse("answer", args=[s, pk, q.pk]), EDIT, {"answer": "typo"}),
        ("GET", reverse("patient", args=[cll1.pk, pc.pk]), ALL, None),
        ("GET", reverse("timeline", args=[s, pk]), ALL, None),
        ("GET", reverse("dashboard", args=[cll1.pk]), ALL, None),
    ]


def _call(client, method, url, data):
    return client.get(url) if method == "GET" else client.post(url, data or {})


def test_every_view_as_every_role(studies, login):
    targets = _targets(studies)
    seen = 0
    for role in ROLES:
        client = login(role)
        for method, url, allowed, data in targets:
            r = _call(client, method, url, data)
            if role in allowed:
                assert r.status_code in (200, 302), (role, method, url, r.status_code)
            else:
                assert r.status_code == 403, (role, method, url, r.status_code)
            seen += 1
    assert seen == len(ROLES) * len(targets)


def test_another_studys_user_gets_404_everywhere(studies, login):
    client = login("outsider")
    for method, url, _, data in _targets(studies):
        assert _call(client, method, url, data).status_code == 404, (method, url)


def test_patient_of_another_study_is_404_even_for_a_member(studies, login):
    """A patient id from study A under study B's URL: 404 (no cross-study IDOR)."""
    from remission.web.models import Patient

    cll1, raw = studies
    pc = Patient.objects.filter(study=cll1).first()
    client = login("admin")
    assert client.get(reverse("patient", args=[raw.pk, pc.pk])).status_code == 404
    assert client.get(reverse("bedside", args=[raw.pk, pc.pk, 1])).status_code == 404


def test_anonymous_is_sent_to_login(studies, client):
    for method, url, _, data in _targets(studies):
        r = _call(client, method, url, data)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), url


def test_monitor_sees_no_edit_controls(studies, login):
    from remission.web.models import Patient

    _, raw = studies
    p = Patient.objects.filter(study=raw).first()
    page = login("monitor").get(reverse("bedside", args=[raw.pk, p.pk, 3])).content.decode()
    assert "Save readings" not in page
    assert "not enter data" in page
    assert 'name="temperature"' not in page
    page = login("data_entry").get(reverse("bedside", args=[raw.pk, p.pk, 3])).content.decode()
    assert 'name="temperature"' in page
