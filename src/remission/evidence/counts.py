"""Single proportions and category counts printed for a small cohort.

``[[proportion]]`` claims: which counts x of n patients print as the given percentage,
and the exact (Clopper-Pearson) interval each count carries; optional ``parts`` name
other proportions whose counts must add up to this one (e.g. ORR = CR/CRi + PR).
``[[distribution]]`` claims: counts per category (e.g. CRS grades) against n, with the
rates they imply (any category, the highest categories) and their exact intervals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from remission.evidence.proportions import Printed, counts_matching
from remission.results import Result
from remission.stats.proportions import clopper_pearson

REFS = ("Clopper CJ, Pearson ES. Biometrika 1934;26:404-13.",
        "Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-9 (consistency checks).")


def reconstruct_proportion(pct: str | float, n: int, label: str, source: str = "",
                           name: str = "evidence.proportion") -> Result:
    """Counts x in 0..n whose percentage prints as ``pct``, each with its exact 95% CI.

    Parameters
    ----------
    pct:
        Printed percentage (string keeps its decimals).
    n:
        Number of patients.
    label, source, name:
        Labels of the Result.

    Returns
    -------
    Result

    Examples
    --------
    >>> reconstruct_proportion("80", 5, "ORR").table["x"].tolist()
    [4]
    """
    p = Printed.parse(pct)
    xs = counts_matching(p, n)
    rows = []
    for x in xs:
        lo, hi = clopper_pearson(x, n)
        rows.append({"x": x, "n": n, "pct_exact": 100 * x / n, "ci_low_pct": 100 * lo,
                     "ci_high_pct": 100 * hi})
    table = pd.DataFrame(rows, columns=["x", "n", "pct_exact", "ci_low_pct", "ci_high_pct"],
                         index=[f"{label} | {r['x']}/{n}" for r in rows])
    warn = () if xs else (f"no count of {n} patients prints as {pct}%",)
    return Result(name=name, title=f"Proportion check: {label}", table=table, section="audit",
                  method=("Every count x of n whose percentage rounds to the printed value; "
                          "exact Clopper-Pearson 95% interval of each."),
                  rationale=f"{len(xs)} count(s) of {n} reproduce {pct}%.",
                  warnings=warn, references=REFS,
                  params={"label": label, "pct": str(pct), "n": n, "source": source})


def check_parts(total: Result, parts: Sequence[Result], name: str) -> Result:
    """Do the counts of ``parts`` add up to a count of ``total``?

    Parameters
    ----------
    total : Result
        :func:`reconstruct_proportion` of the total (e.g. overall response).
    parts : sequence of Result
        :func:`reconstruct_proportion` of each part (e.g. CR and PR).
    name : str
        Name of the Result.

    Returns
    -------
    remission.results.Result
        One row per combination of the parts' counts that equals a count of the total
        (none: the parts cannot add up to the total).

    Examples
    --------
    Of 12 patients, ORR 58.3 % = CR 33.3 % + PR 25.0 %: only 7 = 4 + 3:

    >>> t = reconstruct_proportion("58.3", 12, "ORR")
    >>> parts = [reconstruct_proportion("33.3", 12, "CR"),
    ...          reconstruct_proportion("25.0", 12, "PR")]
    >>> check_parts(t, parts, "evidence.orr_sum").table.to_dict("index")
    {'4 + 3 = 7': {'CR': 4, 'PR': 3}}
    """
    import itertools

    opts = [r.table["x"].tolist() for r in parts]
    want = set(total.table["x"].tolist())
    combos = [c for c in itertools.product(*opts) if sum(c) in want]
    labels = [str(r.params["label"]) for r in parts]
    rows = {" + ".join(f"{x}" for x in c) + f" = {sum(c)}": dict(zip(labels, c, strict=True))
            for c in combos}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=labels)
    lab = str(total.params["label"])
    return Result(name=name, title=f"Sum check: {lab} = " + " + ".join(labels), table=table,
                  section="audit", method="Combinations of the parts' counts that equal a "
                  "count reproducing the total.",
                  warnings=() if combos else (f"no combination of {', '.join(labels)} adds up "
                                              f"to {lab}",),
                  references=REFS[1:], params={"total": lab, "parts": labels})


def reconstruct_distribution(counts: Mapping[str, int], n: int, label: str,
                             order: Sequence[str] | None = None, source: str = "",
                             name: str = "evidence.distribution") -> Result:
    """Counts per category against n, with the cumulative rates of the top categories.

    Parameters
    ----------
    counts:
        Category -> number of patients (e.g. ``{"grade 1": 3, "grade 3": 1}``).
    n:
        Number of patients.
    label:
        What is counted (e.g. "CRS by maximum grade").
    order:
        Categories from lowest to highest (default: as given); rows ``>= <category>``
        give the share at or above it.
    source, name:
        Labels.

    Returns
    -------
    Result
        Rows ``"<label> | <category>"`` and ``"<label> | >= <category>"`` with ``x``,
        ``n``, ``pct`` and the Clopper–Pearson interval in percent; a warning when the
        categories add up to more than n.

    Examples
    --------
    >>> r = reconstruct_distribution({"grade 1": 3, "grade 2": 2, "grade 3": 1}, 12,
    ...                              "CRS by maximum grade")
    >>> row = r.table.loc["CRS by maximum grade | >= grade 2"]
    >>> int(row["x"]), float(row["pct"])
    (3, 25.0)
    """
    cats = list(order or counts)
    tot = sum(counts.values())
    rows, keys = [], []
    for c in cats:
        x = int(counts.get(c, 0))
        lo, hi = clopper_pearson(x, n)
        keys.append(f"{label} | {c}")
        rows.append({"x": x, "n": n, "pct": 100 * x / n, "ci_low_pct": 100 * lo,
                     "ci_high_pct": 100 * hi})
    for i, c in enumerate(cats):
        x = sum(int(counts.get(k, 0)) for k in cats[i:])
        lo, hi = clopper_pearson(x, n)
        keys.append(f"{label} | >= {c}")
        rows.append({"x": x, "n": n, "pct": 100 * x / n, "ci_low_pct": 100 * lo,
                     "ci_high_pct": 100 * hi})
    warn = []
    if tot > n:
        warn.append(f"categories add up to {tot} > n = {n}: a patient counted twice, or "
                    "more patients than reported")
    return Result(name=name, title=f"Distribution check: {label}", table=pd.DataFrame(
        rows, index=keys), section="audit",
        method=("Counts per category and at-or-above each category, as shares of n with "
                "exact Clopper-Pearson 95% intervals."),
        rationale=f"{tot} of {n} patients fall in a listed category.",
        warnings=tuple(warn), references=REFS[:1],
        params={"label": label, "n": n, "source": source})
