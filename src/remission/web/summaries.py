"""What the patient timeline and the cohort dashboard show, gathered from library results.

Nothing here grades or classifies: grades, daily worst values and derived responses are
those of :func:`remission.web.grading.course` / :func:`~remission.web.grading.daily_table`
(the pipeline's ``grade_all`` on the patient's data, cached per revision), cohorts come
from :func:`remission.study.assign_cohorts`, sign-off validity from
:func:`remission.web.models.patient_fingerprint` (once per revision:
:func:`remission.web.grading.fingerprint`). This module only lays them out by day
(timeline) or counts them over the study (dashboard).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from remission.vocab.vocabulary import VOCABULARY
from remission.web.grading import (
    SHARED_CACHE,
    assessed_days,
    course,
    course_response,
    courses,
    daily_rows,
    derivation_claimed,
    derive_after_write,
    fingerprint,
    per_revision,
    remember,
    revision_key,
    stored_values,
    study_config,
)

#: Bedside monitoring days a CRS reading is expected on: the approved CD19 CAR-T products'
#: prescribing information asks to monitor patients at least daily for the first 7 days
#: after infusion (e.g. Yescarta / Kymriah US labels, section 2 and 5.1).
MONITORING_DAYS = range(1, 8)
#: An open query older than this (days) is overdue.
QUERY_OVERDUE_DAYS = 7

#: daily worst values shown on the timeline: (variable, label)
_VITALS = (("temperature", "T max"), ("sbp", "SBP min"), ("norepinephrine", "norepinephrine"),
           ("epinephrine", "epinephrine"), ("phenylephrine", "phenylephrine"),
           ("dopamine", "dopamine"), ("vasopressin", "vasopressin"), ("oxygen_device", "O2"),
           ("oxygen_flow", "O2 flow"), ("ice_score", "ICE"),
           ("consciousness", "consciousness"))


def _shown_value(var: str, x) -> str | None:
    """A daily worst value ``x`` of ``var`` as text (None when missing): the level name
    for categorical variables (the daily table holds their level index), else number
    and unit."""
    if pd.isna(x):
        return None
    v = VOCABULARY[var]
    if v.kind == "categorical":
        return v.levels[int(x)].replace("_", " ")
    return f"{float(x):g} {v.unit}".strip()


@dataclass
class TimelineDay:
    """One day of a patient's course as the timeline shows it."""

    day: int
    given: list[str] = field(default_factory=list)      # infusions and treatments started
    vitals: list[str] = field(default_factory=list)     # daily worst values
    crs: int | None = None
    crs_rule: str = ""
    neuro: int | None = None
    neuro_rule: str = ""
    crs_recorded: int | None = None
    neuro_recorded: int | None = None
    labs: list[str] = field(default_factory=list)       # CTCAE grade >= 1
    response: list[str] = field(default_factory=list)   # recorded and derived
    events: list[str] = field(default_factory=list)     # relapse, death, AEs...
    corrections: list[str] = field(default_factory=list)


def timeline(patient, fresh: bool = False) -> list[TimelineDay]:
    """The patient's course by day (see ``_course_by_day``), computed once per revision
    of the patient's data over all server processes
    (:func:`~remission.web.grading.per_revision`; the patient's course and responses it
    is laid out from are read in the same statement as the timeline, and no lock is
    taken: laying out the stored course costs less than waiting for another process).

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool, default False
        ``patient`` was read from the database in this request (its revision is
        current: no statement to read it again).

    Returns
    -------
    list of TimelineDay
        Sorted by day.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> [(d.day, d.vitals, d.crs, d.crs_rule) for d in timeline(p)]
    [(1, ['T max 39.2 °C'], 1, 'fever')]
    """
    if not fresh:  # the revision as stored now (what the cached values are keyed by)
        from remission.web.models import Patient

        patient = Patient.objects.select_related("study").get(pk=patient.pk)
    return per_revision(patient, "timeline", lambda: _course_by_day(patient), True,
                        lock=False, prefetch=("course", "response"))


