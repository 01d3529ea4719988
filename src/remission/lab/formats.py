"""Readers and validators for lab inputs (see docs/lab-formats.md).

Every reader returns a clean DataFrame or raises :class:`~remission.errors.InputError`
listing ALL problems (file, spreadsheet line, column, value, expectation). Lines are
numbered as a spreadsheet shows them: header = line 1, first data row = line 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from remission.errors import InputError, Problem
from remission.io.textcsv import read_text_csv

__all__ = [
    "read_counts",
    "read_ct_table",
    "read_flow_quadrants",
    "read_plate_map",
    "read_plate_table",
    "read_synergy_matrix",
]

DOSE_UNITS = ("M", "mM", "uM", "µM", "nM", "pM", "g/L", "mg/mL", "ug/mL", "µg/mL", "ng/mL",
              "pg/mL", "U/mL", "E:T")
MISSING_CT = {"", "undetermined", "na", "nan", "n/a", "no ct", "noct", "-"}
WELL_RE = re.compile(r"^([A-Pa-p])0?([1-9]|1[0-9]|2[0-4])$")


def _require(df: pd.DataFrame, path: Path, cols: Sequence[str], probs: list[Problem]) -> bool:
    missing = [c for c in cols if c not in df.columns]
    for c in missing:
        probs.append(Problem(str(path), "required column missing", column=c,
                             expected=f"columns {', '.join(cols)}"))
    dup = [c for c in df.columns if list(df.columns).count(c) > 1]
    for c in sorted(set(dup)):
        probs.append(Problem(str(path), "duplicate column name", column=c))
    return not missing and not dup


def _numeric(df: pd.DataFrame, path: Path, col: str, probs: list[Problem], *,
             minimum: float | None = None, strict_min: bool = False,
             maximum: float | None = None, integer: bool = False,
             missing_ok: Iterable[str] = (), expected: str = "a number") -> pd.Series:
    """Parse a column to float, recording a Problem per bad cell."""
    out = np.full(len(df), np.nan)
    miss = {m.lower() for m in missing_ok}
    for i, raw in enumerate(df[col].tolist()):
        line = i + 2
        if raw.lower() in miss:
            continue
        try:
            v = float(raw.replace(",", "")) if raw != "" else np.nan
        except ValueError:
            v = np.nan
        if not np.isfinite(v):
            probs.append(Problem(str(path), "not a valid number", row=line, column=col,
                                 value=raw, expected=expected))
            continue
        if minimum is not None and (v < minimum or (strict_min and v == minimum)):
            probs.append(Problem(str(path), "value out of range", row=line, column=col,
                                 value=raw, expected=expected))
            continue
        if maximum is not None and v > maximum:
            probs.append(Problem(str(path), "value out of range", row=line, column=col,
                                 value=raw, expected=expected))
            continue
        if integer and v != round(v):
            probs.append(Problem(str(path), "not a whole number", row=line, column=col,
                                 value=raw, expected=expected))
            continue
        out[i] = v
    return pd.Series(out, index=df.index)


def _nonempty(df: pd.DataFrame, path: Path, cols: Sequence[str], probs: list[Problem]) -> None:
    for c in cols:
        for i in np.flatnonzero(df[c].to_numpy() == ""):
            probs.append(Problem(str(path), "empty value", row=int(i) + 2, column=c,
                                 expected="a non-empty label"))


def _consistent(df: pd.DataFrame, path: Path, key: str, attr: str,
                probs: list[Problem]) -> None:
    """Each ``key`` value must map to one ``attr`` value (e.g. sample -> group)."""
    for k, sub in df.groupby(key, sort=False):
        vals = sub[attr].unique()
        if len(vals) > 1:
            line = int(sub.index[list(sub[attr]).index(vals[1])]) + 2
            probs.append(Problem(str(path), f"{key} {k!r} has more than one {attr}",
                                 row=line, column=attr, value=vals[1],
                                 expected=f"{vals[0]!r} as on earlier rows"))


# --------------------------------------------------------------------------- plates


def read_plate_table(path: str | Path) -> pd.DataFrame:
    """Read a tidy plate-reader export for dose–response fitting.

    Columns ``group, dose, response`` are required; ``plate``, ``well``, ``drug``,
    ``dose_unit``, ``replicate`` are optional. Each drug × group needs at least 4 distinct
    doses > 0 (a 4-parameter log-logistic fit).

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    DataFrame
        ``group, drug`` (``"drug"`` when absent), ``dose`` (>= 0), ``response`` and the
        optional columns present.

    Raises
    ------
    InputError
        Every problem at once: missing columns, bad numbers (with spreadsheet line), unknown
        dose units (:data:`DOSE_UNITS`), bad or repeated wells, fewer than 4 doses.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "plate.csv"
    >>> _ = f.write_text("group,dose,response\\n" + "".join(
    ...     f"A,{d},{r}\\n" for d, r in [(0, 100), (1, 90), (10, 60), (100, 20), (1000, 5)]))
    >>> read_plate_table(f)["dose"].tolist()
    [0.0, 1.0, 10.0, 100.0, 1000.0]
    >>> _ = f.write_text("group,dose,response\\nA,-1,100\\nA,1,x\\n")
    >>> try:
    ...     read_plate_table(f)
    ... except InputError as e:
    ...     print([(p.row, p.column, p.message) for p in e.problems])
    [(2, 'dose', 'value out of range'), (3, 'response', 'not a valid number')]
    """
    p = Path(path)
    probs: list[Problem] = []
    df = read_text_csv(p, probs)
    if df is None or not _require(df, p, ("group", "dose", "response"), probs) or df.empty:
        raise InputError(probs)
    _nonempty(df, p, ["group"], probs)
    out = pd.DataFrame({"group": df["group"]})
    out["drug"] = df.get("drug", "drug")
    out["dose"] = _numeric(df, p, "dose", probs, minimum=0, expected="a dose >= 0")
    out["response"] = _numeric(df, p, "response", probs, expected="a numeric response")
    if "dose_unit" in df:
        for i, u in enumerate(df["dose_unit"]):
            if u not in DOSE_UNITS:
                probs.append(Problem(str(p), "unknown dose unit", row=i + 2, column="dose_unit",
                                     value=u, expected=f"one of {', '.join(DOSE_UNITS)}"))
        out["dose_unit"] = df["dose_unit"]
        _consistent(out.assign(_r=df.index), p, "drug", "dose_unit", probs)
    if "well" in df:
        for i, w in enumerate(df["well"]):
            if not WELL_RE.match(w):
                probs.append(Problem(str(p), "not a plate well", row=i + 2, column="well",
                                     value=w, expected="row letter A-P and column 1-24, "
                                     "e.g. B07"))
        plate = df["plate"] if "plate" in df else pd.Series("1", index=df.index)
        key = plate + "/" + df["well"].str.upper().str.replace(r"^([A-P])0", r"\1", regex=True)
        for i in np.flatnonzero(key.duplicated().to_numpy()):
            probs.append(Problem(str(p), "well listed twice on the same plate", row=int(i) + 2,
                                 column="well", value=df["well"].iloc[i]))
        out["plate"], out["well"] = plate, df["well"]
    if "replicate" in df:
        out["replicate"] = df["replicate"]
    if not probs:
        for (drug, grp), sub in out.groupby(["drug", "group"], sort=False):
            nd = sub.loc[sub["dose"] > 0, "dose"].nunique()
            if nd < 4:
                probs.append(Problem(str(p), f"{drug} / {grp}: only {nd} distinct doses > 0",
                                     column="dose", expected="at least 4 (5+ recommended) "
                                     "for a log-logistic fit"))
    if probs:
        raise InputError(probs)
    return out


def read_plate_map(layout_path: str | Path, readings_path: str | Path, plate: str = "1",
                   dose_unit: str = "") -> pd.DataFrame:
    """Read a plate-map layout grid and a readings grid into a tidy plate table.

    Both CSVs have a first column ``row`` (A-H for 96-well, A-P for 384-well) and columns
    ``1``..``12`` or ``1``..``24``. Layout cells hold ``group|drug|dose|replicate`` (or
    are empty for unused wells); readings cells hold the measured response.

    Parameters
    ----------
    layout_path : str or Path
        The layout grid.
    readings_path : str or Path
        The readings grid (same shape).
    plate : str, default "1"
        Plate label of the rows.
    dose_unit : str, default ""
        Unit of the layout doses.

    Returns
    -------
    DataFrame
        One row per mapped well: ``plate, well, group, drug, dose, replicate, response``
        (and ``dose_unit`` when given).

    Raises
    ------
    InputError
        Every problem at once: grid shape or labels, malformed layout cells, missing or
        non-numeric readings of mapped wells, no mapped well.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> rows = "ABCDEFGH"
    >>> head = "row," + ",".join(str(c) for c in range(1, 13)) + "\\n"
    >>> cell = lambda r, c: "ctl|ven|0|1" if (r, c) == ("A", 1) else ""
    >>> _ = (d / "layout.csv").write_text(head + "".join(
    ...     r + "," + ",".join(cell(r, c) for c in range(1, 13)) + "\\n" for r in rows))
    >>> _ = (d / "reads.csv").write_text(head + "".join(
    ...     r + "," + ",".join("0.5" for c in range(1, 13)) + "\\n" for r in rows))
    >>> read_plate_map(d / "layout.csv", d / "reads.csv")[["well", "group", "drug", "dose",
    ...                                                    "response"]].values.tolist()
    [['A1', 'ctl', 'ven', 0.0, 0.5]]
    """
    lp, rp = Path(layout_path), Path(readings_path)
    probs: list[Problem] = []
    lay = read_text_csv(lp, probs)
    rd = read_text_csv(rp, probs)
    if lay is None or rd is None:
        raise InputError(probs)
    for df, p in ((lay, lp), (rd, rp)):
        if "row" not in df.columns:
            probs.append(Problem(str(p), "required column missing", column="row",
                                 expected="first column 'row' with plate row letters"))
            continue
        ncol = len(df.columns) - 1
        if (len(df), ncol) not in ((8, 12), (16, 24)):
            probs.append(Problem(str(p), f"grid is {len(df)} x {ncol}",
                                 expected="8 x 12 (96-well) or 16 x 24 (384-well)"))
        want = [str(i) for i in range(1, ncol + 1)]
        if list(df.columns[1:]) != want:
            probs.append(Problem(str(p), "plate columns must be numbered 1..n in order",
                                 value=list(df.columns[1:]), expected=", ".join(want)))
        letters = [chr(ord("A") + i) for i in range(len(df))]
        for i, r in enumerate(df["row"]):
            if i < len(letters) and r.upper() != letters[i]:
                probs.append(Problem(str(p), "unexpected row label", row=i + 2, column="row",
                                     value=r, expected=letters[i]))
    if lay.shape != rd.shape:
        probs.append(Problem(str(rp), f"readings grid {rd.shape} differs from layout "
                             f"{lay.shape}", expected="the same shape as the layout"))
    if probs:
        raise InputError(probs)
    rows = []
    for i in range(len(lay)):
        for c in lay.columns[1:]:
            cell = lay.at[i, c]
            if cell == "" or cell.lower() in {"empty", "blank"}:
                continue
            well = f"{lay.at[i, 'row'].upper()}{c}"
            parts = [x.strip() for x in cell.split("|")]
            if len(parts) != 4:
                probs.append(Problem(str(lp), "layout cell not 'group|drug|dose|replicate'",
                                     row=i + 2, column=c, value=cell))
                continue
            try:
                dose = float(parts[2])
                if dose < 0 or not np.isfinite(dose):
                    raise ValueError
            except ValueError:
                probs.append(Problem(str(lp), "dose in layout cell is not a number >= 0",
                                     row=i + 2, column=c, value=cell))
                continue
            raw = rd.at[i, c]
            try:
                resp = float(raw)
                if not np.isfinite(resp):
                    raise ValueError
            except ValueError:
                probs.append(Problem(str(rp), "reading missing or not a number for a mapped "
                                     "well", row=i + 2, column=c, value=raw,
                                     expected=f"a numeric reading for {well}"))
                continue
            rows.append({"plate": plate, "well": well, "group": parts[0], "drug": parts[1],
                         "dose": dose, "dose_unit": dose_unit, "replicate": parts[3],
                         "response": resp})
    if not rows and not probs:
        probs.append(Problem(str(lp), "no mapped wells"))
    if probs:
        raise InputError(probs)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- qPCR


def read_ct_table(path: str | Path, reference_genes: Sequence[str] = ()) -> pd.DataFrame:
    """Read a qPCR Ct table; "Undetermined" (and blank, NA, No Ct, -) becomes NaN.

    Parameters
    ----------
    path : str or Path
        CSV with ``sample, group, gene, ct`` (+ optional ``replicate``).
    reference_genes : sequence of str, default ()
        Normaliser genes that every sample must have.

    Returns
    -------
    DataFrame
        ``sample, group, gene, ct`` (float, NaN = undetermined) and ``replicate`` if given.

    Raises
    ------
    InputError
        Every problem at once: missing columns, empty names, Ct not in (0, 50], a sample in
        two groups, a reference gene absent or missing for a sample.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "ct.csv"
    >>> _ = f.write_text("sample,group,gene,ct\\ns1,ctl,GAPDH,20.1\\ns1,ctl,CLL1,Undetermined\\n"
    ...                  "s2,kd,CLL1,55\\n")
    >>> try:
    ...     read_ct_table(f, reference_genes=["GAPDH"])
    ... except InputError as e:
    ...     print([p.message for p in e.problems])
    ['value out of range', "sample 's2' has no Ct for reference gene GAPDH"]
    >>> _ = f.write_text("sample,group,gene,ct\\ns1,ctl,GAPDH,20.1\\ns1,ctl,CLL1,Undetermined\\n")
    >>> read_ct_table(f, reference_genes=["GAPDH"])["ct"].tolist()
    [20.1, nan]
    """
    p = Path(path)
    probs: list[Problem] = []
    df = read_text_csv(p, probs)
    if df is None or not _require(df, p, ("sample", "group", "gene", "ct"), probs) or df.empty:
        raise InputError(probs)
    _nonempty(df, p, ["sample", "group", "gene"], probs)
    out = df[["sample", "group", "gene"]].copy()
    out["ct"] = _numeric(df, p, "ct", probs, minimum=0, strict_min=True, maximum=50,
                         missing_ok=MISSING_CT, expected="a Ct between 0 and 50, or "
                         "'Undetermined'")
    if "replicate" in df:
        out["replicate"] = df["replicate"]
    _consistent(out, p, "sample", "group", probs)
    genes = set(out["gene"])
    for g in reference_genes:
        if g not in genes:
            probs.append(Problem(str(p), "reference gene not in the table", column="gene",
                                 value=g, expected=f"rows for {g}"))
        else:
            have = set(out.loc[out["gene"] == g, "sample"])
            for s in sorted(set(out["sample"]) - have):
                probs.append(Problem(str(p), f"sample {s!r} has no Ct for reference gene {g}",
                                     column="gene", value=g))
    if probs:
        raise InputError(probs)
    return out


# --------------------------------------------------------------------------- flow


def read_flow_quadrants(path: str | Path) -> pd.DataFrame:
    """Read Annexin V / PI quadrant event counts per sample.

    Parameters
    ----------
    path : str or Path
        CSV with ``sample, group, q_viable, q_early, q_late, q_necrotic`` (+ optional
        ``drug``, ``dose``, ``time_h``).

    Returns
    -------
    DataFrame
        One row per sample: ``sample, group``, the four counts (float) and the optional
        columns present.

    Raises
    ------
    InputError
        Every problem at once: missing columns, negative or non-numeric counts, a sample
        twice, a row whose four quadrants are all 0.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "flow.csv"
    >>> _ = f.write_text("sample,group,q_viable,q_early,q_late,q_necrotic\\n"
    ...                  "s1,ctl,900,50,40,10\\ns2,ven,0,0,0,0\\n")
    >>> try:
    ...     read_flow_quadrants(f)
    ... except InputError as e:
    ...     print([(p.row, p.message) for p in e.problems])
    [(3, 'all four quadrants are 0')]
    """
    from remission.lab.apoptosis import QUADRANTS

    p = Path(path)
    probs: list[Problem] = []
    df = read_text_csv(p, probs)
    if df is None or not _require(df, p, ("sample", "group", *QUADRANTS), probs) or df.empty:
        raise InputError(probs)
    _nonempty(df, p, ["sample", "group"], probs)
    out = df[["sample", "group"]].copy()
    for q in QUADRANTS:
        out[q] = _numeric(df, p, q, probs, minimum=0, expected="an event count >= 0")
    for c, exp in (("dose", "a dose >= 0"), ("time_h", "hours >= 0")):
        if c in df:
            out[c] = _numeric(df, p, c, probs, minimum=0, expected=exp)
    if "drug" in df:
        out["drug"] = df["drug"]
    for i in np.flatnonzero(out["sample"].duplicated().to_numpy()):
        probs.append(Problem(str(p), "sample listed twice", row=int(i) + 2, column="sample",
                             value=out["sample"].iloc[i], expected="one row per sample"))
    tot = out[list(QUADRANTS)].sum(axis=1, min_count=4)
    for i in np.flatnonzero((tot == 0).to_numpy()):
        probs.append(Problem(str(p), "all four quadrants are 0", row=int(i) + 2))
    if probs:
        raise InputError(probs)
    return out


# --------------------------------------------------------------------------- synergy


def read_synergy_matrix(path: str | Path) -> pd.DataFrame:
    """Read a drug-combination dose matrix (tidy, one row per well).

    Parameters
    ----------
    path : str or Path
        CSV with ``drug_row, dose_row, drug_col, dose_col, response`` (+ optional
        ``replicate``); ``dose_col`` may be an effector:target ratio.

    Returns
    -------
    DataFrame
        ``drug_row, drug_col, dose_row, dose_col, response`` and ``replicate`` if given.

    Raises
    ------
    InputError
        Every problem at once: missing columns, bad numbers, response outside -50..150,
        no single-agent row/column, an incomplete matrix, fewer than 3 × 3 doses.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "syn.csv"
    >>> cells = [(a, b) for a in (0, 1, 2) for b in (0, 1, 2) if (a, b) != (2, 2)]
    >>> _ = f.write_text("drug_row,dose_row,drug_col,dose_col,response\\n" + "".join(
    ...     f"ven,{a},aza,{b},{a + b}\\n" for a, b in cells))
    >>> try:
    ...     read_synergy_matrix(f)
    ... except InputError as e:
    ...     print(e.problems[0].message)
    ven x aza: incomplete dose matrix, 1 combination(s) missing
    """
    p = Path(path)
    probs: list[Problem] = []
    df = read_text_csv(p, probs)
    cols = ("drug_row", "dose_row", "drug_col", "dose_col", "response")
    if df is None or not _require(df, p, cols, probs) or df.empty:
        raise InputError(probs)
    _nonempty(df, p, ["drug_row", "drug_col"], probs)
    out = df[["drug_row", "drug_col"]].copy()
    out["dose_row"] = _numeric(df, p, "dose_row", probs, minimum=0, expected="a dose >= 0")
    out["dose_col"] = _numeric(df, p, "dose_col", probs, minimum=0,
                               expected="a dose or E:T ratio >= 0")
    out["response"] = _numeric(df, p, "response", probs, minimum=-50, maximum=150,
                               expected="% inhibition or viability, about 0-100")
    if "replicate" in df:
        out["replicate"] = df["replicate"]
    if not probs:
        for (a, b), sub in out.groupby(["drug_row", "drug_col"], sort=False):
            r = sorted(sub["dose_row"].unique())
            c = sorted(sub["dose_col"].unique())
            if r[0] != 0 or c[0] != 0:
                probs.append(Problem(str(p), f"{a} x {b}: no single-agent row/column "
                                     "(dose 0 of the other agent)",
                                     expected="dose_row = 0 and dose_col = 0 rows"))
            have = set(zip(sub["dose_row"], sub["dose_col"], strict=True))
            miss = [(x, y) for x in r for y in c if (x, y) not in have]
            if miss:
                probs.append(Problem(str(p), f"{a} x {b}: incomplete dose matrix, "
                                     f"{len(miss)} combination(s) missing",
                                     value=[f"{x:g} x {y:g}" for x, y in miss[:5]],
                                     expected=f"all {len(r)} x {len(c)} combinations"))
            if len(r) < 3 or len(c) < 3:
                probs.append(Problem(str(p), f"{a} x {b}: matrix smaller than 3 x 3",
                                     expected="at least 2 doses of each agent besides 0"))
    if probs:
        raise InputError(probs)
    return out


# --------------------------------------------------------------------------- RNA-seq


def read_counts(counts_path: str | Path, samples_path: str | Path,
                groups: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an RNA-seq count matrix and its sample sheet.

    Parameters
    ----------
    counts_path : str or Path
        CSV: first column ``gene``, one column per sample, raw integer counts.
    samples_path : str or Path
        Sample sheet: ``sample``, ``group``, optional ``batch``.
    groups : sequence of str, default ()
        Groups lab.toml names, which must be in the sheet.

    Returns
    -------
    tuple of (DataFrame, DataFrame)
        Counts (genes × samples, int) and the sample sheet indexed by sample.

    Raises
    ------
    InputError
        Every problem at once: missing columns, duplicate genes or samples, samples in only
        one file, non-integer or negative counts (at most 20 listed per sample), unknown
        groups.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "counts.csv").write_text("gene,s1,s2\\nCLEC12A,10,0\\nCD33,5,2.5\\n")
    >>> _ = (d / "samples.csv").write_text("sample,group\\ns1,ctl\\ns2,kd\\n")
    >>> try:
    ...     read_counts(d / "counts.csv", d / "samples.csv")
    ... except InputError as e:
    ...     print([(p.row, p.column, p.message) for p in e.problems])
    [(3, 's2', 'not a whole number')]
    >>> _ = (d / "counts.csv").write_text("gene,s1,s2\\nCLEC12A,10,0\\nCD33,5,2\\n")
    >>> counts, sheet = read_counts(d / "counts.csv", d / "samples.csv")
    >>> counts.to_dict("index"), sheet["group"].to_dict()
    ({'CLEC12A': {'s1': 10, 's2': 0}, 'CD33': {'s1': 5, 's2': 2}}, {'s1': 'ctl', 's2': 'kd'})
    """
    cp, sp = Path(counts_path), Path(samples_path)
    probs: list[Problem] = []
    cts = read_text_csv(cp, probs)
    ss = read_text_csv(sp, probs)
    if cts is None or ss is None:
        raise InputError(probs)
    ok_c = _require(cts, cp, ("gene",), probs)
    ok_s = _require(ss, sp, ("sample", "group"), probs)
    if not (ok_c and ok_s):
        raise InputError(probs)
    _nonempty(cts, cp, ["gene"], probs)
    _nonempty(ss, sp, ["sample", "group"], probs)
    for i in np.flatnonzero(cts["gene"].duplicated().to_numpy()):
        probs.append(Problem(str(cp), "gene listed twice", row=int(i) + 2, column="gene",
                             value=cts["gene"].iloc[i], expected="unique gene identifiers"))
    for i in np.flatnonzero(ss["sample"].duplicated().to_numpy()):
        probs.append(Problem(str(sp), "sample listed twice", row=int(i) + 2, column="sample",
                             value=ss["sample"].iloc[i]))
    samples = [c for c in cts.columns if c != "gene"]
    for s in ss["sample"]:
        if s not in samples:
            probs.append(Problem(str(cp), "sample from the sample sheet has no count column",
                                 column=s, expected=f"a column named {s!r}"))
    for s in samples:
        if s not in set(ss["sample"]):
            probs.append(Problem(str(sp), "count column has no row in the sample sheet",
                                 value=s, expected="one row per count column"))
    values = {}
    for s in samples:
        bad_before = len(probs)
        v = _numeric(cts, cp, s, probs, minimum=0, integer=True,
                     expected="a raw count (whole number >= 0); not normalised values")
        if len(probs) - bad_before > 20:  # keep the report readable
            extra = len(probs) - bad_before - 20
            del probs[bad_before + 20:]
            probs.append(Problem(str(cp), f"... and {extra} more bad values", column=s))
        values[s] = v.to_numpy()
    for g in groups:
        if g not in set(ss["group"]):
            probs.append(Problem(str(sp), "group named in lab.toml not in the sample sheet",
                                 column="group", value=g))
    if probs:
        raise InputError(probs)
    counts = pd.DataFrame(values, index=cts["gene"].to_numpy()).astype(int)
    sheet = ss.set_index("sample")
    return counts, sheet
