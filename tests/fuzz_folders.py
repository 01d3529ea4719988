"""Seeded generator of malformed study folders and the checks every one must pass.

Used by ``tests/test_fuzz_inputs.py`` (a few hundred folders in ``make test``) and
``benchmarks/bench_fuzz.py`` (thousands). Each folder is a copy of a bundled example with one
to three mutations drawn from what users actually send: blank, NaN and overflowing cells,
digit strings Python would accept (``1_0``, non-ASCII digits), formulas, dates where days
are expected, dropped/renamed/duplicated columns, extra fields, stray quotes, byte-order
marks, Excel's ``sep=`` line, old-Mac line endings, invalid UTF-8, truncated files, folders
where files belong, missing files, and study.toml / claims.toml values of the wrong type
or range. The contract checked for each (see :func:`check_folder`):

* ``validate`` either succeeds or raises ``InputError`` -- never anything else;
* every problem names a file; a problem that points inside a file (a column or key) has
  a line number;
* ``validate`` success implies ``report`` success (all three files written);
* a failed ``report`` leaves the output folder exactly as it was (no partial writes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "examples" / "cll1-post-hsct"
RAW = ROOT / "examples" / "synthetic-cart-raw"
#: Patients kept in the small raw base: pressors, seizures, °F temperatures, both arms, a
#: CRS death and an ICANS death, so the raw graders see every kind of bedside record.
RAW_PATIENTS = ("P001", "P002", "P007", "P010", "P018", "P028")

NASTY_CELLS = ["", " ", "NaN", "nan", "NA", "-", "1_0", "١٢", "１２", "1e400", "-1", "-0",
               "99999999999999999999", "1e15", "1e16", "=HYPERLINK(\"http://x\",\"y\")",
               "+1+cmd|' /C calc'!A0", "@SUM(A1)", "abc", "0x10", "inf", "-inf", "∞",
               "2020-01-01", "D5", "d-3", "true", "Yes", "No", "MRD-CR", "CR", "X", "1,5",
               "3.7", "1e6", "5e5", "0", "4", "5", "7", "12", "366", "36501", "\u00a05",
               "5\u200b", "Ｍ", "male", "F", "é", "\x00", "1" * 400]
TOML_VALUES = ["true", "false", "0", "-1", "1.5", "nan", "inf", "-inf", '"x"', '"no"',
               '"false"', '"true"', "[]", "[1, 2]", '["x"]', "{}", "{ a = 1 }", '""',
               "1e400", "99999999999999999999", '"claims.toml"', '"../x.toml"', "2014",
               '"AML"', '"lee2014"', '["MRD-CR"]', '["CR", "bogus"]', "[-30]", "[nan]",
               '"1_0"', "1_0", '"cart_dose_per_kg"', '"age < 18"', '"age <"', '"__import__"']


def make_raw_base(dst: Path, patients: tuple[str, ...] = RAW_PATIENTS) -> Path:
    """A small raw-data study: synthetic-cart-raw restricted to ``patients`` (every CSV
    filtered by patient_id, study.toml as it is). About a sixth of the original, so a
    fuzzed raw folder costs about a second instead of five."""
    shutil.copytree(RAW, dst, ignore=shutil.ignore_patterns("report", "README.md", "*.csv"))
    keep = set(patients)
    for path in sorted(RAW.glob("*.csv")):
        rows = _read_rows(path)
        k = rows[0].index("patient_id")
        _write_rows(dst / path.name, [rows[0]] + [r for r in rows[1:] if r[k] in keep])
    return dst


RAW_UNITS = ["°K", "F", "mg", "", "10^6/L", "mmol", "cells/uL", "µg/kg/min", "%", "category",
             "g/dl", "G/L", "x10^9/L", "mg/dL"]
RAW_VARIABLES = ["temp", "Temperature", "SBP", "ice", "", "norepinephrin", "anc ", "ANC",
                 "ice_score ", "crp", "oxygen", "blasts"]
RAW_NUMBERS = ["420", "-5", "1e9", "0", "-0.1", "NaN", "", "yes", "11", "1e400", "37,5",
               "38.0 °C", "1_0", "٣٨"]
RAW_CATEGORIES = ["maybe", "", "1", "YES", "high_flow", "BiPAP", "no ", "None", "unknown"]
RAW_TIMES = ["25:00", "12:5", "noon", "12:00:00", "-01:00", "24:00", "9:7", "12h00", "",
             "23:59", "00:00", "7:30 PM"]
RAW_DAYS = ["-400", "36501", "1.5", "", "day 3", "3e2", "-1", "0", "99999999999999999999"]
RAW_AGENTS = ["toci", "RoActemra", "tocilizumab ", "dexamethasone", "xyzumab", "",
              "norepinephrine", "anakinra"]


def mutate_raw(folder: Path, rng: random.Random) -> str:
    """One mutation of raw bedside data: observations.csv (units, variable names, values,
    clock times, days, conflicting duplicates, records after death, a patient without
    records, an unknown patient) or treatments.csv (agents, days, doses)."""
    obs, tre = folder / "observations.csv", folder / "treatments.csv"
    if not obs.is_file():
        return "skip"
    try:
        rows = _read_rows(obs)
    except (UnicodeDecodeError, csv.Error):
        return "skip"
    if len(rows) < 2 or not {"patient_id", "day", "time", "variable", "value",
                              "unit"} <= set(rows[0]):
        return "skip"
    col = {c: rows[0].index(c) for c in ("patient_id", "day", "time", "variable", "value",
                                         "unit")}
    kind = rng.choice(["unit", "variable", "number", "category", "time", "time", "day",
                       "conflict", "after_death", "no_records", "unknown_patient",
                       "drop_variable", "pressor", "treatment"])
    body = [r for r in rows[1:] if len(r) == len(rows[0])]
    if not body:
        return "skip"
    i = rng.randrange(len(body))
    r = body[i]
    if kind == "unit":
        r[col["unit"]] = rng.choice(RAW_UNITS)
        desc = f"{r[col['variable']]} unit {r[col['unit']]!r}"
    elif kind == "variable":
        r[col["variable"]] = rng.choice(RAW_VARIABLES)
        desc = f"variable {r[col['variable']]!r}"
    elif kind == "number":
        num = [x for x in body if x[col["unit"]] != "category"]
        r = rng.choice(num or body)
        r[col["value"]] = rng.choice(RAW_NUMBERS)
        desc = f"{r[col['variable']]} value {r[col['value']]!r}"
    elif kind == "category":
        cat = [x for x in body if x[col["unit"]] == "category"]
        r = rng.choice(cat or body)
        r[col["value"]] = rng.choice(RAW_CATEGORIES)
        desc = f"{r[col['variable']]} category {r[col['value']]!r}"
    elif kind == "time":
        r[col["time"]] = rng.choice(RAW_TIMES)
        desc = f"{r[col['variable']]} time {r[col['time']]!r}"
    elif kind == "day":
        r[col["day"]] = rng.choice(RAW_DAYS)
        desc = f"{r[col['variable']]} day {r[col['day']]!r}"
    elif kind == "conflict":  # same patient, day, time and variable, another value
        twin = list(r)
        twin[col["value"]] = rng.choice(["41.5", "0", "60", "no", "yes", "3"])
        body.insert(i + 1, twin)
        desc = f"conflicting duplicate of {r[col['variable']]} day {r[col['day']]}"
    elif kind == "after_death":
        pid = r[col["patient_id"]]
        for var, val, unit in (("temperature", "40.1", "°C"), ("sbp", "70", "mmHg"),
                               ("ice_score", "2", "points")):
            new = list(r)
            new[col["day"]], new[col["time"]] = "400", ""
            new[col["variable"]], new[col["value"]], new[col["unit"]] = var, val, unit
            body.append(new)
        desc = f"records for {pid} on day 400 (after death or last contact)"
    elif kind == "no_records":
        pid = r[col["patient_id"]]
        body = [x for x in body if x[col["patient_id"]] != pid]
        desc = f"no observations for {pid}"
    elif kind == "unknown_patient":
        new = list(r)
        new[col["patient_id"]] = rng.choice(["P999", "p001", " P001", ""])
        body.append(new)
        desc = f"observation of unknown patient {new[col['patient_id']]!r}"
    elif kind == "drop_variable":
        var = r[col["variable"]]
        body = [x for x in body if x[col["variable"]] != var]
        desc = f"every {var} record removed"
    elif kind == "pressor":  # overlapping timed vasopressors, one without a dose
        for var, val, tm in (("norepinephrine", "12", "08:00"),
                             ("vasopressin", rng.choice(["0.03", "0.04", ""]), "08:30"),
                             ("phenylephrine", "200", rng.choice(["07:00", "", "25:00"]))):
            new = list(r)
            new[col["time"]], new[col["variable"]], new[col["value"]] = tm, var, val
            new[col["unit"]] = "U/min" if var == "vasopressin" else "µg/min"
            body.append(new)
        desc = f"overlapping vasopressors for {r[col['patient_id']]} day {r[col['day']]}"
    else:  # treatment
        if not tre.is_file():
            return "skip"
        try:
            trows = _read_rows(tre)
        except (UnicodeDecodeError, csv.Error):
            return "skip"
        if len(trows) < 2:
            return "skip"
        head = trows[0]
        t = trows[rng.randrange(1, len(trows))]
        what = rng.choice([c for c in ("agent", "start_day", "end_day", "dose", "dose_unit")
                           if c in head])
        j = head.index(what)
        if j >= len(t):
            return "skip"
        t[j] = (rng.choice(RAW_AGENTS) if what == "agent" else
                rng.choice(RAW_DAYS) if what.endswith("_day") else
                rng.choice(RAW_NUMBERS if what == "dose" else RAW_UNITS))
        _write_rows(tre, trows)
        return f"treatments.csv {what} {t[j]!r}"
    _write_rows(obs, [rows[0], *body])
    return "observations.csv " + desc


@dataclass
class Outcome:
    """What happened to one fuzzed folder."""

    mutations: list[str]
    validate: str = ""          # "ok" | "input" | "internal"
    report: str = ""            # "ok" | "input" | "internal" | "" (not run)
    violations: list[str] = field(default_factory=list)


def _read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _csvs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.csv") if p.is_file())


def mutate(folder: Path, rng: random.Random) -> str:
    """Apply one random mutation to ``folder``; return its description."""
    csvs = _csvs(folder)
    kind = rng.choice(["cell", "cell", "cell", "cell", "column", "rename", "dupcol", "row",
                       "extra", "quote", "bom", "sep", "cr", "bytes", "truncate", "dir",
                       "delete", "toml", "toml", "toml", "claims", "claims", "badid"])
    if kind in ("cell", "column", "rename", "dupcol", "row", "extra", "badid") and csvs:
        path = rng.choice(csvs)
        try:
            rows = _read_rows(path)
        except (UnicodeDecodeError, csv.Error):
            return "skip"
        if len(rows) < 2 or not rows[0]:
            return "skip"
        head = rows[0]
        j = rng.randrange(len(head))
        i = rng.randrange(1, len(rows))
        if kind == "cell":
            v = rng.choice(NASTY_CELLS)
            if j < len(rows[i]):
                rows[i][j] = v
            desc = f"{path.name} line {i + 1} {head[j]}={v!r}"
        elif kind == "column":
            rows = [r[:j] + r[j + 1:] for r in rows]
            desc = f"{path.name} drop column {head[j]}"
        elif kind == "rename":
            rows[0][j] = rng.choice(["", "Patient ID", head[j].upper(), head[j] + " ", "x"])
            desc = f"{path.name} rename {head[j]} -> {rows[0][j]!r}"
        elif kind == "dupcol":
            rows[0].append(head[j])
            for r in rows[1:]:
                r.append(r[j] if j < len(r) else "")
            desc = f"{path.name} duplicate column {head[j]}"
        elif kind == "row":
            rows.insert(i, list(rows[i]))
            desc = f"{path.name} duplicate line {i + 1}"
        elif kind == "extra":
            rows[i].append("extra")
            desc = f"{path.name} extra field on line {i + 1}"
        else:  # badid: a patient id that does not exist, on every row of a long table
            if "patient_id" not in head or path.name == "patients.csv":
                return "skip"
            k = head.index("patient_id")
            for r in rows[1:]:
                if k < len(r):
                    r[k] = "999"
            desc = f"{path.name} every patient_id = 999"
        _write_rows(path, rows)
        return desc
    files = [p for p in folder.iterdir() if p.is_file()]
    if kind == "quote" and csvs:
        path = rng.choice(csvs)
        lines = path.read_bytes().split(b"\n")
        i = rng.randrange(1, max(2, len(lines)))
        if i < len(lines):
            pos = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:pos] + b'"' + lines[i][pos:]
        path.write_bytes(b"\n".join(lines))
        return f"{path.name} stray quote on line {i + 1}"
    if kind == "bom" and files:
        path = rng.choice(files)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        return f"{path.name} BOM"
    if kind == "sep" and csvs:
        path = rng.choice(csvs)
        path.write_bytes(rng.choice([b"sep=,\n", b"sep=;\n"]) + path.read_bytes())
        return f"{path.name} sep line"
    if kind == "cr" and files:
        path = rng.choice(files)
        path.write_bytes(path.read_bytes().replace(b"\n", rng.choice([b"\r", b"\r\n"])))
        return f"{path.name} CR line endings"
    if kind == "bytes" and files:
        path = rng.choice(files)
        data = path.read_bytes()
        pos = rng.randrange(len(data) + 1)
        path.write_bytes(data[:pos] + rng.choice([b"\xff\xfe", b"\xe9", b"\x00", b"\x80"])
                         + data[pos:])
        return f"{path.name} invalid bytes at {pos}"
    if kind == "truncate" and files:
        path = rng.choice(files)
        data = path.read_bytes()
        cut = rng.randrange(len(data) + 1)
        path.write_bytes(data[:cut])
        return f"{path.name} truncated at byte {cut}"
    if kind == "dir" and files:
        path = rng.choice(files)
        path.unlink()
        path.mkdir()
        return f"{path.name} is a folder"
    if kind == "delete" and files:
        path = rng.choice(files)
        path.unlink()
        return f"{path.name} deleted"
    if kind in ("toml", "claims"):
        path = folder / ("study.toml" if kind == "toml" else "claims.toml")
        if not path.is_file():
            return "skip"
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError:
            return "skip"
        keyed = [i for i, ln in enumerate(lines) if "=" in ln and not ln.lstrip().startswith("#")]
        if not keyed:
            return "skip"
        i = rng.choice(keyed)
        key = lines[i].split("=", 1)[0]
        if rng.random() < 0.2:
            lines[i] = ""
            desc = f"{path.name} line {i + 1} removed"
        else:
            v = rng.choice(TOML_VALUES)
            lines[i] = f"{key}= {v}"
            desc = f"{path.name} line {i + 1}: {key.strip()} = {v}"
        path.write_text("\n".join(lines), encoding="utf-8")
        return desc
    return "skip"


def make_folder(dst: Path, seed: int, base: Path = BASE) -> list[str]:
    """A copy of ``base`` at ``dst`` with 1-3 mutations drawn with ``seed``; a raw-data
    base (with observations.csv) gets raw bedside mutations two times in three."""
    rng = random.Random(seed)
    shutil.copytree(base, dst, ignore=shutil.ignore_patterns("report", "README.md"))
    raw = (dst / "observations.csv").is_file()
    done = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        d = mutate_raw(dst, rng) if raw and rng.random() < 2 / 3 else mutate(dst, rng)
        if d != "skip":
            done.append(d)
    return done


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def check_folder(folder: Path, out: Path, mutations: list[str], figures: bool = True
                 ) -> Outcome:
    """Run validate and report on ``folder`` and check the contract (module docstring)."""
    from remission.errors import InputError
    from remission.pipeline import bundle_for, validate_folder
    from remission.report import write_report

    res = Outcome(mutations)
    try:
        validate_folder(folder)
        res.validate = "ok"
    except InputError as exc:
        res.validate = "input"
        for p in exc.problems:
            if not p.file:
                res.violations.append(f"problem without a file: {p}")
            if p.column is not None and p.row is None:
                res.violations.append(f"problem without a line: {p}")
        exc.render()
    except Exception:
        res.validate = "internal"
        res.violations.append("validate internal error: " + traceback.format_exc(limit=-3))
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.html").write_text("previous report", encoding="utf-8")
    before = _snapshot(out)
    try:
        write_report(bundle_for(folder, figures=figures), out)
        res.report = "ok"
    except InputError:
        res.report = "input"
    except Exception:
        res.report = "internal"
        res.violations.append("report internal error: " + traceback.format_exc(limit=-3))
    after = _snapshot(out)
    if res.report == "ok":
        missing = {"report.html", "results.json", "tables.docx"} - set(after)
        if missing or after.get("report.html") == before["report.html"]:
            res.violations.append(f"report succeeded but did not write {sorted(missing)}")
    elif after != before:
        res.violations.append("failed report changed the output folder (partial write)")
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    if leftovers:
        res.violations.append(f"temporary files left behind: {leftovers}")
    if res.validate == "ok" and res.report != "ok":
        res.violations.append(f"validate passed but report ended '{res.report}'")
    return res
