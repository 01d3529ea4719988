"""The derived values the server processes share through the database cache
(remission.web.grading: a patient's course per revision, the dashboard's counts, the
timeline): computed once per revision for all processes, never shown stale after a save
(also when the save lands while another process is computing), and equal to what
grading each patient on its own gives, which tests/web/test_grading.py and
test_pages.py compare with the batch pipeline.

Runs on SQLite and, through test_postgres.py, on PostgreSQL. Counts gradings and
queries, never times them. "Another server process" is this process with its own copies
emptied (``grading._LOCAL`` and ``grading._CACHE``): it shares only the database with
the first one, as gunicorn's workers do.
"""

from __future__ import annotations

import pandas as pd
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_process():
    """A function that turns this process into "another server process" (its own copies
    of derived values and inputs emptied); the copies are put back after the test, so
    later tests do not grade the studies again."""
    from remission.web import grading

    saved = []

    def become_another() -> None:
        if not saved:
            saved.append((grading._LOCAL.copy(), grading._CACHE.copy()))
        grading._LOCAL.clear()
        grading._CACHE.clear()

    yield become_another
    for kept in saved:
        for mine, copy in zip((grading._LOCAL, grading._CACHE), kept, strict=True):
            mine.clear()
            mine.update(copy)


def _fresh(p):
    from remission.web.models import Patient

    return Patient.objects.select_related("study").get(pk=p.pk)


def test_a_course_is_graded_once_per_revision_for_all_processes(studies, login, gradings,
                                                                 other_process):
    """A bedside save grades the patient's new course once, when it is saved (and stores
    the dashboard's counts of it); the patient page, the bedside page of a stored day,
    the timeline and the dashboard then grade nothing, in this process or another one
    (they read the course from the database); a save makes exactly one new grading."""
    from remission.web.grading import course
    from remission.web.models import Patient
    from remission.web.summaries import dashboard

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P005")
    dashboard(raw)  # every patient graded (once per test session: process copies)
    gradings.clear()
    client = login("data_entry")
    r = client.post(reverse("bedside", args=[raw.pk, p.pk, 61]),
                    {"time": "07:00", "temperature": "38.7"})
    assert r.status_code == 302
    assert gradings == [("P005",)]  # graded once, by the save
    pages = [reverse("patient", args=[raw.pk, p.pk]),
             reverse("bedside", args=[raw.pk, p.pk, 3]),
             reverse("timeline", args=[raw.pk, p.pk]),
             reverse("dashboard", args=[raw.pk])]
    for url in pages:
        assert client.get(url).status_code == 200
    assert gradings == [("P005",)]
    other_process()
    for url in pages:
        assert client.get(url).status_code == 200
    # read from the database, not graded again (the other patients are graded when an
    # earlier test's copies kept them out of this test's database)
    assert gradings[0] == ("P005",) and all("P005" not in g for g in gradings[1:])
    gradings[1:] = []
    assert course(_fresh(p))["crs_daily"].set_index("day").loc[61, "grade"] == 1
    # a write to the patient: graded once more, by the first page that needs it
    r = client.post(reverse("bedside", args=[raw.pk, p.pk, 62]),
                    {"time": "07:00", "temperature": "38.2"})
    assert r.status_code == 302
    for url in pages:
        assert client.get(url).status_code == 200
    assert gradings == [("P005",), ("P005",)]


