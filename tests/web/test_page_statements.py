"""The GET pages' database statements (counted, never timed): the patient page reads its
lists (records, sign-off, queries and who wrote them) in one statement, the timeline
reads its records and the readings' audit trail in one, with its course in the same
statement as itself; and what is read in one statement equals what the ORM reads.

"Another process" is simulated by emptying this process's copies of the shared values
(``grading._LOCAL``, ``grading._CACHE``), as in tests/web/test_derived_cache.py.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db

#: statements every page of a study reads before its own (the session with its user, role,
#: study and, on a patient's page, the patient: remission.web.identity,
#: remission.web.access.AccessMiddleware)
FIXED = 1


def _statements(q) -> list[str]:
    """The statements that read or write data (transaction control left out: SQLite's
    BEGIN/COMMIT are statements, PostgreSQL's are not)."""
    skip = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    return [x["sql"] for x in q.captured_queries if not x["sql"].upper().startswith(skip)]


def _another_process() -> None:
    import remission.web.grading as grading

    grading._LOCAL.clear()
    grading._CACHE.clear()


@pytest.fixture(autouse=True)
def _fresh_process() -> None:
    """Each test starts as a new process: a value an earlier test of the same worker kept
    in this process (same patient, same revision: every test starts from the same
    database) is not in the shared cache, which that test's rollback emptied, so a first
    look would find it here and store nothing for the next one."""
    _another_process()


def _queried(p, user) -> None:
    """Two queries (one answered) on ``p``: the page shows who raised them."""
    from remission.web.models import Query

    Query.objects.create(patient=p, day=3, text="units?", raised_by=user)
    Query.objects.create(patient=p, text="weight?", raised_by=user, answer="72 kg",
                         answered_by=user, closed=True)


def test_patient_page_reads_its_lists_in_one_statement(studies, login):
    from django.contrib.auth import get_user_model

    from remission.web.models import Patient, SignOff

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P003")
    investigator = get_user_model().objects.get(username="investigator")
    _queried(p, investigator)
    client = login("monitor")
    url = reverse("patient", args=[raw.pk, p.pk])
    client.get(url)
    _another_process()  # nothing kept: records, course
    with CaptureQueriesContext(connection) as q:
        page = client.get(url).content.decode()
    # the fixed ones, the lists, the course (shared cache)
    assert len(_statements(q)) == FIXED + 2, _statements(q)
    assert "Not signed off" in page and page.count("raised by investigator") == 2
    with CaptureQueriesContext(connection) as q:  # same revision: records kept
        again = client.get(url).content.decode()
    assert len(_statements(q)) == FIXED + 1, _statements(q)  # sign-off and queries only
    assert _masked(again) == _masked(page)
    # a sign-off (no new revision): shown with its signer at the next look, read with
    # the queries (its validity: the fingerprint, once per revision in a process)
    SignOff.objects.create(patient=p, signed_by=investigator, fingerprint="x",
                           crs_max=1, neuro_max=None, statement="checked")
    assert "Signed by investigator" in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as q:
        page = client.get(url).content.decode()
    assert len(_statements(q)) == FIXED + 1, _statements(q)
    assert "Signed by investigator" in page and "invalidated" in page


def _masked(page: str) -> str:
    """The page without its CSRF tokens (new at every request)."""
    import re

    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)


def test_timeline_after_a_write_elsewhere_reads_three_statements(studies, login):
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P010")
    client = login("data_entry")
    url = reverse("timeline", args=[raw.pk, p.pk])
    client.get(url)
    o = Observation.objects.filter(patient=p, day=2, variable="temperature").first()
    r = client.post(reverse("record_edit", args=[raw.pk, p.pk, "observation", o.pk]),
                    {"time": o.time, "value": "38.9", "unit": o.unit,
                     "reason": "copied from the wrong chart"})
    assert r.status_code == 302
    _another_process()
    with CaptureQueriesContext(connection) as q:
        page = client.get(url).content.decode()
    # the fixed ones; the timeline with its course and responses; the records with the
    # audit trail; the timeline stored for the other processes
    assert len(_statements(q)) == FIXED + 3, _statements(q)
    assert "copied from the wrong chart" in page and "T max 38.9" in page
    _another_process()
    with CaptureQueriesContext(connection) as q:  # stored: read with one statement
        again = client.get(url).content.decode()
    assert again[again.index("<h1>"):] == page[page.index("<h1>"):]  # (no message)
    assert len(_statements(q)) == FIXED + 1, _statements(q)


