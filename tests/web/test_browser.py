"""The trial team's day in a real browser: Playwright drives Debian's Chromium
(/usr/bin/chromium; Playwright never downloads a browser here).

Log in as an investigator, create a patient, enter a bedside day whose vitals make
grade 3 CRS (ASTCT 2019: fever with hypotension needing one vasopressor) and see the live
grade, save, correct a value with a reason, find the correction in the audit trail, sign
off; keyboard-only entry; a monitor cannot edit and another study's user gets 404.
Screenshots of the main pages at desktop and tablet width go to build/web-screenshots/.
axe-core (npm, installed by `make test` into build/npm) checks the main pages for
serious or critical accessibility violations.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import EXAMPLES, PASSWORD, ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "build" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "build" / "web-screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed "
                       "(make web-deps)"),
]


@pytest.fixture
def browser():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop thread
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _site(live_server, raw: bool):
    """Studies (the synthetic raw-data example when ``raw``, and CLL-1) with an
    investigator and a monitor, plus an outsider who administers another study."""
    from django.contrib.auth import get_user_model

    from remission.web.folder import import_study
    from remission.web.models import Membership, Study

    small = import_study(EXAMPLES / "cll1-post-hsct", "cll1-browser")
    study = import_study(EXAMPLES / "synthetic-cart-raw", "raw-browser") if raw else small
    other = Study.objects.create(code="elsewhere", name="Another study", toml=small.toml)
    User = get_user_model()
    for role in ("investigator", "monitor"):
        u = User.objects.create_user(f"b-{role}", password=PASSWORD)
        for s in {study, small}:
            Membership.objects.create(user=u, study=s, role=role)
    u = User.objects.create_user("b-outsider", password=PASSWORD)
    Membership.objects.create(user=u, study=other, role="admin")
    return live_server.url, study, small


@pytest.fixture
def site(live_server, transactional_db):
    return _site(live_server, raw=True)


@pytest.fixture
def small_site(live_server, transactional_db):
    return _site(live_server, raw=False)


def _login(page, url, user):
    page.goto(url + "/login/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in (("desktop", 1366), ("tablet", 820)):
        page.set_viewport_size({"width": width, "height": 1000})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 1000})


def _axe(page, name):
    if not AXE.exists():
        return None
    page.evaluate(AXE.read_text(encoding="utf-8"))
    res = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                        ".violations.map(v => [v.id, v.impact, v.nodes.length])")
    bad = [v for v in res if v[1] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"
    return res


def test_bedside_day_grade3_correct_audit_signoff(browser, site):
    url, _study, small = site
    ctx = browser.new_context(viewport={"width": 1366, "height": 1000})
    page = ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.on("response", lambda r: console.append(f"{r.status} {r.url}"))
    _login(page, url, "b-investigator")
    _shot(page, "01-studies")
    _axe(page, "studies")
    page.get_by_role("link", name=re.compile("SYNTHETIC two-arm")).click()
    _shot(page, "02-study")
    _axe(page, "study")

    # create a patient (the study's cohort column is the arm)
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("patient id").fill("WEB-1")
    page.get_by_label("age", exact=True).fill("46")
    page.get_by_label("weight kg").fill("70")
    page.get_by_label("arm", exact=True).fill("A")
    page.get_by_role("button", name="Save patient").click()
    page.wait_for_url(re.compile(r"/patient/\d+/$"))
    assert "Patient WEB-1" in page.content()
    patient_url = page.url

    # bedside day 2: fever 39.1 °C and norepinephrine -> live ASTCT grade 3
    page.goto(patient_url + "day/2/")
    page.get_by_label("Time of readings").fill("03:00")
    page.get_by_label("Body temperature").fill("39.1")
    page.get_by_label("Norepinephrine dose").fill("6")
    page.get_by_label("CRS grade recorded by the clinician").select_option("2")
    crs = page.locator("#grade-crs")
    try:
        crs.get_by_text(re.compile(r"grade 3: hypotension")).wait_for(timeout=15000)
    except Exception:
        _shot(page, "debug")
        raise AssertionError("\n".join(console) + page.content()) from None
    page.locator("#grade-crs").get_by_text(
        "Recorded CRS grade 2 differs from the derived grade 3").wait_for(timeout=15000)
    _shot(page, "03-bedside-live")
    _axe(page, "bedside")
    page.get_by_label("Reason for change").fill("initial bedside entry")
    # the form posts to the page it is on: wait for that navigation itself, not for a URL
    # the page already has (which returned before the save on a loaded CI machine)
    with page.expect_navigation(url=patient_url + "day/2/"):
        page.get_by_role("button", name="Save readings").click()
    assert "grade 3: hypotension" in page.locator("#grade-crs").inner_text()

    # correct the temperature with a reason
    page.get_by_role("link", name="correct temperature").click()
    page.get_by_label("Value").fill("38.6")
    page.get_by_role("button", name="Save").click()
    assert "a reason for the change is required" in page.content()
    page.get_by_label("Reason for change").fill("thermometer misread at 03:00")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(patient_url + "day/2/")
    assert "grade 3" in page.locator("#grade-crs").inner_text()

    # the audit trail shows who, old -> new and the reason
    page.goto(patient_url + "audit/")
    audit = page.locator("#audit").inner_text()
    assert "thermometer misread at 03:00" in audit
    assert "39.1 → 38.6" in audit and "b-investigator" in audit
    _shot(page, "04-audit")
    _axe(page, "audit")

    # the timeline shows the day's derived grade and the correction with its reason
    page.goto(patient_url + "timeline/")
    day2 = page.locator("#day-2").inner_text()
    assert "3 (hypotension)" in day2 and "recorded 2" in day2
    assert "thermometer misread at 03:00" in day2 and "39.1" in day2 and "38.6" in day2
    _shot(page, "07-timeline")
    _axe(page, "timeline")

    # sign off; the derived maximum is the grade 3 entered above
    page.goto(patient_url)
    assert page.locator("#crs-max").inner_text() == "3"
    page.get_by_label(re.compile("I have reviewed")).check()
    page.get_by_role("button", name="Sign off grades").click()
    assert "valid" in page.locator("#signoff-status").inner_text()
    _shot(page, "05-patient")
    _axe(page, "patient")

    # keyboard only: from the time field, Tab to temperature, type, Enter submits
    page.goto(patient_url + "day/3/")
    page.focus("#id_time")
    page.keyboard.type("07:30")
    page.keyboard.press("Tab")
    page.keyboard.type("38.2")
    with page.expect_navigation(url=patient_url + "day/3/"):
        page.keyboard.press("Enter")
    assert "grade 1: fever" in page.locator("#grade-crs").inner_text()
    # that change invalidated the sign-off
    page.goto(patient_url)
    assert "invalidated" in page.locator("#signoff-status").inner_text()

    # the study report of the current data (the 12-patient CLL-1 study: quick to compute)
    page.goto(url + f"/study/{small.pk}/report/", timeout=120_000)
    assert "CLL-1" in page.content()
    _shot(page, "06-report")

    # the cohort dashboard of the CLL-1 study (12 patients, none signed off)
    page.goto(url + f"/study/{small.pk}/dashboard/", timeout=120_000)
    assert page.locator("#n-enrolled").inner_text().startswith("12")
    _shot(page, "08-dashboard")
    _axe(page, "dashboard")
    ctx.close()


def test_monitor_cannot_edit_and_outsider_gets_404(browser, small_site):
    url, study, _ = small_site
    from remission.web.models import Patient

    p = Patient.objects.filter(study=study).first()
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, url, "b-monitor")
    page.goto(url + f"/study/{study.pk}/patient/{p.pk}/day/5/")
    assert page.locator("#bedside-form").count() == 0
    assert "not enter data" in page.content()
    r = page.goto(url + f"/study/{study.pk}/patient/{p.pk}/treatment/new/")
    assert r.status == 403
    ctx.close()
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, url, "b-outsider")
    for path in ("", f"patient/{p.pk}/", f"patient/{p.pk}/day/5/", f"patient/{p.pk}/audit/",
                 f"patient/{p.pk}/timeline/", "dashboard/", "report/", "export/"):
        assert page.goto(url + f"/study/{study.pk}/{path}").status == 404, path
    ctx.close()
