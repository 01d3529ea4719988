"""The documentation cannot go stale: tutorials run, the API reference builds.

Every fenced block of ``docs/tutorials/*.md`` is checked, by its language:

* ``pycon`` -- the ``>>>`` examples of all blocks of a page run in order in one
  namespace (doctest, from the repository root) and their printed output must match;
* ``console`` -- each ``$ remission ...`` command runs through ``python -m remission.cli``
  and its standard output must match the lines below it;
* ``toml`` -- an excerpt whose first line is ``# <path>``: it must appear verbatim in
  that file of the repository;
* ``r`` -- R code run live by the ``r``-marked test; the ``text`` block right after it is
  R's printed output (the R values are also committed in ``tests/rref``);
* any other language is an unchecked block and fails the test.

The reference (``mkdocs.yml``, mkdocstrings over ``src/``) is built with ``--strict`` so a
broken cross-reference, a docstring griffe cannot parse or a moved module fails.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rref import committed, live

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
CHECKED = {"pycon", "console", "toml", "r", "text"}


def blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, body, line number) of each fenced block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_tutorials_exist() -> None:
    assert {p.stem for p in TUTORIALS} >= {"first-kaplan-meier", "grading-vitals",
                                           "auditing-a-paper", "dose-response", "kir-hla",
                                           "expansion-nca"}


@pytest.mark.parametrize("path", TUTORIALS, ids=_ids(TUTORIALS))
def test_every_block_is_checked(path: Path) -> None:
    found = blocks(path)
    assert found, f"{path.name}: no code blocks"
    bad = [f"{path.name}:{line}: ```{lang}" for lang, _, line in found if lang not in CHECKED]
    assert not bad, "blocks no test checks (use pycon/console/toml/r): " + ", ".join(bad)
    langs = [lang for lang, _, _ in found]
    for i, lang in enumerate(langs):
        if lang == "text":
            assert i > 0 and langs[i - 1] == "r", f"{path.name}: a text block follows an r block"


@pytest.mark.parametrize("path", TUTORIALS, ids=_ids(TUTORIALS))
def test_tutorial_python(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pycon = [(body, line) for lang, body, line in blocks(path) if lang == "pycon"]
    if not pycon:
        pytest.skip(f"{path.name} has no Python examples")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    globs: dict = {"__name__": "__tutorial__"}
    for body, line in pycon:  # one namespace for the page, line numbers of the page
        test = doctest.DocTestParser().get_doctest(body, globs, path.name, str(path), line)
        runner.run(test, out=out.append, clear_globs=False)
        globs = test.globs
    assert runner.failures == 0, "".join(out)
    assert runner.tries > 0


def _console(body: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a console block."""
    pairs: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            assert pairs, f"console output before any command: {line!r}"
            pairs[-1][1].append(line)
    return [(cmd, "\n".join(lines)) for cmd, lines in pairs]


@pytest.mark.parametrize("path", TUTORIALS, ids=_ids(TUTORIALS))
def test_tutorial_console(path: Path) -> None:
    cmds = [p for lang, body, _ in blocks(path) if lang == "console" for p in _console(body)]
    if not cmds:
        pytest.skip(f"{path.name} has no commands")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg",
           "COLUMNS": "100", "NO_COLOR": "1"}
    for cmd, expected in cmds:
        argv = shlex.split(cmd)
        assert argv[0] == "remission", f"only remission commands are run: {cmd}"
        proc = subprocess.run([sys.executable, "-m", "remission.cli", *argv[1:]], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=300)
        got = "\n".join(ln.rstrip() for ln in proc.stdout.strip("\n").splitlines())
        want = "\n".join(ln.rstrip() for ln in expected.strip("\n").splitlines())
        assert got == want, f"{path.name}: `{cmd}` printed\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("path", TUTORIALS, ids=_ids(TUTORIALS))
def test_tutorial_toml_excerpts(path: Path) -> None:
    for lang, body, line in blocks(path):
        if lang != "toml":
            continue
        first = body.splitlines()[0]
        assert first.startswith("# "), f"{path.name}:{line}: first line must be '# <path>'"
        source = (ROOT / first[2:].strip()).read_text(encoding="utf-8")
        excerpt = "\n".join(body.splitlines()[1:])
        assert excerpt in source, f"{path.name}:{line}: excerpt not found in {first[2:]}"


def _km_on_example() -> dict[str, list[float]]:
    from remission.stats.survival import KaplanMeier, derive_endpoints
    from remission.study import load_study

    study = load_study(ROOT / "examples" / "cll1-post-hsct")
    adtte = derive_endpoints(study.table("events"), patients=study.patients, endpoints=["OS"])
    km = KaplanMeier().fit(adtte["AVAL"], 1 - adtte["CNSR"])
    s = km.summary
    return {"time": list(s["time"]), "n_risk": list(s["n_risk"]), "surv": list(s["surv"]),
            "std_err": list(s["std_err"]), "lower": list(s["lower"]),
            "median": list(km.median)}


def _close(a: list, b: list) -> bool:
    a = [float("nan") if v is None else float(v) for v in a]
    b = [float("nan") if v is None else float(v) for v in b]
    return len(a) == len(b) and all(x == y or (x != x and y != y) or abs(x - y) < 1e-9
                                    for x, y in zip(a, b, strict=True))


