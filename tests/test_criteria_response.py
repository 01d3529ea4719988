"""Response categories on both sides of every threshold, every system (criteria.md §6, §7, §10)."""

from __future__ import annotations

import pandas as pd
import pytest

from remission.derive.criteria.response import assess_response, summarise_response
from tests.test_criteria_common import daily_from

SYSTEMS = ("eln2022", "eln2017", "iwg2003", "nccn_all", "blinatumomab_trials")


def marrow(bm, anc, plt, day=28, baseline=60, **extra):
    rows = [("P1", -5, "marrow_blasts", baseline), ("P1", day, "marrow_blasts", bm),
            ("P1", day, "anc", anc), ("P1", day, "platelets", plt)]
    rows += [("P1", day, k, v) for k, v in extra.items()]
    return daily_from(rows)


# (case, marrow blasts, ANC, PLT, extra, expected per SYSTEMS order)
CASES = [
    ("full recovery", 1, 2.0, 150, {}, ("CR", "CR", "CR", "CR", "CR")),
    ("ANC exactly 1.0 (§10: ELN yes, IWG/NCCN/blina no)", 1, 1.0, 150, {},
     ("CR", "CR", "CRi", "CRi", "CRh*")),
    ("ANC 1.01", 1, 1.01, 150, {}, ("CR", "CR", "CR", "CR", "CR")),
    ("ANC 0.99", 1, 0.99, 150, {}, ("CRh", "CRi", "CRi", "CRi", "CRh*")),
    ("PLT exactly 100 (§10)", 1, 2.0, 100, {}, ("CR", "CR", "CRi", "CRi", "CRh*")),
    ("PLT 100.5", 1, 2.0, 100.5, {}, ("CR", "CR", "CR", "CR", "CR")),
    ("PLT 99", 1, 2.0, 99, {}, ("CRh", "CRi", "CRi", "CRi", "CRh*")),
    ("ANC exactly 0.5 (§10: ELN CRh yes, blina CRh* no)", 1, 0.5, 60, {},
     ("CRh", "MLFS", "MLFS", "CRi", "NR")),
    ("ANC 0.51", 1, 0.51, 60, {}, ("CRh", "MLFS", "MLFS", "CRi", "CRh*")),
    ("ANC 0.49", 1, 0.49, 60, {}, ("MLFS", "MLFS", "MLFS", "CRi", "NR")),
    ("PLT exactly 50", 1, 0.8, 50, {}, ("CRh", "MLFS", "MLFS", "CRi", "NR")),
    ("PLT 49", 1, 0.8, 49, {}, ("MLFS", "MLFS", "MLFS", "CRi", "NR")),
    ("PLT 51 ANC 0.8", 1, 0.8, 51, {}, ("CRh", "MLFS", "MLFS", "CRi", "CRh*")),
    ("one lineage (ANC ok, PLT 40)", 1, 1.5, 40, {}, ("CRi", "CRi", "CRi", "CRi", "CRi")),
    ("blasts 4.9 %", 4.9, 2.0, 150, {}, ("CR", "CR", "CR", "CR", "CR")),
    ("blasts exactly 5 % (blina <=5 CR; PR by 50 % drop)", 5, 2.0, 150, {},
     ("PR", "PR", "PR", "NR", "CR")),
    ("blasts 5.1 %", 5.1, 2.0, 150, {}, ("PR", "PR", "PR", "NR", "NR")),
    ("blasts 25 % = 50 % of 50", 25, 2.0, 150, {"baseline": 50}, ("PR", "PR", "PR", "NR", "NR")),
    ("blasts 25.5 %", 25.5, 2.0, 150, {"baseline": 60}, ("NR", "NR", "NR", "NR", "NR")),
    ("blasts 20 %, only 33 % drop", 20, 2.0, 150, {"baseline": 30},
     ("NR", "NR", "NR", "NR", "NR")),
    ("PR needs count recovery", 15, 0.9, 150, {}, ("NR", "NR", "NR", "NR", "NR")),
    ("circulating blasts", 1, 2.0, 150, {"peripheral_blasts": 1},
     ("NR", "NR", "NR", "NR", "NR")),
    ("extramedullary disease", 1, 2.0, 150, {"extramedullary_disease": "yes"},
     ("NR", "NR", "NR", "NR", "NR")),
    ("Auer rods (ELN 2017 / IWG exclude)", 1, 2.0, 150, {"auer_rods": "yes"},
     ("CR", "NR", "NR", "CR", "CR")),
    ("RBC transfusion (IWG transfusion independence)", 1, 2.0, 150, {"rbc_transfusion": "yes"},
     ("CR", "CR", "CRi", "CR", "CR")),
    ("aplastic marrow", 0.5, 0.1, 5, {"marrow_spicules": "no", "marrow_cellularity": 5,
                                      "marrow_cells_counted": 80},
     ("NE", "NE", "NE", "CRi", "NR")),
    ("hypocellular but >= 200 cells counted", 0.5, 0.1, 5,
     {"marrow_cellularity": 5, "marrow_cells_counted": 200},
     ("MLFS", "MLFS", "MLFS", "CRi", "NR")),
]


