"""Parse and check ``study.toml``: every problem at once, unknown keys are errors."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remission.core.identity import StudyIdentity
from remission.errors import ProblemLog
from remission.numbers import STYLES
from remission.study.schema import (
    RESPONSE_CATEGORIES,
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

_TOP = {"format", "report", "study", "cohorts", "criteria", "response", "endpoints", "audit",
        "labs", "kinetics", "singlecell"}  # [singlecell] is checked by remission.singlecell.io
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
class StudyConfig(StudyIdentity):
    """study.toml, parsed and checked: the identity fields (:class:`~remission.core.identity.
    StudyIdentity`, shared with the report header) plus cohorts, criteria, endpoints,
    reference ranges and where each key was found (``lines``)."""

    anchor_date_column: str | None = None
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
    # key -> line in study.toml: where a key was read, not what it says (not compared)
    lines: dict[str, int] = field(default_factory=dict, compare=False)


def parse_config(path: Path, log: ProblemLog) -> StudyConfig | None:
    """Parse ``study.toml`` into a :class:`StudyConfig`; every problem goes to ``log``.

    Every key is checked for type and range (a TOML boolean is never a number, a string is
    never a boolean); problems name the key and, where it can be found, its line.

    Parameters
    ----------
    path : Path
        The study.toml file.
    log : ProblemLog
        Collects problems.

    Returns
    -------
    StudyConfig or None
        None when any problem was found.

    Examples
    --------
    >>> from remission.errors import ProblemLog
    >>> log = ProblemLog()
    >>> parse_config(Path("no/such/study.toml"), log) is None
    True
    """
    if path.is_dir():
        log.add(FILE, "is a folder, not a file", expected="a study.toml file")
        return None
    if not path.exists():
        log.add(FILE, "study.toml is missing", expected="a study.toml file in the study folder")
        return None
    text = read_toml_text(path, FILE, log)
    if text is None:
        return None
    return parse_config_text(text, log)


def parse_config_text(text: str, log: ProblemLog) -> StudyConfig | None:
    """Parse the text of a ``study.toml`` into a :class:`StudyConfig` (see
    :func:`parse_config`, which reads the file); every problem goes to ``log``.

    Parameters
    ----------
    text : str
        TOML text.
    log : ProblemLog
        Collects problems (file ``study.toml``, with the key and its line).

    Returns
    -------
    StudyConfig or None
        None when any problem was found.

    Examples
    --------
    >>> from remission.errors import ProblemLog
    >>> cfg = parse_config_text('[study]\\nname = "X"\\ndisease = "AML"\\n', ProblemLog())
    >>> cfg.name, cfg.day0
    ('X', 'cell infusion')
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        log.add(FILE, f"malformed TOML: {exc}", row=toml_error_line(exc),
                expected="valid TOML (https://toml.io)")
        return None
    log = _LineLog(log, key_lines(text))
    _unknown(data, _TOP, "", log)
    fmt = data.get("format", 1)
    if not _is_int(fmt) or fmt != 1:
        log.add(FILE, "unsupported format version", column="format", value=fmt, expected="1")
    st = _table(data, "study", log, required=True)
    _unknown(st, _STUDY, "study.", log)
    name = _str(st, "name", "study.", log, required=True)
    disease = _str(st, "disease", "study.", log, required=True)
    if disease and disease not in DISEASES:
        log.add(FILE, "unknown disease", column="study.disease", value=disease,
                expected="one of " + ", ".join(DISEASES))
    products = st.get("products", [])
    if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
        log.add(FILE, "must be a list of strings", column="study.products", value=products,
                expected='["product name", ...]')
        products = []
    day0 = _str(st, "day0", "study.", log) or "cell infusion"
    reference = _str(st, "reference", "study.", log) or ""
    anchor = _str(st, "anchor_date_column", "study.", log)
    for key in ("licence", "license"):
        _str(st, key, "study.", log)
    synthetic = _bool(st, "synthetic", "study.", log) or _bool(st, "simulated", "study.", log)

    cohorts = None
    if "cohorts" in data:
        cohorts = _cohorts(_table(data, "cohorts", log), log)

    crit = _table(data, "criteria", log)
    criteria: dict[str, str] = {}
    for key, val in crit.items():
        if key not in CRITERIA_SYSTEMS:
            log.add(FILE, "unknown key", column=f"criteria.{key}",
                    expected="one of " + ", ".join(CRITERIA_SYSTEMS))
        elif not isinstance(val, str) or val not in CRITERIA_SYSTEMS[key]:
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
                        value=v, expected='["CR", "CRi", ...]')
                continue
            unknown = [x for x in v if x not in RESPONSE_CATEGORIES]
            if unknown:
                log.add(FILE, "unknown response category", column=f"response.{key}",
                        value=", ".join(unknown),
                        expected="categories of best_response: " + ", ".join(RESPONSE_CATEGORIES))
                continue
            kw[key] = tuple(v)
    day = resp.get("assessment_day")
    if day is not None and (not _is_int(day) or not 0 <= day <= MAX_DAY):
        log.add(FILE, "must be a whole number of days", column="response.assessment_day",
                value=day, expected=f"an integer from 0 to {MAX_DAY}")
        day = None

    endpoints: dict[str, dict[str, Any]] = {}
    for ename, spec in _table(data, "endpoints", log).items():
        if not isinstance(spec, dict):
            log.add(FILE, "must be a table", column=f"endpoints.{ename}", value=spec,
                    expected=f"[endpoints.{ename}]")
            continue
        _unknown(spec, _ENDPOINT, f"endpoints.{ename}.", log)
        if ename not in ENDPOINTS:
            log.add(FILE, "unknown endpoint", column=f"endpoints.{ename}",
                    expected="one of " + ", ".join(ENDPOINTS))
        censor = spec.get("censor_at", [])
        if not isinstance(censor, list):
            log.add(FILE, "must be a list", column=f"endpoints.{ename}.censor_at", value=censor,
                    expected='[] or ["transplant"]')
            censor = []
        for c in censor:
            if c != "transplant":
                log.add(FILE, "unsupported censoring event", column=f"endpoints.{ename}.censor_at",
                        value=c, expected='"transplant"')
        lm = spec.get("landmarks", [])
        if not isinstance(lm, list) or not all(_is_day(x) for x in lm):
            log.add(FILE, "must be a list of days", column=f"endpoints.{ename}.landmarks",
                    value=lm, expected=f"finite numbers of days from 0 to {MAX_DAY}")
        if "landmark" in spec and not _is_day(spec["landmark"]):
            log.add(FILE, "must be a day", column=f"endpoints.{ename}.landmark",
                    value=spec["landmark"], expected=f"a finite number of days from 0 to {MAX_DAY}")
        endpoints[ename] = dict(spec)

    audit = _table(data, "audit", log)
    _unknown(audit, _AUDIT, "audit.", log)
    claims = _str(audit, "claims", "audit.", log)
    if claims is not None and (not claims.strip() or Path(claims).is_absolute()
                               or ".." in Path(claims).parts):
        log.add(FILE, "must name a file inside the study folder", column="audit.claims",
                value=claims, expected='a relative path such as "claims.toml"')
    labs = _table(data, "labs", log)
    _unknown(labs, {"lln"}, "labs.", log)
    lln = _positive_map(labs.get("lln", {}), "labs.lln", LLN_VARIABLES, log)
    kin = _table(data, "kinetics", log)
    _unknown(kin, {"lloq"}, "kinetics.", log)
    lloq = _positive_map(kin.get("lloq", {}), "kinetics.lloq", LLOQ_VARIABLES, log)
    rep = _table(data, "report", log)
    _unknown(rep, {"number_style"}, "report.", log)
    number_style = _str(rep, "number_style", "report.", log) or "remission"
    if number_style not in STYLES:
        log.add(FILE, "unknown number style", column="report.number_style",
                value=number_style, expected="one of " + ", ".join(STYLES))
    if log:
        return None
    return StudyConfig(
        name=name or "",
        disease=disease or "",
        products=tuple(products),
        day0=day0,
        reference=reference,
        anchor_date_column=anchor,
        synthetic=synthetic,
        cohorts=cohorts,
        criteria=criteria,
        assessment_day=day,
        endpoints=endpoints,
        claims=claims,
        lln=lln,
        lloq=lloq,
        lines=log.lines,
        number_style=number_style,
        **kw,
    )


