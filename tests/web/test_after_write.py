"""What a write stores for the cohort dashboard (remission.web.summaries.after_write):
a bedside save, a correction, a retirement and a patient's edit derive the patient's
course, responses and dashboard counts once, when they are written, and store them under
the patient's new revision (the dashboard then grades no patient: test_derived_cache.py),
equal to the batch pipeline's (``remission report``'s path: load_study ->
normalise_observations -> grade_all) on the study exported as a folder; also when another
write lands while the values are derived. A dashboard that sees a write's new revision
before the write has stored its values waits for them instead of grading the patient.

Runs on SQLite and, through test_postgres.py, on PostgreSQL. Counts gradings, never
times them.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from .conftest import batch_derived

pytestmark = pytest.mark.django_db


def _batch_counts(folder) -> dict[str, tuple]:
    """Patient -> (maximum CRS grade, maximum ICANS grade, best response) as the batch
    pipeline derives them from a study folder (what the dashboard counts)."""
    out, _ = batch_derived(folder)
    crs = out["crs"].set_index("patient_id")["crs_max_grade"]
    ntx = out["neuro"].set_index("patient_id")["icans_max_grade"]
    best = out["response"].set_index("patient_id")["best_response"]
    return {pid: (int(crs[pid]), int(ntx[pid]), str(best[pid])) for pid in crs.index}


def _fresh(pk):
    from remission.web.models import Patient

    return Patient.objects.select_related("study").get(pk=pk)


def _stored(pk) -> bool:
    from remission.web.grading import stored_values

    return pk in stored_values([_fresh(pk)], "dashboard")


def test_writes_store_the_dashboard_counts_equal_to_the_batch_report(studies, login,
                                                                     monkeypatch, tmp_path):
    """A bedside save (ASTCT 2019: fever + one vasopressor = grade 3), a correction of a
    reading, a retirement and an edit of the patient row each store the patient's
    dashboard counts for its new revision. Another request's write landing while a
    bedside save derives (after the save's rows were read; ASTCT 2019: fever with two
    vasopressors other than vasopressin = grade 4) is not hidden: nothing is stored for
    the newest revision (the next look derives it). Every stored count equals the batch
    pipeline's on the exported folder."""
    from remission.web import grading
    from remission.web.folder import export_folder
    from remission.web.grading import stored_values
    from remission.web.models import Observation, Patient
    from remission.web.summaries import after_write

    _, raw = studies
    client = login("data_entry")
    pk = {pid: Patient.objects.get(study=raw, patient_id=pid).pk
          for pid in ("P005", "P003", "P004", "P008", "P009")}
    r = client.post(reverse("bedside", args=[raw.pk, pk["P005"], 61]),
                    {"time": "07:00", "temperature": "38.7", "norepinephrine": "8"})
    assert r.status_code == 302 and _stored(pk["P005"])
    o = Observation.objects.filter(patient_id=pk["P003"], variable="temperature",
                                   retired=False).order_by("day", "id").first()
    r = client.post(reverse("record_edit", args=[raw.pk, pk["P003"], "observation", o.pk]),
                    {"time": o.time, "value": "40.1", "unit": o.unit,
                     "reason": "copied from the wrong chart"})
    assert r.status_code == 302 and _stored(pk["P003"])
    o = Observation.objects.filter(patient_id=pk["P004"], variable="marrow_blasts",
                                   retired=False).order_by("-day", "id").first()
    r = client.post(reverse("retire", args=[raw.pk, pk["P004"], "observation", o.pk]),
                    {"reason": "sample from another patient"})
    assert r.status_code == 302 and _stored(pk["P004"])
    fields = dict(_fresh(pk["P008"]).data)
    fields["weight_kg"] = "71"
    r = client.post(reverse("patient_edit", args=[raw.pk, pk["P008"]]),
                    {"patient_id": "P008", **fields, "reason": "weighed again"})
    assert r.status_code == 302 and _stored(pk["P008"])
    real = grading._course
    landed = []

    def course_then_write(inp, patient):
        value = real(inp, patient)
        if not landed:
            for i, (v, x, u) in enumerate((("temperature", "39.4", "°C"),
                                           ("norepinephrine", "10", "µg/min"),
                                           ("epinephrine", "5", "µg/min"))):
                Observation.objects.create(patient_id=patient.pk, day=62, time="09:00",
                                           variable=v, value=x, unit=u, line=90_000 + i)
            landed.append(1)
        return value

    monkeypatch.setattr(grading, "_course", course_then_write)
    r = client.post(reverse("bedside", args=[raw.pk, pk["P009"], 61]),
                    {"time": "07:00", "temperature": "38.2"})
    monkeypatch.setattr(grading, "_course", real)
    assert r.status_code == 302 and landed
    assert not _stored(pk["P009"])  # derived from the rows before the write
    assert after_write(_fresh(pk["P009"]))  # what the next look derives
    got = {pid: stored_values([_fresh(k)], "dashboard")[k][:3] for pid, k in pk.items()}
    export_folder(raw, tmp_path / "study")
    want = _batch_counts(tmp_path / "study")
    assert got == {pid: want[pid] for pid in pk}
    assert got["P009"][0] == 4 and got["P005"][0] >= 3


