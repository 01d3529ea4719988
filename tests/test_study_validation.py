"""Malformed study folders: every problem reported at once, naming file, line, column, value."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from remission.errors import InputError, Problem
from remission.study import load_study
from tests.problems import find


def edit_csv(path: Path, line: int, column: str, value: str) -> None:
    """Set ``column`` on file line ``line`` (header = line 1)."""
    rows = list(csv.DictReader(path.open()))
    rows[line - 2][column] = value
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def problems(folder: Path) -> list[Problem]:
    with pytest.raises(InputError) as exc:
        load_study(folder)
    return exc.value.problems


def test_example_is_valid(study_dir: Path) -> None:
    s = load_study(study_dir)
    assert s.n == 12
    assert s.patients["age"].tolist()[:3] == [10.0, 17.0, 31.0]
    assert int(s.patients["crs_grade"].iloc[3]) == 4


def test_missing_required_column(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    df = pd.read_csv(p, dtype=str).rename(columns={"patient_id": "pid"})
    df.to_csv(p, index=False)
    pr = find(problems(study_dir), file="patients.csv", column="patient_id")
    assert "required column is missing" in pr.message


def test_duplicate_patient_ids(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 4, "patient_id", "1")
    pr = find(problems(study_dir), file="patients.csv", row=4, column="patient_id")
    assert "duplicate" in pr.message and "line 2" in pr.message and pr.value == "1"


def test_unknown_patient_in_long_table(study_dir: Path) -> None:
    edit_csv(study_dir / "events.csv", 3, "patient_id", "99")
    pr = find(problems(study_dir), file="events.csv", row=3, column="patient_id")
    assert pr.value == "99" and "not found in patients.csv" in pr.message


def test_wrong_type(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 5, "age", "forty")
    pr = find(problems(study_dir), file="patients.csv", row=5, column="age")
    assert pr.value == "forty" and "number" in (pr.expected or "")


def test_age_out_of_range(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 2, "age", "150")
    pr = find(problems(study_dir), file="patients.csv", row=2, column="age")
    assert "out of range" in pr.message and "0 to 120" in (pr.expected or "")


def test_percentage_out_of_range(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 7, "baseline_burden_pct", "120")
    pr = find(problems(study_dir), file="patients.csv", row=7, column="baseline_burden_pct")
    assert pr.value == "120"


def test_grade_beyond_grading_system(study_dir: Path) -> None:
    # study.toml grades neurotoxicity by CRES (CARTOX 2018), whose highest grade is 4
    edit_csv(study_dir / "patients.csv", 3, "cres_grade", "5")
    pr = find(problems(study_dir), file="patients.csv", row=3, column="cres_grade")
    assert "cres_cartox2018" in pr.message and pr.expected == "0-4"


def test_recorded_icans_bounded_by_icans_not_by_configured_cres(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    df["icans_grade"] = "0"
    df.loc[3, "icans_grade"] = "5"  # ICANS has a grade 5 (death), CRES does not
    df.to_csv(p, index=False)
    assert load_study(study_dir).patients["icans_grade"].max() == 5
    df.loc[3, "icans_grade"] = "6"
    df.to_csv(p, index=False)
    pr = find(problems(study_dir), file="patients.csv", row=5, column="icans_grade")
    assert pr.value == "6"


def test_unknown_sex_category(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 6, "sex", "X")
    pr = find(problems(study_dir), file="patients.csv", row=6, column="sex")
    assert pr.value == "X" and "M, F" in (pr.expected or "")


def test_unknown_response_category(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 9, "best_response", "Excellent")
    pr = find(problems(study_dir), file="patients.csv", row=9, column="best_response")
    assert "MRD-CR" in (pr.expected or "")


def test_unknown_ctcae_term(study_dir: Path) -> None:
    (study_dir / "adverse_events.csv").write_text(
        "patient_id,term,grade,onset_day\n1,Anemia,3,5\n2,dedma,2,7\n")
    pr = find(problems(study_dir), file="adverse_events.csv", row=3, column="term")
    assert pr.value == "dedma" and "CTCAE v5.0" in pr.message


def test_ctcae_grade_not_defined_for_term(study_dir: Path) -> None:
    (study_dir / "adverse_events.csv").write_text(
        "patient_id,term,grade,onset_day\n1,Fatigue,4,5\n2,Hypoxia,1,3\n3,Anemia,3,2\n")
    probs = problems(study_dir)
    assert find(probs, file="adverse_events.csv", row=2, column="grade").expected == "grades 1-3"
    assert find(probs, file="adverse_events.csv", row=3, column="grade").expected == "grades 2-5"
    assert not [p for p in probs if p.row == 4]


def test_response_after_death(study_dir: Path) -> None:
    with (study_dir / "events.csv").open("a") as fh:
        fh.write("1,40,response_assessment,MRD-CR,late\n")
    pr = find(problems(study_dir), file="events.csv", row=18, column="day")
    assert "after death on day 26" in pr.message


def test_unit_mismatch_dose_in_millions(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 2, "cart_dose_per_kg", "1.5")
    probs = problems(study_dir)
    pr = find(probs, file="patients.csv", row=2, column="cart_dose_per_kg",
              message="unit mismatch: dose looks like millions of cells per kg")
    assert "1.5e6" in (pr.expected or "")


def test_unit_mismatch_fraction_not_percent(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    df = pd.read_csv(p, dtype=str)
    df["transduction_pct"] = (df["transduction_pct"].astype(float) / 100).astype(str)
    df.to_csv(p, index=False)
    pr = find(problems(study_dir), file="patients.csv", column="transduction_pct")
    assert "fractions" in pr.message


def test_empty_file(study_dir: Path) -> None:
    (study_dir / "events.csv").write_text("")
    pr = find(problems(study_dir), file="events.csv")
    assert pr.message == "file is empty"


def test_header_only_file(study_dir: Path) -> None:
    (study_dir / "events.csv").write_text("patient_id,day,event\n")
    assert "no data rows" in find(problems(study_dir), file="events.csv").message


def test_wrong_delimiter(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    pd.read_csv(p, dtype=str).to_csv(p, index=False, sep=";")
    pr = find(problems(study_dir), file="patients.csv", row=1)
    assert "semicolons" in pr.message


def test_wrong_encoding(study_dir: Path) -> None:
    p = study_dir / "events.csv"
    p.write_bytes(p.read_bytes().replace(b"text of the paper", "r\xe9sum\xe9".encode("latin-1")))
    pr = find(problems(study_dir), file="events.csv")
    assert "not UTF-8" in pr.message and pr.row == 14


def test_ragged_row(study_dir: Path) -> None:
    with (study_dir / "events.csv").open("a") as fh:
        fh.write("3,20,death\n")
    pr = find(problems(study_dir), file="events.csv", row=18)
    assert "3 fields" in pr.message and "5" in pr.message


def test_malformed_toml(study_dir: Path) -> None:
    p = study_dir / "study.toml"
    p.write_text(p.read_text().replace('disease = "AML"', 'disease = "AML'))
    pr = find(problems(study_dir), file="study.toml")
    assert "malformed TOML" in pr.message and pr.row == 5


def test_unknown_toml_key_and_criteria(study_dir: Path) -> None:
    p = study_dir / "study.toml"
    p.write_text(p.read_text().replace('crs = "lee2014"', 'crs = "lee2015"\ncrs_sytem = "x"'))
    probs = problems(study_dir)
    assert find(probs, file="study.toml", column="criteria.crs").value == "lee2015"
    assert find(probs, file="study.toml", column="criteria.crs_sytem").message == "unknown key"


def test_cohort_value_matches_no_level(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 10, "cart_dose_per_kg", "2e6")
    pr = find(problems(study_dir), file="patients.csv", row=10, column="cart_dose_per_kg")
    assert pr.value == 2e6 and "500000" in (pr.expected or "")


def test_all_problems_reported_at_once(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 2, "age", "-1")
    edit_csv(study_dir / "patients.csv", 3, "sex", "?")
    edit_csv(study_dir / "events.csv", 2, "event", "cured")
    (study_dir / "adverse_events.csv").write_text("patient_id,term,grade,onset_day\n77,Fever,9,1\n")
    probs = problems(study_dir)
    files = {p.file for p in probs}
    assert {"patients.csv", "events.csv", "adverse_events.csv"} <= files
    assert len(probs) >= 5


def test_excel_workbook_accepted_and_errors_name_the_sheet(study_dir: Path) -> None:
    df = pd.read_csv(study_dir / "patients.csv", dtype=str, keep_default_na=False)
    (study_dir / "patients.csv").unlink()
    df.loc[2, "age"] = "old"
    with pd.ExcelWriter(study_dir / "study.xlsx", engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name="patients", index=False)
    pr = find(problems(study_dir), file="study.xlsx[patients]", row=4, column="age")
    assert pr.value == "old"
    df.loc[2, "age"] = "31"
    with pd.ExcelWriter(study_dir / "study.xlsx", engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name="patients", index=False)
    assert load_study(study_dir).n == 12


def test_dates_converted_with_anchor(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    df["infusion_date"] = "2022-03-01"
    df.loc[0, "death_day"] = "2022-03-27"
    df.to_csv(p, index=False)
    t = study_dir / "study.toml"
    t.write_text(t.read_text().replace('day0 = ', 'anchor_date_column = "infusion_date"\nday0 = '))
    s = load_study(study_dir)
    assert int(s.patients["death_day"].iloc[0]) == 26


def test_cli_validate_exit_code_and_no_traceback(study_dir: Path) -> None:
    edit_csv(study_dir / "patients.csv", 2, "age", "abc")
    proc = subprocess.run([sys.executable, "-m", "remission.cli", "validate", str(study_dir)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "patients.csv, line 2, column 'age'" in proc.stderr


def test_cli_validate_ok(study_dir: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "remission.cli", "validate", str(study_dir)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "valid — 12 patients" in proc.stdout
