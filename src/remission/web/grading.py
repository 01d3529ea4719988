"""Live grading of a patient-day with the batch pipeline's own engines.

Nothing here decides a grade. ``_grade_patient`` builds the same observation frame the
pipeline builds from observations.csv (the patient's rows, with the values being typed
for one day in place of that day's stored ones), converts it with
:func:`~remission.vocab.vocabulary.normalise_observations` and runs
:func:`~remission.derive.criteria.grade_all` with the systems of the study's ``[criteria]``
(:func:`~remission.analyses.raw.resolve_systems`), exactly as
:func:`~remission.analyses.raw.analyse_raw` does. The patient's other days are included
because the ASTCT fever waiver depends on when fever and anti-cytokine therapy started.
A day without any CRS (or neurotoxicity) observation is "not assessed", as in the report.
"""

from __future__ import annotations

import copy
import hashlib
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from remission.analyses.raw import CRS_VARIABLES, NEURO_VARIABLES, resolve_systems
from remission.derive.criteria import SYSTEMS
from remission.derive.criteria.daily import PRESSORS
from remission.errors import InputError, Problem, ProblemLog
from remission.vocab.vocabulary import VOCABULARY, variable_name

#: What each CRS / neurotoxicity domain reads (to show the values that decided a grade).
DOMAIN_VARIABLES = {
    "fever": ("temperature",),
    "hypotension": ("hypotension", "sbp", "norepinephrine", "epinephrine", "phenylephrine",
                    "dopamine", "vasopressin"),
    "oxygen": ("oxygen_device", "oxygen_flow", "fio2"),
    "score": ("ice_score", "cartox10_score", "capd_score"),
    "consciousness": ("consciousness",),
    "seizure": ("seizure",),
    "motor": ("motor_weakness",),
    "icp/oedema": ("icp_finding", "papilloedema_stage", "csf_opening_pressure"),
}


@lru_cache(maxsize=64)
def _config(toml: str):
    from remission.study.config import parse_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "study.toml"
        path.write_text(toml, encoding="utf-8")
        log = ProblemLog()
        cfg = parse_config(path, log)
    if cfg is None:
        raise InputError(log.problems or [Problem("study.toml", "cannot be parsed")])
    return cfg


def study_config(study):
    """The parsed study.toml of a stored study (cached by content).

    Parameters
    ----------
    study : Study
        A study (only its ``toml`` text is read).

    Returns
    -------
    StudyConfig
        :func:`remission.study.config.parse_config` of the text; the same object for the
        same text.

    Raises
    ------
    remission.errors.InputError
        With every problem of the text.

    Examples
    --------
    >>> from remission.web.models import Study
    >>> toml = Path("examples/cll1-post-hsct/study.toml").read_text(encoding="utf-8")
    >>> cfg = study_config(Study(toml=toml))
    >>> cfg.criteria["crs"], study_config(Study(toml=toml)) is cfg
    ('lee2014', True)
    >>> study_config(Study(toml='[study]\\nname = "X"\\n'))
    Traceback (most recent call last):
    ...
    remission.errors.InputError: 1 problem found:
      - study.toml, line 1, column 'study.disease': required key is missing
    """
    return _config(study.toml)


@dataclass
class Grade:
    """One derived grade with the rule that decided it."""

    what: str
    system: str
    grade: int | None
    decided_by: str = ""
    evidence: str = ""
    recorded: int | None = None

    @property
    def disagrees(self) -> bool:
        return self.recorded is not None and self.grade is not None and \
            self.recorded != self.grade

    @property
    def text(self) -> str:
        if self.grade is None:
            return "not assessed"
        if self.grade == 0:
            return "grade 0"
        return f"grade {self.grade}: {self.decided_by}" + \
            (f" ({self.evidence})" if self.evidence else "")


@dataclass
class DayGrades:
    day: int
    crs: Grade
    neuro: Grade
    labs: list[Grade] = field(default_factory=list)
    febrile_neutropenia: Grade | None = None
    excluded: list[str] = field(default_factory=list)  # readings attributed elsewhere
    seconds: float = 0.0


def _shown(variable: str, value: str, unit: str) -> str:
    v = VOCABULARY.get(variable)
    if v is not None and v.kind == "categorical":
        return f"{variable.replace('_', ' ')} {value}"
    return f"{variable.replace('_', ' ')} {value} {unit}".strip()


@dataclass
class _Inputs:
    """A patient's stored data as the pipeline reads it, for one revision of the patient."""

    revision: str
    toml: str
    patient_id: str
    rows: list[dict]                      # active observation rows, in file order
    by_day: dict[int, list[int]]          # day -> positions in ``rows``
    cross_day: list[int]                  # positions of the rows other days depend on
    patients: pd.DataFrame
    treatments: pd.DataFrame
    events: pd.DataFrame
    weights: pd.Series | None = None      # weight_kg of the patient (per-kg doses)
    canon: dict = field(default_factory=dict)  # row text -> canonical row (_canonical)
    infusions: pd.DataFrame | None = None  # infusion windows (grade_all's), on first use
    source: tuple = ()                    # the database rows the typed tables came from
    context: dict = field(default_factory=dict)  # grade_all's context of these tables
    cross_keys: list | None = None        # _KEY text of each cross_day row, on first use
    recorded: dict | None = None          # day -> (CRS, neuro) recorded grades, on first use
    graded: dict = field(default_factory=dict)  # _form_key -> DayGrades (a form sent again)
    keys: list | None = None              # _KEY text of every row (None: a cell not text)
    added: tuple | None = None            # the saves' steps that built it (_with_added)


#: variables whose rows of other days a day's live grade keeps (:func:`_other_days`)
_CROSS_DAY = frozenset(("temperature", *PRESSORS))


#: patient pk -> its inputs (least recently used dropped beyond ``_CACHE_SIZE``)
_CACHE: OrderedDict[int, _Inputs] = OrderedDict()
_CACHE_SIZE = 512
_CACHE_LOCK = threading.Lock()


def _inputs(patient, fresh: bool = False, convert: bool = True) -> _Inputs:
    """The patient's stored rows and typed tables, read from the database once per
    revision of the patient (:attr:`~remission.web.models.Patient.revision` changes with
    every write of its clinical data, in any server process, so a cached entry is used only
    while it is what the database holds). ``fresh``: ``patient`` was read from the
    database in this request, so its ``revision`` is current (saves one query).
    ``convert=False`` leaves the stored rows' conversion to the caller
    (:func:`_convert_together`) or to their first use.

    When this process holds the inputs of an older revision and the current one was made
    from it by bedside saves that only added readings (in other processes, up to
    :data:`ADDED_STEPS` saves: the rows each added are stored with the derived values of
    the last, :func:`_derive_now`), the new inputs are those rows added to the held ones
    as the saving processes added them (:func:`_with_added`): one read of the shared
    cache instead of the patient's records (tests/web/test_save_inputs.py compares with a
    fresh read)."""
    from remission.web.folder import event_rows, treatment_rows
    from remission.web.models import Patient

    revision = patient.revision if fresh else \
        Patient.objects.filter(pk=patient.pk).values_list("revision", flat=True).first()
    toml = patient.study.toml
    with _CACHE_LOCK:
        hit = _CACHE.get(patient.pk)
        if hit is not None and hit.revision == revision and hit.toml == toml:
            _CACHE.move_to_end(patient.pk)
            return hit
    if hit is not None and hit.toml == toml and hit.patient_id == patient.patient_id:
        # bedside saves in other processes may have only added readings to the revision
        # held here: their rows, stored with the derived values of the last one
        # (_derive_now), are added as those processes added them (one read instead of
        # the patient's records)
        from django.core.cache import caches

        steps = caches[SHARED_CACHE].get(_key(patient, revision, "added"))
        since = _steps_since(steps, hit.revision)
        if since is not None:
            rows: list[dict] = []
            converted: dict = {}
            for _previous, added, conv in since:
                rows += added
                converted.update(conv)
            inp = _with_added(patient, revision, hit, rows, converted)
            inp.added = steps  # those of this revision, as its saving process made them
            return _keep(patient.pk, inp)
    # the patient row of this revision (read in this request when ``fresh``)
    p = patient if fresh else Patient.objects.get(pk=patient.pk)
    rows = [{"day": d, "time": t, "variable": v, "value": x, "unit": u, "source": s, **e}
            for d, t, v, x, u, s, e in p.observations.active().values_list(
                "day", "time", "variable", "value", "unit", "source", "extra")]
    pid = {p.pk: p.patient_id}
    tx_rows = treatment_rows(p.treatments.active(), p.infusions.active(), pid)
    ev_rows = event_rows(p.events.active(), pid)
    source = (p.patient_id, repr(sorted(p.data.items())), repr(tx_rows), repr(ev_rows))
    return _keep(patient.pk, _build_inputs(p, revision, toml, rows, tx_rows, ev_rows, source,
                                           hit, convert))


