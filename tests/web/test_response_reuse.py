"""A write reuses the patient's previous responses when the response engine's inputs did
not change (remission.web.grading._response, keyed by a digest of those inputs): a
bedside save of vital signs does not assess the response again, a save of a marrow, a
count, MRD or a transfusion does. The stored responses equal the batch pipeline's
(``remission report``'s path: load_study -> normalise_observations -> grade_all) on the
study exported as a folder, after every save. Counts response derivations, never times
them.
"""

from __future__ import annotations

import pandas as pd
import pytest

from remission.analyses.raw import resolve_systems
from remission.derive.criteria import grade_all
from remission.study import load_study
from remission.vocab.vocabulary import VOCABULARY, normalise_observations

pytestmark = pytest.mark.django_db

#: What the response engine reads of the daily table, from the text of
#: remission/derive/criteria/response.py (written out here, not imported, so that a
#: column left out of the engine's list of inputs is found): the marrow (blasts,
#: cellularity, spicules, cells counted; ELN 2022 / ELN 2017 / IWG 2003 / NCCN /
#: blinatumomab trials, module docstring), the values taken from the nearest day
#: within the window (ANC, platelets, circulating blasts, EMD, Auer rods, MRD with its
#: assay, sensitivity and status, red-cell transfusion) and the relapse criteria's
#: circulating blasts and EMD (summarise_response).
RESPONSE_READS = {"marrow_blasts", "marrow_cellularity", "marrow_spicules",
                  "marrow_cells_counted", "anc", "platelets", "peripheral_blasts",
                  "extramedullary_disease", "auer_rods", "mrd", "mrd_assay",
                  "mrd_sensitivity", "mrd_status", "rbc_transfusion"}

#: Values that change the response where a variable can (ELN 2022: ANC >= 1.0 and
#: platelets >= 100 with marrow blasts < 5 % is CR; MRD < 0.1 % by MFC is MRD-negative;
#: marrow blasts >= 5 % after a CR is a relapse).
VALUES = {"anc": "1.5", "platelets": "150", "mrd": "0.05", "mrd_sensitivity": "0.01",
          "marrow_blasts": "10", "peripheral_blasts": "2", "marrow_cellularity": "5",
          "marrow_cells_counted": "150"}


def _value(name: str) -> tuple[str, str]:
    """(value, unit) of a plausible reading of the variable."""
    v = VOCABULARY[name]
    if v.kind == "categorical":
        return v.levels[-1], "category"
    if name in VALUES:
        return VALUES[name], v.unit
    x = v.low + (v.high - v.low) / 4
    return (str(int(x)) if v.integer else f"{x:g}"), v.unit


def _batch_responses(folder, steps: list[str]) -> dict[int, tuple]:
    """Step -> (response summary, assessments) as the batch pipeline derives them from
    the exported folder, for the patient's data as they were after each step (the base
    readings at 08:00 and those of the steps so far, at 10:00), graded in one call."""
    st = load_study(folder)
    cfg = st.config
    sy = resolve_systems(dict(cfg.criteria), cfg.disease)
    obs = st.tables["observations"]
    parts, pts, txs, evs = [], [], [], []
    for k in range(len(steps) + 1):
        done = set(steps[:k])
        keep = (obs["time"] == "08:00") | ((obs["time"] == "10:00")
                                           & obs["variable"].isin(done))
        parts.append(obs[keep].assign(patient_id=f"S{k:03d}"))
        pts.append(st.patients.assign(patient_id=f"S{k:03d}"))
        for tables, name in ((txs, "treatments"), (evs, "events")):
            if name in st.tables:  # an exported study without any writes none
                tables.append(st.tables[name].assign(patient_id=f"S{k:03d}"))
    obs = pd.concat(parts, ignore_index=True)
    obs.index = pd.RangeIndex(2, 2 + len(obs), name="line")
    patients = pd.concat(pts, ignore_index=True)
    canon = normalise_observations(obs, patients.set_index("patient_id")["weight_kg"])
    out = grade_all(canon, patients=patients,
                    treatments=pd.concat(txs, ignore_index=True) if txs else None,
                    events=pd.concat(evs, ignore_index=True) if evs else None, crs=sy.crs,
                    neurotoxicity=sy.neurotoxicity, response=sy.response,
                    landmark_day=cfg.assessment_day, lln=cfg.lln or None,
                    products=tuple(cfg.products))
    return {k: _shown(out, f"S{k:03d}") for k in range(len(steps) + 1)}


def _shown(out: dict, pid: str) -> tuple:
    """What a page shows of a patient's responses: the summary and every assessment."""
    r = out["response"]
    r = r[r["patient_id"].astype(str) == pid]
    ra = out["response_assessments"]
    ra = ra[ra["patient_id"].astype(str) == pid]
    summary = [tuple(None if pd.isna(x) else x for x in row) for row in
               r[["best_response", "best_response_day", "landmark_response", "relapse_day",
                  "relapse_type", "system"]].itertuples(index=False, name=None)]
    cols = ["day", "marrow_blasts", "anc", "platelets", "peripheral_blasts", "mrd",
            "response", "mrd_negative", "response_mrd", "rule", "mrd_threshold_pct",
            "mrd_assay", "mrd_sensitivity_pct"]
    assessed = [tuple(None if pd.isna(x) else x for x in row)
                for row in ra[cols].itertuples(index=False, name=None)]
    return summary, assessed


