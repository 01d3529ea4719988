"""Parse and check ``study.toml``: every problem at once, unknown keys are errors."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remission.errors import ProblemLog
from remission.study.schema import (
    RESPONSE_COMPLETE,
    RESPONSE_MRD_NEGATIVE,
    RESPONSE_RESPONDERS,
)

FILE = "study.toml"
DISEASES = ("AML", "B-ALL", "MDS", "MPAL", "T-ALL")
CRITERIA_SYSTEMS: dict[str, tuple[str, ...]] = {
    "response": (
        "as_recorded", "eln2022", "eln2017", "iwg2003", "nccn_aml", "nccn_all",
        "blinatumomab_trials",
    ),
    "crs": ("as_recorded", "astct2019", "lee2014", "cartox2018"),
    "neurotoxicity": ("as_recorded", "icans_astct2019", "cres_cartox2018"),
    "adverse_events": ("ctcae_v5",),
    "cytopenia": ("ctcae_v5", "icaht_2023"),
}
CRITERIA_LABELS: dict[str, str] = {
    "as_recorded": "as recorded by the investigators",
    "eln2022": "ELN 2022 (Döhner et al., Blood 2022)",
    "eln2017": "ELN 2017 (Döhner et al., Blood 2017)",
    "iwg2003": "IWG 2003 (Cheson et al., J Clin Oncol 2003)",
    "nccn_aml": "NCCN AML guidelines",
    "nccn_all": "NCCN ALL guidelines",
    "blinatumomab_trials": "blinatumomab trial criteria (CR/CRh*)",
    "astct2019": "ASTCT consensus 2019 (Lee et al., BBMT 2019)",
    "lee2014": "Lee et al., Blood 2014",
    "cartox2018": "CARTOX (Neelapu et al., Nat Rev Clin Oncol 2018)",
    "icans_astct2019": "ASTCT ICANS 2019 (Lee et al., BBMT 2019)",
    "cres_cartox2018": "CRES, CARTOX-10 (Neelapu et al., Nat Rev Clin Oncol 2018)",
    "ctcae_v5": "CTCAE v5.0 (NCI, 2017)",
    "icaht_2023": "EHA/EBMT ICAHT (Rejeski et al., Blood 2023)",
}

_TOP = {"format", "study", "cohorts", "criteria", "response", "endpoints", "audit", "labs",
        "kinetics"}
LLN_VARIABLES = ("anc", "platelets", "hemoglobin", "wbc", "lymphocytes")  # canonical units
LLOQ_VARIABLES = ("car_copies", "car_cells")
_STUDY = {"name", "disease", "products", "day0", "reference", "anchor_date_column", "synthetic",
          "simulated", "licence", "license"}
_COHORTS = {"label", "column", "levels", "ordered"}
_LEVEL = {"name", "value", "label", "when"}
_RESPONSE = {"assessment_day", "responders", "complete", "mrd_negative"}
_ENDPOINT = {"censor_at", "landmark", "landmarks"}
ENDPOINTS = ("os", "efs", "pfs", "rfs", "dor", "cir")  # definitions: stats/survival/endpoints
_AUDIT = {"claims"}


@dataclass(frozen=True)
class Level:
    name: str
    label: str
    value: Any = None
    when: str | None = None


@dataclass(frozen=True)
class Cohorts:
    label: str
    column: str | None
    levels: tuple[Level, ...]
    ordered: bool


@dataclass(frozen=True)
class StudyConfig:
    name: str
    disease: str
    products: tuple[str, ...]
    day0: str
    reference: str = ""
    anchor_date_column: str | None = None
    synthetic: bool = False
    cohorts: Cohorts | None = None
    criteria: dict[str, str] = field(default_factory=dict)
    assessment_day: int | None = None
    responders: tuple[str, ...] = RESPONSE_RESPONDERS
    complete: tuple[str, ...] = RESPONSE_COMPLETE
    mrd_negative: tuple[str, ...] = RESPONSE_MRD_NEGATIVE
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: str | None = None
    lln: dict[str, float] = field(default_factory=dict)
    lloq: dict[str, float] = field(default_factory=dict)


def parse_config(path: Path, log: ProblemLog) -> StudyConfig | None:
    if not path.exists():
        log.add(FILE, "study.toml is missing", expected="a study.toml file in the study folder")
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        log.add(FILE, "file is not UTF-8 text", expected="UTF-8 encoding")
        return None
    except tomllib.TOMLDecodeError as exc:
        log.add(FILE, f"malformed TOML: {exc}", row=toml_error_line(exc),
                expected="valid TOML (https://toml.io)")
        return None
    _unknown(data, _TOP, "", log)
    if data.get("format", 1) != 1:
        log.add(FILE, "unsupported format version", column="format", value=data.get("format"),
                expected="1")
    st = _table(data, "study", log, required=True)
    _unknown(st, _STUDY, "study.", log)
    name = _str(st, "name", "study.", log, required=True)
    disease = _str(st, "disease", "study.", log, required=True)
    if disease and disease not in DISEASES:
        log.add(FILE, "unknown disease", column="study.disease", value=disease,
                expected="one of " + ", ".join(DISEASES))
    products = st.get("products", [])
    if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
        log.add(FILE, "must be a list of strings", column="study.products", value=products)
        products = []

    cohorts = None
    if "cohorts" in data:
        cohorts = _cohorts(_table(data, "cohorts", log), log)

    crit = _table(data, "criteria", log)
    criteria: dict[str, str] = {}
    for key, val in crit.items():
        if key not in CRITERIA_SYSTEMS:
            log.add(FILE, "unknown key", column=f"criteria.{key}",
                    expected="one of " + ", ".join(CRITERIA_SYSTEMS))
        elif val not in CRITERIA_SYSTEMS[key]:
            log.add(FILE, "unknown criteria system", column=f"criteria.{key}", value=val,
                    expected="one of " + ", ".join(CRITERIA_SYSTEMS[key]))
        else:
            criteria[key] = val

    resp = _table(data, "response", log)
    _unknown(resp, _RESPONSE, "response.", log)
    kw: dict[str, Any] = {}
    for key in ("responders", "complete", "mrd_negative"):
        if key in resp:
            v = resp[key]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                log.add(FILE, "must be a list of response categories", column=f"response.{key}",
                        value=v)
            else:
                kw[key] = tuple(v)
    day = resp.get("assessment_day")
    if day is not None and (not isinstance(day, int) or day < 0):
        log.add(FILE, "must be a whole number of days >= 0", column="response.assessment_day",
                value=day)
        day = None

    endpoints: dict[str, dict[str, Any]] = {}
    for ename, spec in _table(data, "endpoints", log).items():
        if not isinstance(spec, dict):
            log.add(FILE, "must be a table", column=f"endpoints.{ename}", value=spec)
            continue
        _unknown(spec, _ENDPOINT, f"endpoints.{ename}.", log)
        if ename not in ENDPOINTS:
            log.add(FILE, "unknown endpoint", column=f"endpoints.{ename}",
                    expected="one of " + ", ".join(ENDPOINTS))
        for c in spec.get("censor_at", []):
            if c != "transplant":
                log.add(FILE, "unsupported censoring event", column=f"endpoints.{ename}.censor_at",
                        value=c, expected='"transplant"')
        lm = spec.get("landmarks", [])
        if not isinstance(lm, list) or not all(isinstance(x, int | float) for x in lm):
            log.add(FILE, "must be a list of days", column=f"endpoints.{ename}.landmarks",
                    value=lm)
        endpoints[ename] = dict(spec)

    audit = _table(data, "audit", log)
    _unknown(audit, _AUDIT, "audit.", log)
    labs = _table(data, "labs", log)
    _unknown(labs, {"lln"}, "labs.", log)
    lln = _positive_map(labs.get("lln", {}), "labs.lln", LLN_VARIABLES, log)
    kin = _table(data, "kinetics", log)
    _unknown(kin, {"lloq"}, "kinetics.", log)
    lloq = _positive_map(kin.get("lloq", {}), "kinetics.lloq", LLOQ_VARIABLES, log)
    if log:
        return None
    return StudyConfig(
        name=name or "",
        disease=disease or "",
        products=tuple(products),
        day0=str(st.get("day0", "cell infusion")),
        reference=str(st.get("reference", "")),
        anchor_date_column=st.get("anchor_date_column"),
        synthetic=bool(st.get("synthetic", False) or st.get("simulated", False)),
        cohorts=cohorts,
        criteria=criteria,
        assessment_day=day,
        endpoints=endpoints,
        claims=audit.get("claims"),
        lln=lln,
        lloq=lloq,
        **kw,
    )


def _positive_map(tab: object, where: str, allowed: tuple[str, ...], log: ProblemLog
                  ) -> dict[str, float]:
    """A table of variable -> positive number (canonical units of the vocabulary)."""
    if not isinstance(tab, dict):
        log.add(FILE, "must be a table of variable = number", column=where, value=tab)
        return {}
    out = {}
    for k, v in tab.items():
        if k not in allowed:
            log.add(FILE, "unknown variable", column=f"{where}.{k}",
                    expected="one of " + ", ".join(allowed))
        elif not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
            log.add(FILE, "must be a positive number", column=f"{where}.{k}", value=v)
        else:
            out[k] = float(v)
    return out


def toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    """Line of a TOML syntax error (Python 3.11 only puts it in the message)."""
    line = getattr(exc, "lineno", None)
    if line is None:
        m = re.search(r"at line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
    return line


def _cohorts(tab: dict[str, Any], log: ProblemLog) -> Cohorts | None:
    _unknown(tab, _COHORTS, "cohorts.", log)
    levels_raw = tab.get("levels")
    if not isinstance(levels_raw, list) or not levels_raw:
        log.add(FILE, "must be a non-empty list of levels", column="cohorts.levels",
                value=levels_raw, expected='[{ name = "A", value = 5e5 }, ...]')
        return None
    column = tab.get("column")
    levels = []
    for i, lv in enumerate(levels_raw, start=1):
        where = f"cohorts.levels[{i}]"
        if not isinstance(lv, dict):
            log.add(FILE, "must be a table", column=where, value=lv)
            continue
        _unknown(lv, _LEVEL, where + ".", log)
        if "name" not in lv:
            log.add(FILE, "level has no name", column=where)
            continue
        if column is None and "when" not in lv:
            log.add(FILE, "level needs 'when' (an expression) when cohorts.column is not set",
                    column=where)
        if column is not None and "value" not in lv:
            log.add(FILE, "level needs 'value' (a value of cohorts.column)", column=where)
        levels.append(Level(name=str(lv["name"]), label=str(lv.get("label", lv["name"])),
                            value=lv.get("value"), when=lv.get("when")))
    names = [lv.name for lv in levels]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        log.add(FILE, "duplicate level name", column="cohorts.levels", value=dup)
    return Cohorts(label=str(tab.get("label", "Group")), column=column, levels=tuple(levels),
                   ordered=bool(tab.get("ordered", False)))


def _table(data: dict[str, Any], key: str, log: ProblemLog, required: bool = False
           ) -> dict[str, Any]:
    v = data.get(key)
    if v is None:
        if required:
            log.add(FILE, "required table is missing", column=f"[{key}]")
        return {}
    if not isinstance(v, dict):
        log.add(FILE, "must be a table", column=key, value=v)
        return {}
    return v


def _str(tab: dict[str, Any], key: str, prefix: str, log: ProblemLog, required: bool = False
         ) -> str | None:
    v = tab.get(key)
    if v is None:
        if required:
            log.add(FILE, "required key is missing", column=prefix + key)
        return None
    if not isinstance(v, str):
        log.add(FILE, "must be a string", column=prefix + key, value=v)
        return None
    return v


def _unknown(tab: dict[str, Any], known: set[str], prefix: str, log: ProblemLog) -> None:
    for k in tab:
        if k not in known:
            log.add(FILE, "unknown key", column=prefix + k,
                    expected="one of " + ", ".join(sorted(known)))
