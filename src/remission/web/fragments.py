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
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString, mark_safe

#: fragments each process keeps (a row is a few hundred bytes; the form about 20 kB)
SIZE = 20000

_KEPT: OrderedDict[tuple, str] = OrderedDict()
_LOCK = threading.Lock()


#: scalar types kept by value (exactly these; subclasses take the general path)
_PLAIN = frozenset({str, int, float, bool, type(None), SafeString})


class _Unkeyable(Exception):
    pass


#: scalar types whose values are their own key (a float may be NaN: see _freeze)
_EXACT = _PLAIN - {float}
#: field names of each dataclass met, in order (a class's fields do not change)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _freeze(value):
    """A hashable key for ``value`` that tells apart values a template shows differently
    (the type goes with every scalar).

    Exact types are tested first, with no call for a plain cell of a row (a table's rows
    are mostly text and numbers), and a dataclass's field names are looked up once per
    class: the key of a kept row is computed at every look at a page, whose rows are
    mostly kept already.
    """
    t = type(value)
    if t in _PLAIN:  # the common case first (a table cell)
        return (t, "NaN") if t is float and value != value else (t, value)
    if t is dict:
        return ("d", tuple([(k, (tv, v) if (tv := type(v)) in _EXACT else _freeze(v))
                            for k, v in value.items()]))
    if t is list or t is tuple:
        return (t, tuple([(tv, v) if (tv := type(v)) in _EXACT else _freeze(v)
                          for v in value]))
    names = _FIELDS.get(t)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return (t, tuple([_freeze(getattr(value, n)) for n in names]))
    if isinstance(value, dict):
        return ("d", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_freeze(v) for v in value))
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
        html = _kept(key)
        if html is not None:
            return html
    html = mark_safe(get_template(template_name).render(
        factory() if factory is not None else context))
    if key is not None:
        _keep({key: html})
    return html


def _kept(key):
    """The fragment kept under ``key`` (now the most recently used), or None."""
    with _LOCK:
        html = _KEPT.get(key)
        if html is not None:
            _KEPT.move_to_end(key)
        return html


def _keep(made: dict) -> None:
    """Keep the fragments ``made`` (key -> HTML), the least recently used beyond
    :data:`SIZE` dropped."""
    with _LOCK:
        _KEPT.update(made)
        while len(_KEPT) > SIZE:
            _KEPT.popitem(last=False)


def render_rows(template_name: str, rows, name: str = "d", **shared) -> SafeString:
    """Each of ``rows`` rendered by ``template_name`` (as ``name``, with ``shared``),
    joined: what a ``{% for name in rows %}`` loop over the same body writes.

    A row is kept as :func:`render` keeps a fragment (by the values of its context), but
    the key of the values shared by all rows is made once, the rows' keys are looked up
    under one lock, and only the rows not kept yet are rendered by the engine.

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
    rows = list(rows)
    try:  # the shared values' key once for all rows
        base = (template_name, name, _freeze(shared))
    except _Unkeyable:
        base = None
    keys = []
    for r in rows:
        try:
            keys.append(None if base is None else (base, _freeze(r)))
        except _Unkeyable:
            keys.append(None)
    html: list = [None] * len(rows)
    with _LOCK:  # one lock for the look-ups of all rows
        for i, key in enumerate(keys):
            if key is not None:
                try:
                    found = _KEPT.get(key)
                except TypeError:  # a key that cannot be hashed: rendered, not kept
                    keys[i] = None
                    continue
                if found is not None:
                    _KEPT.move_to_end(key)
                    html[i] = found
    made = {}
    for i, found in enumerate(html):
        if found is None:
            html[i] = mark_safe(get_template(template_name).render({**shared, name: rows[i]}))
            if keys[i] is not None:
                made[keys[i]] = html[i]
    if made:
        _keep(made)
    return mark_safe("".join(html))


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
    >>> from django.urls import get_script_prefix, get_urlconf, reverse
    >>> head, tail = url_around("retire", 3, 7, "observation")
    >>> head, tail
    ('/study/3/patient/7/observation/', '/retire/')
    >>> head + "12" + tail == reverse("retire", args=[3, 7, "observation", 12])
    True
    >>> head, tail = url_around("bedside", 3, 7)  # a day: negative before infusion
    >>> head + str(-2) + tail == reverse("bedside", args=[3, 7, -2])
    True
    """
    return _url_around(name, args, get_script_prefix(), get_urlconf())


@lru_cache(maxsize=4096)
def _url_around(name: str, args: tuple, prefix: str, urlconf) -> tuple[str, str]:
    """:func:`url_around`, kept for the process's URL prefix and URL map (each patient's
    few link patterns are reversed once)."""
    u0, u1 = reverse(name, args=[*args, 0]), reverse(name, args=[*args, 1])
    i = next(i for i, (a, b) in enumerate(zip(u0, u1, strict=True)) if a != b)
    if u0[i + 1:] != u1[i + 1:]:  # not a single integer argument written as its digits
        raise ValueError(f"{name}: the last argument is not written as an integer")
    return u0[:i], u0[i + 1:]


def form_as_p(form_class) -> SafeString:
    """An unbound ``form_class()`` as its ``as_p()`` writes it, kept in this process: a
    form without data or initial values renders the same bytes each time (the form
    renderer's setting clears what is kept).

    Parameters
    ----------
    form_class : type of django.forms.Form
        A form whose constructor needs no arguments.

    Returns
    -------
    SafeString
        The HTML of ``form_class().as_p()``.

    Examples
    --------
    >>> from remission.web.forms import QueryForm
    >>> form_as_p(QueryForm) == QueryForm().as_p(), form_as_p(QueryForm) is form_as_p(
    ...     QueryForm)
    (True, True)
    """
    key = ("as_p", form_class)
    html = _kept(key)
    if html is None:
        html = form_class().as_p()
        _keep({key: html})
    return html


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
