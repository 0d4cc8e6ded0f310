"""Engines by host name: one Engine object per host, made on first use and kept.

The host named "local" is the engine named by DOCKER_HOST (or the local socket), and the default
until hosts are configured otherwise.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from containers.engine.errors import NotFound

if TYPE_CHECKING:
    from containers.engine import Engine

LOCAL = "local"
_lock = threading.Lock()
_engines: dict[str, Engine] = {}


class UnknownHost(NotFound):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"No such Docker host: {name}")


def default_name() -> str:
    return LOCAL


def engine_for(name: str | None = None) -> Engine:
    """The Engine of the host called `name` (the default host when None); UnknownHost otherwise."""
    from containers.engine import Engine

    name = name or default_name()
    with _lock:
        engine = _engines.get(name)
        if engine is not None:
            return engine
    if name != LOCAL:
        raise UnknownHost(name)
    made = Engine(LOCAL)
    with _lock:
        return _engines.setdefault(name, made)


def forget_engine(name: str) -> None:
    """Drop the Engine of a host whose row changed or was removed; the next engine_for() makes it anew."""
    with _lock:
        engine = _engines.pop(name, None)
    if engine is not None:
        engine.close()


def default_engine() -> Engine:
    return engine_for(None)


def known_engines() -> list[Engine]:
    """The Engines made so far (the ones with clients and pools to drop)."""
    with _lock:
        return list(_engines.values())


def forget_clients() -> None:
    """Drop every engine's cached clients (after an engine address changed)."""
    for engine in known_engines():
        engine.forget_clients()


def install(engine: Engine) -> None:
    """Use `engine` for its host name from now on (the fake engine of unit tests, tests/fake_engine.py)."""
    with _lock:
        old = _engines.get(engine.name)
        _engines[engine.name] = engine
    if old is not None and old is not engine:
        old.close()
