"""Forms. Values are checked by the study-folder validator (:func:`remission.study.check_rows`):
a form accepts a value exactly when ``remission validate`` would accept it in the file, and
each problem is shown on its field. Changing an existing record needs a reason."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from django import forms

from remission.derive.criteria.run import ATTRIBUTABLE
from remission.errors import Problem
from remission.study import check_rows
from remission.study.schema import PATIENTS
from remission.vocab.vocabulary import VOCABULARY
from remission.web.models import EVENT_CHOICES, TREATMENT_ROLES

#: Bedside page fields, in the order a nurse reads them: (section, variables)
BEDSIDE_SECTIONS = (
    ("Vital signs and organ support (CRS)",
     ("temperature", "sbp", "hypotension", "norepinephrine", "epinephrine", "phenylephrine",
      "dopamine", "vasopressin", "oxygen_device", "oxygen_flow", "fio2")),
    ("Neurological assessment (ICANS)",
     ("ice_score", "capd_score", "cartox10_score", "consciousness", "seizure",
      "motor_weakness", "icp_finding", "papilloedema_stage", "csf_opening_pressure")),
    ("Laboratory",
     ("anc", "platelets", "hemoglobin", "wbc", "lymphocytes", "crp", "ferritin", "il6",
      "car_copies")),
)
BEDSIDE_VARIABLES = tuple(v for _, vs in BEDSIDE_SECTIONS for v in vs)
#: bedside readings a site may attribute to another cause (observations.csv
#: ``attributed_to``; the criteria engine's list,
#: :data:`remission.derive.criteria.run.ATTRIBUTABLE`)
ATTRIBUTABLE_BEDSIDE = tuple(v for v in BEDSIDE_VARIABLES
                             if v in ATTRIBUTABLE["crs"] + ATTRIBUTABLE["neuro"])


def _attribution_field(variable: str) -> str:
    """Name of the bedside form field holding the cause a reading is attributed to."""
    return f"{variable}__attributed_to"


def problems_to_form(form: forms.Form, problems: list[Problem], fields: dict[str, str]) -> None:
    """Attach each problem to the form field of its column (else to the whole form).

    Parameters
    ----------
    form : django.forms.Form
        A bound form; the problems become its errors (``form.is_valid()`` is then False).
    problems : list of Problem
        Problems of the study validator (:func:`remission.study.check_rows`).
    fields : dict of str to str
        Problem column -> form field; a column not mapped to a field of the form gives a
        form-wide error.

    Returns
    -------
    None

    Examples
    --------
    >>> form = QueryForm(data={"day": "3", "text": "Fever on day 3?"})
    >>> form.is_valid()
    True
    >>> problems_to_form(form, [Problem("events.csv", "too late", column="day",
    ...                                 expected="a day <= 30"),
    ...                         Problem("events.csv", "death recorded twice")], {"day": "day"})
    >>> form.is_valid(), dict(form.errors)
    (False, {'day': ['too late; expected a day <= 30'], '__all__': ['death recorded twice']})
    """
    for p in problems:
        msg = p.message + (f"; expected {p.expected}" if p.expected else "")
        field = fields.get(p.column or "")
        form.add_error(field if field in form.fields else None, msg)


class ReasonMixin(forms.Form):
    reason = forms.CharField(label="Reason for change", required=False, max_length=500,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def require_reason(self, editing: bool) -> str:
        r = (self.cleaned_data.get("reason") or "").strip()
        if editing and not r:
            self.add_error("reason", "a reason for the change is required")
        return r


def _label(v: str) -> str:
    var = VOCABULARY[v]
    unit = f" ({var.unit})" if var.unit and var.kind != "categorical" else ""
    return var.description[0].upper() + var.description[1:] + unit


@lru_cache(maxsize=1)
def _bedside_fields() -> dict[str, forms.Field]:
    """The bedside form's reading, attribution and recorded-grade fields, in page order,
    built once per process: the vocabulary they come from does not change, and a form
    never changes its fields (its data, errors and bound fields are its own), so every
    :class:`BedsideForm` shares them instead of building (or deep-copying) 45 fields and
    their widgets per request."""
    fields: dict[str, forms.Field] = {}
    for v in BEDSIDE_VARIABLES:
        var = VOCABULARY[v]
        if var.kind == "categorical":
            fields[v] = forms.ChoiceField(
                label=_label(v), required=False,
                choices=[("", "—")] + [(lv, lv.replace("_", " ")) for lv in var.levels])
        else:
            fields[v] = forms.CharField(
                label=_label(v), required=False, max_length=20,
                widget=forms.TextInput(attrs={"inputmode": "decimal",
                                              "autocomplete": "off"}))
    for v in ATTRIBUTABLE_BEDSIDE:
        fields[_attribution_field(v)] = forms.CharField(
            label=f"{v.replace('_', ' ')} attributed to (cause)", required=False,
            max_length=200,
            widget=forms.TextInput(attrs={"autocomplete": "off",
                                          "placeholder": "e.g. infection"}))
    fields["crs_recorded"] = forms.TypedChoiceField(
        label="CRS grade recorded by the clinician", required=False, coerce=int,
        empty_value=None, choices=[("", "—")] + [(str(g), str(g)) for g in range(6)])
    fields["neuro_recorded"] = forms.TypedChoiceField(
        label="ICANS grade recorded by the clinician", required=False, coerce=int,
        empty_value=None, choices=[("", "—")] + [(str(g), str(g)) for g in range(6)])
    return fields


class BedsideForm(ReasonMixin):
    """New readings of one patient-day (blank fields are not recorded)."""

    time = forms.CharField(label="Time of readings (HH:MM, 24 h)", required=False, max_length=5,
                           widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                         "placeholder": "HH:MM"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the reading fields (shared, never changed: _bedside_fields), the reason last
        reason = self.fields.pop("reason")
        self.fields.update(_bedside_fields())
        self.fields["reason"] = reason

    def sections(self):
        return [(title, [self[v] for v in vs]) for title, vs in BEDSIDE_SECTIONS]

    def attributions(self):
        """The attribution fields (one per attributable reading)."""
        return [self[_attribution_field(v)] for v in ATTRIBUTABLE_BEDSIDE]

    def clean(self):
        cleaned = super().clean()
        for v in ATTRIBUTABLE_BEDSIDE:
            cause = str(self.data.get(_attribution_field(v), "") or "").strip()
            if cause and not str(self.data.get(v, "") or "").strip():
                self.add_error(_attribution_field(v), f"an attribution needs a {v} reading "
                               "entered with it")
        return cleaned

    def new_rows(self) -> list[dict[str, str]]:
        """The typed readings as observations.csv rows (canonical units):
        :func:`typed_rows` of the form's data."""
        return typed_rows(self.data)


