"""Pages built from kept fragments (remission.web.fragments) write the bytes the pages'
templates wrote before: each table body and the bedside form, taken from the page the
view answers, equals the loop of the old template (tests/web/old_loops/, verbatim from
the templates before the change) rendered by Django's engine with the context the old
view passed (model instances, the unbound form), hostile text and NaN included; and a
kept fragment is never shown for other values (types, a changed value, another role).
The whole pages of the demo studies are compared with an older version of the code by
``benchmarks/web_pages_identical.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from django.template import engines
from django.urls import reverse

pytestmark = pytest.mark.django_db

OLD = Path(__file__).resolve().parent / "old_loops"
HOSTILE = "'\"><script>alert('x')</script> &amp; é"


def _old(name: str, context: dict) -> str:
    return engines["django"].from_string((OLD / f"{name}.html").read_text()).render(context)


def _tbody(page: str, caption: str) -> str:
    i = page.index(caption)
    return page[page.index("<tbody>", i) + 7:page.index("</tbody>", i)]


def _hostile_patient(raw):
    from remission.web.models import Observation, Patient, RecordedGrade

    p = Patient.objects.filter(study=raw).order_by("line", "id").first()
    o = Observation.objects.filter(patient=p, retired=False).order_by("day", "id").first()
    o.extra = {"attributed_to": HOSTILE}
    o._change_reason = HOSTILE
    o.save()
    o2 = Observation.objects.filter(patient=p, day=o.day, retired=False).exclude(
        pk=o.pk).first()
    o2.retired, o2.retire_reason, o2._change_reason = True, HOSTILE, "retired"
    o2.save()
    r = RecordedGrade(patient=p, day=o.day, crs_grade=3, neuro_grade=None, line=900)
    r._change_reason = "recorded"
    r.save()
    p.refresh_from_db()
    return p, o.day


def test_pages_write_the_old_templates_bytes(studies, login):
    from remission.web import summaries
    from remission.web.forms import BedsideForm
    from remission.web.grading import daily_table
    from remission.web.models import Observation

    _, raw = studies
    p, day = _hostile_patient(raw)
    ctx = {"study": raw, "patient": p}
    grades = ("crs", "neuro", "crs_recorded", "neuro_recorded")  # whole numbers or None
    for role, can_edit in (("admin", True), ("monitor", False)):
        client = login(role)
        for look in range(2):  # the second look is served from kept fragments
            page = client.get(reverse("patient", args=[raw.pk, p.pk])).content.decode()
            rows = [{k: (None if pd.isna(v) else int(v)) if k in grades else v
                     for k, v in r.items()} for r in daily_table(p).to_dict("records")]
            old = _old("daily", {**ctx, "daily": rows})
            assert _tbody(page, "<caption>Per day") == old, (role, look)
            page = client.get(reverse("timeline", args=[raw.pk, p.pk])).content.decode()
            old = _old("timeline", {**ctx, "days": summaries.timeline(p)})
            assert _tbody(page, "<caption>Course of") == old, (role, look)
            page = client.get(reverse("bedside", args=[raw.pk, p.pk, day])).content.decode()
            stored = Observation.objects.filter(patient=p, day=day).order_by(
                "time", "variable", "id")
            old = _old("stored", {**ctx, "stored": stored, "can_edit": can_edit})
            assert _tbody(page, "<caption>Day") == old, (role, look)
            form = re.search(r'id="bedside-form"[^>]*>\n<input type="hidden" '
                             r'name="csrfmiddlewaretoken" value="[^"]*">\n(.*?)<button '
                             r'type="submit">Save readings', page, re.S)
            if can_edit:
                old = _old("form", {"form": BedsideForm(initial={"crs_recorded": 3,
                                                                 "neuro_recorded": None})})
                assert form.group(1) == old, (role, look)
                assert 'value="3" selected' in old
            else:
                assert form is None and "Save readings" not in page
    assert page.count("&#x27;&quot;&gt;&lt;script&gt;") >= 2 and "<script>alert" not in page
    page = login("admin").get(reverse("bedside", args=[raw.pk, p.pk, day + 1000]))
    form = re.search(r'name="csrfmiddlewaretoken" value="[^"]*">\n(.*?)<button '
                     r'type="submit">Save readings', page.content.decode(), re.S)
    assert form.group(1) == _old("form", {"form": BedsideForm(initial={})})


def test_a_kept_fragment_is_shown_only_for_its_values():
    from django.utils.safestring import mark_safe

    from remission.web import fragments

    fragments.clear()
    base = {"day": 3, "crs": 2, "crs_rule": "fever", "crs_recorded": None, "neuro": None,
            "neuro_rule": "", "neuro_recorded": None}

    def link(patient_pk: int) -> dict:
        head, tail = fragments.url_around("bedside", 1, patient_pk)
        return {"day_url": head, "day_url_end": tail}

    def cells(**change):
        html = fragments.render_rows("web/_daily_row.html", [{**base, **change}],
                                     **link(7))
        return re.findall(r"<td>(.*?)</td>", html)[1:]

    assert cells()[0] == "2"
    # values equal in Python (1 == 1.0 == True) but shown differently
    assert [cells(crs=v)[0] for v in (1, 1.0, True)] == ["1", "1.0", "True"]
    assert cells(crs_rule="<b>")[1] == "&lt;b&gt;"
    assert cells(crs_rule=mark_safe("<b>"))[1] == "<b>"
    assert cells(crs=float("nan"))[0] == "nan"
    # a changed recorded grade, and a row of another patient
    assert cells(crs_recorded=1)[2] == '1 <span class="warn">≠ derived</span>'
    html = fragments.render_rows("web/_daily_row.html", [base], **link(8))
    assert 'href="/study/1/patient/8/day/3/"' in html
    assert 'href="/study/1/patient/7/day/3/"' in fragments.render_rows(
        "web/_daily_row.html", [base], **link(7))


def test_patient_page_shows_a_new_day_at_the_next_look(studies, login):
    """The daily rows and maxima kept for a revision of the patient are not shown for
    the next one: a reading on a new day (a new revision) is a new row at the next look,
    also in another process that had kept the old revision's rows."""
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.filter(study=raw).order_by("line", "id").last()
    client = login("admin")
    url = reverse("patient", args=[raw.pk, p.pk])
    link = 'href="' + reverse("bedside", args=[raw.pk, p.pk, 97]) + '"'
    assert link not in client.get(url).content.decode()
    Observation.objects.create(patient=p, day=97, variable="temperature", value="39.6",
                               unit="°C", line=9000)
    page = client.get(url).content.decode()
    assert link in page
    row = page[page.index(link):page.index("</tr>", page.index(link))]
    assert "<td>fever</td>" in row


