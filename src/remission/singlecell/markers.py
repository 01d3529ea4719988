"""Curated marker sets and gene modules shipped with remission, each with its source.

Marker sets are written for remission from the cited papers' reported markers (gene
symbols are facts; no table is copied). ``positive`` genes define a population,
``negative`` genes argue against it (a CD4 subset should not express CD8A/CD8B; an NK
cell should not express CD3). Users may pass their own sets in the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarkerSet:
    """A population's markers: positive genes, negative genes, broad type, source."""

    name: str
    broad: str
    positive: tuple[str, ...]
    negative: tuple[str, ...] = ()
    source: str = ""


HAO2021 = ("Hao Y et al. Integrated analysis of multimodal single-cell data. Cell "
           "2021;184:3573-3587 (Azimuth PBMC reference, level-2 markers).")
ZHENG2017 = ("Zheng C et al. Landscape of infiltrating T cells in liver cancer revealed by "
             "single-cell sequencing. Cell 2017;169:1342-1356.")
SZABO2019 = ("Szabo PA et al. Single-cell transcriptomics of human T cells reveals "
             "tissue and activation signatures in health and disease. Nat Commun "
             "2019;10:4706.")
GUO2018 = ("Guo X et al. Global characterization of T cells in non-small-cell lung "
           "cancer by single-cell sequencing. Nat Med 2018;24:978-985.")
CRINIER2018 = ("Crinier A et al. High-dimensional single-cell analysis identifies "
               "organ-specific signatures and conserved NK cell subsets in humans and mice. "
               "Immunity 2018;49:971-986.")
TIROSH2016 = ("Tirosh I et al. Dissecting the multicellular ecosystem of metastatic "
              "melanoma by single-cell RNA-seq. Science 2016;352:189-196 (cell-cycle genes).")
VANGALEN2019 = ("van Galen P et al. Single-cell RNA-seq reveals AML hierarchies relevant to "
                "disease progression and immunity. Cell 2019;176:1265-1281.")
ZHANG2025 = ("Zhang M et al. Front Immunol 2025;15:1491341 (seed 002: red cells HBA1/HBB, "
             "platelets PF4/PPBP; CD4 Tem, CD4 Tn, CD8 Teff, CD8 Tn, Treg markers).")

