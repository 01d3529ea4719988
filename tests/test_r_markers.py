"""Every test that runs R live carries the ``r`` marker (issue 13), so ``-m r`` selects
exactly the R comparisons and ``-m "not r"`` is a run without R (which still checks the
committed R reference values of tests/rref/).

Static check: a test function is "calling R" when it calls ``run_r``, or a function or
fixture of its module that does (transitively); it must be decorated ``@pytest.mark.r``
unless the module sets ``pytestmark`` to include it.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _marks_r(node: ast.expr) -> bool:
    text = ast.unparse(node)
    return text == "pytest.mark.r" or text.startswith("pytest.mark.r(")


def unmarked_r_tests(source: str) -> list[str]:
    """Names of the test functions of ``source`` that call R without the ``r`` marker."""
    tree = ast.parse(source)
    for n in tree.body:
        if isinstance(n, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets):
            marks = n.value.elts if isinstance(n.value, ast.List | ast.Tuple) else [n.value]
            if any(_marks_r(m) for m in marks):
                return []
    funcs = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    calls_r = {name for name, fn in funcs.items()
               if any(isinstance(c, ast.Call) and ast.unparse(c.func).split(".")[-1] == "run_r"
                      for c in ast.walk(fn))}
    grew = True
    while grew:  # helpers and fixtures that call R make their callers call R
        grew = False
        for name, fn in funcs.items():
            if name in calls_r:
                continue
            used = {ast.unparse(c.func) for c in ast.walk(fn) if isinstance(c, ast.Call)}
            used |= {a.arg for a in fn.args.args}
            if used & calls_r:
                calls_r.add(name)
                grew = True
    return sorted(name for name, fn in funcs.items()
                  if name.startswith("test_") and name in calls_r
                  and not any(_marks_r(d) for d in fn.decorator_list))


def test_every_r_test_is_marked() -> None:
    found = {f.name: unmarked_r_tests(f.read_text(encoding="utf-8"))
             for f in sorted(TESTS.rglob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_check_sees_an_unmarked_r_test() -> None:
    src = '''
import pytest
from tests.rlive import run_r

def _ref():
    return run_r("out <- list(a = 1)")

@pytest.fixture
def ref():
    return _ref()

@pytest.mark.r
def test_marked():
    run_r("out <- list()")

def test_direct():
    run_r("out <- list()")

def test_via_helper():
    assert _ref()

def test_via_fixture(ref):
    assert ref

def test_no_r():
    assert 1
'''
    assert unmarked_r_tests(src) == ["test_direct", "test_via_fixture", "test_via_helper"]
    assert unmarked_r_tests("import pytest\npytestmark = [pytest.mark.r]\n" + src) == []