def test_dashboard_grades_the_changed_patients_together(studies, login, gradings):
    """Patients changed since the dashboard's last look are graded in one call, and the
    dashboard's queries do not grow with the number of patients (no query per patient)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from remission.web.models import Observation, Patient
    from remission.web.summaries import dashboard

    _, raw = studies
    dashboard(raw)
    gradings.clear()
    with CaptureQueriesContext(connection) as q:
        dashboard(raw)
    assert gradings == [] and len(q.captured_queries) <= 6
    pids = ("P002", "P007", "P011")
    for pid in pids:
        p = Patient.objects.get(study=raw, patient_id=pid)
        Observation(patient=p, day=63, time="09:00", variable="temperature", value="39.0",
                    unit="°C").save()
    dashboard(raw)
    assert gradings == [pids]


def test_no_stale_value_after_a_save(studies, login):
    """A process that holds a patient's derived values (its own copies and the shared
    ones) shows the new data right after another process saves: bedside grade, patient
    page table, timeline and dashboard (ASTCT 2019: fever + one vasopressor = grade 3)."""
    from remission.web.grading import daily_table, grade_day
    from remission.web.models import Patient
    from remission.web.summaries import dashboard, timeline

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P004")
    day = 64

    def shown():
        q = _fresh(p)
        table = daily_table(q).set_index("day")
        d = dashboard(raw)
        return (grade_day(q, day).crs.grade, table["crs"].get(day),
                {t.day: t.crs for t in timeline(q)}.get(day),
                sum(c.get(3, 0) + c.get(4, 0) + c.get(5, 0) for c in d.crs.values()),
                table["crs"].max())

    before = shown()
    assert before[:3] == (None, None, None)
    client = login("data_entry")  # "another process": the view writes to the database
    r = client.post(reverse("bedside", args=[raw.pk, p.pk, day]),
                    {"time": "08:00", "temperature": "38.6", "norepinephrine": "8"})
    assert r.status_code == 302
    after = shown()
    assert after[:3] == (3, 3, 3)
    # the dashboard's count of patients with a maximum grade >= 3 follows
    assert after[3] == before[3] + (before[4] < 3)


def test_a_save_while_another_process_grades_is_not_hidden(studies, monkeypatch,
                                                           other_process):
    """Races: process A has read the patient's revision and grades; a save commits
    before A reads the rows, or after A read them but before A stores its value. A's
    value is stored under the revision A read before reading the rows (its data can only
    be newer than that revision), and every read after the save, in A or in any other
    process, has the save's revision and shows the saved reading."""
    from remission.web import grading
    from remission.web.grading import course
    from remission.web.models import Observation, Patient, bump_revision

    _, raw = studies
    p = _fresh(Patient.objects.get(study=raw, patient_id="P006"))
    other_process()
    real_inputs = grading._inputs
    saved = []

    def inputs(patient, fresh=False):
        if not saved:  # the other process's save lands between A's two reads
            Observation(patient_id=patient.pk, day=65, time="10:00",
                        variable="temperature", value="38.9", unit="°C").save()
            saved.append(1)
        return real_inputs(patient, fresh)

    monkeypatch.setattr(grading, "_inputs", inputs)
    first = course(p, fresh=True)  # A, with the revision it read before the save
    monkeypatch.undo()
    assert saved and 65 in set(first["crs_daily"]["day"])  # newer, never older
    for proc in ("A", "B"):
        if proc == "B":
            other_process()
        crs = course(_fresh(p))["crs_daily"].set_index("day")
        assert crs.loc[65, "grade"] == 1, proc
    # the other order: the save lands after A read the rows, before A stores its value
    real_course = grading._course
    saved.clear()

    def course_then_save(inp, patient):
        value = real_course(inp, patient)
        if not saved:
            Observation(patient_id=patient.pk, day=66, time="10:00",
                        variable="temperature", value="39.2", unit="°C").save()
            saved.append(1)
        return value

    bump_revision(p.pk)  # a revision nobody has graded yet
    other_process()
    monkeypatch.setattr(grading, "_course", course_then_save)
    first = course(p)  # A reads the revision itself (not fresh)
    monkeypatch.undo()
    assert saved and 66 not in set(first["crs_daily"]["day"])  # graded before the save
    for proc in ("A", "B"):
        if proc == "B":
            other_process()
        crs = course(_fresh(p))["crs_daily"].set_index("day")
        assert crs.loc[66, "grade"] == 1, proc  # never A's value from before the save


