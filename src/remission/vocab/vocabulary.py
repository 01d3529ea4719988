"""The observation vocabulary: every variable ``observations.csv`` may contain.

One table (:data:`VOCABULARY`) of :class:`Variable` records gives, for each variable,
its canonical unit, the accepted unit spellings with their conversion
(:mod:`remission.vocab.units`), the plausible range of the canonical value, and for
categorical variables the allowed levels (ordered from least to most severe where the
order matters for grading). Graders read canonical values only.

:func:`validate_observations` reports *every* problem of a long observation table at
once (unknown variable, missing/unknown unit, non-numeric or out-of-range value,
unknown category, duplicated observation) as :class:`~remission.errors.Problem`
objects; :func:`normalise_observations` converts a valid table to canonical units.

Conventions: counts in ×10⁹/L, haemoglobin in g/dL, temperature in °C, oxygen flow in
L/min, FiO2 in %, norepinephrine/epinephrine/phenylephrine in µg/min, dopamine and
dobutamine in µg/kg/min (Lee 2014 high-dose table units), vasopressin in U/min,
blasts/MRD in %, cytokines in pg/mL, ferritin in ng/mL, CRP in mg/L, CAR transgene in
copies/µg gDNA and CAR+ cells in cells/µL. Categorical variables carry no unit (blank
or ``-``, or ``category`` where a unit is mandatory, as in the study loader); scores
accept ``points``/``score`` or blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from remission.errors import InputError, Problem
from remission.vocab.units import IDENTITY, Conversion, unit_token

__all__ = [
    "VOCABULARY",
    "Variable",
    "normalise_observations",
    "normalise_rows",
    "validate_observations",
    "variable",
    "variable_name",
]

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Variable:
    """One observation variable.

    ``units`` maps normalised unit spellings (see :func:`~remission.vocab.units.unit_token`)
    to the conversion into ``unit``. ``low``/``high`` bound the plausible canonical value
    (inclusive). ``levels`` are the allowed categories, ordered by severity when the
    grader uses the order. ``daily`` is how repeated values within one day are reduced
    for day-level grading (``max``, ``min`` or ``worst`` = highest level index).
    """

    name: str
    kind: Kind
    description: str
    unit: str = ""
    units: Mapping[str, Conversion] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None
    integer: bool = False
    levels: tuple[str, ...] = ()
    daily: str = "max"

    def accepts(self, token: str) -> bool:
        return token in self.units

    def range_text(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        kind = "an integer" if self.integer else "a number"
        return f"{kind} in [{lo}, {hi}] {self.unit}".rstrip()


_ID = IDENTITY
_PER_UL = Conversion(divide=1000.0)  # cells/µL -> ×10⁹/L, exact for integers
_COUNT_UNITS = {
    "10^9/l": _ID,
    "g/l": _ID,
    "10^3/ul": _ID,
    "k/ul": _ID,
    "/nl": _ID,
    "/ul": _PER_UL,
    "/l": Conversion(divide=1e9),
}
_PCT = {"%": _ID, "percent": _ID, "fraction": Conversion(multiply=100.0)}
_SCORE = {"": _ID, "points": _ID, "score": _ID, "-": _ID}
_CAT = {"": _ID, "-": _ID, "category": _ID, "categorical": _ID, "code": _ID, "text": _ID}
_PG_ML = {"pg/ml": _ID, "ng/l": _ID, "ng/ml": Conversion(multiply=1000.0)}
_UG_MIN = {
    "ug/min": _ID,
    "mcg/min": _ID,
    "ug/kg/min": Conversion(per_weight=+1),
    "mcg/kg/min": Conversion(per_weight=+1),
}
_UG_KG_MIN = {
    "ug/kg/min": _ID,
    "mcg/kg/min": _ID,
    "ug/min": Conversion(per_weight=-1),
    "mcg/min": Conversion(per_weight=-1),
}
_YES_NO = ("no", "yes")

#: Oxygen support, least to most intensive (ASTCT 2019 hypoxia column).
OXYGEN_DEVICES = (
    "room_air",
    "blow_by",
    "nasal_cannula",
    "high_flow_nasal_cannula",
    "facemask",
    "venturi",
    "non_rebreather",
    "cpap",
    "bipap",
    "mechanical_ventilation",
)
#: Depressed level of consciousness (ASTCT 2019 ICANS), least to most severe.
CONSCIOUSNESS = (
    "alert",
    "awakens_spontaneously",
    "awakens_to_voice",
    "awakens_to_tactile",
    "unarousable",
)
#: Seizure findings; the graders map each level to a grade per system.
SEIZURE = (
    "none",
    "focal_resolved",
    "generalised_resolved",
    "nonconvulsive_eeg_resolved",
    "prolonged",
    "repetitive",
    "status_epilepticus",
)
MOTOR = ("none", "deep_focal_weakness")
#: EEG findings, least to most severe (ASTCT 2019: non-convulsive seizures on EEG that
#: resolve with intervention = grade 3; repetitive electrical seizures without return to
#: baseline in between, or electrical status = grade 4).
EEG = ("none", "nonconvulsive_resolved", "repetitive_no_return_to_baseline",
       "status_epilepticus")
#: MRD methods: multiparameter flow cytometry, quantitative PCR, digital droplet PCR,
#: next-generation sequencing.
MRD_ASSAYS = ("mfc", "qpcr", "ddpcr", "ngs")
#: Raised ICP / cerebral oedema findings (ASTCT 2019 ICANS; CRES 2018).
ICP = (
    "none",
    "focal_oedema",
    "diffuse_oedema",
    "posturing",
    "cranial_nerve_vi_palsy",
    "papilloedema",
    "cushings_triad",
)


def _num(name, description, unit, units, low=None, high=None, integer=False, daily="max"):
    return Variable(name, "numeric", description, unit, units, low, high, integer, (), daily)


def _cat(name, description, levels, daily="worst"):
    return Variable(name, "categorical", description, "", _CAT, None, None, False, levels, daily)


_F = Conversion(multiply=5.0, divide=9.0, offset=-160.0 / 9.0, ndigits=2)

_VARS: list[Variable] = [
    # vital signs and organ support (CRS)
    _num("temperature", "body temperature", "°C", {"c": _ID, "celsius": _ID, "f": _F,
         "fahrenheit": _F}, 30.0, 45.0),
    _num("sbp", "systolic blood pressure", "mmHg", {"mmhg": _ID,
         "kpa": Conversion(multiply=7.50062, ndigits=1)}, 20.0, 300.0, daily="min"),
    _cat("hypotension", "hypotension present (clinician-judged)", _YES_NO),
    _num("norepinephrine", "norepinephrine dose", "µg/min", _UG_MIN, 0.0, 500.0),
    _num("epinephrine", "epinephrine dose", "µg/min", _UG_MIN, 0.0, 500.0),
    _num("phenylephrine", "phenylephrine dose", "µg/min", _UG_MIN, 0.0, 5000.0),
    _num("dopamine", "dopamine dose", "µg/kg/min", _UG_KG_MIN, 0.0, 100.0),
    _num("dobutamine", "dobutamine dose (inotrope, not counted as vasopressor)", "µg/kg/min",
         _UG_KG_MIN, 0.0, 100.0),
    _num("vasopressin", "vasopressin dose", "U/min", {"u/min": _ID, "iu/min": _ID,
         "u/h": Conversion(divide=60.0), "u/hr": Conversion(divide=60.0)}, 0.0, 1.0),
    _cat("oxygen_device", "oxygen delivery device", OXYGEN_DEVICES),
    _num("oxygen_flow", "oxygen flow", "L/min", {"l/min": _ID, "lpm": _ID}, 0.0, 80.0),
    _num("fio2", "fraction of inspired oxygen", "%", _PCT, 21.0, 100.0),
    # neurotoxicity
    _num("ice_score", "ICE score (ASTCT 2019; 10 = normal)", "points", _SCORE, 0, 10, True, "min"),
    _num("cartox10_score", "CARTOX-10 score (Neelapu 2018; 10 = normal)", "points", _SCORE,
         0, 10, True, "min"),
    _num("capd_score", "Cornell Assessment of Pediatric Delirium (0-32)", "points", _SCORE,
         0, 32, True, "max"),
    _cat("consciousness", "level of consciousness", CONSCIOUSNESS),
    _cat("seizure", "seizure", SEIZURE),
    _cat("motor_weakness", "motor findings", MOTOR),
    _cat("icp_finding", "raised ICP / cerebral oedema finding", ICP),
    _num("seizure_duration", "duration of the longest seizure that day", "min",
         {"min": _ID, "minutes": _ID, "s": Conversion(divide=60.0),
          "sec": Conversion(divide=60.0)}, 0.0, 1440.0),
    _cat("eeg_seizure", "EEG finding (ASTCT 2019 ICANS seizure domain)", EEG),
    _cat("intracranial_haemorrhage", "intracranial haemorrhage on imaging (excluded from "
         "ICANS; oedema with it is not graded)", _YES_NO),
    _num("papilloedema_stage", "papilloedema, Frisén stage", "points", _SCORE, 0, 5, True),
    _num("csf_opening_pressure", "CSF opening pressure", "mmHg", {"mmhg": _ID,
         "cmh2o": Conversion(divide=1.35951, ndigits=1)}, 0.0, 100.0),
    # haematology
    _num("anc", "absolute neutrophil count", "10^9/L", _COUNT_UNITS, 0.0, 100.0, daily="min"),
    _num("platelets", "platelet count", "10^9/L", _COUNT_UNITS, 0.0, 2000.0, daily="min"),
    _num("wbc", "white blood cell count", "10^9/L", _COUNT_UNITS, 0.0, 1000.0, daily="min"),
    _num("lymphocytes", "absolute lymphocyte count", "10^9/L", _COUNT_UNITS, 0.0, 1000.0,
         daily="min"),
    _num("hemoglobin", "haemoglobin", "g/dL", {"g/dl": _ID, "g/l": Conversion(divide=10.0),
         "mmol/l": Conversion(multiply=1.611, ndigits=1)}, 1.0, 25.0, daily="min"),
    _cat("rbc_transfusion", "red-cell transfusion given that day", _YES_NO),
    _cat("platelet_transfusion", "platelet transfusion given that day", _YES_NO),
    # disease assessment
    _num("marrow_blasts", "bone-marrow blasts", "%", _PCT, 0.0, 100.0),
    _num("peripheral_blasts", "circulating blasts", "%", _PCT, 0.0, 100.0),
    _num("marrow_cellularity", "bone-marrow cellularity (biopsy)", "%", _PCT, 0.0, 100.0),
    _num("marrow_cells_counted", "nucleated cells counted on aspirate", "cells",
         {"cells": _ID, "": _ID, "n": _ID}, 0, 100000, True),
    _cat("marrow_spicules", "spicules present on aspirate", _YES_NO),
    _cat("auer_rods", "blasts with Auer rods seen", _YES_NO),
    _cat("extramedullary_disease", "extramedullary disease present", _YES_NO),
    _num("mrd", "measurable residual disease (fraction of cells)", "%", _PCT, 0.0, 100.0),
    _cat("mrd_assay", "MRD method of that day's MRD value", MRD_ASSAYS),
    _num("mrd_sensitivity", "MRD assay sensitivity: lowest level it detects (e.g. 0.01 % = "
         "1e-4, unit 'fraction')", "%", _PCT, 0.0, 100.0, daily="max"),
    _num("antigen_positive_blasts", "blasts positive for the therapy's target antigen "
         "(flow cytometry; CLL-1, CD123 or CD19 as the study states)", "%", _PCT, 0.0, 100.0),
    _cat("mrd_status", "MRD result as reported by the laboratory", ("negative", "positive")),
    # cellular kinetics and inflammation
    _num("car_copies", "CAR transgene, qPCR", "copies/µg", {"copies/ug": _ID,
         "copies/ugdna": _ID, "copies/uggdna": _ID}, 0.0, 1e8),
    _num("car_cells", "CAR+ cells by flow cytometry", "cells/µL", {"/ul": _ID,
         "/ml": Conversion(divide=1000.0)}, 0.0, 1e6),
    _num("il6", "interleukin-6", "pg/mL", _PG_ML, 0.0, 1e6),
    # drug exposure
    _num("venetoclax_conc", "venetoclax plasma concentration", "µg/mL",
         {"ug/ml": _ID, "mg/l": _ID, "ng/ml": Conversion(divide=1000.0)}, 0.0, 100.0),
    _num("blinatumomab_conc", "blinatumomab serum concentration", "pg/mL", _PG_ML, 0.0, 1e6),
    _num("ifng", "interferon-gamma", "pg/mL", _PG_ML, 0.0, 1e6),
    _num("il10", "interleukin-10", "pg/mL", _PG_ML, 0.0, 1e6),
    _num("il2", "interleukin-2", "pg/mL", _PG_ML, 0.0, 1e6),
    _num("tnfa", "tumour necrosis factor alpha", "pg/mL", _PG_ML, 0.0, 1e6),
    _num("il1b", "interleukin-1 beta", "pg/mL", _PG_ML, 0.0, 1e6),
    _num("ferritin", "ferritin", "ng/mL", {"ng/ml": _ID, "ug/l": _ID}, 0.0, 1e6),
    _num("crp", "C-reactive protein", "mg/L", {"mg/l": _ID, "mg/dl": Conversion(multiply=10.0)},
         0.0, 1000.0),
]

#: The vocabulary, by variable name.
VOCABULARY: dict[str, Variable] = {v.name: v for v in _VARS}


def variable(name: str) -> Variable:
    """The vocabulary record of a canonical variable name.

    Parameters
    ----------
    name : str
        Canonical (lower-case) variable name, e.g. ``"anc"``.

    Returns
    -------
    Variable
        ``name, kind`` (numeric or categorical), ``description``, canonical ``unit``,
        accepted ``units`` (token -> :class:`~remission.vocab.units.Conversion`), levels,
        plausible range and daily reduction rule.

    Raises
    ------
    KeyError
        ``name`` is not in the vocabulary (the message lists the known names).

    Examples
    --------
    >>> v = variable("anc")
    >>> v.kind, v.unit, v.units["/ul"].divide
    ('numeric', '10^9/L', 1000.0)
    >>> try:
    ...     variable("ancc")
    ... except KeyError as e:
    ...     print(str(e).split(";")[0])
    "unknown variable 'ancc'
    """
    try:
        return VOCABULARY[name]
    except KeyError:
        raise KeyError(f"unknown variable {name!r}; known: {sorted(VOCABULARY)}") from None


def variable_name(written: object) -> str:
    """Canonical variable name of a written one.

    Lower-cased and trimmed; a drug written by a brand name or another common name reads
    as its vocabulary variable through the drug vocabulary (``noradrenaline``/``Levophed``
    -> norepinephrine, ``adrenaline`` -> epinephrine, ``argipressin`` -> vasopressin; exact
    names and synonyms only, never a spelling guess). Anything else is returned
    lower-cased (and then reported unknown).

    Parameters
    ----------
    written : object
        The variable as written in observations.csv.

    Returns
    -------
    str
        The canonical name, or the lower-cased text.

    Examples
    --------
    >>> variable_name(" Noradrenaline "), variable_name("ANC"), variable_name("foo")
    ('norepinephrine', 'anc', 'foo')
    """
    low = str(written).strip().lower()
    if low in VOCABULARY:
        return low
    from remission.vocab.drugs import match_agent

    m = match_agent(low)
    if m.how in ("exact", "synonym") and m.drug in VOCABULARY:
        return m.drug
    return low


REQUIRED_COLUMNS = ("patient_id", "day", "variable", "value", "unit")
_TIME_RE = r"^([01]?\d|2[0-3]):[0-5]\d$"


def _level_token(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def _blank(s: pd.Series) -> pd.Series:
    """Missing or whitespace-only (evaluated once per distinct value)."""
    return _map_unique(s, lambda u: u is None or (isinstance(u, float) and np.isnan(u))
                       or str(u).strip() == "").astype(bool)


def _line_numbers(df: pd.DataFrame) -> np.ndarray:
    """File line of each row: the index when it is the study loader's ``line`` index
    (blank lines skipped in the file keep their numbers), else position + 2."""
    if df.index.name == "line" and pd.api.types.is_integer_dtype(df.index):
        return df.index.to_numpy(dtype=np.int64)
    return np.arange(len(df), dtype=np.int64) + 2


def _map_unique(s: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct value (fast on long tables with few levels)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=False)
    mapped = np.array([func(u) for u in uniq], dtype=object)
    out = pd.Series(mapped[codes] if len(uniq) else np.array([], dtype=object), index=s.index)
    return out.infer_objects()


def _units_text(v: Variable) -> str:
    shown = sorted(u for u in v.units if u not in ("", "-"))
    return ", ".join(shown) if shown else "no unit"


def validate_observations(df: pd.DataFrame, file: str = "observations.csv") -> list[Problem]:
    """Every problem of a long observation table, as :class:`Problem` objects.

    Line numbers follow the spreadsheet convention of :class:`Problem` (header = line 1,
    first data row = line 2): taken from the index when it is the study loader's ``line``
    index, else from the row position (rows assumed in file order). Checks: required
    columns; integer ``day``; ``time`` as HH:MM when given; known variable; unit present
    and accepted (numeric variables); numeric value and plausible range after
    conversion to the canonical unit (weight-dependent conversions are range-checked
    only for being non-negative); allowed category; and duplicated observations
    (same patient, day, time -- a blank time is a value -- and variable with different
    values; identical repeats are not reported). Repeated untimed readings within a
    day must therefore carry a ``time``.

    Parameters
    ----------
    df : DataFrame
        observations.csv: ``patient_id, day, variable, value`` and ``unit``, optionally
        ``time``.
    file : str, default "observations.csv"
        File name for the messages.

    Returns
    -------
    list of Problem
        Empty when the table is valid.

    Examples
    --------
    Two different ANC values at the same time of the same day cannot both be right:

    >>> obs = pd.DataFrame({"patient_id": "P1", "day": [1, 1], "time": "08:00",
    ...                     "variable": "anc", "value": [500, 600], "unit": "cells/µL"})
    >>> [(p.row, p.message.split(" (")[0]) for p in validate_observations(obs)]
    [(3, 'duplicated observation of anc with a different value')]
    >>> validate_observations(obs.iloc[:1])
    []
    """
    problems: list[Problem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        return [
            Problem(file, f"missing required column '{c}'", expected=", ".join(REQUIRED_COLUMNS))
            for c in missing
        ]
    # Every rule below works on NumPy arrays, each cell rule evaluated once per distinct
    # cell (:func:`_factor`): the same answer on a table of millions of rows and on the
    # few rows a web form sends, where pandas' per-operation cost was most of the time.
    lines = _line_numbers(df)
    n = len(df)
    cells = {c: df[c].to_numpy() for c in ("patient_id", "day", "variable", "value", "unit",
                                           "time") if c in df.columns}

    def add(where, message: str, column: str, expected, values=None) -> None:
        """Problems at positions ``where`` (boolean mask or integer positions);
        ``expected``: the text, or a function giving it (called only when there is a
        problem)."""
        where = np.asarray(where)
        idx = np.flatnonzero(where) if where.dtype == bool else where
        if not len(idx):
            return
        if callable(expected):
            expected = expected()
        vals = cells[column] if values is None else values
        for i in idx:
            val = vals[int(i)]
            problems.append(Problem(file, message, int(lines[int(i)]), column,
                                    None if pd.isna(val) else val, expected))

    def factor(column: str) -> tuple[np.ndarray, list]:
        """:func:`_factor` of a column, from its cells when a few are all text (the
        column is then not read from the frame again)."""
        values = cells[column]
        if n <= _FEW_CELLS and values.dtype == object and \
                all(type(u) is str for u in values):
            return _factor_text(values)
        return _factor(df[column])

    pcodes, puniq = factor("patient_id")
    add(_per_code(pcodes, [_is_blank(u) for u in puniq], bool), "missing patient_id",
        "patient_id", "a study ID")
    day = (_numbers(cells["day"]) if cells["day"].dtype == object else
           pd.to_numeric(df["day"], errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    bad_day = np.isnan(day) | (day != np.round(day))
    add(bad_day, "day is not an integer", "day", "an integer day relative to infusion (day 0)")
    if "time" in df.columns:
        tcodes_, tuniq = factor("time")
        tblank = [_is_blank(u) for u in tuniq]
        add(_per_code(tcodes_, [not b and not re.match(_TIME_RE, str(u).strip())
                                for u, b in zip(tuniq, tblank, strict=True)], bool),
            "time is not HH:MM", "time", "HH:MM (24-hour)")

    vcodes_, vuniq = factor("variable")
    name = _per_code(vcodes_, [variable_name(u) for u in vuniq], object)
    ucodes, uuniq = factor("unit")
    utok = [unit_token(u) for u in uuniq]
    token = _per_code(ucodes, utok, object)
    raw = cells["value"]
    rcodes, runiq = factor("value")
    rblank: list | None = None  # per distinct value, on first use
    canon = np.full(n, np.nan)
    # canonical names are text: a few are factorised as _factor does
    codes, names = _factor_text(name) if n <= _FEW_CELLS else pd.factorize(name)
    known = np.array([nm in VOCABULARY for nm in names], dtype=bool)
    add(~known[codes] if n else np.zeros(0, dtype=bool), "unknown variable", "variable",
        "a variable of remission.vocab.vocabulary (e.g. temperature, anc, ice_score)")
    # the values of every numeric variable parsed in one call (a cell's number is its own)
    numeric = np.flatnonzero(np.array([k and VOCABULARY[nm].kind != "categorical"
                                       for nm, k in zip(names, known, strict=True)],
                                      dtype=bool)[codes]) if n else np.zeros(0, np.int64)
    num_all = np.full(n, np.nan)
    if len(numeric):
        num_all[numeric] = _numbers(raw[numeric])
    for k, vname in enumerate(names):
        if not known[k]:
            continue
        v = VOCABULARY[vname]
        rows = np.flatnonzero(codes == k)
        accepted = np.array([t in v.units for t in utok], dtype=bool)[ucodes[rows]]
        if v.kind == "categorical":
            add(rows[~accepted], f"unexpected unit for {vname}", "unit",
                "'category' or no unit (categorical variable)")
            if rblank is None:
                rblank = [_is_blank(u) for u in runiq]
            sub = np.unique(rcodes[rows])
            ok_level = np.zeros(len(runiq), dtype=bool)
            ok_level[sub] = [_level_token_of(runiq[c]) in v.levels and not rblank[c]
                             for c in sub]
            add(rows[~ok_level[rcodes[rows]]], f"unknown {vname} category", "value",
                "one of " + ", ".join(v.levels))
            continue
        tok = token[rows]
        no_unit = (tok == "") & ("" not in v.units)
        add(rows[no_unit], f"missing unit for {vname}", "unit", lambda v=v: _units_text(v))
        bad_unit = (tok != "") & ~accepted
        add(rows[bad_unit], f"unknown unit for {vname}", "unit", lambda v=v: _units_text(v))
        num = num_all[rows]
        nonnum = np.isnan(num)
        add(rows[nonnum], f"{vname} value is not a number", "value", v.range_text)
        ok = ~nonnum & accepted
        tok_ok = tok[ok]
        # the units in order of first appearance (pd.unique's order; tokens are text)
        for t in dict.fromkeys(tok_ok.tolist()):
            conv = v.units[t]
            sel = rows[ok][tok_ok == t]
            x = num[ok][tok_ok == t]
            if conv.per_weight:
                bad = x < 0
            else:
                c = conv.apply(x)
                canon[sel] = c
                bad = np.zeros(len(c), dtype=bool)
                if v.low is not None:
                    bad |= c < v.low
                if v.high is not None:
                    bad |= c > v.high
                if v.integer:
                    bad |= c != np.round(c)
            if bad.any():  # the expected range written only for a problem
                exp = (f"a non-negative dose in {t}" if conv.per_weight else
                       v.range_text() + (f" (value converted from {t})"
                                         if conv != IDENTITY else ""))
                add(sel[bad], f"{vname} value out of plausible range", "value", exp)

    # duplicated observations: same patient/day/time/variable, different value
    pid_text = _per_code(pcodes, [str(u) for u in puniq], object)
    if "time" in df.columns:
        time = _per_code(tcodes_, ["" if b else str(u).strip()
                                   for u, b in zip(tuniq, tblank, strict=True)], object)
    else:
        time = np.full(n, "", dtype=object)
    # one code per distinct (patient, day, time, variable), in order of first appearance
    day_key = np.where(np.isnan(day), -10**9, day)
    if n <= _FEW_CELLS:  # a few rows: the tuples themselves (dict hashing)
        first: dict[tuple, int] = {}
        kcodes = np.array([first.setdefault(k, len(first)) for k in
                           zip(pid_text.tolist(), day_key.tolist(), time.tolist(),
                               name.tolist(), strict=True)], dtype=np.int64)
    else:
        key = np.zeros(n, dtype=np.int64)
        for col in (pid_text, day_key, time, name):
            c, u = pd.factorize(col)
            # re-factorise after each column so the combined key stays < rows² (no overflow)
            key, _ = pd.factorize(key * (len(u) + 1) + c)
            key = key.astype(np.int64)
        kcodes = key
    # a key seen more than once (codes are 0..K-1: a count per code)
    dup_any = np.bincount(kcodes)[kcodes] > 1 if n > 1 else np.zeros(n, dtype=bool)
    if dup_any.any():
        text = pd.Series(_per_code(rcodes, [str(u).strip().lower() for u in runiq], object))
        value_key = pd.Series(canon).astype(object).where(~np.isnan(canon), text)
        pos = np.flatnonzero(dup_any)
        sub = pd.DataFrame({"k": kcodes[pos], "x": value_key.iloc[pos].astype(str).to_numpy(),
                            "pos": pos})
        nvals = sub.groupby("k")["x"].transform("nunique")
        conflict = sub[nvals.to_numpy() > 1]
        rank = conflict.groupby("k").cumcount().to_numpy()
        firsts = conflict.groupby("k")["pos"].transform("first").to_numpy()
        for i, k, f in zip(conflict["pos"].to_numpy(), rank, firsts, strict=True):
            if k == 0:
                continue
            problems.append(Problem(
                file, f"duplicated observation of {name[i]} with a different value "
                f"(same patient, day and time as line {int(lines[f])})", int(lines[i]),
                "value", raw[i], "one value per patient, day, time and variable"))
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return problems


#: at most this many cells are factorised in a Python dict when they are all text (the
#: few rows a web form sends, where pandas' per-call cost was most of the time); the codes
#: and the distinct cells are those ``pd.factorize`` gives
_FEW_CELLS = 256


def _factor(s: pd.Series) -> tuple[np.ndarray, list]:
    """(code per row, the distinct cells in order of appearance, missing ones included):
    what :func:`_map_unique` applies its function to. (:func:`validate_observations`
    factorises a column of at most :data:`_FEW_CELLS` cells that are all ``str`` with
    :func:`_factor_text` instead: same codes, same distinct cells, two strings being the
    same cell exactly when they are equal, for a dict as for pandas' hash table.)"""
    codes, uniq = pd.factorize(s, use_na_sentinel=False)
    return codes, list(uniq)


def _factor_text(values) -> tuple[np.ndarray, list]:
    """``pd.factorize`` of a few text cells with a dict: (code per cell, int64, in order
    of first appearance; the distinct cells in that order).

    Examples
    --------
    >>> codes, uniq = _factor_text(["anc", "crp", "anc"])
    >>> codes.tolist(), uniq
    ([0, 1, 0], ['anc', 'crp'])
    """
    first: dict[str, int] = {}
    codes = np.array([first.setdefault(u, len(first)) for u in values], dtype=np.int64)
    return codes, list(first)


def _numbers(cells: np.ndarray) -> np.ndarray:
    """``pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce")`` as floats, NaN
    where a cell is not a number.

    For an object array that Series' values are ``cells`` themselves, which is what
    ``pd.to_numeric`` parses for a Series; the array is parsed directly (the same parse,
    without the Series, whose construction cost ten times the parse of a few cells).

    Examples
    --------
    >>> _numbers(np.array(["38.5", "8", "x", None], dtype=object)).tolist()
    [38.5, 8.0, nan, nan]
    """
    if cells.dtype == object:
        out = pd.to_numeric(cells, errors="coerce")
        if out.dtype != object:
            return np.asarray(out, dtype=float)
    return pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)