def _build_inputs(p, revision: str, toml: str, rows: list[dict], tx_rows, ev_rows,
                  source: tuple, hit: _Inputs | None, convert: bool,
                  keys: list | None = None, converted: dict | None = None) -> _Inputs:
    """The :class:`_Inputs` of a patient's revision from its database rows (``rows``, the
    active observations in the database's order; the treatment and event rows, needed
    only when ``source`` differs from the previous inputs ``hit``'s; ``keys``: the rows'
    :func:`_text_cells`, when the caller has them; ``converted``: canonical rows by
    their text cells, converted with the weights of ``hit`` by the caller)."""
    from remission.web.folder import typed_table

    by_day: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_day.setdefault(r["day"], []).append(i)
    same = hit is not None and hit.toml == toml and hit.source == source
    if same:
        # a bedside save changes observations only: the patient, treatment and event
        # tables (typed by the validator), the weights and the infusion windows are those
        # of the previous revision, whose database rows were the same
        pts, tx, ev, infusions = hit.patients, hit.treatments, hit.events, hit.infusions
        context = hit.context
    else:
        pts = typed_table("patients", [(0, 0, {"patient_id": p.patient_id, **p.data})],
                          ["patient_id", *p.data])
        tx_cols = ["patient_id", "agent", "start_day", "end_day", "dose", "dose_unit",
                   "route", "time", "role"]
        tx = typed_table("treatments", tx_rows, tx_cols)
        ev = typed_table("events", ev_rows, ["patient_id", "day", "event", "value", "detail"])
        infusions = None
        context = {}
    if same:
        weights = hit.weights
    else:
        weights = pts.set_index("patient_id")["weight_kg"].dropna() if "weight_kg" in pts \
            else pd.Series(dtype=float)
        weights = weights if len(weights) else None
    cross = {v: variable_name(v) in _CROSS_DAY for v in {r["variable"] for r in rows}}
    out = _Inputs(revision, toml, p.patient_id, rows, by_day,
                  [i for i, r in enumerate(rows) if cross[r["variable"]]],
                  pts, tx, ev, weights, infusions=infusions, source=source,
                  context=context)
    if hit is not None and hit.toml == toml and _same_weights(hit.weights, out.weights):
        # a row's conversion depends on its text and the patient's weight only: the rows
        # of the previous revision are not converted again (a save converts its new rows)
        out.canon = dict(hit.canon)
        if converted:
            out.canon.update(converted)
    if keys is None:
        keys = [_text_cells(r, p.patient_id) for r in rows]
    out.keys = None if any(k is None for k in keys) else keys
    if rows and convert:  # every stored row converted once per revision (one call)
        try:
            if out.keys is None:
                _canonical(_stored_obs(out), out, fill_only=True)
            else:  # the same cells without building the frame
                _canonical_keys(out.keys, list(range(2, 2 + len(rows))), [], out,
                                fill_only=True)
        except InputError:  # stored rows the validator no longer accepts: converted
            out.canon.clear()  # per request, so the problems are shown where they arise
    return out


def _keep(pk: int, inp: _Inputs) -> _Inputs:
    with _CACHE_LOCK:
        _CACHE[pk] = inp
        _CACHE.move_to_end(pk)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return inp


def _current_inputs(patient) -> _Inputs | None:
    """The inputs this process holds for ``patient``'s revision as read (None: none)."""
    with _CACHE_LOCK:
        hit = _CACHE.get(patient.pk)
    if hit is not None and hit.revision == patient.revision and \
            hit.toml == patient.study.toml:
        return hit
    return None


def inputs_after_save(patient, previous: str, observations: list) -> bool:
    """After a write that only added ``observations`` to the patient's revision
    ``previous``, the inputs of its new revision (``patient.revision``) from the inputs
    of ``previous`` this process holds, instead of reading the patient's records again.

    The new rows go where the database's order (``day, line, id``) puts them: after the
    rows of their day and of the days before, in their order, since the write gave them
    lines above every line of the study (read in the write's transaction by the bedside
    save of :mod:`remission.web.views`) and ids above every id. The treatment, event and patient
    tables, the infusion windows, the recorded grades and the conversions of the rows of
    ``previous`` are those of the previous inputs (the write did not change their database
    rows); the rest is built as a read builds it (:func:`_build_inputs`). Equal to a read
    of the new revision (tests/web/test_save_inputs.py applies random sequences of saves,
    corrections, retirements and recorded grades and compares with a fresh read).

    Parameters
    ----------
    patient : Patient
        The patient, its ``revision`` the one the write gave it.
    previous : str
        The revision the write replaced (the caller checked, in the write's transaction,
        that it was the patient's revision then:
        :func:`~remission.web.models.create_records`).
    observations : list of Observation
        The observations the write created, in the order of their lines.

    Returns
    -------
    bool
        True when the new inputs are kept; False when this process held no inputs of
        ``previous`` (the first use of the new revision reads them).

    Examples
    --------
    >>> from remission.web.models import Patient, Study
    >>> inputs_after_save(Patient(pk=10**9, revision="b", study=Study(toml="")), "a", [])
    False
    """
    with _CACHE_LOCK:
        hit = _CACHE.get(patient.pk)
    if hit is None or hit.revision != previous or hit.toml != patient.study.toml:
        return False
    rows = [{"day": o.day, "time": o.time, "variable": o.variable, "value": o.value,
             "unit": o.unit, "source": o.source, **o.extra}
            for o in sorted(observations, key=lambda o: o.day)]  # stable: lines kept
    _keep(patient.pk, _with_added(patient, patient.revision, hit, rows))
    return True


def _with_added(patient, revision: str, hit: _Inputs, added: list[dict],
                converted: dict | None = None) -> _Inputs:
    """The inputs of ``revision``, which only added the observation rows ``added`` (in
    the order of their days, lines kept within a day) to the revision of ``hit``: each
    goes after the rows of its day and of the days before (:func:`inputs_after_save`).
    ``converted``: the canonical rows of ``added`` by their text cells, as the saving
    process converted them (another process's rows then need no conversion here).

    The new inputs carry the saves' steps that built them: those of ``hit`` (when a save
    built it) and ``(hit.revision, added, converted)``, the last :data:`ADDED_STEPS`, so
    that the process that made them stores them with the revision's derived values
    (:func:`_derive_now`) for the other processes holding the inputs of any of those
    revisions (:func:`_inputs`, :func:`_steps_since`).

    Adding the rows of several saves at once (in the order of the saves) gives the inputs
    that adding them one save after the other gives: each row is placed by the rows
    before it, one row after the other, either way."""
    rows = list(hit.rows)
    # the rows' text cells: those of the previous rows (when all are text) and the new
    keys = None if hit.keys is None else list(hit.keys)
    new = [_text_cells(row, hit.patient_id) for row in added]
    for row, key in zip(added, new, strict=True):
        at = len(rows)
        while at and rows[at - 1]["day"] > row["day"]:
            at -= 1
        rows.insert(at, row)
        if keys is not None:
            keys.insert(at, key)
    out = _build_inputs(patient, revision, hit.toml, rows, None, None, hit.source, hit,
                        True, keys, converted)
    out.recorded = hit.recorded  # no recorded grade written
    step = (hit.revision, added,
            {k: out.canon[k] for k in new if k is not None and k in out.canon})
    out.added = ((*hit.added, step) if hit.added is not None else (step,))[-ADDED_STEPS:]
    return out


#: the saves' steps the inputs of a revision carry (:func:`_with_added`): a process that
#: holds the inputs of a revision up to this many saves of readings old builds the
#: current ones from them
ADDED_STEPS = 16


def _steps_since(steps: tuple | None, revision: str) -> tuple | None:
    """The steps of ``steps`` (:attr:`_Inputs.added` of a revision: ``(previous revision,
    rows, converted)`` per save, oldest first) that came after ``revision``, or None when
    ``revision`` is not one of them (the inputs are read from the database)."""
    if steps is None:
        return None
    for i, step in enumerate(steps):
        if step[0] == revision:
            return steps[i:]
    return None


#: the columns of a stored observation row, in the order the bedside form's rows have them
_ROW_COLUMNS = ("variable", "value", "unit", "time", "source")


def stored_day_rows(patient, day: int, fresh: bool = False) -> list[dict[str, str]]:
    """The patient's stored (active) readings of one day as the bedside form's rows, from
    the rows :func:`grade_day` grades (read once per revision of the patient), so a live
    grade reads no observation from the database.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    day : int
        Day relative to infusion.
    fresh : bool, default False
        ``patient`` was read from the database in this request (its revision is current).

    Returns
    -------
    list of dict of str to str
        ``variable, value, unit, time, source`` and the row's other columns
        (``attributed_to``...), in the order the database returns the day's rows; the
        caller's own copies.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> from remission.web.models import Observation, Patient, Study
    >>> p = Patient.objects.create(study=Study.objects.create(code="d", name="D", toml=""),
    ...                            patient_id="P01", line=2)
    >>> _ = Observation.objects.create(patient=p, day=1, variable="temperature",
    ...                                value="39.2", unit="°C", time="06:00", line=2)
    >>> stored_day_rows(p, 1)
    [{'variable': 'temperature', 'value': '39.2', 'unit': '°C', 'time': '06:00', 'source': ''}]
    >>> stored_day_rows(p, 2)
    []
    """
    inp = _inputs(patient, fresh)
    out = []
    for i in inp.by_day.get(day, ()):
        r = inp.rows[i]
        row = {c: r[c] for c in _ROW_COLUMNS}
        row.update((k, v) for k, v in r.items() if k != "day" and k not in row)
        out.append(row)
    return out


def _recorded(inp: _Inputs, patient) -> tuple | None:
    """(CRS, neurotoxicity) grades recorded by the clinician per day of the inputs'
    revision (a recorded grade's write gives the patient a new revision)."""
    if inp.recorded is None:
        from remission.web.models import RecordedGrade

        rec: dict[int, tuple] = {}
        for d, c, n in RecordedGrade.objects.filter(patient_id=patient.pk).active() \
                .order_by("id").values_list("day", "crs_grade", "neuro_grade"):
            rec.setdefault(d, (c, n))
        inp.recorded = rec
    return inp.recorded


def recorded_grades(patient, fresh: bool = False) -> dict[int, tuple]:
    """The (CRS, neurotoxicity) grades recorded for the patient, by day, from its inputs
    (read once per revision of the patient; kept across a bedside save of readings).

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool, default False
        ``patient`` was read from the database in this request.

    Returns
    -------
    dict of int to tuple
        Day -> (CRS grade, neurotoxicity grade) of the active recorded grades (one per
        day); shared: callers never change it.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> from remission.web.models import Patient, RecordedGrade, Study
    >>> p = Patient.objects.create(study=Study.objects.create(code="d", name="D", toml=""),
    ...                            patient_id="P01", line=2)
    >>> _ = RecordedGrade.objects.create(patient=p, day=3, crs_grade=2, line=2)
    >>> recorded_grades(p)
    {3: (2, None)}
    """
    return _recorded(_inputs(patient, fresh), patient)


def _stored_obs(inp: _Inputs) -> pd.DataFrame:
    """The patient's stored observation rows as observations.csv text (the columns a
    conversion depends on)."""
    obs = pd.DataFrame(inp.rows).reindex(columns=list(_KEY[1:])).fillna("")
    obs.insert(0, "patient_id", inp.patient_id)
    obs["day"] = obs["day"].astype(str)
    obs.index = pd.RangeIndex(2, 2 + len(obs), name="line")
    return obs


