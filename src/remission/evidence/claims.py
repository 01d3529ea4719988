"""Read a ``claims.toml`` of published numbers and reconstruct each one.

Format (provisional; tables other than these are ignored)::

    [[comparison]]            # two proportions and a P value
    label = "CR/PR, VEN vs no VEN"
    pct1 = "78.8"             # printed percentages, as strings to keep trailing zeros
    pct2 = "66.7"
    reported_p = "0.279"      # or "<0.0001"; optional (then consistency only)
    n1 = 33                   # optional group sizes / counts
    n2 = 30
    x1 = 26
    x2 = 20
    n1_max = 12               # optional search bounds when n is not printed
    n2_max = 21
    subgroup = ">60% blasts"  # optional: comparisons in the same subgroup share n1, n2
    source = "Abstract, Results"

    [[mean]]                  # label, mean (string), n, granularity (optional), source
    [[median]]                # label, median, low, high, n, granularity (optional), source
    [[ratio]]                 # label, estimate, lower, upper, reported_p (optional),
                              # conf (optional, 0.95), source: HR/OR/RR with its CI and P
    [[proportion]]            # label, pct, n, parts (optional labels of proportions whose
                              # counts must add up to this one), source
    [[distribution]]          # label, n, counts = { category = patients, ... } (low to
                              # high), source: e.g. CRS by maximum grade
    [[range]]                 # label, low, high, n, granularity (optional, 1), unit
                              # (optional), var (optional ADSL variable), source: every one
                              # of n patients' values lies in [low, high], e.g. "peak
                              # between days 7 and 14"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from remission.errors import ProblemLog
from remission.evidence.attainability import (
    grim_mean,
    median_range_attainable,
    range_attainable,
)
from remission.evidence.proportions import Printed, reconstruct_two_proportions
from remission.evidence.ratios import ratio_ci_consistency
from remission.results import Result
from remission.study.config import toml_error_line

_COMPARISON_KEYS = {"label", "reported_p", "pct1", "pct2", "n1", "n2", "x1", "x2", "source",
                    "n1_max", "n2_max", "subgroup"}

#: Type of each field a claim table may hold (checked before anything is reconstructed):
#: ``count`` a whole number >= 0, ``size`` a whole number >= 1, ``number`` a finite number
#: (or a printed number in quotes), ``positive`` a finite number > 0, ``level`` a number
#: strictly between 0 and 1, ``text`` a string.
_FIELD_TYPES: dict[str, dict[str, str]] = {
    "comparison": {"label": "text", "source": "text", "subgroup": "text", "n1": "size",
                   "n2": "size", "x1": "count", "x2": "count", "n1_max": "size",
                   "n2_max": "size"},
    "mean": {"label": "text", "source": "text", "mean": "number", "n": "size",
             "granularity": "positive"},
    "median": {"label": "text", "source": "text", "median": "number", "low": "number",
               "high": "number", "n": "size", "granularity": "positive"},
    "ratio": {"label": "text", "source": "text", "estimate": "number", "lower": "number",
              "upper": "number", "conf": "level"},
    "proportion": {"label": "text", "source": "text", "pct": "number", "n": "size",
                   "parts": "texts"},
    "distribution": {"label": "text", "source": "text", "n": "size", "counts": "table"},
    "range": {"label": "text", "source": "text", "low": "number", "high": "number",
              "n": "size", "granularity": "positive", "unit": "text", "var": "text"},
}
_RANGE_KEYS = {"label", "source", "low", "high", "n", "granularity", "unit", "var"}
_EXPECTED = {"count": "a whole number >= 0 (no quotes)", "size": "a whole number >= 1",
             "number": 'a finite number, or a printed number in quotes ("12.5")',
             "positive": "a finite number > 0", "level": "a number between 0 and 1",
             "text": "text in quotes", "texts": 'a list of labels ["...", ...]',
             "table": "{ category = patients, ... }"}


def _type_ok(kind: str, v: Any) -> bool:
    import math

    if kind in ("count", "size"):
        return isinstance(v, int) and not isinstance(v, bool) and v >= (kind == "size")
    if kind in ("number", "positive", "level"):
        if isinstance(v, str) and kind == "number":
            try:
                Printed.parse(v)
            except (ArithmeticError, ValueError):
                return False
            return True
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return False
        return kind == "number" or (v > 0 if kind == "positive" else 0 < v < 1)
    if kind == "text":
        return isinstance(v, str)
    if kind == "texts":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    return isinstance(v, dict)


def _check_types(doc: dict[str, Any], path: Path, log: ProblemLog) -> None:
    """Every known field of every claim table has the type its reconstruction needs; a
    table that is not a list of tables, and counts above their group size, are problems."""
    for table, fields in _FIELD_TYPES.items():
        entries = doc.get(table, [])
        if not isinstance(entries, list) or not all(isinstance(c, dict) for c in entries):
            log.add(str(path), f"'{table}' must be written as [[{table}]] tables",
                    column=table, expected=f"[[{table}]] headers")
            doc[table] = []
            continue
        for i, c in enumerate(entries, 1):
            for k, kind in fields.items():
                if k in c and not _type_ok(kind, c[k]):
                    log.add(str(path), f"[[{table}]] #{i}: wrong type", column=k,
                            value=c[k], expected=_EXPECTED[kind])
            for x, n in (("x1", "n1"), ("x2", "n2")):
                if (table == "comparison" and _type_ok("count", c.get(x))
                        and _type_ok("size", c.get(n)) and c[x] > c[n]):
                    log.add(str(path), f"[[{table}]] #{i}: {x} is larger than {n}", column=x,
                            value=c[x], expected=f"at most {n} = {c[n]}")


def reconstruct_claims(path: str | Path, adsl: pd.DataFrame | None = None) -> list[Result]:
    """Reconstruct every published number of a ``claims.toml``, one Result per claim.

    Two-proportion comparisons are searched over the group sizes and counts that print
    the reported percentages, and each candidate table's P is computed by Pearson,
    Yates, Fisher and mid-p; comparisons sharing a ``subgroup`` are intersected
    (:func:`joint_group_sizes`); means get the GRIM test, medians the range check,
    ratios the CI/P consistency, proportions and distributions their counts, ranges the
    medians and means n patients inside them can give (:func:`range_attainable`).

    Parameters
    ----------
    path : str or Path
        The claims file (format in the module docstring).
    adsl : pandas.DataFrame, optional
        Patient-level data (one row per patient, ``USUBJID``): a ``[[range]]`` claim naming
        a ``var`` is checked against that column; without data, or without ``var``, it is
        "cannot be checked" with the reason.

    Returns
    -------
    list of Result
        In file order: ``evidence.comparison.{i}`` (candidate tables with their P values
        and ``reproduces``), ``evidence.subgroup.{i}``, ``evidence.grim.{label}`` ...

    Raises
    ------
    InputError
        Unreadable TOML, missing or unknown fields, wrong types (all at once, with lines).

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test. Soc Psychol Personal Sci 2017;8:363-369.

    Examples
    --------
    3/4 vs 1/4 prints 75.0 % vs 25.0 %; R ``fisher.test(matrix(c(3, 1, 1, 3), 2))`` gives
    p = 0.4857143, the printed 0.486. A mean of 3.45 over 10 whole numbers is impossible
    (34.5 is not a sum of integers):

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "claims.toml"
    >>> _ = f.write_text(
    ...     '[[comparison]]\\nlabel = "CR"\\npct1 = "75.0"\\npct2 = "25.0"\\n'
    ...     'reported_p = "0.486"\\nn1 = 4\\nn2 = 4\\nsubgroup = "all"\\n'
    ...     '[[comparison]]\\nlabel = "MRD-"\\npct1 = "50.0"\\npct2 = "0"\\n'
    ...     'reported_p = "0.429"\\nn1_max = 6\\nn2_max = 6\\nsubgroup = "all"\\n'
    ...     '[[mean]]\\nlabel = "age"\\nmean = "3.45"\\nn = 10\\n')
    >>> res = reconstruct_claims(f)
    >>> [r.name for r in res]
    ['evidence.comparison.1', 'evidence.comparison.2', 'evidence.subgroup.1', 'evidence.grim.age']
    >>> t = res[0].table
    >>> t.index.tolist(), round(float(t["p_fisher"].iloc[0]), 6), t["reproduces"].iloc[0]
    (['3/4 vs 1/4'], 0.485714, 'fisher')
    >>> bool(res[3].table["attainable"].iloc[0])
    False
    """
    path = Path(path)
    log = ProblemLog()
    try:
        doc: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        row = toml_error_line(exc) if isinstance(exc, tomllib.TOMLDecodeError) else None
        if isinstance(exc, UnicodeDecodeError):
            row = path.read_bytes()[: exc.start].count(b"\n") + 1
            exc = ValueError(f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})")
        log.add(str(path), f"cannot read claims file: {exc}", row=row,
                expected="a UTF-8 TOML file")
        log.raise_if_any()
        raise AssertionError("unreachable") from exc
    _check_types(doc, path, log)
    comps = doc.get("comparison", [])
    for i, c in enumerate(comps, 1):
        where = f"[[comparison]] #{i}"
        for k in ("label", "pct1", "pct2"):
            if k not in c:
                log.add(str(path), f"{where}: missing field", column=k)
        for k in set(c) - _COMPARISON_KEYS:
            log.add(str(path), f"{where}: unknown field", column=k,
                    expected=", ".join(sorted(_COMPARISON_KEYS)))
        for k in ("pct1", "pct2", "reported_p"):
            if k in c:
                try:
                    Printed.parse(c[k])
                except (ArithmeticError, ValueError):
                    log.add(str(path), f"{where}: not a printed number", column=k,
                            value=c[k], expected='e.g. "78.8" or "<0.001"')
    for i, c in enumerate(doc.get("mean", []), 1):
        for k in ("label", "mean", "n"):
            if k not in c:
                log.add(str(path), f"[[mean]] #{i}: missing field", column=k)
    for i, c in enumerate(doc.get("median", []), 1):
        for k in ("label", "median", "low", "high", "n"):
            if k not in c:
                log.add(str(path), f"[[median]] #{i}: missing field", column=k)
    for i, c in enumerate(doc.get("ratio", []), 1):
        for k in ("label", "estimate", "lower", "upper"):
            if k not in c:
                log.add(str(path), f"[[ratio]] #{i}: missing field", column=k)
    for i, c in enumerate(doc.get("proportion", []), 1):
        for k in ("label", "pct", "n"):
            if k not in c:
                log.add(str(path), f"[[proportion]] #{i}: missing field", column=k)
    labels = {c.get("label") for c in doc.get("proportion", [])}
    for i, c in enumerate(doc.get("proportion", []), 1):
        for part in c.get("parts", []):
            if part not in labels:
                log.add(str(path), f"[[proportion]] #{i}: part not a proportion label",
                        column="parts", value=part)
    for i, c in enumerate(doc.get("distribution", []), 1):
        for k in ("label", "n", "counts"):
            if k not in c:
                log.add(str(path), f"[[distribution]] #{i}: missing field", column=k)
        bad = [k for k, v in c.get("counts", {}).items() if not isinstance(v, int) or v < 0]
        for k in bad:
            log.add(str(path), f"[[distribution]] #{i}: count not a whole number >= 0",
                    column=f"counts.{k}")
    _check_ranges(doc, path, log)
    _add_lines(log, path)  # each problem at the line of its [[table]] header
    log.raise_if_any()
    out: list[Result] = []
    groups: dict[str, list[Result]] = {}
    for c in comps:
        kw = {k: c[k] for k in ("n1", "n2", "x1", "x2", "n1_max", "n2_max") if k in c}
        res = reconstruct_two_proportions(
            c["pct1"], c["pct2"], c.get("reported_p"), label=c["label"],
            source=c.get("source", ""), name=f"evidence.comparison.{len(out) + 1}", **kw)
        out.append(res)
        if "subgroup" in c:
            groups.setdefault(str(c["subgroup"]), []).append(res)
    for i, (sub, members) in enumerate(groups.items(), 1):
        if len(members) > 1:
            out.append(joint_group_sizes(sub, members, name=f"evidence.subgroup.{i}"))
    for c in doc.get("mean", []):
        out.append(grim_mean(c["mean"], int(c["n"]), c.get("granularity", 1.0), c["label"]))
    for c in doc.get("median", []):
        out.append(median_range_attainable(c["median"], c["low"], c["high"], int(c["n"]),
                                           c.get("granularity", 1.0), c["label"]))
    for c in doc.get("ratio", []):
        out.append(ratio_ci_consistency(c["estimate"], c["lower"], c["upper"],
                                        c.get("reported_p"), conf=c.get("conf", 0.95),
                                        label=c["label"], source=c.get("source", "")))
    if doc.get("proportion") or doc.get("distribution"):
        from remission.evidence.counts import (
            check_parts,
            reconstruct_distribution,
            reconstruct_proportion,
        )

        props = {}
        for i, c in enumerate(doc.get("proportion", []), 1):
            props[c["label"]] = reconstruct_proportion(
                c["pct"], int(c["n"]), c["label"], c.get("source", ""),
                name=f"evidence.proportion.{i}")
            out.append(props[c["label"]])
        for i, c in enumerate(doc.get("proportion", []), 1):
            if c.get("parts"):
                out.append(check_parts(props[c["label"]], [props[p] for p in c["parts"]],
                                       name=f"evidence.parts.{i}"))
        for i, c in enumerate(doc.get("distribution", []), 1):
            out.append(reconstruct_distribution(c["counts"], int(c["n"]), c["label"],
                                                source=c.get("source", ""),
                                                name=f"evidence.distribution.{i}"))
    for c in doc.get("range", []):
        out.append(_range_result(c, adsl))
    return out


def _number(v: Any) -> float:
    return float(Printed.parse(v).value) if isinstance(v, str) else float(v)


def _check_ranges(doc: dict[str, Any], path: Path, log: ProblemLog) -> None:
    """Missing and unknown keys of ``[[range]]`` claims, ``low > high`` and ends off the
    grid (types were checked by :func:`_check_types`)."""
    for i, c in enumerate(doc.get("range", []), 1):
        where = f"[[range]] #{i}"
        for k in ("label", "low", "high", "n"):
            if k not in c:
                log.add(str(path), f"{where}: missing field", column=k)
        for k in sorted(set(c) - _RANGE_KEYS):
            log.add(str(path), f"{where}: unknown field", column=k,
                    expected=", ".join(sorted(_RANGE_KEYS)))
        ok = {k: k in c and _type_ok(t, c[k]) for k, t in _FIELD_TYPES["range"].items()}
        ineq = {k for k in ("low", "high") if ok[k] and Printed.parse(c[k]).relation != "="}
        if not (ok["low"] and ok["high"]) or ineq:
            for k in sorted(ineq):
                log.add(str(path), f"{where}: an end of a range cannot be an inequality",
                        column=k, value=c[k], expected="a number")
            continue
        low, high = _number(c["low"]), _number(c["high"])
        if low > high:
            log.add(str(path), f"{where}: low is above high", column="low", value=c["low"],
                    expected=f"at most high = {c['high']}")
        g = float(c["granularity"]) if ok["granularity"] else 1.0
        if "granularity" in c and not ok["granularity"]:
            continue
        for k, v in (("low", low), ("high", high)):
            if abs(v / g - round(v / g)) > 1e-9:
                log.add(str(path), f"{where}: not on the grid of the values", column=k,
                        value=c[k], expected=f"a multiple of granularity = {g:g}")


def _range_result(c: dict[str, Any], adsl: pd.DataFrame | None) -> Result:
    var = c.get("var")
    values, why = None, ""
    if adsl is None:
        pass  # range_attainable states what n patients can give and why no more
    elif var is None:
        why = "the claim names no variable (var) to check against the patient-level data"
    elif var not in adsl.columns:
        why = f"the patient-level data have no variable {var!r}"
    else:
        ids = adsl["USUBJID"].astype(str) if "USUBJID" in adsl.columns else adsl.index
        values = pd.Series(adsl[var].to_numpy(), index=ids)
    return range_attainable(_number(c["low"]), _number(c["high"]), int(c["n"]),
                            float(c.get("granularity", 1.0)), str(c["label"]),
                            source=str(c.get("source", "")), values=values, var=var,
                            unit=str(c.get("unit", "")), no_data_why=why)


def _add_lines(log: ProblemLog, path: Path) -> None:
    """Give each ``[[table]] #i`` problem the line of its field in that table (the
    table's header line when the field is not written there)."""
    import re
    from dataclasses import replace

    text = path.read_text(encoding="utf-8-sig").splitlines()
    for k, p in enumerate(log.problems):
        m = re.match(r"\[\[(\w+)\]\] #(\d+)", p.message)
        if p.row is None and m:
            pat = re.compile(r"^\s*\[\[\s*" + m.group(1) + r"\s*\]\]")
            heads = [n for n, ln in enumerate(text, start=1) if pat.match(ln)]
            i = int(m.group(2)) - 1
            if i < len(heads):
                row = heads[i]
                field = re.compile(r"^\s*" + re.escape(str(p.column or "").split(".")[0])
                                   + r"\s*=") if p.column else None
                for n in range(heads[i] + 1, len(text) + 1):
                    if re.match(r"^\s*\[", text[n - 1]):
                        break
                    if field is not None and field.match(text[n - 1]):
                        row = n
                        break
                log.problems[k] = replace(p, row=row)


