"""immunogenetics/ study folder: every bad input reported at once (file, line, column,
value, expected), nothing written; the SYNTHETIC seed-004 companion end to end; seed-004
claims reconstructed; the generator reproduces the committed files byte for byte."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from remission.errors import InputError
from remission.immunogenetics.folder import analyse_folder, read_folder

ROOT = Path(__file__).resolve().parents[1]
SYN = ROOT / "examples" / "seed004-cd123-carnk" / "synthetic"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "study"
    shutil.copytree(SYN, dst)
    return dst


def _problems(folder: Path) -> list:
    with pytest.raises(InputError) as e:
        read_folder(folder / "immunogenetics", {"P1", "P2", "P3", "P4", "P5"})
    return e.value.problems


def test_bad_inputs_all_reported_at_once(tmp_path):
    s = _copy(tmp_path)
    ig = s / "immunogenetics"
    hla = pd.read_csv(ig / "hla.csv", dtype=str, keep_default_na=False)
    hla.loc[1, "A_1"] = "A*9x:01"        # not an allele name
    hla.loc[2, "C_2"] = "B*07:02"        # wrong locus in an HLA-C column
    hla.loc[3, "B_1"] = "B*99:01"        # well formed, but no HLA-B*99 family exists
    hla.to_csv(ig / "hla.csv", index=False)
    kir = pd.read_csv(ig / "kir.csv", dtype=str, keep_default_na=False)
    kir["KIR2DL9"] = "1"                 # not in the nomenclature
    kir.loc[0, "KIR3DL1"] = "maybe"
    kir.to_csv(ig / "kir.csv", index=False)
    sites = pd.read_csv(ig / "integration_sites.csv", dtype=str, keep_default_na=False)
    sites.loc[0, "position"] = "999999999"   # beyond the end of the chromosome
    sites.loc[1, "abundance"] = "-3"
    sites.loc[2, "chromosome"] = "chr23"
    sites.to_csv(ig / "integration_sites.csv", index=False)
    probs = _problems(s)
    got = {(Path(p.file).name, p.row, p.column) for p in probs}
    assert ("hla.csv", 3, "A_1") in got
    assert ("hla.csv", 4, "C_2") in got
    assert ("hla.csv", 5, "B_1") in got
    assert ("kir.csv", None, "KIR2DL9") in got
    assert ("kir.csv", 2, "KIR3DL1") in got
    assert ("integration_sites.csv", 2, "position") in got
    assert ("integration_sites.csv", 3, "abundance") in got
    assert ("integration_sites.csv", 4, "chromosome") in got
    pos = next(p for p in probs if p.column == "position")
    assert pos.message == "position beyond the end of the chromosome"
    assert pos.expected.startswith("<= ") and pos.value == "999999999"


def test_cli_report_writes_nothing_on_bad_input(tmp_path):
    s = _copy(tmp_path)
    snp = pd.DataFrame({"patient": ["P1"] * 2, "sample": ["x"] * 2, "day": [7, 7],
                        "lineage": ["WB"] * 2, "snp": ["rs1", "rs1"],
                        "source": ["recipient", "donor"], "genotype": [1, 1],
                        "alt": [10, 10], "depth": [20, 20]})
    snp.to_csv(s / "immunogenetics" / "chimerism_snps.csv", index=False)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "remission.cli", "report", str(s), "--out",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 2, proc.stderr
    assert "no informative SNP" in proc.stdout + proc.stderr
    assert not out.exists()


def test_ligand_file_contradicting_a_shipped_fact_is_an_error(tmp_path):
    s = _copy(tmp_path)
    pd.DataFrame({"allele": ["C*16:02", "C*08:22"], "c_ligand": ["C1", ""],
                  "residues_77_83": ["", "NLRKLRG"]}).to_csv(
        s / "immunogenetics" / "hla_ligands.csv", index=False)
    probs = _problems(s)
    assert any(p.column == "c_ligand" and "contradicts" in p.message for p in probs)


def test_user_ligand_file_resolves_the_unclassifiable_allele(tmp_path):
    s = _copy(tmp_path)
    pd.DataFrame({"allele": ["C*08:22"], "residues_77_83": ["SLRNLRG"]}).to_csv(
        s / "immunogenetics" / "hla_ligands.csv", index=False)
    res, _ = analyse_folder(s / "immunogenetics", figures=False)
    models = {r.name: r for r in res}["immunogenetics.kir_models"]
    assert models.cell("P5 | NKD1", "gvh_ligand_mismatch") == "yes"   # C*08:22 is C1 (N80)
    assert models.cell("P5 | NKD1", "gvh_ligand_groups") == "C2"


def test_synthetic_companion_end_to_end():
    res, figs = analyse_folder(SYN / "immunogenetics", figures=True)
    r = {x.name: x for x in res}
    m = r["immunogenetics.kir_models"]
    assert m.cell("P3 | NKD1", "gvh_ligand_groups") == "C2, Bw4"
    assert m.cell("P3 | NKD1", "missing_ligand_groups") == "KIR2DL1:C2, KIR3DL1:Bw4"
    assert m.cell("P5 | NKD1", "missing_ligand") == "unknown"
    assert any("C*08:22" in w for w in r["immunogenetics.hla_ligands"].warnings)
    al = r["immunogenetics.is_alerts"].table
    assert set(al["patient"]) == {"P3"}
    olig = r["immunogenetics.is_oligoclonality"].table
    assert olig.loc["P3 | P3-d14", "p_oligoclonal"] < 0.01
    assert (olig.loc[[k for k in olig.index if not k.startswith("P3")], "p_oligoclonal"]
            > 0.01).all()
    assert any("TET2" in w for w in r["immunogenetics.is_annotation"].warnings)
    chim = r["immunogenetics.chimerism"].table
    assert chim.loc["P3 | P3-CD56-d14 | CD56", "donor_pct"] == pytest.approx(91, abs=2)
    snp = r["immunogenetics.chimerism_snp"].table   # P4: two donors after HSCT
    assert snp.loc["P4 | P4-CD56-d7 | CD56 | NKD1", "pct"] == pytest.approx(40, abs=1.5)
    assert snp.loc["P4 | P4-CD56-d28 | CD56 | NKD1", "pct"] == pytest.approx(6, abs=1.5)
    snp_al = r["immunogenetics.chimerism_snp_alerts"].table
    assert snp_al.loc["P4 | P4-CD56-d14 | CD56 | NKD1", "alert"].startswith("donor fell")
    assert all(w.startswith("SYNTHETIC") for w in (x.warnings[0] for x in res))
    assert {f.remission_name for f in figs} == {"fig.immunogenetics.clones",
                                                "fig.immunogenetics.chimerism",
                                                "fig.immunogenetics.panel"}


def test_report_includes_the_section():
    from remission.pipeline import build_bundle

    _, bundle = build_bundle(SYN, figures=False)
    names = [r.name for r in bundle.results if r.section == "immunogenetics"]
    assert "immunogenetics.kir_models" in names and "immunogenetics.panel_tests" in names


def test_seed004_claims_reconstruction():
    from remission.evidence.claims import reconstruct_claims

    res = {r.name: r for r in reconstruct_claims(ROOT / "examples" / "seed004-cd123-carnk"
                                                 / "claims.toml")}
    orr = res["evidence.proportion.3"].table
    assert orr["x"].tolist() == [4]
    # exact 95% CI of 4/5: 28.36% to 99.49% (Clopper-Pearson)
    assert orr["ci_low_pct"].iloc[0] == pytest.approx(28.358, abs=1e-3)
    assert res["evidence.parts.3"].table.index.tolist() == ["3 + 1 = 4"]
    crs = res["evidence.distribution.1"].table
    assert crs.loc["CRS by maximum grade | >= grade 3", "x"] == 2
    assert not res["evidence.distribution.1"].warnings


def test_generator_reproduces_committed_files(tmp_path):
    out = tmp_path / "gen"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_synthetic_seed004.py"),
                    "--out", str(out)], check=True, capture_output=True, cwd=ROOT, timeout=300)
    for f in sorted(SYN.rglob("*")):
        if f.is_file():
            assert (out / f.relative_to(SYN)).read_bytes() == f.read_bytes(), f


def _vcf(path: Path, n: int = 200, fr=(0.2, 0.5, 0.3), seed: int = 4) -> pd.DataFrame:
    """Recipient R, transplant donor D1, product donor D2, mixture M (fractions fr)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, (n, 3))
    alt = rng.binomial(500, g @ np.array(fr) / 2)
    gt = {0: "0/0", 1: "0/1", 2: "1|1"}
    lines = ["##fileformat=VCFv4.2",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tR\tD1\tD2\tM",
             "chr1\t5\tindel\tAT\tA\t.\tPASS\t.\tGT:AD\t0/1:5,5\t0/1:5,5\t0/0:9,0\t0/1:5,5"]
    for i in range(n):
        cells = [f"{gt[g[i, k]]}:10,10" for k in range(3)] + [f"0/1:{500 - alt[i]},{alt[i]}"]
        lines.append("\t".join(["chr2", str(1000 + i), f"rs{i}", "C", "T", ".", "PASS", ".",
                                "GT:AD", *cells]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pd.DataFrame({"g": list(g), "alt": alt})


def test_vcf_input_two_donors(tmp_path):
    s = _copy(tmp_path)
    ig = s / "immunogenetics"
    truth = _vcf(ig / "p3.vcf")
    toml = (ig / "immunogenetics.toml").read_text(encoding="utf-8")
    toml += ('\n[[chimerism.vcf]]\nfile = "p3.vcf"\npatient = "P3"\nrecipient = "R"\n'
             'donors = ["D1", "D2"]\nmixtures = [{ sample = "M", day = 14, lineage = "WB" }]\n')
    (ig / "immunogenetics.toml").write_text(toml, encoding="utf-8")
    res, _ = analyse_folder(ig, figures=False)
    snp = {r.name: r for r in res}["immunogenetics.chimerism_snp"]
    assert snp.cell("P3 | M | WB | D1", "pct") == pytest.approx(50, abs=3)
    assert snp.cell("P3 | M | WB | D2", "pct") == pytest.approx(30, abs=3)
    assert snp.cell("P3 | M | WB | D1", "n_informative") <= 200   # the indel is skipped
    # same numbers as the model on the generating genotypes and reads (parser is exact)
    import numpy as np

    from remission.immunogenetics.chimerism import snp_donor_fractions

    direct = snp_donor_fractions(np.vstack(truth["g"].to_numpy()), truth["alt"].to_numpy(),
                                 np.full(len(truth), 500))
    for j, d in enumerate(("D1", "D2"), start=1):
        assert snp.cell(f"P3 | M | WB | {d}", "pct") == pytest.approx(
            100 * direct["fractions"][j], abs=1e-6)
    # a sample name missing from the header is a located problem
    (ig / "immunogenetics.toml").write_text(toml.replace('donors = ["D1", "D2"]',
                                                         'donors = ["D1", "DX"]'),
                                            encoding="utf-8")
    probs = _problems(s)
    assert any(p.message == "sample not in the VCF header" and p.value == "DX" for p in probs)


def test_stutter_settings_checked_and_applied(tmp_path):
    s = _copy(tmp_path)
    toml = s / "immunogenetics" / "immunogenetics.toml"
    base = toml.read_text()
    toml.write_text(base.replace("[chimerism]\n", '[chimerism]\nstutter = "correct"\n'
                                 'stutter_ratio = {D8S1179 = 1.5, TH01 = "x"}\n'))
    got = {(p.message, p.column) for p in _problems(s)}
    assert got == {("[chimerism] stutter_ratio out of range", "stutter_ratio.D8S1179"),
                   ("[chimerism] stutter_ratio out of range", "stutter_ratio.TH01")}
    toml.write_text(base.replace("[chimerism]\n", '[chimerism]\nstutter = "fix"\n'))
    assert [p.message for p in _problems(s)] == ["[chimerism] stutter unknown"]
    toml.write_text(base.replace("[chimerism]\n", '[chimerism]\nstutter = "correct"\n'))
    assert [p.message for p in _problems(s)] == [
        '[chimerism] stutter = "correct" needs stutter_ratio']
    # the shipped example has informative alleles in stutter positions: flagged by default,
    # and a 10% correction moves P1's D8S1179 (recipient 10/13, donor 12/14)
    flag = {r.name: r for r in analyse_folder(SYN / "immunogenetics", figures=False)[0]}
    loci = flag["immunogenetics.chimerism_loci"]
    assert any("P1 D8S1179: 12 (donor) at n-1 of 13 (recipient)" in w for w in loci.warnings)
    toml.write_text(base.replace("[chimerism]\n", '[chimerism]\nstutter = "correct"\n'
                                 "stutter_ratio = 0.1\n"))
    corr = {r.name: r for r in analyse_folder(s / "immunogenetics", figures=False)[0]}
    k = "P1-CD56-d7 | CD56 | D8S1179"
    a = dict(zip(*[["10", "13", "12", "14"], [6619, 6455, 3497, 3840]], strict=True))
    t = {"14": a["14"], "13": a["13"] - 0.1 * a["14"]}   # destutter, longest allele first
    t["12"] = a["12"] - 0.1 * t["13"]
    t["10"] = a["10"]                                     # 11 is not in either genotype
    want = (t["12"] + t["14"]) / sum(t.values())
    assert corr["immunogenetics.chimerism_loci"].cell(k, "donor_fraction") == \
        pytest.approx(want)
    assert loci.cell(k, "donor_fraction") == pytest.approx(
        (a["12"] + a["14"]) / sum(a.values()))


def test_grubbs_cis_uses_every_site_not_only_the_listed_100(tmp_path):
    """The annotation Result lists the 100 most abundant sites; the Grubbs CIS must still
    be computed over all distinct sites. 120 genes of 10 kb with one abundant site each,
    and gene HOT (10 kb) with 12 sites of abundance 1: HOT is the only density outlier
    (12 vs 1 site per 10 kb), but none of its sites is among the 100 most abundant."""
    ig = tmp_path / "immunogenetics"
    ig.mkdir()
    genes, rows = [], []
    for i in range(120):
        start = 1_000_000 + i * 1_000_000
        genes.append(f"chr1\t{start}\t{start + 10_000}\tG{i}\t0\t+")
        rows.append(f"S1,P1,blood,14,chr1,{start + 5_000},+,100")
    genes.append("chr2\t1000000\t1010000\tHOT\t0\t+")
    for j in range(12):
        rows.append(f"S1,P1,blood,14,chr2,{1_000_100 + j * 800},+,1")
    (ig / "genes.bed").write_text("\n".join(genes) + "\n")
    (ig / "integration_sites.csv").write_text(
        "sample,patient,source,day,chromosome,position,strand,abundance\n"
        + "\n".join(rows) + "\n")
    (ig / "immunogenetics.toml").write_text('[integration_sites]\ngenes = "genes.bed"\n')
    res, _ = analyse_folder(ig, figures=False)
    cis = next(r for r in res if r.name == "immunogenetics.is_cis").table
    grubbs = cis[cis["method"] == "Grubbs outlier"]
    assert grubbs["nearest_gene"].tolist() == ["HOT"]
    assert grubbs["n_sites"].tolist() == [12]


def test_watch_list_gene_flagged_when_another_gene_is_nearer(tmp_path):
    """A site 5 kb from gene OTHER and 10 kb from watch-list gene TET2: its nearest gene is
    OTHER, but it lies within 50 kb of TET2 and must be flagged (by hand: TET2 ends at
    1,000,000; the site is at 1,010,000; OTHER starts at 1,015,001). A second site 60 kb
    from TET2 is not flagged."""
    ig = tmp_path / "immunogenetics"
    ig.mkdir()
    (ig / "genes.bed").write_text("chr4\t900000\t1000000\tTET2\t0\t+\n"
                                  "chr4\t1015000\t1100000\tOTHER\t0\t-\n"
                                  "chr4\t1065000\t1200000\tFAR\t0\t+\n")
    (ig / "integration_sites.csv").write_text(
        "sample,patient,source,day,chromosome,position,strand,abundance\n"
        "S1,P1,blood,14,chr4,1010000,+,10\n"
        "S1,P1,blood,14,chr4,1060000,+,5\n")
    (ig / "immunogenetics.toml").write_text(
        '[integration_sites]\ngenes = "genes.bed"\nwatch_list = ["TET2"]\n')
    res, _ = analyse_folder(ig, figures=False)
    ann = next(r for r in res if r.name == "immunogenetics.is_annotation")
    assert ann.table.loc["chr4:1010000:+", "gene"] == "OTHER"
    assert ann.table.loc["chr4:1010000:+", "watch_gene"] == "TET2"
    assert ann.table.loc["chr4:1010000:+", "watch_distance"] == 10_000
    assert ann.table.loc["chr4:1060000:+", "watch_gene"] == ""
    assert ann.warnings == ("site chr4:1010000:+ is 10,000 bp from watch-list gene TET2",)


def _protein(r77_83: str) -> str:
    """A made-up mature class I sequence: GSHS... start, residues 77-83 as given."""
    head = "CSHSMRYF"
    return head + "A" * (76 - len(head)) + r77_83 + "A" * 100


def test_user_ligand_file_mature_protein_and_leader(tmp_path):
    """Residues 77-83 are read from a mature protein (here NLRKLRG: Lys80 = C2, so
    C*08:22 becomes C2 and P5 gains C2); a precursor with its 24-residue leader is refused
    (residue 77 would be read 24 places off)."""
    s = _copy(tmp_path)
    for f in ("integration_sites.csv", "chimerism_genotypes.csv", "chimerism_peaks.csv",
              "chimerism_snps.csv", "cytokine_panel.csv"):   # KIR-HLA inputs only
        (s / "immunogenetics" / f).unlink()
    (s / "immunogenetics" / "immunogenetics.toml").write_text("")
    lig = s / "immunogenetics" / "hla_ligands.csv"
    pd.DataFrame({"allele": ["C*08:22"], "mature_protein": [_protein("NLRKLRG")]}).to_csv(
        lig, index=False)
    res, _ = analyse_folder(s / "immunogenetics", figures=False)
    st = {r.name: r for r in res}["immunogenetics.hla_ligands"]
    assert st.cell("P5", "C2") == "present"
    leader = "MRVMAPRALLLLLSGGLALTETWA" + _protein("NLRKLRG")
    pd.DataFrame({"allele": ["C*08:22"], "mature_protein": [leader]}).to_csv(lig, index=False)
    probs = _problems(s)
    assert [(p.column, p.message[:40]) for p in probs] == [
        ("mature_protein", "sequence starts with the 24-residue lead")]


def test_chromosome_length_check_follows_the_assembly(tmp_path):
    """chr1 is 248,956,422 bp in GRCh38 and 249,250,621 bp in hg19 (UCSC chromInfo): a
    site at chr1:249,000,000 is outside GRCh38 (error) but valid in hg19; Ensembl's MT is
    the mitochondrion (16,569 bp in GRCh38)."""
    ig = tmp_path / "immunogenetics"
    ig.mkdir()
    (ig / "integration_sites.csv").write_text(
        "sample,patient,source,day,chromosome,position,strand,abundance\n"
        "S1,P1,blood,14,chr1,249000000,+,10\n"
        "S1,P1,blood,14,MT,16000,+,3\n")
    with pytest.raises(InputError) as e:
        read_folder(ig)
    probs = [(p.row, p.column, p.message) for p in e.value.problems]
    assert probs == [(2, "position", "position beyond the end of the chromosome")]
    (ig / "immunogenetics.toml").write_text('[integration_sites]\nassembly = "hg19"\n')
    assert read_folder(ig).sites["chromosome"].tolist() == ["chr1", "chrM"]
    (ig / "immunogenetics.toml").write_text('[integration_sites]\nassembly = "hg18"\n')
    with pytest.raises(InputError, match="assembly not shipped"):
        read_folder(ig)
