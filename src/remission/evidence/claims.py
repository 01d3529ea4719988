"""Read a ``claims.toml`` of published numbers and reconstruct each one.

Format (provisional; tables other than these are ignored)::

    [[comparison]]            # two proportions and a P value
    label = "CR/PR, VEN vs no VEN"
    pct1 = "78.8"             # printed percentages, as strings to keep trailing zeros
    pct2 = "66.7"
    reported_p = "0.279"      # or "<0.0001"; optional (then consistency only)
    n1 = 33                   # optional group sizes / counts
    n2 = 30
    x1 = 26
    x2 = 20
    n1_max = 12               # optional search bounds when n is not printed
    n2_max = 21
    source = "Abstract, Results"

    [[mean]]                  # label, mean (string), n, granularity (optional), source
    [[median]]                # label, median, low, high, n, granularity (optional), source
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from remission.errors import ProblemLog
from remission.evidence.attainability import grim_mean, median_range_attainable
from remission.evidence.proportions import Printed, reconstruct_two_proportions
from remission.results import Result

_COMPARISON_KEYS = {"label", "reported_p", "pct1", "pct2", "n1", "n2", "x1", "x2", "source",
                    "n1_max", "n2_max"}


def reconstruct_claims(path: str | Path) -> list[Result]:
    """One Result per claim in the file, in file order; bad entries raise ``InputError``."""
    path = Path(path)
    log = ProblemLog()
    try:
        doc: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.add(str(path), f"cannot read claims file: {exc}")
        log.raise_if_any()
        raise AssertionError("unreachable") from exc
    comps = doc.get("comparison", [])
    for i, c in enumerate(comps, 1):
        where = f"[[comparison]] #{i}"
        for k in ("label", "pct1", "pct2"):
            if k not in c:
                log.add(str(path), f"{where}: missing field", column=k)
        for k in set(c) - _COMPARISON_KEYS:
            log.add(str(path), f"{where}: unknown field", column=k,
                    expected=", ".join(sorted(_COMPARISON_KEYS)))
        for k in ("pct1", "pct2", "reported_p"):
            if k in c:
                try:
                    Printed.parse(c[k])
                except (ArithmeticError, ValueError):
                    log.add(str(path), f"{where}: not a printed number", column=k,
                            value=c[k], expected='e.g. "78.8" or "<0.001"')
    for i, c in enumerate(doc.get("mean", []), 1):
        for k in ("label", "mean", "n"):
            if k not in c:
                log.add(str(path), f"[[mean]] #{i}: missing field", column=k)
    for i, c in enumerate(doc.get("median", []), 1):
        for k in ("label", "median", "low", "high", "n"):
            if k not in c:
                log.add(str(path), f"[[median]] #{i}: missing field", column=k)
    log.raise_if_any()
    out: list[Result] = []
    for c in comps:
        kw = {k: c[k] for k in ("n1", "n2", "x1", "x2", "n1_max", "n2_max") if k in c}
        out.append(reconstruct_two_proportions(
            c["pct1"], c["pct2"], c.get("reported_p"), label=c["label"],
            source=c.get("source", ""), name=f"evidence.comparison.{len(out) + 1}", **kw))
    for c in doc.get("mean", []):
        out.append(grim_mean(c["mean"], int(c["n"]), c.get("granularity", 1.0), c["label"]))
    for c in doc.get("median", []):
        out.append(median_range_attainable(c["median"], c["low"], c["high"], int(c["n"]),
                                           c.get("granularity", 1.0), c["label"]))
    return out
