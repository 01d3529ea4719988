"""KIR–HLA models of NK alloreactivity, vectorised over donor–recipient pairs.

Inputs (see ``docs/study-format.md``, ``immunogenetics/``):

* HLA typing: one row per person, columns ``A_1, A_2, B_1, B_2, C_1, C_2``
  (blank = not typed; a blank second allele is read as homozygous by the reader).
* Donor KIR gene content: one row per donor, one column per gene, 1 = present,
  0 = absent, NaN = not typed.
* Pairs: ``recipient``, ``donor``.

Ligand status of a person is three-valued: 1 present (some allele carries it),
0 absent (every allele of the relevant loci is classified and none carries it),
-1 unknown (not present, and some relevant allele is untyped or unclassifiable).
Every model propagates the unknown state instead of guessing.

Models (criteria.md §9c):

* **Ligand–ligand** (KIR-ligand incompatibility; Ruggeri 2002): GvH when the recipient
  lacks a C1, C2 or Bw4 group the donor has; HvG when the donor lacks one the recipient
  has. Donor KIR not needed.
* **Receptor–ligand** (missing ligand; Leung 2004, Hsu 2005): donor carries KIR2DL1
  (ligand C2), KIR2DL2/2DL3 (C1) or KIR3DL1 (Bw4) and the recipient lacks the ligand;
  donor HLA not used, so it applies to HLA-identical pairs.
* **Licensing** (Kim 2005; Anfossi 2006): donor inhibitory KIR whose ligand the donor
  carries (self ligand); ``licensed_missing`` = licensed KIR whose ligand the recipient
  lacks (receptor and ligand both required, as Ruggeri 2007).
* **KIR haplotype and B content** (Cooley 2009, 2010): A/A when none of the B-haplotype
  genes (2DL2, 2DL5, 2DS1, 2DS2, 2DS3, 2DS5, 3DS1) is present, else B/x; centromeric
  motif from 2DL3 (A) vs 2DL2/2DS2 (B), telomeric from 3DL1 + 2DS4 (A) vs 3DS1/2DS1 (B)
  (Tel-B/B needs 3DL1 and 2DS4 both absent; when one of them is present and the other
  absent no motif fits and the telomeric motif is "?" -- 3DL1/3DS1 are alleles of one
  locus, so 3DL1 with 3DS1 cannot be Tel-B/B);
  B-content score = number of B motifs (0-4); **Best** = Cen-B/B, **Better** = >= 2 B
  motifs without Cen-B/B, **Neutral** = 0-1 B motif.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.immunogenetics.hla import UNKNOWN, classify, known_family, parse_allele
from remission.results import Result

__all__ = [
    "allele_classes",
    "evaluate_pairs",
    "kir_genotype",
    "kir_hla_results",
    "ligand_status",
]

HLA_COLUMNS = ("A_1", "A_2", "B_1", "B_2", "C_1", "C_2")
KIR_GENES = ("KIR2DL1", "KIR2DL2", "KIR2DL3", "KIR2DL4", "KIR2DL5", "KIR2DL5A", "KIR2DL5B",
             "KIR2DS1", "KIR2DS2", "KIR2DS3", "KIR2DS4", "KIR2DS5", "KIR3DL1", "KIR3DL2",
             "KIR3DL3", "KIR3DS1", "KIR2DP1", "KIR3DP1")
FRAMEWORK = ("KIR3DL3", "KIR3DP1", "KIR2DL4", "KIR3DL2")
B_GENES = ("KIR2DL2", "KIR2DL5", "KIR2DS1", "KIR2DS2", "KIR2DS3", "KIR2DS5", "KIR3DS1")
LIGANDS = ("C1", "C2", "Bw4")
#: inhibitory KIR -> ligand group (criteria.md §9a); 2DL2 and 2DL3 are alleles of one locus
INHIBITORY = (("KIR2DL1", "C2"), ("KIR2DL2/3", "C1"), ("KIR3DL1", "Bw4"))

MODEL_REFERENCES = (
    "Ruggeri L, Capanni M, Urbani E et al. Effectiveness of donor natural killer cell "
    "alloreactivity in mismatched hematopoietic transplants. Science 2002;295:2097-2100 "
    "(ligand-ligand / KIR-ligand incompatibility).",
    "Ruggeri L, Mancusi A, Capanni M et al. Donor natural killer cell allorecognition of "
    "missing self in haploidentical hematopoietic transplantation for acute myeloid "
    "leukemia. Blood 2007;110:433-40.",
    "Leung W, Iyengar R, Turner V et al. Determinants of antileukemia effects of allogeneic "
    "NK cells. J Immunol 2004;172:644-50 (receptor-ligand model).",
    "Hsu KC, Keever-Taylor CA, Wilton A et al. Improved outcome in HLA-identical sibling "
    "hematopoietic stem-cell transplantation for acute myelogenous leukemia predicted by "
    "KIR and HLA genotypes. Blood 2005;105:4878-84 (missing ligand).",
    "Kim S, Poursine-Laurent J, Truscott SM et al. Licensing of natural killer cells by "
    "host major histocompatibility complex class I molecules. Nature 2005;436:709-13.",
    "Anfossi N, Andre P, Guia S et al. Human NK cell education by inhibitory receptors for "
    "MHC class I. Immunity 2006;25:331-42.",
    "Cooley S, Trachtenberg E, Bergemann TL et al. Donors with group B KIR haplotypes "
    "improve relapse-free survival after unrelated hematopoietic cell transplantation for "
    "acute myelogenous leukemia. Blood 2009;113:726-32.",
    "Cooley S, Weisdorf DJ, Guethlein LA et al. Donor selection for natural killer cell "
    "receptor genes leads to superior survival after unrelated transplantation for acute "
    "myelogenous leukemia. Blood 2010;116:2411-19 (centromeric/telomeric B-content score).",
)

# which allele columns carry which ligand attribute
_ATTR_COLUMNS = {"C1": ("B_1", "B_2", "C_1", "C_2"), "C2": ("C_1", "C_2"),
                 "Bw4": ("A_1", "A_2", "B_1", "B_2"), "Bw4-80I": ("A_1", "A_2", "B_1", "B_2"),
                 "A3/A11": ("A_1", "A_2")}


def allele_classes(hla: pd.DataFrame, user: pd.DataFrame | None = None) -> pd.DataFrame:
    """Class of every distinct allele string in ``hla`` (one classification per name).

    Parameters
    ----------
    hla:
        Columns ``A_1 .. C_2`` of allele names; ``""`` = not typed.
    user:
        Optional user allele -> group table (see :func:`remission.immunogenetics.hla.classify`).

    Returns
    -------
    pandas.DataFrame
        Index = allele as written; columns ``key``, ``locus``, ``resolution``, ``c``,
        ``bw``, ``a3a11``, ``source``. Names that do not parse get ``resolution`` =
        ``"invalid"`` and ``?`` classes.

    Examples
    --------
    >>> t = pd.DataFrame({"A_1": ["A*24:02"], "A_2": ["A*02:01"], "B_1": ["B*46:01"],
    ...                   "B_2": ["B*46:01"], "C_1": ["C*16:02"], "C_2": [""]})
    >>> allele_classes(t).loc["B*46:01", "c"]
    'C1'
    """
    names = pd.unique(hla[list(HLA_COLUMNS)].to_numpy().ravel())
    rows = {}
    for raw in names:
        if raw == "" or raw is None or (isinstance(raw, float) and np.isnan(raw)):
            continue
        a = parse_allele(raw)
        if a is None:
            rows[raw] = ("", "", "invalid", UNKNOWN, UNKNOWN, UNKNOWN, "not an HLA-A/B/C name")
            continue
        k = classify(a, user)
        rows[raw] = (a.key, a.locus, a.resolution, k.c, k.bw, k.a3a11, k.source)
    return pd.DataFrame.from_dict(
        rows, orient="index",
        columns=["key", "locus", "resolution", "c", "bw", "a3a11", "source"])


def ligand_status(hla: pd.DataFrame, classes: pd.DataFrame | None = None,
                  user: pd.DataFrame | None = None) -> pd.DataFrame:
    """Three-valued KIR-ligand status per person (1 present, 0 absent, -1 unknown).

    Parameters
    ----------
    hla:
        One row per person, columns ``A_1 .. C_2`` (``""`` = not typed).
    classes:
        Output of :func:`allele_classes` (computed when omitted).
    user:
        Optional user allele -> group table.

    Returns
    -------
    pandas.DataFrame
        Same index; int8 columns ``C1``, ``C2``, ``Bw4``, ``Bw4-80I``, ``A3/A11``.

    Examples
    --------
    >>> t = pd.DataFrame({"A_1": ["A*02:01"], "A_2": ["A*02:01"], "B_1": ["B*07:02"],
    ...                   "B_2": ["B*07:02"], "C_1": ["C*07:02"], "C_2": ["C*07:02"]})
    >>> ligand_status(t)[["C1", "C2", "Bw4"]].iloc[0].tolist()
    [1, 0, 0]
    """
    if classes is None:
        classes = allele_classes(hla, user)
    cols = {}
    # attribute code per distinct allele: 1 has, 0 lacks, -1 unknown
    lookup = {
        "C1": np.where(classes["c"] == "C1", 1, np.where(classes["c"] == UNKNOWN, -1, 0)),
        "C2": np.where(classes["c"] == "C2", 1, np.where(classes["c"] == UNKNOWN, -1, 0)),
        "Bw4": np.where(classes["bw"].str.startswith("Bw4"), 1,
                        np.where(classes["bw"] == UNKNOWN, -1, 0)),
        "Bw4-80I": np.where(classes["bw"] == "Bw4-80I", 1,
                            np.where(classes["bw"] == UNKNOWN, -1, 0)),
        "A3/A11": np.where(classes["a3a11"] == "yes", 1,
                           np.where(classes["a3a11"] == UNKNOWN, -1, 0)),
    }
    index = pd.Index(classes.index)
    codes = {}
    for c in HLA_COLUMNS:
        v = hla[c].to_numpy(dtype=object)
        pos = index.get_indexer(v)  # -1 = blank (not typed)
        codes[c] = pos
    for lig, attr in lookup.items():
        attr_ext = np.append(attr, -1).astype(np.int8)  # position -1 -> unknown
        mats = np.stack([attr_ext[codes[c]] for c in _ATTR_COLUMNS[lig]], axis=1)
        present = (mats == 1).any(axis=1)
        unknown = (mats == -1).any(axis=1)
        cols[lig] = np.where(present, 1, np.where(unknown, -1, 0)).astype(np.int8)
    return pd.DataFrame(cols, index=hla.index)


def _tri_and_not(d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """1 when d present and r absent; 0 when d absent or r present; else -1."""
    yes = (d == 1) & (r == 0)
    no = (d == 0) | (r == 1)
    return np.where(yes, 1, np.where(no, 0, -1)).astype(np.int8)


def _tri_any(parts: list[np.ndarray]) -> np.ndarray:
    m = np.stack(parts, axis=1)
    return np.where((m == 1).any(axis=1), 1,
                    np.where((m == -1).any(axis=1), -1, 0)).astype(np.int8)


def _label(parts: dict[str, np.ndarray]) -> np.ndarray:
    """Comma-joined names of the parts equal to 1, '?'-suffixed names for unknown.

    Each row's states are encoded base 3 and looked up in a table of the 3**k possible
    labels, so no string is built per row."""
    names = list(parts)
    k = len(names)
    code = np.zeros(len(parts[names[0]]), np.int64)
    for i, name in enumerate(names):
        v = parts[name]
        code += np.where(v == 1, 1, np.where(v == -1, 2, 0)) * 3 ** i
    table = []
    for c in range(3 ** k):
        tags = []
        for i, name in enumerate(names):
            st = (c // 3 ** i) % 3
            if st:
                tags.append(name if st == 1 else name + "?")
        table.append(", ".join(tags))
    return np.array(table, dtype=object)[code]


def _tel_a_state(l1: np.ndarray, s4: np.ndarray) -> np.ndarray:
    """Telomeric A motif genes 3DL1 and 2DS4: 1 both present, 0 both absent, -1 either
    untyped, -2 they disagree (one present, one absent: no Cooley 2010 motif fits)."""
    return np.where((l1 == 1) & (s4 == 1), 1,
                    np.where((l1 == 0) & (s4 == 0), 0,
                             np.where((l1 == -1) | (s4 == -1), -1, -2))).astype(np.int8)


def kir_genotype(kir: pd.DataFrame) -> pd.DataFrame:
    """Haplotype A/A vs B/x, Cen/Tel motifs, B-content score and Cooley group per donor.

    Parameters
    ----------
    kir:
        One row per donor, gene columns with 1/0 (NaN = not typed).

    Returns
    -------
    pandas.DataFrame
        Columns ``haplotype`` (A/A, B/x or ?), ``centromeric`` and ``telomeric``
        (A/A, A/B, B/B or ?), ``b_content`` (0-4, NaN if unknown), ``cooley_group``
        (Best, Better, Neutral or ?), ``KIR2DL2/3`` (1/0/-1).

    Examples
    --------
    >>> k = pd.DataFrame({"KIR2DL2": [1], "KIR2DL3": [0], "KIR2DS2": [1], "KIR3DL1": [1],
    ...                   "KIR2DS4": [1], "KIR3DS1": [0], "KIR2DS1": [0]})
    >>> kir_genotype(k)["cooley_group"].iloc[0]
    'Best'
    """
    def g(name: str) -> np.ndarray:
        if name not in kir:
            return np.full(len(kir), -1, np.int8)
        v = kir[name].to_numpy(dtype=float)
        return np.where(np.isnan(v), -1, v).astype(np.int8)

    # KIR2DL5 may be typed as the gene or as its two loci KIR2DL5A / KIR2DL5B
    dl5 = [c for c in ("KIR2DL5", "KIR2DL5A", "KIR2DL5B") if c in kir]
    b_any = _tri_any([g(x) for x in B_GENES if x != "KIR2DL5"]
                     + ([_tri_any([g(c) for c in dl5])] if dl5 else [g("KIR2DL5")]))
    hap = np.where(b_any == 1, "B/x", np.where(b_any == 0, "A/A", "?"))
    cen_b = _tri_any([g("KIR2DL2"), g("KIR2DS2")])
    cen_a = g("KIR2DL3")
    tel_b = _tri_any([g("KIR3DS1"), g("KIR2DS1")])
    tel_a = _tel_a_state(g("KIR3DL1"), g("KIR2DS4"))

    def motif(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lab = np.select([(a == 1) & (b == 0), (a == 1) & (b == 1), (a == 0) & (b == 1)],
                        ["A/A", "A/B", "B/B"], "?")
        nb = np.select([lab == "A/A", lab == "A/B", lab == "B/B"], [0.0, 1.0, 2.0], np.nan)
        return lab, nb

    cen, cen_n = motif(cen_a, cen_b)
    tel, tel_n = motif(tel_a, tel_b)
    score = cen_n + tel_n
    group = np.select([cen == "B/B", np.isnan(score), score >= 2], ["Best", "?", "Better"],
                      "Neutral")
    # Cen-B/B is Best whatever Tel is; "Neutral" needs a known score
    dl23 = _tri_any([g("KIR2DL2"), g("KIR2DL3")])
    return pd.DataFrame({"haplotype": hap, "centromeric": cen, "telomeric": tel,
                         "b_content": score, "cooley_group": group, "KIR2DL2/3": dl23},
                        index=kir.index)


def evaluate_pairs(pairs: pd.DataFrame, status: pd.DataFrame,
                   kir: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every KIR-HLA model for each donor-recipient pair (vectorised).

    Parameters
    ----------
    pairs:
        Columns ``recipient`` and ``donor`` (ids in ``status``; ``donor`` also in ``kir``).
    status:
        :func:`ligand_status` of all persons, indexed by id.
    kir:
        Donor KIR gene content (rows = donor ids); without it the receptor-based models
        are unknown (-1).

    Returns
    -------
    pandas.DataFrame
        One row per pair: ligand-ligand GvH/HvG (flag and groups), receptor-ligand
        missing ligand (flag, count, groups), licensed KIR, licensed-and-missing,
        haplotype, Cen/Tel, B-content score, Cooley group. Flags: 1 yes, 0 no, -1 unknown.

    Examples
    --------
    >>> st = pd.DataFrame({"C1": [1, 1], "C2": [1, 0], "Bw4": [1, 1], "Bw4-80I": [1, 0],
    ...                    "A3/A11": [0, 0]}, index=["D", "R"])
    >>> evaluate_pairs(pd.DataFrame({"recipient": ["R"], "donor": ["D"]}), st)[
    ...     "gvh_ligand_groups"].iloc[0]
    'C2'
    """
    di = status.index.get_indexer(pairs["donor"])
    ri = status.index.get_indexer(pairs["recipient"])
    if (di < 0).any() or (ri < 0).any():
        raise KeyError("pair names a person without HLA typing")
    d = {lig: status[lig].to_numpy()[di] for lig in (*LIGANDS, "Bw4-80I", "A3/A11")}
    r = {lig: status[lig].to_numpy()[ri] for lig in (*LIGANDS, "Bw4-80I", "A3/A11")}
    out = pd.DataFrame(index=pairs.index)
    out["recipient"] = pairs["recipient"].to_numpy()
    out["donor"] = pairs["donor"].to_numpy()
    for who, s in (("donor", d), ("recipient", r)):
        out[f"{who}_ligands"] = _label({k: s[k] for k in (*LIGANDS, "A3/A11")})
    gvh = {lig: _tri_and_not(d[lig], r[lig]) for lig in LIGANDS}
    hvg = {lig: _tri_and_not(r[lig], d[lig]) for lig in LIGANDS}
    out["gvh_ligand_mismatch"] = _tri_any(list(gvh.values()))
    out["gvh_ligand_groups"] = _label(gvh)
    out["hvg_ligand_mismatch"] = _tri_any(list(hvg.values()))
    out["hvg_ligand_groups"] = _label(hvg)
    n = len(pairs)
    if kir is not None and len(kir):
        ki = kir.index.get_indexer(pairs["donor"])
        geno = kir_genotype(kir)
        ext = {}
        for gene in ("KIR2DL1", "KIR3DL1"):
            v = (kir[gene].to_numpy(dtype=float) if gene in kir
                 else np.full(len(kir), np.nan))
            ext[gene] = np.where(np.isnan(v), -1, v).astype(np.int8)
        ext["KIR2DL2/3"] = geno["KIR2DL2/3"].to_numpy()
        recv = {}
        for gene, _lig in INHIBITORY:
            arr = np.append(ext[gene], -1).astype(np.int8)
            recv[gene] = arr[ki]  # donor without KIR typing -> -1
        gcols = {c: np.append(geno[c].to_numpy(dtype=object), "?")[ki]
                 for c in ("haplotype", "centromeric", "telomeric", "cooley_group")}
        bcont = np.append(geno["b_content"].to_numpy(dtype=float), np.nan)[ki]
    else:
        recv = {gene: np.full(n, -1, np.int8) for gene, _ in INHIBITORY}
        gcols = {c: np.full(n, "?", dtype=object)
                 for c in ("haplotype", "centromeric", "telomeric", "cooley_group")}
        bcont = np.full(n, np.nan)
    missing = {}
    licensed = {}
    lic_missing = {}
    for gene, lig in INHIBITORY:
        has = recv[gene]
        rl = np.where((has == 1) & (r[lig] == 0), 1,
                      np.where((has == 0) | (r[lig] == 1), 0, -1)).astype(np.int8)
        missing[f"{gene}:{lig}"] = rl
        lic = np.where((has == 1) & (d[lig] == 1), 1,
                       np.where((has == 0) | (d[lig] == 0), 0, -1)).astype(np.int8)
        licensed[f"{gene}:{lig}"] = lic
        lic_missing[f"{gene}:{lig}"] = np.where(
            (lic == 1) & (r[lig] == 0), 1, np.where((lic == 0) | (r[lig] == 1), 0, -1)
        ).astype(np.int8)
    mm = np.stack(list(missing.values()), axis=1)
    out["missing_ligand"] = _tri_any(list(missing.values()))
    out["missing_ligand_n"] = np.where((mm == -1).any(axis=1), np.nan,
                                       (mm == 1).sum(axis=1).astype(float))
    out["missing_ligand_groups"] = _label(missing)
    out["licensed_kir"] = _label(licensed)
    out["licensed_missing"] = _tri_any(list(lic_missing.values()))
    out["licensed_missing_groups"] = _label(lic_missing)
    out["recipient_bw4_80I"] = r["Bw4-80I"]
    out["recipient_A3/A11"] = r["A3/A11"]
    for c, v in gcols.items():
        out[f"donor_{c}"] = v
    out["donor_b_content"] = bcont
    return out