def test_first_km_tutorial_matches_committed_r() -> None:
    """The tutorial's Kaplan–Meier equals R survfit (tests/rref/tutorial_km_cll1.R)."""
    ours, ref = _km_on_example(), committed("tutorial_km_cll1")
    for key, val in ours.items():
        assert _close(val, ref[key]), (key, val, ref[key])


@pytest.mark.r
def test_first_km_tutorial_r_live() -> None:
    """R still gives the committed values of tests/rref/tutorial_km_cll1.R."""
    ref, now = committed("tutorial_km_cll1"), live("tutorial_km_cll1")
    for key, val in ref.items():
        assert _close(val, now[key]), key


@pytest.mark.r
@pytest.mark.parametrize("path", TUTORIALS, ids=_ids(TUTORIALS))
def test_tutorial_r_blocks_live(path: Path) -> None:
    """Each ``r`` block of a tutorial, run from the repository root, prints its ``text``."""
    found = blocks(path)
    pairs = [(found[i][1], found[i + 1][1]) for i in range(len(found) - 1)
             if found[i][0] == "r" and found[i + 1][0] == "text"]
    if not pairs:
        pytest.skip(f"{path.name} shows no R code")
    for code, printed in pairs:
        proc = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True,
                              text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == printed.split(), proc.stdout


def _ic50_on_example() -> dict:
    from remission.lab.doseresponse import (
        compare_curves,
        fit_curve,
        normalise_to_vehicle,
        profile_ic50_ci,
    )
    from remission.lab.formats import read_plate_table

    pct = normalise_to_vehicle(read_plate_table(ROOT / "examples" / "synthetic-lab"
                                                / "doseresponse.csv"))
    treated = pct[pct["dose"] > 0]
    out: dict = {}
    for g, d in treated.groupby("group"):
        f = fit_curve(d["dose"], d["response"])
        names = ("A", "B", "xmid", "scal")
        out[g] = {"coef": [f.params[k] for k in names], "se": [f.se[k] for k in names],
                  "rss": f.rss, "ic50": [f.ic50, f.ic50_lower, f.ic50_upper]}
        if g == "shCtrl":
            out["profile_shCtrl"] = list(profile_ic50_ci(d["dose"], d["response"], f))
    c = compare_curves(treated["dose"], treated["response"], treated["group"],
                       reference="shCtrl")
    r = c["ratios"]["shCLL1"]
    out["compare"] = {"F": c["test"]["F"], "p": c["test"]["p"],
                      "rss_full": c["test"]["rss_full"],
                      "rss_reduced": c["test"]["rss_reduced"], "ratio": r["ratio"],
                      "log_ci": [r["log_lower"], r["log_upper"]]}
    return out


def test_ic50_tutorial_matches_committed_r() -> None:
    """docs/tutorials/dose-response.md equals R nls(SSfpl) (tests/rref/tutorial_ic50.R).

    R's nls stops at its default relative-offset tolerance, so parameters agree to a
    relative 1e-4 (the loosely determined lower asymptote B differs in the 6th digit);
    remission's residual sums of squares are never above R's. R's profile interval is
    spline-interpolated (MASS), remission's limits are solved exactly: 1e-3 relative.
    """
    ours, ref = _ic50_on_example(), committed("tutorial_ic50")
    for g in ("shCtrl", "shCLL1"):
        for key in ("coef", "se", "ic50"):
            assert ours[g][key] == pytest.approx(ref[g][key], rel=1e-4), (g, key)
        assert ours[g]["rss"] <= ref[g]["rss"] + 1e-9
        assert ours[g]["rss"] == pytest.approx(ref[g]["rss"], rel=1e-9)
    assert ours["profile_shCtrl"] == pytest.approx(ref["profile_shCtrl"], rel=1e-3)
    for key, val in ref["compare"].items():
        assert ours["compare"][key] == pytest.approx(val, rel=1e-4), key
    assert ours["compare"]["rss_full"] <= ref["compare"]["rss_full"] + 1e-9


@pytest.mark.r
def test_ic50_tutorial_r_live() -> None:
    """R still gives the committed values of tests/rref/tutorial_ic50.R."""
    ref, now = committed("tutorial_ic50"), live("tutorial_ic50")
    for key, val in ref.items():
        if isinstance(val, dict):
            for k2, v2 in val.items():
                assert now[key][k2] == pytest.approx(v2, rel=1e-9), (key, k2)
        else:
            assert now[key] == pytest.approx(val, rel=1e-9), key


def test_api_reference_builds(tmp_path: Path) -> None:
    """``make docs``: mkdocs + mkdocstrings (static, griffe) with --strict.

    Not ``--quiet``: mkdocs 1.6 then drops warnings before --strict counts them.
    """
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (tmp_path / "site" / "reference" / "survival.html").read_text(encoding="utf-8")
    assert "kaplan_meier" in page and "Parameters" in page
    # every survival method is documented under both of its paths (a submodule named
    # like a function hides the function from griffe: remission.stats.survival.rmst)
    from remission import survival

    absent = [f"{pkg}.{name}" for name in survival.__all__
              for pkg in ("remission.survival", "remission.stats.survival")
              if f'id="{pkg}.{name}"' not in page]
    assert absent == [], f"missing from docs/reference/survival.md's page: {absent}"
    for name in ("first-kaplan-meier", "grading-vitals", "auditing-a-paper", "dose-response",
                 "kir-hla", "expansion-nca"):
        assert (tmp_path / "site" / "tutorials" / f"{name}.html").exists()
