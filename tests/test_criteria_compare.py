"""compare_recorded: every disagreement, both directions, numbers vs categories."""

from __future__ import annotations

import pandas as pd

from remission.derive.criteria.compare import compare_recorded


def test_disagreements_listed_with_rule_and_system():
    rec = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P5"], "day": [1, 1, 1, 1],
                        "value": [2, "3", None, "CR"]})
    der = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4", "P5"], "day": [1] * 5,
                        "grade": [2.0, 4, 1, 0, "CRi"], "rule": ["oxygen", "hypotension",
                                                              "fever", "none", "counts"],
                        "system": "astct2019"})
    r = compare_recorded(rec, der, keys=("patient_id", "day"))
    assert r.row_keys() == ["P2 | 1", "P3 | 1", "P4 | 1", "P5 | 1"]
    assert list(r.table["status"]) == ["disagree", "not recorded", "not recorded", "disagree"]
    assert r.cell("P2 | 1", "rule") == "hypotension"
    assert r.params["n_compared"] == 4 and r.params["n_agree"] == 1
    assert "ASTCT" in r.method and r.references


def test_nothing_in_common_warns():
    r = compare_recorded(pd.DataFrame({"patient_id": ["A"], "value": [1]}),
                         pd.DataFrame({"patient_id": ["B"], "grade": [1], "rule": ["x"]}))
    assert r.warnings and list(r.table["status"]) == ["not derived", "not recorded"]
