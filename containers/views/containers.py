"""Containers: `docker ps` as a page, the container's detail, and start/stop/.../rm as POST actions."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import wraps
from html import escape as e
from urllib.parse import quote, urlencode

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from containers import audit, cli, disclosure, engine, own_container
from containers.access import get_container_or_404
from containers.links import host_redirect, host_url
from containers.models import Preference
from containers.roles import forbidden, has_role, role_required
from containers.streaming import ndjson_response

COLUMNS = [
    ("id", "CONTAINER ID"),
    ("image", "IMAGE"),
    ("command", "COMMAND"),
    ("created", "CREATED"),
    ("status", "STATUS"),
    ("ports", "PORTS"),
    ("names", "NAMES"),
    # `docker ps -s`: opt-in, as the engine measures every container's writable layer for it (slow)
    ("size", "SIZE"),
    # Live usage, as `docker stats` names it, filled in by static/js/usage.js from /containers/stats.json.
    ("cpu", "CPU %"),
    ("mem", "MEM USAGE / LIMIT"),
]
COLUMN_KEYS = [key for key, _ in COLUMNS]
DEFAULT_COLUMNS = [key for key in COLUMN_KEYS if key != "size"]
PREFERENCE_KEY = "containers.columns"
STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"]
# `docker ps` lists newest first; states sort from alive to gone.
STATE_ORDER = {s: i for i, s in enumerate(["running", "restarting", "paused", "created", "removing", "exited", "dead"])}


def engine_errors(fallback: str):
    """View decorator: an engine error is a message on the host's page named `fallback` (a URL name,
    or a path), a vanished object a 404; never a 500.

    The engine being down and ambiguous IDs are left to the middleware's pages.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except (engine.EngineUnavailable, engine.Ambiguous):
                raise
            except engine.NotFound as err:
                raise Http404(str(err))
            except engine.EngineError as err:
                messages.error(request, str(err))
                return redirect(fallback) if fallback.startswith("/") else host_redirect(request, fallback)

        return wrapper

    return decorator


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def browsing_host(request: HttpRequest) -> str:
    """The host name the user reached the panel by: published ports on 0.0.0.0/:: open there."""
    host = request.get_host()
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass(frozen=True)
class PortLinks:
    """Where a row's links point: published ports to `host` for wildcard bindings (never to
    `panel_host`), the container's and image's pages under `base` ("" or "/hosts/<name>")."""

    host: str
    panel_host: str
    base: str = ""

    def url(self, ip: str, port: int) -> str:
        return cli.port_url(ip, port, self.host, self.panel_host)


def port_links(request: HttpRequest) -> PortLinks:
    """The host's address for a remote host (or its configured public address); else PORTS_HOST if
    set; else the other loopback name when the panel is browsed on loopback. Over
    HTTPS with SECURE_COOKIES the panel's own host is safe: its Secure cookie never goes to http://."""
    panel_host = browsing_host(request)
    base = f"/hosts/{request.host_name}" if getattr(request, "host_name", None) else ""
    if request.engine.public_host:  # a remote host's ports open on that host
        return PortLinks(request.engine.public_host, panel_host, base)
    if settings.SECURE_COOKIES and request.is_secure():
        return PortLinks(settings.PORTS_HOST or panel_host, "", base)
    host = settings.PORTS_HOST or cli.LOOPBACK_TWIN.get(panel_host) or _server_address(request, panel_host)
    return PortLinks(host, panel_host, base)


