"""Method lines read as sentences (issue 11): each method family's Result, through
remission.method_text, gives prose a reader checks against the method, never a
``key = value`` dump of Result.params.

Expected sentences are written from what each method is (R survfit's conf.type names,
the G-rho family of Harrington & Fleming 1982 where rho = 0 is the log-rank test and
rho = 1 the Peto-Peto test, cmprsk crr's failcode/cencode, PKNCA's BLQ rules ...).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from remission.method_text import PHRASES, clauses, method_line, params_sentence

KEY_DUMP = re.compile(r"\b[a-z_]+\s*=\s*\S")  # "conf = 0.95", "rho=0"


def _surv_data(n: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"t": np.round(rng.exponential(300, n)) + 1,
                         "e": rng.integers(0, 2, n), "s": rng.integers(0, 3, n),
                         "g": rng.choice(["A", "B"], n), "x": rng.integers(0, 2, n)})


def _line(r) -> str:
    text = method_line(r.method, r.rationale, r.params)
    assert not KEY_DUMP.search(params_sentence(r.params)), params_sentence(r.params)
    return text


def test_kaplan_meier_and_log_rank():
    from remission.survival import kaplan_meier, logrank

    d = _surv_data()
    km = kaplan_meier(d["t"], d["e"], d["g"], conf_type="log-log", landmarks=[365, 730])
    assert params_sentence(km.params) == (
        "Two-sided 95% confidence intervals on the log(−log) scale (R survfit conf.type "
        "\"log-log\"); survival estimates at days 365 and 730.")
    lr = logrank(d["t"], d["e"], d["g"])
    assert params_sentence(lr.params) == ("Groups were compared with the two-sided log-rank "
                                          "test.")
    pp = logrank(d["t"], d["e"], d["g"], rho=1, strata=d["x"])
    assert params_sentence(pp.params) == (
        "Groups were compared with the two-sided stratified Peto–Peto (Gehan–Wilcoxon-type) "
        "test, G-rho family with ρ = 1.")
    assert _line(lr).startswith(lr.method.strip())


def test_cox_and_fine_gray_and_rmst():
    from remission.survival import cox as cox_model
    from remission.survival import fine_gray, rmst

    d = _surv_data()
    cox = cox_model("t", "e", ["x"], data=d)
    text = params_sentence(cox.params)
    assert text.startswith("Two-sided 95% confidence intervals; the model was fitted to 60 "
                           f"patients with {int(d['e'].sum())} events; Newton–Raphson "
                           "converged in ")
    assert "log partial likelihood" in text and "(null model" in text
    fg = fine_gray("t", "s", ["x"], data=d, failcode=1, cencode=0)
    text = params_sentence(fg.params)
    assert text.startswith("Event of interest coded 1; censoring coded 0")
    assert "omitted" not in text  # "0 rows omitted" says nothing
    assert "censoring weights read as R cmprsk crr reads them" in text
    rm = rmst(d["t"], d["e"], d["g"], tau=365)
    assert params_sentence(rm.params).startswith("Restricted mean survival time up to τ = 365 days")
    for r in (cox, fg, rm):
        _line(r)


def test_cumulative_incidence_uses_grays_test():
    from remission.stats.survival import cuminc

    d = _surv_data()
    ci = cuminc(d["t"], d["s"], d["g"])
    text = params_sentence(ci.params)
    assert "groups were compared with Gray's test (ρ = 0)" in text
    assert "log-rank" not in text


def test_toxicity_grade_comparison_is_one_clause_with_its_p_values():
    params = {"grade>=3 exact trend p": 0.3560606060606061, "grade>=3 p": 0.7727272727272745,
              "grade>=3 rationale": "smallest expected count 1.25 < 5",
              "grade>=3 test": "Fisher's exact",
              "grade>=3 trend p (Cochran-Armitage)": 0.28214217992560187,
              "system": "Lee et al., Blood 2014"}
    assert params_sentence(params) == (
        "Patients with grade ≥3 were compared across groups with Fisher's exact test "
        "(smallest expected count 1.25 < 5), P = 0.773; trend across ordered groups: exact "
        "P = 0.356, Cochran–Armitage P = 0.282; graded by Lee et al., Blood 2014.")
    # the P values follow the report's number style
    assert "P = 0.77;" in params_sentence(params, "nejm")


def test_response_and_logistic():
    from remission.stats.regression import logistic

    assert params_sentence({"ordered": True}) == (
        "Groups were treated as ordered, so a trend test is also reported.")
    assert params_sentence({"ordered": False}) == "Groups were treated as unordered."
    rng = np.random.default_rng(4)
    d = pd.DataFrame({"y": rng.integers(0, 2, 80), "x": rng.normal(size=80)})
    r = logistic(d, "y", ["x"], method="ml", ci="wald")
    text = params_sentence(r.params)
    assert text.startswith("Maximum-likelihood fit; two-sided 95% Wald confidence intervals")
    assert "the model was fitted to 80 patients with" in text


def test_evidence_comparison_of_a_paper():
    params = {"label": "ORR, combination vs monotherapy", "n1": None, "n2": None,
              "pct1": "83", "pct2": "33", "reported_p": "0.057",
              "tests_reproducing": ["pearson"], "x1": None, "x2": None}
    assert params_sentence(params) == (
        "Comparison: ORR, combination vs monotherapy; group sizes were not printed "
        "(enumerated); printed percentages 83% and 33%; printed P = 0.057; the printed P is "
        "reproduced by Pearson's chi-square.")
    params.update(reported_p=None, tests_reproducing=[], n1=12, n2=21)
    text = params_sentence(params)
    assert "groups of 12 and 21 patients" in text and "no P value was printed" in text


def test_laboratory_and_kinetics():
    assert params_sentence({"model": "LL.4", "conf": 0.95, "dose_unit": "nM",
                            "absolute_level": None}) == (
        "Four-parameter log-logistic model (LL.4, as R drc); two-sided 95% confidence "
        "intervals; doses in nM.")
    assert params_sentence({"control": "DMSO", "equal_var": False, "seed": 7}) == (
        "Compared with the DMSO condition; Welch's t-test (unequal variances); random seed 7.")
    text = params_sentence({"lloq": 25.0, "blq": "tmax", "auc_end": 28.0,
                            "auc_method": "lin_up_log_down", "c0_zero": True,
                            "unit": "copies/µg"})
    assert text == ("Lower limit of quantification 25; values below the LLOQ set to 0 up to "
                    "Tmax and dropped after it; AUC from day 0 to day 28; AUC by the "
                    "linear-up/log-down trapezoidal rule; concentration taken as 0 at day 0; "
                    "concentrations in copies/µg.")


def test_unknown_parameters_read_as_words_not_variable_names():
    text = params_sentence({"growth_thing_x": 0.05, "trend_p": 0.0004, "flag": True})
    assert text == "Growth thing x 0.05; Trend p: P = <0.001; Flag: yes."
    assert not KEY_DUMP.search(text)


def test_every_param_key_in_the_source_reads_as_words():
    """Every parameter an analysis passes reads as words: a template, or (for a key
    added since) its name in words -- never an underscore or an equals sign. The keys
    without a template are listed so they get one; today there are none."""
    src = Path(__file__).resolve().parents[1] / "src" / "remission"
    keys: set[str] = set()
    for path in src.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"params=\{(.*?)\}", text, flags=re.S):
            keys.update(re.findall(r"\"([a-z0-9_>= ()-]+)\":", block))
    skip = {"compared"}  # key of a nested dict literal, worded by its own template
    for key in sorted(keys - skip):
        for value in (0.5, "x", [1, 2], True):
            for clause in clauses({key: value}):
                assert "_" not in clause and "=" not in clause.replace(" = ", ""), (key,
                                                                                    clause)
    without = sorted(k for k in keys - skip if k not in PHRASES)
    print("parameters without a template:", without)


@pytest.mark.parametrize("example", ["cll1-post-hsct", "seed003-blina-ven"])
def test_report_method_lines_have_no_key_value_dumps(example: str):
    from remission.pipeline import bundle_for, folder_kind, lab_bundle

    root = Path(__file__).resolve().parents[1] / "examples" / example
    bundle = lab_bundle(root) if folder_kind(root) == "lab" else bundle_for(root, figures=False)
    for r in bundle.results:
        text = params_sentence(r.params)
        assert not KEY_DUMP.search(text), (r.name, text)
        assert all(c and c[0] != "_" for c in clauses(r.params)), r.name


def test_renderers_print_the_sentences():
    """HTML, Word footnotes and the terminal all print the Method line as prose."""
    from remission.pipeline import bundle_for
    from remission.report.html import render_html
    from remission.report.terminal import render
    from remission.report.word import footnote_text

    root = Path(__file__).resolve().parents[1] / "examples" / "cll1-post-hsct"
    bundle = bundle_for(root, figures=False)
    tests = bundle.results["response.tests"]
    want = "Groups were treated as ordered, so a trend test is also reported."
    html = render_html(bundle)
    assert want in html and "ordered = " not in html
    assert want in render([tests])
    foot = footnote_text(tests)
    assert any(line.startswith("Method: ") and want in line for line in foot)
    assert not any(line.startswith("Parameters:") for line in foot)
