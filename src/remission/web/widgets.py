"""Form widgets written without a template: the same HTML as Django's widget templates.

A bedside page shows about 55 inputs and selects. Django renders each widget from its
template (``text.html`` includes ``input.html``, which includes ``attrs.html``; a select
includes one template per option), and this was about half of the CPU of a bedside page
(docs/performance.md, session 12, "the fixed cost of a request"). :class:`LeanFormRenderer` writes
the inputs (text, number, hidden and the other ``<input>`` widgets), selects and text
areas directly, with Django's own escaping (``conditional_escape``: the same entities,
``'`` as ``&#x27;``); every other template (forms, fields, errors, other widgets) is
rendered by Django as before. ``tests/web/test_request_path.py`` checks that every form
of the application renders to the same bytes with it as with Django's templates, with
hostile values typed in.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

_W = "django/forms/widgets/"
#: widget templates that are ``{% include "django/forms/widgets/input.html" %}`` alone
INPUTS = frozenset(_W + n + ".html" for n in (
    "input", "text", "number", "email", "url", "password", "hidden", "date", "datetime",
    "time", "search", "tel", "color", "file"))
SELECT = _W + "select.html"
OPTION = _W + "select_option.html"
TEXTAREA = _W + "textarea.html"


def _text(value) -> str:
    """``{{ value }}`` with autoescape (strings and numbers; what widgets hold)."""
    return conditional_escape(value if isinstance(value, str) else str(value))


def _s(value) -> str:
    """``{{ value|stringformat:'s' }}`` with autoescape."""
    out = "%s" % (str(value) if isinstance(value, tuple) else value)
    return conditional_escape(mark_safe(out) if isinstance(value, SafeData) else out)


def _attrs(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_s(value)}"')
    return "".join(parts)


def _input(w: dict) -> str:
    value = "" if w["value"] is None else f' value="{_s(w["value"])}"'
    return f'<input type="{_text(w["type"])}" name="{_text(w["name"])}"{value}{_attrs(w["attrs"])}>'


def _option(o: dict) -> str:
    return f'<option value="{_s(o["value"])}"{_attrs(o["attrs"])}>{_text(o["label"])}</option>'


def _select(w: dict) -> str:
    out = [f'<select name="{_text(w["name"])}"{_attrs(w["attrs"])}>']
    for group_name, group_choices, _index in w["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != OPTION:  # a custom option template
                return ""
            out.append("\n  " + _option(option) + "\n")  # the option template's newline
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def _textarea(w: dict) -> str:
    value = _text(w["value"]) if w["value"] else ""
    return f'<textarea name="{_text(w["name"])}"{_attrs(w["attrs"])}>\n{value}</textarea>'


class LeanFormRenderer(DjangoTemplates):
    """Django's default form renderer, with inputs, selects and text areas written
    directly (``FORM_RENDERER`` in :mod:`remission.web.settings`).

    Examples
    --------
    >>> from django import forms
    >>> class F(forms.Form):
    ...     name = forms.CharField(max_length=5)
    ...     grade = forms.ChoiceField(choices=[("1", "1"), ("2", "<2>")])
    >>> f = F({"name": 'a"b', "grade": "2"}, renderer=LeanFormRenderer())
    >>> str(f["name"])
    '<input type="text" name="name" value="a&quot;b" maxlength="5" required id="id_name">'
    >>> print(f["grade"])
    <select name="grade" id="id_grade">
      <option value="1">1</option>
    <BLANKLINE>
      <option value="2" selected>&lt;2&gt;</option>
    <BLANKLINE>
    </select>
    """

    def render(self, template_name, context, request=None):
        w = context.get("widget") if isinstance(context, dict) else None
        if w is not None and template_name in INPUTS and w.get("template_name") == template_name:
            return _input(w)
        if w is not None and template_name == SELECT and w.get("template_name") == SELECT:
            html = _select(w)
            if html:
                return html
        if w is not None and template_name == TEXTAREA and w.get("template_name") == TEXTAREA:
            return _textarea(w)
        return super().render(template_name, context, request)
