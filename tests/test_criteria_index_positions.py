"""``_common.index_positions`` (the per-row lookup of a patient's row in a per-patient
table: the ASTCT 2019 fever-waiver start in grade_crs, the CAPD age rule in
grade_neurotoxicity) gives ``pd.Index(index).get_indexer(keys)`` on random IDs: text,
numbers, missing values, categorical and string-dtype keys, duplicated IDs (which
``get_indexer`` refuses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria._common import index_positions

VALUES = ["P1", "P2", "P10", "p1", "Q", 1, 2.0, None, np.nan, np.str_("P2")]


def _expected(index, keys):
    try:
        return pd.Index(index).get_indexer(keys).tolist()
    except Exception as e:  # the same exception is expected
        return type(e)


def _got(index, keys):
    try:
        return index_positions(index, keys).tolist()
    except Exception as e:
        return type(e)


@pytest.mark.parametrize("seed", range(30))
def test_index_positions_equals_get_indexer(seed):
    rng = np.random.default_rng(seed)
    text = seed % 2 == 0  # half the cases: text IDs only (the dict path)
    pool = VALUES[:5] if text else VALUES
    index = [pool[i] for i in rng.choice(len(pool), size=int(rng.integers(0, 5)),
                                         replace=bool(rng.random() < 0.3))]
    keys = [pool[i] for i in rng.integers(0, len(pool), int(rng.integers(0, 12)))]
    for idx in (index, pd.Series(index, dtype=object), pd.Index(index, dtype=object)):
        for k in (keys, pd.Series(keys, dtype=object), np.array(keys, dtype=object)):
            assert _got(idx, k) == _expected(idx, k)
        if text:
            for k in (pd.Series(keys, dtype="category"), pd.Series(keys, dtype="string")):
                assert _got(idx, k) == _expected(idx, k)


def test_index_positions_of_one_patient():
    assert index_positions(pd.Series(["P7"]), pd.Series(["P7", "P7", "P8"])).tolist() == [
        0, 0, -1]
