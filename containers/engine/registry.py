"""Engines by host name: one Engine object per host, made on first use and kept.

A host is a hosts.models.Host row (configured on /hosts/ or by `manage.py addhost`); its Engine's
client is made by hosts.connection.make_client. The host `local`, made on first start, is the
engine DOCKER_HOST names (or the local socket) while its URL is blank. The default host (the one
the unprefixed URLs mean) is the row marked default. A row that changes or goes drops its Engine
and the default (hosts/apps.py), so the next use reads it again; other server processes notice
within DEFAULT_TTL seconds.

Host rows are read rarely (first use, then every DEFAULT_TTL for the default's name), also from
code running in the event loop: there the query runs in a worker thread (see _from_database).
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from containers.engine.errors import NotFound

if TYPE_CHECKING:
    from containers.engine import Engine

LOCAL = "local"
DEFAULT_TTL = 5.0
_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_default: tuple[str, float] | None = None  # (name, when read)
_reader = ThreadPoolExecutor(1, thread_name_prefix="host-rows")


class UnknownHost(NotFound):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"No such Docker host: {name}")


def _from_database(query):
    """Run a small ORM query here, or in a worker thread when called from an event loop (where
    Django refuses database access)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return query()
    return _reader.submit(query).result(timeout=30)


def default_name() -> str:
    """The name of the default host; `local` when the hosts cannot be read (no database yet)."""
    global _default
    with _lock:
        cached = _default
    if cached is not None and time.monotonic() - cached[1] < DEFAULT_TTL:
        return cached[0]

    def read() -> str:
        from hosts.models import Host

        return Host.default().name

    try:
        name = _from_database(read)
    except Exception:  # no table yet (before migrate), or a test without database access
        return LOCAL
    with _lock:
        _default = (name, time.monotonic())
    return name


def engine_for(name: str | None = None) -> Engine:
    """The Engine of the host called `name` (the default host when None); UnknownHost otherwise."""
    name = name or default_name()
    with _lock:
        engine = _engines.get(name)
        if engine is not None:
            return engine
    made = _engine_of_host(name)
    with _lock:
        return _engines.setdefault(name, made)


def _engine_of_host(name: str) -> Engine:
    """An Engine for the configured host called `name`; UnknownHost if none."""
    from containers.engine import Engine
    from hosts.connection import client_factory

    def read():
        from hosts.models import Host

        if name == LOCAL:
            Host.default()  # makes `local` on first start
        return Host.objects.filter(name=name).first()

    try:
        host = _from_database(read)
    except Exception:
        if name != LOCAL:
            raise
        host = None  # no database yet: local is what DOCKER_HOST names
    if host is None and name == LOCAL:
        return Engine(LOCAL)
    if host is None:
        raise UnknownHost(name)
    if not host.url:  # local, following DOCKER_HOST
        return Engine(host.name, public_address=host.public_address)
    return Engine(host.name, host.url, make_client=client_factory(host), public_address=host.published_address())


def forget_engine(name: str) -> None:
    """Drop the Engine of a host whose row changed or was removed, and the default host's name;
    the next engine_for() reads them anew."""
    global _default
    with _lock:
        engine = _engines.pop(name, None)
        _default = None
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


def reset() -> None:
    """Forget every Engine and the default host (tests: each starts from the database it sees)."""
    global _default
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
        _default = None
    for engine in engines:
        engine.close()


def install(engine: Engine) -> None:
    """Use `engine` for its host name from now on (the fake engine of unit tests, tests/fake_engine.py)."""
    with _lock:
        old = _engines.get(engine.name)
        _engines[engine.name] = engine
    if old is not None and old is not engine:
        old.close()
