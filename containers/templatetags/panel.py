"""Template filters of the panel."""

from __future__ import annotations

from django import template

register = template.Library()


def _text(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) if value else "none"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None or value == "":
        return "—"
    return str(value)


@register.filter
def as_text(value) -> str:
    """An audit entry's parameters as a line to read: `timeout: 10; ports: 8080:80, 8443:443`,
    not a Python dict."""
    return _text(value)
