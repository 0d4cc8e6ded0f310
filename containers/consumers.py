"""Websocket consumers. Each checks login and role before it starts anything.

Under ASGI a close before accept is a bare 403 at the handshake that a page cannot explain, so a
refused socket is accepted and closed at once with 4401 (not logged in) or 4403 (no such role).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import translation
from django.utils.translation import gettext as _

from containers import audit, live_rows
from containers.engine import Engine, UnknownHost, engine_for
from containers.events import PANEL_GROUP, ensure_listener, events_group, localized
from containers.roles import has_role
from containers.sessions import session_fingerprint, session_problem, session_still_valid

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_HOST = 4404
# The user's role changed: reconnect, so the role is checked again (see static/js/live.js).
CLOSE_ROLE_CHANGED = 4000
# The channel layer (Redis) cannot be reached: no live updates for now; the page retries.
CLOSE_LAYER_DOWN = 4503
log = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    """Every socket of a user joins this group, so deactivating the user can close them all."""
    return f"user-{user_id}"


class PanelConsumer(AsyncWebsocketConsumer):
    """Base: subclasses name the role they need, implement `start()` (which must accept) and, if
    they hold resources, `disconnect()` calling `await super().disconnect(code)`."""

    role = "viewer"
    refused = False
    engine: Engine
    user_group_name = ""
    layer_error = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.refuse(CLOSE_UNAUTHENTICATED, "not logged in")
            return
        problem = session_problem(self.scope.get("session") or {}, audit.client_ip(self.scope))
        if problem:
            await self.refuse(CLOSE_UNAUTHENTICATED, problem)
            return
        if not await database_sync_to_async(has_role)(user, self.role):
            await self.refuse(CLOSE_FORBIDDEN, f"{user} lacks the {self.role} role")
            return
        try:  # the host the route names (/ws/hosts/<name>/...), else the default host
            self.engine = await database_sync_to_async(engine_for)(self.url_kwargs().get("host"))
        except UnknownHost as e:
            await self.refuse(CLOSE_UNKNOWN_HOST, str(e))
            return
        try:
            await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
            self.user_group_name = user_group(user.pk)
        except Exception as e:  # Redis down: the socket still works, only without remote closing
            log.warning("channel layer unavailable: %s", e)
            self.layer_error = f"{type(e).__name__}: {e}"
        await self.start()

    def url_kwargs(self) -> dict:
        return (self.scope.get("url_route") or {}).get("kwargs") or {}

    async def refuse(self, code: int, why: str) -> None:
        self.refused = True
        await database_sync_to_async(audit.record)(
            self.scope,
            "websocket.refused",
            target_name=self.scope.get("path", "")[:255],
            params={"code": code},
            ok=False,
            result=why,
        )
        await self.accept()
        await self.close(code=code)

    async def start(self) -> None:
        await self.accept()

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every message: a hop to the thread that
        # runs sync code, and back. A frame from the page (a keystroke, an acknowledgement) is on the
        # hot path and reaches the database only through database_sync_to_async, which does it itself.
        if message.get("type") == "websocket.receive":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        if self.user_group_name:
            try:
                await self.channel_layer.group_discard(self.user_group_name, self.channel_name)
            except Exception as e:  # Redis went away meanwhile: nothing left to leave
                log.warning("channel layer unavailable: %s", e)

    async def user_recheck(self, message: dict) -> None:
        """The user's password changed: sockets of the user's other sessions close as logged out."""
        key = getattr(self.scope.get("session"), "session_key", None)
        if key and message.get("keep") == session_fingerprint(key):
            return
        if not await database_sync_to_async(session_still_valid)(key, self.scope["user"]):
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def user_revoked(self, message: dict) -> None:
        """The user was deactivated or lost the role: close with 4401/4403 as at connect."""
        await self.close(code=message.get("code", CLOSE_UNAUTHENTICATED))


class EventsConsumer(PanelConsumer):
    """Live updates: relays the small "changed" messages published to the events group
    (by this process's engine-events listener, started here on first use, and by audit entries).

    A containers list page may say what it shows ({"watch": "containers", "query": ...}): the events
    about containers then also come back as its rows, rendered here ({"kind": "rows", ...}; see
    containers/live_rows.py), so the page need not fetch them."""

    joined = False
    watch: live_rows.Watch | None = None
    flusher: asyncio.Task | None = None

    async def start(self) -> None:
        self.pending: dict[str, set[str]] = {}  # container ID -> actions heard in this burst
        self.rechecks: dict[str, int] = {}  # container ID -> times asked again after its "die"
        self.burst = 0
        self.profile: tuple[list[str], bool] | None = None
        self.language = _language_of(self.scope, self.engine)  # the toasts' language, as the page's
        listener = ensure_listener(self.engine)
        if not self.layer_error:
            try:
                await self.channel_layer.group_add(events_group(self.engine.name), self.channel_name)
                await self.channel_layer.group_add(PANEL_GROUP, self.channel_name)
                self.joined = True
            except Exception as e:
                self.layer_error = f"{type(e).__name__}: {e}"
        await self.accept()
        if self.layer_error:  # degrade, say so and let the page retry: never a 500 at the handshake
            with translation.override(self.language):
                message = _("Live updates are off: the channel layer (Redis) cannot be reached (%(error)s).") % {
                    "error": self.layer_error
                }
            await self.send(text_data=json.dumps({"kind": "live", "action": "unavailable", "message": message}))
            await self.close(code=CLOSE_LAYER_DOWN)
            return
        if listener.down:  # a page opened while the engine is away learns it at once
            await self.send(
                text_data=json.dumps(
                    {"kind": "engine", "type": "engine", "action": "unreachable", "error": listener.down}
                )
            )

    async def disconnect(self, code: int) -> None:
        if self.flusher:
            self.flusher.cancel()
        if self.joined:
            try:
                await self.channel_layer.group_discard(events_group(self.engine.name), self.channel_name)
                await self.channel_layer.group_discard(PANEL_GROUP, self.channel_name)
            except Exception as e:
                log.warning("channel layer unavailable: %s", e)
        await super().disconnect(code)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Only a list page's watch message; anything else (bad JSON, unknown) is ignored."""
        if self.refused:
            return
        query = live_rows.read_watch(text_data)
        if query is None:
            return
        if self.profile is None:  # the user's columns and role, once per socket
            self.profile = await database_sync_to_async(_profile)(self.scope["user"])
        columns, can_operate = self.profile
        links, language = _page_of(self.scope, self.engine)
        self.watch = live_rows.Watch(live_rows.listing_for(query), columns, can_operate, links, language)
        # the page stops fetching rows; the query says which watch message this answers
        await self.send(text_data=json.dumps({"kind": "watching", "query": query}))

    async def engine_event(self, message: dict) -> None:
        event = message["event"]
        if event.get("kind") == "panel":  # a toast: in this page's language
            event = localized(event, self.language)
        await self.send(text_data=json.dumps(event))
        container_id = live_rows.container_id(event) if self.watch else ""
        if not container_id:
            return
        self.pending.setdefault(container_id, set()).add(str(event.get("action", "")))
        time_nano = event.get("time_nano")
        self.burst = max(self.burst, time_nano if isinstance(time_nano, int) else 0)
        if self.flusher is None:
            self.flusher = asyncio.create_task(self.flush())

    async def flush(self) -> None:
        """After a burst, the rows of the containers it named: one message, one shared engine call."""
        try:
            while self.pending:
                await asyncio.sleep(live_rows.BURST_SECONDS)
                heard, burst, watch = self.pending, self.burst, self.watch
                self.pending = {}
                if len(heard) > live_rows.MAX_IDS:  # a flood: the page refreshes its list once
                    await self.send(text_data=json.dumps({"kind": "rows", "rows": {}, "new": [], "refresh": True}))
                    continue
                ids = sorted(heard)
                try:
                    rows = await live_rows.rows_for(self.engine, ids, burst, watch.size)
                except Exception as e:  # the engine went away: its own event tells the page
                    log.info("live rows: %s", e)
                    continue
                update = watch.update(heard, rows)
                if update["rows"]:
                    await self.send(text_data=json.dumps(update))
                # The engine sends "die" just before it records the container as stopped (a busy
                # engine, a good while before): a row still running after it is asked for again,
                # every burst, up to RECHECKS times (shared again: a new burst each time).
                for i, acts in heard.items():
                    if "die" in acts and i in rows and rows[i].state == "running":
                        tries = self.rechecks.get(i, 0)
                        if tries < live_rows.RECHECKS:
                            self.rechecks[i] = tries + 1
                            self.pending.setdefault(i, set()).update({"die", "again"})
                            self.burst = max(self.burst, burst + 1)
                    else:
                        self.rechecks.pop(i, None)
        finally:
            self.flusher = None


def _profile(user) -> tuple[list[str], bool]:
    from containers.views.containers import chosen_columns

    return chosen_columns(user), has_role(user, "operator")


def _request_of(scope: dict, engine: Engine):
    """The socket's handshake as a GET request of its page, to decide things as for the page itself."""
    from django.core.handlers.asgi import ASGIRequest

    http = {**scope, "type": "http", "method": "GET", "scheme": "https" if scope.get("scheme") == "wss" else "http"}
    request = ASGIRequest(http, io.BytesIO())
    request.engine = engine
    request.host_name = ((scope.get("url_route") or {}).get("kwargs") or {}).get("host")
    return request


def _language_of(scope: dict, engine: Engine) -> str:
    """The page's language: the session's choice (UserLanguageMiddleware), else LocaleMiddleware's."""
    from containers import language

    chosen = (scope.get("session") or {}).get(language.SESSION_KEY)
    if chosen and language.supported(chosen):
        return chosen
    return translation.get_language_from_request(_request_of(scope, engine))


def _page_of(scope: dict, engine: Engine) -> tuple:
    """Where the rows' port links point and the page's language, decided as for the page itself
    (port_links; LocaleMiddleware, then the session's choice as UserLanguageMiddleware)."""
    from containers.views.containers import PortLinks, port_links

    code = _language_of(scope, engine)
    try:
        return port_links(_request_of(scope, engine)), code
    except Exception as e:  # a host Django refuses: no links rather than wrong ones
        log.info("live rows: no port links: %s", e)
        return PortLinks("", ""), code
