"""Shared inputs of the SingleR parity check (used by the test and by the reference maker).

Test cells and a single-cell reference of the same simulated biology (different cells,
seed 11), both log-normalised. The committed R values in ``tests/rref/singler_parity.json``
come from ``tests/rref/singler_parity.R`` (Debian r-bioc-singler 2.0) via
``python tests/singlecell_singler.py`` and are checked without R by the test.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

RREF = Path(__file__).parent / "rref"
R_SCRIPT = RREF / "singler_parity.R"
REFERENCE = RREF / "singler_parity.json"


def inputs() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Test (genes x cells), reference profiles (genes x profiles), reference labels."""
    from remission.singlecell.simulate import cart_design, reference_design, simulate

    def lognorm(a):
        a = a[(a.obs["truth_qc"] == "ok").to_numpy(),
              (a.var["feature_type"] == "Gene Expression").to_numpy()]
        X = a.X.toarray().astype(float)
        X = np.log1p(X / X.sum(axis=1, keepdims=True) * 1e4)
        return pd.DataFrame(np.round(X, 12).T, index=a.var_names, columns=a.obs_names), a

    test, _ = lognorm(simulate(cart_design(n_cells=80, n_genes=600), seed=11))
    ref, r = lognorm(simulate(reference_design(n_per_population=6, n_donors=2, n_genes=600),
                              seed=12, biology_seed=11))
    return test, ref, r.obs["truth_population"].astype(str).tolist()


def run_singler() -> dict:
    try:
        from tests.rlive import run_r
    except ImportError:  # run as a script from tests/
        from rlive import run_r

    test, ref, labels = inputs()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        test.to_csv(t / "test.csv", float_format="%.17g")
        ref.to_csv(t / "ref.csv", float_format="%.17g")
        pd.DataFrame({"profile": ref.columns, "label": labels}).to_csv(
            t / "ref_labels.csv", index=False)
        return run_r(f'DIR <- "{t}"\n' + R_SCRIPT.read_text())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    out = run_singler()
    REFERENCE.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")
    print(REFERENCE, len(out["cells"]), "cells")