def _course_by_day(patient) -> list[TimelineDay]:
    """Per day of the patient's course (any day with data): infusions and treatments
    started, the daily worst vital signs, derived CRS and neurotoxicity grades with the
    deciding domain and the recorded grades, CTCAE laboratory grades >= 1, responses
    (recorded assessments and the study's response system applied to the marrow data),
    events and adverse events, and every correction or retirement of a reading of that
    day with its reason (from the audit trail).

    Parameters
    ----------
    patient : Patient
        A patient read from the database in this request (its revision is current).

    Returns
    -------
    list of TimelineDay
        Sorted by day.
    """
    from remission.web.records import patient_records

    days: dict[int, TimelineDay] = {}

    def at(d) -> TimelineDay:
        d = int(d)
        if d not in days:
            days[d] = TimelineDay(d)
        return days[d]

    # the records and the readings' audit trail in one statement (the records kept for
    # the revision)
    recs, (hist,) = patient_records(patient, [_history_selection(patient)])
    for i in recs["infusions"]:
        if i.retired:
            continue
        at(i.day).given.append(f"infusion: {i.product}"
                               + (f" {i.dose} {i.dose_unit}".rstrip() if i.dose else ""))
    for t in recs["treatments"]:
        if t.retired:
            continue
        role = f" ({t.get_role_display()})" if t.role else ""
        end = f" to day {t.end_day}" if t.end_day is not None and t.end_day != t.start_day \
            else ""
        at(t.start_day).given.append(f"{t.agent}{role}{end}")
    out = course(patient, fresh=True)
    if out:
        # the daily table's columns the timeline shows, as plain values (to_dict of the
        # whole table converted its every column, the timeline reads a dozen)
        daily = out["daily"]
        vitals = [(var, label, daily[var].tolist()) for var, label in _VITALS
                  if var in daily.columns]
        for i, day in enumerate(daily["day"].tolist()):
            vit = []
            for var, label, values in vitals:
                x = _shown_value(var, values[i])
                if x is not None:
                    vit.append(f"{label} {x}")
            if vit:
                at(day).vitals.extend(vit)
        labs = out["labs"]
        graded = (labs["grade"].fillna(0).astype(int) >= 1).to_numpy()
        if graded.any():
            for day, term, grade in zip(labs["day"].to_numpy()[graded],
                                        labs["term"].to_numpy()[graded],
                                        labs["grade"].to_numpy()[graded], strict=True):
                at(day).labs.append(f"{term} {int(grade)}")
        ra = course_response(patient, fresh=True).get("response_assessments")
        if ra is not None and len(ra):
            for _, r in ra.iterrows():
                if pd.notna(r["response"]):
                    mrd = f", {r['response_mrd']}" if "response_mrd" in r and \
                        pd.notna(r["response_mrd"]) and r["response_mrd"] != r["response"] \
                        else ""
                    at(r["day"]).response.append(f"derived {r['response']}{mrd} "
                                                 f"({r['system']})")
    for g in daily_rows(patient, fresh=True) or ():  # the daily table's rows, no frame
        d = at(g["day"])
        d.crs = None if pd.isna(g["crs"]) else int(g["crs"])
        d.crs_rule = g["crs_rule"] or ""
        d.neuro = None if pd.isna(g["neuro"]) else int(g["neuro"])
        d.neuro_rule = g["neuro_rule"] or ""
        d.crs_recorded = None if pd.isna(g["crs_recorded"]) else int(g["crs_recorded"])
        d.neuro_recorded = (None if pd.isna(g["neuro_recorded"])
                            else int(g["neuro_recorded"]))
    for e in recs["events"]:
        if e.retired:
            continue
        if e.event == "response_assessment":
            at(e.day).response.append(f"recorded {e.value}" if e.value else "assessed")
        else:
            at(e.day).events.append(e.get_event_display()
                                    + (f": {e.value}" if e.value else ""))
    for a in recs["adverse_events"]:
        if a.retired:
            continue
        at(a.onset_day).events.append(f"AE {a.term} grade {a.grade}"
                                      + (f" ({a.attribution})" if a.attribution else ""))
    for o, when, reason, what in _corrections(hist):
        at(o).corrections.append(f"{what}: {reason} ({when:%Y-%m-%d %H:%M} UTC)")
    return [days[d] for d in sorted(days)]