def test_records_read_together_equal_the_orm(studies, login):
    """Every record of every patient of both studies (retired ones too, a correction
    and a retirement in the trail) as read in one statement equals the ORM's."""
    from remission.web.models import Observation, Patient
    from remission.web.records import KINDS, patient_records

    _, raw = studies
    p3 = Patient.objects.get(study=raw, patient_id="P003")
    p3.events.first().retire("entered twice")
    sbp = Observation.objects.filter(patient=p3, day=3, variable="sbp").first()
    sbp.retire("duplicate")
    _another_process()
    seen = 0
    for p in Patient.objects.select_related("study").order_by("pk"):
        recs, _ = patient_records(p)
        for name, model in KINDS.items():
            cols = [f.attname for f in model._meta.concrete_fields]
            mine = [tuple(getattr(x, c) for c in cols) for x in recs[name]]
            assert mine == list(getattr(p, name).values_list(*cols)), (p.patient_id, name)
            seen += len(mine)
    assert seen > 100


def test_corrections_read_together_equal_the_trail(studies):
    """The timeline reads the trail of the readings changed after entry only (a
    correction twice, a retirement): those rows equal the ORM's, and the corrections
    found in them equal those of the patient's whole trail."""
    from remission.web.models import Observation, Patient
    from remission.web.summaries import _HISTORY_COLUMNS, _corrections, _history_selection
    from remission.web.together import read_together

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P003")
    Observation.objects.filter(patient=p, day=3, variable="sbp").first().retire("dup")
    t = Observation.objects.filter(patient=p, variable="temperature").order_by("id")[2]
    before = f"{t.value} {t.unit}"
    for value, why in (("38.1", "typo"), ("38.4", "transcribed again")):
        t.value = value
        t._change_reason = why
        t.save()
    (rows,) = read_together([_history_selection(p)])
    trail = list(Observation.history.filter(patient_id=p.pk).order_by(
        "history_date", "history_id").values_list(*_HISTORY_COLUMNS))
    changed = {r[0] for r in trail if r[1] == "~"}
    assert rows == [r for r in trail if r[0] in changed] and len(changed) == 2
    assert len(trail) > 20 * len(rows)
    assert any(r[2] for r in rows)  # the retirement's row: a boolean converted
    found = _corrections(rows)
    assert found == _corrections(trail)
    assert [what for *_, what in found][1:] == [
        f"temperature {before} -> 38.1 °C", "temperature 38.1 °C -> 38.4 °C"]


def test_a_retired_record_shows_on_the_next_look(studies, login):
    """The kept records are those of the revision read: a retirement (a new revision)
    shows at once."""
    from remission.web.models import Patient

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P001")
    client = login("investigator")
    url = reverse("patient", args=[raw.pk, p.pk])
    assert 'class="retired"' not in client.get(url).content.decode()
    inf = p.infusions.first()
    r = client.post(reverse("retire", args=[raw.pk, p.pk, "infusion", inf.pk]),
                    {"reason": "wrong product"})
    assert r.status_code == 302
    assert 'class="retired"' in client.get(url).content.decode()