def typed_rows(data) -> list[dict[str, str]]:
    """The readings typed in a bedside form's data as observations.csv rows (canonical
    units; blank fields are not recorded), without building the form: what the live grade
    reads of a request (:meth:`BedsideForm.new_rows` of the same data).

    Parameters
    ----------
    data : mapping of str to str
        The form's data (``request.POST``): ``time``, one field per bedside variable and
        the attribution fields.

    Returns
    -------
    list of dict of str to str
        One row per typed reading: ``variable, value, unit, time`` (and ``attributed_to``).

    Examples
    --------
    >>> typed_rows({"time": " 08:00", "temperature": "38.6", "sbp": "",
    ...             "temperature__attributed_to": "infection"})
    [{'variable': 'temperature', 'value': '38.6', 'unit': '°C', 'time': '08:00', \
'attributed_to': 'infection'}]
    """
    time = str(data.get("time", "") or "").strip()
    rows = []
    for v in BEDSIDE_VARIABLES:
        val = str(data.get(v, "") or "").strip()
        if val:
            var = VOCABULARY[v]
            unit = "category" if var.kind == "categorical" else var.unit
            row = {"variable": v, "value": val, "unit": unit, "time": time}
            cause = str(data.get(_attribution_field(v), "") or "").strip()
            if cause and v in ATTRIBUTABLE_BEDSIDE:
                row["attributed_to"] = cause
            rows.append(row)
    return rows