#: the audit-trail cells of a reading the timeline's corrections read
_HISTORY_COLUMNS = ("id", "history_type", "retired", "variable", "value", "unit", "day",
                    "history_date", "history_change_reason", "history_id")


def _history_selection(patient):
    """The audit trail of the patient's readings that were ever changed after entry
    (cells only, no model instances built), in the trail's order.

    :func:`_corrections` reports the changes (``~`` rows) of a reading against its
    previous row in the trail, so the trail of a reading without a change adds nothing:
    only the readings with a ``~`` row are read (all their rows), not the hundreds of
    entry rows of a patient's trail, each with a date to convert."""
    from django.db import connection

    from remission.web.models import Observation
    from remission.web.together import Selection

    q = connection.ops.quote_name
    model = Observation.history.model
    changed = (f"{q('id')} IN (SELECT {q('id')} FROM {q(model._meta.db_table)} "
               f"WHERE {q('patient_id')} = %s AND {q('history_type')} = %s)")
    return Selection(model, _HISTORY_COLUMNS, f'"patient_id" = %s AND {changed}',
                     [patient.pk, patient.pk, "~"], ("history_date", "history_id"))


def _corrections(hist):
    """(day, when, reason, what) of every change after entry of the patient's readings
    (corrections and retirements), from their audit trail ``hist`` (rows of
    :data:`_HISTORY_COLUMNS` in the trail's order)."""
    prev: dict[int, tuple] = {}
    out = []
    for h in hist:
        oid, htype, retired, variable, value, unit, day, when, reason, _ = h
        before = prev.get(oid)
        prev[oid] = h
        if before is None or htype != "~":
            continue
        if retired and not before[2]:
            what = f"{variable} {value} retired"
        else:
            what = f"{variable} {before[4]} {before[5]} -> {value} {unit}".replace("  ", " ")
        out.append((day, when, reason or "", what))
    return out


@dataclass
class Dashboard:
    """Per-study counts of the cohort dashboard (see :func:`dashboard`)."""

    enrolled: int
    retired: int
    infused: int
    grade_names: tuple[str, str]
    cohorts: list[str]
    crs: dict[str, Counter]                # cohort -> max grade (or "not assessed") counts
    neuro: dict[str, Counter]
    responses: dict[str, Counter]          # "derived" / "recorded" -> category counts
    signed: int
    pending_signoff: list
    missing_days: list[tuple[object, list[int]]]
    overdue_queries: list
    grade_levels: list = field(default_factory=lambda: [0, 1, 2, 3, 4, 5, "not assessed"])


