"""A virtual patient who dies before the infusion has no CRS or ICANS grade.

Seed 0's VEN-000097 (seed000 design) dies on day 0, before any bedside assessment. The
report derives its CRS and ICANS as not evaluable (NA: "no CRS observations",
``remission.analyses.raw.systems.not_evaluable``), so the simulator must record NA too,
not grade 0; and the calibration's CRS/ICANS rates count evaluable patients only, as the
seed studies did (seed 002, Zhang M et al. Front Immunol 2025;15:1491341: "2 patients
withdrew from the study due to rapid disease progression prior to CAR-T cells infusion.
The remaining 12 evaluable patients"; CRS "in all 12 patients").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from remission.sim.calibrate import TARGETS, calibration_design
from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.trial import _combine, simulate_chunk, write_study

DEAD, NEIGHBOURS = "VEN-000097", ["VEN-000096", "VEN-000098"]


@pytest.fixture(scope="module")
def trial():
    """Three patients of seed 0 (seed000 design), follow-up cut at day 28 (fast; the day-0
    death and the neighbours' grades are those of the full design)."""
    design = calibration_design(
        load_design(DESIGN_DIR / "seed000_ven_leadin_cll1_cart.toml"), horizon=28)
    return _combine([simulate_chunk(design, [(0, 95, 98)], seed=0)], design, 0)


def test_patient_dead_on_day_0_has_no_crs_or_icans_grade(trial) -> None:
    pts = trial.patients.set_index("patient_id")
    assert pts.loc[DEAD, "death_day"] == 0
    assert pts.loc[DEAD, ["crs_grade", "icans_grade"]].isna().all()
    # the neighbours were assessed every day and keep a grade (0 is a grade, not missing)
    assert pts.loc[NEIGHBOURS, ["crs_grade", "icans_grade"]].notna().all().all()
    assert pts.loc[NEIGHBOURS, "crs_grade"].tolist() == [1, 0]
    # no adverse-event row for the missing grade
    assert DEAD not in set(trial.adverse_events.query("term == 'Cytokine release syndrome'")
                           ["patient_id"])


def test_recorded_grades_equal_what_the_report_derives(trial, tmp_path: Path) -> None:
    """The written study read back as the report reads it: the report's derived CRS and
    ICANS (NA for the dead patient) equal the recorded ones, and nothing is left
    uncompared."""
    from remission.pipeline import analyse
    from remission.study import load_study

    folder = write_study(trial, tmp_path / "s")
    text = (folder / "patients.csv").read_text().splitlines()
    row = next(r for r in text if r.startswith(DEAD))
    head = text[0].split(",")
    cells = dict(zip(head, row.split(","), strict=True))
    assert cells["crs_grade"] == "" and cells["icans_grade"] == ""
    res = analyse(load_study(folder), figures=False).results
    rec = trial.patients.set_index("patient_id")
    for name, col, rcol in (("derived.crs", "crs_max_grade", "crs_grade"),
                            ("derived.neurotox", "icans_max_grade", "icans_grade")):
        derived = res[name].table[col]
        pd.testing.assert_series_equal(derived.astype("Int64"), rec[rcol].astype("Int64"),
                                       check_names=False, check_index_type=False)
    audit = res["audit.recorded_vs_derived"]
    assert audit.params["n_disagree"] == 0
    assert not [w for w in audit.warnings if "not compared" in w]
    assert audit.params["compared"]["crs_grade"]["n_compared"] == 2


def test_calibration_crs_and_icans_rates_count_evaluable_patients_only(trial) -> None:
    """CRS any grade among the evaluable: 1 of 2 (not 1 of 3); ICANS 0 of 2; grade >= 3
    CRS 0 of 2. A table with nobody evaluable has no rate (NaN), not 0."""
    by = {t.key: t.metric for t in TARGETS}
    pts = trial.patients
    assert by["002.crs_any"](pts) == 0.5
    assert by["002.icans_any"](pts) == 0.0
    assert by["002.crs_ge3"](pts) == 0.0
    dead_only = pts[pts["patient_id"] == DEAD]
    assert pd.isna(by["004.crs_ge2"](dead_only))