@pytest.mark.parametrize("case,bm,anc,plt,extra,expected", CASES, ids=[c[0] for c in CASES])
def test_response_category(case, bm, anc, plt, extra, expected):
    extra = dict(extra)
    baseline = extra.pop("baseline", 60)
    d = marrow(bm, anc, plt, baseline=baseline, **extra)
    for system, exp in zip(SYSTEMS, expected, strict=True):
        out = assess_response(d, system)
        assert out["response"].iat[0] == exp, system
        assert out["system"].iat[0] == system


@pytest.mark.parametrize("mrd,aml_neg,all_neg", [
    (0.0999, True, False), (0.1, False, False), (0.0099, True, True), (0.01, True, False),
])
def test_mrd_thresholds(mrd, aml_neg, all_neg):
    d = marrow(1, 2.0, 150, mrd=mrd)
    e22 = assess_response(d, "eln2022")
    assert bool(e22["mrd_negative"].iat[0]) == aml_neg
    assert e22["response_mrd"].iat[0] == ("CR_MRD-" if aml_neg else "CR")
    nccn = assess_response(d, "nccn_all")
    assert nccn["response_mrd"].iat[0] == ("CR_MRD-" if all_neg else "CR")
    assert assess_response(d, "iwg2003")["response_mrd"].iat[0] == "CR"  # no MRD category


def test_mrd_tag_per_system():
    d = marrow(1, 0.7, 60, mrd=0.001)  # CRh / CRh* with MRD negative
    assert assess_response(d, "eln2022")["response_mrd"].iat[0] == "CRh_MRD-"
    assert assess_response(d, "eln2017")["response_mrd"].iat[0] == "MLFS"
    assert assess_response(d, "blinatumomab_trials")["response_mrd"].iat[0] == "CRh*_MRD-"
    status = marrow(1, 2.0, 150, mrd_status="negative")
    assert assess_response(status, "eln2022")["response_mrd"].iat[0] == "CR_MRD-"
    custom = assess_response(marrow(1, 2.0, 150, mrd=0.05), "eln2022", mrd_threshold_pct=0.01)
    assert custom["response_mrd"].iat[0] == "CR"


def test_counts_taken_from_nearest_day_within_window():
    rows = [("P1", 28, "marrow_blasts", 1), ("P1", 25, "anc", 2.0), ("P1", 25, "platelets", 150),
            ("P1", 30, "anc", 0.3), ("P1", 30, "platelets", 20)]
    d = daily_from(rows)
    assert assess_response(d, "eln2022")["response"].iat[0] == "MLFS"  # day 30 is nearer
    assert assess_response(d, "eln2022", window=1)["response"].iat[0] == "MLFS"  # no counts
    rows[3:] = []
    assert assess_response(daily_from(rows), "eln2022")["response"].iat[0] == "CR"
    assert assess_response(daily_from(rows), "eln2022", window=2)["response"].iat[0] == "MLFS"


