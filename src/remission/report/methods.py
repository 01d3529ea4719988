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
    """Results in report order: by :data:`SECTIONS`, unknown sections with "other".

    Parameters
    ----------
    bundle : ReportBundle
        The report's Results (any order).

    Returns
    -------
    list of Result
        Grouped by section in the order of :data:`remission.core.bundle.SECTIONS`
        (baseline, efficacy, safety, ...), keeping the bundle's order within a section;
        a Result of an unknown section is placed with "other".

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import ResultSet
    >>> def res(name, section, refs=(), **params):
    ...     return Result(name, name, pd.DataFrame({"n": [1]}), "Counts", params=params,
    ...                   references=refs, section=section)
    >>> b = ReportBundle(StudyInfo("S", "AML", ("CAR-T",), "infusion"), ResultSet(
    ...     [res("ae", "safety"), res("x", "misc"), res("t1", "baseline")]))
    >>> [r.name for r in ordered_results(b)]
    ['t1', 'ae', 'x']
    """
    known = [s for s, _ in SECTIONS]
    return [r for s in known for r in bundle.results if section_of(r.section) == s]


def section_of(section: str) -> str:
    """The report section a Result's ``section`` is shown in.

    Parameters
    ----------
    section : str
        ``Result.section``.

    Returns
    -------
    str
        ``section`` if it is a key of :data:`remission.core.bundle.SECTIONS`, else
        ``"other"``.

    Examples
    --------
    >>> section_of("safety"), section_of("misc")
    ('safety', 'other')
    """
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


def _criteria_name(code: str) -> str:
    return CRITERIA_NAMES.get(str(code), str(code))


def references(bundle: ReportBundle) -> list[str]:
    """All references of all Results, deduplicated, in order of first appearance.

    Parameters
    ----------
    bundle : ReportBundle
        The report; its Results are read in report order (:func:`ordered_results`).

    Returns
    -------
    list of str
        Each reference once (whitespace runs collapsed, empty ones dropped); the
        report numbers them 1, 2, ... in this order.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import ResultSet
    >>> def res(name, section, refs=(), **params):
    ...     return Result(name, name, pd.DataFrame({"n": [1]}), "Counts", params=params,
    ...                   references=refs, section=section)
    >>> b = ReportBundle(StudyInfo("S", "AML", ("CAR-T",), "infusion"), ResultSet(
    ...     [res("ae", "safety", ("Ref B", "Ref  A")), res("t1", "baseline", ("Ref A",))]))
    >>> references(b)
    ['Ref A', 'Ref B']
    """
    return _unique(ref for r in ordered_results(bundle) for ref in r.references)


def tests_used(results: Iterable[Result]) -> list[str]:
    """Distinct test/model names stated in Result params (keys ``test``, ``model``...).

    Parameters
    ----------
    results : iterable of Result
        Their ``params`` keys ``test``, ``tests``, ``method``, ``model`` and
        ``estimator`` are read (a text value or a list of them).

    Returns
    -------
    list of str
        Each name once, in order of first appearance.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"p": [0.5]})
    >>> tests_used([Result("a", "a", t, "", params={"test": "Fisher exact"}),
    ...             Result("b", "b", t, "", params={"tests": ["log-rank", "Fisher exact"]})])
    ['Fisher exact', 'log-rank']
    """
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
    """One paragraph naming each method, test, criteria system and software version.

    Parameters
    ----------
    bundle : ReportBundle
        The report: the study's criteria codes (``StudyInfo.criteria``, named with their
        source, e.g. ``eln2022`` -> ELN 2022 with its citation), each Result's
        ``method``, ``rationale``, tests (:func:`tests_used`) and confidence level, the
        number style and ``bundle.software``.

    Returns
    -------
    str
        Sentences in that order, each stated once; nothing a Result did not state.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import ResultSet
    >>> r = Result("orr", "ORR", pd.DataFrame({"n": [3]}), "Exact binomial CI",
    ...            params={"test": "Fisher exact", "conf_level": 0.95})
    >>> b = ReportBundle(StudyInfo("S", "AML", ("CAR-T",), "infusion",
    ...                            criteria={"response": "eln2022"}),
    ...                  ResultSet([r]), software={"remission": "1.0"})
    >>> text = methods_paragraph(b)
    >>> text.split(". ")[0]
    'Response was assessed according to ELN 2022 (Döhner H et al'
    >>> "Tests and models used: Fisher exact." in text, text.endswith("remission 1.0.")
    (True, True)
    >>> "two-sided at the 95% level" in text
    True
    """
    results = ordered_results(bundle)
    study = bundle.study
    parts: list[str] = []
    if study.criteria:
        crit = []
        for key, code in study.criteria.items():
            topic = _CRITERIA_TOPIC.get(key, str(key).replace("_", " "))
            verb = "assessed" if key == "response" else "graded"
            be = "were" if topic.endswith("s") else "was"
            name = _criteria_name(code)
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
    """1-based positions of ``result``'s references in the report's reference list.

    Parameters
    ----------
    result : Result
        The Result whose references are cited.
    refs : list of str
        The report's reference list (:func:`references`).

    Returns
    -------
    list of int
        The numbers the report prints (``[1]``, ``[3]``...), in the Result's order;
        references absent from ``refs`` are skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> r = Result("a", "a", pd.DataFrame(), "", references=("Ref C", "Ref A", "Ref Z"))
    >>> result_reference_numbers(r, ["Ref A", "Ref B", "Ref C"])
    [3, 1]
    """
    index = {r: i + 1 for i, r in enumerate(refs)}
    return [index[t] for t in _unique(result.references) if t in index]