def dashboard(study) -> Dashboard:
    """Counts over the study's active patients: enrolled, infused, maximum derived CRS and
    neurotoxicity grade per patient by cohort (study.toml ``[cohorts]``), best response
    (derived by the study's response system, and as recorded in patients.csv), sign-offs
    pending (graded patients without a valid sign-off), bedside days missing within
    :data:`MONITORING_DAYS` (days the patient's data reach, before any death) and open
    queries older than :data:`QUERY_OVERDUE_DAYS` days.

    Parameters
    ----------
    study : Study
        A stored study.

    Returns
    -------
    Dashboard

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> d = dashboard(study)
    >>> d.enrolled, d.infused, d.crs, d.grade_names
    (1, 0, {'all patients': Counter({1: 1})}, ('CRS', 'ICANS'))
    >>> [str(x) for x in d.pending_signoff]  # graded, not signed off
    ['P01']
    """
    from django.db import connection
    from django.utils import timezone

    from remission.analyses.raw import resolve_systems
    from remission.web.models import (
        Event,
        Infusion,
        Patient,
        Query,
        SignOff,
    )
    from remission.web.together import Selection, instances, read_together

    cfg = study_config(study)
    cutoff = timezone.now() - pd.Timedelta(days=QUERY_OVERDUE_DAYS).to_pytimedelta()
    # the patients, their sign-offs, who is infused, deaths and overdue queries: one
    # statement
    q = connection.ops.quote_name
    mine = (f"{q('patient_id')} IN (SELECT {q('id')} FROM {q(Patient._meta.db_table)} "
            f"WHERE {q('study_id')} = %s)")
    pcols = [f.attname for f in Patient._meta.concrete_fields]
    scols = [f.attname for f in SignOff._meta.concrete_fields]
    qcols = [f.attname for f in Query._meta.concrete_fields]
    prows, srows, irows, drows, qrows = read_together([
        Selection(Patient, pcols, f"{q('study_id')} = %s", [study.pk], ("line", "id")),
        Selection(SignOff, scols, mine, [study.pk], ("signed_at", "id")),
        Selection(Infusion, ["patient_id"], f"{mine} AND NOT {q('retired')}", [study.pk]),
        Selection(Event, ["patient_id", "day"],
                  f"{mine} AND NOT {q('retired')} AND {q('event')} = %s",
                  [study.pk, "death"]),
        Selection(Query, qcols, f"{mine} AND NOT {q('closed')} AND {q('raised_at')} < %s",
                  [study.pk, connection.ops.adapt_datetimefield_value(cutoff)],
                  ("closed", "-raised_at", "-id"))])
    patients = instances(Patient, pcols, prows)
    for p in patients:
        p.study = study  # read once (the cache keys carry its study.toml)
    active = [p for p in patients if not p.retired]
    cohort = {p.pk: "all patients" for p in active}
    if cfg.cohorts is not None and active:
        names = _cohort_names(study.toml, cfg, [(p.patient_id, p.data) for p in active])
        if names is not None:
            cohort = {p.pk: n for p, n in zip(active, names, strict=True)}
    order = list(dict.fromkeys(cohort[p.pk] for p in active))
    crs: dict[str, Counter] = defaultdict(Counter)
    neuro: dict[str, Counter] = defaultdict(Counter)
    responses: dict[str, Counter] = {"derived": Counter(), "recorded": Counter()}
    latest = {}
    for s in instances(SignOff, scols, srows):
        latest[s.patient_id] = s
    pending, missing, signed = [], [], 0
    infused = 0
    with_infusion = {pk for (pk,) in irows}
    deaths: dict[int, int] = {}
    for pk, day in drows:
        deaths[pk] = min(day, deaths.get(pk, day))
    known = stored_values(active, "dashboard")  # one query for every patient
    stale = [p for p in active if p.pk not in known]
    if stale:  # those a write is deriving now (after_write): their values are awaited
        known.update(_await_counts(stale))
        stale = [p for p in stale if p.pk not in known]
    if len(stale) > 1:  # the patients changed since the last look (writes other than a
        # bedside save, which stores them: after_write): graded in one call, their
        # counts stored in one write
        courses(stale)
        new = {p.pk: _patient_counts(p) for p in stale}
        _store_counts({p: new[p.pk] for p in stale})
        known.update(new)
    for p in active:
        cmax, nmax, best, seen, last_day = known[p.pk] if p.pk in known else per_revision(
            p, "dashboard", lambda p=p: _patient_counts(p), fresh=True,
            lock=False)
        crs[cohort[p.pk]][cmax if cmax is not None else "not assessed"] += 1
        neuro[cohort[p.pk]][nmax if nmax is not None else "not assessed"] += 1
        responses["derived"][best or "not assessed"] += 1
        responses["recorded"][(p.data.get("best_response") or "").strip() or "not recorded"] += 1
        graded = cmax is not None or nmax is not None
        s = latest.get(p.pk)
        if s is not None and s.fingerprint == fingerprint(p, fresh=True):
            signed += 1
        elif graded:
            pending.append(p)
        has_inf = p.pk in with_infusion
        infused += has_inf
        if has_inf and last_day is not None:
            last = min(last_day, deaths.get(p.pk, 10**9))
            gaps = [d for d in MONITORING_DAYS if d <= last and d not in seen]
            if gaps:
                missing.append((p, gaps))
    by_pk = {p.pk: p for p in patients}
    overdue = instances(Query, qcols, qrows)
    for x in overdue:
        x.patient = by_pk[x.patient_id]
    systems = resolve_systems(dict(cfg.criteria), cfg.disease)
    ntx = "ICANS" if systems.neurotoxicity == "icans_astct2019" else "CRES"
    return Dashboard(enrolled=len(active), retired=len(patients) - len(active),
                     infused=int(infused), grade_names=("CRS", ntx), cohorts=order,
                     crs=dict(crs), neuro=dict(neuro), responses=responses, signed=signed,
                     pending_signoff=pending, missing_days=missing, overdue_queries=overdue)


