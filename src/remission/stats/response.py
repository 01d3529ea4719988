"""Response: category counts, response rates with exact CIs, and group comparisons.

Rates use Clopper-Pearson 95% intervals (never Wald). Across cohorts: Pearson
chi-square or Fisher's exact (see :func:`remission.stats.contingency.choose_test`); across
ordered dose groups also the Cochran-Armitage trend test (scores 1..k) and its exact
conditional version, both named in the table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from remission.results import Result
from remission.stats.contingency import choose_test, cochran_armitage, exact_trend
from remission.stats.groups import by_group, cohort_levels, row_key
from remission.stats.proportions import clopper_pearson

REFS = (
    "Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case "
    "of the binomial. Biometrika 1934;26:404-413.",
    "Armitage P. Tests for linear trends in proportions and frequencies. Biometrics "
    "1955;11:375-386.",
)

# Display order: deepest response first (MRD-negative CR ... NR, PD, NE).
CATEGORY_ORDER = ("MRD-CR", "CR_MRD-", "CRi_MRD-", "CRh_MRD-", "MRD+CR", "CR_MRD+", "CR", "CRh",
                  "CRh*", "CRi", "MLFS", "PR", "SD", "NR", "PD", "NE")

RATES = (("ORR", "RESPFL", "Overall response"), ("CR", "CRFL", "Complete remission"),
         ("MRD-negative CR", "MRDNEGFL", "MRD-negative complete remission"))


def response_categories(adsl: pd.DataFrame, order: list[str] | None = None) -> Result:
    """Patients by best overall response, overall and per cohort.

    The denominator is every treated patient: a patient without a response assessment is
    a row "not assessed", never dropped (intention-to-treat among the infused).

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL (:func:`remission.derive.adsl.derive_adsl`): one row per patient with
        ``COHORT`` and ``COHORTN`` (cohort and its order; one cohort means no groups),
        and ``BOR`` (best overall response; blank = not assessed).
    order : list of str, optional
        Category order; default deepest response first (:data:`CATEGORY_ORDER`, unknown
        categories last, alphabetically).

    Returns
    -------
    remission.results.Result
        ``response.categories``: rows ``"category | group"`` with ``n``, ``N``, ``pct``.

    Examples
    --------
    >>> import pandas as pd
    >>> adsl = pd.DataFrame({
    ...     "COHORT": ["low"] * 4 + ["high"] * 4, "COHORTN": [1] * 4 + [2] * 4,
    ...     "BOR": ["PR", "NR", "NR", "", "CR", "CR", "CRi", "NR"],
    ...     "RESPFL": ["Y", "N", "N", "", "Y", "Y", "Y", "N"],
    ...     "CRFL": ["N", "N", "N", "", "Y", "Y", "Y", "N"]})
    >>> t = response_categories(adsl).table
    >>> print(t[t["group"] == "Overall"][["n", "N", "pct"]].to_string())
                            n  N   pct
    CR | Overall            2  8  25.0
    CRi | Overall           1  8  12.5
    PR | Overall            1  8  12.5
    NR | Overall            3  8  37.5
    not assessed | Overall  1  8  12.5
    """
    bor = adsl["BOR"].fillna("")
    present = [c for c in pd.unique(bor) if c]
    rank = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    cats = order or sorted(present, key=lambda c: (rank.get(c, len(rank)), c))
    rows = {}
    for g, sub in by_group(adsl):
        sb = sub["BOR"].fillna("")
        denom = len(sb)
        for c in cats:
            k = int((sb == c).sum())
            rows[row_key(c, g)] = {"category": c, "group": g, "n": k, "N": denom,
                                   "pct": 100 * k / denom if denom else math.nan}
        miss = int((sb == "").sum())
        if miss:
            rows[row_key("not assessed", g)] = {"category": "not assessed", "group": g,
                                                "n": miss, "N": denom, "pct": 100 * miss / denom}
    return Result("response.categories", "Best overall response by group",
                  pd.DataFrame.from_dict(rows, orient="index"),
                  "Counts and percentages of patients by best overall response; denominator = "
                  "all treated patients (intention-to-treat among infused).",
                  section="efficacy",
                  display={"rows": "category", "columns": "group", "cell": "n_pct"})


def response_rates(adsl: pd.DataFrame, conf: float = 0.95, ordered: bool = False,
                   system: str = "as recorded") -> list[Result]:
    """Response rates (overall response, CR, MRD-negative CR) with exact CIs, and their
    comparison across cohorts.

    Each rate is the share of evaluable patients (flag ``"Y"`` or ``"N"``; blank = not
    evaluable) with a Clopper–Pearson interval. With two or more cohorts, response is
    compared by :func:`~remission.stats.contingency.choose_test` (Pearson chi-square or
    Fisher's exact); with ``ordered`` (dose levels) also by the Cochran–Armitage trend
    test and its exact version.

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL (:func:`remission.derive.adsl.derive_adsl`): one row per patient with
        ``COHORT`` and ``COHORTN`` (cohort and its order; one cohort means no groups),
        and the flags ``RESPFL``, ``CRFL``, ``MRDNEGFL`` (``"Y"``, ``"N"``, blank); a
        missing or all-blank flag is skipped.
    conf : float, default 0.95
        Confidence level of the intervals.
    ordered : bool, default False
        Cohorts are ordered dose levels (scores 1..k): add the trend tests.
    system : str, default "as recorded"
        The response criteria, named in the method text.

    Returns
    -------
    list of remission.results.Result
        ``response.rates`` (rows ``"endpoint | group"``: ``n``, ``N``, ``pct``,
        ``ci_low``, ``ci_high`` in percent) and, with two or more cohorts,
        ``response.tests``. Fewer than 30 patients adds a warning.

    Examples
    --------
    Overall response 4 of 7 evaluable: 57.1 %, 95 % CI 18.4 to 90.1 (R 4.2.2
    ``binom.test(4, 7)$conf.int``: 0.1840516 0.9010117); low vs high dose 1/3 vs 3/4 by
    Fisher's exact test (``fisher.test(matrix(c(1, 2, 3, 1), 2))$p.value`` = 0.4857143):

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({
    ...     "COHORT": ["low"] * 4 + ["high"] * 4, "COHORTN": [1] * 4 + [2] * 4,
    ...     "BOR": ["PR", "NR", "NR", "", "CR", "CR", "CRi", "NR"],
    ...     "RESPFL": ["Y", "N", "N", "", "Y", "Y", "Y", "N"],
    ...     "CRFL": ["N", "N", "N", "", "Y", "Y", "Y", "N"]})
    >>> rates, tests = response_rates(adsl, ordered=True)
    >>> print(rates.table.loc["ORR | Overall", ["n", "N", "pct", "ci_low", "ci_high"]]
    ...       .astype(float).round(1).to_string())
    n           4.0
    N           7.0
    pct        57.1
    ci_low     18.4
    ci_high    90.1
    >>> tests.table.loc["ORR", "test"], round(float(tests.table.loc["ORR", "p"]), 7)
    ("Fisher's exact", 0.4857143)
    """
    rows, tests = {}, {}
    levels = cohort_levels(adsl)
    warnings = []
    for key, flag, label in RATES:
        if flag not in adsl or (adsl[flag] == "").all():
            continue
        for g, sub in by_group(adsl):
            f = sub[flag]
            n_eval = int((f != "").sum())
            x = int((f == "Y").sum())
            lo, hi = clopper_pearson(x, n_eval, conf) if n_eval else (math.nan, math.nan)
            rows[row_key(key, g)] = {"endpoint": label, "group": g, "n": x, "N": n_eval,
                                     "pct": 100 * x / n_eval if n_eval else math.nan,
                                     "ci_low": 100 * lo, "ci_high": 100 * hi}
        if len(levels) > 1:
            sub = adsl[adsl[flag] != ""]
            succ = np.array([(sub.loc[sub["COHORT"] == lv, flag] == "Y").sum() for lv in levels])
            tot = np.array([(sub["COHORT"] == lv).sum() for lv in levels])
            table = np.vstack([succ, tot - succ])
            test, p, why = choose_test(table)
            rec = {"endpoint": label, "test": test, "p": p, "rationale": why}
            if ordered:
                chi, p_ca = cochran_armitage(succ, tot)
                rec.update({"trend_test": "Cochran-Armitage (scores 1..k)", "trend_chi2": chi,
                            "trend_p": p_ca, "exact_trend_p": exact_trend(succ, tot)})
            tests[key] = rec
    if len(adsl) < 30:
        warnings.append(f"n = {len(adsl)}: rates are imprecise; read the exact CIs, not the "
                        "point estimates")
    out = [Result(
        "response.rates", "Response rates with exact 95% confidence intervals",
        pd.DataFrame.from_dict(rows, orient="index"),
        f"Proportion of patients with each response (criteria: {system}) with "
        f"{int(conf * 100)}% Clopper-Pearson exact confidence intervals.",
        "Exact binomial intervals keep nominal coverage at small n; the Wald interval does not.",
        tuple(warnings), REFS, {"conf": conf}, "efficacy",
        display={"rows": "endpoint", "columns": "group", "cell": "pct_ci"})]
    if tests:
        out.append(Result(
            "response.tests", "Response rates compared across groups",
            pd.DataFrame.from_dict(tests, orient="index"),
            "Association of response with group: Pearson chi-square (no continuity correction) "
            "if all expected counts >= 5, else Fisher's exact test"
            + ("; trend across ordered dose groups: Cochran-Armitage test with scores 1..k and "
               "its exact conditional (permutation) version" if ordered else "") + ".",
            "Expected counts below 5 make the chi-square approximation unreliable.",
            tuple(warnings), REFS, {"ordered": ordered}, "efficacy"))
    return out
