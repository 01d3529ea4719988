"""Live bedside grading equals the batch pipeline, and follows the published rules."""

from __future__ import annotations

import pandas as pd
import pytest

from remission.analyses.raw import CRS_VARIABLES, resolve_systems
from remission.derive.criteria import grade_all
from remission.study import load_study
from remission.vocab.vocabulary import normalise_observations
from remission.web.grading import grade_day

from .conftest import EXAMPLES

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def batch():
    """The batch path of the pipeline (derive.raw.analyse_raw) on the whole study."""
    st = load_study(EXAMPLES / "synthetic-cart-raw")
    cfg = st.config
    systems = resolve_systems(dict(cfg.criteria), cfg.disease)
    pts = st.patients
    obs = normalise_observations(st.tables["observations"],
                                 pts.set_index("patient_id")["weight_kg"])
    out = grade_all(obs, patients=pts, treatments=st.tables["treatments"],
                    events=st.tables["events"], crs=systems.crs,
                    neurotoxicity=systems.neurotoxicity, response=None, lln=cfg.lln or None,
                    products=tuple(cfg.products))
    return out


def _sample(batch) -> pd.DataFrame:
    """Up to 10 patient-days of each CRS grade 0-5, each from a different patient, and up
    to 10 graded days without fever (graded only through the ASTCT fever waiver, which
    depends on the patient's other days)."""
    crs = batch["crs_daily"]
    parts = [crs[crs["grade"] == g].drop_duplicates("patient_id").head(10) for g in range(6)]
    temp = batch["daily"].set_index(["patient_id", "day"])["temperature"]
    key = pd.MultiIndex.from_frame(crs[["patient_id", "day"]])
    afebrile = (temp.reindex(key) < 38.0).to_numpy()
    waived = crs[afebrile & (crs["grade"] >= 2).to_numpy() & (crs["grade"] < 5).to_numpy()]
    assert len(waived), "the synthetic study has waiver days"
    parts.append(waived.head(10))
    return pd.concat(parts).drop_duplicates(["patient_id", "day"])


def test_live_grade_equals_batch_for_every_sampled_patient_day(studies, batch):
    from remission.web.models import Patient

    _, raw = studies
    crs = _sample(batch)
    assert set(crs["grade"]) == {0, 1, 2, 3, 4, 5}
    neuro = batch["neuro_daily"].set_index(["patient_id", "day"])
    daily = batch["daily"].set_index(["patient_id", "day"])
    cols = [c for c in CRS_VARIABLES if c in daily.columns]
    patients = {p.patient_id: p for p in Patient.objects.filter(study=raw)}
    checked = 0
    for rec in crs.itertuples():
        g = grade_day(patients[rec.patient_id], int(rec.day))
        assessed = (rec.patient_id, rec.day) in daily.index and \
            daily.loc[(rec.patient_id, rec.day), cols].notna().any()
        if assessed or rec.grade == 5:
            assert g.crs.grade == rec.grade, (rec.patient_id, rec.day)
            assert (g.crs.decided_by or "none") == rec.decided_by
            checked += 1
        else:
            assert g.crs.grade is None
        n = neuro.loc[(rec.patient_id, rec.day)]
        if g.neuro.grade is not None:
            assert g.neuro.grade == int(n["grade"])
    assert checked >= 30


def _patient(raw, pid="P003"):
    from remission.web.models import Patient

    return Patient.objects.get(study=raw, patient_id=pid)


def _rows(**values):
    from remission.vocab.vocabulary import VOCABULARY

    out = []
    for k, v in values.items():
        unit = "category" if VOCABULARY[k].kind == "categorical" else VOCABULARY[k].unit
        out.append({"variable": k, "value": str(v), "unit": unit, "time": ""})
    return out


