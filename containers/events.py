"""Live updates: one engine-events listener per Docker host and server process, and the panel's own
"who did what".

A host's listener is an asyncio task in the server's event loop, started by the first events socket
of a page of that host. A daemon thread reads the engine's (blocking) event stream and hands each
event to the loop, which publishes a small message to that host's channel-layer group
(events_group(name)): events of one host reach only that host's pages. What users do (audit
entries) goes to PANEL_GROUP, which every page joins, naming the host. After the stream breaks (engine
restart) it reconnects with since= the last event's time and drops what it already published.

With Redis several server processes each run a listener per host, but only one publishes at a time:
the one holding the host's lease in Redis (SET NX with expiry, renewed while alive). Publishing from every process
would hand each browser one copy per process. The leader also stores its cursor in Redis, so a
process taking over after the leader died resumes where it stopped, without gaps or repeats.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

from containers.engine import Engine, EngineError, EventStream, default_engine, since_of
from containers.roles import ROLE_LABELS

log = logging.getLogger(__name__)

# Every events socket joins it: what users do (and any message for all pages), whatever the host.
PANEL_GROUP = "engine-events"
# Which process published a message; tests and logs use it to tell processes apart.
ORIGIN = f"{socket.gethostname()}:{os.getpid()}"
RECONNECT_DELAYS = (0.5, 1, 2, 5, 10)
LEASE_SECONDS = 6.0

_END = object()


def events_group(host: str) -> str:
    """The channel-layer group of one host's engine events."""
    return f"engine-events.{host}"


def lease_key(host: str) -> str:
    return f"dockerpanel:events:{host}:leader"


def cursor_key(host: str) -> str:
    return f"dockerpanel:events:{host}:cursor"


def event_key(event: dict) -> str:
    return f"{event['time_nano']}:{event['id']}:{event['action']}"


class Cursor:
    """The last published event time plus the keys published at exactly that time.

    since= is inclusive, so a reconnect replays the last event(s); this drops them.
    """

    def __init__(self, time_nano: int = 0, keys: list[str] | None = None):
        self.time_nano = time_nano
        self.keys = set(keys or [])

    def is_new(self, event: dict) -> bool:
        key = event_key(event)
        if event["time_nano"] < self.time_nano or (event["time_nano"] == self.time_nano and key in self.keys):
            return False
        if event["time_nano"] > self.time_nano:
            self.time_nano, self.keys = event["time_nano"], set()
        self.keys.add(key)
        return True

    def dumps(self) -> str:
        return json.dumps({"time_nano": self.time_nano, "keys": sorted(self.keys)})

    @classmethod
    def loads(cls, text: str | bytes | None) -> Cursor | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(int(data["time_nano"]), data.get("keys"))


class RedisLease:
    """Leadership among the processes sharing one Redis: only the holder publishes engine events."""

    RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    )
    RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    def __init__(self, url: str, host: str, seconds: float = LEASE_SECONDS):
        import redis.asyncio

        self.lease_key, self.cursor_key = lease_key(host), cursor_key(host)
        self.redis = redis.asyncio.Redis.from_url(url)
        self.token = f"{ORIGIN}:{uuid.uuid4().hex[:8]}"
        self.ms = int(seconds * 1000)
        self.held = False

    async def acquire(self) -> None:
        """Wait until this process leads."""
        while True:
            try:
                if await self.redis.set(self.lease_key, self.token, nx=True, px=self.ms):
                    self.held = True
                    log.info("engine events: %s leads", ORIGIN)
                    return
            except Exception as e:
                log.warning("engine events: Redis lease: %s", e)
            await asyncio.sleep(self.ms / 3000)

    async def keep(self) -> None:
        """Renew while held; on a failed renewal stop publishing (another process may lead)."""
        while self.held:
            await asyncio.sleep(self.ms / 3000)
            try:
                self.held = bool(await self.redis.eval(self.RENEW, 1, self.lease_key, self.token, self.ms))
            except Exception as e:
                log.warning("engine events: Redis lease renewal: %s", e)
                self.held = False

    async def release(self) -> None:
        self.held = False
        try:
            await self.redis.eval(self.RELEASE, 1, self.lease_key, self.token)
            await self.redis.aclose()
        except Exception:
            pass

    async def load_cursor(self) -> Cursor | None:
        try:
            return Cursor.loads(await self.redis.get(self.cursor_key))
        except Exception as e:
            log.warning("engine events: Redis cursor: %s", e)
            return None

    async def save_cursor(self, cursor: Cursor) -> None:
        try:
            await self.redis.set(self.cursor_key, cursor.dumps(), ex=24 * 3600)
        except Exception as e:
            log.warning("engine events: Redis cursor: %s", e)


