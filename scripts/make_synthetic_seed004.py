"""Write the SYNTHETIC companion of seed 004 (CD123 CAR-NK in R/R AML), deterministic.

Five virtual patients shaped on the seed-004 abstract's aggregate numbers (ages 39-68,
median 45; burden 1.12-69.6%, median 50.18%; prior lines 2-6, median 3; 3 CR/CRi, 1 PR,
1 NR; CRS grades 1, 1, 1, 3, 4 with the grade 4 in patient 3; no ICANS) plus the
immunogenetics that the abstract describes for patient 3, all generated here from stated
parameters -- NOT patient data:

* HLA-A/B/C of the single NK donor and the five recipients; donor KIR gene content.
  The donor carries C1, C2 and Bw4 and KIR2DL1/2DL3/3DL1; patient 3 is C1/C1 and lacks
  Bw4 (KIR-ligand mismatch in the GvH direction, missing ligand for KIR2DL1 and KIR3DL1);
  patient 5 carries an HLA-C allele not in the shipped table (reported, never guessed).
* CAR integration sites: the product (one sample, repeated per patient) and blood on
  days 7, 14 and 28; in patient 3 one product clone expands to ~35% of the day-14 blood.
* STR chimerism (product-donor fraction) in the CD56 and CD3 lineages on days 7, 14, 28.
* SNP chimerism with two donors in patient 4 (after a failed allo-HSCT): recipient,
  transplant donor and NK product donor.
* A pre/post plasma panel (TNF-a, IL-2RA, granzyme B, IL-15, GM-CSF, IL-8), rising after
  infusion most in patient 3.
* A gene annotation BED for the integration-site example (synthetic coordinates).

Run: .venv/bin/python scripts/make_synthetic_seed004.py
     [--out examples/seed004-cd123-carnk/synthetic]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from remission.io.atomic import write_text

SEED = 20261129
PATIENTS = ("P1", "P2", "P3", "P4", "P5")

STUDY_TOML = """format = 1

[study]
name = "SYNTHETIC companion to seed 004: CD123 CAR-NK in R/R AML (5 virtual patients)"
disease = "AML"
products = ["CD123 CAR-NK (single-donor PBMC, lentiviral)"]
day0 = "first CD123 CAR-NK infusion after Flu/Cy/decitabine"
reference = "SYNTHETIC: scripts/make_synthetic_seed004.py; shaped on the seed-004 abstract"
synthetic = true

[criteria]
response = "as_recorded"
crs = "astct2019"
neurotoxicity = "icans_astct2019"

[response]
assessment_day = 28
responders = ["CR", "CRi", "PR"]
complete = ["CR", "CRi"]
"""

IMMUNO_TOML = """# SYNTHETIC data: see scripts/make_synthetic_seed004.py
[immunogenetics]
synthetic = true

[integration_sites]
alert_share = 0.20
growth_fold = 2.0
growth_min_share = 0.05
n_resamples = 999
seed = 20261129
genes = "genes.bed"
watch_list = ["TET2", "CBL", "LMO2", "MECOM"]

[chimerism]
full_donor = 95
drop_points = 10

