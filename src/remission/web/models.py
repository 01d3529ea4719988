"""Database models of remission web.

The clinical tables mirror the study folder (docs/study-format.md) one to one, so a study
exports to a folder the command line reads unchanged and imports without loss: known
columns are fields, any other column of the source file is kept as text in ``extra``,
``line`` keeps the row order of the exported file. Values are stored as the text a user
typed or a file held (``"5e5"`` stays ``"5e5"``); the study validator types them.

Audit trail: every clinical model keeps a django-simple-history table (who, when, old and
new values). A change of an existing record needs a reason (``_change_reason``); clinical
records are never deleted, they are retired with a reason. Historical rows cannot be
changed or deleted (a ``pre_save``/``pre_delete`` guard refuses).
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.signals import post_save, pre_delete, pre_save
from simple_history.models import HistoricalRecords

from remission.study.schema import TREATMENTS

ROLES = (
    ("admin", "Study administrator"),
    ("investigator", "Investigator"),
    ("data_entry", "Data entry"),
    ("monitor", "Monitor (read-only, queries)"),
    ("statistician", "Statistician (export)"),
)

#: treatments.csv ``role`` values: the study schema's list (one place), blank allowed
TREATMENT_ROLES = (("", "—"), *(
    (r, r.replace("_", " ")) for r in next(c for c in TREATMENTS if c.name == "role").allowed))

EVENT_CHOICES = tuple((e, e.replace("_", " ")) for e in (
    "response_assessment", "relapse", "progression", "transplant", "stem_cell_boost",
    "death", "last_contact"))


class ReasonRequired(ValueError):
    """A change of an existing clinical record was attempted without a reason."""


class NotDeletable(PermissionError):
    """Clinical records and the audit trail are never deleted."""


class ClinicalQuerySet(models.QuerySet):
    def delete(self):
        raise NotDeletable("clinical records are retired with a reason, never deleted")

    def update(self, **kwargs) -> int:
        """A bulk change is a write too: the patients concerned get a new revision."""
        if self.model is Patient:
            return super().update(**{"revision": new_revision(), **kwargs})
        pks = set(self.values_list("patient_id", flat=True))
        n = super().update(**kwargs)
        if pks:
            Patient.objects.filter(pk__in=pks).update(revision=new_revision())
        return n

    def active(self) -> ClinicalQuerySet:
        """Records not retired."""
        return self.filter(retired=False)


class Study(models.Model):
    """A study: its study.toml verbatim plus the column order of each exported table."""

    code = models.SlugField(max_length=80, unique=True, help_text="folder name on export")
    name = models.CharField(max_length=300)
    toml = models.TextField(help_text="study.toml as written")
    columns = models.JSONField(default=dict, blank=True,
                               help_text="table name -> column order of its file")
    created = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StudyFile(models.Model):
    """Any other file of the study folder (claims.toml, README.md, published AE table...)."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="files")
    path = models.CharField(max_length=300)
    content = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "path"], name="uniq_file")]


