"""Study folder <-> database: import an existing folder, export the current data.

Import validates the whole folder with :func:`remission.study.load_study` first (every
problem at once, nothing saved on failure), then stores each table row with its text
values as written, the column order of every file and any other file of the folder
(claims.toml, README.md, the published AE table, lab/), so that an export writes a
folder from which ``remission report`` computes the same results. Retired records are not
exported. The web report is computed from exactly this export (:func:`study_bundle`).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from pathlib import Path

from django.db import transaction

from remission.errors import InputError, Problem
from remission.web.models import (
    AdverseEvent,
    Event,
    Infusion,
    Observation,
    Patient,
    RecordedGrade,
    Study,
    StudyFile,
    Treatment,
)

#: Columns each exported table starts with (others follow in the order first seen).
DEFAULT_COLUMNS = {
    "patients": ["patient_id"],
    "treatments": ["patient_id", "agent", "start_day", "end_day", "dose", "dose_unit"],
    "observations": ["patient_id", "day", "time", "variable", "value", "unit"],
    "adverse_events": ["patient_id", "term", "grade", "onset_day", "end_day", "serious"],
    "events": ["patient_id", "day", "event", "value", "detail"],
    "recorded_grades": ["patient_id", "day", "crs_grade", "neuro_grade"],
}
TABLE_FILES = ("patients", "treatments", "observations", "adverse_events", "events",
               "recorded_grades")
_INT = re.compile(r"^-?\d+$")


def _is_infusion(agent: str, role: str, products) -> bool:
    """Whether a treatments.csv row is a cell-product infusion: role ``infusion``, or the
    agent is one of the study's products (study.toml ``products``).

    Examples
    --------
    >>> _is_infusion("SYN CAR-T", "", ["SYN CAR-T"]), _is_infusion("tocilizumab", "", [])
    (True, False)
    """
    if role.strip().lower() == "infusion":
        return True
    return agent.strip().lower() in {p.strip().lower() for p in products}


def _day(v: str, file: str, line: int, col: str, problems: list[Problem],
         required: bool = True) -> int | None:
    v = (v or "").strip()
    if not v:
        if required:
            problems.append(Problem(file, "missing day", line, col, v, "an integer day"))
        return None
    if not _INT.match(v):
        problems.append(Problem(file, "the web application stores days as integers", line, col,
                                v, "an integer day relative to infusion (date-anchored "
                                "folders: convert dates to days before importing)"))
        return None
    return int(v)


def _read(folder: Path, name: str):
    from remission.errors import ProblemLog
    from remission.study.tables import find_table, read_table

    path, sheet = find_table(folder, name)
    if path is None:
        return None
    log = ProblemLog()
    df = read_table(path, sheet, log)
    log.raise_if_any()
    return df


def import_study(folder: str | Path, code: str | None = None) -> Study:
    """Import a study folder (validated by ``load_study``) into a new :class:`Study`.

    Parameters
    ----------
    folder : path
        A study folder as described in docs/study-format.md.
    code : str, optional
        Short name of the study (default: the folder name).

    Returns
    -------
    Study
        The stored study.

    Raises
    ------
    remission.errors.InputError
        With every problem when the folder is invalid (as ``remission validate`` reports
        it), a study with this code exists, or a row cannot be represented; nothing is
        saved then.

    Examples
    --------
    A folder the study validator refuses is reported before anything is stored:

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = (Path(tmp.name) / "study.toml").write_text('[study]\\nname = "X"\\n')
    >>> import_study(tmp.name)
    Traceback (most recent call last):
    ...
    remission.errors.InputError: 2 problems found:
      - study.toml, line 1, column 'study.disease': required key is missing
      - patients.csv: required file is missing; expected patients.csv (or a 'patients' \
sheet in study.xlsx)
    >>> tmp.cleanup()
    """
    from remission.study import load_study

    folder = Path(folder)
    study_obj = load_study(folder)  # the one validator: all problems at once
    cfg = study_obj.config
    code = re.sub(r"[^a-z0-9-]+", "-", (code or folder.name).lower()).strip("-")[:80]
    problems: list[Problem] = []
    if Study.objects.filter(code=code).exists():
        raise InputError([Problem(str(folder), "a study with this code exists already",
                                  value=code, expected="a new study code")])
    tables = {n: _read(folder, n) for n in TABLE_FILES}
    columns = {n: list(df.columns) for n, df in tables.items() if df is not None}
    with transaction.atomic():
        study = Study.objects.create(code=code, name=cfg.name,
                                     toml=(folder / "study.toml").read_text("utf-8"),
                                     columns=columns)
        pts: dict[str, Patient] = {}
        for line, row in tables["patients"].iterrows():
            rec = {k: str(v) for k, v in row.items() if k != "patient_id"}
            pts[row["patient_id"]] = Patient(study=study, patient_id=row["patient_id"],
                                             data=rec, line=int(line))
        for p in pts.values():
            p._change_reason = f"imported from {folder.name}"
            p.save()
        _import_long(tables, pts, cfg, folder.name, problems)
        _import_files(study, folder)
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise InputError(problems)
    return study


def _split(row, known: tuple[str, ...]) -> tuple[dict, dict]:
    k = {c: str(row[c]) if c in row.index else "" for c in known}
    extra = {c: str(v) for c, v in row.items() if c not in known and c != "patient_id"}
    return k, extra


def _bulk(model, objs: list, reason: str) -> None:
    from simple_history.utils import bulk_create_with_history

    if objs:
        bulk_create_with_history(objs, model, batch_size=2000, default_change_reason=reason)


def _import_long(tables, pts, cfg, name: str, problems: list[Problem]) -> None:
    reason = f"imported from {name}"
    tx, inf = [], []
    df = tables.get("treatments")
    if df is not None:
        for line, row in df.iterrows():
            k, extra = _split(row, ("agent", "start_day", "end_day", "dose", "dose_unit",
                                    "route", "time", "role"))
            start = _day(k["start_day"], "treatments.csv", line, "start_day", problems)
            end = _day(k["end_day"], "treatments.csv", line, "end_day", problems, False)
            role = k["role"].strip()
            common = dict(patient=pts[row["patient_id"]], end_day=end, time=k["time"],
                          dose=k["dose"], dose_unit=k["dose_unit"], route=k["route"],
                          extra=extra, line=int(line), role=role)
            if _is_infusion(k["agent"], role, cfg.products):
                inf.append(Infusion(product=k["agent"], day=start or 0, **common))
            else:
                tx.append(Treatment(agent=k["agent"], start_day=start or 0, **common))
    _bulk(Treatment, tx, reason)
    _bulk(Infusion, inf, reason)
    df = tables.get("observations")
    if df is not None:
        objs = []
        for line, pid, day, time, var, val, unit, src, extra in _obs_rows(df):
            d = _day(day, "observations.csv", line, "day", problems)
            objs.append(Observation(patient=pts[pid], day=d or 0, time=time, variable=var,
                                    value=val, unit=unit, source=src, extra=extra,
                                    line=line))
        _bulk(Observation, objs, reason)
    df = tables.get("adverse_events")
    if df is not None:
        objs = []
        for line, row in df.iterrows():
            k, extra = _split(row, ("term", "grade", "onset_day", "end_day", "serious",
                                    "attribution"))
            objs.append(AdverseEvent(
                patient=pts[row["patient_id"]], term=k["term"], grade=int(k["grade"]),
                onset_day=_day(k["onset_day"], "adverse_events.csv", line, "onset_day",
                               problems) or 0,
                end_day=_day(k["end_day"], "adverse_events.csv", line, "end_day", problems,
                             False),
                serious=k["serious"], attribution=k["attribution"], extra=extra,
                line=int(line)))
        _bulk(AdverseEvent, objs, reason)
    df = tables.get("events")
    if df is not None:
        objs = []
        for line, row in df.iterrows():
            k, extra = _split(row, ("day", "event", "value", "detail"))
            objs.append(Event(patient=pts[row["patient_id"]],
                              day=_day(k["day"], "events.csv", line, "day", problems) or 0,
                              event=k["event"], value=k["value"], detail=k["detail"],
                              extra=extra, line=int(line)))
        _bulk(Event, objs, reason)
    df = tables.get("recorded_grades")
    if df is not None:
        objs = []
        for line, row in df.iterrows():
            if row["patient_id"] not in pts:
                problems.append(Problem("recorded_grades.csv", "unknown patient_id", line,
                                        "patient_id", row["patient_id"], "a patient"))
                continue
            objs.append(RecordedGrade(
                patient=pts[row["patient_id"]], day=int(row["day"]),
                crs_grade=int(row["crs_grade"]) if row.get("crs_grade", "") else None,
                neuro_grade=int(row["neuro_grade"]) if row.get("neuro_grade", "") else None,
                line=int(line)))
        _bulk(RecordedGrade, objs, reason)


def _obs_rows(df):
    cols = list(df.columns)
    known = ("patient_id", "day", "time", "variable", "value", "unit", "source")
    others = [c for c in cols if c not in known]
    get = {c: (df[c].tolist() if c in df.columns else [""] * len(df)) for c in known}
    oth = {c: df[c].tolist() for c in others}
    for i, line in enumerate(df.index.tolist()):
        yield (int(line), get["patient_id"][i], get["day"][i], get["time"][i].strip(),
               get["variable"][i], get["value"][i], get["unit"][i], get["source"][i],
               {c: oth[c][i] for c in others})


def _import_files(study: Study, folder: Path) -> None:
    skip = {f"{n}.csv" for n in TABLE_FILES} | {"study.toml", "study.xlsx"}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if not f.is_file() or rel in skip or rel.split("/")[0] in ("report", "__pycache__"):
            continue
        StudyFile.objects.create(study=study, path=rel, content=f.read_bytes())


def _cell(v) -> str:
    return "" if v is None else str(v)


def table_rows(study: Study) -> dict[str, tuple[list[str], list[dict[str, str]]]]:
    """Every exported table of ``study``: (columns, rows as dicts of text), retired left out.

    Parameters
    ----------
    study : Study
        A stored study.

    Returns
    -------
    dict of str to (list of str, list of dict)
        By table (``patients``, ``treatments``, ``observations``, ``adverse_events``,
        ``events``, ``recorded_grades``; a table with no rows only if the imported folder
        had it): the columns (the imported file's, then any new ones) and the rows in
        file order (imported line, then entry order).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> tables = table_rows(study)
    >>> sorted(tables), tables["observations"]
    (['observations', 'patients'], (['patient_id', 'day', 'time', 'variable', 'value', \
'unit'], [{'patient_id': 'P01', 'day': '1', 'time': '', 'variable': \
'temperature', 'value': '39.2', 'unit': '°C', 'source': ''}]))
    """
    pts = list(Patient.objects.filter(study=study).active().order_by("line", "id"))
    keep = {p.pk for p in pts}
    out: dict[str, tuple[list[str], list[dict[str, str]]]] = {}

    def add(name: str, rows: list[tuple[int, int, dict[str, str]]]) -> None:
        if not rows and name not in study.columns:
            return
        cols = list(study.columns.get(name) or DEFAULT_COLUMNS[name])
        rows.sort(key=lambda r: (r[0], r[1]))
        for _, _, r in rows:
            for c in r:
                if c not in cols and (r[c] != "" or c in DEFAULT_COLUMNS[name]):
                    cols.append(c)
        out[name] = (cols, [r for _, _, r in rows])

    prow = []
    for p in pts:
        prow.append((p.line, p.pk, {"patient_id": p.patient_id, **p.data}))
    add("patients", prow)
    pid = {p.pk: p.patient_id for p in pts}
    rows = treatment_rows(Treatment.objects.filter(patient__in=keep).active(),
                          Infusion.objects.filter(patient__in=keep).active(), pid)
    add("treatments", rows)
    rows = [(o.line, o.pk, {"patient_id": pid[o.patient_id], "day": str(o.day),
                            "time": o.time, "variable": o.variable, "value": o.value,
                            "unit": o.unit, "source": o.source, **o.extra})
            for o in Observation.objects.filter(patient__in=keep).active()]
    add("observations", rows)
    rows = [(a.line, a.pk, {"patient_id": pid[a.patient_id], "term": a.term,
                            "grade": str(a.grade), "onset_day": str(a.onset_day),
                            "end_day": _cell(a.end_day), "serious": a.serious,
                            "attribution": a.attribution, **a.extra})
            for a in AdverseEvent.objects.filter(patient__in=keep).active()]
    add("adverse_events", rows)
    rows = event_rows(Event.objects.filter(patient__in=keep).active(), pid)
    add("events", rows)
    rows = [(g.line, g.pk, {"patient_id": pid[g.patient_id], "day": str(g.day),
                            "crs_grade": _cell(g.crs_grade), "neuro_grade": _cell(g.neuro_grade)})
            for g in RecordedGrade.objects.filter(patient__in=keep).active()]
    add("recorded_grades", rows)
    return out


def treatment_rows(treatments, infusions, pid: dict[int, str]) -> list[tuple[int, int, dict]]:
    """treatments.csv rows (line, pk, cells) of Treatment and Infusion records.

    Parameters
    ----------
    treatments : iterable of Treatment
        Drug and procedure records.
    infusions : iterable of Infusion
        Cell-product infusions (written with ``agent`` = product and their role).
    pid : dict of int to str
        Patient primary key -> study patient ID.

    Returns
    -------
    list of tuple of (int, int or None, dict of str to str)
        ``(line, pk, cells)`` sorted by line, then primary key; empty days are ``""``.

    Examples
    --------
    >>> from remission.web.models import Infusion, Treatment
    >>> tx = [Treatment(patient_id=1, line=4, agent="tocilizumab", role="anti_cytokine",
    ...                 start_day=2, dose="8", dose_unit="mg/kg", route="IV")]
    >>> inf = [Infusion(patient_id=1, line=3, product="CLL1 CAR-T", day=0, dose="1e6",
    ...                 dose_unit="cells/kg")]
    >>> [(line, r["agent"], r["start_day"], r["role"])
    ...  for line, _, r in treatment_rows(tx, inf, {1: "P01"})]
    [(3, 'CLL1 CAR-T', '0', 'infusion'), (4, 'tocilizumab', '2', 'anti_cytokine')]
    """
    rows = []
    for t in treatments:
        rows.append((t.line, t.pk, {"patient_id": pid[t.patient_id], "agent": t.agent,
                                    "start_day": _cell(t.start_day), "end_day": _cell(t.end_day),
                                    "dose": t.dose, "dose_unit": t.dose_unit, "route": t.route,
                                    "time": t.time, "role": t.role, **t.extra}))
    for i in infusions:
        rows.append((i.line, i.pk, {"patient_id": pid[i.patient_id], "agent": i.product,
                                    "start_day": _cell(i.day), "end_day": _cell(i.end_day),
                                    "dose": i.dose, "dose_unit": i.dose_unit, "route": i.route,
                                    "time": i.time, "role": i.role, **i.extra}))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def event_rows(events, pid: dict[int, str]) -> list[tuple[int, int, dict]]:
    """events.csv rows (line, pk, cells) of Event records.

    Parameters
    ----------
    events : iterable of Event
        The records.
    pid : dict of int to str
        Patient primary key -> study patient ID.

    Returns
    -------
    list of tuple of (int, int or None, dict of str to str)
        ``(line, pk, cells)`` in the order given.

    Examples
    --------
    >>> from remission.web.models import Event
    >>> event_rows([Event(patient_id=1, line=2, day=28, event="response_assessment",
    ...                   value="CR")], {1: "P01"})
    [(2, None, {'patient_id': 'P01', 'day': '28', 'event': 'response_assessment', \
'value': 'CR', 'detail': ''})]
    """
    return [(e.line, e.pk, {"patient_id": pid[e.patient_id], "day": str(e.day),
                            "event": e.event, "value": e.value, "detail": e.detail, **e.extra})
            for e in events]


def typed_table(table: str, rows: list[tuple[int, int, dict]], columns: list[str]):
    """Rows typed exactly as :func:`remission.study.load_study` types the file.

    Parameters
    ----------
    table : str
        The study table (``patients``, ``treatments``, ``events``, ...).
    rows : list of tuple of (int, int, dict of str to str)
        ``(line, pk, cells)`` as :func:`treatment_rows` / :func:`event_rows` give them.
    columns : list of str
        Columns of the frame (missing cells are ``""``).

    Returns
    -------
    pandas.DataFrame
        The typed table, indexed by line (2, 3, ...).

    Raises
    ------
    remission.errors.InputError
        With every problem the study validator finds in the rows.

    Examples
    --------
    >>> cols = ["patient_id", "day", "event", "value", "detail"]
    >>> row = {"patient_id": "P01", "day": "28", "event": "response_assessment",
    ...        "value": "CR", "detail": ""}
    >>> typed_table("events", [(2, 1, row)], cols)["day"].tolist()
    [28]
    >>> typed_table("events", [(2, 1, {**row, "day": "day 28"})], cols)
    Traceback (most recent call last):
    ...
    remission.errors.InputError: 1 problem found:
      - events.csv, line 2, column 'day': invalid value (got 'day 28'); expected a whole \
day number relative to infusion (day 0), or a date YYYY-MM-DD with an anchor date from \
-365 to 36500
    """
    import pandas as pd

    from remission.study import check_rows

    df = pd.DataFrame([r for _, _, r in rows], columns=columns, dtype=object).fillna("")
    df.index = pd.RangeIndex(2, 2 + len(df), name="line")
    typed, problems = check_rows(table, df)
    if problems:
        raise InputError(problems)
    return typed


def _csv_text(columns: list[str], rows: list[dict[str, str]]) -> str:
    """A table as CSV text (UTF-8, ``\\n`` line ends, minimal quoting); formula-like text
    is neutralised as in every CSV remission writes (:mod:`remission.io.cells`)."""
    from remission.io.cells import neutralise

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([neutralise(c) for c in columns])
    for r in rows:
        w.writerow([neutralise(r.get(c, "")) for c in columns])
    return buf.getvalue()


def export_files(study: Study) -> dict[str, bytes]:
    """The study folder as ``{relative path: bytes}`` (study.toml, tables, other files).

    Parameters
    ----------
    study : Study
        A stored study.

    Returns
    -------
    dict of str to bytes
        ``study.toml``, one ``<table>.csv`` per table of :func:`table_rows` (UTF-8,
        formula-like cells neutralised) and the other files imported with the study.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> files = export_files(study)
    >>> sorted(files)
    ['observations.csv', 'patients.csv', 'study.toml']
    >>> print(files["observations.csv"].decode("utf-8"), end="")
    patient_id,day,time,variable,value,unit
    P01,1,,temperature,39.2,°C
    """
    files = {"study.toml": study.toml.encode("utf-8")}
    for name, (cols, rows) in table_rows(study).items():
        files[f"{name}.csv"] = _csv_text(cols, rows).encode("utf-8")
    for f in StudyFile.objects.filter(study=study).order_by("path"):
        files[f.path] = bytes(f.content)
    return files


def export_folder(study: Study, dest: str | Path) -> Path:
    """Write the study folder into ``dest`` atomically (built aside, moved in complete).

    Parameters
    ----------
    study : Study
        A stored study.
    dest : str or Path
        The folder to write (replaced as a whole).

    Returns
    -------
    Path
        ``dest``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = export_folder(study, Path(tmp.name) / "demo")
    >>> sorted(f.name for f in out.iterdir())
    ['observations.csv', 'patients.csv', 'study.toml']
    >>> tmp.cleanup()
    """
    from remission.io.atomic import staged_dir, write_bytes

    dest = Path(dest)
    with staged_dir(dest) as tmp:
        for rel, data in export_files(study).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            write_bytes(tmp / rel, data)
    return dest


def export_zip(study: Study) -> bytes:
    """The study folder as a zip archive (fixed timestamps: same data -> same bytes).

    Parameters
    ----------
    study : Study
        A stored study.

    Returns
    -------
    bytes
        The zip, every file under ``<study code>/``.

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database):
    a one-patient study with a fever of 39.2 °C on day 1.

    >>> from remission.web.doctest_study import fever_study
    >>> study, p = fever_study()
    >>> import io, zipfile
    >>> data = export_zip(study)
    >>> zipfile.ZipFile(io.BytesIO(data)).namelist(), data == export_zip(study)
    (['demo/study.toml', 'demo/patients.csv', 'demo/observations.csv'], True)
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, data in export_files(study).items():
            info = zipfile.ZipInfo(f"{study.code}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def study_bundle(study: Study, figures: bool = True):
    """The report bundle of the study's current data: export, then the CLI's own pipeline
    (:func:`remission.pipeline.bundle_for`), so web and ``remission report`` agree.

    Parameters
    ----------
    study : Study
        A stored study.
    figures : bool, default True
        Draw the figures.

    Returns
    -------
    ReportBundle
        What ``remission report`` computes for the exported folder.

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
    >>> bundle = study_bundle(study, figures=False)
    >>> bundle.study.n_patients, bundle.results["derived.crs"].section
    (1, 'safety')
    """
    from remission.pipeline import bundle_for

    with tempfile.TemporaryDirectory(prefix="remission-web-") as tmp:
        folder = export_folder(study, Path(tmp) / study.code)
        return bundle_for(folder, figures=figures)
