"""Rendered fragments of the pages, kept by what they show.

A page's large tables (the patient's grades by day, the timeline, a day's stored
readings) and the bedside entry form change little from one look to the next: a save
adds one day's readings to a patient but leaves its other rows as they were. Rendering
them with Django's template engine costs most of such a page's CPU time. Here a row (or
the unbound form) is rendered by the same engine from a small template of its own (the
loop body the page's template had), and the HTML is kept in this process under the
*values it shows* (each value with its type, so ``1``, ``1.0``, ``True`` and a string
marked safe are different keys): the same values render the same bytes, so a kept
fragment is exactly what the engine would write again, escaping included, and no
revision or invalidation is involved. A value that cannot be a key (a model instance,
anything but plain values, lists, dicts and dataclasses of them) is simply rendered
each time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import get_template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

#: fragments each process keeps (a row is a few hundred bytes; the form about 20 kB)
SIZE = 20000

_KEPT: OrderedDict[tuple, str] = OrderedDict()
_LOCK = threading.Lock()


#: scalar types kept by value (exactly these; subclasses take the general path)
_PLAIN = frozenset({str, int, float, bool, type(None), SafeString})


class _Unkeyable(Exception):
    pass


def _freeze(value):
    """A hashable key for ``value`` that tells apart values a template shows differently
    (the type goes with every scalar)."""
    t = type(value)
    if t in _PLAIN:  # the common case first (a table cell)
        return (t, "NaN") if t is float and value != value else (t, value)
    if t is dict:
        return ("d", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, dict):
        return ("d", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_freeze(v) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value), tuple((f.name, _freeze(getattr(value, f.name)))
                                   for f in dataclasses.fields(value)))
    if value is None or isinstance(value, (str, int, float, bool)):
        if value != value:  # NaN (equal to nothing): every NaN of a type shows alike
            return (type(value), "NaN")
        return (type(value), value)
    raise _Unkeyable  # anything else (a model instance...): rendered each time


@receiver(setting_changed)
def _settings_changed(**kwargs) -> None:
    """A test's changed setting (templates, form renderer) may change what renders."""
    clear()


def render(template_name: str, context: dict, keep: bool = True,
           factory=None) -> SafeString:
    """``template_name`` rendered with ``context`` (no request), kept by the context's
    values.

    Parameters
    ----------
    template_name : str
        A template of the web app (a fragment: no ``{% csrf_token %}``, nothing that
        depends on the request or the time).
    context : dict
        Everything the fragment reads: plain values, lists, dicts and dataclasses of them.
    keep : bool
        Keep (and look up) the result; False renders it as is (e.g. a form with errors).
    factory : callable, optional
        Makes the context the template reads when the fragment is not kept yet; then
        ``context`` is only its key and must hold everything the made context depends
        on (e.g. an unbound form's initial values: the form is built only when needed).

    Returns
    -------
    SafeString
        The HTML, as the template engine writes it.

    Examples
    --------
    >>> row = {"day": 3, "crs": 2, "crs_rule": "<b>hypoxia</b>", "crs_recorded": None,
    ...        "neuro": None, "neuro_rule": "", "neuro_recorded": None}
    >>> link = {"day_url": "/study/1/patient/7/day/", "day_url_end": "/"}
    >>> html = render("web/_daily_row.html", {**link, "d": row})
    >>> "&lt;b&gt;hypoxia&lt;/b&gt;" in html, render("web/_daily_row.html",
    ...     {**link, "d": dict(row)}) is html
    (True, True)
    """
    key = None
    if keep:
        try:
            key = (template_name, _freeze(context))
            hash(key)
        except (_Unkeyable, TypeError):
            key = None
    if key is not None:
        with _LOCK:
            html = _KEPT.get(key)
            if html is not None:
                _KEPT.move_to_end(key)
                return html
    html = mark_safe(get_template(template_name).render(
        factory() if factory is not None else context))
    if key is not None:
        with _LOCK:
            _KEPT[key] = html
            while len(_KEPT) > SIZE:
                _KEPT.popitem(last=False)
    return html


def render_rows(template_name: str, rows, name: str = "d", **shared) -> SafeString:
    """Each of ``rows`` rendered by ``template_name`` (as ``name``, with ``shared``),
    joined: what a ``{% for name in rows %}`` loop over the same body writes.

    Parameters
    ----------
    template_name : str
        The loop body as a template of its own.
    rows : iterable
        The rows.
    name : str
        The loop variable's name in the template.
    **shared
        Values every row's template reads besides the row (e.g. the text of its links
        around the row's key: :func:`url_around`).

    Returns
    -------
    SafeString
        The rows' HTML, in order.

    Examples
    --------
    >>> rows = [{"day": d, "crs": None, "crs_rule": "", "crs_recorded": None,
    ...          "neuro": None, "neuro_rule": "", "neuro_recorded": None} for d in (1, 2)]
    >>> head, tail = url_around("bedside", 1, 7)
    >>> html = render_rows("web/_daily_row.html", rows, day_url=head, day_url_end=tail)
    >>> html.count("<tr>"), 'href="/study/1/patient/7/day/2/"' in html
    (2, True)
    """
    return mark_safe("".join(render(template_name, {**shared, name: r}) for r in rows))


def url_around(name: str, *args) -> tuple[str, str]:
    """The URL ``name`` with ``args`` and one more integer argument, as the text before
    and the text after that last argument, so that a table's rows write their links
    without a ``{% url %}`` (a ``reverse()`` per link was a third of a row's rendering).

    The URL is reversed twice, with 0 and with 1 as the last argument: the two differ in
    that argument's one character only (Django writes an ``int`` or ``day`` argument as
    ``str(int(value))``), so the text they share before and after it is the URL around
    any integer there: ``head + str(n) + tail == reverse(name, args=[*args, n])``.

    Parameters
    ----------
    name : str
        The URL's name (``urls.py``); its last argument is an integer.
    *args
        Its other arguments.

    Returns
    -------
    tuple of str
        ``(head, tail)``.

    Examples
    --------
    >>> from django.urls import reverse
    >>> head, tail = url_around("retire", 3, 7, "observation")
    >>> head, tail
    ('/study/3/patient/7/observation/', '/retire/')
    >>> head + "12" + tail == reverse("retire", args=[3, 7, "observation", 12])
    True
    >>> head, tail = url_around("bedside", 3, 7)  # a day: negative before infusion
    >>> head + str(-2) + tail == reverse("bedside", args=[3, 7, -2])
    True
    """
    u0, u1 = reverse(name, args=[*args, 0]), reverse(name, args=[*args, 1])
    i = next(i for i, (a, b) in enumerate(zip(u0, u1, strict=True)) if a != b)
    if u0[i + 1:] != u1[i + 1:]:  # not a single integer argument written as its digits
        raise ValueError(f"{name}: the last argument is not written as an integer")
    return u0[:i], u0[i + 1:]


def clear() -> None:
    """Forget every kept fragment (tests; a process never needs to).

    Returns
    -------
    None

    Examples
    --------
    >>> clear()
    >>> len(_KEPT)
    0
    """
    with _LOCK:
        _KEPT.clear()