def test_dashboard_and_study_list_read_their_rows_in_one_statement(studies, login):
    """Dashboard: patients, sign-offs, infusions, deaths and overdue queries in one
    statement (and the patients' stored counts in one); study list: patients, sign-offs
    with who signed, open queries in one."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from remission.web.models import Patient, Query, SignOff, patient_fingerprint

    _, raw = studies
    investigator = get_user_model().objects.get(username="investigator")
    p1, p2 = Patient.objects.filter(study=raw).order_by("line")[:2]
    old = Query.objects.create(patient=p2, text="source <document>?", raised_by=investigator)
    Query.objects.filter(pk=old.pk).update(raised_at=timezone.now() - timedelta(days=9))
    Query.objects.create(patient=p1, text="recent", raised_by=investigator)
    client = login("monitor")
    dash = reverse("dashboard", args=[raw.pk])
    client.get(dash)
    _another_process()
    with CaptureQueriesContext(connection) as q:
        page = client.get(dash).content.decode()
    assert len(_statements(q)) == FIXED + 2, _statements(q)  # the rows; the counts
    overdue = page[page.index('<ul id="overdue">'):]
    assert f"{p2.patient_id}</a>: source &lt;document&gt;?" in overdue
    assert f"/patient/{p2.pk}/" in overdue and "recent" not in overdue
    SignOff.objects.create(patient=p1, signed_by=investigator,
                           fingerprint=patient_fingerprint(p1), crs_max=None,
                           neuro_max=None, statement="checked")
    url = reverse("study", args=[raw.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as q:  # the sign-off's fingerprint kept
        page = client.get(url).content.decode()
    # the list's rows; the signed-off patients' whole rows (their fingerprint's key)
    assert len(_statements(q)) == FIXED + 2, _statements(q)
    assert "signed by investigator" in page and "(2 open queries)" in page
    with CaptureQueriesContext(connection) as q:
        page = client.get(dash).content.decode()
    assert len(_statements(q)) == FIXED + 1, _statements(q)  # the counts kept too
    assert '<dd id="n-overdue">1</dd>' in page


def test_bedside_day_reads_its_rows_in_one_statement(studies, login):
    """The bedside GET: the day's recorded grades, its active readings (graded) and all
    its readings (the stored table, retired ones too) in one statement."""
    from remission.web.models import Observation, Patient, RecordedGrade

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P003")
    RecordedGrade.objects.create(patient=p, day=3, crs_grade=2, neuro_grade=None, line=9)
    sbp = Observation.objects.filter(patient=p, day=3, variable="sbp").first()
    sbp.retire("duplicate <reading>")
    client = login("investigator")
    url = reverse("bedside", args=[raw.pk, p.pk, 3])
    client.get(url)
    _another_process()
    with CaptureQueriesContext(connection) as q:
        page = client.get(url).content.decode()
    assert len(_statements(q)) == FIXED + 2, _statements(q)  # the rows; the course
    assert "duplicate &lt;reading&gt;" in page
    assert 'name="crs_recorded" value="2"' in page or 'value="2" selected' in page


def test_patient_page_and_timeline_lay_out_no_daily_frame(studies, login, monkeypatch):
    """The patient page and the timeline read the daily table's rows
    (grading.daily_rows), not a frame made of them; those rows are the frame's, each
    grade a whole number or None."""
    import pandas as pd

    import remission.web.grading as grading
    from remission.web.models import Patient

    _, raw = studies
    p = Patient.objects.select_related("study").get(study=raw, patient_id="P001")
    made = []
    real = grading._daily_table

    def counted(*args, **kw):
        made.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(grading, "_daily_table", counted)
    client = login("monitor")
    for name in ("patient", "timeline"):
        assert client.get(reverse(name, args=[raw.pk, p.pk])).status_code == 200
    assert made == []
    framed = [{k: None if pd.isna(v) else v for k, v in r.items()}
              for r in grading.daily_table(p).to_dict("records")]
    assert made == [1] and len(framed) > 10
    assert grading.daily_rows(p) == framed
    assert any(r["crs"] is None for r in framed) and any(r["crs"] for r in framed)