def test_derived_response_follows_a_new_marrow(studies, other_process):
    """The derived responses (kept per revision apart from the grading, for the pages
    that show them) follow a write: a process holding the patient's course and
    responses (its own copies and the shared ones) shows the response of a marrow
    written by another process right after the write, on the timeline too, and so does
    a third process; the earlier assessments are unchanged."""
    from remission.web.grading import course_response
    from remission.web.models import Observation, Patient
    from remission.web.summaries import timeline

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P005")

    def derived(q):
        ra = course_response(q)["response_assessments"]
        shown = {t.day: t.response for t in timeline(q)}
        return dict(zip(ra["day"], ra["response"], strict=True)), shown

    before, shown = derived(_fresh(p))
    assert before[28] == "CRh" and 90 not in before and not shown.get(90)
    # another process writes a marrow with 60 % blasts on day 90 (60 % blasts: NR)
    Observation(patient_id=p.pk, day=90, time="", variable="marrow_blasts", value="60",
                unit="%").save()
    for proc in ("A", "B"):
        if proc == "B":
            other_process()
        after, shown = derived(_fresh(p))
        assert after[90] == "NR", proc  # what the engine gives the new marrow
        assert [x for x in shown[90] if x.startswith("derived")] == \
            ["derived NR (eln2022)"], proc
        assert {d: r for d, r in after.items() if d != 90} == before, proc


def test_dashboard_derives_the_responses_of_courses_graded_elsewhere(studies, gradings):
    """Courses graded by a page that shows no response (the patient page) are not graded
    again by the dashboard: their responses are derived from them, the stored ones read
    in one query for all the patients, and equal to the response system run on a
    patient's own fresh grading."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from remission.web.grading import _course, _inputs, _response, daily_table, stored_values
    from remission.web.models import Observation, Patient
    from remission.web.summaries import dashboard

    _, raw = studies
    dashboard(raw)
    ps = []
    for pid in ("P003", "P007", "P011"):
        p = Patient.objects.get(study=raw, patient_id=pid)
        Observation(patient=p, day=91, time="", variable="marrow_blasts", value="40",
                    unit="%").save()
        ps.append(_fresh(p))
        daily_table(ps[-1])  # the course, graded without its responses
    gradings.clear()
    with CaptureQueriesContext(connection) as q:
        dashboard(raw)
    assert gradings == []
    # one read of the stored responses for the three patients
    assert sum(x["sql"].startswith('SELECT "cache_key", "value"') and ":response:" in x["sql"]
               for x in q.captured_queries) == 1
    stored = stored_values(ps, "response")
    assert all(91 in set(stored[p.pk]["response_assessments"]["day"]) for p in ps)
    want = _response(_course(_inputs(ps[0], fresh=True), ps[0]), ps[0])
    for name in ("response_assessments", "response"):
        pd.testing.assert_frame_equal(stored[ps[0].pk][name], want[name], obj=name)


def test_courses_graded_together_equal_each_patients_own_grading(studies, other_process):
    """The dashboard's grading of several patients in one call (their rows converted in
    one call too) gives every patient the same day grades, daily worst values,
    laboratory grades and responses as converting and grading it alone: the 40 patients
    of the synthetic study graded together, compared for every fifth patient and the
    two without any marrow assessment (NE), each converted and graded on its own."""
    from remission.web.grading import _course, _courses_together, _inputs, _response
    from remission.web.models import Patient

    _, raw = studies
    ps = [_fresh(p) for p in Patient.objects.filter(study=raw).order_by("line")]
    other_process()  # nothing converted or graded yet
    together = _courses_together(ps)
    never = [p for p in ps if together[p.pk]["response_assessments"].empty]
    assert len(never) == 2
    other_process()  # the patients alone: their own conversion and grading
    chosen = list(dict.fromkeys(ps[::5] + never))
    compared = 0
    for p in chosen:
        alone = _course(_inputs(p, fresh=True), p)
        alone.update(_response(alone, p))
        both = together[p.pk]
        assert set(both) == set(alone), p.patient_id
        for name in ("crs_daily", "neuro_daily", "labs", "febrile_neutropenia",
                     "response_assessments", "response", "excluded_observations",
                     "infusions"):
            a, b = alone[name], both[name]
            cols = list(a.columns)
            assert list(b.columns) == cols, (p.patient_id, name)
            pd.testing.assert_frame_equal(_plain(b[cols]), _plain(a), check_dtype=False,
                                          obj=f"{p.patient_id} {name}")
        # daily worst values: the joint table has the other patients' variables too,
        # empty for this patient
        a, b = alone["daily"], both["daily"]
        extra = [c for c in b.columns if c not in a.columns]
        assert b[extra].isna().all().all(), p.patient_id
        pd.testing.assert_frame_equal(_plain(b[list(a.columns)]), _plain(a),
                                      check_dtype=False, obj=f"{p.patient_id} daily")
        compared += 1
    assert compared == len(chosen) >= 9


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Values only: categoricals as their values (the joint table has every patient's
    categories), missing as None."""
    out = df.reset_index(drop=True).copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype) or out[c].dtype == object:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def test_stored_day_from_the_course_equals_grading_the_day(studies):
    """The bedside page's grades of a stored day come from the patient's course; they
    equal grading that day's stored readings as typed values (the live path), domain,
    evidence, laboratory and febrile-neutropenia grades and attributed readings
    included, on every day with data of two patients."""
    from remission.web.grading import grade_day
    from remission.web.models import Patient

    _, raw = studies
    compared = 0
    for pid in ("P001", "P003"):
        p = _fresh(Patient.objects.get(study=raw, patient_id=pid))
        days = sorted(set(p.observations.active().values_list("day", flat=True)))
        for day in days:
            rows = [{"variable": o.variable, "value": o.value, "unit": o.unit,
                     "time": o.time, "source": o.source, **o.extra}
                    for o in p.observations.active().filter(day=day)]
            a, b = grade_day(p, day), grade_day(p, day, rows, checked=True)
            a.seconds = b.seconds = 0.0
            assert a == b, (pid, day)
            compared += 1
    assert compared > 40