def _convert_together(inps: list[_Inputs]) -> None:
    """Convert the stored rows of several patients not converted yet in one
    ``normalise_observations`` call per kind of weight table (a row's conversion depends on
    its text and its own patient's weight only, so the result is each patient's own; one
    call costs about what one patient's costs). Patients whose rows the validator refuses
    are left to :func:`_canonical` at their first use, which shows their problems."""
    from remission.vocab.vocabulary import normalise_observations

    groups: dict[bool, list] = {True: [], False: []}
    for inp in inps:
        if not inp.rows:
            continue
        cells = _stored_obs(inp).reindex(columns=list(_KEY)).fillna("").astype(str)
        keys = list(cells.itertuples(index=False, name=None))
        todo = [i for i, k in enumerate(keys) if k not in inp.canon]
        if todo:
            groups[inp.weights is not None].append((inp, cells.iloc[todo],
                                                    [keys[i] for i in todo]))
    for weighted, parts in groups.items():
        if not parts:
            continue
        new = pd.concat([c for _, c, _ in parts], ignore_index=True)
        new.index = pd.RangeIndex(2, 2 + len(new), name="line")
        weights = pd.concat([inp.weights for inp, _, _ in parts]) if weighted else None
        try:
            out = normalise_observations(new, weights)
        except InputError:
            continue
        rows = out.astype(object).itertuples(index=False, name=None)
        for inp, _, keys in parts:
            for k, row in zip(keys, rows, strict=False):
                inp.canon[k] = row


def _same_weights(a: pd.Series | None, b: pd.Series | None) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return a is None and b is None
    return a.index.equals(b.index) and bool((a.to_numpy() == b.to_numpy()).all())


def patient_frames(patient, day: int | None = None,
                   day_rows: list[dict[str, str]] | None = None, only_day: bool = False):
    """(observations, patients, treatments, events) frames of one patient as the pipeline
    reads them; ``day_rows`` replace the stored rows of ``day`` when given.

    ``only_day`` keeps, of the other days, only the temperatures, the vasopressor doses
    and the ANC of the adjacent days (:func:`_other_days`): a CRS grade of a day depends
    on other days only through the ASTCT fever waiver (first fever versus first
    anti-cytokine therapy) and through a timed vasopressor dose still running from an
    earlier day (:func:`~remission.derive.criteria.daily.concurrent_pressors`), febrile
    neutropenia through the ANC paired with the fever (CTCAE v5.0, within
    ``FN_WINDOW_DAYS``), neurotoxicity and laboratory grades not at all. That the
    result equals the full-course grading is tested on every graded patient-day of the
    bundled synthetic study (tests/web/test_grading.py).

    The stored part is read once per revision of the patient (:func:`_inputs`); the
    frames returned are the caller's own copies.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    day : int, optional
        The day whose stored rows ``day_rows`` replace.
    day_rows : list of dict of str to str, optional
        Readings of ``day`` (``variable, value, unit, time`` ...).
    only_day : bool, default False
        Keep only the temperatures and vasopressor doses of the other days (and the ANC
        of the adjacent days).

    Returns
    -------
    tuple of pandas.DataFrame
        ``(observations, patients, treatments, events)`` as
        :func:`remission.analyses.raw.analyse_raw` reads them.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> obs, patients, treatments, events = patient_frames(
    ...     p, day=1, day_rows=[{"variable": "temperature", "value": "38.1", "unit": "°C",
    ...                          "time": "06:00"}])
    >>> obs[["day", "time", "variable", "value"]].to_dict("records")
    [{'day': '1', 'time': '06:00', 'variable': 'temperature', 'value': '38.1'}]
    >>> list(patients["patient_id"]), len(treatments), len(events)
    (['P01'], 0, 0)
    """
    return _frames(_inputs(patient), day, day_rows, only_day)


def _frames(inp: _Inputs, day, day_rows, only_day):
    if day is None or (day_rows is None and not only_day):
        keep = range(len(inp.rows))
    else:
        own = [] if day_rows is not None else inp.by_day.get(day, [])
        if only_day:
            others = _other_days(inp, day)
        else:
            others = [i for i in range(len(inp.rows)) if inp.rows[i]["day"] != day]
        keep = sorted(set(own) | set(others))
    rows = [inp.rows[i] for i in keep]
    if day_rows is not None:
        rows += [{"day": day, "time": r.get("time", ""), "variable": r["variable"],
                  "value": r["value"], "unit": r.get("unit", ""),
                  **{k: v for k, v in r.items()
                     if k not in ("time", "variable", "value", "unit")}}
                 for r in day_rows]
    # the file's other columns (e.g. attributed_to) too, as the loader passes them
    obs = pd.DataFrame(rows).reindex(
        columns=list(dict.fromkeys(["day", "time", "variable", "value", "unit",
                                    *(k for r in rows for k in r)]))).fillna("")
    obs.insert(0, "patient_id", inp.patient_id)
    obs["day"] = obs["day"].astype(str)
    obs.index = pd.RangeIndex(2, 2 + len(obs), name="line")
    return obs, inp.patients.copy(), inp.treatments.copy(), inp.events.copy()


#: at most this many validated rows to convert: :func:`normalise_rows` (no tables)
_FEW_ROWS = 32
#: the columns a canonical observation row depends on (a missing column reads as "")
_KEY = ("patient_id", "day", "time", "variable", "value", "unit", "source", "attributed_to")


def _canonical(obs: pd.DataFrame, inp: _Inputs, checked_day: int | None = None,
               fill_only: bool = False) -> pd.DataFrame | None:
    """``normalise_observations(obs, weights)`` of the patient, converting only the rows not
    converted before for this revision of the patient.

    The conversion of an observation row depends on that row's cells (and the patient's
    weight) only, so a row's canonical values are remembered by its text: the stored rows
    are converted once, a typed row the first time it is seen. Validation that spans rows
    (duplicated readings of a day) is done on the day's rows by the caller
    (:func:`grade_day`). The frame is built with the dtypes and categories
    ``normalise_observations`` gives (tested equal in tests/web/test_grading.py).
    ``checked_day``: the rows of that day have passed the study validator
    (:func:`remission.web.forms.check_day_rows`) in this request, so when every row to
    convert is of that day the validator is not run a second time. ``fill_only``: only
    remember the conversions (returns None).
    """
    present = [c for c in _KEY if c in obs.columns]
    cells = obs.reindex(columns=list(_KEY)).fillna("").astype(str)
    keys = list(cells.itertuples(index=False, name=None))
    return _canonical_keys(keys, [int(x) for x in obs.index], present, inp, checked_day,
                           fill_only)


def _canonical_keys(keys: list[tuple], lines: list[int], present: list[str], inp: _Inputs,
                    checked_day: int | None = None,
                    fill_only: bool = False) -> pd.DataFrame | None:
    """:func:`_canonical` of the rows whose cells (as text, "" when missing, in the order
    of ``_KEY``) are ``keys``, at file lines ``lines``; ``present``: the optional columns
    (``source``, ``attributed_to``) the rows' table has."""
    from remission.vocab.vocabulary import normalise_observations, normalise_rows

    memo = inp.canon
    todo = [i for i, k in enumerate(keys) if k not in memo]
    if todo:
        if len(memo) > 20_000:  # typed values pile up between saves: start again
            memo.clear()
        validated = checked_day is not None and all(
            keys[i][1] == str(checked_day) for i in todo)
        if validated and len(todo) <= _FEW_ROWS:
            # the typed rows of a request: the same conversion without the table
            # operations (normalise_rows equals normalise_observations row for row)
            rows = normalise_rows([dict(zip(_KEY, keys[i], strict=True)) for i in todo],
                                  inp.weights, lines=[lines[i] for i in todo])
        else:
            cells = pd.DataFrame([keys[i] for i in todo], columns=list(_KEY),
                                 index=pd.Index([lines[i] for i in todo], name="line"))
            out = normalise_observations(cells, inp.weights,  # problems: obs lines
                                         validated=validated)
            rows = list(out.astype(object).itertuples(index=False, name=None))
        for i, row in zip(todo, rows, strict=True):
            memo[keys[i]] = row
    if fill_only:
        return None
    cols = [*_KEY[:6][:4], "value", "category", "unit", "source", "attributed_to"]
    records = [memo[k] for k in keys]
    columns = list(zip(*records, strict=True)) if records else [()] * len(cols)
    data = {}
    for c, values in zip(cols, columns, strict=True):
        if c not in ("patient_id", "day", "time", "variable", "value", "category",
                     "unit") and c not in present:
            continue
        arr = np.array(values, dtype=object)
        if c == "day":
            data[c] = arr.astype(np.int64)
        elif c == "value":
            data[c] = arr.astype(float)
        elif c == "source":
            data[c] = arr
        else:  # text columns: object dtype, None where missing (never float NaN)
            arr[pd.isna(arr)] = None
            data[c] = _as_category(arr) if c in _CATEGORICAL else arr
    # the columns in the dict's order (passing ``columns=`` too sent the construction
    # through a reindexing path that cost four times as much on a few rows)
    return pd.DataFrame(data, copy=False)


#: the columns normalise_observations gives as pandas categoricals
_CATEGORICAL = ("patient_id", "variable", "category", "unit")


def _as_category(arr: np.ndarray):
    """``pd.Series(arr).astype("category")``'s values (categories sorted, None missing)
    built from codes: the same categorical at a third of the cost on a few rows."""
    values = arr.tolist()
    try:
        cats = sorted({v for v in values if v is not None})
    except TypeError:  # values that do not sort together: pandas decides
        return pd.Categorical(arr)
    if not all(type(c) is str for c in cats):
        return pd.Categorical(arr)
    pos = {c: i for i, c in enumerate(cats)}
    codes = np.array([pos.get(v, -1) for v in values], dtype=np.int32)
    key = tuple(cats)
    dtype = _DTYPES.get(key)
    if dtype is None:  # checking the categories costs most of a few rows' categorical
        if len(_DTYPES) > 4096:
            _DTYPES.clear()
        dtype = _DTYPES[key] = pd.CategoricalDtype(pd.Index(cats, dtype=object))
    return pd.Categorical.from_codes(codes, dtype=dtype)