def _server_address(request: HttpRequest, panel_host: str) -> str:
    """The address the request came in on, when the panel is browsed by another name (a host name):
    cookies for the name are not sent to the address. "" when there is none to use."""
    address = request.META.get("SERVER_NAME", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    return "" if ip.is_unspecified or address == panel_host else address


def port_parts(ports: list[dict], links: PortLinks) -> list[dict]:
    """PORTS split like the CLI joins it, each part with links to the TCP ports it publishes."""
    parts = []
    for group in cli.port_groups(ports):
        found = [{"port": port, "url": links.url(ip, port)} for ip, port in group.published]
        parts.append({"text": group.text, "links": [link for link in found if link["url"]]})
    return parts


def chosen_columns(user) -> list[str]:
    pref = Preference.objects.filter(user=user, key=PREFERENCE_KEY).first()
    value = pref.value if pref else None
    if isinstance(value, list):
        columns = [c for c in COLUMN_KEYS if c in value]
        if columns:
            return columns
    return list(DEFAULT_COLUMNS)


def display_row(row: engine.ContainerRow, now: float, host: PortLinks, columns: list[str] | None = None) -> dict:
    shown = {
        "id": row.id,
        "base": host.base,
        "short_id": row.id[:12],
        "name": row.name,
        "names": cli.names(row.names),
        "image": cli.image(row.image, row.image_id),
        "image_id": cli.short_id(row.image_id),
        "command": cli.command(row.command),
        "command_full": cli.command(row.command, trunc=False),
        "created": row.created,
        "created_ago": cli.created(row.created, now),
        "created_iso": cli.iso(row.created),
        "status": row.status,
        "state": row.state,
        "ports": port_parts(row.ports, host),
        "ports_text": cli.ports(row.ports),
        "labels": row.labels,
        "own": own_container.is_own(row.id, row.name),
        "size": cli.container_size(*row.size) if row.size else "",
    }
    if columns:
        shown["cells"] = row_cells(shown, columns)
    return shown


def _ports_html(parts: list[dict]) -> str:
    out = []
    for p in parts:
        links = p["links"]
        if len(links) == 1:
            out.append(f'<a href="{e(links[0]["url"])}" target="_blank" rel="noopener">{e(p["text"])}</a>')
        else:
            more = "".join(f' <a href="{e(lk["url"])}" target="_blank" rel="noopener">{lk["port"]}</a>' for lk in links)
            out.append(f'<span class="port-part">{e(p["text"])}</span>{more}')
    return ", ".join(out)  # a line breaks only after a comma: never inside "->" (CSS .port-part, a)


# The table's cells are built here rather than in the template: 7 columns x 1,000 rows of template
# branching (or format_html) took most of the page's time (bench/containers_list.py). Every value
# goes through html.escape.
CELLS = {
    "id": lambda r: (
        f'<td class="mono" data-col="id"><a href="{r["base"]}/containers/{e(r["name"])}/">{r["short_id"]}</a></td>'
    ),
    "image": lambda r: (
        f'<td data-col="image"><a href="{r["base"]}/images/{e(r["image_id"])}/">{e(r["image"])}</a></td>'
    ),
    "command": lambda r: f'<td class="mono" data-col="command" title="{e(r["command_full"])}">{e(r["command"])}</td>',
    "created": lambda r: f'<td data-col="created" title="{r["created_iso"]}">{r["created_ago"]}</td>',
    "status": lambda r: f'<td data-col="status" class="state-{e(r["state"])}">{e(r["status"])}</td>',
    "ports": lambda r: f'<td class="mono" data-col="ports">{_ports_html(r["ports"])}</td>',
    "names": lambda r: (
        f'<td data-col="names"><a href="{r["base"]}/containers/{e(r["name"])}/">{e(r["names"])}</a></td>'
    ),
    "size": lambda r: f'<td class="mono" data-col="size">{e(r["size"])}</td>',
    "cpu": lambda r: f'<td class="mono usage" data-col="cpu">{"…" if r["state"] == "running" else ""}</td>',
    "mem": lambda r: f'<td class="mono usage" data-col="mem">{"…" if r["state"] == "running" else ""}</td>',
}


def row_cells(row: dict, columns: list[str]) -> SafeString:
    return mark_safe("".join(CELLS[c](row) for c in columns))  # each value is escaped above


SORT_KEYS: dict[str, Callable[[engine.ContainerRow], object]] = {
    "id": lambda r: r.id,
    "image": lambda r: cli.image(r.image, r.image_id),
    "command": lambda r: cli.command(r.command, trunc=False),
    "created": lambda r: r.created,
    "status": lambda r: (STATE_ORDER.get(r.state, 99), r.status),
    "ports": lambda r: cli.ports(r.ports),
    "names": lambda r: cli.names(r.names),
    "size": lambda r: r.size or (0, 0),
}
PAGE_SIZES = ["25", "50", "100", "500", "all"]
DEFAULT_PAGE_SIZE = "100"
# `?id=` asks for these rows only (what a live update needs); the engine's id filter is a pattern.
ROW_ID = re.compile(r"[0-9a-f]{12,64}")
MAX_ROW_IDS = 100


@dataclass(frozen=True)
class Listing:
    """What the query string asks for, read strictly: a bad value falls back, and `problems` says so."""

    show_all: bool
    want: dict
    sort: str
    descending: bool
    size: str
    page: int
    ids: list[str]
    problems: list[str]


def read_listing(q) -> Listing:
    problems = []
    sort = q.get("sort", "created")
    if sort not in SORT_KEYS:
        problems.append(f'Unknown sort column "{sort}": sorted by created. Choose one of {", ".join(SORT_KEYS)}.')
        sort = "created"
    direction = q.get("dir", "desc" if sort == "created" else "asc")
    if direction not in ("asc", "desc"):
        problems.append(f'Unknown sort direction "{direction}": use asc or desc.')
        direction = "desc" if sort == "created" else "asc"
    size = q.get("size", DEFAULT_PAGE_SIZE)
    if size not in PAGE_SIZES:
        problems.append(
            f'Page size "{size}" is not offered: showing {DEFAULT_PAGE_SIZE}. Choose {", ".join(PAGE_SIZES)}.'
        )
        size = DEFAULT_PAGE_SIZE
    page_text = q.get("page", "1")
    page = int(page_text) if page_text.isdigit() and 0 < len(page_text) < 8 else 0
    if page < 1:
        problems.append(f'Page "{page_text}" is not a page number: showing page 1.')
        page = 1
    ids = q.getlist("id")
    if len(ids) > MAX_ROW_IDS or not all(ROW_ID.fullmatch(i) for i in ids):
        problems.append(f"id= takes up to {MAX_ROW_IDS} container IDs (12 to 64 hex digits): showing the list.")
        ids = []
    return Listing(
        show_all=q.get("all") in ("1", "on", "true"),
        want={k: q.get(k, "").strip() for k in ("name", "image", "status", "label")},
        sort=sort,
        descending=direction == "desc",
        size=size,
        page=page,
        ids=ids,
        problems=problems,
    )


def listed_rows(request: HttpRequest, listing: Listing, size: bool = False) -> list[engine.ContainerRow]:
    """The engine's rows for the filters (and the `id=` rows only, if asked), sorted; one engine call.

    `size` (or a sort by size) asks the engine for SIZE, as `docker ps -s`."""
    want = listing.want
    filters: dict = {k: want[k] for k in ("name", "status", "label") if want[k]}  # the engine names bad values
    if ID_PREFIX.fullmatch(want["name"]):
        filters.pop("name")  # also an ID prefix, which the engine's name filter does not match: here
    if listing.ids:
        filters["id"] = listing.ids
    rows: list[engine.ContainerRow] = []
    try:
        # As the CLI: a status filter looks at every container, running or not.
        rows = request.engine.list_containers(
            all=listing.show_all or "status" in filters, filters=filters, size=size or listing.sort == "size"
        )
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        messages.error(request, f"docker ps failed: {e}")
    rows = [r for r in rows if row_matches(listing, r)]
    rows.sort(key=SORT_KEYS[listing.sort], reverse=listing.descending)
    return rows


# A name filter that could be the start of an ID (the notes lean on ID prefixes) matches those too.
ID_PREFIX = re.compile(r"[0-9a-f]{3,64}")

# Without -a, `docker ps` lists the containers the engine counts as running.
RUNNING_STATES = {"running", "paused", "restarting"}


# A name filter of letters, digits, _ . - / and anchors runs in linear time as a Python regex; any
# other (nested quantifiers...) could take exponential time here, where the engine's RE2 cannot.
SIMPLE_NAME_PATTERN = re.compile(r"[\w.^$/-]*")


def _name_matches(pattern: str, name: str) -> bool:
    """The engine's name filter: the name itself, or a regular expression found in "/name" or "name".

    A pattern beyond SIMPLE_NAME_PATTERN is left to the engine: the list view gets the engine's own
    answer; a pushed row then counts as matching, and at worst makes the page refresh its list."""
    if pattern == name or pattern == "/" + name:
        return True
    if not SIMPLE_NAME_PATTERN.fullmatch(pattern):
        return True
    try:
        return any(re.search(pattern, source) for source in ("/" + name, name))
    except re.error:
        return pattern in name


def row_matches(listing: Listing, row: engine.ContainerRow) -> bool:
    """Whether `row` belongs on the list `listing` asks for: -a, name, status and label as the engine
    filters them, and the image filter (name or image ID prefix), which the engine does not offer.

    The list view applies it to the engine's answer; a live update (containers/live_rows.py) applies
    it to each changed container, so a row leaves a page exactly when the page would no longer list it.
    """
    return state_matches(listing, row) and kind_matches(listing, row)


def state_matches(listing: Listing, row: engine.ContainerRow) -> bool:
    """The filters on what a container is doing (-a, status), which its events change."""
    if listing.want["status"]:
        return row.state == listing.want["status"]
    return listing.show_all or row.state in RUNNING_STATES


def kind_matches(listing: Listing, row: engine.ContainerRow) -> bool:
    """The filters on what a container is (name, label, image), which only a rename changes."""
    want = listing.want
    if want["name"] and not _name_matches(want["name"], row.name):
        if not (ID_PREFIX.fullmatch(want["name"]) and row.id.startswith(want["name"])):
            return False
    if want["label"]:
        key, eq, value = want["label"].partition("=")
        if key not in row.labels or (eq and row.labels[key] != value):
            return False
    if want["image"]:
        needle = want["image"].lower()
        if needle not in row.image.lower() and not cli.short_id(row.image_id).startswith(needle):
            return False
    return True


def rows_html(rows: list[engine.ContainerRow], host: PortLinks, columns: list[str], can_operate: bool) -> str:
    """`<tr>`s as the full list renders them (templates/containers/_rows.html), one per row."""
    table = [display_row(r, time.time(), host, columns) for r in rows]
    return render_to_string("containers/_rows.html", {"rows": table, "can_operate": can_operate})


def query_string(listing: Listing, **changes) -> str:
    """The list's query string with `changes`, keeping the filters (for sort headers, pages, sizes)."""
    params = {"all": "1" if listing.show_all else "", **listing.want}
    params.update(sort=listing.sort, dir="desc" if listing.descending else "asc", size=listing.size, page="")
    params.update({k: str(v) for k, v in changes.items()})
    if params["dir"] == ("desc" if params["sort"] == "created" else "asc"):
        params["dir"] = ""  # the default direction of its column
    if params["sort"] == "created":
        params["sort"] = ""
    if params["size"] == DEFAULT_PAGE_SIZE:
        params["size"] = ""
    if params["page"] == "1":
        params["page"] = ""
    return urlencode({k: v for k, v in params.items() if v})


def paginate(rows: list, listing: Listing) -> tuple[list, dict]:
    """The page's slice of `rows` and where it is: page, pages, and "101–200 of 1,008 containers"."""
    total = len(rows)
    size = total or 1 if listing.size == "all" else int(listing.size)
    pages = max(1, -(-total // size))
    page = min(listing.page, pages)
    start = (page - 1) * size
    shown = rows[start : start + size]
    numbers = {"first": f"{start + 1:,}", "last": f"{start + len(shown):,}", "total": f"{total:,}"}
    if shown:
        label = (
            ngettext("%(first)s–%(last)s of %(total)s container", "%(first)s–%(last)s of %(total)s containers", total)
            % numbers
        )
    else:
        label = ngettext("%(total)s container", "%(total)s containers", total) % numbers
    return shown, {"total": total, "pages": pages, "page": page, "label": label}


@role_required("viewer")
@engine_errors("dashboard")
def container_list(request: HttpRequest) -> HttpResponse:
    """`docker ps` / `docker ps -a` with filters, sorting, pages and the user's columns, from one engine call.

    With `id=` (live updates) only those rows, as `<tr>`s rendered like the full list's: a row that is
    gone or no longer matches the filters is simply absent.
    """
    listing = read_listing(request.GET)
    columns = chosen_columns(request.user)
    rows = listed_rows(request, listing, size="size" in columns)
    now = time.time()
    host = port_links(request)
    if listing.ids and not listing.problems:
        # Fetched by every open list page on each event: no context processors, messages or CSRF token.
        return HttpResponse(rows_html(rows, host, columns, has_role(request.user, "operator")))
    shown, pages = paginate(rows, listing)
    if listing.page > pages["pages"]:
        listing.problems.append(f"There is no page {listing.page}: showing the last page, {pages['pages']}.")
    for problem in listing.problems:
        messages.warning(request, problem)
    table = [display_row(r, now, host, columns) for r in shown]
    context = {
        "rows": table,
        "columns": [(k, label, _sort_link(listing, k)) for k, label in COLUMNS if k in columns],
        "all_columns": COLUMNS,
        "chosen": columns,
        "format_hint": cli.format_template(columns),
        "show_all": listing.show_all,
        "want": listing.want,
        "statuses": STATUSES,
        "sort": listing.sort,
        "descending": listing.descending,
        "size": listing.size,
        "sizes": [(s, "?" + query_string(listing, size=s, page=1)) for s in PAGE_SIZES],
        "pages": pages,
        "prev_url": "?" + query_string(listing, page=pages["page"] - 1) if pages["page"] > 1 else "",
        "next_url": "?" + query_string(listing, page=pages["page"] + 1) if pages["page"] < pages["pages"] else "",
        "cli": _ps_command(listing.show_all, listing.want),
        "refresh_url": request.path + "?" + query_string(listing, page=pages["page"]),
        "rows_url": request.path + "?" + query_string(listing, page="", size=""),
        "htmx": is_htmx(request),
        # bulk buttons act on what the list shows when it is filtered ("Stop the 3 shown")
        "filtered": any(listing.want.values()),
        "filter_query": query_string(listing, page="", size="", sort="", dir=""),
        "running_shown": sum(1 for r in rows if r.state in RUNNING_STATES),
        "stopped_shown": sum(1 for r in rows if r.state in STOPPED_STATES),
    }
    template = "containers/_partial.html" if is_htmx(request) else "containers/list.html"
    return render(request, template, context)


def _sort_link(listing: Listing, key: str) -> str:
    """The column header's link: sort by it (ascending, or flip the direction if already sorted by it)."""
    if key not in SORT_KEYS:
        return ""
    direction = "desc" if listing.sort == key and not listing.descending else "asc"
    return "?" + query_string(listing, sort=key, dir=direction, page=1)


def _ps_command(show_all: bool, want: dict) -> str:
    parts = ["docker ps"]
    if show_all:
        parts.append("-a")
    for key in ("name", "status", "label"):
        if want[key]:
            parts.append(f"--filter {key}={want[key]}")
    if want["image"]:
        parts.append(f"--filter ancestor={want['image']}")
    return " ".join(parts)


@require_POST
@role_required("viewer")
def save_columns(request: HttpRequest) -> HttpResponse:
    """The column chooser (`docker ps --format "table ..."`), remembered for this user."""
    columns = [c for c in COLUMN_KEYS if c in request.POST.getlist("columns")] or list(DEFAULT_COLUMNS)
    Preference.objects.update_or_create(user=request.user, key=PREFERENCE_KEY, defaults={"value": columns})
    audit.record(request, "preference.columns", params={"columns": columns}, result=cli.format_template(columns))
    messages.success(request, f'Columns saved: docker ps --format "{cli.format_template(columns)}"')
    return redirect(_next(request, host_url(request, "containers:list")))


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


# --- single-container actions ---


@dataclass(frozen=True)
class Action:
    verb: str  # audit action suffix and CLI subcommand
    done: str  # the message once done, with %(name)s and %(command)s
    run: Callable[[str, HttpRequest], None]
    cli: Callable[[str, HttpRequest], str]


def _timeout(request: HttpRequest) -> int:
    try:
        return max(0, min(600, int(request.POST.get("timeout", "10"))))
    except ValueError:
        return 10


def _timeout_flag(request: HttpRequest) -> str:
    t = _timeout(request)
    return "" if t == 10 else f" -t {t}"


SIGNALS = ["KILL", "TERM", "INT", "HUP", "QUIT", "USR1", "USR2"]


def _signal(request: HttpRequest) -> str:
    s = request.POST.get("signal", "KILL").upper().removeprefix("SIG")
    return s if s in SIGNALS else "KILL"


ACTIONS = {
    "start": Action(
        "start",
        gettext_lazy("Started %(name)s: %(command)s"),
        lambda cid, r: r.engine.start_container(cid),
        lambda n, r: f"docker start {n}",
    ),
    "stop": Action(
        "stop",
        gettext_lazy("Stopped %(name)s: %(command)s"),
        lambda cid, r: r.engine.stop_container(cid, _timeout(r)),
        lambda n, r: f"docker stop{_timeout_flag(r)} {n}",
    ),
    "restart": Action(
        "restart",
        gettext_lazy("Restarted %(name)s: %(command)s"),
        lambda cid, r: r.engine.restart_container(cid, _timeout(r)),
        lambda n, r: f"docker restart{_timeout_flag(r)} {n}",
    ),
    "kill": Action(
        "kill",
        gettext_lazy("Killed %(name)s: %(command)s"),
        lambda cid, r: r.engine.kill_container(cid, _signal(r)),
        lambda n, r: f"docker kill {n}" if _signal(r) == "KILL" else f"docker kill -s {_signal(r)} {n}",
    ),
    "pause": Action(
        "pause",
        gettext_lazy("Paused %(name)s: %(command)s"),
        lambda cid, r: r.engine.pause_container(cid),
        lambda n, r: f"docker pause {n}",
    ),
    "unpause": Action(
        "unpause",
        gettext_lazy("Unpaused %(name)s: %(command)s"),
        lambda cid, r: r.engine.unpause_container(cid),
        lambda n, r: f"docker unpause {n}",
    ),
}


def _refused_on_own(request: HttpRequest, target: engine.ContainerRef, verb: str, params: dict) -> str:
    """The refusal message (audited) when `verb` would end the panel's own container, else ""."""
    if verb not in own_container.REFUSED or not own_container.is_own(target.id, target.name):
        return ""
    message = own_container.refusal(verb, target.name)
    audit.record(
        request,
        f"container.{verb}",
        target_id=target.id,
        target_name=target.name,
        params={**params, "own_container": True},
        ok=False,
        result=message,
    )
    return message


def _perform(request: HttpRequest, ref: str, verb: str) -> HttpResponse:
    params = {k: v for k, v in request.POST.items() if k in ("timeout", "signal")}
    try:
        target = get_container_or_404(request.engine, ref)
    except engine.EngineUnavailable as e:  # the attempt is on record even when the engine is down
        audit.record(request, f"container.{verb}", target_name=ref, params=params, ok=False, result=str(e))
        raise
    action = ACTIONS[verb]
    command = action.cli(target.name, request)
    if refused := _refused_on_own(request, target, verb, params):
        messages.error(request, refused)
        return redirect(_next(request, host_url(request, "containers:detail", target.name)))
    try:
        with audit.attempt(
            request, f"container.{verb}", target_id=target.id, target_name=target.name, params=params
        ) as entry:
            action.run(target.id, request)
            entry.result = command
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        messages.error(request, _("%(command)s failed: %(error)s") % {"command": command, "error": e})
    else:
        messages.success(request, action.done % {"name": target.name, "command": command})
    return redirect(_next(request, host_url(request, "containers:detail", target.name)))


def _operator_action(verb: str):
    @require_POST
    @role_required("operator")
    @engine_errors("containers:list")
    def view(request: HttpRequest, ref: str) -> HttpResponse:
        return _perform(request, ref, verb)

    view.__name__ = f"container_{verb}"
    view.__doc__ = f"`docker {verb}` (operator)."
    return view


container_start = _operator_action("start")
container_stop = _operator_action("stop")
container_restart = _operator_action("restart")
container_kill = _operator_action("kill")
container_pause = _operator_action("pause")
container_unpause = _operator_action("unpause")


@require_POST
@role_required("admin")
@engine_errors("containers:list")
def container_rename(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker rename OLD NEW`; a taken name is the engine's conflict message."""
    target = get_container_or_404(request.engine, ref)
    new_name = request.POST.get("new_name", "").strip().lstrip("/")
    if not engine.CONTAINER_NAME.match(new_name):
        shown = new_name if len(new_name) <= 60 else new_name[:60] + f"… ({len(new_name)} characters)"
        messages.error(
            request,
            _("'%(name)s' is not a valid container name: use 2 to %(max)d letters, digits, _ . - (not first).")
            % {"name": shown, "max": engine.MAX_NAME_LENGTH},
        )
        return redirect(_next(request, host_url(request, "containers:detail", target.name)))
    command = f"docker rename {target.name} {new_name}"
    try:
        with audit.attempt(
            request,
            "container.rename",
            target_id=target.id,
            target_name=target.name,
            params={"old_name": target.name, "new_name": new_name},
        ) as entry:
            request.engine.rename_container(target.id, new_name)
            entry.target_name, entry.result = new_name, command
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        messages.error(request, _("%(command)s failed: %(error)s") % {"command": command, "error": e})
        return redirect(_next(request, host_url(request, "containers:detail", target.name)))
    messages.success(
        request,
        _("Renamed %(name)s to %(new)s: %(command)s") % {"name": target.name, "new": new_name, "command": command},
    )
    return host_redirect(request, "containers:detail", new_name)


@require_POST
@role_required("admin")
@engine_errors("containers:list")
def container_remove(request: HttpRequest, ref: str) -> HttpResponse:
    """`docker rm [-f]`: first a confirmation (it cannot be undone), then the removal."""
    target = get_container_or_404(request.engine, ref)
    force = request.POST.get("force") in ("1", "on", "true")
    command = f"docker rm{' -f' if force else ''} {target.name}"
    if refused := _refused_on_own(request, target, "remove", {"force": force}):
        messages.error(request, refused)
        return host_redirect(request, "containers:detail", target.name)
    if request.POST.get("confirm") != "yes":
        info = request.engine.inspect_container(target.id)
        return render(
            request,
            "containers/confirm_remove.html",
            {
                "target": target,
                "running": (info.get("State") or {}).get("Running", False),
                "status": cli.status(info["State"]),
            },
        )
    try:
        with audit.attempt(
            request, "container.remove", target_id=target.id, target_name=target.name, params={"force": force}
        ) as entry:
            request.engine.remove_container(target.id, force=force)
            entry.result = command
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        hint = (
            " " + _("Tick 'force' to remove it while running (docker rm -f).") if "running container" in str(e) else ""
        )
        messages.error(
            request, _("%(command)s failed: %(error)s") % {"command": command, "error": str(e).rstrip(".") + "."} + hint
        )
        return host_redirect(request, "containers:detail", target.name)
    messages.success(
        request,
        _("Removed %(name)s (%(id)s): %(command)s") % {"name": target.name, "id": target.short_id, "command": command},
    )
    return host_redirect(request, "containers:list", query="all=1")


# --- bulk actions ---

BULK = {
    "stop": ("operator", gettext_lazy("Stop"), "docker stop"),
    "remove": ("admin", gettext_lazy("Remove"), "docker rm"),
}
STOPPED_STATES = ("exited", "created", "dead")


@require_POST
@role_required("operator")
@engine_errors("containers:list")
def container_bulk(request: HttpRequest) -> HttpResponse:
    """Stop or remove several containers: a confirmation listing exactly which, then a per-item report.

    `action=stop-all` is `docker stop $(docker ps -q)`, `action=remove-stopped` removes every stopped
    container; `stop`/`remove` act on the checked `ids`. The confirmation carries full IDs, so only what was shown is
    touched.
    """
    verb = request.POST.get("action", "")
    scope = {"stop-all": "running", "remove-stopped": "stopped"}.get(verb, "")
    verb = {"stop-all": "stop", "remove-stopped": "remove"}.get(verb, verb)
    if verb not in BULK:
        messages.error(request, _("Choose stop or remove for the selected containers."))
        return redirect(_next(request, host_url(request, "containers:list")))
    role, title, base = BULK[verb]
    if not has_role(request.user, role):
        return forbidden(request, role, action=f"bulk {verb}")
    force = verb == "remove" and request.POST.get("force") in ("1", "on", "true")
    if force:
        base = "docker rm -f"
    if request.POST.get("confirm") != "yes":
        return _bulk_confirm(request, verb, scope, title, base, force)
    items = _bulk_items(request, verb, base, force)
    language = translation.get_language()
    act = _bulk_act(request.engine, verb, _timeout(request), force, language)
    if "application/x-ndjson" in request.headers.get("Accept", ""):
        return ndjson_response(request.engine, _bulk_events(items, act, verb, title, base, language))

    # Without JavaScript (a plain form post): every item done, then the whole report at once.
    # 2. the engine calls at once, a bounded number at a time (as `docker stop a b c` does)
    todo = [item for item in items if item["entry"] is not None]
    if todo:
        with ThreadPoolExecutor(max_workers=min(len(todo), settings.BULK_CONCURRENCY)) as pool:
            list(pool.map(act, todo))
    # 3. in order: each outcome on record
    for item in items:
        _finish_item(item)
    level, summary, command = _bulk_summary(title, items, base)
    messages.add_message(request, level, summary)
    succeeded = [r for r in items if r["ok"]]
    failed = [r for r in items if not r["ok"]]
    return render(
        request,
        "containers/bulk_result.html",
        {"results": items, "title": title, "command": command, "failed": failed, "succeeded": succeeded},
    )


def _bulk_items(request: HttpRequest, verb: str, base: str, force: bool) -> list[dict]:
    """In the selection's order: who each posted ID is, the refusals (the panel's own container),
    and each attempt on record (audit.begin) before any engine call."""
    rows = _engine_rows(request.engine)
    items: list[dict] = []
    try:
        for ref in request.POST.getlist("ids"):
            cid, name = _identify(rows, ref)
            item = {"name": name, "id": cid, "ok": False, "message": "", "command": f"{base} {name}", "entry": None}
            items.append(item)
            target = engine.ContainerRef(cid, name)
            if own_container.candidate():  # in a container: a name or short ID must not slip past the check
                try:
                    target = request.engine.resolve_container(cid)
                except engine.EngineError:
                    pass  # the engine's own error follows below
            if refused := _refused_on_own(request, target, verb, {"bulk": True, "force": force}):
                item["message"] = refused
                continue
            item["entry"] = audit.begin(
                request, f"container.{verb}", target_id=cid, target_name=name, params={"bulk": True, "force": force}
            )
    except audit.AuditUnavailable:
        # nothing was done: close the attempts already written, then say why (fail closed)
        for item in items:
            if item["entry"] is not None:
                audit.finish(item["entry"], ok=False, result="not done: the audit log became unavailable")
        raise
    return items


def _bulk_act(eng: engine.Engine, verb: str, timeout: int, force: bool, language: str) -> Callable[[dict], dict]:
    """The engine call for one item (run in a worker thread): its outcome, in the page's language,
    goes into the item."""

    def act(item: dict) -> dict:
        with translation.override(language):
            return _act_on(eng, item, verb, timeout, force)

    return act


def _act_on(eng: engine.Engine, item: dict, verb: str, timeout: int, force: bool) -> dict:
    try:
        if verb == "stop":
            eng.stop_container(item["id"], timeout)
        else:
            eng.remove_container(item["id"], force=force)
        item["ok"], item["message"] = True, _("done")
    except engine.EngineError as e:  # engine down included: every item gets its line in the report
        item["message"] = str(e)
    except Exception as e:  # never leave an attempt open
        item["message"] = f"failed: {type(e).__name__}: {e}"
    return item


def _finish_item(item: dict) -> None:
    """The item's outcome on record (once: its entry is taken off the item)."""
    entry = item.pop("entry", None)
    if entry is not None:
        audit.finish(entry, ok=item["ok"], result=item["command"] if item["ok"] else item["message"])


def _bulk_summary(title: str, items: list[dict], base: str) -> tuple[int, str, str]:
    """(message level, the summary line, the whole command) once every item is done."""
    done = sum(1 for r in items if r["ok"])
    failed = len(items) - done
    command = f"{base} {' '.join(r['name'] for r in items)}"
    numbers = {"title": title, "done": done, "total": len(items), "failed": failed, "command": command}
    if failed:
        return (
            messages.WARNING,
            _("%(title)s: %(done)d of %(total)d done, %(failed)d failed (see below). %(command)s") % numbers,
            command,
        )
    return messages.SUCCESS, _("%(title)s: %(done)d of %(total)d done. %(command)s") % numbers, command


OUTCOMES = {"stop": gettext_lazy("stopped"), "remove": gettext_lazy("removed")}


def _item_event(item: dict, verb: str, language: str) -> dict:
    """One line of the streamed report: the container, stopped/removed or the error, the CLI's command."""
    with translation.override(language):
        outcome = str(OUTCOMES[verb]) if item["ok"] else _("error")
    return {
        "type": "item",
        "id": item["id"],
        "name": item["name"],
        "ok": item["ok"],
        "outcome": outcome,
        "message": "" if item["ok"] else item["message"],
        "command": item["command"],
    }


async def _bulk_events(items: list[dict], act: Callable[[dict], dict], verb: str, title: str, base: str, language: str):
    """The bulk action as NDJSON: a line per item as it finishes (refusals first), then the summary.

    Each outcome is on record as it comes. Should the page go away mid-way, the calls still running
    finish in their threads and a thread of its own records them (see _finish_when_done)."""
    todo = [item for item in items if item["entry"] is not None]
    yield {"type": "start", "command": f"{base} {' '.join(r['name'] for r in items)}", "total": len(items)}
    for item in items:
        if item["entry"] is None:
            yield _item_event(item, verb, language)
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(todo), settings.BULK_CONCURRENCY)))
    running = [pool.submit(act, item) for item in todo]
    try:
        for finished in asyncio.as_completed([asyncio.wrap_future(f) for f in running]):
            item = await finished
            await sync_to_async(_finish_item)(item)
            yield _item_event(item, verb, language)
    finally:
        pool.shutdown(wait=False)
        if any(item.get("entry") is not None for item in todo):
            threading.Thread(target=_finish_when_done, args=(running, todo), daemon=True).start()
    with translation.override(language):
        level, summary, _command = _bulk_summary(title, items, base)
    yield {"type": "done", "ok": level == messages.SUCCESS, "message": summary}


def _finish_when_done(running: list, items: list[dict]) -> None:
    """A stream left before its end: the outcomes still open are recorded as their calls end."""
    from django.db import connection

    wait(running)
    try:
        for item in items:
            _finish_item(item)
    finally:
        connection.close()  # this thread's own connection


def _engine_rows(eng: engine.Engine) -> list[dict]:
    """Every container's ID and names, from the engine (names never come from the form). With the
    engine down, none: each item then shows its short ID and still gets its line and entry."""
    try:
        return [{"Id": r.id, "Names": r.names} for r in eng.list_containers(all=True)]
    except engine.EngineError:
        return []


def _identify(rows: list[dict], ref: str) -> tuple[str, str]:
    """(ID, name) of a posted ID as the engine knows it; the ref and its first 12 characters if unknown."""
    try:
        found = engine.match_container(rows, ref)
    except engine.EngineError:
        return ref, ref[:12]
    return found.id, found.name


def _bulk_confirm(request: HttpRequest, verb: str, scope: str, title: str, base: str, force: bool) -> HttpResponse:
    rows = request.engine.list_containers(all=True)
    unknown: list[str] = []
    shown_filter = request.POST.get("filter", "")[:2000] if scope else ""
    if shown_filter:
        # "Stop the 3 shown": the containers the filtered list shows, as the list view finds them
        listing = read_listing(QueryDict(shown_filter))
        listing = dataclasses.replace(listing, show_all=listing.show_all or scope == "stopped")
        shown = listed_rows(request, listing)
        if scope == "running":
            chosen = [r for r in shown if r.state in RUNNING_STATES]
            heading = ngettext(
                "Stop the %(n)d running container shown", "Stop the %(n)d running containers shown", len(chosen)
            ) % {"n": len(chosen)}
        else:
            chosen = [r for r in shown if r.state in STOPPED_STATES]
            heading = ngettext(
                "Remove the %(n)d stopped container shown", "Remove the %(n)d stopped containers shown", len(chosen)
            ) % {"n": len(chosen)}
        cli_form = f"{base} {' '.join(r.name for r in chosen)}"
    elif scope == "running":
        chosen = [r for r in rows if r.state in ("running", "paused", "restarting")]
        heading = _("Stop all running containers")
        cli_form = "docker stop $(docker ps -q)"
    elif scope == "stopped":
        chosen = [r for r in rows if r.state in STOPPED_STATES]
        heading = _("Remove all stopped containers")
        cli_form = "docker rm $(docker ps -a -q --filter status=exited --filter status=created --filter status=dead)"
    else:
        chosen = []
        by_id = {r.id: r for r in rows}
        for ref in request.POST.getlist("ids"):
            try:
                found = engine.match_container([{"Id": r.id, "Names": r.names} for r in rows], ref)
            except engine.EngineError:
                unknown.append(ref)
                continue
            if found.id not in [c.id for c in chosen]:
                chosen.append(by_id[found.id])
    # The panel's own container is left out, whatever the scope, and the page says why.
    own = [r for r in chosen if own_container.is_own(r.id, r.name)]
    chosen = [r for r in chosen if r not in own]
    if not scope:
        if verb == "stop":
            heading = ngettext("Stop %(n)d selected container", "Stop %(n)d selected containers", len(chosen))
        else:
            heading = ngettext("Remove %(n)d selected container", "Remove %(n)d selected containers", len(chosen))
        heading %= {"n": len(chosen)}
        cli_form = f"{base} {' '.join(r.name for r in chosen)}"
    now = time.time()
    return render(
        request,
        "containers/bulk_confirm.html",
        {
            "verb": verb,
            "title": title,
            "heading": heading,
            "rows": [display_row(r, now, port_links(request)) for r in chosen],
            "unknown": unknown,
            "own": [own_container.refusal(verb, r.name) for r in own],
            "force": force,
            "cli": cli_form,
            "timeout": _timeout(request),
            "shown_filter": shown_filter,
            "scope_action": {"running": "stop-all", "stopped": "remove-stopped"}.get(scope, ""),
            "running_selected": verb == "remove"
            and any(r.state in ("running", "paused", "restarting") for r in chosen),
        },
    )


@require_POST
@role_required("operator")
@engine_errors("containers:list")
def container_env(request: HttpRequest, ref: str) -> HttpResponse:
    """The container's environment in clear (masked everywhere else), recorded as a disclosure."""
    target = get_container_or_404(request.engine, ref)
    pairs = disclosure.environment(request.engine.inspect_container(target.id))
    audit.record(
        request,
        "container.env_revealed",
        target_id=target.id,
        target_name=target.name,
        params={"variables": [k for k, _ in pairs]},
        result=f"docker inspect --format '{{{{json .Config.Env}}}}' {target.name}",
    )
    return render(request, "env_reveal.html", {"kind": "Container", "name": target.name, "pairs": pairs})


# --- detail ---

SECTIONS = ("state", "network", "processes", "changes", "inspect")


@role_required("viewer")
def container_go(request: HttpRequest) -> HttpResponse:
    """The list's "go to" box: a name, an ID or a unique ID prefix (3+ characters, as the CLI takes)
    opens that container's page, which explains an unknown or ambiguous one."""
    if "ref" not in request.GET:
        return container_detail(request, "go")  # a container may be named "go"
    ref = request.GET.get("ref", "").strip().lstrip("/")[:128]
    if not ref:
        messages.warning(request, _("Type a container name or the start of its ID."))
        return host_redirect(request, "containers:list")
    # quoted by hand: whatever was typed goes to the detail page, which says what is wrong with it
    return redirect(host_url(request, "containers:list") + quote(ref, safe="") + "/")


@role_required("viewer")
@engine_errors("containers:list")
def container_detail(request: HttpRequest, ref: str) -> HttpResponse:
    """Everything about one container: state, network, `docker top`, `docker diff`, `docker inspect`."""
    target = get_container_or_404(request.engine, ref)
    info = target.info or request.engine.inspect_container(target.id)
    section = request.GET.get("section", "")
    wanted = [section] if is_htmx(request) and section in SECTIONS else list(SECTIONS)
    context = {
        "target": target,
        "c": _summary(info, port_links(request)),
        "sections": wanted,
        "own": own_container.is_own(target.id, target.name),
    }
    if "inspect" in wanted:
        context["inspect_json"] = json.dumps(disclosure.masked(info), indent=2, sort_keys=False)
    if "processes" in wanted:
        context["top"], context["top_error"] = _top(request.engine, target.id, info)
    if "changes" in wanted:
        try:
            context["changes"] = request.engine.container_diff(target.id)
        except engine.EngineUnavailable:
            raise
        except engine.EngineError as e:
            context["changes_error"] = str(e)
    if is_htmx(request) and section in SECTIONS:
        return render(request, f"containers/_detail_{section}.html", context)
    return render(request, "containers/detail.html", context)


def _top(eng: engine.Engine, container_id: str, info: dict) -> tuple[dict | None, str]:
    state = info.get("State") or {}
    if not state.get("Running"):
        return None, f"The container is {state.get('Status', 'not running')}: docker top needs it running."
    try:
        return eng.container_top(container_id), ""
    except engine.EngineUnavailable:
        raise
    except engine.EngineError as e:
        return None, str(e)


def _summary(info: dict, host: PortLinks) -> dict:
    state = info.get("State") or {}
    config = info.get("Config") or {}
    net = info.get("NetworkSettings") or {}
    ports = cli.ports_from_inspect(net)
    command = " ".join([info.get("Path", "")] + list(info.get("Args") or [])).strip()
    networks = []
    for name, n in (net.get("Networks") or {}).items():
        networks.append(
            {
                "name": name,
                "ip": n.get("IPAddress", ""),
                "prefix": n.get("IPPrefixLen", 0),
                "gateway": n.get("Gateway", ""),
                "mac": n.get("MacAddress", ""),
                "ipv6": n.get("GlobalIPv6Address", ""),
            }
        )
    first = networks[0] if networks else {}
    return {
        "id": info["Id"],
        "name": info.get("Name", "").lstrip("/"),
        "state": state.get("Status", ""),
        "status": cli.status(state),
        "running": bool(state.get("Running")),
        "paused": bool(state.get("Paused")),
        "exit_code": state.get("ExitCode"),
        "error": state.get("Error", ""),
        "oom_killed": state.get("OOMKilled", False),
        "pid": state.get("Pid"),
        "restart_count": info.get("RestartCount", 0),
        "restart_policy": ((info.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no",
        "image": config.get("Image", ""),
        "image_id": cli.short_id(info.get("Image", "")),
        "command": command,
        "command_cli": cli.command(command, trunc=False),
        "tty": config.get("Tty", False),
        "open_stdin": config.get("OpenStdin", False),
        "created": cli.iso(info.get("Created")),
        "created_ago": cli.created(info.get("Created")),
        "started": cli.iso(state.get("StartedAt")),
        "started_ago": cli.ago(state.get("StartedAt")),
        "finished": cli.iso(state.get("FinishedAt")),
        "finished_ago": cli.ago(state.get("FinishedAt")),
        "ip": net.get("IPAddress") or first.get("ip", ""),
        "gateway": net.get("Gateway") or first.get("gateway", ""),
        "mac": net.get("MacAddress") or first.get("mac", ""),
        "networks": networks,
        "ports": port_parts(ports, host),
        "ports_text": cli.ports(ports),
        "labels": config.get("Labels") or {},
        "env": [disclosure.mask_value(e) for e in config.get("Env") or []],
        "mounts": info.get("Mounts") or [],
    }
