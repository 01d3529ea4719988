"""Reference data and seed designs ship inside the package (issue 13): nothing is read
through a path relative to the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import remission
from remission.sim.design import DESIGN_DIR, load_design
from remission.web.serve import DEMO_STUDIES, EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(remission.__file__).resolve().parent


def test_designs_are_package_data_and_examples_link_to_them() -> None:
    assert DESIGN_DIR.resolve().is_relative_to(PKG / "data")
    shipped = sorted(p.name for p in DESIGN_DIR.glob("*.toml"))
    assert len(shipped) >= 4
    for name in shipped:
        load_design(DESIGN_DIR / name)  # each parses
        ex = ROOT / "examples" / "designs" / name
        assert ex.resolve() == (DESIGN_DIR / name).resolve()  # one copy, linked


def test_no_module_reaches_outside_the_package_by_parents() -> None:
    # Path(__file__).parents[3] / "examples" breaks installed wheels; forbid the pattern
    offenders = []
    for f in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "parents"
                    and "__file__" in ast.unparse(node.value)):
                offenders.append(str(f.relative_to(PKG)))
    assert offenders == []


def test_web_demo_studies_are_package_data_and_examples_link_to_them() -> None:
    # remission web loads its demo studies from the package, not from the source tree
    assert EXAMPLES.resolve().is_relative_to(PKG / "data")
    for name in DEMO_STUDIES:
        shipped = sorted(p.name for p in (EXAMPLES / name).iterdir())
        assert "study.toml" in shipped and "patients.csv" in shipped
        linked = sorted(p.name for p in (ROOT / "examples" / name).iterdir())
        assert linked == shipped
        for f in shipped:  # one copy, linked
            assert (ROOT / "examples" / name / f).resolve() == (EXAMPLES / name / f).resolve()


def test_package_data_ships_the_demo_in_the_wheel_globs() -> None:
    # pyproject's package-data globs must reach the nested demo files
    import fnmatch
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as fh:
        globs = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["remission"]
    for name in DEMO_STUDIES:
        for f in (EXAMPLES / name).iterdir():
            rel = f.relative_to(PKG).as_posix()
            assert any(fnmatch.fnmatch(rel, g) for g in globs), rel
