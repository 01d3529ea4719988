"""The auto-written Methods paragraph and the deduplicated reference list.

Formatting only: every sentence is assembled from what the Results and the study already
say (``Result.method``, ``Result.rationale``, ``Result.params``, ``StudyInfo.criteria``,
``ReportBundle.software``). Nothing is inferred that a Result did not state.
"""

from __future__ import annotations

from collections.abc import Iterable

from remission.core.bundle import SECTIONS, ReportBundle
from remission.numbers import get_style
from remission.report.labels import conf_level_label
from remission.results import Result

#: Display names (with the source to cite) of the criteria codes of ``study.toml``.
CRITERIA_NAMES: dict[str, str] = {
    "as_recorded": "as recorded by the investigators",
    "eln2022": "ELN 2022 (Döhner H et al. Blood 2022;140:1345-77)",
    "eln2017": "ELN 2017 (Döhner H et al. Blood 2017;129:424-47)",
    "iwg2003": "IWG 2003 (Cheson BD et al. J Clin Oncol 2003;21:4642-9)",
    "nccn_all": "NCCN Guidelines for acute lymphoblastic leukemia",
    "blinatumomab_trials": "the response definitions of the blinatumomab trials",
    "lee2014": "Lee et al. 2014 (Blood 2014;124:188-95)",
    "astct2019": "ASTCT consensus 2019 (Lee DW et al. Biol Blood Marrow Transplant "
    "2019;25:625-38)",
    "cartox2018": "CARTOX 2018 (Neelapu SS et al. Nat Rev Clin Oncol 2018;15:47-62)",
    "cres_cartox2018": "CRES per CARTOX 2018 (Neelapu SS et al. Nat Rev Clin Oncol "
    "2018;15:47-62)",
    "icans_astct2019": "ICANS per ASTCT consensus 2019 (Lee DW et al. Biol Blood Marrow "
    "Transplant 2019;25:625-38)",
    "ctcae_v5": "CTCAE v5.0 (NCI, 2017)",
}
_CRITERIA_TOPIC = {
    "response": "response",
    "crs": "cytokine release syndrome",
    "neurotoxicity": "neurotoxicity",
    "adverse_events": "adverse events",
    "cytopenia": "cytopenias",
}
_TEST_KEYS = ("test", "tests", "method", "model", "estimator")


def ordered_results(bundle: ReportBundle) -> list[Result]:
    """Results in report order: by :data:`SECTIONS`, unknown sections with "other"."""
    known = [s for s, _ in SECTIONS]
    return [r for s in known for r in bundle.results if section_of(r.section) == s]


def section_of(section: str) -> str:
    return section if section in {s for s, _ in SECTIONS} else "other"


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for it in items:
        text = " ".join(str(it).split())
        if text and text not in seen:
            seen[text] = None
    return list(seen)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def criteria_name(code: str) -> str:
    return CRITERIA_NAMES.get(str(code), str(code))


def references(bundle: ReportBundle) -> list[str]:
    """All references of all Results, deduplicated, in order of first appearance."""
    return _unique(ref for r in ordered_results(bundle) for ref in r.references)


def tests_used(results: Iterable[Result]) -> list[str]:
    """Distinct test/model names stated in Result params (keys ``test``, ``model``...)."""
    out: list[str] = []
    for r in results:
        for key in _TEST_KEYS:
            v = r.params.get(key)
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, list | tuple):
                out.extend(str(x) for x in v)
    return _unique(out)


def methods_paragraph(bundle: ReportBundle) -> str:
    """One paragraph naming each method, test, criteria system and software version."""
    results = ordered_results(bundle)
    study = bundle.study
    parts: list[str] = []
    if study.criteria:
        crit = []
        for key, code in study.criteria.items():
            topic = _CRITERIA_TOPIC.get(key, str(key).replace("_", " "))
            verb = "assessed" if key == "response" else "graded"
            be = "were" if topic.endswith("s") else "was"
            name = criteria_name(code)
            how = name if name.lower().startswith("as ") else "according to " + name
            crit.append(f"{topic} {be} {verb} {how}")
        text = "; ".join(crit)
        parts.append(_sentence(text[0].upper() + text[1:]))
    parts += [_sentence(m) for m in _unique(r.method for r in results)]
    tests = tests_used(results)
    if tests:
        parts.append(_sentence("Tests and models used: " + _join(tests)))
    rationales = _unique(r.rationale for r in results)
    if rationales:
        parts.append("Choice of methods: " + " ".join(_sentence(x) for x in rationales))
    levels = _unique(conf_level_label(r.params) for r in results)
    levels = [lv for lv in levels if lv != "CI"]
    if levels:
        parts.append(_sentence(
            "Confidence intervals are two-sided at the "
            + _join([lv.replace(" CI", "") for lv in levels]) + " level"
        ))
    style = get_style(bundle.study.number_style)
    parts.append(_sentence(f"Numbers are reported with {style.title} (number style "
                           f"'{style.name}': " + "; ".join(style.references) + ")"))
    if bundle.software:
        sw = [f"{name} {version}" for name, version in bundle.software.items()]
        parts.append(_sentence("Computations used " + _join(sw)))
    return " ".join(parts)


def result_reference_numbers(result: Result, refs: list[str]) -> list[int]:
    """1-based positions of ``result``'s references in the report's reference list."""
    index = {r: i + 1 for i, r in enumerate(refs)}
    return [index[t] for t in _unique(result.references) if t in index]