class Listener:
    """Follows one engine's events for one event loop (one server process) and publishes them to
    that host's group."""

    def __init__(self, loop: asyncio.AbstractEventLoop, engine: Engine):
        self.loop = loop
        self.engine = engine
        self.group = events_group(engine.name)
        # Events from the moment the first socket asked: nothing in between is missed.
        self.cursor = Cursor(time.time_ns())
        # The open stream, set by the thread that opened it: `halt()` closes it even when the stream
        # opened at the very moment the listener stopped, before the loop saw it.
        self.stream: EventStream | None = None
        self.lock = threading.Lock()
        self.stopped = False
        self.down = ""  # why the engine cannot be followed, while it cannot: told to each new page
        self.lease = RedisLease(settings.REDIS_URL, engine.name) if settings.REDIS_URL else None
        self.task = loop.create_task(self.run(), name=f"engine-events-{engine.name}")

    async def run(self) -> None:
        layer = get_channel_layer()
        failures = 0  # failed attempts to open the stream in a row
        broken = False  # a stream ended or failed: the next one that opens is a reconnect
        down = False  # "unreachable" was published
        while not self.stopped:
            if self.lease and not self.lease.held:
                await self.lease.acquire()
                self.loop.create_task(self.lease.keep())
                self.cursor = await self.lease.load_cursor() or self.cursor
            queue: asyncio.Queue = asyncio.Queue()
            threading.Thread(target=self._follow, args=(since_of(self.cursor.time_nano), queue), daemon=True).start()
            while (item := await queue.get()) is not _END:
                if isinstance(item, EventStream):
                    if broken:
                        # Pages refresh: what happened beyond the engine's event buffer is not replayed.
                        log.info("engine events: reconnected")
                        await self.publish(layer, {"type": "engine", "action": "reconnected"})
                    failures, broken, down = 0, False, False
                    self.down = ""
                elif isinstance(item, EngineError):
                    if not down:
                        log.warning("engine events: %s", item)
                        await self.publish(layer, {"type": "engine", "action": "unreachable", "error": str(item)})
                    failures, down = failures + 1, True
                    self.down = str(item)
                elif self.lease and not self.lease.held:
                    self.close_stream()  # another process leads now: it publishes this event
                elif self.cursor.is_new(item):
                    await self.publish(layer, {**item, "key": event_key(item)})
                    if self.lease:
                        await self.lease.save_cursor(self.cursor)
            if self.stopped or (self.lease and not self.lease.held):
                continue
            broken = True
            if failures:  # after a stream that ended, try again at once; then back off
                await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS)) - 1])

    def _follow(self, since: str, queue: asyncio.Queue) -> None:
        """In a daemon thread: open the stream and hand every event to the loop."""
        try:
            stream = self.engine.events(since=since)
        except EngineError as e:
            self._post(queue, e)
            self._post(queue, _END)
            return
        with self.lock:
            halted = self.stopped
            if not halted:
                self.stream = stream
        try:
            if halted:
                return
            self._post(queue, stream)
            for event in stream:
                self._post(queue, event)
        except EngineError as e:
            self._post(queue, e)
        finally:
            with self.lock:
                if self.stream is stream:
                    self.stream = None
            stream.close()
            self._post(queue, _END)

    def _post(self, queue: asyncio.Queue, item) -> None:
        try:
            self.loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (server shutting down)
            pass

    async def publish(self, layer, event: dict) -> None:
        message = {"kind": "engine", **event, "host": self.engine.name, "origin": ORIGIN}
        try:
            await layer.group_send(self.group, {"type": "engine.event", "event": message})
        except Exception:
            log.exception("engine events: could not publish %s", message)

    def close_stream(self) -> None:
        """Break the current stream (as an engine restart does): the listener reconnects with since=."""
        with self.lock:
            stream = self.stream
        if stream is not None:
            stream.close()

    def halt(self) -> None:
        """Stop following: close the stream, and any stream being opened closes as soon as it opens."""
        with self.lock:
            self.stopped = True
            stream = self.stream
        if stream is not None:
            stream.close()

    async def stop(self) -> None:
        self.halt()
        self.task.cancel()
        if self.lease:
            await self.lease.release()


_listeners: dict[str, Listener] = {}


def ensure_listener(engine: Engine | None = None) -> Listener:
    """The running loop's listener of a host (the default host when None), started on first use
    (from an events socket's connect)."""
    engine = engine or default_engine()
    loop = asyncio.get_running_loop()
    listener = _listeners.get(engine.name)
    if listener is None or listener.loop is not loop or listener.task.done() or listener.engine is not engine:
        if listener is not None:
            listener.halt()
        listener = _listeners[engine.name] = Listener(loop, engine)
    return listener


async def stop_listener(name: str | None = None) -> None:
    """Stop the listener of one host, or every listener."""
    for key in [name] if name else list(_listeners):
        listener = _listeners.pop(key, None)
        if listener is not None:
            await listener.stop()