def _text_numbers(cells: list) -> np.ndarray:
    """``pd.to_numeric(pd.Series(cells)).to_numpy()`` (errors raised): cells that are all
    text make an object Series whose values are the cells as an object array, which is
    what ``pd.to_numeric`` parses; that array is parsed directly (no Series built).

    Examples
    --------
    >>> _text_numbers(["1", "2"]).tolist(), _text_numbers([1.5]).tolist()
    ([1, 2], [1.5])
    """
    if all(type(c) is str for c in cells):
        return np.asarray(pd.to_numeric(np.array(cells, dtype=object)))
    return pd.to_numeric(pd.Series(cells)).to_numpy()


def _per_code(codes: np.ndarray, mapped: list, dtype) -> np.ndarray:
    """``mapped[code]`` per row as an array of ``dtype``."""
    arr = np.empty(len(mapped), dtype=dtype)
    arr[:] = mapped
    return arr[codes] if len(mapped) else np.zeros(0, dtype=dtype)


def _is_blank(u: object) -> bool:
    """Missing or whitespace-only: the rule of :func:`_blank` for one cell."""
    return u is None or (isinstance(u, float) and np.isnan(u)) or str(u).strip() == ""


_LEVEL_SEP = re.compile(r"[\s\-]+")


def _level_token_of(u: object) -> str:
    """:func:`_level_token` of one cell (text, trimmed, lower case, runs of spaces and
    hyphens as one underscore)."""
    return _LEVEL_SEP.sub("_", str(u).strip().lower())