#: typed bedside values, each a different ASTCT 2019 / ICANS / CTCAE situation (Lee DW et
#: al. Biol Blood Marrow Transplant 2019;25:625-38; CTCAE v5.0), in the units a ward
#: writes: per-kg and per-minute doses, °F, cells/µL, a category spelt with a space
_TYPED = [
    [("temperature", "38.6", "°C"), ("norepinephrine", "8", "µg/min")],
    [("temperature", "38.6", "°C"), ("norepinephrine", "0.1", "µg/kg/min"),
     ("phenylephrine", "50", "µg/min")],
    [("temperature", "100.8", "°F"), ("oxygen_device", "nasal cannula", "category"),
     ("oxygen_flow", "6.5", "L/min")],
    [("temperature", "38.4", "°C"), ("ice_score", "5", "points"),
     ("consciousness", "awakens_to_voice", "category")],
    [("temperature", "39.1", "°C"), ("sbp", "82", "mmHg"), ("ice_score", "8", "points"),
     ("anc", "300", "cells/µL")],
    [("temperature", "38.9", "°C", "pneumonia"), ("dopamine", "4", "µg/kg/min")],
]


def test_live_grade_of_typed_values_equals_the_batch_pipeline(studies):
    """The bedside page's live grade of typed values (the view's path: the form's check,
    then only the new rows converted, by vocab.normalise_rows, and the day graded with
    the patient's temperatures) equals the batch pipeline (``load_study`` ->
    ``normalise_observations`` -> ``grade_all``, as ``remission report`` grades) on the
    patients' whole data plus the typed rows: CRS and ICANS grade with the deciding
    domain, CTCAE laboratory grades and febrile neutropenia, on days with stored readings
    (typed rows added to them, as the form adds them) and on new days. One typed day per
    patient, so the batch grades them all in one call (the graders work patient by
    patient)."""
    from remission.analyses.raw import CRS_VARIABLES, NEURO_VARIABLES, resolve_systems
    from remission.derive.criteria import grade_all
    from remission.study import load_study
    from remission.vocab.vocabulary import normalise_observations
    from remission.web.forms import check_day_rows
    from remission.web.grading import grade_day
    from remission.web.models import Patient

    from .conftest import EXAMPLES

    _, raw = studies
    cases = [("P002", 2), ("P003", 3), ("P004", 210), ("P005", 1), ("P006", 211),
             ("P007", 4)]
    live, names, extra = {}, {}, []
    for (pid, day), typed in zip(cases, _TYPED, strict=True):
        p = _fresh(Patient.objects.get(study=raw, patient_id=pid))
        new = [{"variable": v[0], "value": v[1], "unit": v[2], "time": "23:58",
                **({"attributed_to": v[3]} if len(v) > 3 else {})} for v in typed]
        stored = [{"variable": o.variable, "value": o.value, "unit": o.unit,
                   "time": o.time, "source": o.source, **o.extra}
                  for o in p.observations.active().filter(day=day)]
        assert check_day_rows(pid, day, stored + new) == []
        live[pid] = grade_day(p, day, stored + new, checked=True, fresh=True)
        names[pid] = {r["variable"] for r in stored + new}
        extra += [{"patient_id": pid, "day": str(day), **r} for r in new]

    st = load_study(EXAMPLES / "synthetic-cart-raw")
    cfg, tabs = st.config, st.tables
    sy = resolve_systems(dict(cfg.criteria), cfg.disease)
    ids = [pid for pid, _ in cases]

    def mine(t):
        return t[t["patient_id"].isin(ids)]
    obs = mine(tabs["observations"])
    obs = pd.concat([obs, pd.DataFrame(extra).reindex(columns=obs.columns).fillna("")],
                    ignore_index=True)
    out = grade_all(normalise_observations(obs, st.patients.set_index("patient_id")[
                        "weight_kg"]),
                    patients=mine(st.patients), treatments=mine(tabs["treatments"]),
                    events=mine(tabs["events"]), crs=sy.crs, neurotoxicity=sy.neurotoxicity,
                    response=None, lln=cfg.lln or None, products=tuple(cfg.products))
    for pid, day in cases:
        def at(tab, pid=pid, day=day):
            return tab[(tab["patient_id"].astype(str) == pid) & (tab["day"] == day)]

        def batch(tab, variables, pid=pid):
            if not names[pid] & set(variables):
                return None, ""  # not assessed, as the page shows it
            g = int(at(tab)["grade"].iloc[0])
            return g, str(at(tab)["decided_by"].iloc[0]) if g else ""

        g = live[pid]
        assert (g.crs.grade, g.crs.decided_by) == batch(out["crs_daily"], CRS_VARIABLES), pid
        assert (g.neuro.grade, g.neuro.decided_by) == batch(out["neuro_daily"],
                                                            NEURO_VARIABLES), pid
        labs = at(out["labs"])
        assert sorted((x.what, x.grade) for x in g.labs) == sorted(
            (str(t), None if pd.isna(v) else int(v))
            for t, v in zip(labs["term"], labs["grade"], strict=True)), pid
        fn = g.febrile_neutropenia
        assert (fn is not None and fn.grade == 3) == bool(len(at(out["febrile_neutropenia"]))
                                                          ), pid
    # the situations are distinct: several CRS grades and deciding domains are compared
    assert len({(g.crs.grade, g.crs.decided_by) for g in live.values()}) >= 3