#: sorted categories -> their (immutable) dtype, for :func:`_as_category`
_DTYPES: dict[tuple, pd.CategoricalDtype] = {}


def _text_cells(row: dict, patient_id: str) -> tuple | None:
    """The ``_KEY`` cells of one row as :func:`_canonical` reads them from a frame of
    rows of text ("" when missing), or None when a cell other than the integer day is
    not text (its column's type could then depend on the other rows of the frame)."""
    out = [patient_id]
    for c in _KEY[1:]:
        v = row.get(c)
        if c == "day":
            if type(v) is not int:
                return None
            out.append(str(v))
        elif v is None:
            out.append("")
        elif type(v) is str:
            out.append(v)
        else:
            return None
    return tuple(out)


def _day_canonical(inp: _Inputs, day: int, day_rows: list[dict], checked: bool,
                   fill_only: bool = False):
    """:func:`_canonical` of ``_frames(inp, day, day_rows, only_day=True)[0]`` (the
    patient's temperatures and vasopressor doses of the other days, then ``day_rows``)
    without building that frame: those rows' cells are read once per revision of the
    patient.
    Returns ``False`` when a cell is not text (the caller then builds the frame)."""
    if inp.cross_keys is None:
        inp.cross_keys = [_text_cells(inp.rows[i], inp.patient_id) for i in inp.cross_day]
    text = dict(zip(inp.cross_day, inp.cross_keys, strict=True))
    keep = _other_days(inp, day)
    typed = [_text_cells({**r, "day": day}, inp.patient_id) for r in day_rows]
    keys = [text[i] if i in text else _text_cells(inp.rows[i], inp.patient_id)
            for i in keep] + typed
    if any(k is None for k in keys) or not keys:
        return False
    names = {k for i in keep for k in inp.rows[i]} | {k for r in day_rows for k in r}
    present = [c for c in _KEY if c in names or c in ("day", "time", "variable", "value",
                                                      "unit")]
    return _canonical_keys(keys, list(range(2, 2 + len(keys))), present, inp,
                           day if checked else None, fill_only)


def _present(rows: list[dict]) -> list[str]:
    """The columns of ``_KEY`` that the observation frame of ``rows`` has
    (:func:`_frames`: the file's columns, and the other columns of any row)."""
    names = {k for r in rows for k in r}
    return [c for c in _KEY if c in names or c in ("patient_id", "day", "time", "variable",
                                                   "value", "unit")]


def _other_days(inp: _Inputs, day: int) -> list[int]:
    """Positions (file order) of the stored rows of other days that the grades of ``day``
    depend on: every temperature (the ASTCT 2019 fever waiver looks for fever on or before
    the first anti-cytokine therapy; a sustained fever may run over midnight), every
    vasopressor dose (a timed dose runs until that drug's next timed reading, whatever its
    day: :func:`~remission.derive.criteria.daily.concurrent_pressors`) and the
    ANC of the days within the febrile-neutropenia pairing window
    (:data:`~remission.derive.criteria.ctcae.FN_WINDOW_DAYS`: CTCAE v5.0 febrile
    neutropenia pairs the fever with an ANC < 1.0 x 10^9/L measured that day or the day
    before or after)."""
    from remission.derive.criteria.ctcae import FN_WINDOW_DAYS

    out = [i for i in inp.cross_day if inp.rows[i]["day"] != day]
    near = [i for k in range(1, FN_WINDOW_DAYS + 1) for d in (day - k, day + k)
            for i in inp.by_day.get(d, ()) if variable_name(inp.rows[i]["variable"]) == "anc"]
    return sorted(out + near) if near else out


def _grade_patient(patient, day: int | None = None,
                  day_rows: list[dict[str, str]] | None = None,
                  only_day: bool = False) -> dict[str, pd.DataFrame]:
    """Derived daily datasets of one patient (:func:`~remission.derive.criteria.grade_all`
    with the arguments :func:`~remission.analyses.raw.analyse_raw` passes), with the day's
    stored rows replaced by ``day_rows`` when given.
    Raises :class:`~remission.errors.InputError` when the values break the vocabulary
    (unknown unit, out of range...)."""
    return _grade(_inputs(patient), patient, day, day_rows, only_day)


def _grade(inp: _Inputs, patient, day, day_rows, only_day,
           checked: bool = False) -> dict[str, pd.DataFrame]:
    from remission.derive.criteria import grade_all
    from remission.derive.criteria.infusions import infusion_days

    cfg = study_config(patient.study)
    systems = resolve_systems(dict(cfg.criteria), cfg.disease)
    canon = False
    if day_rows is not None and only_day:  # the live grade: no observation frame built
        canon = _day_canonical(inp, day, day_rows, checked)
    elif day is None and day_rows is None and inp.keys is not None:  # the whole course
        if not inp.keys:
            return {}
        canon = _canonical_keys(inp.keys, list(range(2, 2 + len(inp.keys))),
                                _present(inp.rows), inp)
    if canon is False:
        obs = _frames(inp, day, day_rows, only_day)[0]
        if obs.empty:
            return {}
        canon = _canonical(obs, inp, day if checked and day_rows is not None else None)
    # the engine never modifies the tables it is given (tests/test_criteria_inputs_unchanged.py):
    # the patient's kept tables are passed as they are; the infusion windows are copied
    # because grade_all returns them as its "infusions" table
    pts, tx, ev = inp.patients, inp.treatments, inp.events
    if inp.infusions is None:  # they depend on the patient's treatments and events only
        inp.infusions = infusion_days(pts["patient_id"].astype(str), tx, ev,
                                      tuple(cfg.products))
    # the pipeline's own call (derive.raw.analyse_raw): daily tables, no response; the
    # infusion windows grade_all would compute from the same tables, computed once
    out = grade_all(canon, patients=pts, treatments=tx, events=ev, crs=systems.crs,
                    neurotoxicity=systems.neurotoxicity, response=None,
                    lln=cfg.lln or None, products=tuple(cfg.products), summaries=False,
                    infusions=inp.infusions.copy(), context=inp.context)
    out["systems"] = systems  # type: ignore[assignment]
    return out


def _one(graded: pd.DataFrame, daily: pd.DataFrame, day: int, variables, what: str,
         system: str, values: dict[str, str], dd: np.ndarray) -> Grade:
    """The :class:`Grade` of ``day`` in one system's graded table (``dd``: the day's
    positions in ``daily``, :func:`_on_day`)."""
    label = SYSTEMS.get(system, system)
    at = _on_day(graded, day)  # positions (no filtered copies of the tables)
    if not len(at):
        return Grade(what, label, None)
    g = int(graded["grade"].to_numpy()[at[0]])
    decided = str(graded["decided_by"].to_numpy()[at[0]])
    assessed = bool(len(dd)) and any(c in daily.columns and pd.notna(daily[c].to_numpy()[dd]).any()
                                     for c in variables)
    if not assessed and g != 5:
        return Grade(what, label, None)
    ev = []
    for dom in decided.split("+"):
        ev += [values[v] for v in DOMAIN_VARIABLES.get(dom, ()) if v in values]
    return Grade(what, label, g, decided if g else "", "; ".join(ev) if g else "")


def _on_day(tab: pd.DataFrame, day: int) -> np.ndarray:
    """Positions of the rows of ``day``."""
    return np.flatnonzero(tab["day"].to_numpy() == day)


def grade_day(patient, day: int, day_rows: list[dict[str, str]] | None = None, *,
              checked: bool = False, fresh: bool = False,
              stored: tuple[list[dict], tuple | None] | None = None) -> DayGrades:
    """CRS, neurotoxicity and CTCAE laboratory grades of one patient-day, each with the
    domain that decided it and the values of that domain (see module docstring).

    The grades of typed ``day_rows`` are kept with the patient's inputs of the revision
    graded (:func:`_inputs`, at most ``_GRADED_FORMS`` forms): the bedside form is sent
    again with the same values when a typed field loses focus (htmx ``input``, then
    ``change``), and that second request is answered without grading again. A write to
    the patient's data gives a new revision, whose inputs start without kept grades.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    day : int
        Day relative to infusion.
    day_rows : list of dict, optional
        The day's readings (``variable, value, unit, time`` and any other column) in place
        of the stored ones: the bedside form's values.
    checked : bool
        ``day_rows`` have been checked by :func:`remission.web.forms.check_day_rows`
        already (the views do, to show problems on their fields); otherwise they are
        checked here.
    fresh : bool
        ``patient`` was read from the database in this request (its revision is current).
    stored : tuple, optional
        Without ``day_rows``: the day's stored (active) readings (``variable, value,
        unit``, in the database's order) and its recorded (CRS, neurotoxicity) grades
        (None when none), when the caller has read them in this request (else they are
        read here).

    Returns
    -------
    DayGrades
        ``crs`` and ``neuro`` (:class:`Grade`: grade, deciding domain, its values, the
        recorded grade), ``labs`` (CTCAE grades), ``febrile_neutropenia`` and the readings
        excluded as attributed to another cause.

    Raises
    ------
    remission.errors.InputError
        When the readings break the study rules (vocabulary, units, plausible ranges);
        unchecked ``day_rows`` are checked before the patient's stored data are read.

    References
    ----------
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release
    syndrome and neurologic toxicity associated with immune effector cells. Biol Blood
    Marrow Transplant 2019;25:625-38. National Cancer Institute. Common Terminology
    Criteria for Adverse Events (CTCAE) v5.0, 2017.

    Examples
    --------
    A reading outside the plausible range is refused with the validator's problem:

    >>> from remission.web.models import Patient, Study
    >>> p = Patient(patient_id="P01", study=Study(toml=""))
    >>> grade_day(p, 1, [{"variable": "temperature", "value": "58", "unit": "C",
    ...                   "time": "08:00"}])
    Traceback (most recent call last):
    ...
    remission.errors.InputError: 1 problem found:
      - observations.csv, line 2, column 'value': temperature value out of plausible \
range (got '58'); expected a number in [30, 45] °C
    """
    import time

    t0 = time.perf_counter()
    if day_rows is not None and not checked:
        from remission.web.forms import check_day_rows

        problems = check_day_rows(patient.patient_id, day, day_rows)
        if problems:
            raise InputError(problems)
    if day_rows is None:  # the stored day: the patient's course, graded once per revision
        out = course(patient, fresh)
        if stored is not None:
            day_rows, rec = stored
        else:
            day_rows = [{"variable": v, "value": x, "unit": u} for v, x, u in
                        patient.observations.active().filter(day=day).values_list(
                            "variable", "value", "unit")]
            rec = patient.recorded_grades.active().filter(day=day).values_list(
                "crs_grade", "neuro_grade").first()
        res = _day_grades(out, patient, day, day_rows, rec)
    else:
        inp = _inputs(patient, fresh)
        key = _form_key(day, day_rows)
        with _CACHE_LOCK:
            kept = inp.graded.get(key) if key is not None else None
        if kept is None:
            out = _grade(inp, patient, day, day_rows, only_day=True, checked=True)
            kept = _day_grades(out, patient, day, day_rows,
                               _recorded(inp, patient).get(day))  # the rows' revision
            if key is not None:
                with _CACHE_LOCK:
                    inp.graded[key] = kept
                    while len(inp.graded) > _GRADED_FORMS:
                        inp.graded.pop(next(iter(inp.graded)))
        res = copy.deepcopy(kept)  # the caller's own (the view sets typed recorded grades)
    res.seconds = time.perf_counter() - t0
    return res