def test_the_dashboard_waits_for_the_counts_a_write_is_deriving(studies, gradings,
                                                                monkeypatch):
    """A write marks its new revision in its transaction (claim_derivation); a dashboard
    that sees the new revision before the write has stored the patient's counts waits for
    them instead of grading the patient itself (the write's request finishes "during the
    wait", here inside the dashboard's sleep). A mark whose writer never stores is waited
    for at most WAIT_FOR_WRITE seconds; then the dashboard grades the patient itself."""
    import time

    from django.db import transaction

    from remission.web import grading, summaries
    from remission.web.grading import claim_derivation
    from remission.web.models import Observation, Patient, Study
    from remission.web.summaries import after_write, dashboard

    monkeypatch.setattr(summaries, "WAIT_FOR_WRITE", 0.0)  # marks nobody derives
    monkeypatch.setattr(grading, "WAIT_FOR_OTHER", 0.0)  # the pages' wait, the same
    _, raw = studies
    small = Study.objects.create(code="small", name="Two patients", toml=raw.toml)
    ps = [Patient.objects.create(study=small, patient_id=f"P0{i}", line=i + 1,
                                 data={"arm": "A", "weight_kg": "70"}) for i in (1, 2)]

    def write(p, day: int) -> str:
        with transaction.atomic():
            Observation.objects.create(patient=p, day=day, time="09:00",
                                       variable="temperature", value="39.0", unit="°C",
                                       line=day)
            return claim_derivation(p.pk)

    for p in ps:
        write(p, 1)
    dashboard(small)  # both graded (their marks, never derived, waited for 0 s)
    p = ps[1]
    claimed = write(p, 2)
    done = []

    def the_write_finishes(seconds):
        if not done:
            done.append(after_write(p, claimed))

    monkeypatch.setattr(time, "sleep", the_write_finishes)
    monkeypatch.setattr(summaries, "WAIT_FOR_WRITE", 10.0)
    gradings.clear()
    d = dashboard(small)
    assert done == [True]  # the dashboard waited for the write's derivation
    assert gradings == [("P02",)]  # graded once, by the write
    # ASTCT 2019: fever >= 38 °C is grade 1
    assert sum(c[1] for c in d.crs.values()) == 2 == sum(sum(c.values()) for c in d.crs.values())
    # a writer that never stores (its process died): no wait beyond WAIT_FOR_WRITE
    monkeypatch.setattr(summaries, "WAIT_FOR_WRITE", 0.0)
    write(p, 3)
    gradings.clear()
    assert dashboard(small).enrolled == 2
    assert gradings == [("P02",)]  # graded by the dashboard itself


def test_the_counts_of_a_save_equal_the_daily_tables_without_laying_it_out(
        studies, login, monkeypatch):
    """A bedside save stores the patient's dashboard counts without laying out the
    patient page's daily table (the page lays it out when shown; counted, never timed),
    and for 16 patients of the study the counts equal those read from the daily table
    (its highest CRS and neurotoxicity grades, the days with a CRS reading in the
    course's daily values, the last day)."""
    from remission.analyses.raw import CRS_VARIABLES
    from remission.web import grading
    from remission.web.grading import course, courses, daily_table, stored_values
    from remission.web.models import Patient
    from remission.web.summaries import _patient_counts

    _, raw = studies
    client = login("data_entry")
    p = Patient.objects.get(study=raw, patient_id="P006")
    laid_out = []
    real = grading._daily_table

    def counted(*a, **k):
        laid_out.append(1)
        return real(*a, **k)

    monkeypatch.setattr(grading, "_daily_table", counted)
    r = client.post(reverse("bedside", args=[raw.pk, p.pk, 63]),
                    {"time": "07:00", "temperature": "39.1", "sbp": "85"})
    assert r.status_code == 302 and _stored(p.pk)
    assert laid_out == []
    monkeypatch.setattr(grading, "_daily_table", real)
    ps = list(Patient.objects.filter(study=raw, retired=False).select_related("study")
              .order_by("line")[:16])
    courses(ps)  # graded together (one call)
    for q in ps:
        table = daily_table(q, fresh=True)
        daily = course(q, fresh=True).get("daily")
        want_max = tuple(None if table.empty or table[c].isna().all()
                         else int(table[c].max()) for c in ("crs", "neuro"))
        cols = [c for c in CRS_VARIABLES if daily is not None and c in daily.columns]
        seen = set(daily.loc[daily[cols].notna().any(axis=1).to_numpy(), "day"]
                   .astype(int)) if cols else set()
        got = _patient_counts(q)
        assert got[:2] == want_max, q.patient_id
        assert got[3] == seen, q.patient_id
        assert got[4] == (None if daily is None else int(daily["day"].max()))
        if q.pk == p.pk:
            assert stored_values([q], "dashboard")[q.pk] == got