def kir_hla_results(hla: pd.DataFrame, pairs: pd.DataFrame, kir: pd.DataFrame | None = None,
                    user: pd.DataFrame | None = None, roles: pd.Series | None = None,
                    notes: tuple[str, ...] = ()) -> list[Result]:
    """KIR-HLA Results for a study: alleles and ligands, pair models, donor genotypes.

    Parameters
    ----------
    hla:
        Typing, one row per person (index = id), columns ``A_1 .. C_2``.
    pairs:
        ``recipient``, ``donor`` (and optionally ``product``).
    kir:
        Donor KIR gene content (index = donor id), 1/0/NaN.
    user:
        Optional user allele -> group table.
    roles:
        Optional role per id (recipient/donor) for the listing.
    notes:
        Warnings from the reader (e.g. homozygosity assumed).

    Returns
    -------
    list of Result
        ``immunogenetics.hla_ligands``, ``immunogenetics.kir_models`` and, with ``kir``,
        ``immunogenetics.kir_genotype``.

    References
    ----------
    Ruggeri L, et al. Science 2002;295:2097-2100. Leung W, et al. J Immunol
    2004;172:644-650. Cooley S, et al. Blood 2010;116:2411-2419.

    Examples
    --------
    The donor has C2 (C*06:02) and Bw4 (B*44:02), the recipient neither (C*07:02 is C1,
    B*07:02 Bw6): a GvH ligand mismatch, and donor KIR2DL1 and KIR3DL1 find their
    ligands missing. No B-haplotype gene: KIR A/A, Cooley "Neutral":

    >>> hla = pd.DataFrame({"A_1": "A*02:01", "A_2": "A*02:01", "B_1": ["B*44:02", "B*07:02"],
    ...                     "B_2": "B*07:02", "C_1": ["C*06:02", "C*07:02"], "C_2": "C*07:02"},
    ...                    index=["D", "R"])
    >>> genes = ["KIR2DL1", "KIR2DL2", "KIR2DL3", "KIR3DL1", "KIR2DS2", "KIR2DL5", "KIR2DS1",
    ...          "KIR2DS3", "KIR2DS5", "KIR3DS1", "KIR2DS4"]
    >>> kir = pd.DataFrame([[1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1]], columns=genes, index=["D"])
    >>> res = kir_hla_results(hla, pd.DataFrame({"recipient": ["R"], "donor": ["D"]}), kir)
    >>> m = res[1].table.iloc[0]
    >>> m["gvh_ligand_groups"], m["missing_ligand_groups"], m["donor_cooley_group"]
    ('C2, Bw4', 'KIR2DL1:C2, KIR3DL1:Bw4', 'Neutral')
    """
    classes = allele_classes(hla, user)
    status = ligand_status(hla, classes, user)
    warn = list(notes)
    bad = classes[classes[["c", "bw", "a3a11"]].eq(UNKNOWN).any(axis=1)]
    for name, row in bad.iterrows():
        what = [k for k in ("c", "bw", "a3a11") if row[k] == UNKNOWN]
        lab = {"c": "C1/C2", "bw": "Bw4/Bw6", "a3a11": "A3/A11"}
        fam = "" if (a := parse_allele(name)) is None or known_family(a) else \
            ", not an HLA allele family of IPD-IMGT/HLA 3.63.0"
        warn.append(f"allele {name} ({row['resolution']}{fam}) cannot be classified for "
                    f"{', '.join(lab[w] for w in what)}: give residues 77-83 or a class in "
                    "the allele -> group file; models that need it are reported as unknown")
    gg = [n for n in classes.index if (a := parse_allele(n)) is not None and a.group == "G"]
    if gg:
        warn.append("G-group typing (" + ", ".join(map(str, gg)) + ") classified as the "
                    "group's named allele (same exons 2-3, which hold residues 77-83); a G "
                    "group can also hold null alleles, which carry no ligand")
    low = classes[classes["resolution"].isin(["1-field", "serology", "code"])]
    if len(low):
        warn.append("low-resolution typing (" + ", ".join(low.index.astype(str)) +
                    "): ligand groups need 2-field alleles (C*16:01 is C1, C*16:02 is C2)")
    per = hla[list(HLA_COLUMNS)].copy()
    if roles is not None:
        per.insert(0, "role", roles.reindex(per.index).fillna(""))
    for lig in status:
        per[lig] = pd.Series(status[lig].to_numpy(), index=per.index).map(
            {1: "present", 0: "absent", -1: "unknown"})
    per.index = per.index.astype(str)
    r1 = Result(
        "immunogenetics.hla_ligands", "HLA class I typing and KIR-ligand groups", per,
        method=("Each allele classified as C1/C2 (HLA-C residue 80; B*46:01 and B*73:01 as "
                "C1), Bw4-80I/Bw4-80T/Bw6 (residues 77-83; Bw4 also on some HLA-A, e.g. "
                "A*23/24/25/32) and "
                "A3/A11 (HLA-A*03/*11), from the user file, residues 77-83, the shipped "
                "common-allele classes (IPD-IMGT/HLA 3.63.0) and locus-family rules, in that "
                "order; a person's ligand is present if any allele carries it, absent if "
                "every allele of the relevant loci is classified without it, else unknown."),
        rationale="Unclassifiable or untyped alleles are never guessed: they make the ligand "
                  "unknown unless another allele already provides it.",
        warnings=tuple(warn), section="immunogenetics",
        references=("Design note criteria.md §9 (rules and sources).",
                    "Robinson J et al. Nucleic Acids Res 2020;48:D948-D955 (IPD-IMGT/HLA)."),
        params={"n_persons": len(per), "n_alleles": len(classes)})
    models = evaluate_pairs(pairs, status, kir)
    models.index = (models["recipient"].astype(str) + " | " + models["donor"].astype(str))
    tri = {1: "yes", 0: "no", -1: "unknown"}
    shown = models.copy()
    for c in ("gvh_ligand_mismatch", "hvg_ligand_mismatch", "missing_ligand",
              "licensed_missing", "recipient_bw4_80I", "recipient_A3/A11"):
        shown[c] = shown[c].map(tri)
    if "product" in pairs:
        shown.insert(2, "product", pairs["product"].to_numpy())
    mwarn = []
    if kir is None or not len(kir):
        mwarn.append("no donor KIR genotype: receptor-ligand, licensing and B-content models "
                     "are unknown")
    r2 = Result(
        "immunogenetics.kir_models", "KIR–HLA alloreactivity models per donor–recipient pair",
        shown.drop(columns=["recipient", "donor"]),
        method=("Ligand-ligand (KIR-ligand incompatibility, Ruggeri 2002): GvH = recipient "
                "lacks a C1, C2 or Bw4 group the donor has, HvG = the reverse. "
                "Receptor-ligand (missing ligand, Leung 2004; Hsu 2005): donor KIR2DL1, "
                "2DL2/3 or 3DL1 present and the recipient lacks C2, C1 or Bw4 respectively. "
                "Licensing (Kim 2005; Anfossi 2006): donor inhibitory KIR with its ligand in "
                "the donor; licensed_missing = licensed KIR whose ligand the recipient lacks "
                "(Ruggeri 2007). Donor KIR A/A vs B/x and Cen/Tel B-content score with "
                "Best/Better/Neutral groups (Cooley 2009, 2010)."),
        rationale=("All four models are reported because they disagree by design (the "
                   "ligand-ligand model ignores donor KIR, the receptor-ligand model ignores "
                   "donor HLA); a '?' after a group or 'unknown' means an untyped or "
                   "unclassifiable allele or gene decides it."),
        warnings=tuple([*mwarn,
                        "KIR2DL2 also binds some C2 allotypes weakly and KIR3DL1 binds Bw4-80I "
                        "more strongly than 80T (criteria.md §9a); the models count groups "
                        "only.",
                        "Cen/Tel motifs from gene presence/absence (2DL3 vs 2DL2/2DS2; "
                        "3DL1+2DS4 vs 3DS1/2DS1) are unphased approximations; Best/Better/"
                        "Neutral labels follow the NMDP/IPD-KIR B-content calculator."]),
        references=MODEL_REFERENCES, section="immunogenetics",
        params={"n_pairs": len(models)})
    out = [r1, r2]
    if kir is not None and len(kir):
        geno = kir_genotype(kir)
        fw = []
        def gv(name: str) -> np.ndarray:
            v = (kir[name].to_numpy(dtype=float) if name in kir
                 else np.full(len(kir), np.nan))
            return np.where(np.isnan(v), -1, v).astype(np.int8)
        odd = _tel_a_state(gv("KIR3DL1"), gv("KIR2DS4")) == -2
        for donor in kir.index[odd]:
            fw.append(f"donor {donor}: KIR3DL1 and KIR2DS4 disagree (one present, one "
                      "absent): no Cooley 2010 telomeric motif fits, telomeric motif and "
                      "B-content score not assigned (check the typing)")
        for gene in FRAMEWORK:
            if gene in kir:
                for donor in kir.index[kir[gene].to_numpy(dtype=float) == 0]:
                    fw.append(f"donor {donor}: framework gene {gene} typed absent "
                              "(rare; check the typing)")
        gt = pd.concat([kir.astype("Float64"), geno.drop(columns="KIR2DL2/3")], axis=1)
        gt.index = gt.index.astype(str)
        out.append(Result(
            "immunogenetics.kir_genotype", "Donor KIR gene content, haplotype and B content",
            gt, method=("A/A when none of KIR2DL2, 2DL5, 2DS1, 2DS2, 2DS3, 2DS5, 3DS1 is "
                        "present, else B/x (Cooley 2009); centromeric A = 2DL3, B = 2DL2 "
                        "and/or 2DS2; telomeric A = 3DL1 with 2DS4, B = 3DS1 and/or 2DS1 "
                        "(Tel-B/B = B genes without 3DL1 and 2DS4); B-content score = "
                        "number of B motifs (Cooley 2010)."),
            rationale="Cooley 2010: Cen-B/B donors had the lowest relapse after unrelated "
                      "HCT for AML (not ALL).",
            warnings=tuple(fw), references=MODEL_REFERENCES[6:], section="immunogenetics"))
    return out