class Membership(models.Model):
    """A user's role in one study; object-level checks go through this table only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=ROLES)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "study"], name="one_role")]


class UserSession(AbstractBaseSession):
    """A server-side session (Django's session table) with the signed-in user's key.

    ``user`` repeats the user key of the signed session data (``_auth_user_id``) and is
    written from it at every save of the session (:mod:`remission.web.identity`), so the
    session and its user are read with one statement. It decides nothing: the user is used
    only when its key equals the one in the session data, whose hash of the password
    ``django.contrib.auth.get_user`` still checks. A deleted user's sessions are deleted.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")

    @classmethod
    def get_session_store_class(cls):
        from remission.web.identity import SessionStore

        return SessionStore


class Clinical(models.Model):
    """Base of every clinical record: retire-not-delete, row order, extra columns."""

    retired = models.BooleanField(default=False)
    retire_reason = models.TextField(blank=True, default="")
    line = models.IntegerField(default=0, help_text="row order in the exported file")
    extra = models.JSONField(default=dict, blank=True,
                             help_text="other columns of the source file, as text")

    objects = ClinicalQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        reason = (getattr(self, "_change_reason", None) or "").strip()
        if self.pk is not None and not reason:
            raise ReasonRequired(f"a reason is required to change {self._meta.verbose_name}")
        if self.pk is None and not reason:
            self._change_reason = "initial entry"
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise NotDeletable("clinical records are retired with a reason, never deleted")

    def retire(self, reason: str, user=None) -> None:
        """Retire the record (kept, hidden from analyses) with a mandatory reason."""
        reason = (reason or "").strip()
        if not reason:
            raise ReasonRequired("a reason is required to retire a record")
        self.retired = True
        self.retire_reason = reason
        self._change_reason = f"retired: {reason}"
        if user is not None:
            self._history_user = user
        self.save()


def new_revision() -> str:
    """A fresh revision token (random, so never reused even after a rolled-back write).

    Returns
    -------
    str
        32 lower-case hexadecimal characters (a UUID4).

    Examples
    --------
    >>> r = new_revision()
    >>> len(r), set(r) <= set("0123456789abcdef"), r == new_revision()
    (32, True, False)
    """
    return uuid.uuid4().hex


class Patient(Clinical):
    """One row of patients.csv: ``data`` holds every other column as text.

    ``revision`` changes with every write to the patient's clinical data (the patient row
    and every record that points to it; see :func:`bump_revision`): caches of derived
    values (:mod:`remission.web.grading`) are keyed by it, so they are valid in every
    server process without any message between processes. It is not clinical data and is
    left out of the audit trail.
    """

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="patients")
    patient_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    revision = models.CharField(max_length=32, default=new_revision, editable=False)
    history = HistoricalRecords(excluded_fields=["revision"])

    def save(self, *args, **kwargs) -> None:
        self.revision = new_revision()
        super().save(*args, **kwargs)

    class Meta:
        ordering = ["line", "id"]
        constraints = [models.UniqueConstraint(fields=["study", "patient_id"],
                                               name="uniq_patient")]

    def __str__(self) -> str:
        return self.patient_id


class Treatment(Clinical):
    """One row of treatments.csv (drug or procedure) with its role and time."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatments")
    agent = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=TREATMENT_ROLES, blank=True, default="")
    start_day = models.IntegerField()
    end_day = models.IntegerField(null=True, blank=True)
    time = models.CharField(max_length=5, blank=True, default="", help_text="HH:MM")
    dose = models.CharField(max_length=40, blank=True, default="")
    dose_unit = models.CharField(max_length=40, blank=True, default="")
    route = models.CharField(max_length=40, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["start_day", "line", "id"]


class Infusion(Clinical):
    """A cell-product infusion (a treatments.csv row whose agent is a study product or whose
    role is ``infusion``; exported with the role it had, ``infusion`` when entered here)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="infusions")
    product = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=TREATMENT_ROLES, blank=True,
                            default="infusion")
    day = models.IntegerField(default=0)
    end_day = models.IntegerField(null=True, blank=True)
    time = models.CharField(max_length=5, blank=True, default="")
    dose = models.CharField(max_length=40, blank=True, default="")
    dose_unit = models.CharField(max_length=40, blank=True, default="")
    route = models.CharField(max_length=40, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["day", "line", "id"]


class Observation(Clinical):
    """One row of observations.csv: a bedside value or a laboratory result."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="observations")
    day = models.IntegerField()
    time = models.CharField(max_length=5, blank=True, default="")
    variable = models.CharField(max_length=60)
    value = models.CharField(max_length=60)
    unit = models.CharField(max_length=30, blank=True, default="")
    source = models.CharField(max_length=60, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["day", "line", "id"]
        # (patient, line): the study's highest line, read by every bedside save, is the
        # highest of each patient's (one index look-up per patient, no scan)
        indexes = [models.Index(fields=["patient", "day"]),
                   models.Index(fields=["patient", "line"])]


class AdverseEvent(Clinical):
    """One row of adverse_events.csv (CTCAE v5.0 term and grade)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="adverse_events")
    term = models.CharField(max_length=200)
    grade = models.IntegerField()
    onset_day = models.IntegerField()
    end_day = models.IntegerField(null=True, blank=True)
    serious = models.CharField(max_length=10, blank=True, default="")
    attribution = models.CharField(max_length=60, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["onset_day", "line", "id"]


class Event(Clinical):
    """One row of events.csv: response assessment, relapse, transplant, death (cause)..."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="events")
    day = models.IntegerField()
    event = models.CharField(max_length=30, choices=EVENT_CHOICES)
    value = models.CharField(max_length=200, blank=True, default="")
    detail = models.CharField(max_length=300, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["day", "line", "id"]


class RecordedGrade(Clinical):
    """The grade a clinician recorded for a patient-day (compared with the derived one)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT,
                                related_name="recorded_grades")
    day = models.IntegerField()
    crs_grade = models.IntegerField(null=True, blank=True)
    neuro_grade = models.IntegerField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["day", "id"]
        constraints = [models.UniqueConstraint(fields=["patient", "day"], name="one_grade_day")]


