"""The one seam to Docker engines: every Docker SDK call lives in this package.

Layers, top to bottom:
- `Engine` (here): one Docker host, made by the registry (`engine_for(name)`) and passed explicitly:
  views get it from the URL (`request.engine`), consumers from their scope, forms as an argument.
  Its calls are grouped by resource, one module each: `containers`, `images`, `exec` (terminals),
  `streams` (logs, stats) and `events`; `connection` holds its clients and thread pools.
- `errors`: what leaves the package is an EngineError (or a subclass) whose message a person can act on.
- Return values are plain dataclasses (ContainerRow, ImageRow, ContainerRef, ...) or the engine's
  inspect JSON where a page shows it as such.
A new resource (volumes, networks, ...) is a module with a `...Calls` class, mixed into Engine below.
"""

from __future__ import annotations

from containers.engine.connection import POOL_SIZE, Connection, EngineInfo, timeout_for
from containers.engine.containers import (
    CONTAINER_NAME,
    DIFF_KINDS,
    MAX_NAME_LENGTH,
    MIN_PREFIX,
    ContainerCalls,
    ContainerRef,
    ContainerRow,
    HostPortUse,
    PublishedPort,
    match_container,
)
from containers.engine.errors import (
    Ambiguous,
    Conflict,
    EngineError,
    EngineLost,
    EngineTimeout,
    EngineUnavailable,
    NotFound,
)
from containers.engine.events import EVENT_TYPES, QUIET_ACTIONS, EventStream, event_of, since_of
from containers.engine.exec import DEFAULT_SHELL, SESSION_ENV, ExecCalls, TerminalStream, TerminalTarget
from containers.engine.images import ImageCalls, ImageInUse, ImageReference, ImageRow, parse_image_reference
from containers.engine.streams import STDERR, STDOUT, EngineStream, StreamCalls


class Engine(Connection, ContainerCalls, ImageCalls, ExecCalls, StreamCalls):
    """One Docker host: its connection and every call the panel makes to it."""

    def events(self, since: str | None = None) -> EventStream:
        """The engine's events from `since` on, on a connection of their own."""
        return EventStream(self, since)


from containers.engine.registry import (  # noqa: E402  (the registry makes Engines)
    UnknownHost,
    default_engine,
    engine_for,
    forget_clients,
    known_engines,
)

__all__ = [
    "CONTAINER_NAME",
    "DEFAULT_SHELL",
    "DIFF_KINDS",
    "EVENT_TYPES",
    "MAX_NAME_LENGTH",
    "MIN_PREFIX",
    "POOL_SIZE",
    "QUIET_ACTIONS",
    "SESSION_ENV",
    "STDERR",
    "STDOUT",
    "Ambiguous",
    "Conflict",
    "ContainerRef",
    "ContainerRow",
    "Engine",
    "EngineError",
    "EngineInfo",
    "EngineLost",
    "EngineStream",
    "EngineTimeout",
    "EngineUnavailable",
    "EventStream",
    "HostPortUse",
    "ImageInUse",
    "ImageReference",
    "ImageRow",
    "NotFound",
    "PublishedPort",
    "TerminalStream",
    "TerminalTarget",
    "UnknownHost",
    "default_engine",
    "engine_for",
    "event_of",
    "forget_clients",
    "known_engines",
    "match_container",
    "parse_image_reference",
    "since_of",
    "timeout_for",
]