[cytokines]
adjust = "holm"
"""

# gene models on chr4/chr11/chr3/chr1/chr7 (synthetic coordinates, real gene names)
GENES = [("chr4", 105_145_000, 105_279_000, "TET2", "+"),
         ("chr11", 119_206_000, 119_308_000, "CBL", "+"),
         ("chr11", 33_858_000, 33_892_000, "LMO2", "-"),
         ("chr3", 169_083_000, 169_663_000, "MECOM", "-"),
         ("chr1", 2_000_000, 2_150_000, "GENE_A", "+"),
         ("chr7", 50_000_000, 50_400_000, "GENE_B", "-"),
         ("chr12", 6_000_000, 6_050_000, "GENE_C", "+")]


def patients() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": PATIENTS,
        "age": [39, 45, 52, 68, 41],
        "sex": ["M", "F", "M", "F", "M"],
        "diagnosis": ["AML"] * 5,
        "prior_lines": [2, 3, 6, 3, 2],
        "baseline_burden_pct": [1.12, 50.18, 69.6, 58.3, 12.4],
        "cd123_positivity_pct": [88.0, 93.5, 97.1, 81.2, 90.4],
        "best_response": ["CR", "CRi", "CR", "PR", "NR"],
        "crs_grade": [1, 1, 4, 3, 1],
        "icans_grade": [0, 0, 0, 0, 0],
        "therapy_after_cart": ["No"] * 5,
        "died": ["No"] * 5,
    })


def hla() -> pd.DataFrame:
    rows = [
        ("NKD1", "donor", "A*24:02", "A*11:01", "B*51:01", "B*46:01", "C*14:02", "C*04:01"),
        ("P1", "recipient", "A*02:01", "A*24:02", "B*51:01", "B*40:01", "C*07:02", "C*15:02"),
        ("P2", "recipient", "A*11:01", "A*02:01", "B*44:03", "B*46:01", "C*01:02", "C*06:02"),
        # P3: C1/C1 homozygous, Bw6 only (no Bw4), A*02 -> lacks C2 and Bw4 of the donor
        ("P3", "recipient", "A*02:01", "A*02:01", "B*07:02", "B*40:01", "C*07:02", "C*07:02"),
        ("P4", "recipient", "A*33:03", "A*02:01", "B*58:01", "B*13:02", "C*03:02", "C*06:02"),
        # P5: C*08:22 is not shipped: C2 status unknown, reported, never guessed
        ("P5", "recipient", "A*24:02", "A*03:01", "B*15:01", "B*35:01", "C*08:01", "C*08:22"),
    ]
    return pd.DataFrame(rows, columns=["id", "role", "A_1", "A_2", "B_1", "B_2", "C_1", "C_2"])


def kir() -> pd.DataFrame:
    genes = {"KIR2DL1": 1, "KIR2DL2": 0, "KIR2DL3": 1, "KIR2DL4": 1, "KIR2DL5": 1,
             "KIR2DS1": 1, "KIR2DS2": 0, "KIR2DS3": 0, "KIR2DS4": 1, "KIR2DS5": 1,
             "KIR3DL1": 1, "KIR3DL2": 1, "KIR3DL3": 1, "KIR3DS1": 1, "KIR2DP1": 1,
             "KIR3DP1": 1}
    return pd.DataFrame([{"donor": "NKD1", **genes}])


def integration_sites(rng: np.random.Generator) -> pd.DataFrame:
    n = 300
    chroms = [f"chr{i}" for i in range(1, 23)]
    site_chr = rng.choice(chroms, n)
    site_pos = rng.integers(1_000_000, 45_000_000, n)
    # a few sites near/in genes (watch list, a CIS cluster in GENE_B)
    site_chr[:4] = ["chr4", "chr11", "chr7", "chr7"]
    site_pos[:4] = [105_200_000, 119_250_500, 50_100_000, 50_120_000]
    site_chr[4:6] = ["chr7", "chr7"]
    site_pos[4:6] = [50_135_000, 50_180_000]
    strand = rng.choice(["+", "-"], n)
    cells = rng.integers(2, 20, n)  # clone sizes among the product's cells
    w = cells / cells.sum()
    # the product's IS data are a sample of its cells too (own stream, so the blood draws
    # below are unchanged); every clone is seen in it (checked)
    prod = np.random.default_rng(SEED + 4).multinomial(6000, w)
    if not (prod > 0).all():
        raise SystemExit("a product clone drew no count: change the product depth")
    rows = []
    for p in PATIENTS:
        rows += [(f"{p}-product", p, "product", "", c, s, st, int(a))
                 for c, s, st, a in zip(site_chr, site_pos, strand, prod, strict=True)]
        for day, depth in ((7, 1200), (14, 1600), (28, 900)):
            counts = rng.multinomial(depth, w)
            if p == "P3":  # one product clone (the TET2-proximal site 0) expands
                boost = {7: 150, 14: 900, 28: 500}[day]
                counts[0] += boost
            rows += [(f"{p}-d{day}", p, "blood", day, c, s, st, int(a))
                     for c, s, st, a in zip(site_chr, site_pos, strand, counts, strict=True)
                     if a > 0]
    return pd.DataFrame(rows, columns=["sample", "patient", "source", "day", "chromosome",
                                       "position", "strand", "abundance"])


LOCI = {"D8S1179": ("10", "13", "12", "14"), "D21S11": ("28", "30", "29", "31.2"),
        "TH01": ("6", "9.3", "7", "9.3"), "FGA": ("20", "22", "21", "24"),
        "vWA": ("16", "17", "16", "17")}  # (recipient a, b, donor a, b); vWA uninformative


def chimerism(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    geno, peaks = [], []
    # product-donor fraction by patient x lineage x day (CD56 = NK compartment)
    target = {"P3": {"CD56": (0.62, 0.91, 0.84), "CD3": (0.02, 0.04, 0.03)}}
    for p in PATIENTS:
        for loc, (ra, rb, da, db) in LOCI.items():
            geno += [(p, "recipient", loc, ra, rb), (p, "donor", loc, da, db)]
        for lin in ("CD56", "CD3"):
            fr = target.get(p, {}).get(lin, (0.35, 0.22, 0.08) if lin == "CD56"
                                       else (0.01, 0.01, 0.0))
            for day, d in zip((7, 14, 28), fr, strict=True):
                smp = f"{p}-{lin}-d{day}"
                for loc, (ra, rb, da, db) in LOCI.items():
                    sig = {}
                    for a in (ra, rb):
                        sig[a] = sig.get(a, 0.0) + (1 - d) * 0.5
                    for a in (da, db):
                        sig[a] = sig.get(a, 0.0) + d * 0.5
                    for a, v in sig.items():
                        area = max(0.0, v * 20000 * rng.normal(1, 0.04))
                        peaks.append((p, smp, day, lin, loc, a, round(area)))
    g = pd.DataFrame(geno, columns=["patient", "role", "locus", "allele_1", "allele_2"])
    k = pd.DataFrame(peaks, columns=["patient", "sample", "day", "lineage", "locus", "allele",
                                     "area"])
    return g, k


def snp_chimerism(rng: np.random.Generator) -> pd.DataFrame:
    """P4 after a failed allo-HSCT (the abstract: two patients had one): recipient, the
    transplant donor (HSCT-D) and the NK product donor (NKD1) in CD56 and CD3 cells;
    alternative-allele reads at 150 SNPs, binomial around the planted fractions."""
    n, depth = 150, 2000
    g = rng.integers(0, 3, (n, 3))  # recipient, HSCT-D, NKD1
    plan = {"CD56": ((0.04, 0.56, 0.40), (0.05, 0.75, 0.20), (0.14, 0.80, 0.06)),
            "CD3": ((0.02, 0.98, 0.0), (0.02, 0.98, 0.0), (0.03, 0.97, 0.0))}
    rows = []
    for lin, fracs in plan.items():
        for day, f in zip((7, 14, 28), fracs, strict=True):
            af = g @ np.array(f) / 2
            alt = rng.binomial(depth, af * 0.995 + (1 - af) * 0.005)
            for i in range(n):
                for j, src in enumerate(("recipient", "HSCT-D", "NKD1")):
                    rows.append(("P4", f"P4-{lin}-d{day}", day, lin, f"snp{i + 1:03d}", src,
                                 int(g[i, j]), int(alt[i]), depth))
    return pd.DataFrame(rows, columns=["patient", "sample", "day", "lineage", "snp",
                                       "source", "genotype", "alt", "depth"])


ANALYTES = ("TNF-alpha", "IL-2RA", "Granzyme B", "IL-15", "GM-CSF", "IL-8")


def panel(rng: np.random.Generator) -> pd.DataFrame:
    base = {"TNF-alpha": 8.0, "IL-2RA": 900.0, "Granzyme B": 20.0, "IL-15": 6.0,
            "GM-CSF": 3.0, "IL-8": 15.0}  # pg/mL
    rows = []
    for p in PATIENTS:
        for a in ANALYTES:
            pre = base[a] * rng.lognormal(0, 0.3)
            fold = rng.lognormal(np.log(2.5), 0.4) * (6 if p == "P3" else 1)
            rows.append((p, a, round(pre, 2), round(pre * fold, 2), "pg/mL"))
    return pd.DataFrame(rows, columns=["patient", "analyte", "pre", "post", "unit"])


README = """# SYNTHETIC companion to seed 004 (CD123 CAR-NK, 5 virtual patients)

