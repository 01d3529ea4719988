"""One public entry per method, one hop away (issue #13): ``remission.lab`` and
``remission.immunogenetics``.

Each public submodule says its public API in ``__all__``; the package exports exactly the
union of them (a static name -> submodule map, resolved on first use by PEP 562
``__getattr__``), so a function added to a submodule's ``__all__`` and forgotten in the map
fails here, as does one name exported by two submodules. Importing the package must not
import its submodules (the cold ``remission report`` time), which is checked in a fresh
interpreter. And no ``__all__`` anywhere under src/remission lists a private name.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "remission"
PACKAGES = ("remission.lab", "remission.immunogenetics")


def _public_submodules(pkg: ModuleType) -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_is_its_submodules_object(name: str) -> None:
    pkg = import_module(name)
    where = pkg._WHERE
    assert sorted(pkg.__all__) == sorted(where)
    for attr in pkg.__all__:
        sub = import_module(f"{name}.{where[attr]}")
        assert attr in sub.__all__, f"{name}.{attr}: not in {sub.__name__}.__all__"
        assert getattr(pkg, attr) is getattr(sub, attr), f"{name}.{attr}"
    assert set(pkg.__all__) <= set(dir(pkg))
    with pytest.raises(AttributeError, match="no attribute 'no_such_function'"):
        pkg.no_such_function  # noqa: B018


@pytest.mark.parametrize("name", PACKAGES)
def test_every_submodule_name_is_exported_once(name: str) -> None:
    pkg = import_module(name)
    owner: dict[str, str] = {}
    twice: list[str] = []
    for subname in _public_submodules(pkg):
        sub = import_module(f"{name}.{subname}")
        assert "__all__" in vars(sub), f"{sub.__name__} has no explicit __all__"
        for attr in sub.__all__:
            assert hasattr(sub, attr), f"{sub.__name__}.__all__ lists undefined {attr!r}"
            if attr in owner:
                twice.append(f"{attr} ({owner[attr]}, {subname})")
            owner[attr] = subname
    assert twice == [], f"exported by two submodules of {name}: {twice}"
    missing = sorted(set(owner) - set(pkg.__all__))
    extra = sorted(set(pkg.__all__) - set(owner))
    assert missing == [] and extra == [], f"{name}: not exported {missing}; stray {extra}"
    assert owner == pkg._WHERE


def _all_lists(tree: ast.Module) -> list[list[str]]:
    """The string literals of every ``__all__ = [...]`` / ``__all__: T = [...]`` / ``+=``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets, value = [node.target], node.value
        else:
            continue
        if value is None or not any(isinstance(t, ast.Name) and t.id == "__all__"
                                    for t in targets):
            continue
        found.append([c.value for c in ast.walk(value)
                      if isinstance(c, ast.Constant) and isinstance(c.value, str)])
    return found


def test_no_all_lists_a_private_name() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        for names in _all_lists(ast.parse(path.read_text(encoding="utf-8"))):
            bad += [f"{path.relative_to(SRC)}: {n}" for n in names if n.startswith("_")]
    assert bad == [], f"private names in __all__: {bad}"


def test_private_name_check_sees_a_planted_one() -> None:
    tree = ast.parse('__all__: list[str] = ["ok", "_hidden"]\n__all__ += ["_more"]\n')
    assert [n for names in _all_lists(tree) for n in names if n.startswith("_")] == [
        "_hidden", "_more"]


def test_package_import_is_lazy() -> None:
    """A fresh interpreter: the packages import none of their submodules, nor the heavy
    libraries they use (scipy, matplotlib, statsmodels); the first use loads one."""
    code = (
        "import json, sys\n"
        "import remission.lab, remission.immunogenetics\n"
        "before = sorted(m for m in sys.modules if m.startswith(('remission.lab.',"
        " 'remission.immunogenetics.')) or m.split('.')[0] in ('scipy', 'matplotlib',"
        " 'statsmodels'))\n"
        "remission.immunogenetics.parse_allele\n"
        "after = 'remission.immunogenetics.hla' in sys.modules\n"
        "print(json.dumps([before, after]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                       os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    before, after = json.loads(proc.stdout)
    assert before == [], f"imported by `import remission.lab, remission.immunogenetics`: {before}"
    assert after is True