#: the grades of this many distinct forms kept per patient revision (:func:`grade_day`)
_GRADED_FORMS = 64


def _form_key(day: int, day_rows: list[dict]) -> tuple | None:
    """The key of a day's rows in :attr:`_Inputs.graded` (None when a cell is not
    hashable): every cell of every row, in order."""
    key = (day, tuple(tuple(r.items()) for r in day_rows))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _day_grades(out: dict, patient, day: int, day_rows: list[dict],
                rec: tuple | None) -> DayGrades:
    """:class:`DayGrades` of ``day`` from the graded tables ``out`` of the patient
    (``rec``: the recorded (CRS, neurotoxicity) grades of the day)."""
    values = {r["variable"]: _shown(r["variable"], r["value"], r.get("unit", ""))
              for r in day_rows}
    if not out:
        sys_ = resolve_systems(dict(study_config(patient.study).criteria), "")
        res = DayGrades(day, Grade("CRS", SYSTEMS.get(sys_.crs, sys_.crs), None),
                        Grade("Neurotoxicity", SYSTEMS.get(sys_.neurotoxicity, ""), None))
    else:
        systems = out["systems"]
        daily = out["daily"]
        dd = _on_day(daily, day)  # the day's positions, read once for both systems
        crs = _one(out["crs_daily"], daily, day, CRS_VARIABLES, "CRS", systems.crs, values,
                   dd)
        ntx = _one(out["neuro_daily"], daily, day, NEURO_VARIABLES,
                   "ICANS" if systems.neurotoxicity == "icans_astct2019" else "CRES",
                   systems.neurotoxicity, values, dd)
        labs = []
        lab = out["labs"]
        if len(lab):
            term, var, val, grade = (lab[c].to_numpy(dtype=object)
                                     for c in ("term", "variable", "value", "grade"))
            for i in _on_day(lab, day):
                g = None if pd.isna(grade[i]) else int(grade[i])
                labs.append(Grade(str(term[i]), "CTCAE v5.0", g,
                                  f"{var[i]} {val[i]:g}" if g else "", ""))
        fn = out["febrile_neutropenia"]
        fng = None
        if len(fn) and "grade" in fn:
            at = _on_day(fn, day)
            if len(at):
                v = fn["grade"].to_numpy(dtype=object)[at[0]]
                fng = Grade("Febrile neutropenia", "CTCAE v5.0",
                            None if pd.isna(v) else int(v))
        res = DayGrades(day, crs, ntx, labs, fng)
        ex = out.get("excluded_observations")
        if ex is not None and len(ex):
            for r in ex.iloc[_on_day(ex, day)].itertuples():
                shown = r.category if isinstance(r.category, str) else f"{r.value:g}"
                res.excluded.append(f"{r.variable} {shown} (attributed to {r.attributed_to})")
    if rec is not None:
        res.crs.recorded, res.neuro.recorded = rec
    return res


def convert_day(patient, day: int, day_rows: list[dict[str, str]], *,
                checked: bool = False, fresh: bool = False) -> None:
    """Convert a day's readings as grading does (units, per-kg doses, categories), without
    grading: what a save needs to know beyond the form's check
    (:func:`remission.web.forms.check_day_rows`).

    Parameters
    ----------
    patient : Patient
        A stored patient.
    day : int
        Day relative to infusion.
    day_rows : list of dict
        The day's readings (stored and new).
    checked : bool
        ``day_rows`` have passed :func:`remission.web.forms.check_day_rows` in this
        request (the view's save does), so they are not validated a second time.
    fresh : bool
        ``patient`` was read from the database in this request.

    Returns
    -------
    None
        Raises :class:`~remission.errors.InputError` when a value cannot be converted.
    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a temperature converts; a unit the vocabulary does not know for it does not.

    >>> from remission.errors import InputError
    >>> from remission.web.doctest_study import demo_study
    >>> from remission.web.models import Patient
    >>> study = demo_study()
    >>> p = Patient.objects.create(study=study, patient_id="P01", line=2)
    >>> convert_day(p, 1, [{"variable": "temperature", "value": "38.4", "unit": "°C"}])
    >>> try:
    ...     convert_day(p, 1, [{"variable": "temperature", "value": "38.4", "unit": "mmHg"}])
    ... except InputError as exc:
    ...     print(exc.problems[0].column)
    unit
    """
    inp = _inputs(patient, fresh)
    if _day_canonical(inp, day, day_rows, checked, fill_only=True) is False:
        obs = _frames(inp, day, day_rows, only_day=True)[0]
        _canonical(obs, inp, checked_day=day if checked else None, fill_only=True)


def daily_table(patient, fresh: bool = False) -> pd.DataFrame:
    """Per day: derived CRS and neurotoxicity grade with the deciding domain, recorded
    grades, as the patient page shows them (masking days without observations).
    Laid out once per revision of the patient's data in each server process from the
    patient's :func:`course` (graded once for all processes).

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool, default False
        ``patient`` was read from the database in this request.

    Returns
    -------
    pandas.DataFrame
        One row per day with ``day``, ``crs``, ``crs_rule``, ``neuro``, ``neuro_rule``
        (None when not assessed that day), ``crs_recorded`` and ``neuro_recorded``.

    Raises
    ------
    remission.errors.InputError
        When the stored data no longer validate.

    References
    ----------
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release
    syndrome and neurologic toxicity associated with immune effector cells. Biol Blood
    Marrow Transplant 2019;25:625-38 (fever >= 38 °C alone is CRS grade 1).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> daily_table(p)[["day", "crs", "crs_rule", "neuro"]].to_dict("records")
    [{'day': 1, 'crs': 1, 'crs_rule': 'fever', 'neuro': None}]
    """
    return per_revision(patient, "daily_table", lambda: _daily_table(patient, fresh), fresh,
                        shared=False).copy()


def daily_rows(patient, fresh: bool = False) -> list[dict] | None:
    """The rows of :func:`daily_table` as dicts of plain values, before they are a
    frame: a grade is a whole number or None (not assessed, not recorded), where the
    frame's column holds floats and NaN when it mixes both. Laid out once per revision
    of the patient's data in each server process (the frame is made from them); the
    patient page and the timeline read them without a frame.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool, default False
        ``patient`` was read from the database in this request.

    Returns
    -------
    list of dict or None
        One per day (``day``, ``crs``, ``crs_rule``, ``neuro``, ``neuro_rule``,
        ``crs_recorded``, ``neuro_recorded``); None without observations. Shared:
        callers never change them.

    Raises
    ------
    remission.errors.InputError
        When the stored data no longer validate.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> [(r["day"], r["crs"], r["crs_rule"], r["neuro"]) for r in daily_rows(p)]
    [(1, 1, 'fever', None)]
    """
    return per_revision(patient, "daily_rows", lambda: _daily_rows(patient, fresh), fresh,
                        shared=False, lock=False)


#: Derived values shared by the server processes: Django's database cache (settings
#: ``CACHES["derived"]``), keyed by patient, revision, study.toml and name, so a value
#: is valid exactly while the patient's data are what it was computed from.
SHARED_CACHE = "derived"
#: How long a process waits for another one computing the same value (s) before
#: computing it itself.
WAIT_FOR_OTHER = 20.0
_LOCAL: OrderedDict[str, object] = OrderedDict()  # this process's copy of shared values
_LOCAL_SIZE = 512  # values of old revisions age out (a timeline is tens of kB)


@lru_cache(maxsize=64)
def _toml_tag(toml: str) -> str:
    return hashlib.sha256(toml.encode("utf-8")).hexdigest()[:16]


def _revision_of(patient, fresh: bool) -> str | None:
    from remission.web.models import Patient

    return patient.revision if fresh else \
        Patient.objects.filter(pk=patient.pk).values_list("revision", flat=True).first()


def _key(patient, revision: str, key: str) -> str:
    return f"remission:{key}:{patient.pk}:{revision}:{_toml_tag(patient.study.toml)}"


def revision_key(patient, key: str) -> str:
    """The key of the value ``key`` of the patient's revision as read (``patient`` read
    from the database in this request), as :func:`per_revision` stores it.

    Parameters
    ----------
    patient : Patient
        A patient read in this request.
    key : str
        Name of the value.

    Returns
    -------
    str
        The shared cache's key (patient, revision, study.toml and name).

    Examples
    --------
    >>> from remission.web.models import Patient, Study
    >>> p = Patient(pk=7, revision="ab12", study=Study(toml=""))
    >>> revision_key(p, "course").split(":")[:4]
    ['remission', 'course', '7', 'ab12']
    """
    return _key(patient, patient.revision, key)