def normalise_observations(
    df: pd.DataFrame,
    weight_kg: Mapping[str, float] | pd.Series | None = None,
    file: str = "observations.csv",
    validated: bool = False,
) -> pd.DataFrame:
    """Validate and convert a long observation table to canonical units.

    Returns columns ``patient_id, day, time, variable, value, category, unit`` (plus
    ``source`` and ``attributed_to`` if present; the four label columns are pandas
    categoricals): ``value`` is
    the canonical number (NaN for categorical variables), ``category`` the normalised
    level (missing for numeric ones), ``unit`` the canonical unit. ``weight_kg``
    (patient -> kg) is needed only for per-kg doses given in the other unit; a missing
    weight is reported as a problem. Raises :class:`~remission.errors.InputError` with
    all problems.

    Parameters
    ----------
    df : DataFrame
        ``patient_id, day, time, variable, value, unit`` as text or numbers (the layout of
        observations.csv; docs/study-format.md). Variable names and units may be written
        as the vocabulary's synonyms (``noradrenaline``, ``mcg/min``...).
    weight_kg : mapping or Series, optional
        Body weight per patient, for per-kg doses given per minute (or the reverse).
    file : str
        File name used in problems.
    validated : bool
        The caller has run :func:`validate_observations` on these rows (or on a table
        containing them) and it reported nothing, so it is not run again (a missing
        weight is still reported). For interfaces that validate a day's rows to show
        problems on their fields and then convert the new ones (remission web's live
        grading); never for rows that were not validated. If such rows hold an unknown
        variable or unit, or a day or value that is not a number, they are validated
        after all and every problem is raised (:class:`~remission.errors.InputError`).

    Returns
    -------
    DataFrame
        The canonical table described above.

    Raises
    ------
    InputError
        Listing every unknown variable, unit, category or out-of-range value with its
        line and column.

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"patient_id": ["P1", "P1"], "day": [1, 1], "time": "",
    ...                     "variable": ["temperature", "noradrenaline"],
    ...                     "value": [101.3, 0.1], "unit": ["°F", "µg/kg/min"]})
    >>> out = normalise_observations(obs, weight_kg={"P1": 70})
    >>> print(out[["variable", "value", "unit"]].round(2).to_string(index=False))
          variable  value   unit
       temperature   38.5     °C
    norepinephrine    7.0 µg/min
    """
    problems = [] if validated else validate_observations(df, file)
    if problems:
        raise InputError(problems)
    try:
        return _canonical_observations(df, weight_kg, file)
    except (KeyError, ValueError, TypeError):
        if not validated:
            raise
        # the caller said these rows were validated, but an unknown variable or unit, or a
        # value or day that is not a number, stopped the conversion: report every problem
        # of the rows with its line, column, value and what was expected
        problems = validate_observations(df, file)
        if not problems:
            raise
        raise InputError(problems) from None