def test_stored_day_checked_once_per_revision(studies, login, monkeypatch):
    """The bedside page of a stored day checks the day's stored rows with the study
    validator once per revision of the patient (the rows change only with it): a second
    view does not check again, a save gives a new revision whose rows are checked, and a
    stored problem is still shown on the page."""
    import remission.web.views as views
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P005")
    client = login("data_entry")
    real, checked = views.check_day_rows, []

    def counted(pid, day, rows):
        checked.append(len(rows))
        return real(pid, day, rows)

    monkeypatch.setattr(views, "check_day_rows", counted)
    url = reverse("bedside", args=[raw.pk, p.pk, 3])
    assert client.get(url).status_code == 200 and len(checked) == 1
    assert client.get(url).status_code == 200 and len(checked) == 1
    r = client.post(url, {"time": "07:00", "temperature": "37.2"})
    assert r.status_code == 302
    n = len(checked)
    assert client.get(url).status_code == 200 and len(checked) == n + 1
    assert checked[-1] == checked[0] + 1  # the saved reading is among the checked rows
    # a stored value the validator refuses (written past the forms): shown, not hidden
    o = Observation.objects.filter(patient=p, day=3, variable="temperature").first()
    Observation.objects.filter(pk=o.pk).update(value="58")
    Patient.objects.filter(pk=p.pk).update(revision="edited-outside-the-forms")
    page = client.get(url).content.decode()
    assert "temperature value out of plausible range" in page