#: (study.toml, the active patients' rows) -> their cohorts, kept per process: the
#: validator and ``assign_cohorts`` run again only when a patient row changes
_COHORTS: dict = {}
_COHORTS_SIZE = 64
_COHORTS_LOCK = threading.Lock()


def _cohort_names(toml: str, cfg, rows: list[tuple[str, dict]]) -> tuple | None:
    """The cohort of each patients.csv row (``assign_cohorts`` on the rows as the study
    validator types them; "no cohort" for none), or None when the rows do not
    validate. Depends on study.toml and the rows' cells only, so it is kept under them."""
    from remission.study import assign_cohorts, check_rows

    try:
        key = (toml, tuple((pid, tuple(data.items())) for pid, data in rows))
        hash(key)
    except TypeError:  # a cell that is not hashable: not kept
        key = None
    if key is not None:
        with _COHORTS_LOCK:
            if key in _COHORTS:
                return _COHORTS[key]
    df = pd.DataFrame([{"patient_id": pid, **data} for pid, data in rows])
    df.index = pd.RangeIndex(2, 2 + len(df), name="line")
    typed, problems = check_rows("patients", df, cfg)
    names = None if problems else tuple(str(n) or "no cohort"
                                        for n in assign_cohorts(typed, cfg))
    if key is not None:
        with _COHORTS_LOCK:
            if len(_COHORTS) >= _COHORTS_SIZE:
                _COHORTS.pop(next(iter(_COHORTS)))
            _COHORTS[key] = names
    return names


#: How long the dashboard waits (s) for the counts a write is deriving before deriving
#: them itself.
WAIT_FOR_WRITE = 10.0


def _await_counts(patients) -> dict:
    """The dashboard counts of those of ``patients`` whose current revision a write is
    deriving (:func:`~remission.web.grading.claim_derivation`), read once it has stored
    them; a patient whose mark goes without its counts, or after
    :data:`WAIT_FOR_WRITE` s, is left out (the caller derives it)."""
    import time

    from remission.web.timing import add_wait

    got: dict = {}
    waiting = derivation_claimed(patients)
    end = time.monotonic() + WAIT_FOR_WRITE
    while waiting:
        got.update(stored_values([p for p in patients if p.pk in waiting], "dashboard"))
        waiting -= set(got)
        if not waiting or time.monotonic() >= end:
            break
        waiting &= derivation_claimed([p for p in patients if p.pk in waiting])
        if waiting:
            time.sleep(0.05)
            add_wait(0.05)
    return got


def _store_counts(counts: dict) -> None:
    """Store the dashboard counts of several patients (patient -> counts, each patient
    read in this request) under their revisions, in one write."""
    from django.core.cache import caches

    values = {revision_key(p, "dashboard"): v for p, v in counts.items()}
    caches[SHARED_CACHE].set_many(values, timeout=None)  # one statement
    for ck, v in values.items():
        remember(ck, v)


