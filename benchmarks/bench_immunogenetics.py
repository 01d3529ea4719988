"""Benchmark: integration-site clonality metrics and KIR-HLA models at scale.

Run: ``.venv/bin/python benchmarks/bench_immunogenetics.py`` (1,000 samples x 100,000
sites; 100,000 donor-recipient pairs) or ``--quick`` (smoke sizes).

* IS metrics: remission ``diversity_matrix`` (numba, one pass per sample over distinct
  abundances) vs scikit-bio ``alpha_diversity`` (the peer tool) for Shannon, Simpson,
  inverse Simpson, Pielou, Chao1 and observed sites on the same matrix; values must
  agree to 1e-9. Target < 10 s including the import.
* KIR-HLA: remission ``allele_classes`` + ``ligand_status`` + ``evaluate_pairs`` (timed in
  a fresh process, import of the remission module included) vs an independent pandas
  implementation (melt alleles, merge the class table, group by person, merge pairs) of
  the ligand-ligand (GvH, HvG), receptor-ligand (missing ligand) and licensed-missing
  flags with the same three-valued logic, and of the Cooley 2010 Cen/Tel motifs and
  Best/Better/Neutral group written from the motif definitions as boolean masks; every
  value must agree. Target < 5 s including the import.

Exits 1 on any disagreement or a missed target. Timings include ``import`` of the
remission module (cold in a fresh process); the numba kernel is compiled once and
cached in ``__pycache__`` (first-ever compile time is printed separately).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np
import pandas as pd

ALLELES = {
    "A": ["A*01:01", "A*02:01", "A*03:01", "A*11:01", "A*23:01", "A*24:02", "A*25:01",
          "A*32:01", "A*24:03", ""],
    "B": ["B*07:02", "B*08:01", "B*15:01", "B*27:05", "B*44:02", "B*46:01", "B*51:01",
          "B*57:01", "B*73:01", "B*15:02"],
    "C": ["C*01:02", "C*03:04", "C*04:01", "C*05:01", "C*06:02", "C*07:01", "C*07:02",
          "C*16:01", "C*16:02", "C*16:04", ""],
}
COLS = ["A_1", "A_2", "B_1", "B_2", "C_1", "C_2"]


def bench_is(n_samples: int, n_sites: int) -> tuple[float, float, float, bool]:
    rng = np.random.default_rng(2026)
    # a few large clones per sample on top of a geometric background; many zeros
    x = (rng.geometric(0.3, (n_samples, n_sites)) - 1).astype(np.int64)
    x[:, :3] += rng.integers(50, 5000, (n_samples, 3))
    # timed: the import and the computation (not reading the 800 MB test matrix)
    code = ("import sys, time, numpy as np; x = np.load(sys.argv[1]);"
            "t0 = time.perf_counter();"
            "from remission.immunogenetics.clonality import diversity_matrix;"
            "m = diversity_matrix(x); t1 = time.perf_counter(); np.save(sys.argv[2], m);"
            "print(t1 - t0)")
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "x.npy", Path(tmp) / "m.npy"
        np.save(src, x)
        # warm the numba cache on a tiny matrix (first-ever compile timed separately)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy as np; from remission."
                        "immunogenetics.clonality import diversity_matrix;"
                        "diversity_matrix(np.ones((1, 3), np.int64))"], check=True)
        compile_s = time.perf_counter() - t
        out = subprocess.run([sys.executable, "-c", code, str(src), str(dst)], check=True,
                             capture_output=True, text=True).stdout.split()
        ours = float(out[0])
        m = np.load(dst)
    from remission.immunogenetics.clonality import METRICS

    t = time.perf_counter()
    from skbio.diversity import alpha_diversity
    metrics = ["sobs", "shannon", "simpson", "inv_simpson", "pielou_e", "chao1"]
    ref = {k: alpha_diversity(k, x).to_numpy() for k in metrics}
    theirs = time.perf_counter() - t
    cols = {"sobs": "n_sites", "shannon": "shannon", "simpson": "simpson",
            "inv_simpson": "inv_simpson", "pielou_e": "pielou", "chao1": "chao1"}
    ok = all(np.allclose(m[:, METRICS.index(c)], ref[k], rtol=1e-9, atol=1e-12)
             for k, c in cols.items())
    return ours, theirs, compile_s, ok


def make_pairs(n: int, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i}" for i in range(2 * n)])
    hla = pd.DataFrame({c: rng.choice(ALLELES[c[0]], 2 * n) for c in COLS}, index=ids)
    genes = ["KIR2DL1", "KIR2DL2", "KIR2DL3", "KIR3DL1", "KIR2DS1", "KIR2DS2", "KIR2DS4",
             "KIR3DS1"]
    kir = pd.DataFrame(rng.integers(0, 2, (n, len(genes))).astype(float), index=ids[n:],
                       columns=genes)
    kir.iloc[rng.integers(0, n, n // 50), 3] = np.nan  # some 3DL1 untyped
    pairs = pd.DataFrame({"recipient": ids[:n], "donor": ids[n:]})
    return hla, kir, pairs


def pandas_baseline(hla: pd.DataFrame, kir: pd.DataFrame, pairs: pd.DataFrame,
                    classes: pd.DataFrame) -> pd.DataFrame:
    """Independent implementation: long table + merge + groupby (a competent pandas user)."""
    long = hla.rename_axis("id").reset_index().melt(id_vars="id", var_name="col",
                                                    value_name="allele")
    long["locus"] = long["col"].str[0]
    cls = classes[["c", "bw"]].rename_axis("allele").reset_index()
    long = long.merge(cls, on="allele", how="left")
    blank = long["allele"] == ""

    def code(has, unk):
        return np.where(has, 1, np.where(unk, -1, 0))

    long["C1"] = code(long["c"] == "C1", blank | (long["c"] == "?"))
    long["C2"] = code(long["c"] == "C2", blank | (long["c"] == "?"))
    long["Bw4"] = code(long["bw"].fillna("").str.startswith("Bw4"),
                       blank | (long["bw"] == "?"))
    # relevant loci only
    long.loc[long["locus"] == "A", ["C1", "C2"]] = 0
    long.loc[long["locus"] == "B", "C2"] = 0
    long.loc[long["locus"] == "C", "Bw4"] = 0
    g = long.groupby("id")[["C1", "C2", "Bw4"]]
    status = pd.DataFrame(np.where(g.max() == 1, 1, np.where(g.min() == -1, -1, 0)),
                          index=g.max().index, columns=["C1", "C2", "Bw4"])
    d = status.loc[pairs["donor"]].to_numpy()
    r = status.loc[pairs["recipient"]].to_numpy()

    def mm(a, b):
        return np.where((a == 1) & (b == 0), 1, np.where((a == 0) | (b == 1), 0, -1))

    def any3(m):
        return np.where((m == 1).any(1), 1, np.where((m == -1).any(1), -1, 0))

    k = kir.loc[pairs["donor"]].fillna(-1).to_numpy()
    kc = {c: i for i, c in enumerate(kir.columns)}
    dl23 = np.where((k[:, kc["KIR2DL2"]] == 1) | (k[:, kc["KIR2DL3"]] == 1), 1,
                    np.where((k[:, kc["KIR2DL2"]] == -1) | (k[:, kc["KIR2DL3"]] == -1), -1, 0))
    rec = np.column_stack([k[:, kc["KIR2DL1"]], dl23, k[:, kc["KIR3DL1"]]])
    # receptor -> ligand column of status: 2DL1 -> C2 (1), 2DL2/3 -> C1 (0), 3DL1 -> Bw4 (2)
    lig = [1, 0, 2]
    rl = np.column_stack([mm(rec[:, i], r[:, j]) for i, j in enumerate(lig)])
    # licensed: receptor with its ligand in the donor (same three-valued AND)
    lic = np.column_stack([np.where((rec[:, i] == 1) & (d[:, j] == 1), 1,
                                    np.where((rec[:, i] == 0) | (d[:, j] == 0), 0, -1))
                           for i, j in enumerate(lig)])
    lm = np.column_stack([mm(lic[:, i], r[:, j]) for i, j in enumerate(lig)])
    # Cooley 2010 motifs written from their definitions (boolean masks on the gene table)
    g = kir.reindex(pairs["donor"])
    has = {c: g[c] == 1 for c in g}
    lacks = {c: g[c] == 0 for c in g}
    cen_b = has["KIR2DL2"] | has["KIR2DS2"]
    tel_b = has["KIR3DS1"] | has["KIR2DS1"]
    cen = np.select([has["KIR2DL3"] & lacks["KIR2DL2"] & lacks["KIR2DS2"],
                     has["KIR2DL3"] & cen_b, lacks["KIR2DL3"] & cen_b],
                    ["A/A", "A/B", "B/B"], "?")
    tel = np.select([has["KIR3DL1"] & has["KIR2DS4"] & lacks["KIR3DS1"] & lacks["KIR2DS1"],
                     has["KIR3DL1"] & has["KIR2DS4"] & tel_b,
                     lacks["KIR3DL1"] & lacks["KIR2DS4"] & tel_b],
                    ["A/A", "A/B", "B/B"], "?")
    nb = {"A/A": 0, "A/B": 1, "B/B": 2}
    score = pd.Series(cen).map(nb) + pd.Series(tel).map(nb)
    group = np.where(cen == "B/B", "Best", np.where(score.isna(), "?",
                                                    np.where(score >= 2, "Better", "Neutral")))
    return pd.DataFrame({"gvh_ligand_mismatch": any3(mm(d, r)),
                         "hvg_ligand_mismatch": any3(mm(r, d)),
                         "missing_ligand": any3(rl), "licensed_missing": any3(lm),
                         "donor_centromeric": cen, "donor_telomeric": tel,
                         "donor_cooley_group": group})


def bench_kir(n: int) -> tuple[float, float, bool]:
    hla, kir, pairs = make_pairs(n)
    # timed in a fresh process: import of the remission module and the computation (not
    # reading the inputs, which are pickled here so that pandas is already imported)
    code = ("import sys, time, pandas as pd; hla, kir, pairs = (pd.read_pickle(p) for p in "
            "sys.argv[1:4]); t0 = time.perf_counter();"
            "from remission.immunogenetics.kir import allele_classes, evaluate_pairs, "
            "ligand_status;"
            "classes = allele_classes(hla); st = ligand_status(hla, classes);"
            "res = evaluate_pairs(pairs, st, kir); t1 = time.perf_counter();"
            "res.to_pickle(sys.argv[4]); classes.to_pickle(sys.argv[5]); print(t1 - t0)")
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{x}.pkl" for x in ("hla", "kir", "pairs", "res", "classes")]
        for obj, pth in zip((hla, kir, pairs), paths[:3], strict=True):
            obj.to_pickle(pth)
        out = subprocess.run([sys.executable, "-c", code, *map(str, paths)], check=True,
                             capture_output=True, text=True).stdout.split()
        ours = float(out[0])
        res, classes = pd.read_pickle(paths[3]), pd.read_pickle(paths[4])
    t = time.perf_counter()
    base = pandas_baseline(hla, kir, pairs, classes)
    theirs = time.perf_counter() - t
    ok = True
    for c in base:
        same = res[c].to_numpy() == base[c].to_numpy()
        if not same.all():
            print(f"KIR-HLA disagreement in {c}: {int((~same).sum())} pairs")
            ok = False
    return ours, theirs, ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke sizes")
    a = ap.parse_args()
    ns, nsite, npairs = (20, 5_000, 2_000) if a.quick else (1_000, 100_000, 100_000)
    ours, theirs, comp, ok_is = bench_is(ns, nsite)
    kours, ktheirs, ok_kir = bench_kir(npairs)
    print(f"{'task':<46}{'seconds':>10}{'ratio':>9}  agree")
    print(f"{f'IS metrics {ns} x {nsite:,} scikit-bio (baseline)':<46}{theirs:>10.2f}"
          f"{1.0:>9.2f}")
    print(f"{f'IS metrics {ns} x {nsite:,} remission (cold)':<46}{ours:>10.2f}"
          f"{theirs / ours:>9.2f}  {ok_is}")
    print(f"{'  numba cache warm-up (tiny matrix, new process)':<46}{comp:>10.2f}")
    print(f"{f'KIR-HLA {npairs:,} pairs pandas merge (baseline)':<46}{ktheirs:>10.2f}"
          f"{1.0:>9.2f}")
    print(f"{f'KIR-HLA {npairs:,} pairs remission':<46}{kours:>10.2f}"
          f"{ktheirs / kours:>9.2f}  {ok_kir}")
    fail = not (ok_is and ok_kir)
    if not a.quick and (ours >= 10 or kours >= 5):
        print("target missed: IS < 10 s, KIR-HLA < 5 s")
        fail = True
    if fail:
        print("FAILED")
    return int(fail)


if __name__ == "__main__":
    sys.exit(main())
