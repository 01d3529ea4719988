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
    """The content of ``results.json`` as a dictionary (before serialisation).

    Parameters
    ----------
    bundle : ReportBundle
        The report.

    Returns
    -------
    dict
        ``format`` and ``format_version`` (:data:`FORMAT`, :data:`FORMAT_VERSION`),
        ``study`` (every field of :class:`~remission.core.bundle.StudyInfo`),
        ``software``, ``results`` (``Result.to_dict()`` in report order), ``figures``
        (name, title, caption, section; no image), ``methods`` (the Methods paragraph)
        and ``references``.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import Result, ResultSet
    >>> r = Result("orr", "ORR", pd.DataFrame({"n": [3]}), "Counts", section="efficacy")
    >>> d = report_dict(ReportBundle(StudyInfo("S", "AML", ("CAR-T",), "infusion"),
    ...                              ResultSet([r])))
    >>> sorted(d), d["study"]["products"], [x["name"] for x in d["results"]]
    (['figures', 'format', 'format_version', 'methods', 'references', 'results', \
'software', 'study'], ['CAR-T'], ['orr'])
    """
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
    """``results.json``: :func:`report_dict` as stable UTF-8 JSON bytes.

    Parameters
    ----------
    bundle : ReportBundle
        The report.

    Returns
    -------
    bytes
        Keys sorted, two-space indent, non-ASCII text as is, NaN and infinities as
        ``null``, a final newline; the same bundle always gives the same bytes.

    Examples
    --------
    >>> import json
    >>> import pandas as pd
    >>> from remission.core.bundle import StudyInfo
    >>> from remission.results import Result, ResultSet
    >>> t = pd.DataFrame({"median_days": [12.5, float("nan")]})
    >>> b = ReportBundle(StudyInfo("Étude", "AML", ("CAR-T",), "infusion"),
    ...                  ResultSet([Result("os", "OS", t, "Kaplan-Meier")]))
    >>> data = render_json(b)
    >>> data.endswith(b"}\\n"), "Étude".encode() in data, data == render_json(b)
    (True, True, True)
    >>> [row["median_days"] for row in json.loads(data)["results"][0]["rows"]]
    [12.5, None]
    """
    text = json.dumps(report_dict(bundle), sort_keys=True, indent=2, ensure_ascii=False,
                      allow_nan=False, default=_fallback)
    return (text + "\n").encode("utf-8")