def after_write(patient, claimed: str | None = None) -> bool:
    """Derive and store, for the patient's new revision, everything the pages and the
    cohort dashboard read of it: its course and responses
    (:func:`~remission.web.grading.derive_after_write`) and its dashboard counts, so
    that no page and no dashboard grades the patient again (in any server process) until
    its next write. Called by a view once its write has committed.

    Parameters
    ----------
    patient : Patient
        The patient just written (read again here).
    claimed : str, optional
        The revision the write's transaction marked
        (:func:`~remission.web.grading.claim_derivation`): readers of that revision wait
        for these values instead of grading the patient.

    Returns
    -------
    bool
        True when the values were stored; False when another write landed meanwhile or
        the stored data do not validate (the first page that needs them derives them).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> after_write(p)
    True
    >>> p.refresh_from_db()
    >>> stored_values([p], "dashboard")[p.pk][:2]  # highest CRS and ICANS grade
    (1, None)
    """
    out = derive_after_write(patient, {"dashboard": _patient_counts}, claimed)
    return out is not None


def _patient_counts(patient) -> tuple:
    """(max derived CRS grade, max neurotoxicity grade, derived best response, days with a
    CRS reading, last day with data) of one patient, from the cached library results.

    The maxima are those of the patient page's daily table (:func:`daily_table`: the
    grades of the assessed days, :func:`~remission.web.grading.assessed_days`), taken
    without laying the table out (a bedside save derives the counts, not the page); the
    days with a CRS reading are those of the same rule."""
    out = course(patient, fresh=True)
    if not out:  # no observation at all: NE under the study's response system, as in
        # the batch pipeline (summarise_response lists every patient)
        from remission.analyses.raw import resolve_systems
        from remission.derive.criteria import summarise_response

        cfg = study_config(patient.study)
        system = resolve_systems(dict(cfg.criteria), cfg.disease).response
        if system is None:
            return None, None, None, set(), None
        resp = summarise_response(pd.DataFrame(columns=["patient_id", "system"]), None,
                                  cfg.assessment_day, patients=[patient.patient_id],
                                  system=system)
        return None, None, str(resp["best_response"].iloc[0]), set(), None
    crs, neuro, crs_days = assessed_days(patient, fresh=True)
    cmax = max(g for g, _ in crs.values()) if crs else None
    nmax = max(g for g, _ in neuro.values()) if neuro else None
    resp = course_response(patient, fresh=True).get("response")
    best = None
    if resp is not None and len(resp) and pd.notna(resp["best_response"].iloc[0]):
        best = str(resp["best_response"].iloc[0])
    daily = out["daily"]
    return cmax, nmax, best, set(crs_days), int(daily["day"].max())


def grade_rows(counts: dict[str, Counter], cohorts: list[str], levels: list) -> list[dict]:
    """Rows (cohort, counts per level, total) of a grade table for the template.

    Parameters
    ----------
    counts : dict of str to Counter
        Cohort -> patients per highest grade (``"not assessed"`` included), as in
        :attr:`Dashboard.crs`.
    cohorts : list of str
        Cohorts in display order (a cohort without counts gets zeros).
    levels : list
        The columns, e.g. :attr:`Dashboard.grade_levels`.

    Returns
    -------
    list of dict
        ``{"cohort": ..., "counts": [n per level], "total": patients}`` per cohort.

    Examples
    --------
    >>> counts = {"low": Counter({0: 2, 3: 1}), "high": Counter({"not assessed": 1})}
    >>> for row in grade_rows(counts, ["low", "high", "none"], [0, 1, 2, 3, "not assessed"]):
    ...     print(row)
    {'cohort': 'low', 'counts': [2, 0, 0, 1, 0], 'total': 3}
    {'cohort': 'high', 'counts': [0, 0, 0, 0, 1], 'total': 1}
    {'cohort': 'none', 'counts': [0, 0, 0, 0, 0], 'total': 0}
    """
    rows = []
    for c in cohorts:
        cnt = counts.get(c, Counter())
        rows.append({"cohort": c, "counts": [cnt.get(lv, 0) for lv in levels],
                     "total": int(np.sum(list(cnt.values())))})
    return rows
