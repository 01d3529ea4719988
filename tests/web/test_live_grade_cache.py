"""A live grade (the bedside page's htmx ``bedside_grade``) reads the patient's stored data
from the per-process inputs of the patient's revision (remission.web.grading: the day's
stored rows, the recorded grades, the converted rows, the grades of a form sent again):
after any write to the patient's data (a new revision) the next live grade of the same
typed values must show the written data, never an answer kept from before.

Perturbation seen red (by hand, then restored): ``_inputs`` reusing its entry whatever
the revision (``hit.revision == revision`` dropped from the look-up) fails
``test_a_write_is_seen_by_the_next_live_grade`` at the first write; the grades of a form
sent again kept across revisions (``graded`` carried to the next revision's inputs, as
the converted rows are) fails it at the write to another day; the kept grades handed
out without a copy (the view's typed recorded grade then changes them) fails it too.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

#: a day of the synthetic study without stored readings (bench_web grades days 200-249)
DAY = 200


def _client() -> Client:
    from django.contrib.auth import get_user_model

    c = Client()
    c.force_login(get_user_model().objects.get(username="investigator"))
    return c


def _panel(c: Client, study, p, data: dict) -> str:
    r = c.post(reverse("bedside_grade", kwargs={"study_id": study.pk, "pk": p.pk,
                                                "day": DAY}), data)
    assert r.status_code == 200
    return r.content.decode()


def _crs(html: str) -> str:
    return re.search(r'id="grade-crs">.*?<p class="g[^"]*">([^<]*)</p>', html, re.S).group(1)


def test_a_write_is_seen_by_the_next_live_grade(studies, gradings):
    from remission.web.models import Observation, RecordedGrade

    _, raw = studies
    p = raw.patients.order_by("line").first()
    c = _client()
    typed = {"time": "08:00", "temperature": "38.6"}
    # ASTCT 2019 (Lee DW et al., BBMT 2019;25:625, table): fever >= 38.0 °C alone is
    # grade 1; fever with hypoxia needing low-flow nasal cannula (<= 6 L/min) is grade 2
    fever = "grade 1: fever (temperature 38.6 °C)"
    assert _crs(_panel(c, raw, p, typed)) == fever
    assert len(gradings) == 1
    assert _crs(_panel(c, raw, p, typed)) == fever  # the form sent again: not graded again
    assert len(gradings) == 1
    # other values typed, or the same values typed for another recorded time: graded
    assert _crs(_panel(c, raw, p, {**typed, "temperature": "37.2"})) == "grade 0"
    assert _crs(_panel(c, raw, p, {**typed, "time": "08:05"})) == fever
    assert len(gradings) == 3
    o2 = [Observation.objects.create(patient=p, day=DAY, time="07:00", variable=v,
                                     value=x, unit=u, line=90_000 + i)
          for i, (v, x, u) in enumerate([("oxygen_device", "nasal_cannula", "category"),
                                         ("oxygen_flow", "3", "L/min")])]
    assert _crs(_panel(c, raw, p, typed)) == \
        "grade 2: oxygen (oxygen device nasal_cannula; oxygen flow 3 L/min)"
    assert len(gradings) == 4  # the new revision graded
    html = _panel(c, raw, p, typed)
    assert "Recorded CRS grade" not in html and "Febrile neutropenia" not in html
    # a write to another day that changes this day's grades (its rows unchanged): an
    # ANC < 1.0 x 10^9/L the day before pairs with the fever > 38.3 °C typed today,
    # CTCAE v5.0 febrile neutropenia grade 3 (the pairing window: ctcae.FN_WINDOW_DAYS)
    Observation.objects.create(patient=p, day=DAY - 1, time="06:00", variable="anc",
                               value="0.3", unit="10^9/L", line=90_005)
    html = _panel(c, raw, p, typed)
    assert "Febrile neutropenia: grade 3" in html
    assert "Recorded CRS grade" not in html
    # a grade recorded by the clinician for the day: the panel compares it
    RecordedGrade.objects.create(patient=p, day=DAY, crs_grade=3, line=90_010)
    html = _panel(c, raw, p, typed)
    assert "Recorded CRS grade 3 differs from the derived grade 2" in html
    # a recorded grade typed in the form is shown in place of the stored one, and the
    # next form without it shows the stored one again (kept grades are never changed)
    html = _panel(c, raw, p, {**typed, "crs_recorded": "2"})
    assert "Recorded CRS grade" not in html
    html = _panel(c, raw, p, typed)
    assert "Recorded CRS grade 3 differs from the derived grade 2" in html
    # the oxygen readings retired: back to fever alone, still compared with grade 3
    for o in o2:
        o.retire("entered for the wrong patient")
    html = _panel(c, raw, p, typed)
    assert _crs(html) == fever
    assert "Recorded CRS grade 3 differs from the derived grade 1" in html


def test_stored_day_rows_are_the_database_rows(studies):
    """The day's rows a live grade validates and grades are those the database holds (every
    column, ``extra`` ones too, in the database's order), for every day of a patient."""
    from remission.web.grading import stored_day_rows
    from remission.web.models import Observation
    from remission.web.views import _day_rows

    _, raw = studies
    p = raw.patients.order_by("line").first()
    Observation.objects.create(patient=p, day=3, time="23:00", variable="temperature",
                               value="39.0", unit="°C", line=90_000,
                               extra={"attributed_to": "line infection"})
    days = sorted(set(p.observations.active().values_list("day", flat=True)))
    assert len(days) > 5
    for day in [*days, DAY]:
        assert stored_day_rows(p, day) == _day_rows(p, day), day
    assert {"attributed_to": "line infection"}.items() <= stored_day_rows(p, 3)[-1].items()