def remember(ck: str, value) -> None:
    """Keep a value stored in the shared cache under ``ck`` in this process too.

    Parameters
    ----------
    ck : str
        Its key (:func:`revision_key`).
    value : object
        The value (shared: never changed afterwards).

    Returns
    -------
    None

    Examples
    --------
    >>> remember("remission:example:1:r:t", 3)
    >>> _LOCAL["remission:example:1:r:t"]
    3
    """
    _remember(ck, value)


def _remember(ck: str, value) -> None:
    with _CACHE_LOCK:
        _LOCAL[ck] = value
        _LOCAL.move_to_end(ck)
        while len(_LOCAL) > _LOCAL_SIZE:
            _LOCAL.popitem(last=False)


def kept(patient, key: str):
    """The value :func:`per_revision` keeps in this process under ``key`` for the
    patient's revision as read (``patient`` read from the database in this request), or
    None when it has none.

    Parameters
    ----------
    patient : Patient
        A patient read in this request.
    key : str
        Name of the value.

    Returns
    -------
    object or None
        The kept value (shared: callers never change it).

    Examples
    --------
    >>> from remission.web.models import Patient, Study
    >>> p = Patient(pk=7, revision="ab12", study=Study(toml=""))
    >>> remember(revision_key(p, "example"), 3)
    >>> kept(p, "example"), kept(p, "other")
    (3, None)
    """
    ck = _key(patient, patient.revision, key)
    with _CACHE_LOCK:
        if ck in _LOCAL:
            _LOCAL.move_to_end(ck)
            return _LOCAL[ck]
    return None


def per_revision(patient, key: str, compute, fresh: bool = False, *, shared: bool = True,
                 lock: bool = True, prefetch: tuple[str, ...] = ()):
    """``compute()`` once per revision of the patient's data over all server processes.

    The value is kept in the database cache shared by the processes (Django's
    ``DatabaseCache``, :data:`SHARED_CACHE`) under the patient's current
    :attr:`~remission.web.models.Patient.revision`: the first process that needs it
    takes a short lock (``cache.add``), computes and stores it; the others wait for it
    (up to :data:`WAIT_FOR_OTHER` s, then compute it themselves) and read it. A write
    to the patient's data gives a new revision, so an old value is never read again.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    key : str
        Name of the value.
    compute : callable
        Called without arguments when the value is not stored for this revision.
    fresh : bool
        ``patient`` was read from the database in this request (its ``revision`` is
        current; saves one query).
    shared : bool
        Keep the value in the database cache for the other processes (False: in this
        process only, for values cheap to derive from shared ones).
    lock : bool
        Take the lock so that one process computes while the others wait (False for
        values cheaper to compute than to wait for: no lock rows written).
    prefetch : tuple of str
        Names of other shared values of the same revision that ``compute`` reads
        (e.g. ``("course", "response")``): read from the shared cache in the same
        statement as this one's value and kept in this process, so that ``compute``
        finds them without a statement of its own.

    Returns
    -------
    object
        The value (shared: callers copy before changing it).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> from remission.web.models import Observation
    >>> study, p = fever_study()
    >>> per_revision(p, "answer", lambda: 42), per_revision(p, "answer", lambda: 0)
    (42, 42)
    >>> _ = Observation.objects.create(patient=p, day=2, variable="temperature",
    ...                                value="37.0", unit="°C", line=3)  # new revision
    >>> per_revision(p, "answer", lambda: 0)
    0
    """
    import time

    from django.core.cache import caches

    from remission.web.timing import add_wait

    revision = _revision_of(patient, fresh)
    ck = _key(patient, revision, key)
    with _CACHE_LOCK:
        if ck in _LOCAL:
            _LOCAL.move_to_end(ck)
            return _LOCAL[ck]
    if not shared:
        value = compute()
        _remember(ck, value)
        return value
    cache = caches[SHARED_CACHE]
    miss = object()
    if prefetch:  # this value and those compute() reads, in one statement
        others = {}
        with _CACHE_LOCK:
            for name in prefetch:
                other = _key(patient, revision, name)
                if other not in _LOCAL:
                    others[other] = name
        got = cache.get_many([ck, *others])
        for other in others:
            if other in got:
                _remember(other, got[other])
        value = got.get(ck, miss)
    else:
        value = cache.get(ck, miss)
    if value is miss:
        mine = not lock or cache.add(ck + ":lock", 1, timeout=int(WAIT_FOR_OTHER) + 10)
        if not mine:  # another process is computing it: wait for its result
            end = time.monotonic() + WAIT_FOR_OTHER
            while value is miss and time.monotonic() < end:
                time.sleep(0.05)
                add_wait(0.05)
                value = cache.get(ck, miss)
        if value is miss:
            try:
                value = compute()
                cache.set(ck, value, timeout=None)
            finally:
                if mine and lock:
                    cache.delete(ck + ":lock")
    _remember(ck, value)
    return value


def fingerprint(patient, fresh: bool = False) -> str:
    """The patient's :func:`~remission.web.models.patient_fingerprint` (what a sign-off
    vouches for), computed once per revision of the patient in each process.

    The fingerprint is a function of the patient's active clinical data, and every write
    to those data gives the patient a new revision, so the value kept under a revision
    is the fingerprint of that revision's data: the study list, the patient page and
    the dashboard read it instead of reading the patient's records again (four queries
    and a hash) at every look at a signed-off patient.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool
        ``patient`` was read from the database in this request (saves one query).

    Returns
    -------
    str
        The hex digest, equal to ``patient_fingerprint(patient)``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> from remission.web.models import Observation, Patient, Study, patient_fingerprint
    >>> study = Study.objects.create(code="demo", name="Demo", toml="")
    >>> p = Patient.objects.create(study=study, patient_id="P01", line=2)
    >>> before = fingerprint(p, fresh=True)
    >>> before == patient_fingerprint(p)
    True
    >>> _ = Observation.objects.create(patient=p, day=1, variable="temperature",
    ...                                value="39.2", unit="°C", line=2)  # a new revision
    >>> fingerprint(p) == patient_fingerprint(p) != before
    True
    """
    from remission.web.models import patient_fingerprint

    return per_revision(patient, "fingerprint", lambda: patient_fingerprint(patient),
                        fresh=fresh, shared=False, lock=False)


def stored_values(patients, key: str) -> dict[int, object]:
    """The values :func:`per_revision` stored under ``key`` for the current revision of
    each of ``patients``, in one query.

    Parameters
    ----------
    patients : iterable of Patient
        Patients read from the database in this request (their ``revision`` is current).
    key : str
        Name of the value.

    Returns
    -------
    dict of int to object
        Patient primary key -> value; patients without a stored value are left out.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> p.refresh_from_db()  # its revision as stored now
    >>> stored_values([p], "answer")
    {}
    >>> per_revision(p, "answer", lambda: 42)
    42
    >>> stored_values([p], "answer") == {p.pk: 42}
    True
    """
    from django.core.cache import caches

    keys = {_key(p, p.revision, key): p.pk for p in patients}
    out = {}
    with _CACHE_LOCK:
        for ck, pk in keys.items():
            if ck in _LOCAL:
                out[pk] = _LOCAL[ck]
    rest = [ck for ck, pk in keys.items() if pk not in out]
    if rest:
        for ck, value in caches[SHARED_CACHE].get_many(rest).items():
            out[keys[ck]] = value
            _remember(ck, value)
    return out


def course(patient, fresh: bool = False) -> dict[str, pd.DataFrame]:
    """The patient's whole course through the pipeline's graders: the daily tables of
    ``_grade_patient`` (daily, crs_daily, neuro_daily, labs, febrile_neutropenia,
    excluded_observations). The study's response system on them is
    :func:`course_response` (only the pages that show responses need it).

    Computed once per revision of the patient's data for all server processes
    (:func:`per_revision`, or :func:`courses` for several patients in one grading);
    {} without observations. The value is shared: callers never change it.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool, default False
        ``patient`` was read from the database in this request.

    Returns
    -------
    dict of str to pandas.DataFrame
        The derived daily datasets by name (see above); shared, callers never change
        them.

    Raises
    ------
    remission.errors.InputError
        When the stored data no longer validate.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> out = course(p)
    >>> out["crs_daily"][["day", "grade", "decided_by", "system"]].to_dict("records")
    [{'day': 1, 'grade': 1, 'decided_by': 'fever', 'system': 'astct2019'}]
    """
    return per_revision(patient, "course", lambda: _course(_inputs(patient, fresh), patient),
                        fresh)


def course_response(patient, fresh: bool = False) -> dict[str, pd.DataFrame]:
    """The study's response system on the patient's :func:`course`: ``response_assessments``
    and ``response``, by :func:`~remission.derive.criteria.assess_response` and
    :func:`~remission.derive.criteria.summarise_response` with the arguments
    :func:`~remission.derive.criteria.grade_all` passes them in the batch pipeline.

    Computed once per revision of the patient's data for all server processes, like the
    course it is derived from (:func:`per_revision`; :func:`courses` stores both);
    {} without observations or without a response system. Shared: callers never change
    it.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool, default False
        ``patient`` was read from the database in this request.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``response_assessments`` and ``response`` (see above).

    Raises
    ------
    remission.errors.InputError
        When the stored data no longer validate.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a marrow with 3 % blasts and recovered counts on day 28 of an AML patient.

    >>> from remission.web.doctest_study import demo_study
    >>> from remission.web.models import Observation, Patient
    >>> study = demo_study()
    >>> p = Patient.objects.create(study=study, patient_id="P01", line=2)
    >>> for i, (v, x, u) in enumerate([("marrow_blasts", "3", "%"),
    ...                                ("anc", "1.5", "10^9/L"),
    ...                                ("platelets", "150", "10^9/L")]):
    ...     _ = Observation.objects.create(patient=p, day=28, variable=v, value=x,
    ...                                    unit=u, line=2 + i)
    >>> out = course_response(p)
    >>> out["response_assessments"][["day", "response", "system"]].to_dict("records")
    [{'day': 28, 'response': 'CR', 'system': 'eln2022'}]
    """
    return per_revision(patient, "response",
                        lambda: _response(course(patient, fresh), patient), fresh, lock=False)


