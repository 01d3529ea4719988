"""SingleR-style reference label transfer (``remission.singlecell.labeltransfer``).

Oracles: Bioconductor SingleR 2.0 (Debian r-bioc-singler) on shared simulated inputs —
committed values in ``tests/rref/singler_parity.json`` made by ``tests/rref/singler_parity.R``
through ``tests/singlecell_singler.py``, re-run live by the ``r`` test — and a brute-force
restatement of the first-round score (scipy's Spearman correlation, numpy's type-7
quantile). Planted truth: the shipped SYNTHETIC examples and their synthetic reference.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("scanpy")

from remission.errors import InputError
from remission.singlecell.labeltransfer import (
    Reference,
    classify,
    load_reference,
    n_markers,
    train,
)
from tests.singlecell_singler import REFERENCE, inputs, run_singler

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ours():
    test, ref, labels = inputs()
    t = train(Reference(ref, tuple(labels)), list(test.index))
    X = test.to_numpy().T
    return {"t": t, "res": classify(X, list(test.index), t),
            "nofine": classify(X, list(test.index), t, fine_tune=False),
            "cells": list(test.columns)}


def _check(o, r):
    t, res = o["t"], o["res"]
    assert r["cells"] == o["cells"]
    assert sorted(t.genes[t.subset]) == sorted(r["marker_union"])      # classic markers
    L = r["score_labels"]
    S = np.array(r["scores"], float).reshape(len(r["cells"]), len(L))
    np.testing.assert_allclose(res[[f"score.{x}" for x in L]].to_numpy(), S, atol=1e-10)
    assert res["label"].tolist() == r["labels"]                       # fine-tuned labels
    assert res["pruned_label"].fillna("").tolist() == r["pruned"]     # pruning
    dn = np.array([np.nan if x is None else x for x in r["delta_next"]], float)
    np.testing.assert_allclose(res["delta_next"].to_numpy(), dn, atol=1e-10)
    assert o["nofine"]["label"].tolist() == r["labels_no_fine_tune"]


def test_matches_committed_singler_reference(ours):
    r = json.loads(REFERENCE.read_text())
    assert r["singler_version"].startswith("2.")
    # the inputs exercise fine-tuning and pruning, not only easy calls
    assert r["labels"] != r["labels_no_fine_tune"]
    assert "" in r["pruned"]
    _check(ours, r)


@pytest.mark.r
def test_matches_singler_live(ours):
    _check(ours, run_singler())


def test_first_round_scores_brute_force():
    """Score = 0.8 quantile (type 7) of Spearman correlations over the marker union."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(5)
    genes = [f"g{i}" for i in range(40)]
    ref = pd.DataFrame(rng.gamma(1.0, 1.0, (40, 9)), index=genes)
    labels = ("A",) * 4 + ("B",) * 3 + ("C",) * 2
    ref.iloc[:8, :4] += 4
    ref.iloc[8:16, 4:7] += 4
    t = train(Reference(ref, labels), genes, de_n=10)
    X = rng.gamma(1.0, 1.0, (6, 40))
    X[:3, :8] += 4
    res = classify(X, genes, t, fine_tune=False)
    sub = t.subset
    for i in range(6):
        for lab in "ABC":
            cols = [j for j, x in enumerate(labels) if x == lab]
            cors = [spearmanr(X[i, sub], ref.iloc[sub, j]).statistic for j in cols]
            assert res.loc[i, f"score.{lab}"] == pytest.approx(np.quantile(cors, 0.8),
                                                               abs=1e-12)
    assert (res.loc[:2, "label"] == "A").all()
    assert n_markers(13) == 112     # round(500 * (2/3)^log2(13)), SingleR's de.n default


def test_markers_classic_rule_by_hand():
    ref = pd.DataFrame({"a1": [9., 1, 5, 0], "a2": [7., 1, 5, 2], "b1": [1., 6, 5, 1]},
                       index=["w", "x", "y", "z"])
    t = train(Reference(ref, ("A", "A", "B")), ["z", "y", "x", "w"], de_n=2)
    g = list(t.genes)
    # medians A = (8, 1, 5, 1), B = (1, 6, 5, 1); A-B > 0 only for w; B-A > 0 only for x
    assert [g[i] for i in t.markers[(0, 1)]] == ["w"]
    assert [g[i] for i in t.markers[(1, 0)]] == ["x"]


