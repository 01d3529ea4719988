"""Method lines a clinician or statistician reads: a Result's parameters as sentences.

Every Result states its method (``Result.method``), the reason for it
(``Result.rationale``) and the inputs that define it (``Result.params``). This module
holds the sentence templates that turn those inputs into prose instead of
``key = value`` lists, one per parameter (and one per family of parameters that read
as one clause, such as the grade >= 3 comparison of a toxicity table), so the Method
line reads::

    Kaplan–Meier estimates with Greenwood variance ... 95% confidence intervals on the
    log(−log) scale (R survfit conf.type "log-log"); survival estimates at 365 and 730 days.

It formats only what the Result holds (numbers through :mod:`remission.numbers`, in the
report's number style); it computes nothing. A parameter without a template still reads
as words ("Growth min share 0.05"), never as a variable name with an equals sign.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from remission.numbers import NumberStyle, format_value, get_style, is_missing, is_number

Phrase = Callable[[Any, Mapping[str, Any], NumberStyle], "str | None"]


def _num(v: Any) -> str:
    return format_value(v)


def _items(v: Any) -> list[str]:
    if isinstance(v, Mapping):
        return [f"{k} {_num(x)}" for k, x in v.items()]
    if isinstance(v, list | tuple | set | frozenset):
        vals = sorted(v, key=str) if isinstance(v, set | frozenset) else list(v)
        return [_num(x) for x in vals]
    return [_num(v)]


def join_words(items: Sequence[str]) -> str:
    """Join words as an English list: ``["a", "b", "c"]`` -> ``"a, b and c"``.

    Parameters
    ----------
    items : sequence of str
        The words, in order (non-strings are converted with ``str``).

    Returns
    -------
    str
        The words separated by ", " with " and " before the last (no Oxford comma);
        the single item for one word, ``""`` for none.

    Examples
    --------
    >>> join_words(["365", "730"]), join_words(["x"]), join_words([])
    ('365 and 730', 'x', '')
    """
    items = [str(x) for x in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _level(v: Any) -> str:
    x = float(v)
    return _num(x * 100 if x <= 1 else x) + "%"


# ----------------------------------------------------------------------- clause builders
_CONF_TYPES = {
    "log-log": "on the log(−log) scale (R survfit conf.type \"log-log\")",
    "log": "on the log scale (R survfit conf.type \"log\")",
    "plain": "on the linear scale (R survfit conf.type \"plain\")",
    "arcsin": "on the arcsine-square-root scale",
    "logit": "on the logit scale",
}
_CI_KINDS = {"profile": "profile-likelihood", "wald": "Wald", "exact": "exact",
             "clopper-pearson": "Clopper–Pearson exact", "wilson": "Wilson score"}


def _conf(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    if not is_number(v):
        return None
    kind = _CI_KINDS.get(str(p.get("ci", "")).lower(), "")
    text = f"two-sided {_level(v)} {kind + ' ' if kind else ''}confidence intervals"
    scale = _CONF_TYPES.get(str(p.get("conf_type", "")))
    return f"{text} {scale}" if scale else text


def _rho(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    if not is_number(v):
        return None
    if "causes" in p:  # cumulative incidence: rho of Gray's test
        return f"groups were compared with Gray's test (ρ = {_num(v)})"
    strat = " stratified" if p.get("stratified") else ""
    if float(v) == 0:
        return f"groups were compared with the two-sided{strat} log-rank test"
    if float(v) == 1:
        return ("groups were compared with the two-sided" + strat + " Peto–Peto "
                "(Gehan–Wilcoxon-type) test, G-rho family with ρ = 1")
    return (f"groups were compared with the two-sided{strat} Harrington–Fleming G-rho "
            f"test with ρ = {_num(v)}")


def _days(label: str) -> Phrase:
    def f(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
        items = _items(v)
        if not items:
            return None
        return f"{label} {'day' if len(items) == 1 else 'days'} {join_words(items)}"
    return f


def _fit_size(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    """``n`` with ``events``: "the model was fitted to 40 patients with 20 events"."""
    if "events" not in p or not is_number(v):
        return None if "events" in p or not is_number(v) else f"{_num(v)} patients"
    return f"the model was fitted to {_num(v)} patients with {_num(p['events'])} events"


def _loglik(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    if not is_number(v):
        return None
    if "loglik0" in p and is_number(p["loglik0"]):
        return (f"log partial likelihood {_num(v)} (null model {_num(p['loglik0'])})")
    return f"log-likelihood {_num(v)}"


def _grade3(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    """The grade >= 3 comparison of a toxicity table, one clause from five parameters."""
    test = str(v) if str(v).lower().endswith("test") else f"{v} test"
    text = f"patients with grade ≥3 were compared across groups with {test}"
    why = p.get("grade>=3 rationale")
    if why:
        text += f" ({why})"
    if "grade>=3 p" in p:
        text += f", P = {s.p(p['grade>=3 p'])}"
    trend = [(lab, p[k]) for k, lab in (("grade>=3 exact trend p", "exact"),
                                        ("grade>=3 trend p (Cochran-Armitage)",
                                         "Cochran–Armitage"))
             if k in p and not is_missing(p[k])]
    if trend:
        text += "; trend across ordered groups: " + ", ".join(
            f"{lab} P = {s.p(val)}" for lab, val in trend)
    return text


def _bool(yes: str, no: str | None) -> Phrase:
    def f(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
        if isinstance(v, bool) or getattr(v, "dtype", None) is not None:
            return yes if bool(v) else no
        return None
    return f


def _tmpl(template: str, values: Mapping[str, str] | None = None) -> Phrase:
    """A clause from a format string; ``{v}`` is the value (lists joined in words)."""
    def f(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
        if v is None or (isinstance(v, list | tuple | dict) and not v):
            return None
        if values is not None and str(v) in values:
            return values[str(v)]
        return template.format(v=join_words(_items(v)))
    return f


def _skip(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    return None


def _tests_reproducing(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    if p.get("reported_p") in (None, ""):
        return None
    names = {"pearson": "Pearson's chi-square", "yates": "chi-square with Yates' correction",
             "fisher": "Fisher's exact test", "midp": "the mid-P exact test"}
    tests = [names.get(str(t), str(t)) for t in (v or [])]
    if not tests:
        return "no test reproduces the printed P"
    return f"the printed P is reproduced by {join_words(tests)}"


def _reported_p(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    return "no P value was printed" if v in (None, "") else f"printed P = {v}"


def _groups(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    n1, n2 = p.get("n1"), p.get("n2")
    if "group1" in p:  # single-cell differential expression: cells, worded by group1
        return None
    if n1 is None and n2 is None:
        return "group sizes were not printed (enumerated)"
    return f"groups of {_num(n1)} and {_num(n2)} patients"


def _de_groups(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    n1, n2 = p.get("n1"), p.get("n2")
    return (f"{v} ({_num(n1)} cells) compared with {p.get('group2')} ({_num(n2)} cells)")


def _printed_pcts(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    return f"printed percentages {p.get('pct1')}% and {p.get('pct2')}%"


def _ratio_printed(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    return f"printed estimate {v} ({p.get('lower')} to {p.get('upper')})"


def _criteria_agreement(v: Any, p: Mapping[str, Any], s: NumberStyle) -> str | None:
    text = f"{_num(p.get('n_agree'))} of {_num(v)} comparisons agree"
    if "n_disagree" in p:
        text += f" ({_num(p['n_disagree'])} disagree)"
    return text


#: One clause builder per parameter. ``_skip`` marks a parameter that another
#: builder of the same family already words (``events`` with ``n``; the grade >= 3 keys).
PHRASES: dict[str, Phrase] = {
    # confidence intervals
    "conf": _conf, "conf_type": _skip, "ci": _skip, "level": _conf,
    # survival
    "landmarks": _days("survival estimates at"),
    "risk_times": _days("numbers at risk at"),
    "times": _days("cumulative incidence at"),
    "rho": _rho, "stratified": _skip,
    "causes": _tmpl("competing causes {v}"),
    "cause": _tmpl("cumulative incidence of {v}"),
    "tau": _tmpl("restricted mean survival time up to τ = {v} days"),
    "failcode": _tmpl("event of interest coded {v}"),
    "cencode": _tmpl("censoring coded {v}"),
    "cengroup": _tmpl("censoring distribution estimated within each level of {v}"),
    "censoring": _tmpl("censoring weights read as {v}", {
        "crr": "censoring weights read as R cmprsk crr reads them (G(t−), G(0) at time 0)",
        "left": "censoring weights at the left limit G(t−) at every time"}),
    "omitted": _tmpl("{v} rows with missing values omitted", {"0": ""}),
    "transform": _tmpl("time transformed by {v}", {
        "km": "Schoenfeld residuals tested against the Kaplan–Meier transform of time "
              "(R cox.zph default)",
        "identity": "Schoenfeld residuals tested against time itself",
        "rank": "Schoenfeld residuals tested against the rank of time"}),
    # model fits
    "n": _fit_size, "events": _skip,
    "iterations": _tmpl("Newton–Raphson converged in {v} iterations"),
    "loglik": _loglik, "loglik0": _skip,
    "penalised_loglik": _tmpl("penalised log-likelihood {v}"),
    "method": _tmpl("method {v}", {"ml": "maximum-likelihood fit",
                                   "firth": "Firth's penalised-likelihood fit"}),
    "intercept": _tmpl("intercept {v} on the log-odds scale"),
    "adjust": _tmpl("P values adjusted for multiplicity by the {v} method"),
    # response and toxicity
    "ordered": _bool("groups were treated as ordered, so a trend test is also reported",
                     "groups were treated as unordered"),
    "system": _tmpl("graded by {v}"), "system_code": _skip, "systems": _tmpl("systems {v}"),
    "crs_system": _tmpl("CRS graded by {v}"),
    "ctcae": _tmpl("cytopenias graded by {v}", {"ctcae_v5": "cytopenias graded by CTCAE "
                                                "v5.0"}),
    "icaht_counting": _tmpl("ICAHT neutropenia days counted as {v}", {
        "longest": "ICAHT neutropenia counted as the longest run of days below threshold"}),
    "grade>=3 test": _grade3, "grade>=3 p": _skip, "grade>=3 rationale": _skip,
    "grade>=3 exact trend p": _skip, "grade>=3 trend p (Cochran-Armitage)": _skip,
    # audit and evidence
    "claims_file": _tmpl("printed numbers read from {v}"),
    "n_compared": _criteria_agreement, "n_agree": _skip, "n_disagree": _skip,
    "keys": _tmpl("compared by {v}"),
    "compared": _tmpl("fields compared: {v}"),
    "label": _tmpl("comparison: {v}"),
    "pct1": _printed_pcts, "pct2": _skip,
    "n1": _groups, "n2": _skip, "x1": _skip, "x2": _skip,
    "reported_p": _reported_p, "tests_reproducing": _tests_reproducing,
    "estimate": _ratio_printed, "lower": _skip, "upper": _skip,
    "subgroup": _tmpl("subgroup: {v}"),
    "granularity": _tmpl("printed to a granularity of {v}"),
    "mean": _tmpl("printed mean {v}"), "pct": _tmpl("printed percentage {v}%"),
    "source": _tmpl("source: {v}"), "total": _tmpl("total: {v}"),
    "parts": _tmpl("parts: {v}"),
    # laboratory
    "control": _tmpl("compared with the {v} condition"),
    "treatment": _tmpl("treatment condition {v}"),
    "control_group": _tmpl("relative to the {v} group"),
    "alpha": _tmpl("significance threshold: adjusted P < {v}"),
    "n_significant": _tmpl("{v} genes significant"),
    "lfc_threshold": _tmpl("log2 fold-change threshold {v}"),
    "sd_threshold": _tmpl("replicates with a Ct SD above {v} cycles flagged"),
    "reference_genes": _tmpl("normalised to the reference genes {v}"),
    "efficiencies": _tmpl("amplification efficiencies {v}"),
    "equal_var": _bool("Student's t-test (equal variances)",
                       "Welch's t-test (unequal variances)"),
    "response_type": _tmpl("response read as {v}"),
    "n_boot": _tmpl("{v} bootstrap resamples"),
    "seed": _tmpl("random seed {v}"),
    "model": _tmpl("{v} model", {
        "LL.4": "four-parameter log-logistic model (LL.4, as R drc)",
        "LL.3": "three-parameter log-logistic model, lower asymptote fixed at 0 (LL.3, as "
                "R drc)",
        "LL.5": "five-parameter log-logistic model (LL.5, as R drc)"}),
    "dose_unit": _tmpl("doses in {v}"),
    "absolute_level": _tmpl("absolute IC50 where the curve crosses {v}"),
    "fix_lower": _tmpl("lower asymptote fixed at {v}"),
    "fix_upper": _tmpl("upper asymptote fixed at {v}"),
    # kinetics
    "lloq": _tmpl("lower limit of quantification {v}"),
    "blq": _tmpl("values below the LLOQ handled by rule '{v}'", {
        "tmax": "values below the LLOQ set to 0 up to Tmax and dropped after it",
        "zero": "values below the LLOQ set to 0",
        "drop": "values below the LLOQ dropped",
        "half_lloq": "values below the LLOQ set to half the LLOQ",
        "pknca": "values below the LLOQ set to 0 at the ends and dropped in between "
                 "(as R PKNCA)"}),
    "auc_end": _tmpl("AUC from day 0 to day {v}"),
    "auc_method": _tmpl("AUC by the {v} rule", {
        "lin_up_log_down": "AUC by the linear-up/log-down trapezoidal rule",
        "linear": "AUC by the linear trapezoidal rule"}),
    "c0_zero": _bool("concentration taken as 0 at day 0", None),
    "unit": _tmpl("concentrations in {v}"),
    "start": _tmpl("fit started from {v} values"),
    "exposures": _tmpl("exposures {v}"), "grade": _tmpl("toxicity endpoint {v}"),
    "responder": _tmpl("response endpoint {v}"),
    "variable": _tmpl("variable {v}"), "variables": _tmpl("variables {v}"),
    "peak_window": _tmpl("peaks within the first {v} days"),
    # simulation
    "replicates": _tmpl("{v} simulated trials"), "rule": _tmpl("{v} escalation rule"),
    "n_max": _tmpl("at most {v} patients per trial"),
    "target": _tmpl("target toxicity rate {v}"),
    "no_mtd_share": _tmpl("share of trials without an MTD {v}"),
    "n_base": _tmpl("{v} base samples"), "patients": _tmpl("{v} patients per run"),
    "spread": _tmpl("parameters varied by ±{v}"),
    "parameter_sets": _tmpl("{v} parameter sets"),
    "design": _tmpl("design {v}"), "arm": _tmpl("arm {v}"),
    # immunogenetics
    "n_persons": _tmpl("{v} persons typed"), "n_alleles": _tmpl("{v} alleles"),
    "n_pairs": _tmpl("{v} donor–recipient pairs"),
    "full_donor": _tmpl("full donor chimerism at ≥{v}% donor"),
    "drop_points": _tmpl("a fall of {v} percentage points flagged"),
    "snp_error": _tmpl("per-SNP error rate {v}"),
    "alert_share": _tmpl("clones above {v} of reads flagged"),
    "growth_fold": _tmpl("clonal growth flagged at {v}-fold"),
    "growth_min_share": _tmpl("growth counted from a share of {v}"),
    "n_resamples": _tmpl("{v} resamples"), "watch_list": _tmpl("watch list {v}"),
    # single-cell
    "group1": _de_groups, "group2": _skip, "labels": _tmpl("cells: {v}"),
    "cluster": _tmpl("clusters from {v}"), "by": _tmpl("counted per {v}"),
    "cells_agreeing_with_marker_labels": _tmpl("{v} cells agree with the marker-set labels"),
    "comparison": _tmpl("{v}"), "samples": _tmpl("samples {v}"),
    "n_up": _tmpl("{v} up-regulated genes"), "n_down": _tmpl("{v} down-regulated genes"),
    "n_universe": _tmpl("among {v} tested genes"),
    "gene_sets": _tmpl("{v} gene sets", {"shipped": "the shipped gene sets",
                                         "user GMT": "the shipped and the study's gene sets"}),
    "expected_rate": _tmpl("expected doublet rate {v}"),
    "removed": _tmpl("{v}", {"True": "predicted doublets removed",
                             "False": "predicted doublets kept"}),
}


def _words(key: str) -> str:
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else text


def _fallback(key: str, v: Any, s: NumberStyle) -> str:
    from remission.roles import is_p_name

    if is_p_name(key) and is_number(v):
        return f"{_words(key)}: P = {s.p(v)}"
    if isinstance(v, bool):
        return f"{_words(key)}: {'yes' if v else 'no'}"
    return f"{_words(key)} {join_words(_items(v))}"


def clauses(params: Mapping[str, Any], style: NumberStyle | str | None = None) -> list[str]:
    """The parameters of a Result as clauses, in their order (templated or in words).

    Parameters
    ----------
    params : Mapping
        ``Result.params``: parameter name -> value. A name in :data:`PHRASES` is read by
        its template (which may also read other entries, e.g. ``conf`` reads
        ``conf_type`` and ``ci``); any other name reads as words ("Growth min share
        0.05"; a p-value name as "P = ...", a bool as yes/no).
    style : NumberStyle or str, optional
        Number style for p-values (a :class:`remission.numbers.NumberStyle` or a key of
        :data:`remission.numbers.STYLES`; default ``"remission"``).

    Returns
    -------
    list of str
        One clause per parameter that yields text, lower-case first letter, no final
        full stop; parameters whose template yields nothing (e.g. a ``conf_type`` read
        by ``conf``) are left out.

    Raises
    ------
    ValueError
        When ``style`` is a string that names no style.

    Examples
    --------
    >>> clauses({"conf": 0.95, "conf_type": "log-log", "landmarks": [365.0, 730.0]})[1]
    'survival estimates at days 365 and 730'
    """
    st = get_style(style)
    out: list[str] = []
    for key, v in params.items():
        fn = PHRASES.get(str(key))
        text = fn(v, params, st) if fn is not None else _fallback(str(key), v, st)
        if text:
            out.append(text)
    return out


def params_sentence(params: Mapping[str, Any], style: NumberStyle | str | None = None) -> str:
    """The parameters of a Result as one sentence ('' when there are none).

    Parameters
    ----------
    params : Mapping
        ``Result.params``.
    style : NumberStyle or str, optional
        Number style for p-values (default ``"remission"``).

    Returns
    -------
    str
        Clauses joined with semicolons, first letter capitalised, ending with a full stop.

    Examples
    --------
    >>> params_sentence({"rho": 0, "stratified": False})
    'Groups were compared with the two-sided log-rank test.'
    >>> params_sentence({"conf": 0.9, "landmarks": [365.0]})
    'Two-sided 90% confidence intervals; survival estimates at day 365.'
    """
    parts = clauses(params, style)
    if not parts:
        return ""
    text = "; ".join(parts)
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def method_line(method: str, rationale: str, params: Mapping[str, Any],
                style: NumberStyle | str | None = None) -> str:
    """The whole Method line of a Result: its method, rationale and parameters as prose.

    Parameters
    ----------
    method : str
        ``Result.method`` (a full stop is added when it has none; blank is left out).
    rationale : str
        ``Result.rationale`` (same rules as ``method``).
    params : Mapping
        ``Result.params``, read by :func:`params_sentence`.
    style : NumberStyle or str, optional
        Number style for p-values (default ``"remission"``).

    Returns
    -------
    str
        Method, rationale and parameter sentence, separated by single spaces.

    Examples
    --------
    >>> method_line("Kaplan–Meier estimates.", "", {"rho": 0})
    'Kaplan–Meier estimates. Groups were compared with the two-sided log-rank test.'
    """
    parts = [x.strip() for x in (method, rationale) if x and x.strip()]
    parts = [x if x.endswith((".", "?", "!")) else x + "." for x in parts]
    sentence = params_sentence(params, style)
    if sentence:
        parts.append(sentence)
    return " ".join(parts)