def test_best_landmark_and_relapse():
    rows = [("P1", -5, "marrow_blasts", 60),
            ("P1", 14, "marrow_blasts", 30), ("P1", 14, "anc", 0.5), ("P1", 14, "platelets", 40),
            ("P1", 28, "marrow_blasts", 1), ("P1", 28, "anc", 2.0), ("P1", 28, "platelets", 150),
            ("P1", 60, "peripheral_blasts", 2), ("P1", 66, "peripheral_blasts", 3),
            ("P1", 90, "marrow_blasts", 40),
            ("P2", -5, "marrow_blasts", 60),
            ("P2", 28, "marrow_blasts", 2), ("P2", 28, "anc", 2.0), ("P2", 28, "platelets", 150),
            ("P2", 50, "peripheral_blasts", 2), ("P2", 57, "peripheral_blasts", 3)]
    d = daily_from(rows)
    a = assess_response(d, "eln2022")
    s = summarise_response(a, d, landmark_day=21, patients=["P1", "P2", "P3"]).set_index(
        "patient_id")
    assert s.loc["P1", "best_response"] == "CR" and s.loc["P1", "best_response_day"] == 28
    assert s.loc["P1", "landmark_response"] == "NR"
    # circulating blasts 6 days apart are not confirmed; the day-90 marrow is the relapse
    assert s.loc["P1", "relapse_day"] == 90 and s.loc["P1", "relapse_type"] == "marrow blasts"
    # circulating blasts 7 days apart: relapse dated at the first sample
    assert s.loc["P2", "relapse_day"] == 50
    assert s.loc["P2", "relapse_type"] == "circulating blasts"
    assert s.loc["P2", "landmark_response"] == "NE"
    assert s.loc["P3", "best_response"] == "NE"  # never assessed
    assert set(s["system"]) == {"eln2022"}


def test_mrd_relapse_option():
    rows = [("P1", -5, "marrow_blasts", 60), ("P1", 28, "marrow_blasts", 1),
            ("P1", 28, "anc", 2.0), ("P1", 28, "platelets", 150), ("P1", 28, "mrd", 0.05),
            ("P1", 56, "mrd", 0.2), ("P1", 70, "mrd", 0.05), ("P1", 84, "mrd", 0.1),
            ("P1", 98, "mrd", 0.3)]
    d = daily_from(rows)
    a = assess_response(d, "eln2022")
    off = summarise_response(a, d).set_index("patient_id")
    assert pd.isna(off.loc["P1", "relapse_day"])
    on = summarise_response(a, d, mrd_relapse=True).set_index("patient_id")
    # day 56 positive but day 70 negative: not confirmed; 84 (0.1 = threshold) and 98 are
    assert on.loc["P1", "relapse_day"] == 84 and on.loc["P1", "relapse_type"] == "MRD"


# ---- MRD assay and sensitivity (issue 10). ELN MRD working party (Heuser et al., Blood
# 2021;138:2753): MFC-MRD positivity threshold 0.1 %; qPCR MRD negative = no amplification
# (not detected). B-ALL (NCCN; blinatumomab trials): MRD negative < 1e-4 (0.01 %);
# paediatric consensus (PMC8824253): a negative result from an assay with insufficient
# sensitivity is not MRD-negative (minimum sensitivity 0.01 %).
def _mrd_day(mrd, assay=None, sens=None, blasts=2):
    rows = [("P1", 28, "marrow_blasts", blasts), ("P1", 28, "anc", 2.0),
            ("P1", 28, "platelets", 150), ("P1", 28, "mrd", mrd)]
    if assay:
        rows.append(("P1", 28, "mrd_assay", assay))
    if sens is not None:
        rows.append(("P1", 28, "mrd_sensitivity", sens, "%"))
    return daily_from(rows)