@pytest.fixture(scope="module")
def cart_example():
    from remission.singlecell import run_folder

    return run_folder(ROOT / "examples" / "singlecell-cart-002-synthetic")


def test_recovers_planted_populations_on_example(cart_example):
    obs = cart_example.adata.obs
    truth = pd.read_csv(ROOT / "examples" / "singlecell-cart-002-synthetic" / "truth.csv")
    truth = truth.set_index(["sample", "barcode"])["truth_population"]
    t = truth.loc[[(s, b.split(":", 1)[1]) for s, b in zip(obs["sample"], obs.index,
                                                             strict=True)]].to_numpy()
    assert (obs["ref_label"].to_numpy() == t).mean() >= 0.99
    called = (obs["ref_pruned_label"] != "pruned").to_numpy()
    assert called.mean() >= 0.98
    res = next(r for r in cart_example.results if r.name == "singlecell.reference_labels")
    assert res.table["agree"].all()
    assert res.params["cells_agreeing_with_marker_labels"] >= 0.98
    assert any("Aran" in x for x in res.references)


def _csv_ref(tmp: Path, text: str, labels: str | None = None) -> tuple[Path, Path | None]:
    p = tmp / "ref.csv"
    p.write_text(text)
    lp = None
    if labels is not None:
        lp = tmp / "lab.csv"
        lp.write_text(labels)
    return p, lp


def test_reference_input_problems(tmp_path):
    p, lp = _csv_ref(tmp_path, "gene,p1,p2\nA,1,x\nB,2,3\n", "profile,label\np1,T\n")
    with pytest.raises(InputError) as e:
        load_reference(p, labels_file=lp)
    msgs = [(q.message, q.column, q.value) for q in e.value.problems]
    assert ("non-numeric values in a reference profile", "p2", None) in msgs
    assert ("reference profile has no label", "profile", "p2") in msgs
    p, _ = _csv_ref(tmp_path, "gene,T,T.1\nA,1,2\nB,2,3\n")
    with pytest.raises(InputError, match="at least two labels"):
        load_reference(p)
    with pytest.raises(InputError, match="reference not found"):
        load_reference(tmp_path / "nope.csv")


def test_pseudobulk_counts_are_log_normalised(tmp_path):
    p, _ = _csv_ref(tmp_path, "gene,T,B\nA,30,10\nB,10,30\nC,60,60\n")
    r = load_reference(p)
    assert r.labels == ("T", "B")
    assert r.data.loc["A", "T"] == pytest.approx(np.log1p(30 / 100 * 1e4))


def test_study_reference_problems_reported_nothing_written(tmp_path, capsys):
    from remission.cli import main

    src = ROOT / "examples" / "singlecell-cart-002-synthetic"
    folder = tmp_path / "s"
    shutil.copytree(src, folder)
    (folder / "singlecell" / "reference_labels.csv").write_text("profile,label\n")
    toml = (folder / "study.toml").read_text().replace(
        'labels = "singlecell/reference_labels.csv"',
        'labels = "singlecell/reference_labels.csv"\nlabel_col = "x"')
    (folder / "study.toml").write_text(toml)
    out = tmp_path / "out"
    assert main(["singlecell", "report", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "singlecell.reference.label_col" in err
    assert "reference profile has no label" in err
    assert not out.exists()


def test_example_report_has_doublet_scores(cart_example):
    """The CAR-T example switches on Scrublet ([singlecell.qc] doublets = true)."""
    res = next(r for r in cart_example.results if r.name == "singlecell.doublets")
    assert set(res.table.index) == {"product", "peak"}
    assert (res.table["removed"] == 0).all()                 # flagged, not removed
    assert "doublet_score" in cart_example.adata.obs
    assert any("Wolock" in x for x in res.references)