Everything here is **synthetic**, written by `scripts/make_synthetic_seed004.py` (seed
{seed}) from parameters stated in that script. It is not patient data. The clinical table
is shaped on the seed-004 abstract's aggregate numbers (see `../claims.toml`); the
immunogenetics illustrate the abstract's account of patient 3 (runaway expansion, grade 4
CRS, KIR-ligand mismatch between the single-donor product and the recipient).

- `study.toml`, `patients.csv`: 5 patients (best response and CRS grade as recorded)
- `immunogenetics/hla.csv`, `kir.csv`: donor NKD1 and recipients; P3 C1/C1 without Bw4;
  P5 carries C*08:22, not in the shipped ligand table (reported as unclassifiable)
- `immunogenetics/integration_sites.csv`: product + blood days 7/14/28; P3 has one clone
  near TET2 reaching ~35% on day 14; `genes.bed` holds synthetic gene models
- `immunogenetics/chimerism_genotypes.csv`, `chimerism_peaks.csv`: STR genotypes and
  peak areas, CD56 and CD3 lineages (product-donor fraction)
- `immunogenetics/chimerism_snps.csv`: P4, after a failed allo-HSCT, SNP reads in CD56 and
  CD3 cells with two donors (transplant donor HSCT-D and the NK product donor NKD1): the
  product's share of CD56 cells falls from 40% to 6% (loss-of-donor alerts)