def test_a_save_reuses_the_response_unless_a_response_input_changed(studies, monkeypatch,
                                                                    tmp_path):
    """For every variable of the vocabulary in turn, a save of one reading of it (day 28,
    the marrow day; the marrow blasts on day 56, a second assessment) re-derives the
    patient's responses exactly when the variable is one the response engine reads
    (RESPONSE_READS) and reuses the previous ones otherwise, from this process or (every
    other save, this process's copies dropped) from the shared cache as another server
    process would. After every save the stored responses equal the batch pipeline's on
    the exported folder."""
    import remission.derive.criteria as crit
    from remission.web import grading
    from remission.web.folder import export_folder
    from remission.web.grading import stored_values
    from remission.web.models import Observation, Patient, Study
    from remission.web.summaries import after_write

    real = crit.assess_response
    calls: list[int] = []

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(crit, "assess_response", counted)
    _, raw = studies
    study = Study.objects.create(code="reuse", name="Response reuse", toml=raw.toml)
    p = Patient.objects.create(study=study, patient_id="P01", line=2,
                               data={"arm": "A", "weight_kg": "70"})
    for i, (day, x) in enumerate(((-3, "40"), (28, "3"))):  # baseline, post-infusion
        Observation.objects.create(patient=p, day=day, time="08:00", variable="marrow_blasts",
                                   value=x, unit="%", line=2 + i)

    def fresh():
        return Patient.objects.select_related("study").get(pk=p.pk)

    assert after_write(fresh())
    stored = [stored_values([fresh()], "response")[p.pk]]
    steps = list(VOCABULARY)
    derived = {}
    for k, name in enumerate(steps):
        value, unit = _value(name)
        Observation.objects.create(patient=p, day=56 if name == "marrow_blasts" else 28,
                                   time="10:00", variable=name, value=value, unit=unit,
                                   line=10 + k)
        if k % 2:  # as another server process: only the shared cache knows the response
            grading._LOCAL.clear()
        calls.clear()
        assert after_write(fresh()), name
        derived[name] = len(calls)
        stored.append(stored_values([fresh()], "response")[p.pk])
    assert {n for n, c in derived.items() if c} == RESPONSE_READS
    assert set(derived.values()) == {0, 1}
    export_folder(study, tmp_path / "study")
    want = _batch_responses(tmp_path / "study", steps)
    got = {k: _shown(v, "P01") for k, v in enumerate(stored)}
    for k in range(len(steps) + 1):
        assert got[k] == want[k], (k, steps[k - 1] if k else "base")
    # the saves changed the response where a variable can (not a vacuous comparison)
    assert len({repr(v) for v in got.values()}) >= 8


def test_first_save_after_the_dashboard_reuses_its_response(studies, monkeypatch, tmp_path):
    """The dashboard grades the patients changed since its last look together
    (grading.courses, also the server's warm-up) and stores each one's responses under
    the digest of their inputs too, so the first save of a vital sign of each patient
    reuses them instead of assessing the response again (the joint grading gives every
    patient the columns of all, which a patient's own grading lacks: the digest leaves
    out columns without any value). After the saves the stored responses equal the batch
    pipeline's on the exported folder. Eight patients of the synthetic study; counts
    response derivations, never times them."""
    import remission.derive.criteria as crit
    from remission.web import grading
    from remission.web.folder import export_folder
    from remission.web.grading import courses, stored_values
    from remission.web.models import Observation, Patient
    from remission.web.summaries import after_write

    from .conftest import batch_derived

    _, raw = studies
    kept = (grading._LOCAL.copy(), grading._CACHE.copy())
    try:
        grading._LOCAL.clear()  # nothing graded yet in this process
        grading._CACHE.clear()
        ps = list(Patient.objects.select_related("study").filter(study=raw)
                  .order_by("line"))[::5]
        courses(ps)  # the dashboard's joint grading
        calls: list[str] = []
        real = crit.assess_response

        def counted(daily, *a, **k):
            calls.append(str(daily["patient_id"].iloc[0]))
            return real(daily, *a, **k)

        monkeypatch.setattr(crit, "assess_response", counted)
        for p in ps:
            Observation.objects.create(patient=p, day=3, time="23:59",
                                       variable="temperature", value="38.6", unit="°C",
                                       line=90_000 + p.pk)
            assert after_write(Patient.objects.select_related("study").get(pk=p.pk))
        assert calls == []
        export_folder(raw, tmp_path / "study")
        want, _ = batch_derived(tmp_path / "study")
        fresh = list(Patient.objects.select_related("study").filter(pk__in=[p.pk for p in ps]))
        got = stored_values(fresh, "response")
        assert len(got) == len(ps) == 8
        for p in fresh:
            assert _shown(got[p.pk], p.patient_id) == _shown(want, p.patient_id), p.patient_id
    finally:
        for mine, copy in zip((grading._LOCAL, grading._CACHE), kept, strict=True):
            mine.clear()
            mine.update(copy)