def _canonical_observations(df: pd.DataFrame, weight_kg: Mapping[str, float] | pd.Series | None,
                            file: str) -> pd.DataFrame:
    """The conversion of :func:`normalise_observations` on validated rows."""
    lines = _line_numbers(df)
    df = df.reset_index(drop=True)
    name = _map_unique(df["variable"], variable_name)
    token = _map_unique(df["unit"], unit_token)
    patient = df["patient_id"].astype(str).str.strip()
    day = pd.to_numeric(df["day"]).astype(np.int64)  # before the loop, as it always was
    n = len(df)
    value = np.full(n, np.nan)
    category = np.full(n, None, dtype=object)
    unit = np.full(n, "", dtype=object)
    weights = None if weight_kg is None else pd.Series(weight_kg, dtype=float)
    problems = []
    # rows by (variable, unit token), groups in sorted order (as a sorted groupby), rows in
    # table order within a group; one stable sort of integer codes (a groupby's .groups
    # builds a tuple per row and took a third of this function on long simulated tables)
    vcodes, vnames = pd.factorize(name, sort=True)
    tcodes, tnames = pd.factorize(token, sort=True)
    key = vcodes.astype(np.int64) * (len(tnames) + 1) + tcodes
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    raw = df["value"]
    for rows in np.split(order, bounds) if n else []:
        vname, t = vnames[vcodes[rows[0]]], tnames[tcodes[rows[0]]]
        v = VOCABULARY[vname]
        unit[rows] = v.unit
        if v.kind == "categorical":
            category[rows] = _map_unique(raw.iloc[rows], _level_token_of).to_numpy()
            continue
        conv = v.units[t]
        x = pd.to_numeric(raw.iloc[rows]).to_numpy(dtype=float)
        w = None
        if conv.per_weight:
            pid = patient.iloc[rows]
            w = pid.map(weights) if weights is not None else pd.Series(np.nan, index=pid.index)
            for i in rows[w.isna().to_numpy()]:
                problems.append(Problem(file, f"{vname} in {t} needs the patient's weight_kg",
                                        int(lines[i]), "unit", df.at[i, "unit"],
                                        "weight_kg in patients.csv"))
            w = w.to_numpy(dtype=float)
        value[rows] = conv.apply(x, w)
    if problems:
        raise InputError(problems)
    out = pd.DataFrame({
        "patient_id": patient,
        "day": day,
        "time": (df["time"].astype(str).str.strip().where(~_blank(df["time"]), None)
                 if "time" in df.columns else pd.Series(None, index=df.index, dtype=object)),
        "variable": name,
        "value": value,
        "category": pd.Series(category, index=df.index, dtype=object),
        "unit": pd.Series(unit, index=df.index, dtype=object),
    })
    if "source" in df.columns:
        out["source"] = df["source"]
    if "attributed_to" in df.columns:  # site attribution to another cause (free text)
        att = df["attributed_to"].astype(object).where(~_blank(df["attributed_to"]), None)
        out["attributed_to"] = att.map(lambda u: None if u is None else str(u).strip())
    # repeated labels as categoricals: a byte or two a row, and the graders reuse the codes
    return out.astype({c: "category" for c in ("patient_id", "variable", "category", "unit")})


