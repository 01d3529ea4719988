"""Write the two SYNTHETIC single-cell example studies (deterministic).

- ``examples/singlecell-cart-002-synthetic``: seed 002's design, a CLL-1 CAR-T infusion
  product and the patient's blood at peak expansion (day 9);
- ``examples/singlecell-carnk-004-synthetic``: seed 004's design, a CD123 CAR-NK product
  and the patient's blood on day 10.

Counts come from :mod:`remission.singlecell.simulate` (negative binomial, library-size
variation, dropout, a batch effect between samples, CAR transcripts in a chosen fraction of
cells, a product -> peak shift). Every number is generated here: NOT patient data. The
planted truth per cell is written to ``truth.csv`` beside the counts (the analysis never
reads it). Same script, same bytes.

Run: .venv/bin/python scripts/make_singlecell_examples.py [--out examples] [--cells 600]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from remission.io.atomic import write_text
from remission.singlecell.io import write_10x_mtx
from remission.singlecell.simulate import (
    SYNTHETIC,
    carnk_design,
    cart_design,
    reference_design,
    simulate,
)

SEED = {"cart": 2, "carnk": 4}

STUDY = {
    "cart": """format = 1

[study]
name = "SYNTHETIC single-cell profile of a CLL-1 CAR-T product and peak blood (seed 002 design)"
disease = "AML"
products = ["donor-derived CLL-1 CAR-T"]
synthetic = true
reference = "{label}; design after Zhang M et al. Front Immunol 2025;15:1491341"

[singlecell]
construct_features = ["CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"]
car_min_umis = 1
mode = "seurat"
resolution = 0.8
n_top_genes = 1000
donor_sex = "male"
time_order = ["product", "day 9"]
de_labels = ["CD4 naive", "CD4 central memory", "CD4 effector memory", "Treg"]
de_car_only = true

[singlecell.qc]
min_genes = 100
max_genes = 30000
mito_nmads = 3
mad_scale = 1.4826
doublets = true               # Scrublet scores per sample, flagged, not removed

[singlecell.reference]
path = "singlecell/reference.csv"
labels = "singlecell/reference_labels.csv"
""",
    "carnk": """format = 1

[study]
name = "SYNTHETIC single-cell profile of a CD123 CAR-NK product and patient blood (seed 004 design)"
disease = "AML"
products = ["CD123 CAR-NK"]
synthetic = true
reference = "{label}; design after the CD123 CAR-NK study of seed 004"

[singlecell]
construct_features = ["CAR-CD123-scFv", "CAR-WPRE"]
mode = "seurat"
n_top_genes = 1000
donor_sex = "male"
time_order = ["product", "day 10"]
de_labels = ["NK CD56dim CD16high"]
de_car_only = false

[singlecell.reference]
path = "singlecell/reference.csv"
labels = "singlecell/reference_labels.csv"
""",
}


def write_example(kind: str, out: Path, n_cells: int) -> Path:
    design = (cart_design if kind == "cart" else carnk_design)(n_cells=n_cells)
    a = simulate(design, seed=SEED[kind])
    name = {"cart": "singlecell-cart-002-synthetic",
            "carnk": "singlecell-carnk-004-synthetic"}[kind]
    folder = out / name
    rows = ["sample,path,time_point,source,format"]
    for s in design.samples:
        sub = a[a.obs["sample"] == s.name]
        sub = sub.copy()
        sub.obs_names = [b.split("_", 1)[1] for b in sub.obs_names]  # 10x-like barcodes
        write_10x_mtx(sub, folder / "singlecell" / s.name)
        rows.append(f"{s.name},singlecell/{s.name},{s.time_point},{s.source},10x_mtx")
    write_text(folder / "singlecell" / "samples.csv", "\n".join(rows) + "\n")
    truth = a.obs[[c for c in a.obs.columns if c.startswith("truth_")] + ["sample"]].copy()
    truth.index = [b.split("_", 1)[1] for b in truth.index]
    write_text(folder / "truth.csv", truth.to_csv(index_label="barcode", lineterminator="\n"))
    write_reference(folder, design.n_genes, SEED[kind])
    write_text(folder / "study.toml", STUDY[kind].format(label=SYNTHETIC))
    write_text(folder / "README.md", (
        f"# {name}\n\nSYNTHETIC single-cell example written by "
        "`scripts/make_singlecell_examples.py` (seed "
        f"{SEED[kind]}, {n_cells} cells per sample, {design.n_genes} genes + construct "
        "features). Not patient data.\n\n`truth.csv` holds the planted population, CAR "
        "status, origin and QC class of every barcode; the analysis never reads it.\n\n"
        "`singlecell/reference.csv` is a SYNTHETIC labelled reference for label transfer: "
        "summed raw counts (pseudobulk) of each population in 3 simulated donors of the "
        "same simulated biology (other cells), labels in `reference_labels.csv`.\n\n"
        f"Run: `remission singlecell report examples/{name} --out build/{name}`\n"))
    return folder


def write_reference(folder: Path, n_genes: int, biology_seed: int) -> None:
    """Pseudobulk reference (population x donor summed counts) of the same biology."""
    import numpy as np
    import pandas as pd

    r = simulate(reference_design(n_per_population=40, n_donors=3, n_genes=n_genes),
                 seed=100 + biology_seed, biology_seed=biology_seed)
    r = r[(r.obs["truth_qc"] == "ok").to_numpy()]
    key = r.obs["sample"].astype(str) + ":" + r.obs["truth_population"].astype(str)
    cols = sorted(set(key))
    X = r.X.tocsr()
    sums = np.column_stack([np.asarray(X[(key == c).to_numpy()].sum(axis=0)).ravel()
                            for c in cols]).astype(np.int64)
    tab = pd.DataFrame(sums, index=pd.Index(r.var_names, name="gene"), columns=cols)
    write_text(folder / "singlecell" / "reference.csv", tab.to_csv(lineterminator="\n"))
    labels = pd.DataFrame({"profile": cols, "label": [c.split(":", 1)[1] for c in cols]})
    write_text(folder / "singlecell" / "reference_labels.csv",
               labels.to_csv(index=False, lineterminator="\n"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("examples"))
    ap.add_argument("--cells", type=int, default=600)
    args = ap.parse_args()
    for kind in ("cart", "carnk"):
        print(write_example(kind, args.out, args.cells))


if __name__ == "__main__":
    main()
