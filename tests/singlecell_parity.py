"""Shared inputs of the Seurat parity check (used by the test and by the reference maker).

The input is simulated deterministically (seed 11), so the committed Seurat reference
values in ``tests/data/singlecell_seurat/reference.json`` can be regenerated with
``python tests/singlecell_parity.py`` (runs ``seurat_parity.R`` with Debian's
r-cran-seurat 4.3) and are checked without R by the test.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent / "data" / "singlecell_seurat"
R_SCRIPT = HERE / "seurat_parity.R"
REFERENCE = HERE / "reference.json"


def inputs():
    """Raw counts (cells x genes AnnData), groups and the shared 10-d embedding."""
    from remission.singlecell import pp
    from remission.singlecell.simulate import cart_design, simulate

    d = cart_design(n_cells=150, n_genes=600)
    a = simulate(d, seed=11)
    a = a[:, a.var["feature_type"] == "Gene Expression"].copy()
    a.obs = a.obs[["sample"]].copy()
    b = a.copy()
    pp.qc(b, pp.QCParams(mito_nmads=None, counts_nmads=None, genes_nmads=None))
    pp.normalize(b)
    pp.highly_variable(b, 200)
    pp.pca(b, n_comps=10)
    emb = pd.DataFrame(b.obsm["X_pca"], index=b.obs_names)
    groups = pd.DataFrame({"cell": a.obs_names,
                           "group": np.where(a.obs["sample"] == "peak", "g1", "g2")})
    rng = np.random.default_rng(0)
    probe_i = rng.integers(0, b.n_vars, 300)   # gene index (R: row)
    probe_j = rng.integers(0, b.n_obs, 300)    # kept-cell index (R: column)
    return a, b, groups, emb, probe_i, probe_j


def run_seurat() -> dict:
    try:
        from tests.rlive import run_r
    except ImportError:  # run as a script from tests/
        from rlive import run_r

    a, _, groups, emb, pi, pj = inputs()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        counts = pd.DataFrame(a.X.toarray().T.astype(int), index=a.var_names,
                              columns=a.obs_names)
        counts.to_csv(t / "counts.csv")
        groups.to_csv(t / "groups.csv", index=False)
        emb.to_csv(t / "emb.csv", float_format="%.17g")
        head = (f'DIR <- "{t}"\nPROBE_I <- c({",".join(str(i + 1) for i in pi)})\n'
                f'PROBE_J <- c({",".join(str(j + 1) for j in pj)})\n')
        return run_r(head + R_SCRIPT.read_text())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    ref = run_seurat()
    REFERENCE.write_text(json.dumps(ref, indent=None, separators=(",", ":")) + "\n")
    print(REFERENCE, len(ref["fm_gene"]), "marker genes")
