"""Issue 11: robust from the first command.

Each test names the failure it guards against; each failed on the code before the fix
(checked by running this file against the parent commit).
"""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from remission.errors import InputError, Problem
from remission.pipeline import bundle_for, folder_kind, validate_folder
from remission.study import load_study
from tests.problems import find

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "remission.cli", *args], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
                                          "PYTHONPATH": str(ROOT / "src")}, timeout=300)


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(InputError) as exc:
        validate_folder(folder)
    return exc.value.problems


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    rows = list(csv.reader(path.open(newline="")))
    rows[line - 1][rows[0].index(column)] = value
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def drop_column(path: Path, column: str) -> None:
    rows = list(csv.reader(path.open(newline="")))
    i = rows[0].index(column)
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([r[:i] + r[i + 1:] for r in rows])


def edit_toml(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- validate exit 0 => report succeeds -------------------------------------------------------

@pytest.mark.parametrize("column", ["crs_grade", "cres_grade"])
@pytest.mark.parametrize("value", ["", "NaN", "NA"])
def test_missing_grade_does_not_crash_report(study_dir: Path, column: str, value: str) -> None:
    """A blank or NaN grade is missing data, not an error: figures and tables are drawn."""
    set_cell(study_dir / "patients.csv", 2, column, value)
    validate_folder(study_dir)
    bundle = bundle_for(study_dir, figures=True)
    assert any(f.name == "fig.lanes" for f in bundle.figures)


def test_missing_icans_grade_does_not_crash_report(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    rows = list(csv.reader(p.open(newline="")))
    rows[0][rows[0].index("cres_grade")] = "icans_grade"
    rows[3][rows[0].index("icans_grade")] = ""
    with p.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    edit_toml(study_dir / "study.toml", 'neurotoxicity = "cres_cartox2018"',
              'neurotoxicity = "icans_astct2019"')
    (study_dir / "claims.toml").write_text("", encoding="utf-8")
    validate_folder(study_dir)
    assert bundle_for(study_dir, figures=True).figures


def test_spearman_on_constant_or_tiny_input_is_nan_not_a_crash() -> None:
    """R: cor.test(c(1,2,3), c(0,0,0), method="spearman") gives NA (sd is zero)."""
    from remission.kinetics.associations import spearman_test

    rho, p, n, how = spearman_test([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0])
    assert math.isnan(rho) and math.isnan(p) and n == 4 and "not computable" in how
    rho, p, n, _ = spearman_test([1.0, 2.0], [2.0, 1.0])
    assert math.isnan(p) and n == 2
    rho, p, n, _ = spearman_test([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0])  # still computed
    assert rho == pytest.approx(0.8) and 0 < p <= 1


def test_missing_claims_file_is_found_by_validate(study_dir: Path) -> None:
    (study_dir / "claims.toml").unlink()
    pr = find(problems_of(study_dir), file="claims.toml")
    assert "missing" in pr.message


def test_malformed_claims_file_is_found_by_validate(study_dir: Path) -> None:
    with (study_dir / "claims.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[[claim\n")
    pr = find(problems_of(study_dir), file="claims.toml")
    assert "malformed TOML" in pr.message and pr.row is not None


def test_claims_of_the_wrong_type_are_found_by_validate(study_dir: Path) -> None:
    edit_toml(study_dir / "claims.toml", "reported = 12\n", 'reported = "twelve"\n')
    pr = find(problems_of(study_dir), file="claims.toml")
    assert "not a number" in pr.message and pr.row is not None


def test_claim_naming_a_dropped_column_is_found_by_validate(study_dir: Path) -> None:
    drop_column(study_dir / "patients.csv", "cns_leukemia")
    probs = problems_of(study_dir)
    pr = find(probs, file="claims.toml", column="claim res.cns_ids")
    assert "cns_leukemia" in pr.message and pr.row == 282  # the claim's [[claim]] line
    assert bundle_for(study_dir, figures=False)  # report itself no longer crashes on it


def test_folder_where_a_file_is_expected(study_dir: Path) -> None:
    (study_dir / "events.csv").unlink()
    (study_dir / "events.csv").mkdir()
    pr = find(problems_of(study_dir), file="events.csv")
    assert "folder" in pr.message
    shutil.rmtree(study_dir / "events.csv")
    (study_dir / "study.toml").unlink()
    (study_dir / "study.toml").mkdir()
    assert "folder" in find(problems_of(study_dir), file="study.toml").message


@pytest.mark.parametrize("value", ["99999999999999999999", "1e400", "1e16"])
def test_overflowing_count_is_rejected(study_dir: Path, value: str) -> None:
    set_cell(study_dir / "adverse_events_summary.csv", 2, "any_grade", value)
    find(problems_of(study_dir), file="adverse_events_summary.csv", row=2, column="any_grade")


# --- every study.toml key: type and range, with the line --------------------------------------

TOML_CASES = [
    ("assessment_day = 14", "assessment_day = true", "response.assessment_day", 28),
    ("assessment_day = 14", "assessment_day = -3", "response.assessment_day", 28),
    ("assessment_day = 14", "assessment_day = 14.5", "response.assessment_day", 28),
    ('day0 = "CLL-1 CAR-T infusion', 'day0 = 0\nx0 = "', "study.day0", 7),
    ("ordered = true", 'ordered = "no"', "cohorts.ordered", 13),
    ('responders = ["MRD-CR"', 'responders = ["MRD-CR", "remission"', "response.responders",
     29),
    ('name = "Donor', 'synthetic = "false"\nname = "Donor', "study.synthetic", 4),
    ("format = 1", "format = true", "format", 1),
    ('crs = "lee2014"', "crs = 2014", "criteria.crs", 22),
    ('claims = "claims.toml"', 'claims = "/etc/passwd"', "audit.claims", 34),
    ('label = "Dose group"', "label = 3", "cohorts.label", 11),
    ('{ name = "A", value = 5e5', '{ name = "A", value = true', "cohorts.levels[1].value", 14),
    ('{ name = "A", value = 5e5', '{ name = "A", value = nan', "cohorts.levels[1].value", 14),
    ('products = ["donor-derived CLL-1 CAR-T"]', "products = 1", "study.products", 6),
]


@pytest.mark.parametrize(("old", "new", "key", "line"), TOML_CASES)
def test_study_toml_key_type_and_range(study_dir: Path, old: str, new: str, key: str,
                                       line: int) -> None:
    edit_toml(study_dir / "study.toml", old, new)
    pr = find(problems_of(study_dir), file="study.toml", column=key)
    assert pr.row == line and pr.expected


@pytest.mark.parametrize("bad", ["-30", "inf", "nan", '"30"', "1e9", "true"])
@pytest.mark.parametrize("key", ["landmark", "landmarks"])
def test_endpoint_landmarks(tmp_path: Path, key: str, bad: str) -> None:
    dst = tmp_path / "s"
    shutil.copytree(EXAMPLES / "cll1-post-hsct", dst)
    value = f"[{bad}]" if key == "landmarks" else bad
    with (dst / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write(f"\n[endpoints.os]\n{key} = {value}\n")
    pr = find(problems_of(dst), file="study.toml", column=f"endpoints.os.{key}")
    assert pr.row == 37


@pytest.mark.parametrize(("section", "value"), [("labs", "lln = { anc = nan }"),
                                                ("labs", "lln = { anc = inf }"),
                                                ("kinetics", "lloq = { car_copies = -1 }")])
def test_lab_limits_must_be_finite_positive(study_dir: Path, section: str, value: str) -> None:
    with (study_dir / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write(f"\n[{section}]\n{value}\n")
    pr = find(problems_of(study_dir), file="study.toml")
    assert "positive" in pr.message and pr.row == 37


def test_synthetic_must_be_a_boolean_so_a_real_study_gets_no_banner(study_dir: Path) -> None:
    edit_toml(study_dir / "study.toml", 'name = "Donor', 'synthetic = false\nname = "Donor')
    assert load_study(study_dir).config.synthetic is False
    edit_toml(study_dir / "study.toml", "synthetic = false", 'synthetic = "false"')
    find(problems_of(study_dir), column="study.synthetic")


@pytest.mark.parametrize("value", ["1_0", "١٠", "１０", "0x10", "1,5"])
def test_digit_strings_python_would_accept_are_rejected(study_dir: Path, value: str) -> None:
    set_cell(study_dir / "patients.csv", 2, "age", value)
    pr = find(problems_of(study_dir), file="patients.csv", row=2, column="age")
    assert pr.value == value
    set_cell(study_dir / "patients.csv", 2, "age", "10")
    set_cell(study_dir / "patients.csv", 3, "prior_lines", value)
    find(problems_of(study_dir), file="patients.csv", row=3, column="prior_lines")


def test_utf8_bom_in_study_toml_and_claims_is_accepted(study_dir: Path) -> None:
    for name in ("study.toml", "claims.toml"):
        p = study_dir / name
        p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert validate_folder(study_dir).startswith("valid")
    assert bundle_for(study_dir, figures=False).results["audit.claims"]


def test_excel_sep_line_is_accepted_and_lines_stay_true(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    text = p.read_text(encoding="utf-8")
    p.write_text("sep=,\n" + text, encoding="utf-8")
    assert load_study(study_dir).n == 12
    p.write_text(text, encoding="utf-8")
    set_cell(p, 3, "age", "old")  # data row 2: file line 4 (sep line, header, row 1)
    p.write_text("sep=,\n" + p.read_text(encoding="utf-8"), encoding="utf-8")
    find(problems_of(study_dir), file="patients.csv", row=4, column="age")


def test_old_mac_line_endings_are_read(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    p.write_bytes(p.read_bytes().replace(b"\n", b"\r"))
    assert load_study(study_dir).n == 12


def test_stray_quote_is_reported_with_its_line(study_dir: Path) -> None:
    p = study_dir / "patients.csv"
    lines = p.read_text(encoding="utf-8").split("\n")
    lines[4] = lines[4].replace("4,", '4",', 1)  # file line 5
    p.write_text("\n".join(lines), encoding="utf-8")
    pr = find(problems_of(study_dir), file="patients.csv", row=5, column="patient_id")
    assert "quote" in pr.message
    lines[4] = lines[4].replace('4",', "4,", 1).replace(",M,", ',"M,', 1).replace(
        ",F,", ',"F,', 1)  # an opening quote that swallows the following lines
    p.write_text("\n".join(lines), encoding="utf-8")
    pr = find(problems_of(study_dir), file="patients.csv", row=5)
    assert "quote" in pr.message


def test_cohort_expression_errors_are_attributed_to_study_toml(study_dir: Path) -> None:
    edit_toml(study_dir / "study.toml", 'column = "cart_dose_per_kg"\n', "")
    edit_toml(study_dir / "study.toml",
              """levels = [
  { name = "A", value = 5e5, label = "0.5×10⁶/kg" },
  { name = "B", value = 1e6, label = "1.0×10⁶/kg" },
  { name = "C", value = 1.5e6, label = "1.5×10⁶/kg" },
]""", """levels = [
  { name = "young", when = "age < 18" },
  { name = "old", when = "no_such_column >= 18" },
]""")
    pr = find(problems_of(study_dir), column="cohorts.levels[2].when")
    assert pr.file == "study.toml" and pr.row == 13
    edit_toml(study_dir / "study.toml", "no_such_column >= 18", "age >= ")
    pr = find(problems_of(study_dir), column="cohorts.levels[2].when")
    assert pr.file == "study.toml" and pr.row == 13


def test_repeated_problems_are_grouped(study_dir: Path) -> None:
    ev = study_dir / "events.csv"
    rows = list(csv.reader(ev.open(newline="")))
    rows += [["99", str(d), "last_contact", "", ""][:len(rows[0])] for d in range(200)]
    with ev.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with pytest.raises(InputError) as exc:
        load_study(study_dir)
    text = exc.value.render()
    assert len(exc.value.problems) >= 200  # every problem kept for programs
    lines = [ln for ln in text.splitlines() if "patient_id not found" in ln]
    assert len(lines) == 1 and "lines 18-217" in lines[0], text[:500]


# --- command line ---------------------------------------------------------------------------

def test_cli_out_pointing_at_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("keep", encoding="utf-8")
    proc = run_cli("report", str(EXAMPLES / "cll1-post-hsct"), "--out", str(f))
    assert proc.returncode == 2 and "not a folder" in proc.stderr
    assert "internal error" not in proc.stderr and f.read_text(encoding="utf-8") == "keep"


@pytest.mark.parametrize("args", [["--n", "0"], ["--workers", "-1"], ["--seed", "-5"],
                                  ["--n", "ten"]])
def test_cli_simulate_bad_numbers(tmp_path: Path, args: list[str]) -> None:
    proc = run_cli("simulate", str(EXAMPLES / "designs" / "seed002_cll1_cart_dose_groups.toml"),
                   "--out", str(tmp_path / "o"), *args)
    assert proc.returncode == 2 and args[0] in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


def test_audit_fail_on_disagree_exits_3_with_summary_first() -> None:
    proc = run_cli("audit", str(EXAMPLES / "cll1-post-hsct"), "--fail-on", "disagree")
    assert proc.returncode == 3, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("audit: ") and "disagrees" in first
    assert run_cli("audit", str(EXAMPLES / "cll1-post-hsct")).returncode == 0


def test_aggregate_only_folder_is_the_same_kind_for_validate_and_audit() -> None:
    folder = EXAMPLES / "seed000-ven-cll1"
    assert folder_kind(folder) == "aggregate"
    v = run_cli("validate", str(folder))
    assert v.returncode == 0 and "aggregate-only" in v.stdout, v.stderr
    assert run_cli("audit", str(folder)).returncode == 0


def test_lab_banner_follows_lab_toml_not_folder_name(tmp_path: Path) -> None:
    from remission.pipeline import lab_bundle

    src = EXAMPLES / "synthetic-lab"
    plain = tmp_path / "plain-name"
    plain.mkdir()
    shutil.copy(src / "doseresponse.csv", plain)
    (plain / "lab.toml").write_text('[lab]\nname = "x"\nsynthetic = true\n', encoding="utf-8")
    assert lab_bundle(plain).study.synthetic is True
    named = tmp_path / "synthetic-but-real"
    shutil.copytree(plain, named)
    (named / "lab.toml").write_text('[lab]\nname = "x"\nsynthetic = false\n', encoding="utf-8")
    assert lab_bundle(named).study.synthetic is False


@pytest.mark.parametrize("cmd", [["validate"], ["report"], ["audit"], ["simulate"],
                                 ["lab", "report"]])
def test_help_has_examples(cmd: list[str]) -> None:
    from remission.cli import main

    with pytest.raises(SystemExit) as exc:
        main([*cmd, "--help"])
    assert exc.value.code == 0


def test_help_text_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from remission.cli import main

    for cmd in (["validate"], ["report"], ["audit"], ["simulate"], ["lab", "report"]):
        with pytest.raises(SystemExit):
            main([*cmd, "--help"])
        out = capsys.readouterr().out
        assert "examples:" in out and f"remission {' '.join(cmd)}" in out, cmd


# --- spreadsheet formula injection (OWASP CSV injection) ----------------------------------

@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil","click")', "+1+cmd|' /C calc'!A0",
                                  "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)", "\t=1", "\r=1",
                                  "-x", "+A1"])
def test_formula_like_text_is_neutralised(text: str) -> None:
    from remission.io.cells import neutralise

    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["-1.5", "+3", "-2.1e-5", "-0.4 (-1.2, 0.3)", "12 (50%)",
                                  "CR", "", "1e6"])
def test_numbers_and_plain_text_are_left_alone(text: str) -> None:
    from remission.io.cells import neutralise

    assert neutralise(text) == text


def test_docx_cells_neutralise_formulas(study_dir: Path) -> None:
    import io
    import zipfile

    from remission.report.word import render_docx

    payload = '=HYPERLINK("http://evil.example","x")'
    set_cell(study_dir / "patients.csv", 2, "death_cause", payload)
    xml = zipfile.ZipFile(io.BytesIO(render_docx(bundle_for(study_dir, figures=False)))).read(
        "word/document.xml").decode("utf-8")
    assert "&gt;" not in payload and "'=HYPERLINK(" in xml
    assert ">=HYPERLINK(" not in xml


def test_simulated_csv_neutralises_formulas() -> None:
    import pandas as pd

    from remission.sim.trial import _csv

    out = _csv(pd.DataFrame({"patient_id": ["=1+1", "P2"], "dose": [-1.5, 2.0]})).decode()
    assert out.splitlines() == ["patient_id,dose", "'=1+1,-1.5", "P2,2"]


def test_quoted_values_with_quotes_and_line_breaks_are_fine(study_dir: Path) -> None:
    set_cell(study_dir / "patients.csv", 2, "death_cause", 'infection,\n"severe"')
    s = load_study(study_dir)
    assert s.patients.loc[2, "death_cause"] == 'infection,\n"severe"'


# --- normal runs: no stray warnings; progress steps -----------------------------------------

def test_simulate_then_report_small_study_without_warnings(tmp_path: Path) -> None:
    """The documented simulate -> report path on a tiny study (Spearman on constant grades
    crashed it) runs clean, with Runtime/FutureWarnings turned into errors."""
    strict = ["-W", "error::RuntimeWarning", "-W", "error::FutureWarning"]
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src")}
    sim = tmp_path / "sim"
    for cmd in (["simulate", str(EXAMPLES / "designs" / "seed000_ven_leadin_cll1_cart.toml"),
                 "--out", str(sim), "--n", "3", "--workers", "0"],
                ["report", str(sim), "--out", str(tmp_path / "r1")],
                ["report", str(EXAMPLES / "cll1-post-hsct"), "--out", str(tmp_path / "r2")]):
        proc = subprocess.run([sys.executable, *strict, "-m", "remission.cli", *cmd],
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, (cmd, proc.stderr[-2000:])
        assert "Warning" not in proc.stderr, proc.stderr[-2000:]


def test_progress_steps_are_announced() -> None:
    from remission.pipeline import build_bundle
    from remission.progress import reporting

    seen: list[str] = []
    with reporting(seen.append):
        build_bundle(EXAMPLES / "cll1-post-hsct", figures=False)
    assert seen[0] == "reading the study folder" and "auditing reported numbers" in seen


def test_publication_columns_are_headed_by_cohort_labels_not_codes() -> None:
    from remission.report.html import publication_tables

    bundle = bundle_for(EXAMPLES / "cll1-post-hsct", figures=False)
    heads = [c for t in publication_tables(bundle).values() if t is not None for c in t.columns]
    assert "0.5×10⁶/kg (N = 4)" in heads and "1.5×10⁶/kg (N = 5)" in heads
    assert not any(h.startswith(("A (", "B (", "C (")) for h in heads), heads


def test_events_without_optional_value_column(study_dir: Path) -> None:
    """Found by bench_fuzz (seed 1078): dropping events.csv's optional 'value' column
    passed validate's table checks and crashed the ADSL derivation."""
    drop_column(study_dir / "events.csv", "value")
    validate_folder(study_dir)
    assert bundle_for(study_dir, figures=False)


def test_aggregate_claims_problems_have_lines(tmp_path: Path) -> None:
    """Found by bench_fuzz (seed 1099): problems in [[comparison]] tables had no line."""
    dst = tmp_path / "agg"
    shutil.copytree(EXAMPLES / "seed000-ven-cll1", dst)
    edit_toml(dst / "claims.toml", 'pct2 = "66.7"', "pct2 = -inf")
    pr = find(problems_of(dst), column="pct2")
    assert pr.row == 9  # the pct2 line of that comparison (its [[comparison]] header is 6)


def test_aggregate_claims_with_invalid_bytes(tmp_path: Path) -> None:
    """Found by bench_fuzz (seed 1729): invalid UTF-8 in an aggregate claims.toml."""
    dst = tmp_path / "agg"
    shutil.copytree(EXAMPLES / "seed000-ven-cll1", dst)
    p = dst / "claims.toml"
    p.write_bytes(p.read_bytes()[:173] + b"\xff" + p.read_bytes()[173:])
    pr = find(problems_of(dst), expected="a UTF-8 TOML file")
    assert "UTF-8" in pr.message and pr.row is not None


@pytest.mark.parametrize(("line", "value"), [
    ("x2 = 20", "[]"), ("x2 = 20", '"20"'), ("x2 = 20", "true"), ("x2 = 20", "-1"),
    ("n1 = 33", "1.5"), ("n1 = 33", "0"), ("x2 = 20", "99")])
def test_aggregate_claim_fields_of_the_wrong_type_are_problems_at_their_line(
        tmp_path: Path, line: str, value: str) -> None:
    """Fuzz find (bench_fuzz seed 159): ``x2 = []`` in an aggregate claims.toml ended in a
    TypeError inside the reconstruction; every field is now checked for its type (and x
    against n) with the line of the field."""
    dst = tmp_path / "agg"
    shutil.copytree(EXAMPLES / "seed000-ven-cll1", dst)
    claims = dst / "claims.toml"
    text = claims.read_text(encoding="utf-8")
    assert line in text
    key = line.split(" =")[0]
    claims.write_text(text.replace(line, f"{key} = {value}", 1), encoding="utf-8")
    lineno = next(i for i, ln in enumerate(claims.read_text(encoding="utf-8").splitlines(), 1)
                  if ln.startswith(f"{key} = {value}"))
    probs = problems_of(dst)
    p = find(probs, column=key)
    assert p.row == lineno and p.file.endswith("claims.toml")


def test_python_dash_m_remission_is_the_same_command_line(tmp_path: Path) -> None:
    """``python -m remission`` (no console script on PATH) runs the ``remission`` CLI:
    same version line, and bad input gives the same one-message refusal, exit 2."""
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src")}
    runs = [subprocess.run([sys.executable, "-m", mod, *args], capture_output=True, text=True,
                           env=env, timeout=300)
            for mod in ("remission", "remission.cli")
            for args in (["--version"], ["validate", str(tmp_path / "absent")])]
    assert runs[0].returncode == 0 and runs[0].stdout == runs[2].stdout != ""
    assert runs[1].returncode == runs[3].returncode == 2
    assert "study folder not found" in runs[1].stderr and runs[1].stderr == runs[3].stderr
    assert "Traceback" not in runs[1].stderr
