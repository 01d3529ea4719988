"""HLA class I alleles -> KIR-ligand groups (C1/C2, Bw4-80I/Bw4-80T/Bw6, A3/A11).

Rules and facts (``/work/shared/design/criteria.md`` §9 and §11):

* **C1 / C2** by HLA-C residue 80 (Asn80 = C1, Lys80 = C2); HLA-B*46:01 and B*73:01
  carry the Bw6 motif with Asn80 and act as C1 ligands.
* **Bw4 / Bw6** by residues 77-83: Arg83 = Bw4 (Ile80 = Bw4-80I, Thr80 = Bw4-80T),
  Gly83 = Bw6. Bw4 is also carried by HLA-A*23, A*24, A*25 and A*32.
* **A3/A11**: HLA-A*03 and A*11 (KIR3DL2 ligand, peptide-dependent).

Order of evidence for one allele: (1) a user-supplied allele -> group file (explicit
classes, or residues 77-83, or the mature protein sequence); (2) the common alleles
shipped as cited facts (``data/kir_ligands_common.csv``, IPD-IMGT/HLA 3.63.0 classes);
(3) locus-family rules that hold for every allele of a locus (no HLA-A allele is a C
ligand; A3/A11 = A*03/A*11; only B*46/B*73 among HLA-B are C ligands). Anything else is
**unclassifiable** and reported, never guessed: the first field does not fix the group
(C*16:01 is C1, C*16:02 is C2). HLA-A Bw4 is *not* confined to the A*23/24/25/32
families: IPD-IMGT/HLA 3.63.0 lists 26 Bw4 alleles in other families (e.g. A*02:81,
A*31:07, A*68:36 Bw4-80I; A*26:58 Bw4-80T), so an HLA-A allele's Bw4 status comes from
the shipped facts (common alleles, the Bw4 ones of criteria.md §9b and common non-Bw4
ones checked against the same source) or the user file, never from its first field.

Names: ``A*02:01``, ``HLA-C*07:02:01:03``, any case, the pre-2010 ``Cw*07:01`` prefix,
G and P groups (``C*07:01:01G``, ``C*07:01P``: alleles with the same antigen-recognition
domain, exons 2-3, which holds residues 77-83, so the group's named allele gives the class;
a G group may also hold null alleles, which the report says), expression suffixes (``N``
null = no ligand; ``L``/``S``/``Q``/``C``/``A`` = unclassifiable unless the user file says
otherwise);
1-field (``C*07``), serology (``Cw7``, ``B51``) and ambiguity codes (``A*02:AB``) are
accepted but flagged as low resolution and are classifiable only by the user file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

__all__ = [
    "Allele",
    "LigandClass",
    "classify",
    "classify_residues",
    "common_alleles",
    "parse_allele",
]

LOCI = ("A", "B", "C")
C_VALUES = ("C1", "C2", "none")
BW_VALUES = ("Bw4-80I", "Bw4-80T", "Bw4-80N", "Bw6", "none")
UNKNOWN = "?"
_MOLECULAR = re.compile(
    r"^(?:HLA-)?(?P<locus>[ABC])(?:(?<=C)W)?\*(?P<f1>\d{2,3})(?::(?P<f2>\d{2,4}|[A-Z]{2,5}))?"
    r"(?::\d{2,3}){0,2}(?:(?P<suffix>[NLSQCA])|(?P<group>[GP]))?$")
_SEROLOGY = re.compile(r"^(?:HLA-)?(?P<locus>A|B|CW?)(?P<num>\d{1,4})$")
_RESIDUES = re.compile(r"^[ACDEFGHIKLMNPQRSTVWY]{7}$")

#: allele families (first fields) of IPD-IMGT/HLA release 3.63.0 (via krantzlab/
#: immunogenomics-ref, criteria.md §9d); a molecular name outside them is not an allele
FAMILIES = {
    "A": frozenset((1, 2, 3, 11, 23, 24, 25, 26, 29, 30, 31, 32, 33, 34, 36, 43, 66, 68, 69,
                    74, 80)),
    "B": frozenset((7, 8, 13, 14, 15, 18, 27, 35, 37, 38, 39, 40, 41, 42, 44, 45, 46, 47, 48,
                    49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 67, 73, 78, 81, 82, 83)),
    "C": frozenset((1, 2, 3, 4, 5, 6, 7, 8, 12, 14, 15, 16, 17, 18)),
}


def known_family(allele: Allele) -> bool:
    """Whether a molecular name's first field is an HLA-A/B/C allele family (serology: True).

    Parameters
    ----------
    allele:
        From :func:`parse_allele`.

    Returns
    -------
    bool

    Examples
    --------
    >>> known_family(parse_allele("B*99:01")), known_family(parse_allele("C*16:04"))
    (False, True)
    """
    f1 = allele.first_field
    return f1 is None or f1 in FAMILIES[allele.locus]


REFERENCES = (
    "Robinson J et al. IPD-IMGT/HLA Database. Nucleic Acids Res 2020;48:D948-D955 "
    "(release 3.63.0 ligand classes of the shipped common alleles).",
    "Moesta AK, Norman PJ, Yawata M et al. Synergistic polymorphism at two positions distal "
    "to the ligand-binding site makes KIR2DL2 a stronger receptor for HLA-C than KIR2DL3. "
    "J Immunol 2008;180:3969-79 (C1 = Asn80, C2 = Lys80).",
    "Cella M, Longo A, Ferrara GB et al. NK3-specific natural killer cells are selectively "
    "inhibited by Bw4-positive HLA alleles with isoleucine 80. J Exp Med 1994;180:1235-42.",
)


@dataclass(frozen=True)
class Allele:
    """A parsed HLA class I typing result.

    Attributes
    ----------
    raw, locus:
        As written, and ``"A"``, ``"B"`` or ``"C"``.
    key:
        Normalised lookup key: ``"B*46:01"`` (2-field), ``"C*07"`` (1-field),
        ``"B51"`` (serology), ``"A*02:AB"`` (code); suffix kept (``"A*24:09N"``).
    resolution:
        ``"2-field+"``, ``"1-field"``, ``"code"`` or ``"serology"``.
    suffix:
        Expression suffix or ``""``.
    group:
        ``"G"`` or ``"P"`` for a G or P group designation (``C*07:01:01G``,
        ``C*07:01P``), else ``""``; the key is the group's named 2-field allele.
    """

    raw: str
    locus: str
    key: str
    resolution: str
    suffix: str = ""
    group: str = ""

    @property
    def low_resolution(self) -> bool:
        return self.resolution != "2-field+"

    @property
    def two_field(self) -> str:
        """``"B*46:01"`` without suffix (empty for low resolution)."""
        return self.key.rstrip("NLSQCA") if self.resolution == "2-field+" else ""

    @property
    def first_field(self) -> int | None:
        m = re.match(r"^[ABC]\*(\d+)", self.key)
        return int(m.group(1)) if m else None


def parse_allele(text: str) -> Allele | None:
    """Parse one HLA-A/B/C name; ``None`` when it is not a class I name.

    Parameters
    ----------
    text:
        e.g. ``"HLA-B*46:01:01"``, ``"C*16:02"``, ``"Cw7"``, ``"A*24:09N"``.

    Returns
    -------
    Allele or None

    Examples
    --------
    >>> parse_allele("HLA-B*46:01:01").key
    'B*46:01'
    >>> parse_allele("Cw7").resolution
    'serology'
    """
    s = str(text).strip().upper().replace(" ", "")
    m = _MOLECULAR.match(s)
    if m:
        locus, f1, f2, suf = m.group("locus"), m.group("f1"), m.group("f2"), m.group("suffix")
        suf, grp = suf or "", m.group("group") or ""
        if grp and (f2 is None or f2.isalpha()):
            return None  # a G/P group names a 2-field (or longer) allele
        if grp:
            return Allele(text, locus, f"{locus}*{f1}:{f2}", "2-field+", "", grp)
        if f2 is None:
            return Allele(text, locus, f"{locus}*{f1}{suf}", "1-field", suf)
        if f2.isalpha():
            return Allele(text, locus, f"{locus}*{f1}:{f2}", "code", suf)
        return Allele(text, locus, f"{locus}*{f1}:{f2}{suf}", "2-field+", suf)
    m = _SEROLOGY.match(s)
    if m:
        locus = m.group("locus")[0]
        lab = "Cw" if locus == "C" else locus
        return Allele(text, locus, f"{lab}{int(m.group('num'))}", "serology")
    return None


@dataclass(frozen=True)
class LigandClass:
    """KIR-ligand classes of one allele and where they came from.

    ``c`` in C1/C2/none/?; ``bw`` in Bw4-80I/Bw4-80T/Bw4-80N/Bw6/none/?;
    ``a3a11`` in yes/no/?.
    """

    c: str
    bw: str
    a3a11: str
    source: str


@lru_cache(maxsize=1)
def common_alleles() -> pd.DataFrame:
    """The shipped common-allele facts (criteria.md §9b), indexed by 2-field allele.

    Returns
    -------
    pandas.DataFrame
        Columns ``c_ligand``, ``bw``, ``source``.

    Examples
    --------
    >>> common_alleles().loc["C*16:02", "c_ligand"]
    'C2'
    """
    with resources.files("remission.data").joinpath("kir_ligands_common.csv").open(
            encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str).set_index("allele")


def classify_residues(locus: str, residues_77_83: str) -> tuple[str, str]:
    """(C group, Bw group) from residues 77-83 of the mature protein.

    C1/C2 by residue 80 (N/K) for HLA-C; Bw4/Bw6 by residue 83 (R/G) for HLA-A/B, with
    80I/80T/80N from residue 80. HLA-B residue 80 does not make a C ligand (B*46:01 and
    B*73:01 have the same SLRNLRG motif as other Bw6 alleles), so HLA-B C status is not
    read from the motif.

    Parameters
    ----------
    locus:
        ``"A"``, ``"B"`` or ``"C"``.
    residues_77_83:
        Seven one-letter amino acids, e.g. ``"NLRIALR"``.

    Returns
    -------
    tuple of str
        ``(c, bw)``; ``"?"`` where the residues do not decide.

    Examples
    --------
    >>> classify_residues("B", "NLRTALR")
    ('?', 'Bw4-80T')
    >>> classify_residues("C", "SLRNLRG")
    ('C1', 'none')
    """
    r80, r83 = residues_77_83[3], residues_77_83[6]
    if locus == "C":
        return {"N": "C1", "K": "C2"}.get(r80, UNKNOWN), "none"
    bw = UNKNOWN
    if r83 == "G":
        bw = "Bw6"
    elif r83 == "R":
        bw = {"I": "Bw4-80I", "T": "Bw4-80T", "N": "Bw4-80N"}.get(r80, UNKNOWN)
    return ("none" if locus == "A" else UNKNOWN), bw


def classify(allele: Allele, user: pd.DataFrame | None = None) -> LigandClass:
    """KIR-ligand classes of one parsed allele (see module docstring for the order).

    Parameters
    ----------
    allele:
        From :func:`parse_allele`.
    user:
        Optional user file, indexed by normalised allele key, with columns ``c_ligand``,
        ``bw``, ``a3a11`` (blank = not given) and ``residues_77_83``.

    Returns
    -------
    LigandClass

    Examples
    --------
    >>> classify(parse_allele("B*46:01")).c
    'C1'
    >>> classify(parse_allele("C*16:03")).c
    '?'
    """
    loc, key = allele.locus, allele.key
    c, bw, a3, src = UNKNOWN, UNKNOWN, UNKNOWN, []
    if user is not None and key in user.index:
        row = user.loc[key]
        if row.get("c_ligand", ""):
            c = row["c_ligand"]
        if row.get("bw", ""):
            bw = row["bw"]
        if row.get("a3a11", ""):
            a3 = row["a3a11"]
        res = row.get("residues_77_83", "")
        if res:
            rc, rb = classify_residues(loc, res)
            c = rc if c == UNKNOWN and rc != UNKNOWN else c
            bw = rb if bw == UNKNOWN and rb != UNKNOWN else bw
        src.append("user file")
    if allele.suffix == "N":
        return LigandClass("none", "none", "no", "null allele (not expressed)")
    if allele.suffix:
        reason = f"expression suffix {allele.suffix!r}"
        return LigandClass(c, bw, a3, "; ".join(src) or reason)
    if allele.resolution == "2-field+":
        facts = common_alleles()
        two = allele.two_field
        if two in facts.index:
            if c == UNKNOWN:
                c = facts.at[two, "c_ligand"]
            if bw == UNKNOWN:
                bw = facts.at[two, "bw"]
            src.append("shipped fact (IPD-IMGT/HLA 3.63.0; criteria.md 9b)")
    f1 = allele.first_field
    if allele.resolution != "serology" and f1 is not None:
        # locus-family rules (criteria.md 9a) -- they hold for every allele of the family
        if loc == "A":
            c = "none" if c == UNKNOWN else c
            if a3 == UNKNOWN:
                a3 = "yes" if f1 in (3, 11) else "no"
        elif loc == "B":
            if c == UNKNOWN and f1 not in (46, 73):
                c = "none"
            a3 = "no" if a3 == UNKNOWN else a3
        else:
            bw = "none" if bw == UNKNOWN else bw
            a3 = "no" if a3 == UNKNOWN else a3
    elif allele.resolution == "serology":
        a3 = ("yes" if loc == "A" and allele.key in ("A3", "A11") else
              ("no" if a3 == UNKNOWN else a3))
        if loc == "A" and c == UNKNOWN:
            c = "none"
        # an HLA-A antigen does not fix Bw4 (rare Bw4 alleles in A*02, A*31, A*68, ...)
        if loc == "C" and bw == UNKNOWN:
            bw = "none"
    return LigandClass(c, bw, a3, "; ".join(src) or "locus rule")
