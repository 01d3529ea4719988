"""Read, validate and analyse a study's ``immunogenetics/`` folder (docs/study-format.md).

Every table is checked in full before anything is computed: each bad cell becomes a
:class:`~remission.errors.Problem` (file, line, column, value, expected) and one
:class:`~remission.errors.InputError` carries all of them. Lines are numbered as a
spreadsheet shows them (header = line 1).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from remission.errors import InputError, Problem
from remission.immunogenetics.hla import (
    BW_VALUES,
    C_VALUES,
    FAMILIES,
    common_alleles,
    known_family,
    parse_allele,
)
from remission.immunogenetics.kir import HLA_COLUMNS, KIR_GENES
from remission.io.textcsv import read_text_csv
from remission.results import Result

__all__ = ["Inputs", "analyse_folder", "chromosome_sizes", "read_config", "read_folder"]

FILES = {
    "hla": "hla.csv", "kir": "kir.csv", "pairs": "pairs.csv", "ligands": "hla_ligands.csv",
    "sites": "integration_sites.csv", "chim_geno": "chimerism_genotypes.csv",
    "chim_peaks": "chimerism_peaks.csv", "chim_snps": "chimerism_snps.csv",
    "cells": "cell_origin.csv", "panel": "cytokine_panel.csv",
}
ALLOWED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "immunogenetics": {"synthetic": bool},
    "integration_sites": {"alert_share": (int, float), "growth_fold": (int, float),
                          "growth_min_share": (int, float), "n_resamples": int, "seed": int,
                          "conf": (int, float), "genes": str, "watch_list": list,
                          "assembly": str, "chromosome_sizes": str},
    "chimerism": {"full_donor": (int, float), "drop_points": (int, float),
                  "snp_error": (int, float), "conf": (int, float), "vcf": list,
                  "stutter": str, "stutter_ratio": (int, float, dict)},
    "cytokines": {"adjust": str},
}
PRESENT = {"1": 1.0, "+": 1.0, "pos": 1.0, "present": 1.0, "yes": 1.0, "y": 1.0, "p": 1.0,
           "0": 0.0, "-": 0.0, "neg": 0.0, "absent": 0.0, "no": 0.0, "n": 0.0, "a": 0.0}
SOURCES = ("product", "blood", "marrow", "other")
ADJUST = ("holm", "hochberg", "BH", "BY", "bonferroni")


@dataclass
class Inputs:
    """Validated tables of an immunogenetics folder (None = file absent)."""

    folder: Path
    config: dict[str, dict[str, Any]]
    hla: pd.DataFrame | None = None
    roles: pd.Series | None = None
    kir: pd.DataFrame | None = None
    pairs: pd.DataFrame | None = None
    ligands: pd.DataFrame | None = None
    sites: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    genes: pd.DataFrame | None = None
    chim_geno: pd.DataFrame | None = None
    chim_peaks: pd.DataFrame | None = None
    chim_snps: pd.DataFrame | None = None
    cells: pd.DataFrame | None = None
    panel: pd.DataFrame | None = None
    notes: dict[str, list[str]] = field(default_factory=dict)


def _read(path: Path, required: tuple[str, ...], probs: list[Problem]) -> pd.DataFrame | None:
    df = read_text_csv(path, probs)
    if df is None:
        return None
    miss = [c for c in required if c not in df.columns]
    for c in miss:
        probs.append(Problem(str(path), "required column missing", column=c,
                             expected="columns " + ", ".join(required)))
    return None if miss or df.empty else df


def _num(df: pd.DataFrame, path: Path, col: str, probs: list[Problem], *, lo: float | None = None,
         integer: bool = False, blank_ok: bool = False, expected: str = "a number"
         ) -> np.ndarray:
    raw = df[col].to_numpy(dtype=object)
    val = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=float)
    blank = np.array([r == "" for r in raw])
    bad = (np.isnan(val) & ~(blank & blank_ok)) | ~np.isfinite(np.where(blank, 0, val))
    if lo is not None:
        bad |= ~blank & (val < lo)
    if integer:
        bad |= ~blank & ~np.isnan(val) & (val != np.round(val))
    for i in np.flatnonzero(bad):
        probs.append(Problem(str(path), "invalid value", row=int(i) + 2, column=col,
                             value=raw[i], expected=expected))
    return val


def _choice(df: pd.DataFrame, path: Path, col: str, allowed: tuple[str, ...],
            probs: list[Problem], lower: bool = True) -> pd.Series:
    v = df[col].str.lower() if lower else df[col]
    for i in np.flatnonzero(~v.isin(allowed).to_numpy()):
        probs.append(Problem(str(path), "invalid value", row=int(i) + 2, column=col,
                             value=df[col].iloc[i], expected="one of " + ", ".join(allowed)))
    return v


def read_config(folder: Path) -> dict[str, dict[str, Any]]:
    """Read and check ``immunogenetics.toml`` (optional).

    Sections and keys are those of :data:`ALLOWED`, each with its type; shares and
    confidence levels must lie strictly between 0 and 1, ``full_donor`` between 0 and 100.

    Parameters
    ----------
    folder : Path
        The immunogenetics folder.

    Returns
    -------
    dict of str to dict
        Section -> settings as written; ``{}`` without the file.

    Raises
    ------
    InputError
        Every problem at once: invalid TOML, unknown sections or keys, wrong types, values
        out of range.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> read_config(d)
    {}
    >>> _ = (d / "immunogenetics.toml").write_text("[chimerism]\\nfull_donor = 120\\n")
    >>> try:
    ...     read_config(d)
    ... except InputError as e:
    ...     print([(p.message, p.value) for p in e.problems])
    [('[chimerism] full_donor out of range', 120)]
    """
    p = folder / "immunogenetics.toml"
    if not p.exists():
        return {}
    try:
        cfg = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(p), f"not valid TOML: {exc}")]) from None
    probs = []
    for sec, body in cfg.items():
        if sec not in ALLOWED or not isinstance(body, dict):
            probs.append(Problem(str(p), "unknown section", value=sec,
                                 expected="one of " + ", ".join(ALLOWED)))
            continue
        for k, v in body.items():
            t = ALLOWED[sec].get(k)
            if t is None:
                probs.append(Problem(str(p), f"unknown key in [{sec}]", value=k,
                                     expected="one of " + ", ".join(ALLOWED[sec])))
            elif not isinstance(v, t) or (isinstance(v, bool) and t is not bool):
                probs.append(Problem(str(p), f"wrong type for [{sec}] {k}", value=v))
    chk = [("integration_sites", "alert_share", 0, 1), ("integration_sites", "growth_min_share",
                                                        0, 1),
           ("integration_sites", "conf", 0, 1), ("chimerism", "conf", 0, 1),
           ("chimerism", "snp_error", 0, 0.5), ("chimerism", "full_donor", 0, 100)]
    for sec, k, lo, hi in chk:
        v = cfg.get(sec, {}).get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and not lo < v < hi:
            probs.append(Problem(str(p), f"[{sec}] {k} out of range", value=v,
                                 expected=f"strictly between {lo} and {hi}"))
    v = cfg.get("integration_sites", {}).get("n_resamples")
    if isinstance(v, int) and v < 19:
        probs.append(Problem(str(p), "[integration_sites] n_resamples too small", value=v,
                             expected=">= 19"))
    from remission.immunogenetics.chimerism import STUTTER_MODES

    ch = cfg.get("chimerism", {})
    if isinstance(ch.get("stutter"), str) and ch["stutter"] not in STUTTER_MODES:
        probs.append(Problem(str(p), "[chimerism] stutter unknown", value=ch["stutter"],
                             expected="one of " + ", ".join(STUTTER_MODES)))
    v = ch.get("stutter_ratio")
    ratios = v if isinstance(v, dict) else {"": v} if v is not None else {}
    for loc, r in ratios.items():
        if isinstance(r, bool) or not isinstance(r, int | float) or not 0 <= r < 1:
            probs.append(Problem(str(p), "[chimerism] stutter_ratio out of range",
                                 column=f"stutter_ratio.{loc}" if loc else "stutter_ratio",
                                 value=r, expected="a ratio >= 0 and < 1 (stutter / parent "
                                                   "peak, e.g. 0.08)"))
    if ch.get("stutter") == "correct" and "stutter_ratio" not in ch:
        probs.append(Problem(str(p), '[chimerism] stutter = "correct" needs stutter_ratio',
                             expected="stutter_ratio = 0.08, or a table per locus"))
    v = cfg.get("cytokines", {}).get("adjust")
    if isinstance(v, str) and v not in ADJUST:
        probs.append(Problem(str(p), "[cytokines] adjust unknown", value=v,
                             expected="one of " + ", ".join(ADJUST)))
    v = cfg.get("integration_sites", {}).get("assembly")
    if isinstance(v, str) and v not in ASSEMBLIES:
        probs.append(Problem(str(p), "[integration_sites] assembly not shipped", value=v,
                             expected="one of " + ", ".join(ASSEMBLIES)
                             + ', or give chromosome_sizes = "file.tsv"'))
    if probs:
        raise InputError(probs)
    return cfg


#: shipped chromosome lengths: GRCh38 (= UCSC hg38) and UCSC hg19 (= GRCh37, except chrM:
#: hg19 carries the 16,571-bp Yoruba mitochondrion, GRCh37 the 16,569-bp rCRS)
ASSEMBLIES = {"GRCh38": "grch38_chromosomes.csv", "hg38": "grch38_chromosomes.csv",
              "hg19": "hg19_chromosomes.csv", "GRCh37": "hg19_chromosomes.csv"}


def chromosome_sizes(path: Path | None = None, assembly: str = "GRCh38") -> dict[str, int]:
    """Shipped primary-assembly chromosome lengths, or a user two-column file.

    Parameters
    ----------
    path:
        A tab-separated ``chromosome, length`` file; ``None`` = the shipped table.
    assembly:
        Shipped table: ``GRCh38``/``hg38`` or ``hg19``/``GRCh37`` (UCSC chromInfo).

    Returns
    -------
    dict
        Chromosome name (``chr1`` ... ``chrM``) -> length in bp.

    Examples
    --------
    >>> chromosome_sizes()["chr1"], chromosome_sizes(assembly="hg19")["chr1"]
    (248956422, 249250621)
    >>> chromosome_sizes(assembly="GRCh37")["chrM"]
    16569
    """
    if path is None:
        with resources.files("remission.data").joinpath(ASSEMBLIES[assembly]).open(
                encoding="utf-8") as fh:
            t = pd.read_csv(fh, dtype={"chromosome": str})
        if assembly == "GRCh37":
            t.loc[t["chromosome"] == "chrM", "length"] = 16569
    else:
        t = pd.read_csv(path, sep="\t", header=None, names=["chromosome", "length"],
                        dtype={"chromosome": str}, comment="#")
    return dict(zip(t["chromosome"], t["length"].astype(int), strict=True))


def _norm_chrom(c: pd.Series) -> pd.Series:
    s = c.str.strip()
    out = pd.Series(np.where(s.str.lower().str.startswith("chr"), "chr" + s.str[3:],
                             "chr" + s), index=c.index)
    return out.replace({"chrMT": "chrM"}).to_numpy()  # Ensembl names the mitochondrion MT


def read_folder(path: str | Path, patients: set[str] | None = None) -> Inputs:
    """Read and validate every immunogenetics input present in ``path``.

    Parameters
    ----------
    path:
        The ``immunogenetics/`` folder (or a study folder containing one).
    patients:
        Known patient ids (from patients.csv) for cross-checks; ``None`` skips them.

    Returns
    -------
    Inputs

    Raises
    ------
    InputError
        With every problem found in every file.

    Examples
    --------
    A cytokine panel whose patients must be in patients.csv:

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> pairs = [(10, 80), (12, 60), (8, 40), (20, 90), (5, 30), (9, 45)]
    >>> _ = (d / "cytokine_panel.csv").write_text("patient,analyte,pre,post,unit\\n" + "".join(
    ...     f"P{i},IL6,{a},{b},pg/mL\\n" for i, (a, b) in enumerate(pairs, 1)))
    >>> read_folder(d, patients={f"P{i}" for i in range(1, 7)}).panel.shape
    (6, 5)
    >>> try:
    ...     read_folder(d, patients={"P1"})
    ... except InputError as e:
    ...     print(e.problems[0].row, e.problems[0].message)
    3 patient not in patients.csv
    """
    folder = Path(path)
    if (folder / "immunogenetics").is_dir():
        folder = folder / "immunogenetics"
    probs: list[Problem] = []
    try:
        cfg = read_config(folder)
    except InputError as e:
        probs.extend(e.problems)
        cfg = {}
    inp = Inputs(folder, cfg)
    f = {k: folder / v for k, v in FILES.items()}
    if f["ligands"].exists():
        inp.ligands = _read_ligands(f["ligands"], probs)
    if f["hla"].exists():
        _read_hla(f["hla"], inp, probs, patients)
    if f["kir"].exists():
        _read_kir(f["kir"], inp, probs)
    if f["pairs"].exists():
        _read_pairs(f["pairs"], inp, probs, patients)
    elif inp.hla is not None and inp.roles is not None:
        donors = sorted(inp.roles.index[inp.roles == "donor"])
        recips = sorted(inp.roles.index[inp.roles == "recipient"])
        if len(donors) == 1:
            inp.pairs = pd.DataFrame({"recipient": recips, "donor": donors * len(recips)})
            inp.notes.setdefault("kir", []).append(
                f"pairs.csv absent: every recipient paired with the only donor {donors[0]}")
        elif recips:
            probs.append(Problem(str(f["pairs"]), "several donors typed but no pairs.csv",
                                 expected="pairs.csv with columns recipient, donor"))
    if f["sites"].exists():
        _read_sites(f["sites"], inp, probs, patients)
    if f["chim_geno"].exists() or f["chim_peaks"].exists():
        _read_str(f["chim_geno"], f["chim_peaks"], inp, probs)
    if f["chim_snps"].exists():
        _read_snps(f["chim_snps"], inp, probs)
    if cfg.get("chimerism", {}).get("vcf"):
        _read_vcfs(folder, cfg["chimerism"]["vcf"], inp, probs)
    if f["cells"].exists():
        _read_cells(f["cells"], inp, probs)
    if f["panel"].exists():
        _read_panel(f["panel"], inp, probs, patients)
    if probs:
        raise InputError(probs)
    return inp


CELL_ORIGIN_DEPRECATED = (
    "immunogenetics/cell_origin.csv is deprecated and will stop being read: per-cell origin "
    "is one input, the single-cell origin file (study.toml [singlecell] origin_file = "
    "\"singlecell/origin.csv\" with columns barcode, sample, origin), whose cells are "
    "clustered by the single-cell analysis (docs/study-format.md)")


def _singlecell_origin_declared(folder: Path) -> str | None:
    """The study.toml key that declares single-cell origin calls, if any."""
    p = folder.parent / "study.toml"
    if not p.exists():
        return None
    try:
        sc = tomllib.loads(p.read_text(encoding="utf-8")).get("singlecell", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # reported by the study loader
    if not isinstance(sc, dict):
        return None
    return next((k for k in ("origin_file", "donor_sex") if k in sc), None)


def _read_cells(p: Path, inp: Inputs, probs: list[Problem]) -> None:
    """Deprecated ``cell_origin.csv``: ``cell, cluster, origin`` (optional ``sample``)."""
    from remission.immunogenetics.origin import ORIGINS, normalise_origin

    key = _singlecell_origin_declared(inp.folder)
    if key is not None:
        probs.append(Problem(str(p), "two per-cell origin inputs: this file and "
                             f"study.toml [singlecell] {key}",
                             expected="one input: remove cell_origin.csv (deprecated) and "
                                      "keep the single-cell origin"))
        return
    df = _read(p, ("cell", "cluster", "origin"), probs)
    if df is None:
        return
    calls, bad = normalise_origin(df["origin"])
    for i in np.flatnonzero(bad):
        probs.append(Problem(str(p), "invalid value", row=int(i) + 2, column="origin",
                             value=df["origin"].iloc[i],
                             expected="one of " + ", ".join(ORIGINS) + " (blank or "
                                      "unassigned = undetermined)"))
    for i in np.flatnonzero((df["cluster"].str.strip() == "").to_numpy()):
        probs.append(Problem(str(p), "empty value", row=int(i) + 2, column="cluster",
                             expected="the cell's cluster label"))
    ids = df[["sample", "cell"]].agg(":".join, axis=1) if "sample" in df else df["cell"]
    for i in np.flatnonzero(ids.duplicated().to_numpy()):
        probs.append(Problem(str(p), "cell listed twice", row=int(i) + 2,
                             column="cell", value=df["cell"].iloc[i]))
    df["origin"] = calls
    inp.cells = df


def _read_ligands(p: Path, probs: list[Problem]) -> pd.DataFrame | None:
    df = _read(p, ("allele",), probs)
    if df is None:
        return None
    for c in ("c_ligand", "bw", "a3a11", "residues_77_83", "mature_protein"):
        if c not in df:
            df[c] = ""
    keys = []
    facts = common_alleles()
    for i, r in df.iterrows():
        line = int(i) + 2
        a = parse_allele(r["allele"])
        if a is None:
            probs.append(Problem(str(p), "not an HLA-A/B/C allele name", row=line,
                                 column="allele", value=r["allele"],
                                 expected="e.g. C*16:04, B*15:02, Cw7"))
            keys.append("")
            continue
        keys.append(a.key)
        if not known_family(a):
            probs.append(Problem(str(p), f"no HLA-{a.locus} allele family "
                                 f"{a.locus}*{a.first_field:02d}", row=line, column="allele",
                                 value=r["allele"], expected="a family of IPD-IMGT/HLA 3.63.0"))
        if r["c_ligand"] and r["c_ligand"] not in C_VALUES:
            probs.append(Problem(str(p), "invalid value", row=line, column="c_ligand",
                                 value=r["c_ligand"], expected="C1, C2, none or blank"))
        if r["bw"] and r["bw"] not in BW_VALUES:
            probs.append(Problem(str(p), "invalid value", row=line, column="bw",
                                 value=r["bw"], expected=", ".join(BW_VALUES) + " or blank"))
        if r["a3a11"] and r["a3a11"] not in ("yes", "no"):
            probs.append(Problem(str(p), "invalid value", row=line, column="a3a11",
                                 value=r["a3a11"], expected="yes, no or blank"))
        res = r["residues_77_83"].upper()
        if r["mature_protein"]:
            seq = r["mature_protein"].upper().replace(" ", "")
            if (seq.startswith("M") and seq[24:28] in ("GSHS", "CSHS")
                    and seq[:4] not in ("GSHS", "CSHS")):
                # the precursor: 24-residue leader peptide, then the mature protein
                probs.append(Problem(str(p), "sequence starts with the 24-residue leader "
                                     "peptide: residue 77 would be read 24 places off",
                                     row=line, column="mature_protein", value=seq[:30] + "...",
                                     expected="the mature protein from residue 1 (GSHS... or "
                                              "CSHS...), without the leader"))
            elif len(seq) < 83 or not seq.isalpha():
                probs.append(Problem(str(p), "mature protein too short or not amino acids",
                                     row=line, column="mature_protein", value=seq[:20] + "...",
                                     expected="one-letter sequence from residue 1 of the "
                                              "mature protein (>= 83 residues)"))
            elif res and res != seq[76:83]:
                probs.append(Problem(str(p), "residues_77_83 disagree with mature_protein",
                                     row=line, column="residues_77_83", value=res,
                                     expected=seq[76:83]))
            else:
                res = seq[76:83]
        if res and (len(res) != 7 or not res.isalpha()):
            probs.append(Problem(str(p), "invalid residues", row=line, column="residues_77_83",
                                 value=r["residues_77_83"],
                                 expected="seven one-letter amino acids, e.g. NLRIALR"))
        df.at[i, "residues_77_83"] = res
        two = a.two_field
        if two in facts.index:
            for col, fcol in (("c_ligand", "c_ligand"), ("bw", "bw")):
                if r[col] and r[col] != facts.at[two, fcol]:
                    probs.append(Problem(str(p), "contradicts a shipped cited class", row=line,
                                         column=col, value=r[col],
                                         expected=f"{facts.at[two, fcol]} ({two}, "
                                                  "criteria.md §9b)"))
    df["key"] = keys
    dup = df["key"].duplicated() & (df["key"] != "")
    for i in np.flatnonzero(dup.to_numpy()):
        probs.append(Problem(str(p), "allele listed twice", row=int(i) + 2, column="allele",
                             value=df["allele"].iloc[i]))
    return df[df["key"] != ""].set_index("key")[["c_ligand", "bw", "a3a11", "residues_77_83"]]


def _read_hla(p: Path, inp: Inputs, probs: list[Problem], patients: set[str] | None) -> None:
    df = _read(p, ("id", "role"), probs)
    if df is None:
        return
    role = _choice(df, p, "role", ("recipient", "donor"), probs)
    for i in np.flatnonzero(df["id"].duplicated().to_numpy()):
        probs.append(Problem(str(p), "id listed twice", row=int(i) + 2, column="id",
                             value=df["id"].iloc[i]))
    for i in np.flatnonzero((df["id"] == "").to_numpy()):
        probs.append(Problem(str(p), "empty id", row=int(i) + 2, column="id"))
    notes = inp.notes.setdefault("kir", [])
    for c in HLA_COLUMNS:
        if c not in df:
            df[c] = ""
            if c.endswith("_1"):
                notes.append(f"hla.csv has no {c[0]} columns: HLA-{c[0]} not typed")
    homo = []
    for loc in "ABC":
        c1, c2 = f"{loc}_1", f"{loc}_2"
        for col in (c1, c2):
            for i, v in enumerate(df[col]):
                if v == "":
                    continue
                a = parse_allele(v)
                if a is None:
                    probs.append(Problem(str(p), "not an HLA allele name", row=i + 2,
                                         column=col, value=v,
                                         expected=f"an HLA-{loc} name, e.g. {loc}*02:01"))
                elif a.locus != loc:
                    probs.append(Problem(str(p), f"HLA-{a.locus} allele in an HLA-{loc} column",
                                         row=i + 2, column=col, value=v,
                                         expected=f"an HLA-{loc} allele"))
                elif not known_family(a):
                    probs.append(Problem(
                        str(p), f"no HLA-{loc} allele family {loc}*{a.first_field:02d}",
                        row=i + 2, column=col, value=v,
                        expected=f"an HLA-{loc} family of IPD-IMGT/HLA 3.63.0: " + ", ".join(
                            f"{x:02d}" for x in sorted(FAMILIES[loc]))))
        one = (df[c1] != "") & (df[c2] == "")
        for i in np.flatnonzero(one.to_numpy()):
            homo.append(f"{df['id'].iloc[i]} HLA-{loc}")
        df.loc[one, c2] = df.loc[one, c1]
        for i in np.flatnonzero(((df[c1] == "") & (df[c2] != "")).to_numpy()):
            probs.append(Problem(str(p), "second allele without a first", row=int(i) + 2,
                                 column=c1, expected="the first allele (blank second = "
                                 "homozygous)"))
    if homo:
        notes.append("one allele given, read as homozygous: " + ", ".join(homo))
    if patients is not None:
        for i in np.flatnonzero(((role == "recipient") & ~df["id"].isin(patients)).to_numpy()):
            probs.append(Problem(str(p), "recipient not in patients.csv", row=int(i) + 2,
                                 column="id", value=df["id"].iloc[i],
                                 expected="a patient_id of patients.csv"))
    inp.hla = df.set_index("id")[list(HLA_COLUMNS)]
    inp.roles = pd.Series(role.to_numpy(), index=df["id"].to_numpy())


def _gene_name(c: str) -> str:
    u = c.upper().replace(" ", "")
    return u if u.startswith("KIR") else "KIR" + u


def _read_kir(p: Path, inp: Inputs, probs: list[Problem]) -> None:
    df = _read(p, ("donor",), probs)
    if df is None:
        return
    genes = {}
    for c in df.columns:
        if c == "donor":
            continue
        g = _gene_name(c)
        if g not in KIR_GENES:
            probs.append(Problem(str(p), "not a KIR gene of the nomenclature", column=c,
                                 expected="KIR2DL1-5, KIR2DS1-5, KIR3DL1-3, KIR3DS1, "
                                          "KIR2DP1, KIR3DP1"))
            continue
        vals = df[c].str.lower()
        bad = ~vals.isin(list(PRESENT)) & (vals != "")
        for i in np.flatnonzero(bad.to_numpy()):
            probs.append(Problem(str(p), "invalid value", row=int(i) + 2, column=c,
                                 value=df[c].iloc[i],
                                 expected="1/0, +/-, present/absent, pos/neg or blank "
                                          "(not typed)"))
        genes[g] = vals.map(PRESENT).astype(float).to_numpy()
    for i in np.flatnonzero(df["donor"].duplicated().to_numpy()):
        probs.append(Problem(str(p), "donor listed twice", row=int(i) + 2, column="donor",
                             value=df["donor"].iloc[i]))
    inp.kir = pd.DataFrame(genes, index=df["donor"].to_numpy())


def _read_pairs(p: Path, inp: Inputs, probs: list[Problem], patients: set[str] | None) -> None:
    df = _read(p, ("recipient", "donor"), probs)
    if df is None:
        return
    typed = set(inp.hla.index) if inp.hla is not None else set()
    for col in ("recipient", "donor"):
        for i, v in enumerate(df[col]):
            if v not in typed:
                probs.append(Problem(str(p), f"{col} has no HLA typing in hla.csv", row=i + 2,
                                     column=col, value=v, expected="an id of hla.csv"))
    inp.pairs = df


def _read_sites(p: Path, inp: Inputs, probs: list[Problem], patients: set[str] | None) -> None:
    req = ("sample", "patient", "source", "day", "chromosome", "position", "strand", "abundance")
    df = _read(p, req, probs)
    if df is None:
        return
    cfg = inp.config.get("integration_sites", {})
    src = _choice(df, p, "source", SOURCES, probs)
    day = _num(df, p, "day", probs, integer=True, blank_ok=True,
               expected="whole days from infusion (blank for the product)")
    pos = _num(df, p, "position", probs, lo=1, integer=True, expected="a 1-based position")
    ab = _num(df, p, "abundance", probs, lo=0, expected="an abundance >= 0")
    _choice(df, p, "strand", ("+", "-"), probs, lower=False)
    chrom = pd.Series(_norm_chrom(df["chromosome"]), index=df.index)
    sizes_file = cfg.get("chromosome_sizes")
    try:
        sizes = chromosome_sizes(inp.folder / sizes_file if sizes_file else None,
                                 cfg.get("assembly", "GRCh38"))
    except (FileNotFoundError, ValueError, pd.errors.ParserError) as exc:
        probs.append(Problem(str(inp.folder / str(sizes_file)), f"chromosome sizes: {exc}",
                             expected="two tab-separated columns: chromosome, length"))
        sizes = {}
    if sizes:
        length = chrom.map(sizes)
        for i in np.flatnonzero(length.isna().to_numpy()):
            probs.append(Problem(str(p), "unknown chromosome", row=int(i) + 2,
                                 column="chromosome", value=df["chromosome"].iloc[i],
                                 expected="a chromosome of the assembly (chr1-22, chrX, chrY, "
                                          "chrM)"))
        outside = length.notna() & (pos > length.fillna(np.inf))
        for i in np.flatnonzero(outside.to_numpy()):
            probs.append(Problem(str(p), "position beyond the end of the chromosome",
                                 row=int(i) + 2, column="position", value=df["position"].iloc[i],
                                 expected=f"<= {int(length.iloc[i]):,} on {chrom.iloc[i]}"))
    for i in np.flatnonzero(((src != "product") & np.isnan(day)).to_numpy()):
        probs.append(Problem(str(p), "day missing for a post-infusion sample", row=int(i) + 2,
                             column="day", expected="whole days from infusion"))
    if patients is not None:
        for i in np.flatnonzero((~df["patient"].isin(patients)).to_numpy()):
            probs.append(Problem(str(p), "patient not in patients.csv", row=int(i) + 2,
                                 column="patient", value=df["patient"].iloc[i]))
    meta = pd.DataFrame({"sample": df["sample"], "patient": df["patient"], "source": src,
                         "day": np.where(np.isnan(day), 0, day)})
    for col in ("patient", "source", "day"):
        n = meta.groupby("sample")[col].nunique()
        for s in n.index[n > 1]:
            i = int(np.flatnonzero((meta["sample"] == s).to_numpy())[0])
            probs.append(Problem(str(p), f"sample {s!r} has more than one {col}", row=i + 2,
                                 column=col, expected="one value per sample"))
    prod = meta[meta["source"] == "product"].groupby("patient")["sample"].nunique()
    for pt in prod.index[prod > 1]:
        probs.append(Problem(str(p), f"patient {pt!r} has more than one product sample",
                             column="sample", expected="one product sample per patient "
                             "(repeat the product rows under each patient that received it)"))
    zero = int((ab == 0).sum())
    if zero:
        inp.notes.setdefault("sites", []).append(f"{zero} site rows with abundance 0 ignored")
    inp.sites = pd.DataFrame({"sample": df["sample"], "chromosome": chrom,
                              "position": np.nan_to_num(pos).astype(np.int64),
                              "strand": df["strand"], "abundance": ab})
    inp.samples = meta.drop_duplicates("sample").set_index("sample")
    genes = cfg.get("genes")
    if genes:
        from remission.immunogenetics.annotate import read_genes

        g, gp = read_genes(inp.folder / genes)
        probs.extend(gp)
        if not gp:
            g["chromosome"] = _norm_chrom(g["chromosome"])
            inp.genes = g


def _read_str(gp: Path, pp: Path, inp: Inputs, probs: list[Problem]) -> None:
    if not gp.exists() or not pp.exists():
        missing = gp if not gp.exists() else pp
        probs.append(Problem(str(missing), "STR chimerism needs both chimerism_genotypes.csv "
                             "and chimerism_peaks.csv", expected="both files"))
        return
    g = _read(gp, ("patient", "role", "locus", "allele_1", "allele_2"), probs)
    k = _read(pp, ("patient", "sample", "day", "lineage", "locus", "allele", "area"), probs)
    if g is None or k is None:
        return
    _choice(g, gp, "role", ("recipient", "donor"), probs)
    for i in np.flatnonzero(((g["allele_1"] == "") | (g["allele_2"] == "")).to_numpy()):
        probs.append(Problem(str(gp), "allele missing", row=int(i) + 2, column="allele_1",
                             expected="both alleles (repeat the allele when homozygous)"))
    key = g["patient"] + "|" + g["role"].str.lower() + "|" + g["locus"]
    for i in np.flatnonzero(key.duplicated().to_numpy()):
        probs.append(Problem(str(gp), "genotype listed twice", row=int(i) + 2, column="locus",
                             value=g["locus"].iloc[i]))
    g["role"] = g["role"].str.lower()
    k["area"] = _num(k, pp, "area", probs, lo=0, expected="a peak area or count >= 0")
    k["day"] = _num(k, pp, "day", probs, integer=True, expected="whole days from infusion")
    known = set(zip(g["patient"], g["locus"], strict=True))
    alleles: dict[tuple[str, str], set[str]] = {}
    for r in g.itertuples():
        alleles.setdefault((r.patient, r.locus), set()).update({r.allele_1, r.allele_2})
    for i, r in enumerate(k.itertuples()):
        if (r.patient, r.locus) not in known:
            probs.append(Problem(str(pp), "no genotype for this patient and locus", row=i + 2,
                                 column="locus", value=r.locus))
        elif r.allele not in alleles[(r.patient, r.locus)] and r.area > 0:
            probs.append(Problem(str(pp), "allele not in the recipient or donor genotype",
                                 row=i + 2, column="allele", value=r.allele,
                                 expected=" or ".join(sorted(alleles[(r.patient, r.locus)]))))
    inp.chim_geno, inp.chim_peaks = g, k


def _read_snps(p: Path, inp: Inputs, probs: list[Problem]) -> None:
    req = ("patient", "sample", "day", "lineage", "snp", "source", "genotype", "alt", "depth")
    df = _read(p, req, probs)
    if df is None:
        return
    df["genotype"] = _num(df, p, "genotype", probs, lo=0, integer=True,
                          expected="0, 1 or 2 alternative-allele copies")
    for i in np.flatnonzero((df["genotype"] > 2).to_numpy()):
        probs.append(Problem(str(p), "invalid value", row=int(i) + 2, column="genotype",
                             value=df["genotype"].iloc[i], expected="0, 1 or 2"))
    df["alt"] = _num(df, p, "alt", probs, lo=0, integer=True, expected="reads >= 0")
    df["depth"] = _num(df, p, "depth", probs, lo=0, integer=True, expected="reads >= 0")
    df["day"] = _num(df, p, "day", probs, integer=True, expected="whole days from infusion")
    for i in np.flatnonzero((df["alt"] > df["depth"]).to_numpy()):
        probs.append(Problem(str(p), "alt reads exceed depth", row=int(i) + 2, column="alt",
                             value=df["alt"].iloc[i], expected=f"<= {df['depth'].iloc[i]:g}"))
    _check_snps(df, p, probs)
    inp.chim_snps = df


def _check_snps(df: pd.DataFrame, p: Path, probs: list[Problem]) -> None:
    for (pat, smp), sub in df.groupby(["patient", "sample"]):
        srcs = set(sub["source"])
        if "recipient" not in srcs or not 2 <= len(srcs) <= 3:
            probs.append(Problem(str(p), f"{pat} {smp}: sources {sorted(srcs)}",
                                 column="source", expected="recipient and one or two donors"))
            continue
        inf = sub.groupby("snp")["genotype"].agg(lambda v: v.nunique() > 1)
        if not inf.any():
            probs.append(Problem(str(p), f"{pat} {smp}: no informative SNP (all genotypes "
                                 "identical)", column="genotype",
                                 expected="SNPs where recipient and donor genotypes differ"))


def _read_vcfs(folder: Path, entries: list, inp: Inputs, probs: list[Problem]) -> None:
    """``[[chimerism.vcf]]`` entries: file, patient, recipient, donors, mixtures."""
    from remission.immunogenetics.vcf import read_vcf_snps

    cfgp = str(folder / "immunogenetics.toml")
    tables = []
    for i, e in enumerate(entries, 1):
        where = f"[[chimerism.vcf]] #{i}"
        ok = isinstance(e, dict)
        need = {"file": str, "patient": str, "recipient": str, "donors": list,
                "mixtures": list}
        for k, t in need.items():
            if not ok or not isinstance(e.get(k), t):
                probs.append(Problem(cfgp, f"{where}: missing or wrong type", column=k,
                                     expected=f"{k} ({t.__name__})"))
                ok = False
        if not ok:
            continue
        if not 1 <= len(e["donors"]) <= 2:
            probs.append(Problem(cfgp, f"{where}: one or two donors", column="donors",
                                 value=e["donors"]))
            continue
        mix_ok = True
        for m in e["mixtures"]:
            if not (isinstance(m, dict) and isinstance(m.get("sample"), str)
                    and isinstance(m.get("day"), int) and isinstance(m.get("lineage"), str)):
                probs.append(Problem(cfgp, f"{where}: mixture entry", column="mixtures",
                                     value=m, expected='{ sample = "...", day = 14, '
                                                       'lineage = "CD56" }'))
                mix_ok = False
        if not mix_ok:
            continue
        t, vp = read_vcf_snps(folder / e["file"], e["patient"], e["recipient"], e["donors"],
                              e["mixtures"])
        probs.extend(vp)
        if not vp and t.empty:
            probs.append(Problem(str(folder / e["file"]), "no usable SNP",
                                 expected="biallelic SNVs with GT for the recipient and donors "
                                          "and AD for the mixed samples"))
        elif not vp:
            _check_snps(t, folder / e["file"], probs)
            tables.append(t)
    if tables:
        inp.chim_snps = pd.concat([x for x in [inp.chim_snps, *tables] if x is not None],
                                  ignore_index=True)


def _read_panel(p: Path, inp: Inputs, probs: list[Problem], patients: set[str] | None) -> None:
    df = _read(p, ("patient", "analyte", "pre", "post"), probs)
    if df is None:
        return
    df["pre"] = _num(df, p, "pre", probs, lo=0, blank_ok=True, expected="a concentration >= 0")
    df["post"] = _num(df, p, "post", probs, lo=0, blank_ok=True,
                      expected="a concentration >= 0")
    key = df["patient"] + "|" + df["analyte"]
    for i in np.flatnonzero(key.duplicated().to_numpy()):
        probs.append(Problem(str(p), "patient and analyte listed twice", row=int(i) + 2,
                             column="analyte", value=df["analyte"].iloc[i]))
    if patients is not None:
        for i in np.flatnonzero((~df["patient"].isin(patients)).to_numpy()):
            probs.append(Problem(str(p), "patient not in patients.csv", row=int(i) + 2,
                                 column="patient", value=df["patient"].iloc[i]))
    inp.panel = df


def analyse_folder(path: str | Path, patients: set[str] | None = None,
                   figures: bool = True) -> tuple[list[Result], list[Any]]:
    """Every immunogenetics analysis whose input is present.

    Parameters
    ----------
    path:
        ``immunogenetics/`` folder or the study folder.
    patients:
        Patient ids for cross-checks.
    figures:
        Also return matplotlib Figures (tagged ``remission_name``/``_title``/``_caption``).

    Returns
    -------
    tuple
        ``(results, figures)``.

    Examples
    --------
    Only a cytokine panel: fold changes and the paired test (R
    ``wilcox.test(c(80, 60, 40, 90, 30, 45), c(10, 12, 8, 20, 5, 9), paired = TRUE)``
    gives p = 0.03552234):

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> pairs = [(10, 80), (12, 60), (8, 40), (20, 90), (5, 30), (9, 45)]
    >>> _ = (d / "cytokine_panel.csv").write_text("patient,analyte,pre,post,unit\\n" + "".join(
    ...     f"P{i},IL6,{a},{b},pg/mL\\n" for i, (a, b) in enumerate(pairs, 1)))
    >>> results, figs = analyse_folder(d, figures=False)
    >>> [r.name for r in results], figs
    (['immunogenetics.panel_fold_changes', 'immunogenetics.panel_tests'], [])
    >>> round(float(results[1].table.loc["IL6", "p"]), 6)
    0.035522
    """
    inp = read_folder(path, patients)
    results: list[Result] = []
    figs: list[Any] = []
    if inp.hla is not None and inp.pairs is not None:
        from remission.immunogenetics.kir import kir_hla_results

        results += kir_hla_results(inp.hla, inp.pairs, inp.kir, inp.ligands, inp.roles,
                                   tuple(inp.notes.get("kir", [])))
    if inp.sites is not None:
        results += _sites(inp, figs, figures)
    if inp.chim_peaks is not None or inp.chim_snps is not None:
        from remission.immunogenetics.chimerism import chimerism_results

        c = inp.config.get("chimerism", {})
        res = chimerism_results(inp.chim_geno, inp.chim_peaks, inp.chim_snps,
                                full_donor=c.get("full_donor", 95.0),
                                drop_points=c.get("drop_points", 10.0),
                                snp_error=c.get("snp_error", 0.005), conf=c.get("conf", 0.95),
                                stutter=c.get("stutter", "flag"),
                                stutter_ratio=c.get("stutter_ratio", 0.0))
        results += res
        chim = [r for r in res if r.name == "immunogenetics.chimerism"]
        if figures and chim:
            from remission.immunogenetics.plot import chimerism_plot

            figs.append(_tag(chimerism_plot(chim[0].table), "fig.immunogenetics.chimerism",
                             "Donor chimerism by lineage over time",
                             "Mean donor % over informative STR loci with its interval; "
                             "dashed line = complete-chimerism threshold."))
    if inp.cells is not None:  # deprecated input, same summary as the single-cell origin
        from remission.immunogenetics.origin import origin_result

        by = ("sample",) if "sample" in inp.cells.columns else ()
        results.append(origin_result(inp.cells, "read from immunogenetics/cell_origin.csv, "
                                     "clusters as supplied", by=by,
                                     warnings=(CELL_ORIGIN_DEPRECATED,)))
    if inp.panel is not None:
        from remission.immunogenetics.panel import panel_results

        res, fig = panel_results(inp.panel, inp.config.get("cytokines", {}).get("adjust",
                                                                                "holm"),
                                 figures=figures)
        results += res
        if fig is not None:
            figs.append(fig)
    if inp.config.get("immunogenetics", {}).get("synthetic"):
        from dataclasses import replace

        results = [replace(r, warnings=("SYNTHETIC data (immunogenetics.toml synthetic = "
                                        "true): not patients", *r.warnings)) for r in results]
    return results, figs


def _tag(fig: Any, name: str, title: str, caption: str) -> Any:
    fig.remission_name, fig.remission_title, fig.remission_caption = name, title, caption
    return fig


def _sites(inp: Inputs, figs: list[Any], figures: bool) -> list[Result]:
    from remission.immunogenetics.clonality import clonality_results, site_keys

    c = inp.config.get("integration_sites", {})
    sites = inp.sites[inp.sites["abundance"] > 0]
    res = clonality_results(sites, inp.samples, alert_share=c.get("alert_share", 0.20),
                            growth_fold=c.get("growth_fold", 2.0),
                            growth_min_share=c.get("growth_min_share", 0.05),
                            conf=c.get("conf", 0.95), n_resamples=c.get("n_resamples", 999),
                            seed=c.get("seed", 20261129),
                            notes=tuple(inp.notes.get("sites", [])))
    if inp.genes is not None:
        from remission.immunogenetics.annotate import (
            REFERENCES,
            cis_windows,
            grubbs_cis,
            nearest_gene,
            watch_hits,
        )

        uniq = sites.drop_duplicates(["chromosome", "position", "strand"]).copy()
        ann = nearest_gene(uniq, inp.genes)
        ann.insert(0, "site", site_keys(uniq).to_numpy())
        watch = {w.upper() for w in c.get("watch_list", [])}
        ann = ann.join(watch_hits(uniq, inp.genes, watch))
        total = sites.assign(site=site_keys(sites)).groupby("site")["abundance"].sum()
        ann["abundance_all_samples"] = ann["site"].map(total).to_numpy()
        ann = ann.sort_values("abundance_all_samples", ascending=False)
        ann.index = pd.Index(ann["site"])
        gr = grubbs_cis(ann, inp.genes)  # every distinct site, before the listing is cut
        hits = ann[ann["watch_gene"] != ""]
        n_all = len(ann)
        keep = ann.index[:100].union(hits.index, sort=False)
        ann = ann.loc[ann.index.isin(keep)]
        warn = [f"site {r.site} is "
                f"{'inside' if r.watch_distance == 0 else f'{r.watch_distance:,.0f} bp from'} "
                f"watch-list gene {r.watch_gene}" for r in hits.itertuples()]
        res.append(Result(
            "immunogenetics.is_annotation", "Integration sites: nearest gene", ann.drop(
                columns="site"),
            method=("Nearest gene of each distinct site from the user-supplied annotation "
                    "(distance 0 = inside the gene, with vector orientation relative to the "
                    "gene); a site within 50 kb of a watch-list gene is flagged with that "
                    "gene and distance even when another gene is nearer. Listed: the 100 most "
                    f"abundant of {n_all} distinct sites and every watch-list hit."),
            warnings=tuple(warn), references=REFERENCES, section="immunogenetics",
            params={"watch_list": sorted(watch)}))
        cis = cis_windows(uniq)
        if len(cis):
            cis.index = pd.Index([f"{r.chromosome}:{r.start}-{r.end}" for r in cis.itertuples()])
            mid = pd.DataFrame({"chromosome": cis["chromosome"].to_numpy(),
                                "position": ((cis["start"] + cis["end"]) // 2).to_numpy(),
                                "strand": "+"}, index=cis.index)
            cis["nearest_gene"] = nearest_gene(mid, inp.genes)["gene"].to_numpy()
        gr.index = pd.Index(gr["gene"].astype(str))
        tab = pd.concat([cis.assign(method="window rule"),
                         gr.rename(columns={"gene": "nearest_gene"}).assign(
                             method="Grubbs outlier")], axis=0)
        res.append(Result(
            "immunogenetics.is_cis", "Common insertion sites", tab,
            method=("Window rules over distinct sites pooled across samples: >= 2 within "
                    "30 kb, 3 within 50 kb, 4 within 100 kb, 5+ within 200 kb (Suzuki 2002; "
                    "Deichmann 2007); and genes whose integration density (sites per kb) is "
                    "an outlier by iterated two-sided Grubbs tests at 0.05 (Biffi 2011)."),
            rationale="Window rules depend on the number of sites sequenced; the Grubbs "
                      "approach compares genes with each other; both are reported.",
            warnings=() if len(tab) else ("no common insertion site",),
            references=REFERENCES, section="immunogenetics"))
    if figures:
        from remission.immunogenetics.plot import clone_size_plot

        figs.append(_tag(clone_size_plot(sites, inp.samples),
                         "fig.immunogenetics.clones",
                         "Integration-site clone sizes per sample",
                         "Share of each sample's abundance held by its 10 largest clones "
                         "(stacked) and by all other clones (grey)."))
    return res