def courses(patients) -> dict[int, dict[str, pd.DataFrame]]:
    """:func:`course` of several patients of one study: those stored for their current
    revision are read in one query, the others are graded together in one call of the
    pipeline's graders (``grade_all`` and the response system, as the batch pipeline
    grades a whole study) and stored per patient and revision for all server processes.

    The graders work patient by patient on one table, so a patient's part of a grading
    of several equals its own grading (checked for every patient of the bundled
    synthetic study in tests/web/test_derived_cache.py); grading the patients changed
    since the last look in one call costs about what one patient costs.

    Parameters
    ----------
    patients : list of Patient
        Active patients of one study, read from the database in this request (their
        ``revision`` is current).

    Returns
    -------
    dict of int to dict
        Patient primary key -> course (shared: callers never change it). Their
        :func:`course_response` is stored for the same revisions (derived here for the
        courses stored without it).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a two-patient study, a fever of 39.2 °C on day 1 of one and 37.0 °C of the other.

    >>> from remission.web.doctest_study import demo_study
    >>> from remission.web.models import Observation, Patient
    >>> study = demo_study()
    >>> ps = [Patient.objects.create(study=study, patient_id=f"P0{i}", line=i + 1)
    ...       for i in (1, 2)]
    >>> for p, t in zip(ps, ("39.2", "37.0")):
    ...     _ = Observation.objects.create(patient=p, day=1, variable="temperature",
    ...                                    value=t, unit="°C", line=2)
    >>> ps = list(Patient.objects.filter(study=study).order_by("line"))
    >>> out = courses(ps)
    >>> [out[p.pk]["crs_daily"]["grade"].tolist() for p in ps]
    [[1], [0]]
    """
    from django.core.cache import caches

    patients = list(patients)
    out = stored_values(patients, "course")
    todo = [p for p in patients if p.pk not in out]
    if len(todo) == 1:
        out[todo[0].pk] = course(todo[0], fresh=True)
    elif todo:
        got = _courses_together(todo)
        landmark = study_config(todo[0].study).assessment_day
        split = {}
        for p in todo:
            graded = got[p.pk]
            split[_key(p, p.revision, "course")] = {
                k: v for k, v in graded.items() if k not in _RESPONSE_TABLES}
            resp = {k: v for k, v in graded.items() if k in _RESPONSE_TABLES}
            split[_key(p, p.revision, "response")] = resp
            system = graded["systems"].response if "systems" in graded else None
            if resp and system is not None:  # also under its inputs: the patient's first
                # save of values the response engine does not read reuses it (_response)
                split[_response_key(p, graded["daily"], system, landmark)] = resp
            out[p.pk] = split[_key(p, p.revision, "course")]
        caches[SHARED_CACHE].set_many(split, timeout=None)  # one statement for all
        for ck, value in split.items():
            _remember(ck, value)
    # the responses of courses graded elsewhere (by a page that shows no response): read
    # in one query, the missing ones derived here and stored in one
    graded = {p.pk for p in todo} if len(todo) > 1 else set()
    rest = [p for p in patients if p.pk not in graded]
    have = stored_values(rest, "response")
    derived: dict[str, object] = {}
    new = {_key(p, p.revision, "response"): _response(out[p.pk], p, derived)
           for p in rest if p.pk not in have}
    new.update(derived)
    if new:
        caches[SHARED_CACHE].set_many(new, timeout=None)
        for ck, value in new.items():
            _remember(ck, value)
    return out


def claim_derivation(patient_pk: int, written=None) -> str | None:
    """Inside a write's transaction, after its writes: mark the patient's new revision as
    being derived by this request (a lock entry in the shared cache, written in the same
    transaction, so every reader that sees the new revision also sees the mark). The
    pages (:func:`per_revision`) and the dashboard then wait for the values
    :func:`derive_after_write` stores once the transaction has committed instead of
    grading the patient themselves.

    Parameters
    ----------
    patient_pk : int
        The patient written.
    written : Patient, optional
        The patient as this transaction has just written it (its ``revision`` the one
        the transaction set, e.g. by :func:`~remission.web.models.create_records`): not
        read again.

    Returns
    -------
    str or None
        The new revision (pass it to :func:`derive_after_write`); None when the patient
        does not exist.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> from remission.web.models import Patient, Study
    >>> p = Patient.objects.create(study=Study.objects.create(code="d", name="D", toml=""),
    ...                            patient_id="P01", line=2)
    >>> claim_derivation(p.pk) == Patient.objects.get(pk=p.pk).revision
    True
    >>> derivation_claimed([p]) == {p.pk}
    True
    """
    from django.core.cache import caches

    from remission.web.models import Patient

    p = written if written is not None and written.pk == patient_pk else \
        Patient.objects.select_related("study").filter(pk=patient_pk).first()
    if p is None:
        return None
    # a new revision's key: no one else can hold it before this transaction commits, so
    # one upsert does what add's look-up and insert do; written in the caller's
    # transaction without a savepoint (DerivedCache.write): if it fails, the write fails
    # as a whole
    caches[SHARED_CACHE].write({_key(p, p.revision, "course") + ":lock": 1},
                               timeout=int(WAIT_FOR_OTHER) + 10)
    return p.revision


def derivation_claimed(patients) -> set[int]:
    """The patients (read in this request) whose current revision a write is deriving
    (:func:`claim_derivation`), in one query.

    Parameters
    ----------
    patients : iterable of Patient
        Patients read from the database in this request.

    Returns
    -------
    set of int
        Their primary keys.

    Examples
    --------
    >>> derivation_claimed([])
    set()
    """
    from django.core.cache import caches

    keys = {_key(p, p.revision, "course") + ":lock": p.pk for p in patients}
    if not keys:
        return set()
    return {keys[k] for k in caches[SHARED_CACHE].get_many(list(keys))}


def derive_after_write(patient, extra=None, claimed: str | None = None
                       ) -> dict[str, object] | None:
    """The patient's :func:`course` and :func:`course_response` for its current revision,
    computed now and stored for all server processes in one write, with the values
    ``extra`` derives from them: what a save calls once its transaction has committed, so
    that the pages and the dashboard read the patient's derived values instead of each
    grading it (the dashboard then grades no patient a bedside save changed).

    The values are stored under the revision read before the data, as :func:`per_revision`
    stores them: when another write lands meanwhile, the readers of its new revision never
    see them (that write's own call, or the first page that needs them, derives its
    values). With ``claimed`` (the write's own revision) and another write already landed,
    nothing is derived.

    Parameters
    ----------
    patient : Patient
        A stored patient (only its primary key is read: the patient is read again),
        or the patient as the write left it: with ``patient.revision == claimed`` and
        the inputs of that revision held by this process (:func:`inputs_after_save`),
        nothing is read and the values of ``claimed`` are derived (also when another
        write has landed since: its readers do not see them).
    extra : dict of str to callable, optional
        Name -> ``f(patient)`` called after the course and responses are known to this
        process (read them with :func:`course` / :func:`course_response` /
        :func:`daily_table`, ``fresh=True``); each result is stored under the same
        revision with the same name as :func:`per_revision` would use.
    claimed : str, optional
        The revision :func:`claim_derivation` marked in the write's transaction: the
        mark is removed when done (also when nothing is stored).

    Returns
    -------
    dict of str to object or None
        Name -> value of everything stored (``course``, ``response`` and the ``extra``
        names); None when another write came after ``claimed`` or the stored data do not
        validate (then nothing is stored and the pages show the problems).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> out = derive_after_write(p, {"days": lambda q: len(course(q, fresh=True)["daily"])})
    >>> sorted(out), out["days"]
    (['course', 'days', 'response'], 1)
    >>> p.refresh_from_db()
    >>> stored_values([p], "days") == {p.pk: 1}
    True
    """
    from django.core.cache import caches

    from remission.web.models import Patient

    if claimed is not None and patient.revision == claimed and \
            _current_inputs(patient) is not None:
        # the patient as its write left it, with the inputs of that revision known here
        # (inputs_after_save): nothing to read; the values are those of ``claimed``
        p = patient
    else:
        p = Patient.objects.select_related("study").filter(pk=patient.pk).first()
    if p is None:
        return None
    if claimed is None:
        return _derive_now(p, extra)
    if claimed != p.revision:  # another write landed after this one: its own call derives
        caches[SHARED_CACHE].delete(_key(p, claimed, "course") + ":lock")
        return None
    lock = _key(p, claimed, "course") + ":lock"
    released = []
    try:
        return _derive_now(p, extra, lock, released)
    finally:
        if not released:  # nothing stored (or an error): the mark goes on its own
            caches[SHARED_CACHE].delete(lock)


def _derive_now(p, extra, lock: str | None = None,
                released: list | None = None) -> dict[str, object] | None:
    from django.core.cache import caches

    derived: dict[str, object] = {}  # a response derived now, under its inputs' key
    try:
        inp = _inputs(p, fresh=True)
        if inp.added is not None:  # a save's rows, for the other processes (_inputs)
            derived[_key(p, p.revision, "added")] = inp.added
        out = _course(inp, p)
        values: dict[str, object] = {"course": out, "response": _response(out, p, derived)}
    except InputError:
        return None
    keys = {name: _key(p, p.revision, name) for name in values}
    for name, value in values.items():
        _remember(keys[name], value)
    try:
        for name, f in (extra or {}).items():
            values[name] = f(p)
            keys[name] = _key(p, p.revision, name)
    except InputError:
        return None
    # stored under the revision read before the data (another write may have landed
    # since: the values are then of data at least as new, and readers of the new
    # revision do not see them), so that whoever waits for this revision gets a value
    # one statement (two on SQLite: the lock's removal follows the values)
    failed = caches[SHARED_CACHE].set_many(
        {**derived, **{keys[n]: v for n, v in values.items()}}, timeout=None,
        delete=() if lock is None else (lock,))
    if released is not None and not failed:
        released.append(1)
    for name, value in values.items():
        _remember(keys[name], value)
    return values


