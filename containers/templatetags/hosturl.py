"""The {% url %} tag, aware of Docker hosts: a built-in (settings.TEMPLATES) replacing Django's own.

It takes the same arguments and behaves the same, except that a host page's URL names
(`containers:...`, `images:...`, `deploy:...`) get the host of the page being rendered, so the
templates of a host's pages never spell the host out (containers/links.py).
"""

from __future__ import annotations

from django import template
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from containers.links import host_reverse

register = template.Library()


class HostURLNode(URLNode):
    def render(self, context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        url = ""
        try:
            url = host_reverse(getattr(context, "request", None), view_name, args, kwargs)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token) -> HostURLNode:
    node = django_url(parser, token)
    return HostURLNode(node.view_name, node.args, node.kwargs, node.asvar)
