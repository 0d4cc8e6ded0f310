"""A Docker host's connection: its clients, its thread pools and its error wording.

Each Engine owns its own clients (one per timeout, made on first use, dropped when the connection
breaks) and its own bounded thread pools, so a host that hangs or goes away stalls only its pages.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import docker
from django.conf import settings

from containers.engine.containers import _ExecGate
from containers.engine.errors import EngineError, translate

# Connections kept per client. Every page request, fragment refresh and live-update row fetch runs
# in its own thread; with the SDK's default of 10, a burst of them overflowed the pool ("pool is
# full, discarding connection") and each discarded connection was a new one to the engine.
POOL_SIZE = 64
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_DONE = object()

# Makes a client for hosts that need more than a URL (TLS files, an SSH key): (timeout, pool size).
ClientFactory = Callable[[float, int], docker.DockerClient]


@dataclass(frozen=True)
class EngineInfo:
    version: str
    api_version: str
    os: str
    containers: int
    running: int
    images: int


class Connection:
    """The connection half of an Engine: see containers.engine.Engine."""

    def __init__(self, name: str, url: str = "", make_client: ClientFactory | None = None, public_address: str = ""):
        self.name = name
        # "" follows DOCKER_HOST (settings, then the environment), else the default socket, as the CLI does
        self._url = url
        self._make_client = make_client
        self.public_address = public_address
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, float], docker.DockerClient] = {}
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self.exec_gate = _ExecGate()

    def __repr__(self) -> str:
        return f"<Engine {self.name} {self.address}>"

    @property
    def address(self) -> str:
        """The engine address, as the docker CLI would name it."""
        return self._url or settings.DOCKER_HOST or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET

    @property
    def is_local(self) -> bool:
        """Whether the engine runs on this machine (reached by a unix socket)."""
        return self.address.startswith("unix://")

    @property
    def public_host(self) -> str:
        """Where published ports of this engine are opened from a browser: the configured public
        address, else the host of a tcp:// or ssh:// URL; "" for a local engine (the panel's own rules)."""
        if self.public_address:
            return self.public_address
        if self.is_local:
            return ""
        return urlsplit(self.address).hostname or ""

    def client(self, long: bool = False) -> docker.DockerClient:
        """A client for this engine, made on first use with API version negotiation.

        Page calls wait DOCKER_PAGE_TIMEOUT for an answer, long operations (pull, create, stop, remove)
        DOCKER_TIMEOUT. The calling thread's idle database connections are given back first: a request
        must not hold one while it waits on an engine that may hang.
        A failed connection is not cached, so the panel recovers by itself when the engine comes back.
        """
        _release_database()
        base_url = self.address
        timeout = timeout_for(long)
        with self._lock:
            cached = self._clients.get((base_url, timeout))
        if cached is not None:
            return cached
        made = self.fresh_client(timeout)
        with self._lock:
            return self._clients.setdefault((base_url, timeout), made)

    def fresh_client(self, timeout: float) -> docker.DockerClient:
        """A new client of its own (event streams keep theirs, so closing one ends only it)."""
        try:
            if self._make_client is not None:
                return self._make_client(timeout, POOL_SIZE)
            return docker.DockerClient(base_url=self.address, version="auto", timeout=timeout, max_pool_size=POOL_SIZE)
        except Exception as e:
            raise self.translate(e) from e

    def forget_clients(self) -> None:
        """Drop cached clients (the connection broke, or the host's address changed)."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for c in clients:
            c.close()

    def translate(self, e: BaseException, what: str = "") -> EngineError:
        """Any SDK or transport exception as an EngineError naming this engine (see errors.translate)."""
        return translate(e, what, self.address, self.forget_clients)

    def info(self) -> EngineInfo:
        try:
            c = self.client()
            v = c.version()
            i = c.info()
        except Exception as e:
            raise self.translate(e) from e
        return EngineInfo(
            version=v.get("Version", ""),
            api_version=v.get("ApiVersion", ""),
            os=i.get("OperatingSystem", ""),
            containers=i.get("Containers", 0),
            running=i.get("ContainersRunning", 0),
            images=i.get("Images", 0),
        )

    def ping(self) -> str:
        """The engine's version; raises EngineUnavailable when it cannot be reached."""
        try:
            return self.client().version()["Version"]
        except Exception as e:
            raise self.translate(e) from e

    # --- off the event loop ---------------------------------------------------------------
    # Two bounded pools per engine, apart so that stalled long work cannot starve pages and
    # handshakes: short_call() for quick calls (inspect, resolve, open a stream; each bounded by
    # DOCKER_PAGE_TIMEOUT), long_call() and iterate_in_thread() for pulls, deploys and downloads
    # (DOCKER_LONG_WORKERS at once; more wait their turn). Never asyncio's default pool, and never
    # another engine's: a host that hangs fills only its own.

    def pool(self, kind: str) -> ThreadPoolExecutor:
        """The kind's executor, made on first use with its configured size."""
        with self._lock:
            if kind not in self._pools:
                size = settings.DOCKER_SHORT_WORKERS if kind == "short" else settings.DOCKER_LONG_WORKERS
                self._pools[kind] = ThreadPoolExecutor(size, thread_name_prefix=f"engine-{self.name}-{kind}")
            return self._pools[kind]

    async def _call(self, kind: str, fn: Callable, *args, **kwargs):
        context = contextvars.copy_context()  # as asyncio.to_thread does
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.pool(kind), call)

    async def short_call(self, fn: Callable, *args, **kwargs):
        """Run a quick blocking call (bounded by DOCKER_PAGE_TIMEOUT) off the event loop."""
        return await self._call("short", fn, *args, **kwargs)

    async def long_call(self, fn: Callable, *args, **kwargs):
        """Run a long blocking call (pull, create, start, exec) on the long pool."""
        return await self._call("long", fn, *args, **kwargs)

    async def iterate_in_thread(self, make: Callable[[], Iterator]) -> AsyncIterator:
        """Run a blocking iterator on the long pool, yielding its items to async code."""
        iterator = await self.long_call(make)
        while True:
            item = await self.long_call(next, iterator, _DONE)
            if item is _DONE:
                return
            yield item

    def close(self) -> None:
        """Drop clients and stop taking work (a host removed or changed)."""
        self.forget_clients()
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for p in pools:
            p.shutdown(wait=False, cancel_futures=True)


def timeout_for(long: bool) -> float:
    return settings.DOCKER_TIMEOUT if long else settings.DOCKER_PAGE_TIMEOUT


def _release_database() -> None:
    """Close (or give back to the pool) this thread's database connections outside transactions."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