def _text_or_none(u: object) -> str | None:
    """A cell as :func:`normalise_observations` keeps a free-text one: None when blank
    (the rule of :func:`_blank`), else the stripped text."""
    if u is None or (isinstance(u, float) and np.isnan(u)) or str(u).strip() == "":
        return None
    return str(u).strip()


def normalise_rows(rows: list[Mapping[str, object]],
                   weight_kg: Mapping[str, float] | pd.Series | None = None,
                   file: str = "observations.csv",
                   lines: list[int] | None = None) -> list[tuple]:
    """:func:`normalise_observations` of a few validated rows, without building tables.

    For an interface converting the handful of readings typed for one patient-day
    (remission web's live grading), where the per-call cost of the table operations of
    :func:`normalise_observations` is most of the time. The conversion is the same, step by
    step, with the same helpers (:func:`variable_name`, :func:`~remission.vocab.units.
    unit_token`, the categorical level rule, the vocabulary's
    :class:`~remission.vocab.units.Conversion` applied per (variable, unit) group as one
    array); the result equals ``normalise_observations(pd.DataFrame(rows), weight_kg,
    validated=True).astype(object)`` row for row (tested for every variable and accepted
    unit of :data:`VOCABULARY` in tests/test_vocab_rows.py). Only for rows that passed
    :func:`validate_observations` (as ``validated=True``); a missing weight is still
    reported, and rows that stop the conversion (unknown variable or unit, a day or value
    that is not a number) are validated after all and every problem raised.

    Parameters
    ----------
    rows : list of mapping
        observations.csv rows (``patient_id, day, variable, value, unit``, optionally
        ``time``, ``source``, ``attributed_to``), every row with the same keys (the
        columns of a table).
    weight_kg : mapping or Series, optional
        Body weight per patient, for per-kg doses given per minute (or the reverse).
    file : str
        File name used in problems.
    lines : list of int, optional
        The rows' file lines for problems (default: position + 2).

    Returns
    -------
    list of tuple
        Per row ``(patient_id, day, time, variable, value, category, unit)`` plus
        ``source`` and ``attributed_to`` when the rows have them: ``day`` an int,
        ``value`` the canonical float (NaN for categorical variables), ``category`` the
        level (NaN for numeric variables), ``time`` and ``attributed_to`` None when
        blank.

    Raises
    ------
    InputError
        When a per-kg dose needs a weight the patient does not have, or the rows were not
        valid after all.

    Examples
    --------
    >>> normalise_rows([{"patient_id": "P1", "day": "1", "time": "", "variable":
    ...                  "temperature", "value": "101.3", "unit": "°F"}])
    [('P1', 1, None, 'temperature', 38.5, nan, '°C')]
    >>> normalise_rows([{"patient_id": "P1", "day": "2", "time": "08:00", "variable":
    ...                  "noradrenaline", "value": "0.1", "unit": "µg/kg/min"}],
    ...                weight_kg={"P1": 70})
    [('P1', 2, '08:00', 'norepinephrine', 7.0, nan, 'µg/min')]
    """
    if not rows:
        return []
    lines = list(range(2, 2 + len(rows))) if lines is None else list(lines)
    try:
        return _canonical_rows(rows, weight_kg, file, lines)
    except (KeyError, ValueError, TypeError):
        # rows that were not validated after all: every problem, as normalise_observations
        problems = validate_observations(
            pd.DataFrame(rows, index=pd.Index(lines, name="line")), file)
        if not problems:
            raise
        raise InputError(problems) from None


