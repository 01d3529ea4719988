"""Per-cell origin by cluster: one input, one implementation, one Result.

Oracles: counts and shares worked by hand on a small table (missing, ``unassigned`` and
doublet calls, two samples / time points, numeric and named clusters, a cell without a
cluster); the Wilson interval from its published formula (Wilson 1927, J Am Stat Assoc
22:209, eq. for the score interval) computed here in plain Python; the planted truth of
the SYNTHETIC seed-004 single-cell example (``truth.csv``, never read by the analysis).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.errors import InputError
from remission.immunogenetics import origin as origin_mod
from remission.immunogenetics.folder import analyse_folder, read_folder
from remission.immunogenetics.origin import origin_by_cluster, origin_result

ROOT = Path(__file__).resolve().parents[1]
CARNK = ROOT / "examples" / "singlecell-carnk-004-synthetic"
Z95 = 1.959963984540054  # standard normal 97.5% quantile


def _wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval, written out from the formula (not statsmodels)."""
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return centre - half, centre + half


def _cells() -> pd.DataFrame:
    # (sample, time point, cluster, raw origin call); rows of the two samples interleave
    rows = [
        ("S1", "day 0", "2", "donor"), ("S2", "day 14", "2", "product"),
        ("S1", "day 0", "2", "donor"), ("S1", "day 0", "10", "Donor "),
        ("S2", "day 14", "2", "product"), ("S1", "day 0", "2", "recipient"),
        ("S1", "day 0", "2", ""), ("S2", "day 14", "NK CD56dim", None),
        ("S1", "day 0", "2", "doublet"), ("S1", "day 0", "10", "unassigned"),
        ("S2", "day 14", "2", "product"), ("S1", "day 0", None, "recipient"),
        ("S2", "day 14", "2", "RECIPIENT"),
    ]
    return pd.DataFrame(rows, columns=["sample", "time_point", "cluster", "origin"])


# worked by hand from _cells(): (sample, cluster) -> n, recipient, donor, product, doublet,
# undetermined, n_called
HAND = {
    ("S1", "2"): (5, 1, 2, 0, 1, 1, 3),
    ("S1", "10"): (2, 0, 1, 0, 0, 1, 1),
    ("S1", "unclustered"): (1, 1, 0, 0, 0, 0, 1),
    ("S1", "all clusters"): (8, 2, 3, 0, 1, 2, 5),
    ("S2", "2"): (4, 1, 0, 3, 0, 0, 4),
    ("S2", "NK CD56dim"): (1, 0, 0, 0, 0, 1, 0),
    ("S2", "all clusters"): (5, 1, 0, 3, 0, 1, 4),
}
COLS = ["n", "recipient", "donor", "product", "doublet", "undetermined", "n_called"]


def test_counts_shares_and_order_against_hand_calculation():
    t = origin_by_cluster(_cells(), by=("sample",))
    # order: samples as they first appear, clusters by value ("2" before "10"), names,
    # then the cells without a cluster, then the total
    assert list(t.index) == list(HAND)
    assert t.index.names == ["sample", "cluster"]
    assert list(t.columns[:7]) == COLS
    for key, want in HAND.items():
        assert tuple(t.loc[key, COLS]) == want, key
    # shares are of called cells only; doublets / undetermined never enter them
    assert t.loc[("S1", "2"), "donor_share"] == pytest.approx(2 / 3)
    assert t.loc[("S1", "2"), "recipient_share"] == pytest.approx(1 / 3)
    assert t.loc[("S1", "10"), "donor_share"] == 1.0
    assert t.loc[("S1", "all clusters"), "donor_share"] == pytest.approx(3 / 5)
    assert t.loc[("S2", "2"), "product_share"] == pytest.approx(3 / 4)
    assert t.loc[("S2", "all clusters"), "donor_share"] == 0.0
    assert np.isnan(t.loc[("S2", "NK CD56dim"), "product_share"])   # nobody called
    # Wilson 95% intervals by the formula, and two values worked out by hand
    for (key, o, k, n) in [(("S1", "2"), "donor", 2, 3), (("S1", "all clusters"), "donor", 3, 5),
                           (("S2", "2"), "product", 3, 4), (("S1", "10"), "donor", 1, 1)]:
        lo, hi = _wilson(k, n)
        assert t.loc[key, f"{o}_ci_lower"] == pytest.approx(lo, abs=1e-12)
        assert t.loc[key, f"{o}_ci_upper"] == pytest.approx(hi, abs=1e-12)
    assert t.loc[("S1", "2"), "donor_ci_lower"] == pytest.approx(0.207660, abs=1e-6)
    assert t.loc[("S2", "2"), "product_ci_upper"] == pytest.approx(0.954413, abs=1e-6)


