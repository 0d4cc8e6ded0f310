"""URLs of a Docker host's pages: the host of the page being answered goes into every link.

A page reached under /hosts/<name>/ links to that host's pages; one reached by the unprefixed URLs
(the default host) keeps linking unprefixed, so bookmarks and the README's paths stay as they are.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

# The URL namespaces mounted per host (containers/urls.py: host_patterns).
HOST_NAMESPACES = ("containers", "images", "deploy")
# Where the host switcher leads on the chosen host, by the kind of page it is used on: the list of
# that kind (a container of one host is not on another).
SWITCH_PAGES = ("containers:list", "images:list", "deploy:apache")


def host_reverse(request: HttpRequest | None, viewname: str, args=None, kwargs=None) -> str:
    """reverse(), with the request's host added for a host page (`containers:detail` and the like)."""
    host = getattr(request, "host_name", None)
    if host and viewname.split(":", 1)[0] in HOST_NAMESPACES:
        viewname = f"host:{viewname}"
        if kwargs:
            kwargs = {"host": host, **kwargs}
        else:
            args = [host, *(args or [])]
    return reverse(viewname, args=args, kwargs=kwargs)


def on_host_page(request: HttpRequest | None) -> bool:
    """Whether the request is for a page of one host (its containers, images or demo)."""
    match = getattr(request, "resolver_match", None)
    return bool(getattr(request, "engine", None) and match and set(match.namespaces) & set(HOST_NAMESPACES))


def ws_base(request: HttpRequest | None) -> str:
    """Where the websockets of the request's host live: /ws/hosts/<name> on a host page, else /ws."""
    host = getattr(request, "host_name", None)
    return f"/ws/hosts/{host}" if host else "/ws"


def host_url(request: HttpRequest, viewname: str, *args, **kwargs) -> str:
    return host_reverse(request, viewname, args or None, kwargs or None)


def host_redirect(request: HttpRequest, viewname: str, *args, query: str = "", **kwargs) -> HttpResponseRedirect:
    """A redirect to a page of the request's host; `query` is appended as is ("all=1")."""
    url = host_url(request, viewname, *args, **kwargs)
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


def switch_page_of(match) -> str:
    """The SWITCH_PAGES entry for the kind of host page `match` (a ResolverMatch) is."""
    for page in SWITCH_PAGES:
        if page.split(":", 1)[0] in match.namespaces:
            return page
    return SWITCH_PAGES[0]
