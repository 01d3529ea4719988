"""The main job end to end: `remission report` on a study folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_study_validation import edit_csv


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "remission.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_report_writes_three_files_and_is_reproducible(study_dir: Path, tmp_path: Path) -> None:
    out1, out2 = tmp_path / "r1", tmp_path / "r2"
    p1 = run_cli("report", str(study_dir), "--out", str(out1))
    assert p1.returncode == 0, p1.stderr
    assert {p.name for p in out1.iterdir()} == {"report.html", "results.json", "tables.docx"}
    assert str(out1 / "report.html") in p1.stdout
    assert run_cli("report", str(study_dir), "--out", str(out2)).returncode == 0
    for name in ("report.html", "results.json", "tables.docx"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    data = json.loads((out1 / "results.json").read_text())
    names = {r["name"] for r in data["results"]}
    assert {"baseline.continuous", "response.rates", "safety.crs", "audit.claims",
            "audit.consistency"} <= names
    html = (out1 / "report.html").read_text()
    assert "disagrees" in html and "Fatigue" in html
    assert "Clopper" in html  # the methods paragraph names the CI method


def test_bad_input_writes_nothing(study_dir: Path, tmp_path: Path) -> None:
    edit_csv(study_dir / "patients.csv", 3, "age", "young")
    out = tmp_path / "report"
    proc = run_cli("report", str(study_dir), "--out", str(out))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "line 3, column 'age'" in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_existing_report_untouched_on_failure(study_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert run_cli("report", str(study_dir), "--out", str(out)).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    edit_csv(study_dir / "patients.csv", 2, "sex", "unknown-code")
    assert run_cli("report", str(study_dir), "--out", str(out)).returncode == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]


def test_audit_command_lists_disagreements(study_dir: Path) -> None:
    proc = run_cli("audit", str(study_dir))
    assert proc.returncode == 0, proc.stderr
    assert "[disagrees] res.burden_median" in proc.stdout
    assert "[agrees]" not in proc.stdout
    assert "[agrees] res.age_median" in run_cli("audit", str(study_dir), "--all").stdout


def test_aggregate_only_folder_gets_an_evidence_report(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "ev"
    proc = run_cli("report", str(root / "examples" / "seed003-blina-ven"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "results.json").read_text())
    joint = [r for r in data["results"] if r["title"].startswith("Joint reconstruction")]
    assert joint and joint[0]["rows"][0]["row"] == "n1=6, n2=9"
    assert all(r["section"] == "audit" for r in data["results"])
    audit = run_cli("audit", str(root / "examples" / "seed000-ven-cll1"))
    assert audit.returncode == 0 and "26/33 vs 20/30" in audit.stdout


def test_study_claims_with_comparisons_are_reconstructed(study_dir: Path) -> None:
    with (study_dir / "claims.toml").open("a") as fh:
        fh.write('\n[[comparison]]\nlabel = "test comparison"\npct1 = "75.0"\npct2 = "100"\n'
                 'n1 = 4\nn2 = 5\nsource = "made up for the test"\n')
    from remission.pipeline import build_bundle

    _, bundle = build_bundle(study_dir, figures=False)
    titles = [r.title for r in bundle.results.by_section("audit")]
    assert any("test comparison" in t for t in titles)


def test_lab_report_cli_and_study_lab_section(tmp_path: Path, study_dir: Path) -> None:
    import shutil

    root = Path(__file__).resolve().parents[1]
    lab = tmp_path / "lab"
    lab.mkdir()
    src = root / "examples" / "synthetic-lab"
    shutil.copy(src / "doseresponse.csv", lab)
    toml = (src / "lab.toml").read_text()
    (lab / "lab.toml").write_text(toml.split("[qpcr]")[0])  # dose-response only: fast
    proc = run_cli("lab", "report", str(lab), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "lab.doseresponse.fits" in {r["name"] for r in data["results"]}
    shutil.copytree(lab, study_dir / "lab")
    assert run_cli("report", str(study_dir), "--out", str(tmp_path / "s")).returncode == 0
    names = {r["name"] for r in json.loads((tmp_path / "s" / "results.json").read_text())[
        "results"]}
    assert {"lab.doseresponse.fits", "response.rates"} <= names


def test_simulated_trial_flows_through_validate_and_report(tmp_path: Path) -> None:
    """remission simulate writes a study folder that validate and report accept unchanged."""
    root = Path(__file__).resolve().parents[1]
    design = root / "examples" / "designs" / "seed002_cll1_cart_dose_groups.toml"
    study = tmp_path / "sim"
    proc = run_cli("simulate", str(design), "--out", str(study), "--n", "6", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    assert run_cli("validate", str(study)).returncode == 0
    rep = run_cli("report", str(study), "--out", str(tmp_path / "r"))
    assert rep.returncode == 0, rep.stderr
    names = {r["name"] for r in json.loads((tmp_path / "r" / "results.json").read_text())[
        "results"]}
    assert {"response.rates", "survival.os.km", "derived.crs"} <= names
    assert "SIMULATED" in (tmp_path / "r" / "report.html").read_text()