@pytest.mark.parametrize("mrd,assay,sens,system,expected", [
    (0.05, "mfc", 0.01, "eln2022", "CR_MRD-"),   # MFC < 0.1 %
    (0.1, "mfc", 0.01, "eln2022", "CR"),         # 0.1 % is not < 0.1 %
    (0.05, "qpcr", 0.001, "eln2022", "CR"),      # qPCR detected: not negative in AML
    (0.0, "qpcr", 0.001, "eln2022", "CR_MRD-"),  # qPCR not detected
    (0.0005, "qpcr", 0.001, "eln2022", "CR_MRD-"),  # below the assay's limit
    (0.005, "mfc", 0.01, "nccn_all", "CR_MRD-"),  # ALL 1e-4, assay reaches it
    (0.0, "mfc", 0.1, "nccn_all", "CR"),          # MFC at 0.1 % cannot show < 0.01 %
    (0.05, None, None, "eln2022", "CR_MRD-"),     # no assay recorded: system default
])
def test_mrd_negative_threshold_follows_the_assay(mrd, assay, sens, system, expected):
    r = assess_response(_mrd_day(mrd, assay, sens), system)
    assert r["response_mrd"].iat[0] == expected
    if assay == "mfc" and sens == 0.1 and system == "nccn_all":
        assert pd.isna(r["mrd_negative"].iat[0])
        assert "cannot show MRD < 0.01 %" in r["rule"].iat[0]
    if assay:
        assert r["mrd_assay"].iat[0] == assay


def test_no_assessment_at_all_is_ne_for_every_treated_patient():
    """ELN 2022 (Döhner H et al., Blood 2022;140:1345; criteria.md §6a): "Non-evaluable |
    no adequate marrow assessment (early death, withdrawal, suboptimal sample)" is a
    response category, so a treated patient without any marrow assessment is NE in the
    response table, whether or not other patients were assessed (it used to be left out
    when nobody had an assessment, and the web showed "not assessed")."""
    from remission.derive.criteria import grade_all
    from remission.vocab.vocabulary import normalise_observations
    from tests.test_criteria_common import obs_frame

    # one patient assessed, one not: the unassessed one is NE (unchanged behaviour)
    d = daily_from([("P1", 28, "marrow_blasts", 2), ("P1", 28, "anc", 2.0),
                    ("P1", 28, "platelets", 150), ("P2", 3, "anc", 0.2)])
    both = summarise_response(assess_response(d, "eln2022"), d, 28,
                              patients=["P1", "P2"]).set_index("patient_id")
    assert both["best_response"].to_dict() == {"P1": "CR", "P2": "NE"}
    # nobody assessed: still one NE row per patient, same columns, the system named
    d2 = daily_from([("P2", 3, "anc", 0.2), ("P3", 1, "temperature", 38.5)])
    a2 = assess_response(d2, "eln2022")
    assert a2.empty
    none = summarise_response(a2, d2, 28, patients=["P2", "P3"], system="eln2022")
    assert list(none.columns) == list(both.reset_index().columns)
    assert none["best_response"].tolist() == ["NE", "NE"]
    assert none["landmark_response"].tolist() == ["NE", "NE"]
    assert none["best_response_day"].isna().all() and none["relapse_day"].isna().all()
    assert set(none["system"]) == {"eln2022"}
    with pytest.raises(ValueError, match="system"):  # NE under which system? never guessed
        summarise_response(a2, d2, 28, patients=["P2"])
    assert summarise_response(a2, d2, 28).empty  # no patients listed: no rows
    # through grade_all (the report's derivation): every patient of patients.csv is NE
    obs = normalise_observations(obs_frame([("P2", 3, "anc", 0.2),
                                            ("P3", 1, "temperature", 38.5)]))
    pts = pd.DataFrame({"patient_id": ["P2", "P3", "P4"]})
    out = grade_all(obs, patients=pts, response="nccn_all", landmark_day=28)
    r = out["response"].set_index("patient_id")
    assert r["best_response"].to_dict() == {"P2": "NE", "P3": "NE", "P4": "NE"}
    assert set(r["system"]) == {"nccn_all"}
