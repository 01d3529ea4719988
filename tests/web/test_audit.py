"""Audit trail: reasons are mandatory, old and new values and the user are kept, records
are retired not deleted, the trail itself cannot be changed, sign-off is invalidated by
any later change."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _p(raw, pid="P003"):
    from remission.web.models import Patient

    return Patient.objects.get(study=raw, patient_id=pid)


def test_change_without_reason_is_refused(studies):
    from remission.web.models import ReasonRequired

    _, raw = studies
    o = _p(raw).observations.first()
    o.value = "39.9"
    with pytest.raises(ReasonRequired):
        o.save()
    o._change_reason = "transcription error"
    o.save()
    h = o.history.first()
    assert h.history_change_reason == "transcription error" and h.value == "39.9"


def test_clinical_records_and_trail_cannot_be_deleted_or_edited(studies):
    from remission.web.models import NotDeletable, Observation

    _, raw = studies
    p = _p(raw)
    o = p.observations.first()
    with pytest.raises(NotDeletable):
        o.delete()
    with pytest.raises(NotDeletable):
        Observation.objects.filter(pk=o.pk).delete()
    h = o.history.first()
    h.value = "forged"
    with pytest.raises(NotDeletable), transaction.atomic():
        h.save()
    with pytest.raises(NotDeletable), transaction.atomic():
        h.delete()
    with pytest.raises(NotDeletable), transaction.atomic():
        type(h).objects.filter(pk=h.pk).delete()
    assert o.history.first().value != "forged"


def test_correction_through_the_page_needs_a_reason_and_lands_in_the_trail(studies, login):
    _, raw = studies
    p = _p(raw)
    o = p.observations.filter(variable="temperature").first()
    old = o.value
    c = login("data_entry")
    url = reverse("record_edit", args=[raw.pk, p.pk, "observation", o.pk])
    r = c.post(url, {"time": o.time, "value": "38.9", "unit": o.unit, "reason": ""})
    assert r.status_code == 200 and b"a reason for the change is required" in r.content
    o.refresh_from_db()
    assert o.value == old  # nothing saved
    r = c.post(url, {"time": o.time, "value": "38.9", "unit": o.unit,
                     "reason": "thermometer misread"})
    assert r.status_code == 302
    o.refresh_from_db()
    assert o.value == "38.9"
    page = c.get(reverse("audit", args=[raw.pk, p.pk])).content.decode()
    assert "thermometer misread" in page
    assert f"value: {old} → 38.9" in page
    assert "data_entry" in page
    csv_ = c.get(reverse("audit", args=[raw.pk, p.pk]) + "?format=csv").content.decode()
    assert "thermometer misread" in csv_ and f"'{old}' -> '38.9'" in csv_


def test_audit_view_accepts_no_writes(studies, login):
    _, raw = studies
    p = _p(raw)
    c = login("admin")
    url = reverse("audit", args=[raw.pk, p.pk])
    for method in ("post", "put", "patch", "delete"):
        assert getattr(c, method)(url).status_code == 405


def test_retire_keeps_the_record_and_removes_it_from_export(studies, login):
    from remission.web.folder import table_rows
    from remission.web.models import Event

    _, raw = studies
    p = _p(raw, "P001")
    e = p.events.first()
    c = login("investigator")
    r = c.post(reverse("retire", args=[raw.pk, p.pk, "event", e.pk]), {"reason": ""})
    assert r.status_code == 200 and not Event.objects.get(pk=e.pk).retired
    r = c.post(reverse("retire", args=[raw.pk, p.pk, "event", e.pk]),
               {"reason": "wrong patient"})
    assert r.status_code == 302
    e = Event.objects.get(pk=e.pk)
    assert e.retired and e.retire_reason == "wrong patient"
    _, rows = table_rows(raw)["events"]
    assert not [x for x in rows if x["patient_id"] == "P001" and x["day"] == str(e.day)
                and x["event"] == e.event]
    assert "retired: wrong patient" in c.get(reverse("audit", args=[raw.pk, p.pk])
                                             ).content.decode()


def test_signoff_is_invalidated_by_a_data_change(studies, login):
    """The sign-off stores the maximum grades the patient page shows. By hand from
    examples/synthetic-cart-raw: P001 died of CRS on day 8 (CRS grade 5); ICE score 10
    and alert on each of days 0-8 (ICANS grade 0)."""
    _, raw = studies
    p = _p(raw, "P001")
    c = login("investigator")
    r = c.post(reverse("signoff", args=[raw.pk, p.pk]), {"confirm": "on"})
    assert r.status_code == 302
    s = p.signoffs.first()
    assert (s.crs_max, s.neuro_max, s.signed_by.username) == (5, 0, "investigator")
    page = c.get(reverse("patient", args=[raw.pk, p.pk])).content.decode()
    assert '<strong class="ok">valid</strong>' in page
    assert 'id="crs-max">5<' in page and 'id="neuro-max">0<' in page
    assert "(CRS max 5, neurotoxicity max 0)" in page
    o = p.observations.filter(variable="temperature").first()
    o.value = "37.0"
    o._change_reason = "correction"
    o.save()
    page = c.get(reverse("patient", args=[raw.pk, p.pk])).content.decode()
    assert "invalidated: the data changed after signing" in page
