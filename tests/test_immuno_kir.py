"""KIR–HLA: hand-worked donor–recipient pairs for every ligand group and every model.

Oracle: the rules as written in criteria.md §9 (Ruggeri 2002 ligand-ligand, Leung 2004 /
Hsu 2005 receptor-ligand, Kim 2005 licensing, Cooley 2009/2010 B content) applied by hand
to each pair below; the expected values are written out, not computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.immunogenetics.hla import classify, classify_residues, parse_allele
from remission.immunogenetics.kir import (
    allele_classes,
    evaluate_pairs,
    kir_genotype,
    kir_hla_results,
    ligand_status,
)

COLS = ["A_1", "A_2", "B_1", "B_2", "C_1", "C_2"]


def typing(**people: str) -> pd.DataFrame:
    """'A*02:01 A*03:01 B*07:02 B*51:01 C*07:02 C*04:01' per person."""
    return pd.DataFrame({k: v.split(" ") for k, v in people.items()}, index=COLS).T.replace(
        "-", "")


# ------------------------------------------------------------------ allele classification

@pytest.mark.parametrize("name,c,bw,a3", [
    ("C*07:02", "C1", "none", "no"),       # C1 (criteria 9b)
    ("C*16:01", "C1", "none", "no"),       # C*16 splits: 16:01 C1 ...
    ("C*16:02", "C2", "none", "no"),       # ... 16:02 C2
    ("C*04:01", "C2", "none", "no"),
    ("B*46:01", "C1", "Bw6", "no"),        # Bw6 motif with N80 acts as C1
    ("B*73:01", "C1", "Bw6", "no"),
    ("B*51:01", "none", "Bw4-80I", "no"),
    ("B*27:05", "none", "Bw4-80T", "no"),
    ("B*07:02", "none", "Bw6", "no"),
    ("A*23:01", "none", "Bw4-80I", "no"),  # HLA-A Bw4
    ("A*24:02", "none", "Bw4-80I", "no"),
    ("A*25:01", "none", "Bw4-80I", "no"),
    ("A*32:01", "none", "Bw4-80I", "no"),
    ("A*02:01", "none", "none", "no"),
    ("A*03:01", "none", "none", "yes"),    # A3/A11
    ("A*11:01", "none", "none", "yes"),
    ("HLA-C*07:02:01:03", "C1", "none", "no"),  # 4-field -> 2-field protein
    ("A*24:09N", "none", "none", "no"),    # null allele: no ligand
    ("C*16:04", "?", "none", "no"),        # not shipped: never guessed from first field
    ("B*15:02", "none", "?", "no"),        # B*15 mostly Bw6 but 54 Bw4-80I alleles
    ("B*46:02", "?", "?", "no"),           # B*46 family: C1 status needs the allele
    ("A*24:03", "none", "?", "no"),        # A*24 family not shipped
    ("C*07", "?", "none", "no"),           # 1-field: low resolution
    ("Cw7", "?", "none", "no"),            # serology
    # HLA-A Bw4 is not confined to A*23/24/25/32: IPD-IMGT/HLA 3.63.0 (krantzlab
    # bw4_80i_classification.csv) lists A*02:81, A*31:07, A*68:36 as Bw4-80I, so an
    # unshipped HLA-A allele, an HLA-A antigen or a 1-field type has unknown Bw4 status
    ("A*02:81", "none", "?", "no"),
    ("A*31:07", "none", "?", "no"),
    ("A*02", "none", "?", "no"),
    ("A2", "none", "?", "no"),
    ("A11", "none", "?", "yes"),
    ("A*31:01", "none", "none", "no"),     # common, not in the IPD Bw4 list: shipped
    ("A*68:01", "none", "none", "no"),
    # odd but valid names: any case, HLA- prefix, old Cw* prefix, G and P groups
    ("c*07:01", "C1", "none", "no"),
    ("hla-c*16:02:01:02", "C2", "none", "no"),
    ("Cw*07:01", "C1", "none", "no"),
    ("C*07:01:01G", "C1", "none", "no"),
    ("C*16:02P", "C2", "none", "no"),
    ("B*46:01:01G", "C1", "Bw6", "no"),
])
def test_allele_classes(name, c, bw, a3):
    k = classify(parse_allele(name))
    assert (k.c, k.bw, k.a3a11) == (c, bw, a3)


def test_parse_names_and_resolution():
    assert parse_allele("C*07").resolution == "1-field"
    assert parse_allele("A*02:AB").resolution == "code"
    assert parse_allele("B51").resolution == "serology"
    assert parse_allele("B*46:01:01").key == "B*46:01"
    for bad in ("KIR2DL1", "D*01:01", "A*2", "B**51", "", "C*07G", "Bw*51:01", "nan"):
        assert parse_allele(bad) is None
    g = parse_allele("C*07:01:01G")
    assert (g.key, g.group, g.resolution) == ("C*07:01", "G", "2-field+")


def test_residue_motifs():
    # residues 77-83 (criteria 9a): NLRIALR Bw4-80I, NLRTALR Bw4-80T, SLRNLRG Bw6
    assert classify_residues("B", "NLRIALR") == ("?", "Bw4-80I")
    assert classify_residues("B", "NLRTALR") == ("?", "Bw4-80T")
    assert classify_residues("B", "SLRNLRG") == ("?", "Bw6")
    assert classify_residues("A", "NLRIALR") == ("none", "Bw4-80I")
    assert classify_residues("C", "SLRNLRG") == ("C1", "none")  # N80
    assert classify_residues("C", "NLRKLRG") == ("C2", "none")  # K80
    assert classify_residues("C", "NLRALRG")[0] == "?"


def test_user_file_classifies_an_unshipped_allele():
    user = pd.DataFrame({"c_ligand": ["", "C2"], "bw": ["", ""], "a3a11": ["", ""],
                         "residues_77_83": ["NLRIALR", ""]}, index=["B*15:02", "C*16:04"])
    assert classify(parse_allele("B*15:02"), user).bw == "Bw4-80I"
    assert classify(parse_allele("C*16:04"), user).c == "C2"
    assert classify(parse_allele("C*16:04")).c == "?"


# ------------------------------------------------------------------ person ligand status

def test_status_homozygous_missing_and_unclassifiable():
    t = typing(
        homC1="A*02:01 A*02:01 B*07:02 B*07:02 C*07:02 C*07:02",   # C1/C1, no Bw4
        homC2="A*01:01 A*01:01 B*44:02 B*44:02 C*05:01 C*05:01",   # C2/C2, Bw4-80T
        b46="A*02:01 A*11:01 B*46:01 B*46:01 C*04:01 C*04:01",     # C1 from B*46:01 only
        noC="A*02:01 A*02:01 B*51:01 B*07:02 - -",                 # HLA-C not typed
        unk="A*02:01 A*02:01 B*07:02 B*07:02 C*16:04 C*07:02",     # C1 known, C2 unknown
        unkB="A*02:01 A*02:01 B*15:02 B*07:02 C*07:02 C*07:02",    # Bw4 unknown
        a24="A*24:02 A*02:01 B*07:02 B*08:01 C*07:02 C*07:01",     # Bw4 from HLA-A
    )
    s = ligand_status(t)
    want = {  # C1 C2 Bw4 Bw4-80I A3/A11
        "homC1": [1, 0, 0, 0, 0], "homC2": [0, 1, 1, 0, 0], "b46": [1, 1, 0, 0, 1],
        "noC": [-1, -1, 1, 1, 0], "unk": [1, -1, 0, 0, 0], "unkB": [1, 0, -1, -1, 0],
        "a24": [1, 0, 1, 1, 0],
    }
    for who, exp in want.items():
        assert s.loc[who].tolist() == exp, who


# ------------------------------------------------------------------ pair models

FULL_KIR = {g: 1 for g in ("KIR2DL1", "KIR2DL2", "KIR2DL3", "KIR3DL1", "KIR2DS4",
                           "KIR3DL2", "KIR3DL3", "KIR2DL4", "KIR3DP1")}


def models(t: pd.DataFrame, pairs: list[tuple[str, str]], kir: dict | None = None):
    p = pd.DataFrame(pairs, columns=["recipient", "donor"])
    k = None if kir is None else pd.DataFrame(kir).T.astype(float)
    return evaluate_pairs(p, ligand_status(t), k).set_index("recipient")


def test_ligand_ligand_gvh_and_hvg():
    t = typing(
        D="A*02:01 A*03:01 B*51:01 B*07:02 C*07:02 C*04:01",   # C1 C2 Bw4
        R1="A*02:01 A*02:01 B*07:02 B*07:02 C*07:02 C*07:02",  # homozygous C1, no Bw4
        R2="A*02:01 A*02:01 B*51:01 B*51:01 C*04:01 C*05:01",  # C2 C2 Bw4
        R3="A*02:01 A*02:01 B*51:01 B*07:02 C*07:02 C*04:01",  # identical ligands
        R4="A*02:01 A*02:01 B*51:01 B*07:02 - -",              # HLA-C missing
        D2="A*02:01 A*02:01 B*07:02 B*08:01 C*07:02 C*07:01",  # C1 only, no Bw4
    )
    allm = models(t, [("R1", "D"), ("R2", "D"), ("R3", "D"), ("R4", "D"), ("R2", "D2")])
    m = allm[allm["donor"] == "D"]
    assert m.loc["R1", "gvh_ligand_groups"] == "C2, Bw4"
    assert m.loc["R1", "gvh_ligand_mismatch"] == 1
    assert m.loc["R1", "hvg_ligand_mismatch"] == 0
    assert m.loc["R2", "gvh_ligand_groups"] == "C1"          # homozygous C2 lacks C1
    assert m.loc["R3", "gvh_ligand_mismatch"] == 0
    assert m.loc["R3", "hvg_ligand_mismatch"] == 0
    assert m.loc["R4", "gvh_ligand_mismatch"] == -1          # C1/C2 of recipient unknown
    assert m.loc["R4", "gvh_ligand_groups"] == "C1?, C2?"
    r2d2 = allm[allm["donor"] == "D2"].iloc[0]                     # C1-only donor vs C2/C2 Bw4
    assert r2d2["gvh_ligand_groups"] == "C1"
    assert r2d2["hvg_ligand_groups"] == "C2, Bw4"


def test_receptor_ligand_and_licensing():
    t = typing(
        D="A*02:01 A*02:01 B*07:02 B*08:01 C*07:02 C*07:01",   # C1/C1, no Bw4
        R="A*02:01 A*02:01 B*07:02 B*08:01 C*07:02 C*07:01",   # HLA-identical
    )
    kir = {"D": dict(FULL_KIR)}
    m = models(t, [("R", "D")], kir).loc["R"]
    # ligand-ligand: identical -> no mismatch; receptor-ligand: 2DL1 (C2) and 3DL1 (Bw4)
    # have no ligand in the recipient -> missing ligand x2 (Hsu 2005: HLA-identical pairs)
    assert m["gvh_ligand_mismatch"] == 0
    assert m["missing_ligand"] == 1 and m["missing_ligand_n"] == 2
    assert m["missing_ligand_groups"] == "KIR2DL1:C2, KIR3DL1:Bw4"
    # licensing: only 2DL2/3 meets a self ligand (C1); licensed KIR all see C1 in R
    assert m["licensed_kir"] == "KIR2DL2/3:C1"
    assert m["licensed_missing"] == 0
    kir2 = {"D": {**FULL_KIR, "KIR2DL1": 0, "KIR3DL1": 0}}
    m2 = models(t, [("R", "D")], kir2).loc["R"]
    assert m2["missing_ligand"] == 0 and m2["missing_ligand_n"] == 0
    kir3 = {"D": {**FULL_KIR, "KIR3DL1": np.nan}}            # 3DL1 not typed
    m3 = models(t, [("R", "D")], kir3).loc["R"]
    assert m3["missing_ligand"] == 1 and np.isnan(m3["missing_ligand_n"])
    assert m3["missing_ligand_groups"] == "KIR2DL1:C2, KIR3DL1:Bw4?"


def test_licensed_missing_self_needs_donor_ligand():
    t = typing(
        D="A*24:02 A*02:01 B*07:02 B*08:01 C*04:01 C*07:01",   # C1 C2 Bw4 (via A*24)
        R="A*02:01 A*02:01 B*07:02 B*08:01 C*07:02 C*07:01",   # C1/C1, no Bw4
    )
    m = models(t, [("R", "D")], {"D": dict(FULL_KIR)}).loc["R"]
    assert m["licensed_kir"] == "KIR2DL1:C2, KIR2DL2/3:C1, KIR3DL1:Bw4"
    assert m["licensed_missing_groups"] == "KIR2DL1:C2, KIR3DL1:Bw4"
    assert m["gvh_ligand_groups"] == "C2, Bw4"


@pytest.mark.parametrize("genes,hap,cen,tel,score,group", [
    # A/A: 2DL3 + 3DL1 + 2DS4, no B genes
    ({"KIR2DL3": 1, "KIR3DL1": 1, "KIR2DS4": 1}, "A/A", "A/A", "A/A", 0, "Neutral"),
    # Cen-A/B (2DL3 + 2DL2), Tel-A/A: one B motif
    ({"KIR2DL3": 1, "KIR2DL2": 1, "KIR3DL1": 1, "KIR2DS4": 1}, "B/x", "A/B", "A/A", 1,
     "Neutral"),
    # Cen-A/B + Tel-A/B (3DS1): two B motifs -> Better
    ({"KIR2DL3": 1, "KIR2DS2": 1, "KIR3DL1": 1, "KIR2DS4": 1, "KIR3DS1": 1}, "B/x", "A/B",
     "A/B", 2, "Better"),
    # Cen-B/B (no 2DL3), Tel-A/A -> Best
    ({"KIR2DL2": 1, "KIR3DL1": 1, "KIR2DS4": 1}, "B/x", "B/B", "A/A", 2, "Best"),
    # Cen-A/A + Tel-B/B (2DS1 + 3DS1, neither 3DL1 nor 2DS4) -> 2 motifs, Better
    ({"KIR2DL3": 1, "KIR2DS1": 1, "KIR3DS1": 1}, "B/x", "A/A", "B/B", 2, "Better"),
    # 3DL1 with 3DS1 (alleles of one locus) but no 2DS4: one Tel-A gene present, one
    # absent -> no Cooley 2010 telomeric motif fits: not assigned (was wrongly Tel-B/B)
    ({"KIR2DL3": 1, "KIR3DL1": 1, "KIR3DS1": 1}, "B/x", "A/A", "?", np.nan, "?"),
    # 2DS4 without 3DL1, with 2DS1: same
    ({"KIR2DL3": 1, "KIR2DS4": 1, "KIR2DS1": 1}, "B/x", "A/A", "?", np.nan, "?"),
    # Cen-B/B is Best whatever the telomeric content
    ({"KIR2DL2": 1, "KIR3DL1": 1, "KIR3DS1": 1}, "B/x", "B/B", "?", np.nan, "Best"),
    # Cen-B/B + Tel-B/B -> 4
    ({"KIR2DL2": 1, "KIR2DS2": 1, "KIR3DS1": 1}, "B/x", "B/B", "B/B", 4, "Best"),
])
def test_b_content(genes, hap, cen, tel, score, group):
    allg = ("KIR2DL1", "KIR2DL2", "KIR2DL3", "KIR2DL5", "KIR2DS1", "KIR2DS2", "KIR2DS3",
            "KIR2DS4", "KIR2DS5", "KIR3DL1", "KIR3DS1")
    k = pd.DataFrame({g: [float(genes.get(g, 0))] for g in allg}, index=["D"])
    r = kir_genotype(k).loc["D"]
    assert (r["haplotype"], r["centromeric"], r["telomeric"], r["cooley_group"]) == (
        hap, cen, tel, group)
    assert (np.isnan(r["b_content"]) and np.isnan(score)) or r["b_content"] == score


def test_b_content_unknown_when_gene_untyped():
    k = pd.DataFrame({"KIR2DL3": [1.0], "KIR2DL2": [np.nan], "KIR2DS2": [0.0],
                      "KIR3DL1": [1.0], "KIR2DS4": [1.0], "KIR3DS1": [0.0], "KIR2DS1": [0.0]})
    r = kir_genotype(k).iloc[0]
    assert r["centromeric"] == "?" and np.isnan(r["b_content"]) and r["cooley_group"] == "?"


def test_results_report_unclassifiable_and_low_resolution():
    t = typing(
        D="A*02:01 A*02:01 B*07:02 B*08:01 C*07:02 C*16:04",
        R="A*02:01 A*02:01 B*07:02 B51 Cw7 C*07:02",
    )
    res = kir_hla_results(t, pd.DataFrame({"recipient": ["R"], "donor": ["D"]}))
    w = " ".join(res[0].warnings)
    assert "C*16:04" in w and "cannot be classified" in w
    assert "not an HLA allele family" not in w
    t.loc["D", "B_1"] = "B*99:01"   # no B*99 family in IPD-IMGT/HLA 3.63.0
    w = " ".join(kir_hla_results(t, pd.DataFrame({"recipient": ["R"], "donor": ["D"]}))[0]
                 .warnings)
    assert "B*99:01 (2-field+, not an HLA allele family" in w
    assert "low-resolution" in w and "B51" in w and "Cw7" in w
    assert res[1].name == "immunogenetics.kir_models"
    assert res[1].cell("R | D", "missing_ligand") == "unknown"
    assert any("Ruggeri" in r for r in res[1].references)


def test_vectorised_equals_pairwise():
    """Many pairs at once give the same rows as one pair at a time."""
    rng = np.random.default_rng(1)
    pool = {"A": ["A*02:01", "A*24:02", "A*03:01", "A*11:01", "A*32:01", "A*24:03"],
            "B": ["B*07:02", "B*51:01", "B*44:02", "B*46:01", "B*15:02", "B*27:05"],
            "C": ["C*07:02", "C*04:01", "C*16:02", "C*16:04", "C*01:02", ""]}
    n = 40
    t = pd.DataFrame({f"{loc}_{i}": rng.choice(pool[loc], n) for loc in "ABC" for i in (1, 2)},
                     index=[f"P{i}" for i in range(n)])[COLS]
    kir = pd.DataFrame(rng.integers(0, 2, (n, 6)).astype(float), index=t.index,
                       columns=["KIR2DL1", "KIR2DL2", "KIR2DL3", "KIR3DL1", "KIR2DS4",
                                "KIR3DS1"])
    pairs = pd.DataFrame({"recipient": t.index[:20], "donor": t.index[20:]})
    st = ligand_status(t)
    allm = evaluate_pairs(pairs, st, kir)
    for i in range(20):
        one = evaluate_pairs(pairs.iloc[[i]], st, kir)
        pd.testing.assert_frame_equal(allm.iloc[[i]], one)
    assert allele_classes(t).shape[0] == len(set(t.to_numpy().ravel()) - {""})


def test_missing_ligand_unknown_when_recipient_ligand_unknown():
    """Donor 2DL1+; recipient C1 known but second HLA-C allele unclassifiable: C2 may be
    there, so missing ligand for 2DL1 is unknown, not 'yes' (never guessed)."""
    t = typing(
        D="A*24:02 A*02:01 B*07:02 B*08:01 C*07:02 C*04:01",
        R="A*24:02 A*02:01 B*07:02 B*08:01 C*07:02 C*16:04",
    )
    m = models(t, [("R", "D")], {"D": dict(FULL_KIR)}).loc["R"]
    assert m["missing_ligand"] == -1
    assert m["missing_ligand_groups"] == "KIR2DL1:C2?"
    assert m["licensed_missing"] == -1
    assert m["gvh_ligand_mismatch"] == -1


def test_telomeric_conflict_and_g_group_are_named_in_warnings():
    t = typing(D="A*02:01 A*02:01 B*07:02 B*08:01 C*07:01:01G C*04:01",
               R="A*02:01 A*02:01 B*07:02 B*08:01 C*07:02 C*07:02")
    kir = pd.DataFrame({"KIR2DL3": [1.0], "KIR3DL1": [1.0], "KIR2DS4": [0.0],
                        "KIR3DS1": [1.0]}, index=["D"])
    res = kir_hla_results(t, pd.DataFrame({"recipient": ["R"], "donor": ["D"]}), kir)
    assert "G-group typing (C*07:01:01G)" in " ".join(res[0].warnings)
    assert res[0].cell("D", "C1") == "present" and res[0].cell("D", "C2") == "present"
    geno = next(r for r in res if r.name == "immunogenetics.kir_genotype")
    assert any("donor D: KIR3DL1 and KIR2DS4 disagree" in w for w in geno.warnings)
    assert geno.cell("D", "telomeric") == "?"


def test_kir2dl5_typed_as_its_two_loci_marks_a_b_haplotype():
    """KIR2DL5 is typed as one gene or as KIR2DL5A / KIR2DL5B (both B-haplotype genes,
    Cooley 2009): a donor whose only B gene is KIR2DL5A is B/x, not unknown."""
    base = {"KIR2DL2": 0.0, "KIR2DS1": 0.0, "KIR2DS2": 0.0, "KIR2DS3": 0.0, "KIR2DS5": 0.0,
            "KIR3DS1": 0.0, "KIR2DL3": 1.0, "KIR3DL1": 1.0, "KIR2DS4": 1.0}
    k = pd.DataFrame([{**base, "KIR2DL5A": 1.0, "KIR2DL5B": 0.0},
                      {**base, "KIR2DL5A": 0.0, "KIR2DL5B": 0.0}], index=["B", "A"])
    assert kir_genotype(k)["haplotype"].tolist() == ["B/x", "A/A"]