def test_time_points_clusters_as_categories_and_no_product_column():
    c = _cells()
    c = c[c["origin"].fillna("").str.strip().str.lower() != "product"].copy()
    c["cluster"] = pd.Categorical(c["cluster"], categories=["NK CD56dim", "10", "2"])
    t = origin_by_cluster(c, by=("time_point",), total=False)
    # category order kept; "product" column only when some cell is product
    assert list(t.index) == [("day 0", "10"), ("day 0", "2"), ("day 0", "unclustered"),
                             ("day 14", "NK CD56dim"), ("day 14", "2")]
    assert "product" not in t.columns and "product_share" not in t.columns
    assert t.loc[("day 14", "2"), "recipient_share"] == 1.0
    # no grouping: one level named after the cluster column, integer ids as text
    t1 = origin_by_cluster(pd.DataFrame({"cl": [10, 2, 2], "origin": ["donor"] * 3}), "cl")
    assert list(t1.index) == ["2", "10", "all clusters"] and t1.index.name == "cl"


def test_unknown_origin_is_refused():
    c = _cells()
    c.loc[0, "origin"] = "host"
    with pytest.raises(ValueError, match="host"):
        origin_by_cluster(c)


def test_result_warns_about_uncalled_cells():
    r = origin_result(_cells(), "test calls", by=("sample",))
    assert r.name == "immunogenetics.origin_by_cluster" and r.section == "immunogenetics"
    assert r.warnings[0].startswith("4 of 13 cells (30.8%) without an origin call")
    assert r.cell("S2 | 2", "product_share") == pytest.approx(0.75)


# ---------------------------------------------- the deprecated immunogenetics input


def _cell_origin_csv(folder: Path, cells: pd.DataFrame) -> Path:
    ig = folder / "immunogenetics"
    ig.mkdir(parents=True, exist_ok=True)
    cells.to_csv(ig / "cell_origin.csv", index=False)
    return ig


def test_deprecated_cell_origin_file_same_table_and_a_warning(tmp_path):
    c = _cells()
    c.insert(0, "cell", [f"c{i}" for i in range(len(c))])
    c = c.drop(columns="time_point").fillna({"origin": ""})
    c["cluster"] = c["cluster"].fillna("x")  # a cluster is required in the file
    ig = _cell_origin_csv(tmp_path, c)
    res, _ = analyse_folder(ig, figures=False)
    (r,) = [x for x in res if x.name == "immunogenetics.origin_by_cluster"]
    want = origin_by_cluster(c, by=("sample",))
    pd.testing.assert_frame_equal(r.table, want)
    assert any("deprecated" in w for w in r.warnings)


