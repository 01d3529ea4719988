"""One public entry per survival method (``remission.survival``), called alike.

Every estimator takes arrays or column names with ``data=``; both give the same Result;
``missing="omit"`` drops the same rows and says so; unknown keyword arguments raise a
TypeError naming what to use instead. Numbers themselves are checked against R in
test_survival_{km,logrank,cox,competing,finegray,rmst}.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import remission.stats.survival as impl
from remission import survival

rng = np.random.default_rng(11)
N = 40
D = pd.DataFrame({"t": np.round(rng.exponential(10, N), 1) + 0.1, "e": rng.integers(0, 2, N),
                  "s": rng.integers(0, 3, N), "g": np.repeat(["a", "b"], N // 2),
                  "x": rng.normal(size=N)})
D.loc[0, "s"] = 1  # both causes present whatever the seed
D.loc[1, "s"] = 2

# name -> (call by column names, call by arrays); **k is passed to both
CALLS = {
    "kaplan_meier": (lambda d, **k: survival.kaplan_meier("t", "e", "g", data=d, **k),
                     lambda d, **k: survival.kaplan_meier(d.t, d.e, d.g, **k)),
    "km_curves": (lambda d, **k: survival.km_curves("t", "e", "g", data=d, **k),
                  lambda d, **k: survival.km_curves(d.t.to_numpy(), d.e.to_numpy(),
                                                    d.g.to_numpy(), **k)),
    "logrank": (lambda d, **k: survival.logrank("t", "e", "g", data=d, **k),
                lambda d, **k: survival.logrank(list(d.t), list(d.e), list(d.g), **k)),
    "cuminc": (lambda d, **k: survival.cuminc("t", "s", "g", data=d, times=[5, 10], **k),
               lambda d, **k: survival.cuminc(d.t, d.s, d.g, times=[5, 10], **k)),
    "cif_curves": (lambda d, **k: survival.cif_curves("t", "s", "g", data=d, **k),
                   lambda d, **k: survival.cif_curves(d.t, d.s, d.g, **k)),
    "gray": (lambda d, **k: survival.gray("t", "s", "g", data=d, **k),
             lambda d, **k: survival.gray(d.t, d.s, d.g, **k)),
    "rmst": (lambda d, **k: survival.rmst("t", "e", "g", tau=8, data=d, **k),
             lambda d, **k: survival.rmst(d.t, d.e, d.g, tau=8, **k)),
    "cox": (lambda d, **k: survival.cox("t", "e", ["x", "g"], data=d, **k),
            lambda d, **k: survival.cox(d.t, d.e, d[["x", "g"]], **k)),
    "cox_zph": (lambda d, **k: survival.cox_zph("t", "e", ["x"], data=d, **k),
                lambda d, **k: survival.cox_zph(d.t, d.e, {"x": d.x.to_numpy()}, **k)),
    "firth_cox": (lambda d, **k: survival.firth_cox("t", "e", ["x"], data=d, **k),
                  lambda d, **k: survival.firth_cox(d.t, d.e, d[["x"]], **k)),
    "fine_gray": (lambda d, **k: survival.fine_gray("t", "s", ["x"], data=d, **k),
                  lambda d, **k: survival.fine_gray(d.t, d.s, d[["x"]], **k)),
}


def test_every_method_is_one_hop_and_one_object() -> None:
    for name in CALLS:
        assert getattr(survival, name) is getattr(impl, name), name
    for gone in ("cox_fit", "cox_result", "cox_ph", "CoxPH", "CoxFit", "fit_cox_arrays",
                 "logrank_test", "gray_test"):
        assert not hasattr(survival, gone) and not hasattr(impl, gone), gone


@pytest.mark.parametrize("name", sorted(CALLS))
def test_names_and_arrays_give_the_same_result(name: str) -> None:
    by_name, by_value = CALLS[name]
    a, b = by_name(D), by_value(D)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.method == b.method


@pytest.mark.parametrize("name", sorted(CALLS))
def test_missing_omit_drops_incomplete_rows_and_says_so(name: str) -> None:
    by_name, by_value = CALLS[name]
    holed = D.copy()
    holed["t"] = holed["t"].astype(float)
    holed.loc[[3, 17], "t"] = np.nan
    holed.loc[25, ["g", "x"]] = None  # every method uses g or x
    complete = holed.dropna().reset_index(drop=True)
    for call in (by_name, by_value):
        res = call(holed, missing="omit")
        ref = call(complete)
        pd.testing.assert_frame_equal(res.table, ref.table)
        assert any("3 row(s) with missing values omitted" in w for w in res.warnings), name
        with pytest.raises(ValueError, match="missing"):
            call(holed, missing="drop")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_unknown_keyword_is_refused_with_the_accepted_names(name: str) -> None:
    by_name, _ = CALLS[name]
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'mthod'.*accepts"):
        by_name(D, mthod="x")


def test_r_and_lifelines_names_get_a_hint() -> None:
    with pytest.raises(TypeError, match=r"'failcode' \(the code of the event of interest is "
                                        r"cause="):
        survival.gray("t", "s", "g", data=D, failcode=2)
    with pytest.raises(TypeError, match=r"'conf_int' \(the confidence level is conf="):
        survival.kaplan_meier("t", "e", data=D, conf_int=0.9)
    with pytest.raises(TypeError, match=r"'duration_col' \(pass time="):
        survival.logrank("t", "e", "g", data=D, duration_col="t")
    with pytest.raises(TypeError, match=r"'confs' \(did you mean 'conf'\?\)"):
        survival.rmst("t", "e", tau=5, data=D, confs=0.9)
    # the cause really is chosen by cause=, not by position or default
    c1 = survival.gray("t", "s", "g", data=D, cause=1).table
    c2 = survival.gray("t", "s", "g", data=D, cause=2).table
    assert list(c1.index) == ["test | 1"] and list(c2.index) == ["test | 2"]


def test_names_without_data_and_the_old_table_first_order_are_explained() -> None:
    with pytest.raises(TypeError, match="looks like a column name"):
        survival.kaplan_meier("t", "e")
    with pytest.raises(TypeError, match=r"data=df"):
        survival.fine_gray(D, "t", "s", ["x"])
    with pytest.raises(TypeError, match=r"data=df"):
        survival.cox(D, "t", "e", ["x"])


def test_an_absent_column_is_an_input_error_naming_it() -> None:
    from remission.errors import InputError

    with pytest.raises(InputError) as ei:
        survival.kaplan_meier("time", "event", data=D)
    cols = sorted(p.column for p in ei.value.problems)
    assert cols == ["event", "time"]


def test_the_one_hop_names_are_said_once() -> None:
    # remission.survival takes its names from stats.survival.api (issue 13: the facade
    # re-listed them); same names, same objects, and no name is written in the facade
    import ast
    from pathlib import Path

    from remission.stats.survival import api

    assert survival.__all__ == api.__all__
    assert impl.__all__ == [*api.__all__, "load_kernels"]
    for name in survival.__all__:
        assert getattr(survival, name) is getattr(impl, name) is getattr(api, name), name
    assert "load_kernels" not in survival.__all__  # a warm-up, not a method
    tree = ast.parse(Path(survival.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert [a.name for a in node.names] in (["*"], ["api"]), ast.unparse(node)
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            assert not any(isinstance(c, ast.Constant) for c in ast.walk(node.value))


# Competing-risk strata and status: every bad value is an InputError naming its line and
# column (as gray's strata always were), never an IndexError, a silent NaN stratum or a
# bare "could not convert" ValueError. Lines count as in a CSV with a header (row 0 =
# line 2).
SMALL = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9],
                      "s": [1, 2, 0, 1, 1, 2, 1, 0, 2, 1, 1, 0],
                      "g": ["A"] * 6 + ["B"] * 6,
                      "st": [1, 2, 1, 2, 1, None, 1, 2, 1, 2, 1, 2]})


@pytest.mark.parametrize("name", ["cuminc", "gray"])
def test_competing_strata_of_the_wrong_length_or_missing_are_input_errors(name: str) -> None:
    from remission.errors import InputError

    call = getattr(survival, name)
    with pytest.raises(InputError) as ei:
        call(SMALL.t, SMALL.s, SMALL.g, strata=[1, 2, 1])
    assert [(p.column, p.row) for p in ei.value.problems] == [("strata", None)]
    assert "strata has 3 values, time has 12" in str(ei.value)
    with pytest.raises(InputError) as ei:
        call("t", "s", "g", data=SMALL, strata="st")
    assert [(p.column, p.row) for p in ei.value.problems] == [("strata", 7)]


def test_cuminc_strata_missing_omit_equals_the_complete_rows() -> None:
    # oracle: the same call on the table without the incomplete row (row 5)
    omitted = survival.cuminc("t", "s", "g", data=SMALL, strata="st", missing="omit")
    ref = survival.cuminc("t", "s", "g", data=SMALL.drop(index=5).reset_index(drop=True),
                          strata="st")
    pd.testing.assert_frame_equal(omitted.table, ref.table)
    assert any("1 row(s) with missing values omitted" in w for w in omitted.warnings)


@pytest.mark.parametrize("name", ["cuminc", "cif_curves", "gray"])
def test_competing_unreadable_status_is_reported_with_every_line(name: str) -> None:
    from remission.errors import InputError

    status = list(SMALL.s.astype(object))
    status[1], status[9] = "x", None
    with pytest.raises(InputError) as ei:
        getattr(survival, name)(SMALL.t, status, SMALL.g)
    found = [(p.row, p.column) for p in ei.value.problems]
    assert found == [(3, "event"), (11, "event")], found
    assert "(got 'x')" in str(ei.value)


# Regression arrays (cox, cox_zph, firth_cox, fine_gray read them through one
# model_frame): a length that does not match the covariates, or covariates of different
# lengths, is an InputError naming each argument (was a bare ValueError, and a pandas
# "All arrays must be of the same length" for a mapping); a missing label among text
# labels stays missing (NumPy made it the text 'nan': a stratum or censoring group of its
# own, silently, or a LinAlgError).
REG = pd.DataFrame({"t": [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9, 11, 12],
                    "s": [1, 2, 0, 1, 1, 2, 1, 0, 2, 1, 1, 0, 1, 2],
                    "x": [0.5, 1.2, 0.1, 1.9, 1.4, 0.3, 2.2, 0.4, 0.8, 1.7, 1.1, 0.2, 0.9, 1.5],
                    "g": ["A", "B"] * 7})


@pytest.mark.parametrize("name", ["cox", "cox_zph", "firth_cox", "fine_gray"])
def test_regression_arrays_of_the_wrong_length_are_input_errors(name: str) -> None:
    from remission.errors import InputError

    call = getattr(survival, name)
    event = (REG.s > 0).astype(int) if name != "fine_gray" else REG.s
    with pytest.raises(InputError) as ei:
        call(REG.t[:-2], event[:-1], {"x": REG.x})
    assert [(p.column, p.row) for p in ei.value.problems] == [
        ("time", None), ("event" if name != "fine_gray" else "status", None)]
    assert "time has 12 values but covariates have 14 rows" in str(ei.value)
    with pytest.raises(InputError) as ei:
        call(REG.t, event, {"x": REG.x, "z": REG.x[:-3]})
    assert [(p.column, p.row) for p in ei.value.problems] == [("z", None)]
    assert "covariate z has 11 values, the other covariates 14" in str(ei.value)


@pytest.mark.parametrize(("name", "arg"), [("cox", "strata"), ("cox_zph", "strata"),
                                           ("firth_cox", "strata"), ("fine_gray", "cengroup")])
def test_regression_missing_text_label_is_reported_not_a_group(name: str, arg: str) -> None:
    from remission.errors import InputError

    labels = list(REG.g.astype(object))
    labels[4] = float("nan")
    event = (REG.s > 0).astype(int) if name != "fine_gray" else REG.s
    with pytest.raises(InputError) as ei:
        getattr(survival, name)(REG.t, event, {"x": REG.x}, **{arg: labels})
    assert [(p.column, p.row) for p in ei.value.problems] == [(f".{arg}", 6)]


@pytest.mark.parametrize("name", ["cuminc", "gray"])
def test_competing_stratum_of_censored_patients_only_adds_nothing(name: str) -> None:
    # a stratum without events was an IndexError in the Gray score; it adds nothing to
    # the score or its variance (cmprsk's crstm), so the test equals the one without its
    # rows, and R cmprsk::cuminc(t, s, g, strata = st)$Tests gives stat 2.206282858699387
    # (cause 1) and 0.157593936200397 (cause 2)
    t = [6, 6, 6, 7, 10, 13, 2, 3, 4, 5, 8, 9, 11, 12]
    s = [1, 2, 0, 1, 1, 2, 1, 0, 2, 1, 1, 0, 0, 0]
    g = ["A", "B"] * 7
    st = [1, 1, 2, 2, 1, 1, 2, 2, 1, 2, 1, 2, 3, 3]  # stratum 3: two censored patients
    call = getattr(survival, name)
    tab = call(t, s, g, strata=st).table
    ref = call(t[:12], s[:12], g[:12], strata=st[:12]).table
    tests = tab[tab.index.str.startswith("test")]
    pd.testing.assert_frame_equal(tests[["stat", "df", "p"]],
                                  ref[ref.index.str.startswith("test")][["stat", "df", "p"]])
    np.testing.assert_allclose(tests["stat"], [2.206282858699387, 0.157593936200397],
                               rtol=1e-10)


@pytest.mark.parametrize("name", ["cox", "cox_zph", "firth_cox"])
def test_cox_without_events_is_an_input_error(name: str) -> None:
    # was a LinAlgError ("singular matrix") from the score test
    from remission.errors import InputError

    with pytest.raises(InputError) as ei:
        getattr(survival, name)("t", "e", ["x"], data=REG.assign(e=0))
    assert [(p.column, p.row) for p in ei.value.problems] == [("e", None)]
    assert "no events" in str(ei.value)