def _courses_together(patients) -> dict[int, dict[str, pd.DataFrame]]:
    """:func:`_course` of several patients of one study in one grading."""
    from remission.derive.criteria import assess_response, grade_all, summarise_response
    from remission.derive.criteria.infusions import infusion_days

    study = patients[0].study
    cfg = study_config(study)
    systems = resolve_systems(dict(cfg.criteria), cfg.disease)
    res: dict[int, dict[str, pd.DataFrame]] = {}
    parts = []
    inps = [_inputs(p, fresh=True, convert=False) for p in patients]
    _convert_together(inps)
    for p, inp in zip(patients, inps, strict=True):
        obs, pts, tx, ev = _frames(inp, None, None, False)
        if obs.empty:
            res[p.pk] = {}
            continue
        canon = _canonical(obs, inp)
        if inp.infusions is None:
            inp.infusions = infusion_days(pts["patient_id"].astype(str), tx, ev,
                                          tuple(cfg.products))
        parts.append((p, inp.patient_id, canon, pts, tx, ev, inp.infusions))
    if not parts:
        return res
    cat = ("patient_id", "variable", "category", "unit")
    canon = pd.concat([x[2].astype({c: object for c in cat if c in x[2]}) for x in parts],
                      ignore_index=True)
    canon = canon.astype({c: "category" for c in cat if c in canon})
    pts, tx, ev, inf = (pd.concat([x[i] for x in parts], ignore_index=True)
                        for i in (3, 4, 5, 6))
    graded = grade_all(canon, patients=pts, treatments=tx, events=ev, crs=systems.crs,
                       neurotoxicity=systems.neurotoxicity, response=None,
                       lln=cfg.lln or None, products=tuple(cfg.products), summaries=False,
                       infusions=inf)
    if systems.response is not None:
        graded["response_assessments"] = assess_response(graded["daily"], systems.response)
        graded["response"] = summarise_response(
            graded["response_assessments"], graded["daily"], cfg.assessment_day,
            patients=[x[1] for x in parts], system=systems.response)
    ids = {name: (tab["patient_id"].astype(str).to_numpy()
                  if isinstance(tab, pd.DataFrame) and "patient_id" in tab.columns else None)
           for name, tab in graded.items()}
    for p, pid, *_ in parts:
        mine: dict = {}
        for name, tab in graded.items():
            if ids[name] is None:
                mine[name] = tab.copy()
            else:
                mine[name] = tab[ids[name] == pid].reset_index(drop=True)
        mine["systems"] = systems
        res[p.pk] = mine
    return res


def _course(inp: _Inputs, patient) -> dict[str, pd.DataFrame]:
    return _grade(inp, patient, None, None, False)


#: the tables of :func:`course_response`
_RESPONSE_TABLES = ("response_assessments", "response")


def _response(out: dict, patient, new: dict | None = None) -> dict[str, pd.DataFrame]:
    """The study's response system on a course (:func:`course_response`), reused when a
    response of the same inputs was derived before (:func:`_response_key`: a bedside
    save of vital signs leaves them unchanged): from this process, else from the shared
    cache (one read). A response derived here is added to ``new`` (key -> value) for the
    caller to store with its own write."""
    from django.core.cache import caches

    from remission.derive.criteria import assess_response, summarise_response

    if not out:
        return {}
    system = out["systems"].response
    if system is None:
        return {}
    cfg = study_config(patient.study)
    ck = _response_key(patient, out["daily"], system, cfg.assessment_day)
    with _CACHE_LOCK:
        if ck in _LOCAL:
            _LOCAL.move_to_end(ck)
            return _LOCAL[ck]
    value = caches[SHARED_CACHE].get(ck)
    if value is None:
        ra = assess_response(out["daily"], system)
        value = {"response_assessments": ra,
                 "response": summarise_response(ra, out["daily"], cfg.assessment_day,
                                                patients=[patient.patient_id],
                                                system=system)}
        if new is not None:
            new[ck] = value
    _remember(ck, value)
    return value


def _response_key(patient, daily: pd.DataFrame, system: str, landmark_day) -> str:
    """The shared cache's key of the response of these inputs: a digest of everything
    :func:`_response` passes the response engine, namely the system, the landmark day,
    the patient's id and, of the daily table, the columns the engine reads
    (:data:`~remission.derive.criteria.response.RESPONSE_VARIABLES`: their names, types
    and values, with ``patient_id`` and ``day``) on the rows where one of them is
    recorded (the engine reads no other row). A column without any value is left out:
    the engine reads it as it reads an absent column, and a grading of several patients
    together (:func:`courses`) gives each patient the columns of all. Equal keys give
    equal responses (tested for a save of every vocabulary variable, and for the first
    save of every patient after the dashboard graded them together, in
    tests/web/test_response_reuse.py)."""
    from remission.derive.criteria.response import RESPONSE_VARIABLES

    # each column's array read once (a frame of the columns is not built)
    arrays = {c: daily[c] for c in ("patient_id", "day", *RESPONSE_VARIABLES)
              if c in daily.columns}
    rows = np.zeros(len(daily), dtype=bool)
    cols = []
    for c in RESPONSE_VARIABLES:
        if c in arrays:
            seen = pd.notna(arrays[c].to_numpy())
            if seen.any():
                cols.append(c)
                rows |= seen
    read = ["patient_id", "day", *cols]
    h = hashlib.sha256(repr((system, landmark_day, patient.patient_id, read,
                             [repr(arrays[c].dtype) for c in read],
                             int(rows.sum()))).encode("utf-8"))
    for c in read:
        arr = arrays[c].to_numpy()[rows]
        if arr.dtype.kind in "biuf":
            h.update(np.ascontiguousarray(arr).tobytes())
        else:
            h.update(repr(arr.tolist()).encode("utf-8"))
    return _key(patient, h.hexdigest()[:40], "response-inputs")


def assessed_days(patient, fresh: bool = False) -> tuple[dict, dict, frozenset]:
    """The patient's derived grades on the days each syndrome was assessed, as the patient
    page, the timeline and the cohort dashboard count them: a day without any reading of
    a system's variables (:data:`~remission.analyses.raw.CRS_VARIABLES`,
    :data:`~remission.analyses.raw.NEURO_VARIABLES`) is "not assessed" unless graded 5
    (death attributed to the syndrome). The one place of that rule: :func:`daily_table`
    lays these grades out by day, and the dashboard's counts
    (:func:`remission.web.summaries.after_write`) take their maxima without the table.

    Read from the patient's :func:`course` once per revision in each server process.

    Parameters
    ----------
    patient : Patient
        A stored patient.
    fresh : bool, default False
        ``patient`` was read from the database in this request.

    Returns
    -------
    tuple
        ``(crs, neuro, crs_days)``: day -> (grade, deciding rule, "" for grade 0) of the
        CRS and neurotoxicity systems on their assessed days, and the days with a CRS
        reading; shared, callers never change them.

    Raises
    ------
    remission.errors.InputError
        When the stored data no longer validate.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> assessed_days(p)
    ({1: (1, 'fever')}, {}, frozenset({1}))
    """
    return per_revision(patient, "assessed", lambda: _assessed(course(patient, fresh)),
                        fresh, shared=False, lock=False)


def _assessed(out: dict) -> tuple[dict, dict, frozenset]:
    """:func:`assessed_days` of a course (its daily, CRS and neurotoxicity tables)."""
    if not out:
        return {}, {}, frozenset()
    daily = out["daily"]
    on = daily["day"].tolist()

    def seen(variables) -> set:
        """Days with a reading of one of ``variables`` (each column's array read once:
        a frame of the columns is not built)."""
        cols = [c for c in variables if c in daily.columns]
        if not cols:
            return set()
        any_ = np.zeros(len(on), dtype=bool)
        for c in cols:
            any_ |= pd.notna(daily[c].to_numpy())
        return {d for d, x in zip(on, any_.tolist(), strict=True) if x}

    def graded(tab, days: set) -> dict:
        """day -> (grade, rule) on the assessed days (``days``) and the days graded 5."""
        got = {}
        for d, g, rule in zip(tab["day"].tolist(), tab["grade"].tolist(),
                              tab["decided_by"].tolist(), strict=True):
            g = int(g)
            if d in days or g == 5:
                got[d] = (g, str(rule) if g else "")
        return got

    crs_days = seen(CRS_VARIABLES)
    return (graded(out["crs_daily"], crs_days), graded(out["neuro_daily"],
                                                       seen(NEURO_VARIABLES)),
            frozenset(crs_days))


def _daily_table(patient, fresh: bool = False) -> pd.DataFrame:
    rows = daily_rows(patient, fresh)
    if rows is None:
        return pd.DataFrame(columns=["day", "crs", "crs_rule", "neuro", "neuro_rule"])
    return pd.DataFrame(rows)


def _daily_rows(patient, fresh: bool = False) -> list[dict] | None:
    """:func:`daily_rows` laid out from the patient's course and recorded grades."""
    from remission.web.records import kept_recorded_grades

    out = course(patient, fresh=fresh)
    # one grade per patient-day (RecordedGrade's constraint): the inputs' own copy when
    # this process holds them (kept across a bedside save by inputs_after_save), else the
    # revision's records when a page has read them in this process (one statement for
    # all of them), else the recorded grades alone
    inp = _current_inputs(patient) if fresh else None
    rec = inp.recorded if inp is not None else None
    if rec is None and fresh:
        rec = kept_recorded_grades(patient)
    if rec is None:
        rec = _recorded(inp, patient) if inp is not None else {
            day: (c, n) for day, c, n in patient.recorded_grades.active().values_list(
                "day", "crs_grade", "neuro_grade")}
    if not out:
        return None
    daily, crs, ntx = out["daily"], out["crs_daily"], out["neuro_daily"]
    days = sorted(set(daily["day"].tolist()) | set(crs["day"].tolist())
                  | set(ntx["day"].tolist()))
    # (kept per revision when ``patient``'s revision is the one read: the dashboard's
    # counts of a save read them)
    cg, ng, _ = assessed_days(patient, True) if fresh else _assessed(out)
    rows = []
    for d in days:
        r = rec.get(int(d))
        c, n = cg.get(d, (None, "")), ng.get(d, (None, ""))
        rows.append({"day": int(d), "crs": c[0], "crs_rule": c[1], "neuro": n[0],
                     "neuro_rule": n[1],
                     "crs_recorded": None if r is None else r[0],
                     "neuro_recorded": None if r is None else r[1]})
    return rows