def _canonical_rows(rows: list[Mapping[str, object]],
                    weight_kg: Mapping[str, float] | pd.Series | None, file: str,
                    lines: list[int]) -> list[tuple]:
    """The conversion of :func:`normalise_rows` on validated rows."""
    keys = rows[0].keys()
    names = [variable_name(r["variable"]) for r in rows]
    tokens = [unit_token(r["unit"]) for r in rows]
    value = np.full(len(rows), np.nan)
    category: list[object] = [np.nan] * len(rows)  # missing, as a categorical gives it
    weights = None if weight_kg is None else (
        weight_kg if isinstance(weight_kg, pd.Series) and weight_kg.dtype == float
        else pd.Series(weight_kg, dtype=float))  # a float Series is read as it is
    pids = [str(r["patient_id"]).strip() for r in rows]
    # before the conversion, as normalise_observations parses it
    days = _text_numbers([r["day"] for r in rows]).astype(np.int64).tolist()
    groups: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(zip(names, tokens, strict=True)):
        groups.setdefault(key, []).append(i)
    problems = []
    for (vname, t), pos in sorted(groups.items()):
        v = VOCABULARY[vname]
        if v.kind == "categorical":
            for i in pos:
                category[i] = _level_token_of(rows[i]["value"])
            continue
        conv = v.units[t]
        x = _text_numbers([rows[i]["value"] for i in pos]).astype(float)
        w = None
        if conv.per_weight:
            w = np.array([np.nan if weights is None else weights.get(pids[i], np.nan)
                          for i in pos], dtype=float)
            for i in np.asarray(pos)[np.isnan(w)]:
                problems.append(Problem(file, f"{vname} in {t} needs the patient's weight_kg",
                                        int(lines[i]), "unit", rows[i]["unit"],
                                        "weight_kg in patients.csv"))
        value[pos] = conv.apply(x, w)
    if problems:
        raise InputError(problems)
    out = []
    for i, r in enumerate(rows):
        row = (pids[i], days[i], _text_or_none(r["time"]) if "time" in keys else np.nan,
               names[i], float(value[i]), category[i], VOCABULARY[names[i]].unit)
        if "source" in keys:
            row += (r["source"],)
        if "attributed_to" in keys:
            row += (_text_or_none(r["attributed_to"]),)
        out.append(row)
    return out
