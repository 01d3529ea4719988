"""Load a study folder into validated, typed tables: :func:`load_study`.

All problems in all files are collected and raised together as one InputError.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from remission.errors import InputError, Problem, ProblemLog
from remission.study import schema
from remission.study.config import StudyConfig, line_of, parse_config
from remission.study.tables import find_table, read_table, table_label
from remission.study.typing import type_table
from remission.vocab import ctcae_terms
from remission.vocab.vocabulary import validate_observations


@dataclass
class Study:
    """A validated study: configuration plus typed tables (index = line in the source file)."""

    folder: Path
    config: StudyConfig
    patients: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    #: Non-fatal findings (e.g. a treatment agent not in the drug vocabulary).
    warnings: list[Problem] = field(default_factory=list)
    #: Decimals each number column of patients.csv was recorded with, read from the cells
    #: as written (``"13.50"`` counts 2; :func:`remission.numbers.recorded_decimals`);
    #: whole-number columns 0; a column without values or with more than 6 decimals is
    #: absent. Journal number styles print summaries to this precision.
    decimals: dict[str, int] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    @property
    def n(self) -> int:
        return len(self.patients)


def configured_values(config: StudyConfig | None) -> dict[str, tuple[str, ...]]:
    """The values a study's configuration accepts in a column besides the schema's own.

    The response categories that study.toml's ``[response]`` names (``responders``, then
    ``complete``, then ``mrd_negative``) are valid ``best_response`` values; without a
    configuration nothing is added. :func:`load_study` and :func:`check_rows` type the
    tables with this one reading.

    Parameters
    ----------
    config : StudyConfig or None
        The parsed study.toml; None when it could not be read.

    Returns
    -------
    dict of str to tuple of str
        Column -> extra allowed values (the ``extra_allowed`` of
        :func:`~remission.study.typing.type_table`).

    Examples
    --------
    >>> from remission.errors import ProblemLog
    >>> from remission.study.config import parse_config_text
    >>> cfg = parse_config_text('[study]\\nname = "X"\\ndisease = "AML"\\n[response]\\n'
    ...                         'responders = ["PR"]\\ncomplete = ["CRi"]\\n'
    ...                         'mrd_negative = ["MRD-CR"]\\n', ProblemLog())
    >>> configured_values(cfg)
    {'best_response': ('PR', 'CRi', 'MRD-CR')}
    >>> configured_values(None)
    {}
    """
    if config is None:
        return {}
    return {"best_response": tuple(config.responders + config.complete
                                   + config.mrd_negative)}


def load_study(folder: str | Path) -> Study:
    """Read, type and cross-check every table of a study folder.

    Parameters
    ----------
    folder : str or Path
        A study folder: ``study.toml``, ``patients.csv`` and optional long tables
        (docs/study-format.md); any table may instead be an Excel sheet, a
        ``name.parquet`` file or a ``name/`` folder of Parquet parts (what
        ``remission simulate --parquet`` writes).

    Returns
    -------
    Study
        Configuration, typed ``patients`` and the other tables (``study.table(name)``),
        each indexed by the line number in its file.

    Raises
    ------
    InputError
        Listing every problem found (file, line, column, value, expected), never only
        the first.

    See Also
    --------
    remission.pipeline.validate_folder : also dry-runs the analyses and the audit.

    Examples
    --------
    >>> study = load_study("examples/cll1-post-hsct")
    >>> study.n, sorted(study.tables)
    (12, ['adverse_events_summary', 'events'])
    """
    folder = Path(folder)
    log = ProblemLog()
    if not folder.is_dir():
        log.add(str(folder), "study folder not found", expected="a folder with study.toml")
        log.raise_if_any()
    config = parse_config(folder / "study.toml", log)

    raw: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for name, (_, required) in schema.TABLES.items():
        path, sheet = find_table(folder, name)
        if path is None:
            if required:
                log.add(f"{name}.csv", "required file is missing",
                        expected=f"{name}.csv (or a '{name}' sheet in study.xlsx)")
            continue
        label = table_label(path, sheet)
        df = read_table(path, sheet, log)
        if df is not None:
            raw[name] = df
            sources[name] = label

    typed: dict[str, pd.DataFrame] = {}
    extra = configured_values(config)
    anchor = _anchor(raw.get("patients"), config, sources, log)
    for name, df in raw.items():
        cols = schema.TABLES[name][0]
        row_anchor = None
        if anchor is not None:
            row_anchor = (pd.Series(anchor.values, index=df.index) if name == "patients"
                          else _map_anchor(df, anchor))
        typed[name] = type_table(df, cols, sources[name], log, row_anchor, extra)
        if name == "events":  # optional free text (death cause, relapse site): absent = blank
            for c in ("value", "detail"):
                if c not in typed[name].columns:
                    typed[name][c] = ""

    patients = typed.get("patients")
    if patients is not None and "patient_id" not in patients.columns:
        patients = None  # already reported; cross-table checks need the key
    if patients is not None:
        _check_patients(patients, sources["patients"], config, log)
        for name in ("adverse_events", "treatments", "events", "observations"):
            if name in typed:
                _check_known_patients(typed[name], patients, sources[name], log)
    if "adverse_events" in typed:
        _check_ae_terms(typed["adverse_events"], sources["adverse_events"], log)
    if "treatments" in typed:
        _check_times(typed["treatments"], sources["treatments"], log)
    if "events" in typed:
        _check_event_order(typed["events"], patients, sources["events"], log)
    if "observations" in typed:
        _check_observations(typed["observations"], sources["observations"], log)
    if config is not None and patients is not None and config.cohorts is not None:
        _check_cohorts(patients, config, sources["patients"], log)

    log.raise_if_any()
    assert config is not None and patients is not None
    tables = {k: v for k, v in typed.items() if k != "patients"}
    warnings: list[Problem] = []
    if "treatments" in tables:
        from remission.vocab.drugs import validate_treatments

        warnings += validate_treatments(tables["treatments"], sources["treatments"],
                                        config.products)
    decimals = column_decimals(raw["patients"], patients, schema.TABLES["patients"][0])
    return Study(folder=folder, config=config, patients=patients, tables=tables, sources=sources,
                 warnings=warnings, decimals=decimals)


def column_decimals(raw: pd.DataFrame, typed: pd.DataFrame, columns: tuple[Any, ...]
                    ) -> dict[str, int]:
    """Recorded decimals of each number/integer column (see :attr:`Study.decimals`).

    Parameters
    ----------
    raw : DataFrame
        The table as read (text cells).
    typed : DataFrame
        The same table typed (same index and columns).
    columns : tuple of Column
        The table's schema.

    Returns
    -------
    dict
        ``{column: decimals}`` for columns with a known precision.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.study.schema import TABLES
    >>> raw = pd.DataFrame({"age": ["63", "71"], "weight_kg": ["70.50", "81.2"]})
    >>> typed = pd.DataFrame({"age": [63.0, 71.0], "weight_kg": [70.5, 81.2]})
    >>> column_decimals(raw, typed, TABLES["patients"][0])
    {'age': 0, 'weight_kg': 2}
    """
    from remission.numbers import recorded_decimals

    out: dict[str, int] = {}
    for c in columns:
        if c.name not in typed.columns or c.kind not in ("number", "integer"):
            continue
        values = typed[c.name].astype(float).tolist()
        texts = (raw[c.name].astype(str).tolist() if c.kind == "number" and c.name in raw
                 else None)
        d = recorded_decimals(values, texts)
        if d is not None:
            out[c.name] = d
    return out


def _anchor(patients: pd.DataFrame | None, config: StudyConfig | None,
            sources: dict[str, str], log: ProblemLog) -> pd.Series | None:
    if config is None or not config.anchor_date_column or patients is None:
        return None
    col = config.anchor_date_column
    if col not in patients.columns:
        log.add(sources["patients"], "anchor date column named in study.toml is missing",
                column=col, expected="a column of infusion dates YYYY-MM-DD")
        return None
    dates = pd.to_datetime(patients[col], errors="coerce", format="%Y-%m-%d")
    for line, v, d in zip(patients.index, patients[col], dates, strict=True):
        if pd.isna(d):
            log.add(sources["patients"], "invalid anchor date", row=line, column=col, value=v,
                    expected="a date YYYY-MM-DD")
    return pd.Series(dates.values, index=patients["patient_id"].values)


def _map_anchor(df: pd.DataFrame, anchor: pd.Series) -> pd.Series | None:
    if "patient_id" not in df.columns:
        return None
    return pd.Series(df["patient_id"].map(anchor).values, index=df.index)


def _check_patients(p: pd.DataFrame, label: str, config: StudyConfig | None,
                    log: ProblemLog) -> None:
    if "patient_id" in p.columns:
        seen: dict[str, int] = {}
        for line, pid in p["patient_id"].items():
            if pid in seen:
                log.add(label, f"duplicate patient_id (first seen at line {seen[pid]})",
                        row=line, column="patient_id", value=pid, expected="unique study IDs")
            elif pid:
                seen[pid] = line
    if config is not None:
        # a recorded neurotoxicity column names its own system; CRS follows study.toml
        systems = {"crs_grade": config.criteria.get("crs"), "cres_grade": "cres_cartox2018",
                   "icans_grade": "icans_astct2019"}
        for col, system in systems.items():
            top = schema.GRADE_MAX.get(system or "")
            if col in p.columns and top is not None:
                for line, g in p[col].items():
                    if pd.notna(g) and g > top:
                        log.add(label, f"grade exceeds the highest grade of {system}", row=line,
                                column=col, value=int(g), expected=f"0-{top}")
    if "cart_dose_per_kg" in p.columns:
        for line, d in p["cart_dose_per_kg"].items():
            if pd.notna(d) and 0 < d < 1000:
                log.add(label, "unit mismatch: dose looks like millions of cells per kg",
                        row=line, column="cart_dose_per_kg", value=d,
                        expected="cells/kg written in full, e.g. 1.5e6 (not 1.5)")
    for col in [c for c in p.columns if c.endswith("_pct")]:
        vals = p[col].dropna()
        if len(vals) >= 3 and vals.max() <= 1 and vals.max() > 0:
            log.add(label, "unit mismatch: values look like fractions, not percentages",
                    row=p.attrs.get("header_line", 1), column=col,
                    value=float(vals.max()), expected="percent 0-100 (e.g. 22.4)")


def _check_known_patients(df: pd.DataFrame, patients: pd.DataFrame, label: str,
                          log: ProblemLog) -> None:
    if "patient_id" not in df.columns or "patient_id" not in patients.columns:
        return
    known = set(patients["patient_id"])
    for line, pid in df["patient_id"].items():
        if pid and pid not in known:
            log.add(label, "patient_id not found in patients.csv", row=line, column="patient_id",
                    value=pid, expected="an ID listed in patients.csv")


def _check_ae_terms(ae: pd.DataFrame, label: str, log: ProblemLog) -> None:
    if "term" not in ae.columns:
        return
    for line, term, grade in zip(ae.index, ae["term"], ae.get("grade", pd.Series(dtype=float)),
                                 strict=False):
        if not term:
            continue
        t = ctcae_terms.lookup(term)
        if t is None:
            m = ctcae_terms.map_term(term)
            hint = (f"; a coder would code it as '{m.term.term}' ({m.how}, confidence "
                    f"{m.confidence:.2f})" if m.term is not None else "")
            log.add(label, f"unknown {ctcae_terms.VERSION} term", row=line, column="term",
                    value=term,
                    expected="a CTCAE v5.0 term (see remission/data/ctcae_v5_terms.csv)"
                    + hint)
        elif pd.notna(grade) and not t.allows(int(grade)):
            log.add(label, f"grade not defined for '{t.term}' in {ctcae_terms.VERSION}", row=line,
                    column="grade", value=int(grade), expected=t.grades_text())


def _check_times(df: pd.DataFrame, label: str, log: ProblemLog) -> None:
    """``time``/``end_time`` columns hold HH:MM (24-hour) or nothing."""
    for col in ("time", "end_time"):
        if col not in df.columns:
            continue
        v = df[col].astype(str).str.strip()
        blank = df[col].isna() | v.isin(["", "nan", "None"])
        ok = v.str.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d")
        for line in df.index[~(blank | ok)]:
            log.add(label, f"{col} is not HH:MM", row=line, column=col, value=df.at[line, col],
                    expected="HH:MM (24-hour clock), or blank")


def _check_event_order(ev: pd.DataFrame, patients: pd.DataFrame | None, label: str,
                       log: ProblemLog) -> None:
    if not {"patient_id", "day", "event"} <= set(ev.columns):
        return
    deaths = ev[ev["event"] == "death"].groupby("patient_id")["day"].min()
    if patients is not None and "death_day" in patients.columns:
        pd_deaths = patients.set_index("patient_id")["death_day"].dropna()
        deaths = pd.concat([deaths, pd_deaths]).groupby(level=0).min()
    for line, rec in ev.iterrows():
        d = deaths.get(rec["patient_id"])
        if d is None or pd.isna(d) or pd.isna(rec["day"]):
            continue
        if rec["event"] != "death" and rec["day"] > d:
            log.add(label, f"{rec['event']} on day {rec['day']} is after death on day {d}",
                    row=line, column="day", value=int(rec["day"]),
                    expected=f"a day <= {int(d)} (the patient's death)")
    n_death = ev[ev["event"] == "death"].groupby("patient_id").size()
    for pid in n_death[n_death > 1].index:
        line = ev[(ev["patient_id"] == pid) & (ev["event"] == "death")].index[1]
        log.add(label, "more than one death recorded for the patient", row=line, column="event",
                value=pid, expected="one death row per patient")
    for line, rec in ev[ev["event"] == "response_assessment"].iterrows():
        if pd.notna(rec["day"]) and rec["day"] < 0:
            log.add(label, "response assessed before infusion", row=line, column="day",
                    value=int(rec["day"]), expected="day >= 0")


def _check_observations(obs: pd.DataFrame, label: str, log: ProblemLog) -> None:
    log.extend(validate_observations(obs, label))


def _check_cohorts(p: pd.DataFrame, config: StudyConfig, label: str, log: ProblemLog) -> None:
    try:
        assign_cohorts(p, config)
    except InputError as exc:
        for prob in exc.problems:  # patients.csv problems carry the table's own label
            file = prob.file if prob.file == "study.toml" else label
            log.extend([prob.__class__(**{**prob.__dict__, "file": file})])


def assign_cohorts(p: pd.DataFrame, config: StudyConfig) -> pd.Series:
    """Cohort name of each patient row, from the study.toml ``[cohorts]`` definition.

    With ``column`` a patient's value must equal one level's ``value``; otherwise each
    level's ``when`` expression (over patients.csv columns, e.g. ``"age < 18"``) is
    evaluated and a patient must match exactly one level.

    Parameters
    ----------
    p : DataFrame
        patients.csv as loaded (index = spreadsheet line).
    config : StudyConfig
        The parsed study.toml.

    Returns
    -------
    Series of str
        Level name per row ('' for every row when the study has no cohorts).

    Raises
    ------
    InputError
        The cohort column absent; a value matching no level; an expression that cannot be
        evaluated; a patient matching zero or several levels (with the line).

    Examples
    --------
    The boundary age 18 falls in the adult level; a missing age matches none:

    >>> from remission.study.config import Cohorts, Level, StudyConfig
    >>> co = Cohorts(label="Age", column=None, ordered=True,
    ...              levels=(Level("paed", "< 18", when="age < 18"),
    ...                      Level("adult", ">= 18", when="age >= 18")))
    >>> cfg = StudyConfig(name="X", disease="AML", products=(), day0="infusion", cohorts=co)
    >>> assign_cohorts(pd.DataFrame({"age": [12, 18, 45.0]}, index=[2, 3, 4]), cfg).tolist()
    ['paed', 'adult', 'adult']
    >>> try:
    ...     assign_cohorts(pd.DataFrame({"age": [12, None]}, index=[2, 3]), cfg)
    ... except InputError as e:
    ...     print([(p.row, p.message) for p in e.problems])
    [(3, 'patient matches 0 cohort levels')]
    """
    co = config.cohorts
    log = ProblemLog()
    out = pd.Series("", index=p.index, dtype=object)
    if co is None:
        return out
    if co.column is not None:
        if co.column not in p.columns:
            log.add("study.toml", "cohort column named in study.toml is not in patients.csv",
                    row=line_of(config.lines, "cohorts.column"), column="cohorts.column",
                    value=co.column, expected="a column of patients.csv: " + ", ".join(
                        map(str, p.columns)))
            log.raise_if_any()
        for line, v in p[co.column].items():
            match = [lv.name for lv in co.levels if _same(v, lv.value)]
            if not match:
                log.add("patients.csv", "value matches no cohort level in study.toml", row=line,
                        column=co.column, value=v if not isinstance(v, float) else float(v),
                        expected="one of " + ", ".join(str(lv.value) for lv in co.levels))
            else:
                out[line] = match[0]
    else:
        hits = pd.DataFrame(index=p.index)
        data = _for_expressions(p)
        for i, lv in enumerate(co.levels, start=1):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    hit = data.eval(str(lv.when), engine="python")
                if not isinstance(hit, pd.Series) or len(hit) != len(p):
                    raise ValueError("it does not give true/false per patient")
                hits[lv.name] = hit.fillna(False).astype(bool).to_numpy()
            except Exception as exc:  # any failure of a user expression is a problem to report
                log.add("study.toml", f"cannot evaluate cohort expression: {_short(exc)}",
                        row=line_of(config.lines, "cohorts.levels"),
                        column=f"cohorts.levels[{i}].when", value=lv.when,
                        expected="a comparison of patients.csv columns, e.g. \"age < 18\"")
        log.raise_if_any()
        for line, row in hits.iterrows():
            names = [n for n, hit in row.items() if hit]
            if len(names) != 1:
                log.add("patients.csv", f"patient matches {len(names)} cohort levels", row=line,
                        value=names, expected="exactly one level")
            else:
                out[line] = names[0]
    log.raise_if_any()
    return out


def _for_expressions(p: pd.DataFrame) -> pd.DataFrame:
    """Patients with nullable integer columns as floats, so expressions see NaN, not pd.NA."""
    out = p.copy()
    for c in out.columns:
        if str(out[c].dtype) == "Int64":
            out[c] = out[c].astype(float)
    return out


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _same(v: object, target: object) -> bool:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return False
    if isinstance(target, int | float) and not isinstance(target, bool):
        try:
            return bool(np.isclose(float(v), float(target), rtol=1e-9, atol=0))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return str(v) == str(target)


def check_rows(table: str, rows: pd.DataFrame, config: StudyConfig | None = None,
               label: str | None = None,
               patients: pd.DataFrame | None = None,
               typed: bool = True) -> tuple[pd.DataFrame | None, list]:
    """Type and check rows of one study table by the study-folder validator's rules.

    The same column types, ranges and allowed values as :func:`load_study`, plus the
    table's own checks (CTCAE terms and grades, event order, observation vocabulary and
    units, duplicate patient IDs, grade ceilings of the configured systems and the
    patient's cohort under study.toml ``[cohorts]``). Used by
    interfaces that capture a few rows at a time (the web forms) so that a value is
    accepted there exactly when the study folder would accept it.

    Parameters
    ----------
    table : str
        A table of :data:`remission.study.schema.TABLES` (``patients``, ``treatments``...).
    rows : DataFrame
        Text cells; an index named ``line`` gives the line numbers problems refer to.
    config : StudyConfig, optional
        The study's configuration (response categories, grading systems).
    label : str, optional
        File name used in problems (default ``<table>.csv``).
    patients : DataFrame, optional
        Typed patients rows (``death_day``) for the event-order checks of ``events``.
    typed : bool, default True
        False: the problems only -- the same problems, without the typed table where the
        table's checks do not need it (``observations``: None in its place).

    Returns
    -------
    (typed rows or None, list of :class:`~remission.errors.Problem`)

    Examples
    --------
    >>> import pandas as pd
    >>> _, probs = check_rows("adverse_events", pd.DataFrame(
    ...     {"patient_id": ["P1"], "term": ["Fatigue"], "grade": ["4"], "onset_day": ["3"]}))
    >>> probs[0].column
    'grade'
    """
    if table not in schema.TABLES:
        raise KeyError(f"unknown study table {table!r}")
    label = label or f"{table}.csv"
    log = ProblemLog()
    extra = configured_values(config)
    # the observation checks read the text cells (validate_observations), not the typed table
    out = type_table(rows, schema.TABLES[table][0], label, log, None, extra,
                     build=typed or table != "observations")
    if table == "patients":
        _check_patients(out, label, config, log)
        if config is not None and config.cohorts is not None and not log:
            _check_cohorts(out, config, label, log)
    elif table == "adverse_events":
        _check_ae_terms(out, label, log)
    elif table == "events":
        _check_event_order(out, patients, label, log)
    elif table == "observations":
        _check_observations(rows, label, log)
    return out, list(log.problems)
