"""ReportBundle -> ``results.json``: every Result in full precision, for statisticians.

Stable bytes: keys sorted, two-space indent, floats as Python's shortest round-trip
``repr`` (identical on every platform), NaN/inf written as ``null`` (by
:func:`remission.results.to_jsonable`), UTF-8 without ASCII escaping.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from remission.core.bundle import ReportBundle
from remission.report.methods import methods_paragraph, ordered_results, references
from remission.results import to_jsonable

FORMAT = "remission.report.results"
FORMAT_VERSION = 1


def _fallback(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    if isinstance(obj, set | frozenset):
        return sorted(str(x) for x in obj)
    return str(obj)


def report_dict(bundle: ReportBundle) -> dict[str, Any]:
    study = {f.name: to_jsonable(getattr(bundle.study, f.name))
             for f in dataclasses.fields(bundle.study)}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "study": study,
        "software": {str(k): str(v) for k, v in bundle.software.items()},
        "results": [r.to_dict() for r in ordered_results(bundle)],
        "figures": [
            {"name": f.name, "title": f.title, "caption": f.caption, "section": f.section}
            for f in bundle.figures
        ],
        "methods": methods_paragraph(bundle),
        "references": references(bundle),
    }


def render_json(bundle: ReportBundle) -> bytes:
    text = json.dumps(report_dict(bundle), sort_keys=True, indent=2, ensure_ascii=False,
                      allow_nan=False, default=_fallback)
    return (text + "\n").encode("utf-8")
