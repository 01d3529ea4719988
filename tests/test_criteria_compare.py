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


def test_blank_text_is_not_recorded_not_a_disagreement():
    """A CSV text column keeps a blank cell as "" (e.g. best_response of a patient whose
    response was never entered); it is 'not recorded', as a missing grade is, never a
    disagreement between "" and the derived response. Whitespace-only counts as blank."""
    rec = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4"],
                        "value": ["", "  ", "MLFS", " CR "]})
    der = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4"],
                        "grade": ["MLFS", "CR", "MLFS", "CR"], "rule": ["m"] * 4})
    r = compare_recorded(rec, der)
    assert r.table["status"].to_dict() == {"P1": "not recorded", "P2": "not recorded"}
    assert r.params["n_agree"] == 2 and r.params["n_compared"] == 4
