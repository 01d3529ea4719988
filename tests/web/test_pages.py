"""Patient timeline and cohort dashboard: their numbers are the batch pipeline's.

The oracle is the batch path of ``remission report`` on the bundled synthetic study
(load_study -> normalise_observations -> grade_all with the study's systems), not the
web's own grading."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse

from .conftest import EXAMPLES, batch_derived

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def batch():
    return batch_derived(EXAMPLES / "synthetic-cart-raw")


def test_timeline_days_carry_the_batch_grades(studies, batch, login):
    from remission.web.models import Patient
    from remission.web.summaries import timeline

    out, _ = batch
    _, raw = studies
    crs = out["crs_daily"].set_index(["patient_id", "day"])["grade"]
    labs = out["labs"]
    ra = out["response_assessments"]
    checked = 0
    for pid in ("P001", "P003", "P010"):
        p = Patient.objects.get(study=raw, patient_id=pid)
        days = {d.day: d for d in timeline(p)}
        assert "infusion: SYN CAR-T" in " ".join(days[0].given)
        for d in days.values():
            if d.crs is not None:
                assert d.crs == int(crs[(pid, d.day)]), (pid, d.day)
                checked += 1
        # CTCAE grades >= 1 of the batch appear on their day
        mine = labs[(labs["patient_id"] == pid) & (labs["grade"].fillna(0) >= 1)]
        for r in mine.itertuples():
            assert f"{r.term} {int(r.grade)}" in days[r.day].labs
        # derived responses on their assessment day
        for r in ra[ra["patient_id"] == pid].dropna(subset=["response"]).itertuples():
            assert any(x.startswith(f"derived {r.response}") for x in days[r.day].response)
    assert checked > 30
    page = login("monitor").get(reverse("timeline", args=[raw.pk, p.pk])).content.decode()
    assert 'id="day-0"' in page and "SYN CAR-T" in page


def test_timeline_shows_corrections_and_retirements(studies, login):
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P003")
    o = Observation.objects.filter(patient=p, day=2, variable="temperature").first()
    client = login("data_entry")
    r = client.post(reverse("record_edit", args=[raw.pk, p.pk, "observation", o.pk]),
                    {"time": o.time, "value": "38.9", "unit": o.unit,
                     "reason": "copied from the wrong chart"})
    assert r.status_code == 302
    sbp = Observation.objects.filter(patient=p, day=3, variable="sbp").first()
    sbp.retire("duplicate of the 08:00 reading")
    page = client.get(reverse("timeline", args=[raw.pk, p.pk])).content.decode()
    day2 = page[page.index('id="day-2"'):page.index('id="day-3"')]
    assert "copied from the wrong chart" in day2 and "38.9" in day2 and f"{o.value}" in day2
    assert "T max 38.9" in day2  # the daily worst value follows the correction
    day3 = page[page.index('id="day-3"'):page.index('id="day-4"')]
    assert "duplicate of the 08:00 reading" in day3 and "retired" in day3


def test_dashboard_counts_equal_the_batch_pipeline(studies, batch, login):
    _, raw = studies
    out, pts = batch
    from remission.web.summaries import dashboard

    d = dashboard(raw)
    assert d.enrolled == len(pts) == 40 and d.infused == 40
    assert d.cohorts == ["A", "B"]
    arm = pts.set_index("patient_id")["arm"]
    want = Counter()
    for r in out["crs"].itertuples():
        want[(arm[r.patient_id], int(r.crs_max_grade))] += 1
    got = Counter({(c, g): n for c, cnt in d.crs.items() for g, n in cnt.items()})
    assert got == want
    want = Counter()
    for r in out["neuro"].itertuples():
        want[(arm[r.patient_id], int(r.icans_max_grade))] += 1
    got = Counter({(c, g): n for c, cnt in d.neuro.items() for g, n in cnt.items()})
    assert got == want
    # a patient without any marrow assessment is NE (ELN 2022: non-evaluable, a response
    # category) in the batch and on the dashboard alike
    assessed = set(out["response_assessments"]["patient_id"])
    best = out["response"].set_index("patient_id")["best_response"].astype(str)
    assert d.responses["derived"] == Counter(best)
    never = [pid for pid in best.index if pid not in assessed]
    assert len(never) == 2 and all(best[pid] == "NE" for pid in never)
    assert "not assessed" not in d.responses["derived"]
    assert d.responses["recorded"] == Counter(pts["best_response"].fillna("not recorded"))
    assert d.signed == 0 and len(d.pending_signoff) == 40
    page = login("statistician").get(reverse("dashboard", args=[raw.pk])).content.decode()
    assert 'id="n-enrolled">40' in page and "Maximum derived CRS grade" in page


def test_dashboard_pending_signoffs_missing_days_and_overdue_queries(studies, login):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from remission.web.models import Infusion, Observation, Patient, Query
    from remission.web.summaries import dashboard

    cll1, _ = studies
    p = Patient.objects.filter(study=cll1).order_by("line").first()
    # an infused patient with bedside readings on days 1, 2 and 4: day 3 is missing, days
    # 5-7 are beyond the data (not yet due)
    Infusion(patient=p, product="CLL1 CAR-T", day=0).save()
    for day in (1, 2, 4):
        Observation(patient=p, day=day, variable="temperature", value="37.0",
                    unit="°C").save()
    d = dashboard(cll1)
    assert [(x.patient_id, days) for x, days in d.missing_days] == [(p.patient_id, [3])]
    assert p in d.pending_signoff and d.signed == 0
    client = login("investigator")
    assert client.post(reverse("signoff", args=[cll1.pk, p.pk]),
                       {"confirm": "on"}).status_code == 302
    d = dashboard(cll1)
    assert p not in d.pending_signoff and d.signed == 1
    Observation(patient=p, day=3, variable="temperature", value="38.2", unit="°C").save()
    d = dashboard(cll1)
    assert p in d.pending_signoff and d.signed == 0  # the change invalidated the sign-off
    assert d.missing_days == []
    monitor = get_user_model().objects.get(username="monitor")
    old = Query.objects.create(patient=p, text="source document?", raised_by=monitor)
    Query.objects.create(patient=p, text="recent", raised_by=monitor)
    Query.objects.filter(pk=old.pk).update(raised_at=timezone.now() - timedelta(days=8))
    assert [q.text for q in dashboard(cll1).overdue_queries] == ["source document?"]
