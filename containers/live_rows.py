"""Rows pushed over the events socket: a containers list page says what it shows, and the engine's
events about containers come back to it as rendered `<tr>`s, without one HTTP request per page.

A page sends {"watch": "containers", "query": "<its list's query string>"} on /ws/events/ (see
static/js/live.js). Its consumer (containers/consumers.py) reads the query with the list view's own
`read_listing`, coalesces the containers named by events for BURST_SECONDS, then asks `rows_for()`:
every consumer of the process asking for the same containers after the same last event shares ONE
`docker ps -a --filter id=...` call. Each consumer then keeps the rows its page's filters match
(`row_matches`' two halves, as the view) and renders them as the view does (`rows_html`, the user's columns and
role); a container that is gone or no longer matches becomes null, and the page removes its row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from django.http import QueryDict
from django.utils import translation

from containers.engine import ContainerRow, Engine
from containers.views.containers import (
    MAX_ROW_IDS,
    ROW_ID,
    Listing,
    PortLinks,
    kind_matches,
    read_listing,
    rows_html,
    state_matches,
)

log = logging.getLogger(__name__)

BURST_SECONDS = 0.1  # events within this of the first one become one update
# Times a container still running after its "die" event is asked for again (one burst apart).
RECHECKS = 50
MAX_IDS = MAX_ROW_IDS  # more containers in one burst: the page refreshes its list instead
MAX_MESSAGE = 4096  # a watch message is small: a longer one is ignored
MAX_QUERY = 2000
KEEP_SECONDS = 2.0  # a finished shared call still serves consumers that come a little late
_shared: dict[tuple[str, frozenset[str], int, bool], tuple[float, asyncio.AbstractEventLoop, asyncio.Future]] = {}


def read_watch(text: str | None) -> str | None:
    """The query string of a valid watch message, or None (bad JSON, too long, not a watch): ignored.
    Unknown keys are ignored."""
    if not text or len(text) > MAX_MESSAGE:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("watch") != "containers":
        return None
    query = data.get("query", "")
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        return None
    return query.lstrip("?")


def listing_for(query: str) -> Listing:
    """The list's filters from its query string, read as the list view reads them (id= is dropped)."""
    q = QueryDict(query, mutable=True)
    q.pop("id", None)
    return read_listing(q)


@dataclass
class Watch:
    """What one page shows and how its rows look: its filters, the user's columns and role."""

    listing: Listing
    columns: list[str]
    can_operate: bool
    links: PortLinks
    language: str

    @property
    def size(self) -> bool:
        """Whether the page shows SIZE, so its rows need the engine's sizes."""
        return "size" in self.columns

    def update(self, heard: dict[str, set[str]], rows: dict[str, ContainerRow]) -> dict:
        """The "rows" message for the containers `heard` about (ID -> actions): each one's `<tr>`, or
        None for one gone or no longer matching (the page removes it, if it shows it); nothing for
        one the page never listed. `new` names the matching containers just created."""
        out: dict[str, str | None] = {}
        new = []
        for container_id, actions in sorted(heard.items()):
            row = rows.get(container_id)
            if row is None:
                out[container_id] = None  # gone
            elif not kind_matches(self.listing, row):
                if "rename" in actions:
                    out[container_id] = None  # its old name may have matched
            elif not state_matches(self.listing, row):
                out[container_id] = None
            else:
                with translation.override(self.language):
                    out[container_id] = rows_html([row], self.links, self.columns, self.can_operate).strip()
                if "create" in actions:
                    new.append(container_id)
        return {"kind": "rows", "rows": out, "new": new}


async def rows_for(engine: Engine, ids: list[str], burst: int, size: bool = False) -> dict[str, ContainerRow]:
    """The engine's rows for `ids` (full IDs), by full ID; absent = gone. One engine call for all
    consumers of this process asking for the same host's ids after the same last event (`burst`), and
    whether their pages show SIZE (`size`: `docker ps -s`, asked only by the pages that show it)."""
    key = (engine.name, frozenset(ids), burst, size)
    now = time.monotonic()
    loop = asyncio.get_running_loop()
    for old in [
        k for k, (at, lp, fut) in _shared.items() if (fut.done() or lp is not loop) and now - at > KEEP_SECONDS
    ]:
        del _shared[old]
    if key not in _shared or _shared[key][1] is not loop:
        _shared[key] = (now, loop, asyncio.ensure_future(_fetch(engine, sorted(ids), size)))
    return await asyncio.shield(_shared[key][2])


async def _fetch(engine: Engine, ids: list[str], size: bool) -> dict[str, ContainerRow]:
    rows = await engine.short_call(engine.list_containers, all=True, filters={"id": ids}, size=size)
    wanted = set(ids)
    return {r.id: r for r in rows if r.id in wanted}  # the id filter is a prefix match


def container_id(event: dict) -> str:
    """The full ID of a container event, or "" for anything else."""
    if event.get("kind") != "engine" or event.get("type") != "container":
        return ""
    found = event.get("id") or ""
    return found if isinstance(found, str) and len(found) == 64 and ROW_ID.fullmatch(found) else ""
