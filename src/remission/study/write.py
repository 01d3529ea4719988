"""Write ``study.toml`` from a :class:`~remission.study.config.StudyConfig`.

The study package is the only code that knows the folder schema: whoever writes a study
folder (the in-silico trial of :mod:`remission.sim`, a test, a conversion script) builds
a :class:`StudyConfig` and lets :func:`study_toml` serialise it. The text is read back
with the loader's own parser (:func:`~remission.study.config.parse_config_text`) before it
is returned, so what is written is, by construction, what :func:`remission.study.
load_study` reads: an invalid config raises :class:`~remission.errors.InputError` with the
loader's problems, and nothing is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from remission.errors import ProblemLog
from remission.io.atomic import write_text
from remission.study.config import (
    CRITERIA_SYSTEMS,
    FILE,
    Cohorts,
    StudyConfig,
    parse_config_text,
)

__all__ = ["study_toml", "write_study_toml"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def _string(s: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _string(k)


def _value(v: Any) -> str:
    """A TOML value for a str, bool, int, float (shortest exact repr), list or mapping."""
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, Sequence):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return _inline(v)
    raise TypeError(f"cannot write {type(v).__name__} {v!r} to study.toml")


def _inline(m: Mapping[str, Any], value: Any = None) -> str:
    if not m:
        return "{}"
    fmt = value or _value
    return "{ " + ", ".join(f"{_key(k)} = {fmt(v)}" for k, v in m.items()) + " }"


def _quantity(v: float) -> str:
    """A [labs]/[kinetics] number: the loader reads every one as a float, so a whole
    number is written without a fraction (``150``, as a person would write it)."""
    if math.isfinite(v) and float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return _value(float(v))


def _cohort_lines(c: Cohorts) -> list[str]:
    lines = ["[cohorts]", f"label = {_string(c.label)}"]
    if c.column is not None:
        lines.append(f"column = {_string(c.column)}")
    if c.ordered:
        lines.append("ordered = true")
    lines.append("levels = [")
    for lv in c.levels:
        item: dict[str, Any] = {"name": lv.name}
        if lv.label != lv.name:
            item["label"] = lv.label
        if lv.value is not None:
            item["value"] = lv.value
        if lv.when is not None:
            item["when"] = lv.when
        lines.append(f"  {_inline(item)},")
    lines.append("]")
    return lines


def study_toml(config: StudyConfig, comments: Sequence[str] = ()) -> str:
    """The text of ``study.toml`` for ``config``, checked by reading it back.

    Tables are written in the order of docs/study-format.md: ``[study]``, ``[cohorts]``,
    ``[criteria]``, ``[response]``, ``[labs]``, ``[kinetics]``, ``[endpoints.*]``,
    ``[audit]``, ``[report]``; a table with nothing to say is left out (the loader's
    defaults apply), the response categories are always written out. Same config, same
    bytes.

    Parameters
    ----------
    config : StudyConfig
        The study's configuration (``lines`` is ignored).
    comments : sequence of str, default ()
        Lines written as TOML comments (``# ...``) at the top, e.g. provenance.

    Returns
    -------
    str
        The TOML text, ending with a newline.

    Raises
    ------
    InputError
        When the config is not a valid study (e.g. an unknown disease or criteria system):
        the loader's problems, naming the key.
    ValueError
        When the text would read back as a different config (a writer defect).

    Examples
    --------
    >>> cfg = StudyConfig(name="CAR-T 01", disease="AML", products=("CLL1 CAR-T",),
    ...                   day0="CAR-T infusion", criteria={"crs": "astct2019"},
    ...                   responders=("CR", "CRi", "PR"), complete=("CR", "CRi"),
    ...                   mrd_negative=("MRD-CR",), lln={"platelets": 150.0})
    >>> print(study_toml(cfg, comments=["written by a test"]), end="")
    # written by a test
    format = 1
    <BLANKLINE>
    [study]
    name = "CAR-T 01"
    disease = "AML"
    products = ["CLL1 CAR-T"]
    day0 = "CAR-T infusion"
    <BLANKLINE>
    [criteria]
    crs = "astct2019"
    <BLANKLINE>
    [response]
    responders = ["CR", "CRi", "PR"]
    complete = ["CR", "CRi"]
    mrd_negative = ["MRD-CR"]
    <BLANKLINE>
    [labs]
    lln = { platelets = 150 }
    """
    c = config
    study = ["[study]", f"name = {_string(c.name)}", f"disease = {_string(c.disease)}",
             f"products = {_value(list(c.products))}", f"day0 = {_string(c.day0)}"]
    if c.synthetic:
        study.append("synthetic = true")
    if c.reference:
        study.append(f"reference = {_string(c.reference)}")
    if c.anchor_date_column is not None:
        study.append(f"anchor_date_column = {_string(c.anchor_date_column)}")
    tables = [study]
    if c.cohorts is not None:
        tables.append(_cohort_lines(c.cohorts))
    order = [*CRITERIA_SYSTEMS, *sorted(set(c.criteria) - set(CRITERIA_SYSTEMS))]
    crit = {k: c.criteria[k] for k in order if k in c.criteria}  # unknown: the loader says
    if crit:
        tables.append(["[criteria]", *(f"{_key(k)} = {_value(v)}" for k, v in crit.items())])
    resp = ["[response]"]
    if c.assessment_day is not None:
        resp.append(f"assessment_day = {_value(c.assessment_day)}")
    resp += [f"responders = {_value(list(c.responders))}",
             f"complete = {_value(list(c.complete))}",
             f"mrd_negative = {_value(list(c.mrd_negative))}"]
    tables.append(resp)
    if c.lln:
        tables.append(["[labs]", f"lln = {_inline(c.lln, _quantity)}"])
    if c.lloq:
        tables.append(["[kinetics]", f"lloq = {_inline(c.lloq, _quantity)}"])
    for name, spec in c.endpoints.items():
        tables.append([f"[endpoints.{_key(name)}]",
                       *(f"{_key(k)} = {_value(v)}" for k, v in spec.items())])
    if c.claims is not None:
        tables.append(["[audit]", f"claims = {_string(c.claims)}"])
    if c.number_style != "remission":
        tables.append(["[report]", f"number_style = {_string(c.number_style)}"])
    head = [f"# {line}".rstrip() for text in comments for line in text.splitlines() or [""]]
    text = "\n".join([*head, "format = 1", ""] + ["\n".join(t) + "\n" for t in tables])
    _check_round_trip(config, text)
    return text


def _check_round_trip(config: StudyConfig, text: str) -> None:
    log = ProblemLog()
    back = parse_config_text(text, log)
    log.raise_if_any()
    assert back is not None
    differ = [f.name for f in fields(StudyConfig)
              if f.compare and getattr(back, f.name) != getattr(config, f.name)]
    if differ:
        raise ValueError(f"{FILE} would read back differently in: {', '.join(differ)}")


def write_study_toml(config: StudyConfig, folder: str | Path,
                     comments: Sequence[str] = ()) -> Path:
    """Write ``folder/study.toml`` for ``config`` atomically (see :func:`study_toml`).

    Parameters
    ----------
    config : StudyConfig
        The study's configuration.
    folder : str or Path
        The study folder (created if missing).
    comments : sequence of str, default ()
        Comment lines at the top of the file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        When ``config`` is not a valid study; nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> from remission.study.config import parse_config
    >>> cfg = StudyConfig(name="X", disease="B-ALL", products=(), day0="infusion")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_study_toml(cfg, d)
    ...     parse_config(path, ProblemLog()) == cfg
    True
    """
    return write_text(Path(folder) / FILE, study_toml(config, comments))