# === panel actions: "alice stopped web" ===

# Whole sentences with placeholders (word order differs between languages): the text of a toast is
# made for each page in its own language (see localized()), never glued from words.
SENTENCES = {
    "container.start": gettext_lazy("%(user)s started %(target)s"),
    "container.stop": gettext_lazy("%(user)s stopped %(target)s"),
    "container.restart": gettext_lazy("%(user)s restarted %(target)s"),
    "container.kill": gettext_lazy("%(user)s killed %(target)s"),
    "container.pause": gettext_lazy("%(user)s paused %(target)s"),
    "container.unpause": gettext_lazy("%(user)s unpaused %(target)s"),
    "container.remove": gettext_lazy("%(user)s removed %(target)s"),
    "container.rename": gettext_lazy("%(user)s renamed %(target)s"),
    "container.run": gettext_lazy("%(user)s ran %(target)s"),
    "container.create": gettext_lazy("%(user)s created %(target)s"),
    "container.exec": gettext_lazy("%(user)s opened a terminal in %(target)s"),
    "container.attach": gettext_lazy("%(user)s attached to %(target)s"),
    "container.env_revealed": gettext_lazy("%(user)s revealed the environment of %(target)s"),
    "image.pull": gettext_lazy("%(user)s pulled %(target)s"),
    "image.remove": gettext_lazy("%(user)s removed image %(target)s"),
    "image.tag": gettext_lazy("%(user)s tagged image %(target)s"),
    "image.prune": gettext_lazy("%(user)s pruned image %(target)s"),
    "image.env_revealed": gettext_lazy("%(user)s revealed the environment of image %(target)s"),
    "user.create": gettext_lazy("%(user)s added user %(target)s (%(role)s)"),
    "user.deactivate": gettext_lazy("%(user)s deactivated %(target)s"),
    "user.activate": gettext_lazy("%(user)s reactivated %(target)s"),
    "user.password_reset": gettext_lazy("%(user)s reset the password of %(target)s"),
    "deploy.apache": gettext_lazy("%(user)s deployed the Apache demo as %(target)s"),
}
# "made web an operator": the article goes with the role, so each role has its sentence.
ROLE_SENTENCES = {
    "viewer": gettext_lazy("%(user)s made %(target)s a viewer"),
    "operator": gettext_lazy("%(user)s made %(target)s an operator"),
    "admin": gettext_lazy("%(user)s made %(target)s an admin"),
}
# Entries that are no news for the rest of the team.
# Terminal sessions and column choices change nothing that other people's pages show.
QUIET_AUDIT = {
    "permission.denied",
    "user.password",
    "user.setup",
    "login.failed",
    "login.locked_out",
    "container.exec",
    "container.attach",
    "preference.columns",
    "preference.language",
    "preference.theme",
}


def sentence(username: str, action: str, target: str, params: dict | None = None) -> str:
    """A toast's text in the active language, e.g. "alice stopped web"; an action without a sentence
    of its own is named as the audit log names it ("alice: network.create web")."""
    role = str((params or {}).get("role", ""))
    values = {"user": username, "target": target, "role": ROLE_LABELS.get(role, role), "action": action}
    if action == "user.role" and role in ROLE_SENTENCES:
        template = ROLE_SENTENCES[role]
    else:
        template = SENTENCES.get(action) or gettext_lazy("%(user)s: %(action)s %(target)s")
    return (str(template) % values).strip()


def localized(message: dict, language: str) -> dict:
    """A panel message with its text in `language` (each page's own, see EventsConsumer)."""
    with translation.override(language):
        text = sentence(message["user"], message["action"], message["target"], {"role": message.get("role", "")})
    return {**message, "text": text}


def panel_message(entry) -> dict | None:
    """The live message for an audit entry, or None when the team need not hear of it."""
    if not entry.ok or entry.action in QUIET_AUDIT or not entry.username:
        return None
    target = entry.target_name or entry.target_id[:12]
    message = {
        "kind": "panel",
        "user": entry.username,
        "action": entry.action,
        "target": target,
        "host": entry.host,
    }
    role = (entry.params or {}).get("role") if entry.action.startswith("user.") else None
    if role:
        message["role"] = str(role)
    # in the default language here (the acting user's may be active); each page gets its own
    return localized(message, settings.LANGUAGE_CODE)


def publish_panel_entry(entry) -> None:
    """Tell every open page what a user just did (called after the audit entry is committed)."""
    message = panel_message(entry)
    if message is None:
        return
    try:
        async_to_sync(get_channel_layer().group_send)(PANEL_GROUP, {"type": "engine.event", "event": message})
    except Exception:
        log.exception("could not publish %s", message)
