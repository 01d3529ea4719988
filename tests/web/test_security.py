"""CSRF, escaping of script text everywhere it is shown, CSV formula neutralisation,
login throttling, passwords never logged, security headers."""

from __future__ import annotations

import io
import logging
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script>'


def test_csrf_is_enforced(studies):
    from django.contrib.auth import get_user_model

    from remission.web.models import Patient

    _, raw = studies
    p = Patient.objects.filter(study=raw).first()
    c = Client(enforce_csrf_checks=True)
    c.force_login(get_user_model().objects.get(username="admin"))
    n = p.observations.count()
    r = c.post(reverse("bedside", args=[raw.pk, p.pk, 3]), {"temperature": "39"})
    assert r.status_code == 403
    assert p.observations.count() == n
    # with the token from the page it is accepted
    page = c.get(reverse("bedside", args=[raw.pk, p.pk, 50]))
    token = page.cookies["csrftoken"].value
    r = c.post(reverse("bedside", args=[raw.pk, p.pk, 50]),
               {"temperature": "39", "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and p.observations.count() == n + 1


def test_script_text_is_escaped_in_pages_report_and_word(studies, login):
    from remission.web.models import Patient

    cll1, _ = studies
    p = Patient.objects.filter(study=cll1).first()
    data = dict(p.data)
    data["diagnosis"] = SCRIPT
    p.data = data
    p._change_reason = "escaping test"
    p.save()
    c = login("admin")
    for url in (reverse("patient", args=[cll1.pk, p.pk]), reverse("audit", args=[cll1.pk, p.pk])):
        page = c.get(url).content.decode()
        assert SCRIPT not in page
        assert "&lt;script&gt;" in page
    c.post(reverse("record_new", args=[cll1.pk, p.pk, "event"]),
           {"day": "400", "event": "last_contact", "detail": SCRIPT})
    page = c.get(reverse("patient", args=[cll1.pk, p.pk])).content.decode()
    assert "<script>alert" not in page
    html = c.get(reverse("report", args=[cll1.pk]))
    assert html.status_code == 200
    assert "<script>alert" not in html.content.decode()
    assert "Content-Security-Policy" in html.headers and "script-src" not in \
        html.headers["Content-Security-Policy"]
    docx = c.get(reverse("report_file", args=[cll1.pk, "tables.docx"])).content
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        xml = z.read("word/document.xml").decode()
    assert "<script>" not in xml


def test_formula_cells_are_neutralised_in_csv_export(studies, login):
    from remission.io.cells import neutralise
    from remission.web.models import Patient

    assert neutralise("=1+1") == "'=1+1" and neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("-3") == "-3" and neutralise("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    _, raw = studies
    p = Patient.objects.filter(study=raw).first()
    o = p.observations.first()
    o.value = o.value
    o._change_reason = '=HYPERLINK("http://example.invalid","x")'
    o.save()
    text = login("monitor").get(reverse("audit", args=[raw.pk, p.pk]) + "?format=csv"
                                ).content.decode()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text


def test_login_is_throttled_and_passwords_are_not_logged(studies, caplog):
    c = Client()
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        r = c.post(reverse("login"), {"username": "monitor", "password": "wrong-" + PASSWORD})
        assert r.status_code in (200, 429)
    r = c.post(reverse("login"), {"username": "monitor", "password": PASSWORD})
    assert r.status_code in (403, 429)  # locked out although the password is right
    assert "_auth_user_id" not in c.session
    assert PASSWORD not in caplog.text and "wrong-" not in caplog.text
    # another user is not locked
    r = Client().post(reverse("login"), {"username": "statistician", "password": PASSWORD},
                      REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 302


def test_security_headers_and_cookie_settings(client, studies):
    from django.conf import settings

    r = client.get(reverse("login"))
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"
    page = r.content.decode()
    assert "<script>" not in page  # no inline script anywhere: the CSP forbids it
