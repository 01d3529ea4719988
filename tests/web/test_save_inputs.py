"""A bedside save builds the inputs of the patient's new revision from those of the
revision it replaced plus the readings it wrote (remission.web.grading.inputs_after_save),
instead of reading the patient's records again: random sequences of saves on random days
(days with readings and new days, several readings a day, attributions), interleaved
with corrections, retirements and recorded grades, give after every save inputs equal to
a fresh read of the database, and the same graded course. The save's reads are counted
(never timed). Runs on SQLite and, through test_postgres.py, on PostgreSQL."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _fresh_patient(pk):
    from remission.web.models import Patient

    return Patient.objects.select_related("study").get(pk=pk)


def _assert_same_inputs(kept, read, patient) -> None:
    """Every field a grading reads of the inputs: equal."""
    from remission.web.grading import _recorded

    assert kept.revision == read.revision and kept.toml == read.toml
    assert kept.patient_id == read.patient_id
    assert kept.rows == read.rows  # same rows, same order, same cells
    assert kept.by_day == read.by_day and kept.cross_day == read.cross_day
    assert kept.keys == read.keys and kept.source == read.source
    for a, b in ((kept.patients, read.patients), (kept.treatments, read.treatments),
                 (kept.events, read.events)):
        pd.testing.assert_frame_equal(a, b)
    if kept.weights is None or read.weights is None:
        assert kept.weights is None and read.weights is None
    else:
        pd.testing.assert_series_equal(kept.weights, read.weights)
    if kept.keys is not None:  # every stored row converted as a read converts it
        assert [repr(kept.canon[k]) for k in kept.keys] == \
            [repr(read.canon[k]) for k in read.keys]
    if kept.infusions is not None and read.infusions is not None:
        pd.testing.assert_frame_equal(kept.infusions, read.infusions)
    assert kept.recorded is None or kept.recorded == _recorded(read, patient)


def _random_readings(rnd, days: list[int]) -> tuple[int, dict]:
    """A bedside save of readings only: a day with readings or a new one (days -3 to 59),
    a timed temperature, sometimes a blood pressure and an attribution."""
    day = rnd.choice(days) if rnd.random() < 0.6 else rnd.randrange(-3, 60)
    data = {"time": f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}",
            "temperature": f"{36 + rnd.random() * 4:.1f}"}
    if rnd.random() < 0.5:
        data["sbp"] = str(80 + rnd.randrange(50))
    if rnd.random() < 0.3:
        data["temperature__attributed_to"] = "infection"
    return day, data


def test_random_saves_keep_inputs_equal_to_a_fresh_read(studies, login, monkeypatch):
    from remission.web import grading, views
    from remission.web.models import Observation, RecordedGrade

    _, raw = studies
    c = login("data_entry")
    kept_after = []
    real = grading.inputs_after_save

    def counted(patient, previous, observations):
        ok = real(patient, previous, observations)
        kept_after.append(ok)
        return ok

    monkeypatch.setattr(views, "inputs_after_save", counted)
    rnd = random.Random(17)
    for pid in ("P003", "P012"):
        p = _fresh_patient(raw.patients.get(patient_id=pid).pk)
        grading._inputs(p, fresh=True)  # this process holds the patient's inputs
        days = sorted(grading._inputs(p, fresh=True).by_day)
        for step in range(10):
            what = rnd.random()
            if what < 0.12:  # a correction of a stored reading (another write path)
                o = Observation.objects.filter(patient=p, retired=False,
                                               variable="temperature").order_by("?").first()
                o.value, o._change_reason = f"{36 + rnd.random() * 3:.1f}", "typo"
                o.save()
            elif what < 0.2:  # a retirement
                o = Observation.objects.filter(patient=p, retired=False).order_by("?").first()
                o.retire("entered for the wrong patient")
            elif what < 0.28:  # a recorded grade (saved with readings at the bedside)
                day = rnd.choice(days)
                r = c.post(reverse("bedside", args=[raw.pk, p.pk, day]), {
                    "time": f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}",
                    "temperature": "38.4", "crs_recorded": str(rnd.randrange(3)),
                    "reason": "re-graded"})
                assert r.status_code in (200, 302)
            else:  # readings only: one to three, on a day with readings or a new day
                day, data = _random_readings(rnd, days)
                if rnd.random() < 0.3:
                    data["heart_rate"] = str(60 + rnd.randrange(70))
                r = c.post(reverse("bedside", args=[raw.pk, p.pk, day]), data)
                assert r.status_code in (200, 302), r.status_code
                if r.status_code == 200:  # refused (e.g. a reading duplicated): no write
                    assert b"duplicated" in r.content
            p = _fresh_patient(p.pk)
            with grading._CACHE_LOCK:
                kept = grading._CACHE.get(p.pk)
            if kept is None or kept.revision != p.revision:
                continue  # not built after the save: the next use reads them
            with grading._CACHE_LOCK:
                del grading._CACHE[p.pk]
            read = grading._inputs(p, fresh=True)
            assert read is not kept
            _assert_same_inputs(kept, read, p)
            if step % 5 == 0:  # the same course graded from either
                a, b = grading._course(kept, p), grading._course(read, p)
                assert sorted(a) == sorted(b)
                for name in a:
                    if isinstance(a[name], pd.DataFrame):
                        pd.testing.assert_frame_equal(a[name], b[name])
            with grading._CACHE_LOCK:  # go on from the kept inputs (errors would add up)
                grading._CACHE[p.pk] = kept
    assert kept_after.count(True) >= 10, kept_after  # the saves built them
    assert RecordedGrade.objects.filter(patient__study=raw).exists()


def test_a_save_of_readings_reads_no_record_of_the_patient(studies, login):
    """After the checks of the request (session and user, membership and patient), a save
    of readings on a day without a recorded grade reads nothing: the day's stored rows and
    recorded grades come from the patient's inputs, the inputs of the new revision are
    built from the previous ones, the new revision is not read again."""
    from remission.web import grading

    _, raw = studies
    c = login("data_entry")
    p = _fresh_patient(raw.patients.get(patient_id="P005").pk)
    grading.daily_table(p, fresh=True)  # the process holds the patient's inputs
    for day in (3, 3, 90):
        with CaptureQueriesContext(connection) as q:
            r = c.post(reverse("bedside", args=[raw.pk, p.pk, day]),
                       {"time": f"0{day % 7}:1{day % 9}", "temperature": "38.6",
                        "sbp": "95"})
        assert r.status_code == 302
        # (a response of new inputs is looked up in the derived cache: not a record)
        reads = [x["sql"] for x in q.captured_queries if x["sql"].startswith("SELECT")
                 and "remission_derived_cache" not in x["sql"]]
        records = [x for x in reads if any(f'"web_{t}"' in x for t in (
            "observation", "treatment", "infusion", "event", "recordedgrade"))]
        # of the patient's records, only the study's highest line (in the transaction)
        assert len(records) == 1 and "MAX(" in records[0], records
        assert len(reads) == 2, reads  # + the session, its user, role, study and patient
        writes = [x["sql"] for x in q.captured_queries
                  if x["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE", "WITH")]
        assert [w.split()[0] + " " + w.split()[1 if w.startswith("UPDATE") else 2].strip('"')
                for w in writes if "remission_derived_cache" not in w] == [
            "INSERT web_observation", "INSERT web_historicalobservation",
            "UPDATE web_patient"], writes
        # the lock with the readings, the values (and, on SQLite, the lock's removal)
        assert sum("remission_derived_cache" in w for w in writes) == \
            (2 if connection.vendor == "postgresql" else 3), writes


def test_a_write_between_the_read_and_the_save_makes_the_inputs_read_again(
        studies, login, monkeypatch):
    """Another write lands after the save read the patient and before its readings are
    written (simulated: a correction at the start of the save's transaction): the save's
    revision does not follow the one it read (create_records(previous=...)), so the new
    revision's inputs are read from the database, correction included."""
    from remission.web import grading, views
    from remission.web.models import Observation

    _, raw = studies
    c = login("data_entry")
    p = _fresh_patient(raw.patients.get(patient_id="P006").pk)
    grading._inputs(p, fresh=True)
    real = views.create_records

    def after_another_write(records, user=None, **kw):
        o = Observation.objects.filter(patient=p, retired=False,
                                       variable="temperature").order_by("id").first()
        o.value, o._change_reason = "41.0", "another user's correction"
        o.save()
        return real(records, user, **kw)

    monkeypatch.setattr(views, "create_records", after_another_write)
    r = c.post(reverse("bedside", args=[raw.pk, p.pk, 4]),
               {"time": "05:55", "temperature": "38.2"})
    assert r.status_code == 302
    p = _fresh_patient(p.pk)
    got = grading._inputs(p, fresh=True)
    assert "41.0" in [row["value"] for row in got.rows]
    with grading._CACHE_LOCK:
        del grading._CACHE[p.pk]
    _assert_same_inputs(got, grading._inputs(p, fresh=True), p)


def test_the_next_line_is_above_every_line_of_the_study(studies):
    """The bedside save's line (views._next_line) is the study's highest reading line + 1,
    read per patient on the (patient, line) index: equal to the highest line of a join of
    all the study's readings, with retired readings, patients without readings and
    another study's higher lines around."""
    from django.db.models import Max

    from remission.web.models import Observation, Patient
    from remission.web.views import _next_line

    cll1, raw = studies
    for study in (cll1, raw):
        top = Observation.objects.filter(patient__study=study).aggregate(m=Max("line"))["m"]
        assert _next_line(Observation, study) == (top or 1) + 1
    p = Patient.objects.filter(study=raw).order_by("line").last()
    o = Observation.objects.filter(patient=p).order_by("line").first()
    o.line = 10**6  # a retired reading holds the highest line
    o.retire("wrong patient")
    o.refresh_from_db()
    assert o.line == 10**6 and _next_line(Observation, raw) == 10**6 + 1
    other = Patient.objects.filter(study=cll1).order_by("line").first()
    Observation.objects.create(patient=other, day=1, variable="temperature", value="37.0",
                               unit="°C", line=2 * 10**6)  # another study's line
    assert _next_line(Observation, raw) == 10**6 + 1
    assert _next_line(Observation, cll1) == 2 * 10**6 + 1
    lone = Patient.objects.create(study=raw, patient_id="P-none", line=999)
    assert _next_line(Observation, raw) == 10**6 + 1 and not lone.observations.exists()


def test_another_process_adds_a_saves_readings_to_the_inputs_it_holds(studies, login):
    """Another server process (simulated: a copy of this process's caches taken before
    the write, as web_request_cpu.py --processes does) that holds the inputs of the
    revision a bedside save replaced builds those of the new revision from them and the
    save's readings, stored with the save's derived values: one read of the shared
    cache, no record of the patient read, inputs equal to a fresh read. Two saves behind
    (the other process missed a save), the same from both saves' readings, stored with
    the second's values. After a write of another kind (a correction, a recorded grade),
    it reads the patient's records again, with the same result as a fresh read."""
    import copy
    from collections import OrderedDict

    from remission.web import grading
    from remission.web.models import Observation

    _, raw = studies
    c = login("data_entry")
    rnd = random.Random(29)
    p = _fresh_patient(raw.patients.get(patient_id="P007").pk)
    days = sorted(grading._inputs(p, fresh=True).by_day)
    added = read_again = two_behind = 0
    for _ in range(12):
        with grading._CACHE_LOCK:  # the other process: this patient's inputs only
            other = OrderedDict([(p.pk, copy.deepcopy(grading._CACHE[p.pk]))]), OrderedDict()
        what = rnd.random()
        writes = 2 if what < 0.2 else 1  # two saves: the other process is two behind
        for _ in range(writes):
            day, data = _random_readings(rnd, days)
            if 0.2 <= what < 0.3:
                data.update(crs_recorded=str(rnd.randrange(3)), reason="re-graded")
            r = c.post(reverse("bedside", args=[raw.pk, p.pk, day]), data)
            assert r.status_code in (200, 302), r.status_code
        if 0.3 <= what < 0.4:  # a correction: not a save of readings
            o = Observation.objects.filter(patient=p, retired=False,
                                           variable="temperature").order_by("?").first()
            o.value, o._change_reason = f"{36 + rnd.random() * 3:.1f}", "typo"
            o.save()
        p = _fresh_patient(p.pk)
        mine = grading._CACHE, grading._LOCAL
        grading._CACHE, grading._LOCAL = other
        try:
            before = grading._CACHE[p.pk].revision
            with CaptureQueriesContext(connection) as q:
                got = grading._inputs(p, fresh=True)
            records = [x["sql"] for x in q.captured_queries
                       if "remission_derived_cache" not in x["sql"]]
            since = grading._steps_since(got.added, before)
            if since is not None:
                assert len(q.captured_queries) == 1 and not records, q.captured_queries
                added += 1
                two_behind += len(since) == 2
            else:
                assert records
                read_again += 1
            with grading._CACHE_LOCK:
                del grading._CACHE[p.pk]
            _assert_same_inputs(got, grading._inputs(p, fresh=True), p)
        finally:
            grading._CACHE, grading._LOCAL = mine
    assert added >= 5 and read_again >= 2 and two_behind >= 1, (added, read_again,
                                                               two_behind)