def joint_group_sizes(subgroup: str, results: list[Result], name: str) -> Result:
    """Group sizes (n1, n2) under which every comparison of one subgroup is reproduced.

    Comparisons reported for the same patients must share n1 and n2; intersecting the
    sizes at which each printed P is reproduced narrows the candidate tables.

    Parameters
    ----------
    subgroup : str
        The subgroup label (for the title and warning).
    results : list of Result
        The comparison Results of that subgroup (from the reconstruction).
    name : str
        Name of the returned Result.

    Returns
    -------
    Result
        Rows ``"n1=.., n2=.."`` for each common pair, one column per comparison naming
        the tables that reproduce it; a warning when no pair is common.

    References
    ----------
    Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-369.

    Examples
    --------
    The first comparison fixes n1 = n2 = 4; of the sizes that reproduce the second one's
    p = 0.429 (R ``fisher.test(matrix(c(2, 2, 0, 4), 2))`` gives 0.4285714) only 2/4 vs 0/4
    has them:

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "claims.toml"
    >>> _ = f.write_text(
    ...     '[[comparison]]\\nlabel = "CR"\\npct1 = "75.0"\\npct2 = "25.0"\\n'
    ...     'reported_p = "0.486"\\nn1 = 4\\nn2 = 4\\nsubgroup = "all"\\n'
    ...     '[[comparison]]\\nlabel = "MRD-"\\npct1 = "50.0"\\npct2 = "0"\\n'
    ...     'reported_p = "0.429"\\nn1_max = 6\\nn2_max = 6\\nsubgroup = "all"\\n'
    ...     '[[mean]]\\nlabel = "age"\\nmean = "3.45"\\nn = 10\\n')
    >>> res = reconstruct_claims(f)
    >>> j = joint_group_sizes("all", res[:2], "evidence.subgroup.1")
    >>> j.table.to_dict("index")
    {'n1=4, n2=4': {'CR': '3/4 vs 1/4 (fisher)', 'MRD-': '2/4 vs 0/4 (fisher)'}}
    """
    per: list[dict[tuple[int, int], str]] = []
    for r in results:
        t = r.table
        hit = t[t["reproduces"] != ""] if r.params.get("reported_p") is not None \
            else t
        sizes: dict[tuple[int, int], str] = {}
        for key, row in hit.iterrows():
            k = (int(row["n1"]), int(row["n2"]))
            sizes[k] = "; ".join(filter(None, [sizes.get(k, ""),
                                               f"{key} ({row['reproduces'] or 'consistent'})"]))
        per.append(sizes)
    common = sorted(set.intersection(*(set(p) for p in per))) if per else []
    rows = {f"n1={a}, n2={b}": {str(r.params["label"]): p[(a, b)]
                                for r, p in zip(results, per, strict=True)}
            for a, b in common}
    table = pd.DataFrame.from_dict(rows, orient="index",
                               columns=[str(r.params["label"]) for r in results])
    warns = () if common else (f"no common group sizes reproduce all comparisons of "
                               f"subgroup {subgroup!r}",)
    return Result(
        name=name, title=f"Joint reconstruction: {subgroup}", table=table, section="audit",
        method=("Intersection of the group sizes at which each comparison of the subgroup is "
                "reproduced (same patients, so the same n1 and n2)."),
        rationale=f"{len(common)} common (n1, n2) pair(s) across {len(results)} comparisons.",
        warnings=warns, params={"subgroup": subgroup},
        references=("Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-9.",),
    )