class SignOff(models.Model):
    """An investigator's electronic sign-off of a patient's derived CRS/neurotoxicity grades.

    Valid only while the patient's clinical data have the ``fingerprint`` they had when
    signed (:func:`patient_fingerprint`); any change invalidates it.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="signoffs")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    signed_at = models.DateTimeField(auto_now_add=True)
    fingerprint = models.CharField(max_length=64)
    crs_max = models.IntegerField(null=True)
    neuro_max = models.IntegerField(null=True)
    statement = models.TextField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at", "-id"]

    def delete(self, *args, **kwargs):
        raise NotDeletable("sign-offs are part of the audit trail")


class Query(models.Model):
    """A data query a monitor raises on a patient (optionally a day) and a coordinator answers."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="queries")
    day = models.IntegerField(null=True, blank=True)
    text = models.TextField()
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    raised_at = models.DateTimeField(auto_now_add=True)
    answer = models.TextField(blank=True, default="")
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    closed = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["closed", "-raised_at", "-id"]


CLINICAL_MODELS = (Patient, Treatment, Infusion, Observation, AdverseEvent, Event,
                   RecordedGrade)


def patient_fingerprint(patient: Patient) -> str:
    """SHA-256 of a patient's active clinical data (what a sign-off vouches for).

    Parameters
    ----------
    patient : Patient
        A stored patient.

    Returns
    -------
    str
        Hex digest of the patient row and the active observations, treatments, infusions
        and events (retired records and the audit trail are not part of it); any change
        of these gives another fingerprint, so a sign-off shows as outdated.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> study = Study.objects.create(code="demo", name="Demo", toml="")
    >>> p = Patient.objects.create(study=study, patient_id="P01", line=2)
    >>> before = patient_fingerprint(p)
    >>> len(before), patient_fingerprint(p) == before
    (64, True)
    >>> _ = Observation.objects.create(patient=p, day=1, variable="temperature",
    ...                                value="39.2", unit="°C", line=2)
    >>> patient_fingerprint(p) == before
    False
    """
    rows: list = [["patient", patient.patient_id, patient.data]]
    rows += [["obs", o.day, o.time, o.variable, o.value, o.unit]
             for o in patient.observations.active().order_by("day", "time", "variable", "id")]
    rows += [["tx", t.agent, t.role, t.start_day, t.end_day, t.time, t.dose, t.dose_unit]
             for t in patient.treatments.active().order_by("start_day", "id")]
    rows += [["inf", i.product, i.role, i.day, i.dose, i.dose_unit]
             for i in patient.infusions.active().order_by("day", "id")]
    rows += [["ev", e.day, e.event, e.value] for e in patient.events.active().order_by("day", "id")]
    blob = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def bump_revision(patient_pk: int) -> None:
    """Give a patient a new :attr:`Patient.revision` (its derived values must be redone).

    Parameters
    ----------
    patient_pk : int
        Primary key of the patient.

    Returns
    -------
    None

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> study = Study.objects.create(code="demo", name="Demo", toml="")
    >>> p = Patient.objects.create(study=study, patient_id="P01", line=2)
    >>> old = p.revision
    >>> bump_revision(p.pk)
    >>> p.refresh_from_db()
    >>> p.revision != old, len(p.revision)
    (True, 32)
    """
    Patient.objects.filter(pk=patient_pk).update(revision=new_revision())


