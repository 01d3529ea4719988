"""``[[range]]`` claims: every one of n patients' values lies in [low, high].

Oracles: brute-force enumeration of every multiset of n grid values in the interval (the
medians and means it can give), hand-worked verdicts, and the seed 004 abstract's sentence
"CAR-NK cells in patients reached peak concentration between days 7 and 14 post-infusion".
"""

from __future__ import annotations

import itertools
import statistics
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from remission.errors import InputError
from remission.evidence.attainability import range_attainable
from remission.evidence.claims import reconstruct_claims

ROOT = Path(__file__).resolve().parents[1]
SEED004 = ROOT / "examples" / "seed004-cd123-carnk" / "claims.toml"


def _values(text: str) -> set[Fraction]:
    """The set a ``medians``/``means`` cell describes (a list, or a progression)."""
    if text.startswith("multiples of "):
        step, rest = text[len("multiples of "):].split(" from ")
        a, b = rest.split(" (")[0].split(" to ")
        s = Fraction(step).limit_denominator(1000)
        ka, kb = Fraction(a) / s, Fraction(b) / s
        assert ka.denominator == kb.denominator == 1
        return {k * s for k in range(int(ka), int(kb) + 1)}
    return {Fraction(x).limit_denominator(1000) for x in text.split(", ")}


def _brute(low: int, high: int, n: int) -> tuple[set[Fraction], set[Fraction]]:
    """Medians and means of every multiset of n whole numbers in [low, high]."""
    meds, means = set(), set()
    for xs in itertools.combinations_with_replacement(range(low, high + 1), n):
        meds.add(Fraction(statistics.median(Fraction(x) for x in xs)))
        means.add(Fraction(sum(xs), n))
    return meds, means


@pytest.mark.parametrize(("low", "high", "n"), [(7, 14, 5), (7, 10, 4), (3, 5, 1), (0, 3, 2)])
def test_medians_and_means_are_exactly_what_n_patients_can_give(low, high, n):
    row = range_attainable(low, high, n).table.iloc[0]
    meds, means = _brute(low, high, n)
    assert _values(row["medians"]) == meds
    assert _values(row["means"]) == means
    assert bool(row["attainable"]) and row["problems"] == ""


def test_peak_day_hand_worked():
    # n = 5 whole days in 7..14: the median is the third value, an integer 7..14; the mean
    # a sum of five integers (35..70) over 5, a multiple of 0.2 (36 values)
    r = range_attainable(7, 14, 5, label="peak day", unit="days")
    row = r.table.loc["peak day"]
    assert row["medians"] == "7, 8, 9, 10, 11, 12, 13, 14"
    assert row["means"] == "multiples of 0.2 from 7 to 14 (36 values)"
    assert row["verdict"] == "cannot be checked"
    assert "no per-patient values" in row["why"] and "[7, 14] days" in row["why"]
    assert r.warnings == ()


@pytest.mark.parametrize(("low", "high", "n", "g", "msg"), [
    (14, 7, 5, 1.0, "low 14 is above high 7"),
    (7.5, 14, 5, 1.0, "low 7.5 is not a multiple of the grid 1"),
    (7, 14.25, 5, 0.5, "high 14.25 is not a multiple of the grid 0.5"),
    (7, 14, 0, 1.0, "n = 0: at least one patient is needed"),
])
def test_impossible_ranges_are_flagged(low, high, n, g, msg):
    r = range_attainable(low, high, n, g)
    row = r.table.iloc[0]
    assert not row["attainable"] and msg in row["problems"] and msg in r.warnings
    assert row["medians"] == row["means"] == "none"


def test_verdicts_against_patient_values():
    ids = ["P1", "P2", "P3", "P4", "P5"]
    ok = range_attainable(7, 14, 5, values=pd.Series([7, 9, 10, 14, 12], index=ids),
                          var="peak_day").table.iloc[0]
    assert (ok["verdict"], ok["why"]) == ("agrees", "all 5 values of peak_day lie in [7, 14]")
    # 6.9 < 7 and 14.5 > 14: both named, nothing else
    bad = range_attainable(7, 14, 5, values=pd.Series([6.9, 9, 10, 14.5, 12], index=ids),
                           var="peak_day")
    row = bad.table.iloc[0]
    assert row["verdict"] == "disagrees"
    assert row["why"] == "peak_day of 2 of 5 patients outside [7, 14]: P1 = 6.9, P4 = 14.5"
    assert any("P1 = 6.9" in w for w in bad.warnings)
    miss = range_attainable(7, 14, 5, values=pd.Series([7, None, 10, 14, 12], index=ids),
                            var="peak_day").table.iloc[0]
    assert miss["verdict"] == "cannot be checked"
    assert miss["why"].startswith("peak_day is missing for 1 of 5 patients")
    four = range_attainable(7, 14, 5, values=pd.Series([7, 8, 10, 14], index=ids[:4]),
                            var="peak_day").table.iloc[0]
    assert (four["verdict"], four["why"]) == ("disagrees",
                                             "the data have 4 patients, the claim 5")