@pytest.mark.parametrize(("values", "grade", "decided"), [
    # ASTCT 2019 (Lee 2019 BBMT 25:625, table 'ASTCT CRS Consensus Grading'):
    # "Grade 3: fever with hypotension requiring a vasopressor with or without vasopressin"
    ({"temperature": 38.6, "norepinephrine": 8}, 3, "hypotension"),
    # "Grade 4: ... requiring multiple vasopressors (excluding vasopressin)"
    ({"temperature": 38.6, "norepinephrine": 8, "phenylephrine": 50}, 4, "hypotension"),
    # vasopressin is not a second vasopressor
    ({"temperature": 38.6, "norepinephrine": 8, "vasopressin": 0.03}, 3, "hypotension"),
    # "Grade 2: fever with hypotension not requiring vasopressors and/or hypoxia requiring
    # low-flow nasal cannula (<= 6 L/min)"
    ({"temperature": 38.0, "oxygen_device": "nasal_cannula", "oxygen_flow": 6}, 2, "oxygen"),
    ({"temperature": 38.0, "oxygen_device": "nasal_cannula", "oxygen_flow": 6.5}, 3, "oxygen"),
    # fever is T >= 38.0 °C: 37.9 with a vasopressor and no anti-cytokine therapy is grade 0
    ({"temperature": 37.9, "norepinephrine": 8}, 0, ""),
    ({"temperature": 38.0}, 1, "fever"),
])
def test_typed_values_are_graded_by_astct_rules(studies, values, grade, decided):
    _, raw = studies
    p = _patient(raw)
    g = grade_day(p, 40, _rows(**values))
    assert g.crs.grade == grade
    assert g.crs.decided_by == decided
    assert g.crs.system.startswith("ASTCT")


def test_icans_and_ctcae_from_typed_values(studies):
    _, raw = studies
    p = _patient(raw)
    # ICANS (ASTCT 2019): ICE 3-6 = grade 2; CTCAE v5.0: ANC < 0.5 = grade 4, platelets
    # < 25 = grade 4
    g = grade_day(p, 40, _rows(ice_score=5, anc=0.49, platelets=24))
    assert g.neuro.grade == 2 and g.neuro.decided_by == "score"
    labs = {x.what: x.grade for x in g.labs}
    assert labs["Neutrophil count decreased"] == 4
    assert labs["Platelet count decreased"] == 4
    g = grade_day(p, 40, _rows(ice_score=7, anc=0.5))
    assert g.neuro.grade == 1
    assert {x.what: x.grade for x in g.labs}["Neutrophil count decreased"] == 3


def test_no_crs_observation_is_not_assessed(studies):
    _, raw = studies
    g = grade_day(_patient(raw), 41, _rows(anc=2.0))
    assert g.crs.grade is None and g.crs.text == "not assessed"


def test_recorded_grade_disagreement_is_flagged(studies):
    from remission.web.models import RecordedGrade

    _, raw = studies
    p = _patient(raw)
    RecordedGrade.objects.create(patient=p, day=40, crs_grade=2)
    g = grade_day(p, 40, _rows(temperature=38.6, norepinephrine=8))
    assert g.crs.grade == 3 and g.crs.recorded == 2 and g.crs.disagrees
    g = grade_day(p, 40, _rows(temperature=38.6, oxygen_device="nasal_cannula"))
    assert g.crs.grade == 2 and not g.crs.disagrees


def test_live_grading_converts_only_the_typed_rows_once(studies, monkeypatch):
    """What keeps live grading fast, checked by counting (never by timing: the test
    machine is shared; benchmarks/bench_web.py --grading-only times it): grading typed
    values of a day converts only those rows, once, without validating them again after
    the form's check, and reuses the patient's infusion windows; the same values again
    convert nothing."""
    import remission.derive.criteria.infusions as inf_mod
    import remission.derive.criteria.run as run_mod
    import remission.vocab.vocabulary as vocab

    _, raw = studies
    p = _patient(raw, "P001")
    grade_day(p, 4)  # the patient's stored rows converted, windows computed
    calls, windows = [], []
    real_norm, real_inf = vocab.normalise_observations, inf_mod.infusion_days
    real_rows = vocab.normalise_rows

    def norm(df, *a, **k):
        calls.append((len(df), k.get("validated")))
        return real_norm(df, *a, **k)

    def rows(rs, *a, **k):  # the few validated rows of a request: no table operations
        calls.append((len(rs), "rows"))
        return real_rows(rs, *a, **k)

    def inf(*a, **k):
        windows.append(1)
        return real_inf(*a, **k)

    monkeypatch.setattr(vocab, "normalise_observations", norm)
    monkeypatch.setattr(vocab, "normalise_rows", rows)
    monkeypatch.setattr(inf_mod, "infusion_days", inf)
    monkeypatch.setattr(run_mod, "infusion_days", inf)
    typed = _rows(temperature=39.04, norepinephrine=5.5)
    g = grade_day(p, 4, typed)
    assert g.crs.grade is not None
    assert calls == [(2, "rows")] and windows == []
    grade_day(p, 4, typed)
    assert calls == [(2, "rows")] and windows == []