MAX_DAY = 36500  # 100 years of follow-up: anything larger is a typo or an overflow


def read_toml_text(path: Path, label: str, log: ProblemLog) -> str | None:
    """Text of a TOML file (a UTF-8 byte-order mark, as Windows editors write, is accepted).

    Parameters
    ----------
    path : Path
        File to read.
    label : str
        File name used in problems.
    log : ProblemLog
        Collects problems.

    Returns
    -------
    str or None
        None (with a problem logged) when the file cannot be read as UTF-8 text.

    Examples
    --------
    >>> from remission.errors import ProblemLog
    >>> read_toml_text(Path("/nonexistent.toml"), "x.toml", ProblemLog()) is None
    True
    """
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        log.add(label, "is a folder, not a file", expected="a TOML file")
        return None
    except OSError as exc:
        log.add(label, f"cannot be read: {exc.strerror or exc}", expected="a readable TOML file")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        log.add(label, f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x})", row=line,
                expected="UTF-8 encoding")
        return None
    return text


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Line (1-based) where each dotted key or table of a TOML text is defined.

    A best-effort scan for messages (the TOML itself is parsed by :mod:`tomllib`): table
    headers and ``key =`` lines; keys inside inline tables map to the line of their parent.

    Parameters
    ----------
    text : str
        TOML text.

    Returns
    -------
    dict
        Dotted key -> line number.

    Examples
    --------
    >>> key_lines('format = 1\\n[study]\\nname = "x"\\n')["study.name"]
    3
    """
    out: dict[str, int] = {}
    table = ""
    for i, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            table = ".".join(p.strip().strip('"\'') for p in m.group(1).split("."))
            out.setdefault(table, i)
            continue
        m = _KEY.match(line)
        if m and not line.lstrip().startswith("#"):
            key = ".".join(p.strip().strip('"\'') for p in m.group(1).split("."))
            out.setdefault(f"{table}.{key}" if table else key, i)
    return out


class _LineLog(ProblemLog):
    """A ProblemLog view that adds the line of the key named in ``column``."""

    def __init__(self, inner: ProblemLog, lines: dict[str, int]) -> None:
        super().__init__()
        self.inner = inner
        self.lines = lines
        self.problems = inner.problems

    def add(self, file: str, message: str, **kw: Any) -> None:
        if kw.get("row") is None and kw.get("column"):
            # the key's line, else its table's; a missing table is reported at line 1
            kw["row"] = line_of(self.lines, str(kw["column"])) or 1
        self.inner.add(file, message, **kw)


def line_of(lines: dict[str, int], key: str) -> int | None:
    """Line of ``key`` (``a.b[2].c`` style) or of its nearest defined parent.

    Parameters
    ----------
    lines : dict
        Dotted key -> line, from :func:`key_lines`.
    key : str
        The key a problem names; list indices (``[2]``) are ignored.

    Returns
    -------
    int or None
        The line, or None when neither the key nor any parent is in ``lines``.

    Examples
    --------
    >>> lines = key_lines('[cohorts]\\nlabel = "Arm"\\nlevels = [\\n  { name = "A" },\\n]\\n')
    >>> line_of(lines, "cohorts.levels[1].value"), line_of(lines, "criteria.crs")
    (3, None)
    """
    key = re.sub(r"\[[^\]]*\]", "", key).strip("[]")
    parts = key.split(".")
    while parts:
        k = ".".join(parts)
        if k in lines:
            return lines[k]
        parts.pop()
    return None


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_day(v: object) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            and 0 <= v <= MAX_DAY)


def _bool(tab: dict[str, Any], key: str, prefix: str, log: ProblemLog) -> bool:
    v = tab.get(key, False)
    if not isinstance(v, bool):
        log.add(FILE, "must be true or false (without quotes)", column=prefix + key, value=v,
                expected="true or false")
        return False
    return v


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
        elif (not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v)
              or v <= 0):
            log.add(FILE, "must be a positive number", column=f"{where}.{k}", value=v,
                    expected="a finite number > 0")
        else:
            out[k] = float(v)
    return out


def toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    """Line of a TOML syntax error (Python 3.11 only puts it in the message).

    Parameters
    ----------
    exc : tomllib.TOMLDecodeError
        The parser's error.

    Returns
    -------
    int or None
        The line, when the error says it.

    Examples
    --------
    >>> try:
    ...     tomllib.loads('format = 1\\nname = "unclosed\\n')
    ... except tomllib.TOMLDecodeError as exc:
    ...     toml_error_line(exc)
    2
    """
    line = getattr(exc, "lineno", None)
    if line is None:
        m = re.search(r"at line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
    return line


def _cohorts(tab: dict[str, Any], log: ProblemLog) -> Cohorts | None:
    _unknown(tab, _COHORTS, "cohorts.", log)
    label = _str(tab, "label", "cohorts.", log) or "Group"
    column = _str(tab, "column", "cohorts.", log)
    ordered = _bool(tab, "ordered", "cohorts.", log)
    levels_raw = tab.get("levels")
    if not isinstance(levels_raw, list) or not levels_raw:
        log.add(FILE, "must be a non-empty list of levels", column="cohorts.levels",
                value=levels_raw, expected='[{ name = "A", value = 5e5 }, ...]')
        return None
    levels = []
    for i, lv in enumerate(levels_raw, start=1):
        where = f"cohorts.levels[{i}]"
        if not isinstance(lv, dict):
            log.add(FILE, "must be a table", column=where, value=lv,
                    expected='{ name = "A", value = ... } or { name = "A", when = "..." }')
            continue
        _unknown(lv, _LEVEL, where + ".", log)
        name = lv.get("name")
        if not isinstance(name, str) or not name.strip():
            log.add(FILE, "level needs a name (text)", column=f"{where}.name", value=name,
                    expected='name = "A"')
            continue
        lab = lv.get("label", name)
        if not isinstance(lab, str):
            log.add(FILE, "must be a string", column=f"{where}.label", value=lab)
            lab = name
        value = lv.get("value")
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, int | float | str)
                                  or (isinstance(value, float) and not math.isfinite(value))):
            log.add(FILE, "must be a finite number or a string", column=f"{where}.value",
                    value=value, expected="a value of the cohort column, e.g. 5e5 or \"A\"")
        when = lv.get("when")
        if when is not None:
            if not isinstance(when, str) or not when.strip():
                log.add(FILE, "must be an expression (a string)", column=f"{where}.when",
                        value=when, expected='e.g. "age < 18"')
                when = None
            else:
                try:
                    compile(when, "<when>", "eval")
                except SyntaxError as exc:
                    log.add(FILE, f"cohort expression is not valid: {exc.msg}",
                            column=f"{where}.when", value=when,
                            expected='a comparison of patients.csv columns, e.g. "age < 18"')
        if column is None and "when" not in lv:
            log.add(FILE, "level needs 'when' (an expression) when cohorts.column is not set",
                    column=where)
        if column is not None and "value" not in lv:
            log.add(FILE, "level needs 'value' (a value of cohorts.column)", column=where)
        levels.append(Level(name=name, label=lab, value=value, when=when))
    names = [lv.name for lv in levels]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        log.add(FILE, "duplicate level name", column="cohorts.levels", value=dup)
    return Cohorts(label=label, column=column, levels=tuple(levels), ordered=ordered)


def _table(data: dict[str, Any], key: str, log: ProblemLog, required: bool = False
           ) -> dict[str, Any]:
    v = data.get(key)
    if v is None:
        if required:
            log.add(FILE, "required table is missing", column=f"[{key}]")
        return {}
    if not isinstance(v, dict):
        log.add(FILE, "must be a table", column=key, value=v, expected=f"a [{key}] table")
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
        log.add(FILE, "must be a string (in quotes)", column=prefix + key, value=v,
                expected='text in quotes, e.g. "..."')
        return None
    return v


def _unknown(tab: dict[str, Any], known: set[str], prefix: str, log: ProblemLog) -> None:
    for k in tab:
        if k not in known:
            log.add(FILE, "unknown key", column=prefix + k,
                    expected="one of " + ", ".join(sorted(known)))
