"""A study folder's declared samples read out of core: same cells, counts and messages.

Oracle: ``load_singlecell`` with ``out_of_core = false`` (the declared files read whole
with anndata, subset per sample, concatenated in sheet order, rounded) on the same
folder. The study's one .h5ad holds both samples with their rows interleaved (a fixed
shuffle), declared in the opposite order, float counts with some values 1e-9 off an
integer; the out-of-core source reads it 23 cells at a time, so every block mixes
samples and is read in windows of the file. That the analysis on these blocks gives the
in-memory Results is ``tests/test_singlecell_outofcore.py``. Seen red: the windows' row
subset skipped (rows of the other sample read too) and the rounding removed from
``BlockSource.rows``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from remission.errors import InputError, ProblemLog
from remission.singlecell import outofcore
from remission.singlecell.io import load_singlecell
from remission.singlecell.simulate import cart_design, simulate

TOML = """[singlecell]
construct_features = ["CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"]
time_order = ["product", "day 9"]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    # SYNTHETIC: seed 002's design, 2 x 60 cells x 300 genes, rows interleaved
    a = simulate(cart_design(n_cells=60, n_genes=300), seed=2)
    a = a[np.random.default_rng(0).permutation(a.n_obs)].copy()
    a.X = a.X.astype(np.float64)
    a.X.data[::97] += 1e-9  # float noise of an exported matrix: rounded on both routes
    a.obs = a.obs[["sample"]]
    d = tmp_path_factory.mktemp("study")
    (d / "singlecell").mkdir()
    (d / "singlecell" / "samples.csv").write_text(
        "sample,path,time_point,source,patient\n"
        "peak,singlecell/counts.h5ad,day 9,blood,P1\n"
        "product,singlecell/counts.h5ad,product,product,P1\n")
    a.write_h5ad(d / "singlecell" / "counts.h5ad")
    return d


def test_blocks_equal_the_in_memory_matrix(folder):
    (folder / "study.toml").write_text(TOML + "out_of_core = false\n")
    mem = load_singlecell(folder)
    (folder / "study.toml").write_text(TOML + "out_of_core = true\nchunk_cells = 23\n")
    st = load_singlecell(folder)
    assert st.parts is not None and st.chunk_cells == 23 and mem.parts is None
    assert st.adata.obs.equals(mem.adata.obs)  # names, sheet order, sheet columns
    assert st.adata.obs_names[0].startswith("peak:")
    src = outofcore.BlockSource(st.parts, ("CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE"), 23)
    try:
        log = ProblemLog()
        blocks = [src.rows(r0, min(r0 + 23, src.n_obs), log) for r0 in range(0, 120, 23)]
        rounded = [f"{lab}: {n} values within 1e-06 of an integer were rounded"
                   for lab, n in zip(src.labels, src.rounded, strict=True) if n]
    finally:
        src.close()
    assert not log.problems
    genes = sp.vstack([b for b, _ in blocks], format="csr")
    car = np.vstack([c for _, c in blocks])
    A = mem.adata
    gi = [A.var_names.get_loc(g) for g in src.genes]
    ref = A.X[:, gi]
    assert np.array_equal(genes.indptr, ref.indptr)
    assert np.array_equal(genes.indices, ref.indices)
    assert np.array_equal(genes.data, ref.data) and genes.data.dtype == ref.data.dtype
    ci = [A.var_names.get_loc(f) for f in ("CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE")]
    assert np.array_equal(car, A.X[:, ci].toarray())
    assert len(rounded) == 2 and rounded == [w for w in mem.warnings if "rounded" in w]


def test_auto_route_and_bad_route_keys(folder):
    toml = folder / "study.toml"
    toml.write_text(TOML + 'out_of_core = "auto"\nmemory_gb = 0.1\n')
    st = load_singlecell(folder)
    assert st.parts is not None and st.route.startswith('out of core (out_of_core = "auto"')
    assert "vs memory_gb = 0.1" in st.route and st.adata.n_vars == 0
    assert st.adata.n_obs == 120
    toml.write_text(TOML + 'out_of_core = "auto"\nmemory_gb = 64\n')
    st = load_singlecell(folder)
    assert st.parts is None and st.route.startswith("in memory") and st.adata.n_vars == 303
    toml.write_text(TOML + 'out_of_core = "yes"\nchunk_cells = 0\nmemory_gb = -1\n')
    with pytest.raises(InputError) as e:
        load_singlecell(folder)
    msg = str(e.value)
    for key in ("out_of_core", "chunk_cells", "memory_gb"):
        assert f"singlecell.{key}" in msg
    toml.write_text(TOML + 'out_of_core = "auto"\n')
    with pytest.raises(InputError, match="needs memory_gb"):
        load_singlecell(folder)


def test_out_of_core_refuses_other_formats(tmp_path):
    from remission.singlecell.simulate import write_tiny_study

    d = write_tiny_study(tmp_path / "tiny")
    t = d / "study.toml"
    t.write_text(t.read_text().replace("[singlecell]", "[singlecell]\nout_of_core = true", 1))
    with pytest.raises(InputError) as e:
        load_singlecell(d)
    msg = str(e.value)
    assert "reads .h5ad files only" in msg and "line 2" in msg and "line 3" in msg