def _write(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "claims.toml"
    f.write_text(body, encoding="utf-8")
    return f


def test_claims_file_range_checked_against_adsl(tmp_path):
    f = _write(tmp_path, '[[range]]\nlabel = "peak"\nlow = 7\nhigh = 14\nn = 3\n'
                         'var = "PEAKDY"\n\n[[range]]\nlabel = "nov"\nlow = 7\nhigh = 14\n'
                         'n = 3\n\n[[range]]\nlabel = "absent"\nlow = "7"\nhigh = "14"\n'
                         'n = 3\nvar = "NOPE"\n')
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"], "PEAKDY": [7, 15, 10]})
    res = {r.name: r.table.iloc[0] for r in reconstruct_claims(f, adsl=adsl)}
    peak = res["evidence.range.peak"]
    assert (peak["verdict"], peak["why"]) == (
        "disagrees", "PEAKDY of 1 of 3 patients outside [7, 14]: B = 15")
    assert res["evidence.range.nov"]["verdict"] == "cannot be checked"
    assert "names no variable" in res["evidence.range.nov"]["why"]
    assert res["evidence.range.absent"]["why"] == \
        "the patient-level data have no variable 'NOPE'"
    # without patient-level data: what three patients can give, and why no more
    alone = {r.name: r.table.iloc[0] for r in reconstruct_claims(f)}
    assert alone["evidence.range.peak"]["verdict"] == "cannot be checked"
    assert alone["evidence.range.peak"]["medians"] == "7, 8, 9, 10, 11, 12, 13, 14"


def test_bad_range_claims_all_reported_with_line_and_key(tmp_path):
    f = _write(tmp_path,
               '[[range]]\nlabel = "a"\nlow = 14\nhigh = 7\nn = 5\n'          # 1-5
               '\n[[range]]\nlabel = "b"\nlow = 7\nhigh = 14\n'                # 7-10
               '\n[[range]]\nlabel = "c"\nlow = 7\nhigh = 14\nn = 0\n'         # 12-16
               '\n[[range]]\nlabel = "d"\nlow = 7.5\nhigh = 14\nn = 5\n'       # 18-22
               'granularity = 1\nwidth = 2\n')                                  # 23-24
    with pytest.raises(InputError) as ei:
        reconstruct_claims(f)
    got = {(p.message, p.row, p.column) for p in ei.value.problems}
    assert got == {
        ("[[range]] #1: low is above high", 3, "low"),
        ("[[range]] #2: missing field", 7, "n"),
        ("[[range]] #3: wrong type", 16, "n"),
        ("[[range]] #4: not on the grid of the values", 20, "low"),
        ("[[range]] #4: unknown field", 24, "width"),
    }
    assert all(p.file == str(f) for p in ei.value.problems)


def test_seed004_evidence_has_the_peak_day_claim():
    res = {r.name: r for r in reconstruct_claims(SEED004)}
    r = res["evidence.range.Day of peak CAR-NK concentration"]
    row = r.table.iloc[0]
    assert (row["low"], row["high"], row["n"]) == (7, 14, 5)
    assert "peak concentration between days 7 and 14 post-infusion" in row["text"]
    assert row["medians"] == "7, 8, 9, 10, 11, 12, 13, 14"
    assert row["verdict"] == "cannot be checked" and not r.warnings


def test_study_audit_checks_range_claims_against_adsl(tmp_path):
    """A study's claims file may hold [[range]] next to [[claim]]: audit_study checks it
    against the study's ADSL (here B's 15 lies outside days 7-14)."""
    from types import SimpleNamespace

    from remission.audit import audit_study
    from remission.results import ResultSet

    _write(tmp_path, '[[range]]\nlabel = "peak"\nlow = 7\nhigh = 14\nn = 3\n'
                     'var = "PEAKDY"\nsource = "peak between days 7 and 14"\n')
    study = SimpleNamespace(config=SimpleNamespace(claims="claims.toml"), folder=tmp_path,
                            tables={})
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"], "PEAKDY": [7, 15, 10]})
    out = {r.name: r for r in audit_study(SimpleNamespace(study=study, results=ResultSet(),
                                                          adsl=adsl))}
    row = out["evidence.range.peak"].table.iloc[0]
    assert out["evidence.range.peak"].section == "audit"
    assert (row["verdict"], row["why"]) == ("disagrees",
                                           "PEAKDY of 1 of 3 patients outside [7, 14]: B = 15")