def create_records(records: list, user=None, *, previous: str | None = None) -> str | None:
    """Create new clinical records of one model: one ``INSERT`` for the records, one for
    their audit-trail rows (django-simple-history's ``bulk_create_with_history``: each
    row keeps who, when, the new values and the record's reason, as a save of each record
    keeps them) and one new :attr:`Patient.revision` of their patient, instead of the
    three statements per record of saving them one by one. Call it inside the write's
    transaction (nothing partial is kept when a later statement fails).

    Parameters
    ----------
    records : list of Clinical
        New (unsaved) records of one model with a ``patient``, all of one patient; a
        record's ``_change_reason`` is its reason (``"initial entry"`` when empty, as
        :meth:`Clinical.save` gives).
    user : django.contrib.auth.models.User, optional
        Who enters them (default: the signed-in user of the request, as a save records).
    previous : str, optional
        The patient's revision as the caller read it: the new revision replaces it in the
        same statement (``UPDATE ... WHERE revision = previous``), which tells whether
        the records were added to exactly that revision's data; when another write came
        in between, a second statement gives the patient its new revision.

    Returns
    -------
    str or None
        The patient's new revision; None when ``records`` is empty, or, with
        ``previous``, when the patient's revision was no longer ``previous`` (it has a
        new revision all the same: read it from the database).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> study = Study.objects.create(code="demo", name="Demo", toml="")
    >>> p = Patient.objects.create(study=study, patient_id="P01", line=2)
    >>> rows = [Observation(patient=p, day=1, variable="temperature", value=v, unit="°C",
    ...                     line=2 + i) for i, v in enumerate(["38.2", "39.0"])]
    >>> rows[1]._change_reason = "bedside entry"
    >>> revision = create_records(rows)
    >>> revision == Patient.objects.get(pk=p.pk).revision
    True
    >>> [(h.value, h.history_type, h.history_change_reason)
    ...  for h in Observation.history.filter(patient_id=p.pk).order_by("line")]
    [('38.2', '+', 'initial entry'), ('39.0', '+', 'bedside entry')]
    >>> one = [Observation(patient=p, day=2, variable="sbp", value="92", unit="mmHg")]
    >>> create_records(one, previous="not-its-revision") is None  # another write came
    True
    """
    from simple_history.utils import bulk_create_with_history

    if not records:
        return None
    model = type(records[0])
    patients = {r.patient_id for r in records}
    if len(patients) != 1 or any(type(r) is not model or r.pk is not None
                                 for r in records):
        raise ValueError("create_records takes new records of one model and one patient")
    for r in records:
        if not (getattr(r, "_change_reason", None) or "").strip():
            r._change_reason = "initial entry"
        if user is not None:
            r._history_user = user
    bulk_create_with_history(records, model)
    revision, pk = new_revision(), patients.pop()
    if previous is not None and \
            Patient.objects.filter(pk=pk, revision=previous).update(revision=revision):
        return revision
    Patient.objects.filter(pk=pk).update(revision=revision)
    return revision if previous is None else None


def _record_written(sender, instance, **kwargs) -> None:
    if sender in _PATIENT_RECORDS and instance.patient_id is not None:
        bump_revision(instance.patient_id)


#: records whose writes change what is derived for their patient (bulk imports create new
#: patients, whose revision is new anyway)
_PATIENT_RECORDS = (Treatment, Infusion, Observation, AdverseEvent, Event, RecordedGrade)


def _historical(sender) -> bool:
    return sender._meta.app_label == "web" and sender.__name__.startswith("Historical")


def _refuse_history_change(sender, instance, **kwargs) -> None:
    if _historical(sender) and instance.pk is not None and \
            sender.objects.filter(pk=instance.pk).exists():
        raise NotDeletable("the audit trail cannot be changed")


def _refuse_history_delete(sender, instance, **kwargs) -> None:
    if _historical(sender):
        raise NotDeletable("the audit trail cannot be deleted")


post_save.connect(_record_written, dispatch_uid="remission-patient-revision")
pre_save.connect(_refuse_history_change, dispatch_uid="remission-history-immutable")
pre_delete.connect(_refuse_history_delete, dispatch_uid="remission-history-undeletable")
