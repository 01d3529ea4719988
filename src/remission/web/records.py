"""A patient's records (infusions, treatments, adverse events, events, recorded grades)
as the pages show them, read in one statement and kept per revision of the patient.

Every write to these records gives the patient a new
:attr:`~remission.web.models.Patient.revision` (a retirement or a correction too), so the
rows read for a revision are the rows of that revision: they are read once per revision
in each server process (:func:`~remission.web.grading.per_revision`, not shared: they are
cheap to read again), together with whatever else the page reads in the same request
(its sign-offs and queries, the audit trail of the readings) in one ``UNION ALL``
statement (:func:`remission.web.together.read_together`).
"""

from __future__ import annotations

from collections.abc import Sequence

from remission.web.grading import kept, per_revision
from remission.web.models import AdverseEvent, Event, Infusion, RecordedGrade, Treatment
from remission.web.together import Selection, instances, read_together

#: name -> model of the records kept per revision (each read whole, retired ones too)
KINDS = {"infusions": Infusion, "treatments": Treatment, "adverse_events": AdverseEvent,
         "events": Event, "recorded_grades": RecordedGrade}


def _columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _order(model) -> list[str]:
    """The model's ``Meta.ordering`` as attribute names (``id`` for ``pk``)."""
    out = []
    for o in model._meta.ordering:
        desc, name = o.startswith("-"), o.lstrip("-")
        name = model._meta.pk.attname if name == "pk" else model._meta.get_field(name).attname
        out.append(("-" if desc else "") + name)
    return out


def selection(model, patient_pk: int, where: str = "", params: Sequence = ()) -> Selection:
    """Every column of ``model``'s rows of one patient (and ``where``), in its
    ``Meta.ordering``.

    Parameters
    ----------
    model : type of django.db.models.Model
        A model with a ``patient`` foreign key.
    patient_pk : int
        The patient.
    where : str
        A further condition in SQL (``AND``-ed), ``%s`` for each of ``params``.
    params : sequence
        Its parameters.

    Returns
    -------
    Selection
        For :func:`~remission.web.together.read_together`.

    Examples
    --------
    >>> from remission.web.models import Event
    >>> s = selection(Event, 7)
    >>> s.where, s.params, s.order
    ('"patient_id" = %s', [7], ['day', 'line', 'id'])
    """
    cond = '"patient_id" = %s' + (f" AND {where}" if where else "")
    return Selection(model, _columns(model), cond, [patient_pk, *params], _order(model))


def patient_records(patient, extra: Sequence[Selection] = ()
                    ) -> tuple[dict[str, list], list[list[tuple]]]:
    """The patient's records of every kind of :data:`KINDS` (retired ones too), and the
    rows of ``extra``, in one statement; the records are kept for the patient's revision
    in this process, so a later call for the same revision reads ``extra`` only (or
    nothing).

    Parameters
    ----------
    patient : Patient
        A patient read from the database in this request (its ``revision`` is current).
    extra : sequence of Selection
        Other rows the caller reads in the same request (not kept).

    Returns
    -------
    (dict of str to list, list of list of tuple)
        Kind -> model instances in the model's ordering (the caller's own), and the rows
        of each of ``extra``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> from remission.web.models import Event, Patient, Study
    >>> p = Patient.objects.create(study=Study.objects.create(code="d", name="D", toml=""),
    ...                            patient_id="P01", line=2)
    >>> _ = Event.objects.create(patient=p, day=28, event="death", line=2)
    >>> p.refresh_from_db()
    >>> recs, _ = patient_records(p)
    >>> [(e.day, e.get_event_display()) for e in recs["events"]], recs["infusions"]
    ([(28, 'death')], [])
    """
    got: list[list[tuple]] | None = None
    names = list(KINDS)

    def read() -> dict[str, list[tuple]]:
        nonlocal got
        rows = read_together([selection(m, patient.pk) for m in KINDS.values()]
                             + list(extra))
        got = rows[len(names):]
        return dict(zip(names, rows[:len(names)], strict=True))

    rows = per_revision(patient, "records", read, fresh=True, shared=False, lock=False)
    if got is None:  # the records were kept: the extra rows alone
        got = read_together(list(extra)) if extra else []
    return ({k: instances(KINDS[k], _columns(KINDS[k]), rows[k]) for k in names}, got)


def kept_recorded_grades(patient) -> dict[int, tuple] | None:
    """day -> (CRS, neurotoxicity) grade recorded (active records) of the patient's
    revision when :func:`patient_records` has kept its records in this process, else None
    (the caller reads them).

    Parameters
    ----------
    patient : Patient
        A patient read from the database in this request.

    Returns
    -------
    dict of int to tuple, or None

    Examples
    --------
    >>> from remission.web.models import Patient, Study
    >>> kept_recorded_grades(Patient(pk=10**6, revision="x", study=Study(toml=""))) is None
    True
    """
    rows = kept(patient, "records")
    if rows is None:
        return None
    cols = _columns(RecordedGrade)
    day, crs, ntx, retired = (cols.index(c) for c in ("day", "crs_grade", "neuro_grade",
                                                        "retired"))
    return {r[day]: (r[crs], r[ntx]) for r in rows["recorded_grades"] if not r[retired]}
