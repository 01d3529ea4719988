"""Patient-level HMA sensitivity: its own random stream, its distribution, its effect.

Oracles: SHA-256 digests of every file the four shipped designs (no HMA) wrote at
commit 3445f5e, before the sensitivity existed (tests/data/sim_fingerprints_non_hma.csv,
scripts/make_sim_fingerprints.py); the log-normal's stated median and CV by hand
(sigma = sqrt(log(1 + CV^2))). The VIALE-A time-to-response test that fails without the
spread is in tests/test_sim_hma.py (it shares that module's simulated trial).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.sim import load_design
from remission.sim.design import DESIGN_DIR
from remission.sim.params import PARAMETERS, typical
from remission.sim.population import (
    HMA_KEY,
    build_patients,
    hma_draws,
    hma_sensitivity,
    patient_draws,
)
from remission.sim.trial import run_trial, write_study

DATA = Path(__file__).parent / "data"
VIALE = DATA / "sim" / "viale_a_like.toml"


def test_designs_without_an_hma_write_the_same_bytes_as_before(tmp_path: Path) -> None:
    """Every file of every shipped design (none gives an HMA) at n 4, seed 0 has the
    digest it had before the HMA sensitivity existed (3445f5e). A design with an HMA
    draws from each patient's HMA stream; one without never reads it. If a change meant
    to move these patients lands (a re-fitted value), re-run
    scripts/make_sim_fingerprints.py."""
    ref = pd.read_csv(DATA / "sim_fingerprints_non_hma.csv", comment="#")
    got = []
    for f in sorted(DESIGN_DIR.glob("*.toml")):
        d = load_design(f)
        assert not d.gives_hma
        out = write_study(run_trial(d, n=4, seed=0, workers=0), tmp_path / f.stem)
        got += [(f.name, p.name, hashlib.sha256(p.read_bytes()).hexdigest())
                for p in sorted(out.iterdir())]
    want = list(ref[["design", "file", "sha256"]].itertuples(index=False, name=None))
    assert got == want, (
        "a design without an HMA wrote other bytes than before the HMA sensitivity: if "
        "a change meant to move these patients landed (a re-fitted value, a model "
        "change), re-run scripts/make_sim_fingerprints.py and say so in the commit; "
        f"differing: {sorted(set(got) ^ set(want))[:4]}")


def test_hma_draws_leave_every_other_draw_of_the_patient_unchanged() -> None:
    """Drawing the sensitivity changes hma_kill only; every other covariate and
    parameter, screening redraws included (a strict eligibility forces many), is the
    same array with and without it. The HMA stream is its own SeedSequence child."""
    pop = {"baseline_blasts_pct": {"dist": "logitnormal", "median": 20.0, "sd": 1.0,
                                   "min": 1.0, "max": 97.0}}
    rule = {"baseline_blasts_pct": {"min": 20.0}}
    idx = np.arange(40)
    c0, p0 = build_patients(5, idx, pop, typical(), "none", "CLL1", rule)
    c1, p1 = build_patients(5, idx, pop, typical(), "none", "CLL1", rule, hma=True)
    assert (c0["screening_attempts"] > 0).sum() >= 10
    assert set(c1) - set(c0) == {"hma_sensitivity", "hma_sensitive"}
    for k in c0:
        assert np.array_equal(c0[k], c1[k]), k
    for k in p0:
        if k != "hma_kill":
            assert np.array_equal(p0[k], p1[k]), k
    assert np.allclose(p1["hma_kill"], PARAMETERS["hma_kill"].value * c1["hma_sensitivity"],
                       rtol=1e-15)
    # the enrolled candidate's HMA stream: (i, HMA_KEY) or (i, HMA_KEY, attempt)
    i = int(np.flatnonzero(c1["screening_attempts"] > 0)[0])
    a = int(c1["screening_attempts"][i])
    g = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(i, HMA_KEY, a)))
    u, z = g.random(), g.standard_normal()
    m, _ = hma_sensitivity(np.array([u]), np.array([z]), typical())
    assert c1["hma_sensitivity"][i] == m[0]
    # and it is not any of the patient's main-stream numbers
    zm, um = patient_draws(5, np.array([i]), np.array([a]))
    assert z not in zm[0] and u not in um[0]


def test_sensitivity_is_log_normal_with_the_stated_median_and_cv() -> None:
    """5,000 patients: median 1 and log-SD sqrt(log(1 + 0.5^2)) = 0.4724 by hand (the
    shipped CV 0.5; standard errors ~0.008 and ~0.005); a patient's multiplier does not
    depend on the batch."""
    assert PARAMETERS["hma_kill_cv"].value == 0.5
    assert PARAMETERS["hma_sensitive_fraction"].value == 1.0
    u, z = hma_draws(11, np.arange(5_000))
    m, sens = hma_sensitivity(u, z, typical())
    assert sens.all()
    assert abs(np.median(m) - 1.0) < 0.04
    assert abs(np.log(m).std() - 0.4724) < 0.02
    m1, _ = hma_sensitivity(*hma_draws(11, np.array([123])), typical())
    assert m1[0] == m[123]


def test_patients_carry_their_sensitivity_in_every_arm() -> None:
    """Common random numbers: patient i has the same HMA sensitivity in every arm of a
    design with an HMA (untreated arm included); the column exists only in such designs."""
    d = load_design(VIALE)
    res = run_trial(d, n=6, seed=4, workers=0, observations=False)
    pts = res.patients
    s = pts.assign(i=pts["patient_id"].str[-6:]).pivot(index="i", columns="arm",
                                                       values="hma_sensitivity_patient")
    assert (s.nunique(axis=1) == 1).all() and s.iloc[:, 0].nunique() == 6
    assert (s > 0).all().all()


def test_hma_parameters_out_of_range_are_refused_at_once(tmp_path: Path) -> None:
    """A negative CV, a share above 1 and a missing (nan) ratio are design problems,
    all reported with their keys; nothing is written."""
    from remission.errors import InputError
    from remission.sim import cli_simulate

    text = VIALE.read_text().replace(
        "[population]", "[parameters]\nhma_kill_cv = -0.1\nhma_sensitive_fraction = 1.5\n"
        "hma_resistant_ratio = nan\n\n[population]", 1)
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(InputError) as exc:
        cli_simulate(f, tmp_path / "out", n=2, workers=0)
    got = {(p.column, p.message) for p in exc.value.problems}
    assert got == {("parameters.hma_kill_cv", "must not be negative"),
                   ("parameters.hma_sensitive_fraction", "must be at most 1"),
                   ("parameters.hma_resistant_ratio", "must be a finite number")}, got
    assert not (tmp_path / "out").exists()


def _load_benchmark():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "sim_hma" / "calibrate_hma.py"
    spec = importlib.util.spec_from_file_location("calibrate_hma", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(("broken", "message"), [
    (None, None),
    ("aza_late", "a median first response is not on the published median's assessment day"),
    ("spread_not_needed", "check passed with hma_kill_cv x 0"),
    ("aza_rate", "outside a published interval"),
])
def test_calibrate_hma_benchmark_exits_1_on_each_kind_of_failure(
        broken: str | None, message: str | None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/sim_hma/calibrate_hma.py's decisions, on tables made by hand instead of
    simulations (the simulations take minutes): exit 0 only when the unperturbed check
    passes (both rates inside, both medians on their marrows, no untreated responder)
    and every perturbation fails; azacitidine's day-84 timing is checked, and a check
    that still passes without the between-patient spread is a failure."""
    bench = _load_benchmark()

    def fake(d, n, seed, hma_scale=1.0, arms=None):
        names = arms or ("aza", "aza+ven", "untreated")
        cv0 = d.parameters.get("hma_kill_cv") == 0.0
        perturbed = hma_scale != 1.0 or cv0 or "ven_tolerance" in d.parameters
        rows = {}
        for a in names:
            ok = not perturbed or (cv0 and broken == "spread_not_needed")
            day = 84 if a == "aza" else 28
            if a == "aza" and broken == "aza_late" and not perturbed:
                day = 112
            rate = 0.3 if ok else 0.05
            if a == "aza" and broken == "aza_rate" and not perturbed:
                rate = 0.40
            lo, hi = (0.211, 0.363) if a == "aza" else (0.606, 0.719)
            if a == "aza+ven":
                rate = 0.66 if ok else 0.3
            if a == "untreated":
                rows[a] = dict(n=n, responders=0, rate=0.0, first_response_day=np.nan,
                               target=np.nan, lo=np.nan, hi=np.nan,
                               first_response_target_day=np.nan, inside=None,
                               timing_ok=None)
                continue
            tgt = 84 if a == "aza" else 28
            rows[a] = dict(n=n, responders=int(rate * n), rate=rate,
                           first_response_day=float(day), target=0.3, lo=lo, hi=hi,
                           first_response_target_day=float(tgt),
                           inside=lo <= rate <= hi, timing_ok=day == tgt)
        return pd.DataFrame.from_dict(rows, orient="index")

    monkeypatch.setattr(bench, "check_targets", fake)
    code = bench.main(["--n", "10", "--seeds", "1", "--out", str(tmp_path / "t.md")])
    out = capsys.readouterr().out
    if broken is None:
        assert code == 0 and "All checks as expected." in out, out
    else:
        assert code == 1 and message in out, out
    assert "| 1 | hma_kill_cv x 0 | aza |" in (tmp_path / "t.md").read_text()
