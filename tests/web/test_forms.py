"""Forms accept a value exactly when the study-folder validator would, show the problem on
its field and save nothing partial."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _p(raw, pid="P003"):
    from remission.web.models import Patient

    return Patient.objects.get(study=raw, patient_id=pid)


def test_bedside_out_of_range_value_saves_nothing(studies, login):
    _, raw = studies
    p = _p(raw)
    n = p.observations.count()
    c = login("data_entry")
    url = reverse("bedside", args=[raw.pk, p.pk, 60])
    # temperature range 30-45 °C (remission.vocab.vocabulary); SBP is valid
    r = c.post(url, {"temperature": "50", "sbp": "100"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "temperature value out of plausible range" in page
    assert p.observations.count() == n
    r = c.post(url, {"temperature": "abc"})
    assert "temperature value is not a number" in r.content.decode()
    r = c.post(url, {"time": "25:00", "temperature": "38"})
    assert "time is not HH:MM" in r.content.decode()
    assert p.observations.count() == n
    r = c.post(url, {"time": "08:00", "temperature": "38.4", "norepinephrine": "5",
                     "crs_recorded": "3"})
    assert r.status_code == 302
    assert p.observations.filter(day=60).count() == 2
    # a second untimed-duplicate reading with a different value is refused (validator rule)
    r = c.post(url, {"time": "08:00", "temperature": "39.0"})
    assert "duplicated observation of temperature" in r.content.decode()
    # changing the recorded grade needs a reason
    r = c.post(url, {"crs_recorded": "2"})
    assert "a reason for the change is required" in r.content.decode()
    r = c.post(url, {"crs_recorded": "2", "reason": "re-graded on ward round"})
    assert r.status_code == 302
    assert p.recorded_grades.get(day=60).crs_grade == 2


def test_live_grade_panel_shows_the_deciding_rule(studies, login):
    _, raw = studies
    p = _p(raw)
    c = login("monitor")  # reading the live grade is not an edit
    r = c.post(reverse("bedside_grade", args=[raw.pk, p.pk, 61]),
               {"temperature": "38.7", "norepinephrine": "4", "crs_recorded": "1"},
               HTTP_HX_REQUEST="true")
    page = r.content.decode()
    assert "grade 3: hypotension (norepinephrine 4 µg/min)" in page
    assert "Recorded CRS grade 1 differs from the derived grade 3" in page
    assert p.observations.filter(day=61).count() == 0  # nothing saved


def test_adverse_event_term_and_grade_checked_by_ctcae(studies, login):
    _, raw = studies
    p = _p(raw)
    c = login("investigator")
    url = reverse("record_new", args=[raw.pk, p.pk, "adverse_event"])
    n = p.adverse_events.count()
    r = c.post(url, {"term": "Fatigue", "grade": "4", "onset_day": "3"})
    assert "grade not defined for &#x27;Fatigue&#x27;" in r.content.decode()
    r = c.post(url, {"term": "Not a term", "grade": "2", "onset_day": "3"})
    assert "unknown CTCAE v5.0 term" in r.content.decode()
    assert p.adverse_events.count() == n
    # a synonym is stored under its CTCAE term
    r = c.post(url, {"term": "neutropenia", "grade": "4", "onset_day": "3"})
    assert r.status_code == 302
    assert p.adverse_events.get(onset_day=3, grade=4).term == "Neutrophil count decreased"


def test_patient_form_uses_the_patients_rules(studies, login):
    from remission.web.models import Patient

    cll1, _ = studies
    c = login("admin")
    url = reverse("patient_new", args=[cll1.pk])
    n = Patient.objects.filter(study=cll1).count()
    r = c.post(url, {"patient_id": "N1", "age": "150", "cart_dose_per_kg": "1.5"})
    page = r.content.decode()
    assert "out of range" in page or "0-120" in page
    assert Patient.objects.filter(study=cll1).count() == n
    r = c.post(url, {"patient_id": "N1", "age": "40", "cart_dose_per_kg": "1.5"})
    assert "dose looks like millions of cells per kg" in r.content.decode()
    r = c.post(url, {"patient_id": "N1", "age": "40", "cart_dose_per_kg": "7e5"})
    assert "matches no cohort level" in r.content.decode()
    r = c.post(url, {"patient_id": "N1", "age": "40", "cart_dose_per_kg": "1e6"})
    assert r.status_code == 302
    assert Patient.objects.get(study=cll1, patient_id="N1").data["cart_dose_per_kg"] == "1e6"


def test_event_after_death_is_refused(studies, login):
    cll1, _ = studies
    from remission.web.models import Patient

    p = Patient.objects.get(study=cll1, patient_id="1")  # died on day 26
    c = login("admin")
    r = c.post(reverse("record_new", args=[cll1.pk, p.pk, "event"]),
               {"day": "400", "event": "last_contact"})
    assert "after death on day 26" in r.content.decode()
    assert not p.events.filter(day=400).exists()


def test_bedside_forms_share_their_fields_and_render_as_forms_of_their_own(studies,
                                                                           login,
                                                                           monkeypatch):
    """The bedside form's reading fields are built once per process and shared by its
    forms (a save builds no form field: counted, never timed); a form never changes
    them, so a form rendered after another one with errors renders as a form with fields
    of its own (built afresh) renders, with errors, typed values and recorded grades."""
    import copy

    from django import forms as dj_forms

    from remission.errors import Problem
    from remission.web.forms import BedsideForm, _bedside_fields, problems_to_form

    _, raw = studies
    p = _p(raw, "P004")
    c = login("data_entry")
    built = []
    real = dj_forms.Field.__init__

    def counted(self, *a, **k):
        built.append(type(self).__name__)
        real(self, *a, **k)

    BedsideForm()  # the process's shared fields exist
    monkeypatch.setattr(dj_forms.Field, "__init__", counted)
    r = c.post(reverse("bedside", args=[raw.pk, p.pk, 64]),
               {"time": "06:10", "temperature": "38.1"})
    assert r.status_code == 302
    assert built == []
    monkeypatch.setattr(dj_forms.Field, "__init__", real)

    def own(form):
        """The form with fields of its own: built afresh (not the shared ones)."""
        fresh = _bedside_fields.__wrapped__()
        form.fields = {k: fresh[k] if k in fresh else copy.deepcopy(f)
                       for k, f in form.fields.items()}
        return form

    cases = [
        ({"time": "25:00", "temperature": "50", "crs_recorded": "2",
          "temperature__attributed_to": "infection"}, {}),
        ({"time": "08:00", "sbp": "92", "oxygen_device": "nasal_cannula"}, {}),
        (None, {"crs_recorded": 3, "neuro_recorded": 1}),
        (None, {}),
    ]
    for data, initial in cases:
        pages = []
        for form in (BedsideForm(data, initial=initial),
                     own(BedsideForm(data, initial=initial))):
            if data is not None and form.is_valid():
                problems_to_form(form, [Problem("observations.csv", "duplicated",
                                                column="value")], {"value": "sbp"})
            pages.append(form.as_p())
        assert pages[0] == pages[1]
    assert BedsideForm().fields["sbp"] is BedsideForm({"sbp": "1"}).fields["sbp"]