def check_day_rows(patient_id: str, day: int, rows: list[dict[str, str]]) -> list[Problem]:
    """Problems of a day's observation rows under the study validator (vocabulary, units,
    ranges, duplicated readings), one entry per row.

    The validator's answer depends on the rows' cells only, so it is kept for the last
    :data:`CHECKED_DAYS` distinct (patient, day, rows) in each process: the live grading
    sends the same form twice when a typed field loses focus (htmx ``input`` then
    ``change``), and a stored day's rows are checked again only when they change.

    Parameters
    ----------
    patient_id : str
        The patient's study ID.
    day : int
        Day relative to the first infusion.
    rows : list of dict of str to str
        The day's readings: ``variable``, ``value`` and optionally ``unit``, ``time`` and
        other observations.csv columns (``attributed_to``...).

    Returns
    -------
    list of Problem
        Empty when ``remission validate`` would accept the rows in observations.csv;
        ``row`` is 2 + the row's position (the line it would have in the file).

    Examples
    --------
    >>> rows = [{"variable": "temperature", "value": "38.5", "unit": "C", "time": "08:00"}]
    >>> check_day_rows("P01", 1, rows)
    []
    >>> rows += [{"variable": "temperature", "value": "58", "unit": "C", "time": "09:00"},
    ...          {"variable": "temprature", "value": "38", "unit": "C", "time": "10:00"}]
    >>> [(p.row, p.column, p.message) for p in check_day_rows("P01", 1, rows)]
    [(3, 'value', 'temperature value out of plausible range'), (4, 'variable', \
'unknown variable')]
    """
    if not rows:
        return []
    key = (patient_id, day, tuple(tuple(r.items()) for r in rows))
    try:
        hash(key)
    except TypeError:  # a cell that is not hashable: checked without the memo
        return list(_check_day_rows(key))
    return list(_checked_day_rows(key))


#: distinct (patient, day, rows) whose validator answer each process keeps
CHECKED_DAYS = 4096


def _check_day_rows(key: tuple) -> tuple[Problem, ...]:
    _, problems = check_rows("observations", _day_rows_frame(key), typed=False)
    return tuple(problems)


_OBS_FIRST = ("time", "variable", "value", "unit")


def _day_rows_frame(key: tuple) -> pd.DataFrame:
    """observations.csv rows of ``key`` = (patient_id, day, rows) as the validator reads
    them: columns ``patient_id, day, time, variable, value, unit`` then the rows' other
    columns in order of first appearance, a missing cell ``""``, index ``line`` from 2.

    The text cells a form gives are gathered column by column and the frame built once;
    any other cell (a number, None...) takes the general construction (records, then
    missing cells filled with ``""``), whose typing of such cells the validator sees."""
    patient_id, day, rows = key
    recs = [{"patient_id": patient_id, "day": str(day), "time": r.get("time", ""),
             "variable": r["variable"], "value": r["value"], "unit": r.get("unit", ""),
             **{k: v for k, v in r.items() if k not in _OBS_FIRST}}
            for r in map(dict, rows)]
    index = pd.RangeIndex(2, 2 + len(recs), name="line")
    names = list(dict.fromkeys(k for r in recs for k in r))
    if recs and all(type(v) is str for r in recs for v in r.values()):
        cols = {k: np.array([r.get(k, "") for r in recs], dtype=object) for k in names}
        return pd.DataFrame(cols, index=index, copy=False)
    df = pd.DataFrame(recs).fillna("")
    df.index = index
    return df


_checked_day_rows = lru_cache(maxsize=CHECKED_DAYS)(_check_day_rows)