def test_patient_page_shows_whole_grades_and_a_dash_when_not_assessed(studies, login):
    """The patient page's daily table shows a grade as the whole number the grading
    scales use (ASTCT 2019 CRS and ICANS grades are 0-5) and "—" on a day the syndrome
    was not assessed, also when the table mixes both: day 1 a fever alone (CRS 1, no
    neurological reading), day 2 an ICE score alone (ICANS 0, no CRS reading)."""
    import re

    from remission.vocab.vocabulary import VOCABULARY
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.create(study=raw, patient_id="DS01", line=990)
    Observation.objects.create(patient=p, day=1, variable="temperature", value="38.5",
                               unit="°C", line=991)
    Observation.objects.create(patient=p, day=2, variable="ice_score", value="10",
                               unit=VOCABULARY["ice_score"].unit, line=992)
    page = login("admin").get(reverse("patient", args=[raw.pk, p.pk])).content.decode()

    def cells(day: int) -> list[str]:
        link = 'href="' + reverse("bedside", args=[raw.pk, p.pk, day]) + '"'
        row = page[page.index(link):page.index("</tr>", page.index(link))]
        return re.findall(r"<td>(.*?)</td>", row)

    assert cells(1)[:5] == ["1", "fever", "", "—", ""]
    assert cells(2)[:5] == ["—", "", "", "0", ""]
