"""Shared inputs of the pseudobulk DESeq2 parity check (test and reference maker).

Three simulated patients, each with a product and a day-9 sample (seed 21); the CD4
effector-memory cells of all six samples. The committed R values in
``tests/rref/pseudobulk_deseq2.json`` come from ``tests/rref/pseudobulk_deseq2.R`` (Debian
r-bioc-deseq2) via ``python tests/singlecell_pseudobulk.py``; R sums the cells itself.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

RREF = Path(__file__).parent / "rref"
R_SCRIPT = RREF / "pseudobulk_deseq2.R"
REFERENCE = RREF / "pseudobulk_deseq2.json"
CELL_TYPE = "CD4 effector memory"


def inputs():
    """Raw counts AnnData (genes only, QC-ok cells, layers["counts"]) and the cell mask."""
    from remission.singlecell.simulate import replicate_design, simulate

    a = simulate(replicate_design(n_patients=3, n_cells=150, n_genes=500), seed=21)
    a = a[(a.obs["truth_qc"] == "ok").to_numpy(),
          (a.var["feature_type"] == "Gene Expression").to_numpy()].copy()
    a.layers["counts"] = a.X.copy()
    return a, (a.obs["truth_population"] == CELL_TYPE).to_numpy()


def run_r_deseq2() -> dict:
    try:
        from tests.rlive import run_r
    except ImportError:  # run as a script from tests/
        from rlive import run_r

    a, mask = inputs()
    sub = a[mask]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        pd.DataFrame(sub.X.toarray().T.astype(np.int64), index=sub.var_names,
                     columns=sub.obs_names).to_csv(t / "counts.csv")
        sub.obs[["sample", "time_point", "patient"]].rename_axis("cell").reset_index() \
            .to_csv(t / "cells.csv", index=False)
        return run_r(f'DIR <- "{t}"\n' + R_SCRIPT.read_text())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    out = run_r_deseq2()
    REFERENCE.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")
    print(REFERENCE, len(out["genes"]), "genes")