def test_cached_inputs_follow_every_write(studies, login):
    """The per-patient cache (remission.web.grading._inputs) is keyed by the patient's
    revision in the database: a reading saved at the bedside, a correction with a reason,
    a retired record and a bulk update each change the live grade and the patient page's
    table at once (ASTCT 2019: fever + one vasopressor = 3, fever alone = 1)."""
    from django.urls import reverse

    from remission.web.grading import daily_table
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = _patient(raw)
    day = 60
    assert not Observation.objects.filter(patient=p, day=day).exists()
    assert grade_day(p, day).crs.grade is None  # cached: nothing stored on that day
    before = daily_table(p)
    assert day not in set(before["day"])
    client = login("data_entry")
    url = reverse("bedside", args=[raw.pk, p.pk, day])
    r = client.post(url, {"time": "08:00", "temperature": "38.6", "norepinephrine": "8"})
    assert r.status_code == 302
    assert grade_day(p, day).crs.grade == 3
    assert daily_table(p).set_index("day").loc[day, "crs"] == 3
    ne = Observation.objects.get(patient=p, day=day, variable="norepinephrine")
    r = client.post(reverse("record_edit", args=[raw.pk, p.pk, "observation", ne.pk]),
                    {"time": "08:00", "value": "0", "unit": ne.unit, "reason": "typo"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert grade_day(p, day).crs.grade == 1
    assert daily_table(p).set_index("day").loc[day, "crs"] == 1
    t = Observation.objects.get(patient=p, day=day, variable="temperature")
    t.retire("wrong patient")
    assert grade_day(p, day).crs.grade == 0
    Observation.objects.filter(pk=t.pk).update(retired=False)  # a bulk write
    assert grade_day(Patient.objects.get(pk=p.pk), day).crs.grade == 1


def test_remembered_conversion_equals_normalise_observations(studies):
    """grading._canonical converts each observation row once per revision of the patient;
    the frame it builds must be exactly normalise_observations' (values, dtypes,
    categories, row order), for stored days, typed days (per-kg doses, categories,
    attributed_to; converted with ``validated=True`` as after the view's check) and
    whole courses."""
    from pandas.testing import assert_frame_equal

    from remission.web.grading import _canonical, _inputs, patient_frames
    from remission.web.models import Patient

    _, raw = studies
    typed = _rows(temperature=38.6, norepinephrine=0.1, oxygen_device="nasal_cannula",
                  ice_score=5, anc=0.4)
    typed[1]["unit"] = "µg/kg/min"  # per-kg dose: converted with the patient's weight
    typed[0]["attributed_to"] = " pneumonia "
    # the same reading in the other unit (a user correcting the unit while typing)
    other_unit = [dict(typed[1], unit="µg/min")]
    checked = 0
    for p in Patient.objects.filter(study=raw).order_by("line")[:8]:
        w = _inputs(p).weights
        for day, rows, only in ((None, None, False), (4, None, True), (5, typed, True),
                                (5, other_unit, True), (6, typed[:2], False)):
            obs = patient_frames(p, day, rows, only)[0]
            # typed rows (new to the memo) as after check_day_rows: not validated again
            got = _canonical(obs, _inputs(p), checked_day=day if rows else None)
            assert_frame_equal(got, normalise_observations(obs, w), check_exact=True)
            checked += 1
    assert checked == 40


def test_live_grade_conversion_without_the_frame_equals_normalise_observations(studies):
    """The live grade and the save convert a day's rows with the patient's temperatures
    of the other days without building that observation frame (grading._day_canonical,
    the temperature rows' cells read once per revision): the result must be exactly
    normalise_observations' of the frame patient_frames(..., only_day=True) builds
    (values, dtypes, categories, row order, the source and attributed_to columns), on
    days with and without stored readings (the day's stored temperatures left out), for
    typed per-kg doses, categories, attributions, times and a patient without any other
    temperature; a cell that is not text is left to the frame (False)."""
    import dataclasses

    from pandas.testing import assert_frame_equal

    from remission.web.grading import _day_canonical, _inputs, patient_frames
    from remission.web.models import Patient

    _, raw = studies
    typed = _rows(temperature=38.6, norepinephrine=0.1, oxygen_device="nasal_cannula",
                  ice_score=5, anc=0.4)
    typed[1]["unit"] = "µg/kg/min"
    typed[0]["attributed_to"] = " pneumonia "
    timed = [dict(r, time="07:30") for r in typed[2:]]
    checked = 0
    for p in Patient.objects.filter(study=raw).order_by("line")[1:3]:
        inp = _inputs(p)
        w = inp.weights
        days = sorted({inp.rows[i]["day"] for i in inp.cross_day})
        assert len(days) > 3
        for day in (days[0], days[len(days) // 2], 205):
            for rows in (typed, timed, _rows(temperature=37.2)):
                obs = patient_frames(p, day, rows, True)[0]
                got = _day_canonical(_inputs(p), day, rows, checked=True)
                assert_frame_equal(got, normalise_observations(obs, w), check_exact=True)
                assert len(got) == len(obs)
                checked += 1
    assert checked == 18
    # no temperature on any other day (and no ANC on the adjacent days, which the
    # febrile-neutropenia pairing reads): the typed rows alone
    lone = dataclasses.replace(inp, cross_day=[], cross_keys=None)
    got = _day_canonical(lone, 205, typed, checked=True)
    assert list(got["variable"]) == ["temperature", "norepinephrine", "oxygen_device",
                                     "ice_score", "anc"]
    assert "source" not in got.columns and "attributed_to" in got.columns
    # a stored cell that is not text: the frame decides its text (not this shortcut)
    odd = dataclasses.replace(inp, rows=[dict(r) for r in inp.rows], cross_keys=None)
    odd.rows[odd.cross_day[0]]["attributed_to"] = 3
    assert _day_canonical(odd, 205, typed, checked=True) is False


def test_derived_values_are_computed_once_and_shared_through_the_database(studies,
                                                                          monkeypatch):
    """per_revision stores a patient's derived values in the database cache the server
    processes share (keyed by the patient's revision): another process (an empty
    in-process copy) reads them without computing; a write to the patient makes them
    computed again; a process finding another one computing waits for its value, and
    computes itself only when none comes."""
    from django.core.cache import caches

    from remission.web import grading
    from remission.web.grading import _key, per_revision, stored_values
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P002")
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert per_revision(p, "t", compute) == {"n": 1}
    grading._LOCAL.clear()  # as in another server process
    assert per_revision(p, "t", compute) == {"n": 1} and len(calls) == 1
    assert stored_values([Patient.objects.get(pk=p.pk)], "t") == {p.pk: {"n": 1}}
    o = Observation(patient=p, day=70, variable="temperature", value="37.0", unit="°C")
    o.save()  # a new revision: computed again
    assert per_revision(p, "t", compute) == {"n": 2} and len(calls) == 2
    assert stored_values([Patient.objects.get(pk=p.pk)], "other") == {}
    # another process holds the lock and stores its value: read, not computed
    q = Patient.objects.get(pk=p.pk)
    ck = _key(q, q.revision, "u")
    cache = caches[grading.SHARED_CACHE]
    assert cache.add(ck + ":lock", 1)
    cache.set(ck, "theirs")
    assert per_revision(q, "u", compute, fresh=True) == "theirs" and len(calls) == 2
    # the lock is held but no value comes: computed here after the wait
    monkeypatch.setattr(grading, "WAIT_FOR_OTHER", 0.1)
    ck = _key(q, q.revision, "v")
    assert cache.add(ck + ":lock", 1)
    assert per_revision(q, "v", compute, fresh=True) == {"n": 3}


def test_conversions_carried_to_the_next_revision_only_with_the_same_weight(studies):
    """A new revision of a patient reuses the previous revision's row conversions (a row's
    canonical value depends on its text and the patient's weight only), except after the
    weight changed: a per-kg dose typed before and after a weight correction is
    converted with the weight of the moment (normalise_observations as the oracle)."""
    from pandas.testing import assert_frame_equal

    from remission.web.grading import _canonical, _inputs, patient_frames
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.get(study=raw, patient_id="P003")
    typed = _rows(norepinephrine=0.1)
    typed[0]["unit"] = "µg/kg/min"

    def check():
        q = Patient.objects.get(pk=p.pk)
        obs = patient_frames(q, 5, typed, True)[0]
        got = _canonical(obs, _inputs(q), checked_day=5)
        want = normalise_observations(obs, _inputs(q).weights)
        assert_frame_equal(got, want, check_exact=True)
        return float(got.loc[got["variable"] == "norepinephrine", "value"].iloc[0])

    first = check()
    before = len(_inputs(p).canon)
    Observation(patient=p, day=71, variable="temperature", value="37.1", unit="°C").save()
    assert len(_inputs(p).canon) == before + 1  # carried over; only the new row converted
    assert check() == first
    q = Patient.objects.get(pk=p.pk)
    w = float(q.data["weight_kg"])
    q.data = {**q.data, "weight_kg": str(w * 2)}
    q._change_reason = "weight corrected"
    q.save()
    assert check() == pytest.approx(first * 2)  # µg/kg/min -> µg/min with the new weight


def test_live_febrile_neutropenia_pairs_the_anc_of_an_adjacent_day(studies):
    # CTCAE v5.0 febrile neutropenia: "ANC < 1000/mm3 with a single temperature of
    # > 38.3 °C"; remission pairs the fever with an ANC measured the same day or the day
    # before or after (FN_WINDOW_DAYS = 1, derive.criteria.ctcae). The live grade of a
    # typed fever must see a stored ANC of the next day, as the batch pipeline does.
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.create(study=raw, patient_id="FN01", line=900)
    for day, value in ((4, "0.4"), (7, "0.3")):  # ANC < 1.0 on days 4 and 7
        Observation.objects.create(patient=p, day=day, variable="anc", value=value,
                                   unit="10^9/L", line=900 + day)
    fever = _rows(temperature=38.6)
    for day, want in ((3, 3), (5, 3), (8, 3), (2, None), (10, None)):
        g = grade_day(p, day, fever)
        got = None if g.febrile_neutropenia is None else g.febrile_neutropenia.grade
        assert got == want, day
    # the same days through the batch pipeline's grader on the whole course
    canon = normalise_observations(pd.DataFrame(
        [{"patient_id": "FN01", "day": d, "time": "", "variable": v, "value": x,
          "unit": u} for d, v, x, u in ((4, "anc", "0.4", "10^9/L"),
                                        (7, "anc", "0.3", "10^9/L"),
                                        (3, "temperature", "38.6", "°C"),
                                        (5, "temperature", "38.6", "°C"),
                                        (8, "temperature", "38.6", "°C"),
                                        (2, "temperature", "38.6", "°C"),
                                        (10, "temperature", "38.6", "°C"))]))
    fn = grade_all(canon, response=None, summaries=False)["febrile_neutropenia"]
    assert sorted(fn["day"].tolist()) == [3, 5, 8]


@pytest.mark.parametrize("written", ["temperature", "Temperature", " TEMPERATURE "])
def test_live_fever_waiver_sees_a_stored_fever_however_its_name_is_written(studies, written):
    # ASTCT 2019 (Lee 2019 BBMT 25:625): fever "may be masked by antipyretics or
    # anti-cytokine therapy"; after tocilizumab, CRS is graded by hypotension/hypoxia
    # without a fever. The validator accepts a variable name in any case and with spaces
    # (vocab.variable_name), so an imported folder may store "Temperature": the live grade
    # of day 2 must see day 1's fever under any spelling, as the batch pipeline does.
    from remission.web.models import Observation, Patient, Treatment

    _, raw = studies
    p = Patient.objects.create(study=raw, patient_id=f"WV{len(written)}", line=950)
    Observation.objects.create(patient=p, day=1, time="08:00", variable=written,
                               value="39.0", unit="°C", line=951)
    Treatment.objects.create(patient=p, agent="tocilizumab", start_day=1, time="10:00",
                             dose="8", dose_unit="mg/kg", route="IV", line=952)
    g = grade_day(p, 2, _rows(temperature=37.0, norepinephrine=8))
    # the batch grader on the same course
    canon = normalise_observations(pd.DataFrame(
        [{"patient_id": p.patient_id, "day": d, "time": t, "variable": v, "value": x,
          "unit": u} for d, t, v, x, u in ((1, "08:00", written, "39.0", "°C"),
                                           (2, "", "temperature", "37.0", "°C"),
                                           (2, "", "norepinephrine", "8", "µg/min"))]))
    tx = pd.DataFrame([{"patient_id": p.patient_id, "agent": "tocilizumab", "start_day": 1,
                        "end_day": None, "dose": 8.0, "dose_unit": "mg/kg", "route": "IV",
                        "time": "10:00", "role": ""}])
    crs = grade_all(canon, treatments=tx, response=None, summaries=False)["crs_daily"]
    batch_grade = int(crs.loc[crs["day"] == 2, "grade"].iloc[0])
    assert batch_grade == 3  # one vasopressor, fever waived after tocilizumab
    assert g.crs.grade == batch_grade


def test_live_grade_counts_a_vasopressor_running_from_the_day_before(studies):
    # ASTCT 2019 (Lee 2019 BBMT 25:625): "Grade 4: ... requiring multiple vasopressors
    # (excluding vasopressin)". remission counts a timed dose as running until that drug's
    # next timed reading for the patient (derive.criteria.daily.concurrent_pressors), so a
    # norepinephrine started at 22:00 on day 1 and next charted at 10:00 on day 2 is still
    # running when epinephrine runs from 08:00 to 09:00 on day 2: two at once, grade 4. The
    # live grade of day 2 must see day 1's dose, as the batch pipeline does.
    from remission.web.models import Observation, Patient

    _, raw = studies
    p = Patient.objects.create(study=raw, patient_id="VP01", line=970)
    for line, (t, v, x, u) in enumerate((("20:00", "temperature", "39.0", "°C"),
                                        ("22:00", "norepinephrine", "8", "µg/min"))):
        Observation.objects.create(patient=p, day=1, time=t, variable=v, value=x, unit=u,
                                   line=971 + line)
    typed = [{"variable": "temperature", "value": "38.8", "unit": "°C", "time": "07:00"},
             {"variable": "epinephrine", "value": "5", "unit": "µg/min", "time": "08:00"},
             {"variable": "epinephrine", "value": "0", "unit": "µg/min", "time": "09:00"},
             {"variable": "norepinephrine", "value": "8", "unit": "µg/min",
              "time": "10:00"}]  # on day 2 alone, never two at once
    g = grade_day(p, 2, typed)
    canon = normalise_observations(pd.DataFrame(
        [{"patient_id": "VP01", "day": 1, "time": "20:00", "variable": "temperature",
          "value": "39.0", "unit": "°C"},
         {"patient_id": "VP01", "day": 1, "time": "22:00", "variable": "norepinephrine",
          "value": "8", "unit": "µg/min"}]
        + [{"patient_id": "VP01", "day": 2, **r} for r in typed]))
    crs = grade_all(canon, response=None, summaries=False)["crs_daily"]
    batch_grade = int(crs.loc[crs["day"] == 2, "grade"].iloc[0])
    assert batch_grade == 4  # the oracle: two vasopressors at 08:00 on day 2
    assert g.crs.grade == batch_grade
