"""Lab fits that must never go silently wrong (issue 10): per-curve failures are that
curve's warning, LL.3 fixes the lower asymptote as drc, either asymptote can be fixed
from lab.toml (both against R nls, ``tests/rref/doseresponse_fixed.R``), a curve that
never reaches 50% inhibition says how far it gets, Pfaffl's ``ddct`` holds ddCt,
[rnaseq] alpha reaches pydeseq2 and a target that never amplified is the first warning.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.lab import analyse_folder, doseresponse, qpcr
from tests import rref

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "synthetic-lab"


@pytest.fixture(scope="module")
def ref():
    return rref.committed("doseresponse_fixed")


def _lab(tmp_path: Path, files: dict[str, str], toml: str) -> Path:
    d = tmp_path / "lab"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_text(text)
    (d / "lab.toml").write_text(toml)
    return d


def _dr_csv(dose, resp, group="g1", drug="drugA") -> str:
    return pd.DataFrame({"group": group, "drug": drug, "dose": dose, "dose_unit": "nM",
                         "response": resp}).to_csv(index=False)


def _check(fit, r, key):
    names = r[key]["names"]
    assert list(fit.free) == names
    # R nls stops at relative offset 1e-7 (tol), so estimates agree to ~1e-7
    np.testing.assert_allclose([fit.params[n] for n in names], r[key]["est"], rtol=1e-6)
    np.testing.assert_allclose([fit.se[n] for n in names], r[key]["se"], rtol=1e-6)
    assert fit.rss <= r[key]["rss"] * (1 + 1e-12)


def test_ll3_fixes_the_lower_asymptote_as_drc(ref) -> None:
    dose = np.array(ref["dose"])
    fall = doseresponse.fit_curve(dose, np.array(ref["fall"]), model="LL.3")
    assert fall.params["B"] == 0.0  # falling viability: high-dose asymptote is the lower
    _check(fall, ref, "ll3_fall")
    rise = doseresponse.fit_curve(dose, np.array(ref["rise"]), model="LL.3")
    assert rise.params["A"] == 0.0  # rising killing curve: the low-dose one is the lower
    _check(rise, ref, "ll3_rise")


def test_upper_asymptote_fixed(ref) -> None:
    dose = np.array(ref["dose"])
    fx = doseresponse.asymptotes_fixed("LL.4", dose, ref["fall"], upper=100)
    assert fx == {"A": 100.0}
    _check(doseresponse.fit_curve(dose, np.array(ref["fall"]), fixed=fx), ref, "up_fall")


def test_lab_toml_fixes_either_asymptote(tmp_path, ref) -> None:
    csv = _dr_csv(ref["dose"], ref["fall"])
    for toml, key, fixed in [('[doseresponse]\nmodel = "LL.3"\n', "ll3_fall", ("B", 0.0)),
                             ("[doseresponse]\nfix_upper = 100\n", "up_fall", ("A", 100.0)),
                             ("[doseresponse]\nfix_lower = 0\n", "ll3_fall", ("B", 0.0))]:
        sub = tmp_path / key / toml[-8:-1].replace(" ", "_").replace('"', "")
        sub.mkdir(parents=True)
        res, _ = analyse_folder(_lab(sub, {"doseresponse.csv": csv}, toml))
        fits = res[0]
        assert fits.cell("drugA | g1", {"A": "top_A", "B": "bottom_B"}[fixed[0]]) == fixed[1]
        est = dict(zip(ref[key]["names"], ref[key]["est"], strict=True))
        assert fits.cell("drugA | g1", "log_ic50") == pytest.approx(est["xmid"], rel=1e-6)
        assert "asymptote fixed at" in fits.method


def test_curve_that_never_reaches_half_inhibition(ref) -> None:
    dose = np.array(ref["dose"])
    d = pd.DataFrame({"group": "g1", "dose": dose, "response": ref["weak"]})
    fits = doseresponse.dose_response_results(d)[0]
    w = [x for x in fits.warnings if "never reaches 50% inhibition" in x]
    assert len(w) == 1
    best = doseresponse.fit_curve(dose, np.array(ref["weak"])).predict(np.array([1000.0]))[0]
    assert f"fitted response is {best:.1f}% of vehicle" in w[0]
    assert f"{100 - best:.1f}% inhibition" in w[0] and "relative one" in w[0]
    assert "never reaches 50% inhibition" in fits.cell("drug | g1", "flags")
    _check(doseresponse.fit_curve(dose, np.array(ref["weak"])), ref, "ll4_weak")
    # a curve that does reach it gets no such warning
    ok = pd.DataFrame({"group": "g1", "dose": dose, "response": ref["fall"]})
    assert not any("never reaches" in x
                   for x in doseresponse.dose_response_results(ok)[0].warnings)


def test_one_failing_profile_interval_is_that_curves_warning(tmp_path, monkeypatch) -> None:
    dst = tmp_path / "lab"
    shutil.copytree(EXAMPLE, dst)
    for f in ("rnaseq_counts.csv", "rnaseq_samples.csv", "synergy.csv", "apoptosis.csv",
              "qpcr.csv"):
        (dst / f).unlink()
    real = doseresponse.profile_ic50_ci
    calls = []

    def flaky(dose, response, fit, *a, **k):
        calls.append(1)
        if len(calls) == 1:  # brentq's own error when the bracket does not hold
            raise ValueError("f(a) and f(b) must have different signs")
        return real(dose, response, fit, *a, **k)

    monkeypatch.setattr(doseresponse.results, "profile_ic50_ci", flaky)  # where it is used
    res, _ = analyse_folder(dst)  # no InputError blamed on lab.toml
    fits = next(r for r in res if r.name == "lab.doseresponse.fits")
    bad = [w for w in fits.warnings if "profile-likelihood IC50 interval could not" in w]
    assert len(bad) == 1 and bad[0].startswith("venetoclax / shCtrl")
    assert np.isnan(fits.cell("venetoclax | shCtrl", "ic50_profile_lower"))
    assert np.isfinite(fits.cell("venetoclax | shCLL1", "ic50_profile_lower"))
    assert np.isfinite(fits.cell("venetoclax | shCtrl", "ic50_lower"))  # delta method kept


@pytest.mark.r
def test_doseresponse_live_r_matches_committed(ref) -> None:
    live = rref.live("doseresponse_fixed")
    for key in ("ll3_fall", "ll3_rise", "up_fall", "ll4_weak"):
        np.testing.assert_allclose(live[key]["est"], ref[key]["est"], rtol=1e-10)
        np.testing.assert_allclose(live[key]["se"], ref[key]["se"], rtol=1e-10)


# --- qPCR ---------------------------------------------------------------------------

def _ct(kd_dead: bool = False) -> pd.DataFrame:
    rows = []
    # hand-made Ct: 2 groups x 3 samples, target T, references R1, R2, duplicates
    ct = {"ctl": {"T": [24.0, 24.2, 23.8], "R1": [18.0, 18.1, 17.9], "R2": [17.0, 17.2, 16.8]},
          "kd": {"T": [27.0, 27.6, 26.4], "R1": [18.0, 18.3, 17.7], "R2": [17.1, 17.0, 16.9]}}
    for grp, genes in ct.items():
        for i in range(3):
            for gene, vals in genes.items():
                v = vals[i]
                dead = kd_dead and grp == "kd" and gene == "T" and i == 1
                for r in range(2):
                    rows.append({"sample": f"{grp}{i}", "group": grp, "gene": gene,
                                 "replicate": r + 1, "ct": np.nan if dead else v})
    return pd.DataFrame(rows)


def test_pfaffl_ddct_column_holds_ddct() -> None:
    eff = {"T": 1.9, "R1": 2.0, "R2": 1.95}
    res = qpcr.qpcr_results(_ct(), ["R1", "R2"], "ctl", efficiencies=eff)
    ex = next(r for r in res if r.name == "lab.qpcr.expression")
    # hand calculation: dCt = Ct_T - mean(Ct_R1, Ct_R2) per sample, then kd - ctl
    dct_ctl = np.mean([24.0 - 17.5, 24.2 - 17.65, 23.8 - 17.35])
    dct_kd = np.mean([27.0 - 17.55, 27.6 - 17.65, 26.4 - 17.3])
    assert ex.cell("T | kd", "ddct") == pytest.approx(dct_kd - dct_ctl, abs=1e-12)
    # and the Pfaffl log2 ratio is not -ddct (efficiencies differ from 2)
    y_ctl = np.mean([(18.0 + 17.0 * np.log2(1.95)) / 2 - 24.0 * np.log2(1.9),
                     (18.1 + 17.2 * np.log2(1.95)) / 2 - 24.2 * np.log2(1.9),
                     (17.9 + 16.8 * np.log2(1.95)) / 2 - 23.8 * np.log2(1.9)])
    y_kd = np.mean([(18.0 + 17.1 * np.log2(1.95)) / 2 - 27.0 * np.log2(1.9),
                    (18.3 + 17.0 * np.log2(1.95)) / 2 - 27.6 * np.log2(1.9),
                    (17.7 + 16.9 * np.log2(1.95)) / 2 - 26.4 * np.log2(1.9)])
    assert ex.cell("T | kd", "log2_fold_change") == pytest.approx(y_kd - y_ctl, abs=1e-12)
    assert abs(ex.cell("T | kd", "log2_fold_change") + ex.cell("T | kd", "ddct")) > 0.1
    # without efficiencies ddct = -log2 fold change, as before
    plain = next(r for r in qpcr.qpcr_results(_ct(), ["R1", "R2"], "ctl")
                 if r.name == "lab.qpcr.expression")
    assert plain.cell("T | kd", "ddct") == pytest.approx(dct_kd - dct_ctl, abs=1e-12)


def test_target_that_never_amplified_is_the_first_warning() -> None:
    res = qpcr.qpcr_results(_ct(kd_dead=True), ["R1", "R2"], "ctl")
    ex = next(r for r in res if r.name == "lab.qpcr.expression")
    assert ex.warnings and ex.warnings[0].startswith("T never amplified in 1 sample(s) (kd: kd1)")
    assert "toward 1" in ex.warnings[0]
    assert ex.cell("T | kd", "n") == 2  # the dropped sample, now visible
    clean = next(r for r in qpcr.qpcr_results(_ct(), ["R1", "R2"], "ctl")
                 if r.name == "lab.qpcr.expression")
    assert not any("never amplified" in w for w in clean.warnings)


# --- RNA-seq ------------------------------------------------------------------------

def test_rnaseq_alpha_reaches_pydeseq2(tmp_path, monkeypatch) -> None:
    import pydeseq2.ds

    seen = []
    real = pydeseq2.ds.DeseqStats

    class Spy(real):
        def __init__(self, *a, **k):
            seen.append(k.get("alpha"))
            super().__init__(*a, **k)

    monkeypatch.setattr(pydeseq2.ds, "DeseqStats", Spy)
    dst = tmp_path / "lab"
    shutil.copytree(EXAMPLE, dst)
    for f in ("doseresponse.csv", "synergy.csv", "apoptosis.csv", "qpcr.csv"):
        (dst / f).unlink()
    pd.read_csv(dst / "rnaseq_counts.csv").head(300).to_csv(dst / "rnaseq_counts.csv",
                                                            index=False)
    toml = (dst / "lab.toml").read_text().replace("alpha = 0.05", "alpha = 0.1")
    (dst / "lab.toml").write_text(toml)
    res, _ = analyse_folder(dst)
    assert seen == [0.1]
    assert next(r for r in res if r.name == "lab.rnaseq.de").params["alpha"] == 0.1


# a real curve (found by simulation: 7 doses in duplicate, noisy, shallow) on which the
# profile's brentq bracket does not hold (the re-minimised RSS depends on the warm start)
HARD_DOSE = np.repeat(np.geomspace(0.01, 100, 7), 2)
HARD_RESP = [85.171, 70.495, 59.517, 55.659, 51.922, 50.195, 34.467, 15.841, 24.33, 28.477,
             27.469, 16.82, 31.411, 10.778]


def test_real_brentq_failure_stays_with_its_curve(tmp_path, ref) -> None:
    f = doseresponse.fit_curve(HARD_DOSE, np.array(HARD_RESP))
    with pytest.raises(ValueError, match="different signs"):  # the failure is real
        doseresponse.profile_ic50_ci(HARD_DOSE, np.array(HARD_RESP), f)
    csv = pd.concat([
        pd.read_csv(io.StringIO(_dr_csv(HARD_DOSE, HARD_RESP, group="hard"))),
        pd.read_csv(io.StringIO(_dr_csv(ref["dose"], ref["fall"], group="ok"))),
    ]).to_csv(index=False)
    res, _ = analyse_folder(_lab(tmp_path, {"doseresponse.csv": csv}, "[doseresponse]\n"))
    fits = res[0]
    assert any(w.startswith("drugA / hard: profile-likelihood IC50 interval could not")
               for w in fits.warnings)
    assert not any(w.startswith("drugA / ok: profile") for w in fits.warnings)
    assert np.isfinite(fits.cell("drugA | ok", "ic50_profile_lower"))
    assert np.isfinite(fits.cell("drugA | hard", "ic50_lower"))


def test_fit_curve_reports_text_doses_and_responses_with_their_lines() -> None:
    # was a bare "could not convert string to float" ValueError; blanks stay missing
    from remission.errors import InputError
    from remission.lab.doseresponse.fit import fit_curve

    dose = [0.01, 0.1, 1, 10, 100, 1000] * 2
    resp: list = [98, 95, 80, 45, 12, 3, 97, 93, 78, 50, 10, 4]
    dose[2], resp[3], resp[5] = "1 uM", "x", None
    with pytest.raises(InputError) as ei:
        fit_curve(dose, resp)
    assert [(p.row, p.column) for p in ei.value.problems] == [(4, "dose"), (5, "response")]
