"""The layer contract (docs/architecture.md) holds, and can fail.

`lint-imports` reads the contract from pyproject.toml ([tool.importlinter]). These tests
run it on the package as it is (must be kept) and on a copy with one upward import
planted (must be broken), so the contract is seen to fail when the rule is broken.
A second check forbids importing another module's private names (``_name``), which the
contract cannot express; today's exceptions are listed and may only shrink.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "remission"
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter not installed")


def _lint(src_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src_parent)}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"),
                           "--no-cache"], capture_output=True, text=True, env=env,
                          cwd=src_parent, timeout=300)


def test_layer_contract_is_kept() -> None:
    proc = _lint(SRC.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_contract_ignores_no_import() -> None:
    # The 14 upward imports once listed as ``ignore_imports`` (issue 13 debt) are gone; an
    # exception may never come back -- move the code to the right layer instead.
    with open(ROOT / "pyproject.toml", "rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    ignored = {line for c in contracts for line in c.get("ignore_imports", [])}
    assert ignored == set(), f"upward imports excused by the contract: {sorted(ignored)}"


def test_layer_contract_breaks_on_an_upward_import(tmp_path: Path) -> None:
    # study is below pipeline: study importing pipeline must break the contract
    shutil.copytree(SRC, tmp_path / "remission",
                    ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.json"))
    config = tmp_path / "remission" / "study" / "__init__.py"
    config.write_text(config.read_text() + "\nimport remission.pipeline  # planted\n")
    proc = _lint(tmp_path)
    assert proc.returncode != 0
    assert "remission.study -> remission.pipeline" in proc.stdout


# Imports of another module's private names (issue 13 debt, paid off: the last one,
# sim.trial -> sim.bedside._sig, is now the public bedside.significant_text). Never add
# one -- make the name public or move it instead.
KNOWN_PRIVATE: set[tuple[str, str]] = set()


def private_imports(src: Path) -> set[tuple[str, str]]:
    """(importer, target) for every ``from M import _x`` across modules, and every import
    of a private module (``_m``) from outside the package that holds it."""
    found: set[tuple[str, str]] = set()
    for f in sorted(src.rglob("*.py")):
        mod = ".".join(f.relative_to(src.parent).with_suffix("").parts).removesuffix(
            ".__init__")
        is_pkg = f.name == "__init__.py"
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = mod.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith("remission"):
                continue
            parts = target.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:i])      # package that holds the private module
                    if not (mod == owner or mod.startswith(owner + ".")):
                        found.add((mod, target))
            for alias in node.names:
                name = alias.name
                if name.startswith("_") and not name.startswith("__") and target != mod:
                    # a private module imported by name from its own package is fine
                    sub = src.parent / Path(*target.split("."), name)
                    if (sub.with_suffix(".py").exists() or sub.is_dir()) and (
                            mod == target or mod.startswith(target + ".")):
                        continue
                    found.add((mod, f"{target}.{name}"))
    return found


def test_no_new_private_cross_module_imports() -> None:
    found = private_imports(SRC)
    new = sorted(found - KNOWN_PRIVATE)
    assert not new, f"private names imported from another module: {new}"
    gone = sorted(KNOWN_PRIVATE - found)
    assert not gone, f"paid-off debt still listed in KNOWN_PRIVATE: {gone}"


def test_private_import_check_sees_a_planted_one(tmp_path: Path) -> None:
    pkg = tmp_path / "remission"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("def _hidden():\n    return 1\n")
    (pkg / "a" / "_inner.py").write_text("")
    (pkg / "b.py").write_text("from remission.a.x import _hidden\n"
                              "from remission.a._inner import *\n")
    (pkg / "a" / "y.py").write_text("from remission.a._inner import *\n"
                                    "from . import _inner\n")
    assert private_imports(pkg) == {("remission.b", "remission.a.x._hidden"),
                                    ("remission.b", "remission.a._inner")}


def test_study_identity_is_declared_once() -> None:
    # StudyConfig (study.toml) and StudyInfo (report header) inherit the identity fields;
    # neither may declare them again (issue 13: StudyInfo re-declared StudyConfig)
    from dataclasses import fields

    from remission.core.bundle import StudyInfo
    from remission.core.identity import StudyIdentity
    from remission.study.config import StudyConfig

    ident = {f.name for f in fields(StudyIdentity)}
    assert {"name", "disease", "products", "day0", "synthetic"} <= ident
    for cls in (StudyConfig, StudyInfo):
        assert issubclass(cls, StudyIdentity)
        assert not ident & set(vars(cls).get("__annotations__", {})), cls.__name__
