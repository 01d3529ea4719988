"""Public functions of the documented modules carry numpydoc sections (issue 13).

A statistician reads the API reference (docs/reference/, built from these docstrings) and
runs its Examples (doctests in ``make test``, several checked against R values quoted in
the docstring). For every module listed here each public function must have Parameters
(when it takes any), Returns and Examples; a module joins the list when it is complete
and never leaves it.

Django views (``remission.web.views``) are framework callbacks reached through
``remission/web/urls.py``, not library API. Their Examples resolve the view's URL
(``reverse``/``resolve``) and show the checks the view makes before it reads any data: a
request that is not signed in is redirected to the login page, a method the view does not
accept is answered 405, a non-staff import is refused; they run without a database. What a
view does with data (roles, 403/404, saving, audit trail) is tested in tests/web/. The web
functions that read or write stored studies (exports, cached grades, timeline, dashboard,
fingerprints, ``serve.setup``) are library code: their Examples create a one-patient study
through the ORM and run in a rolled-back transaction of pytest-django's test database
(created once per session, shared with tests/web). The repository's ``conftest.py`` marks
exactly the web doctests that say so ``django_db``; every other doctest has no database.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

DOCUMENTED = (
    "remission.analyses.raw.analyse",
    "remission.analyses.raw.audit",
    "remission.analyses.raw.cytopenia",
    "remission.analyses.raw.figures",
    "remission.analyses.raw.kinetics",
    "remission.analyses.raw.systems",
    "remission.audit.claims",
    "remission.audit.consistency",
    "remission.cli",
    "remission.core.bundle",
    "remission.core.identity",
    "remission.derive.adae",
    "remission.derive.adsl",
    "remission.derive.criteria.compare",
    "remission.derive.criteria.crs",
    "remission.derive.criteria.ctcae",
    "remission.derive.criteria.daily",
    "remission.derive.criteria.icaht",
    "remission.derive.criteria.infusions",
    "remission.derive.criteria.neuro",
    "remission.derive.criteria.plot",
    "remission.derive.criteria.response",
    "remission.derive.criteria.run",
    "remission.evidence.attainability",
    "remission.evidence.claims",
    "remission.evidence.counts",
    "remission.evidence.proportions",
    "remission.evidence.ratios",
    "remission.immunogenetics.annotate",
    "remission.immunogenetics.chimerism",
    "remission.immunogenetics.clonality",
    "remission.immunogenetics.folder",
    "remission.immunogenetics.hla",
    "remission.immunogenetics.kir",
    "remission.immunogenetics.origin",
    "remission.immunogenetics.panel",
    "remission.immunogenetics.plot",
    "remission.immunogenetics.vcf",
    "remission.io.atomic",
    "remission.io.cells",
    "remission.io.textcsv",
    "remission.kinetics.associations",
    "remission.kinetics.nca",
    "remission.kinetics.plot",
    "remission.kinetics.stein",
    "remission.lab.apoptosis",
    "remission.lab.doseresponse.batch",
    "remission.lab.doseresponse.fit",
    "remission.lab.doseresponse.joint",
    "remission.lab.doseresponse.model",
    "remission.lab.doseresponse.plot",
    "remission.lab.doseresponse.results",
    "remission.lab.enrichment",
    "remission.lab.folder",
    "remission.lab.formats",
    "remission.lab.qpcr",
    "remission.lab.rnaseq",
    "remission.lab.synergy",
    "remission.method_text",
    "remission.numbers",
    "remission.pipeline",
    "remission.plot.grades",
    "remission.plot.lanes",
    "remission.plot.response",
    "remission.plot.survival",
    "remission.report",
    "remission.report.background",
    "remission.report.figures",
    "remission.report.format",
    "remission.report.html",
    "remission.report.jsonout",
    "remission.report.labels",
    "remission.report.markdown",
    "remission.report.methods",
    "remission.report.publication",
    "remission.report.tables",
    "remission.report.terminal",
    "remission.report.word",
    "remission.results",
    "remission.roles",
    "remission.sim.abc",
    "remission.sim.bedside",
    "remission.sim.calibrate",
    "remission.sim.design",
    "remission.sim.escalation",
    "remission.sim.kernel",
    "remission.sim.model",
    "remission.sim.outcomes",
    "remission.sim.params",
    "remission.sim.pk",
    "remission.sim.population",
    "remission.sim.sensitivity",
    "remission.sim.solver",
    "remission.sim.sweep",
    "remission.sim.trial",
    "remission.singlecell.analysis",
    "remission.singlecell.declared",
    "remission.singlecell.io",
    "remission.singlecell.labeltransfer",
    "remission.singlecell.markers",
    "remission.singlecell.pl",
    "remission.singlecell.pp",
    "remission.singlecell.reference",
    "remission.singlecell.simulate",
    "remission.singlecell.stats",
    "remission.singlecell.tl",
    "remission.stats.contingency",
    "remission.stats.descriptive",
    "remission.stats.deseq",
    "remission.stats.design",
    "remission.stats.enrichment",
    "remission.stats.groups",
    "remission.stats.paired",
    "remission.stats.profile",
    "remission.stats.proportions",
    "remission.stats.regression",
    "remission.stats.response",
    "remission.stats.survival.competing",
    "remission.stats.survival.concordance",
    "remission.stats.survival.coxph",
    "remission.stats.survival.endpoints",
    "remission.stats.survival.finegray",
    "remission.stats.survival.km",
    "remission.stats.survival.restricted_mean",
    "remission.stats.survival.survdiff",
    "remission.stats.toxicity",
    "remission.study.config",
    "remission.study.load",
    "remission.study.schema",
    "remission.study.tables",
    "remission.study.typing",
    "remission.study.write",
    "remission.vocab.ctcae_terms",
    "remission.vocab.drugs",
    "remission.vocab.units",
    "remission.vocab.vocabulary",
    "remission.web.access",
    "remission.web.doctest_study",
    "remission.web.folder",
    "remission.web.fragments",
    "remission.web.forms",
    "remission.web.grading",
    "remission.web.models",
    "remission.web.serve",
    "remission.web.settings",
    "remission.web.summaries",
    "remission.web.views",
)


def missing_sections(source: str) -> list[str]:
    """``name: section`` for every public module-level function lacking a section."""
    out = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.name.startswith("_"):
            continue
        doc = ast.get_docstring(node) or ""
        args = [a.arg for a in [*node.args.posonlyargs, *node.args.args,
                                *node.args.kwonlyargs] if a.arg not in ("self", "cls")]
        need = (["Parameters"] if args else []) + ["Returns", "Examples"]
        out += [f"{node.name}: {sec}" for sec in need
                if f"{sec}\n{'-' * len(sec)}" not in doc]
    return out


@pytest.mark.parametrize("module", DOCUMENTED)
def test_public_functions_have_numpydoc_sections(module: str) -> None:
    path = Path(importlib.import_module(module).__file__)
    assert missing_sections(path.read_text(encoding="utf-8")) == []


def test_the_check_sees_a_missing_section() -> None:
    src = ('def f(x):\n    """Doc.\n\n    Returns\n    -------\n    int\n    """\n'
           'def _private(x):\n    pass\n')
    assert missing_sections(src) == ["f: Parameters", "f: Examples"]


def test_the_one_hop_survival_api_is_documented() -> None:
    # every function of remission.survival (the statistician's entry point), wherever
    # it is implemented
    import inspect

    from remission import survival

    missing = []
    for name in survival.__all__:
        obj = getattr(survival, name)
        if not inspect.isfunction(obj):
            continue
        doc = inspect.getdoc(obj) or ""
        missing += [f"{name}: {sec}" for sec in ("Parameters", "Returns", "Examples")
                    if f"{sec}\n{'-' * len(sec)}" not in doc]
    assert missing == []