_CD8 = ("CD8A", "CD8B")
MARKER_SETS: tuple[MarkerSet, ...] = (
    MarkerSet("CD4 naive", "T cell", ("CD3E", "CD4", "CCR7", "SELL", "TCF7", "LEF1"),
              (*_CD8, "GZMK", "LTB"), f"{HAO2021} {SZABO2019}"),
    MarkerSet("CD4 central memory", "T cell",
              ("CD3E", "CD4", "CCR7", "IL7R", "LTB", "AQP3", "CD27", "CD28"),
              (*_CD8, "LEF1", "GZMK"), f"{HAO2021} {SZABO2019}"),
    MarkerSet("CD4 effector memory", "T cell",
              ("CD3E", "CD4", "IL7R", "GZMK", "KLRB1", "CCL5", "S100A4", "ANXA1"),
              (*_CD8, "CCR7", "SELL"), f"{HAO2021} {ZHENG2017}"),
    MarkerSet("Treg", "T cell", ("CD3E", "CD4", "FOXP3", "IL2RA", "CTLA4", "IKZF2",
                                 "TNFRSF4"), _CD8, f"{HAO2021} {ZHENG2017}"),
    MarkerSet("CD8 naive", "T cell", ("CD3E", "CD8A", "CD8B", "CCR7", "SELL", "TCF7", "LEF1"),
              ("CD4", "GZMB", "GZMK"), f"{HAO2021} {SZABO2019}"),
    MarkerSet("CD8 effector", "T cell", ("CD3E", "CD8A", "CD8B", "GZMB", "PRF1", "GNLY",
                                         "GZMH", "FGFBP2", "CX3CR1"),
              ("CD4", "CCR7", "PDCD1", "HAVCR2"), f"{GUO2018} {HAO2021}"),
    MarkerSet("CD8 exhausted", "T cell", ("CD3E", "CD8A", "CD8B", "PDCD1", "HAVCR2", "LAG3",
                                          "TOX", "TIGIT", "ENTPD1", "LAYN"),
              ("CD4", "CCR7"), f"{ZHENG2017} {GUO2018}"),
    MarkerSet("T proliferating", "T cell", ("CD3E", "MKI67", "TOP2A", "TYMS", "STMN1", "CDK1"),
              (), TIROSH2016),
    MarkerSet("NK CD56bright", "NK cell", ("NCAM1", "KLRC1", "XCL1", "SELL", "GZMK", "KLRD1"),
              ("FCGR3A", "CD3E", "CD3D"), f"{CRINIER2018} {HAO2021}"),
    MarkerSet("NK CD56dim CD16high", "NK cell",
              ("FCGR3A", "KLRF1", "KLRD1", "GZMB", "PRF1", "FGFBP2", "NKG7"),
              ("CD3E", "CD3D", "NCAM1", "XCL1"), f"{CRINIER2018} {HAO2021}"),
    MarkerSet("B cell", "B cell", ("MS4A1", "CD79A", "CD79B", "CD19"), ("CD3E",), HAO2021),
    MarkerSet("Monocyte", "Monocyte", ("CD14", "LYZ", "S100A8", "S100A9", "FCN1"),
              ("CD3E",), HAO2021),
    MarkerSet("AML blast", "AML blast", ("CD34", "KIT", "MPO", "CLEC12A"), ("CD3E",),
              VANGALEN2019),
    MarkerSet("Erythroid", "Erythroid", ("HBB", "HBA1", "HBA2"), (), ZHANG2025),
    MarkerSet("Platelet", "Platelet", ("PPBP", "PF4"), (), ZHANG2025),
    MarkerSet("Dendritic cell", "Dendritic cell", ("FCER1A", "CLEC10A", "CD1C"), ("CD3E",),
              HAO2021),
)

# Gene modules scored per cell (programmes the seeds discuss), with sources.
MODULES: dict[str, tuple[tuple[str, ...], str]] = {
    "cytotoxicity": (("GZMA", "GZMB", "GZMH", "PRF1", "GNLY", "NKG7", "CST7"),
                     "Voskoboinik I et al. Nat Rev Immunol 2015;15:388-400; Rooney MS et al. "
                     "Cell 2015;160:48-61."),
    "exhaustion": (("PDCD1", "HAVCR2", "LAG3", "TIGIT", "TOX", "CTLA4", "ENTPD1"),
                   f"{ZHENG2017} {GUO2018}"),
    "regulatory": (("LAG3", "TIGIT", "HAVCR2", "IL10", "FOXP3", "IL2RA"),
                   "Anderson AC et al. Immunity 2016;44:989-1004 (co-inhibitory receptors)."),
    "adhesion_migration": (("ITGB1", "ITGAL", "ITGB2", "ICAM1", "SELPLG", "CD44", "ITGA4"),
                           "Springer TA. Cell 1994;76:301-314 (leukocyte adhesion cascade)."),
    "cytokine": (("IFNG", "TNF", "IL2", "CSF2", "CCL3", "CCL4", "XCL1", "XCL2"),
                 "Morris EC et al. Nat Rev Immunol 2022;22:85-96 (CRS cytokines)."),
    "memory": (("TCF7", "SELL", "CCR7", "IL7R", "LEF1", "GZMK"),
               f"{SZABO2019} Seed 002 names GZMK as memory-related."),
}


def marker_table(sets: tuple[MarkerSet, ...] = MARKER_SETS) -> list[dict[str, str]]:
    """Rows (name, broad, positive, negative, source) for reports and docs.

    Parameters
    ----------
    sets : tuple of MarkerSet
        Marker sets to list (default: the shipped ones).

    Returns
    -------
    list of dict
        One row per set; gene lists joined with spaces.

    Examples
    --------
    >>> marker_table()[0]["name"]
    'CD4 naive'
    """
    return [{"name": m.name, "broad": m.broad, "positive": " ".join(m.positive),
             "negative": " ".join(m.negative), "source": m.source} for m in sets]