- `immunogenetics/cytokine_panel.csv`: TNF-alpha, IL-2RA, granzyme B, IL-15, GM-CSF, IL-8

`remission report examples/seed004-cd123-carnk/synthetic --out build/seed004` writes the
report; the section "Immunogenetics and cell tracking" holds the KIR-HLA models, clonality,
chimerism and the analyte panel. Formats: docs/study-format.md.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parents[1] / "examples"
                    / "seed004-cd123-carnk" / "synthetic")
    out = ap.parse_args().out
    rng = np.random.default_rng(SEED)
    ig = out / "immunogenetics"
    write_text(out / "study.toml", STUDY_TOML)
    write_text(out / "README.md", README.format(seed=SEED))
    write_text(out / "patients.csv", patients().to_csv(index=False))
    write_text(ig / "immunogenetics.toml", IMMUNO_TOML)
    write_text(ig / "hla.csv", hla().to_csv(index=False))
    write_text(ig / "kir.csv", kir().to_csv(index=False))
    write_text(ig / "integration_sites.csv", integration_sites(rng).to_csv(index=False))
    g, k = chimerism(rng)
    write_text(ig / "chimerism_genotypes.csv", g.to_csv(index=False))
    write_text(ig / "chimerism_peaks.csv", k.to_csv(index=False))
    write_text(ig / "cytokine_panel.csv", panel(rng).to_csv(index=False))
    write_text(ig / "chimerism_snps.csv", snp_chimerism(rng).to_csv(index=False))
    bed = "".join(f"{c}\t{s}\t{e}\t{n}\t0\t{st}\n" for c, s, e, n, st in GENES)
    write_text(ig / "genes.bed", bed)
    print(out)


if __name__ == "__main__":
    main()
