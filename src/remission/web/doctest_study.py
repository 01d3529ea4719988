"""The small stored studies that the Examples of remission web's docstrings build.

The web functions that read or write stored studies (grading, timeline, dashboard,
exports) show in their Examples what they return for a study created through the ORM in a
rolled-back transaction of the test database (``conftest.py``). Most of them start from
the same one: a CAR-T study of AML with one patient whose temperature was 39.2 °C on day 1
(CRS grade 1 by fever). It is written once here, so every Example starts from the same data
and says what it shows, not how the study is built.
"""

from __future__ import annotations

from remission.web.models import Observation, Patient, Study

#: study.toml of the demo study: AML, one CAR-T product infused on day 0
DEMO_TOML = """\
[study]
name = "Demo"
disease = "AML"
products = ["CAR-T"]
day0 = "CAR-T infusion"
"""


def demo_study() -> Study:
    """A new stored study ``demo`` with :data:`DEMO_TOML` and no patient.

    Returns
    -------
    Study
        Code ``demo``, name ``Demo``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> study = demo_study()
    >>> study.code, study.toml.splitlines()[2], study.patients.count()
    ('demo', 'disease = "AML"', 0)
    """
    return Study.objects.create(code="demo", name="Demo", toml=DEMO_TOML)


def fever_study() -> tuple[Study, Patient]:
    """:func:`demo_study` with one patient, ``P01``, whose temperature was 39.2 °C on day 1
    (the only observation; patients.csv line 2, observations.csv line 2).

    Returns
    -------
    tuple of (Study, Patient)
        The study and its patient.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):

    >>> study, p = fever_study()
    >>> p.patient_id, [(o.day, o.variable, o.value, o.unit) for o in p.observations.all()]
    ('P01', [(1, 'temperature', '39.2', '°C')])
    """
    study = demo_study()
    p = Patient.objects.create(study=study, patient_id="P01", line=2)
    Observation.objects.create(patient=p, day=1, variable="temperature", value="39.2",
                               unit="°C", line=2)
    return study, p