class PatientForm(ReasonMixin):
    """patients.csv columns (the study's own extra columns too)."""

    def __init__(self, *args, columns: list[str] | None = None, initial_data=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = [c.name for c in PATIENTS]
        for c in columns or []:
            if c not in self.columns:
                self.columns.append(c)
        spec = {c.name: c for c in PATIENTS}
        for name in self.columns:
            c = spec.get(name)
            help_ = ""
            if c is not None:
                help_ = ", ".join(x for x in (c.unit, c.description,
                                              ("one of " + ", ".join(c.allowed))
                                              if c.allowed else "") if x)
            self.fields[name] = forms.CharField(
                label=name.replace("_", " "), required=name == "patient_id", max_length=200,
                help_text=help_)
            if initial_data and name in initial_data:
                self.fields[name].initial = initial_data[name]
        self.fields["reason"] = self.fields.pop("reason")

    def row(self) -> dict[str, str]:
        return {c: str(self.cleaned_data.get(c) or "").strip() for c in self.columns}


class TreatmentForm(ReasonMixin):
    agent = forms.CharField(max_length=200, label="Agent or procedure")
    role = forms.ChoiceField(choices=TREATMENT_ROLES, required=False)
    start_day = forms.CharField(max_length=8, label="Start day (day 0 = infusion)")
    time = forms.CharField(max_length=5, required=False, label="Time (HH:MM)")
    end_day = forms.CharField(max_length=8, required=False, label="End day")
    dose = forms.CharField(max_length=40, required=False)
    dose_unit = forms.CharField(max_length=40, required=False, label="Dose unit")
    route = forms.CharField(max_length=40, required=False)
    table = "treatments"


class InfusionForm(ReasonMixin):
    agent = forms.CharField(max_length=200, label="Product")
    start_day = forms.CharField(max_length=8, initial="0", label="Day (0 = infusion day)")
    time = forms.CharField(max_length=5, required=False, label="Time (HH:MM)")
    dose = forms.CharField(max_length=40, required=False, label="Dose")
    dose_unit = forms.CharField(max_length=40, required=False, initial="cells/kg",
                                label="Dose unit")
    table = "treatments"


class AdverseEventForm(ReasonMixin):
    term = forms.CharField(max_length=200, label="CTCAE v5.0 term",
                           widget=forms.TextInput(attrs={"list": "ctcae-terms",
                                                         "autocomplete": "off"}))
    grade = forms.CharField(max_length=2)
    onset_day = forms.CharField(max_length=8, label="Onset day")
    end_day = forms.CharField(max_length=8, required=False, label="End day")
    serious = forms.ChoiceField(choices=[("", "—"), ("Yes", "Yes"), ("No", "No")],
                                required=False)
    attribution = forms.CharField(max_length=60, required=False)
    table = "adverse_events"


class EventForm(ReasonMixin):
    day = forms.CharField(max_length=8)
    event = forms.ChoiceField(choices=EVENT_CHOICES)
    value = forms.CharField(max_length=200, required=False,
                            help_text="response category, or cause of death")
    detail = forms.CharField(max_length=300, required=False)
    table = "events"


class ObservationEditForm(ReasonMixin):
    time = forms.CharField(max_length=5, required=False, label="Time (HH:MM)")
    value = forms.CharField(max_length=60)
    unit = forms.CharField(max_length=30, required=False)
    attributed_to = forms.CharField(
        max_length=200, required=False, label="Attributed to another cause",
        help_text="left out of CRS/ICANS grading (ASTCT 2019: not attributable to any "
                  "other cause); blank = not attributed")


class RetireForm(forms.Form):
    reason = forms.CharField(label="Reason for retiring the record", max_length=500)


class SignOffForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have reviewed the recorded data and the derived CRS and neurotoxicity "
              "grades of this patient and confirm them.")


class QueryForm(forms.Form):
    day = forms.IntegerField(required=False)
    text = forms.CharField(label="Query", widget=forms.Textarea(attrs={"rows": 2}),
                           max_length=2000)


class AnswerForm(forms.Form):
    answer = forms.CharField(label="Answer", widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=2000)
    close = forms.BooleanField(required=False, label="Close the query")


class ImportForm(forms.Form):
    archive = forms.FileField(label="Study folder as a .zip archive")
    code = forms.SlugField(required=False, label="Study code (default: folder name)")
