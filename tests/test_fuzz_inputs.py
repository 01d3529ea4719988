"""Fuzz: a few hundred malformed study folders (seeded), the contract of issue 11 on each.

Zero internal errors, zero partial writes, every problem with its file (and its line when it
points inside a file), and ``validate`` success => ``report`` success. The generator and
the checks are in ``tests/fuzz_folders.py``; ``benchmarks/bench_fuzz.py`` runs thousands.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.fuzz_folders import check_folder, make_folder, make_raw_base

N_FOLDERS = 200
BATCH = 25


@pytest.mark.parametrize("start", range(0, N_FOLDERS, BATCH))
def test_fuzzed_folders_keep_the_contract(tmp_path: Path, start: int) -> None:
    failures = []
    kinds = set()
    for seed in range(start, start + BATCH):
        folder = tmp_path / f"study{seed}"
        muts = make_folder(folder, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings are checked elsewhere; here: outcomes
            out = check_folder(folder, tmp_path / f"out{seed}" / "report", muts,
                               figures=seed % 5 == 0)
        kinds.add(out.validate)
        if out.violations:
            failures.append(f"seed {seed} {muts}:\n  " + "\n  ".join(out.violations))
    assert not failures, "\n".join(failures)
    assert "input" in kinds  # the generator does produce malformed folders


def test_checker_catches_a_contract_breach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    """The checks can fail: a report that crashes after validate passed is caught."""
    import remission.pipeline as pipeline

    folder = tmp_path / "study"
    make_folder(folder, 10**6)  # whatever the mutation: force the contract breach below
    monkeypatch.setattr(pipeline, "validate_folder", lambda f: "valid")

    def broken(*a: object, **k: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(pipeline, "bundle_for", broken)
    out = check_folder(folder, tmp_path / "out" / "report", ["forced"])
    assert any("validate passed but report ended 'internal'" in v for v in out.violations)


#: Raw-data folders (bedside observations mutated) in the suite: each costs about a second
#: when validate refuses it and about ten when it is valid (the raw pipeline runs twice),
#: so the suite runs a dozen; ``bench_fuzz.py`` runs one folder in ten from this base.
N_RAW = 12


def test_fuzzed_raw_observation_folders_keep_the_contract(tmp_path: Path) -> None:
    base = make_raw_base(tmp_path / "raw-base")
    failures, muts_seen = [], []
    for seed in range(N_RAW):
        folder = tmp_path / f"raw{seed}"
        muts = make_folder(folder, seed, base=base)
        muts_seen += muts
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = check_folder(folder, tmp_path / f"rawout{seed}" / "report", muts,
                               figures=False)
        if out.violations:
            failures.append(f"seed {seed} {muts}:\n  " + "\n  ".join(out.violations))
    assert not failures, "\n".join(failures)
    assert sum(m.startswith("observations.csv") for m in muts_seen) >= N_RAW // 2