def test_deprecated_file_problems_and_two_inputs(tmp_path):
    bad = pd.DataFrame({"cell": ["a", "a", "b"], "cluster": ["1", "1", ""],
                        "origin": ["donor", "host", "recipient"]})
    ig = _cell_origin_csv(tmp_path / "one", bad)
    with pytest.raises(InputError) as e:
        read_folder(ig)
    got = {(p.message, p.row, p.column) for p in e.value.problems}
    assert got == {("invalid value", 3, "origin"), ("cell listed twice", 3, "cell"),
                   ("empty value", 4, "cluster")}
    # a study that also declares single-cell origin has two inputs: an error, not a guess
    ok = bad.iloc[[0]]
    ig = _cell_origin_csv(tmp_path / "two", ok)
    (tmp_path / "two" / "study.toml").write_text('[singlecell]\ndonor_sex = "male"\n')
    with pytest.raises(InputError) as e:
        read_folder(ig)
    (p,) = e.value.problems
    assert p.message.startswith("two per-cell origin inputs") and "donor_sex" in p.message


# --------------------------------------------------- seed 004 on the single-cell example


@pytest.fixture(scope="module")
def carnk():
    pytest.importorskip("scanpy")
    from remission.singlecell import run_folder

    calls = []
    real = origin_mod.origin_by_cluster

    def spy(*a, **k):
        calls.append(k)
        return real(*a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(origin_mod, "origin_by_cluster", spy)
        prof = run_folder(CARNK)
    return prof, calls


def test_singlecell_uses_the_one_implementation(carnk):
    prof, calls = carnk
    assert len(calls) == 1          # singlecell summarised origin through origin_by_cluster
    names = [r.name for r in prof.results]
    assert names.count("immunogenetics.origin_by_cluster") == 1
    assert not any(n.endswith(".origin") for n in names)


def test_seed004_expanded_nk_came_from_the_product(carnk):
    """Seed 004: the CD56dim CD16high NK cells that expanded in the patient were of
    product (donor) origin, not the recipient's."""
    prof, _ = carnk
    res = {r.name: r for r in prof.results}
    up = res["singlecell.expansion.all"].table.loc["NK CD56dim CD16high"]
    assert up["direction"] == "up" and up["p_adj_bh"] < 0.05
    t = res["immunogenetics.origin_by_cluster"].table
    row = t.loc[("patient", "day 10", "NK CD56dim CD16high")]
    assert row["donor_share"] > 0.9 and row["donor_ci_lower"] > 0.9
    assert row["recipient_ci_upper"] < 0.1
    # ... while the patient's own cells (blasts, B cells, monocytes) are recipient
    for ct in ("AML blast", "B cell", "Monocyte"):
        assert t.loc[("patient", "day 10", ct), "recipient_share"] == 1.0
    # and against the planted truth of every called cell
    truth = pd.read_csv(CARNK / "truth.csv", dtype=str)
    truth.index = truth["sample"] + ":" + truth["barcode"]
    obs = prof.adata.obs
    for (s, ct), g in obs[obs["origin"] != "undetermined"].groupby(["sample", "cell_type"]):
        planted = (truth.loc[g.index, "truth_origin"] == "donor").mean()
        got = t.loc[(s, g["time_point"].iloc[0], ct), "donor_share"]
        assert abs(got - planted) <= 0.02 if len(g) >= 30 else True, (s, ct, got, planted)


def test_the_two_paths_agree(carnk, tmp_path):
    """The single-cell summary and the (deprecated) immunogenetics file give one table."""
    prof, _ = carnk
    obs = prof.adata.obs
    cells = pd.DataFrame({"cell": obs.index, "sample": obs["sample"].to_numpy(),
                          "cluster": obs["cell_type"].to_numpy(),
                          "origin": obs["origin"].to_numpy()})
    ig = _cell_origin_csv(tmp_path, cells)
    res, _ = analyse_folder(ig, figures=False)
    (file_r,) = [r for r in res if r.name == "immunogenetics.origin_by_cluster"]
    (sc_r,) = [r for r in prof.results if r.name == "immunogenetics.origin_by_cluster"]
    sc = sc_r.table.droplevel("time_point")
    sc.index = sc.index.set_names(["sample", "cluster"])
    pd.testing.assert_frame_equal(file_r.table, sc)
