"""A fake Docker engine for tests that need no real one: containers held in memory.

FakeEngine is a real `Engine` (the same class the pages use) whose container calls answer from a
dict; a call it does not implement reaches `client()`, which fails the test at once, so a test
marked `unit` can never talk to a Docker engine by accident. Install it as a host with
`installed(FakeEngine("fake"))`: its pages are then /hosts/fake/containers/ and so on.
"""

from __future__ import annotations

import hashlib
import threading
import time
from contextlib import contextmanager

from containers.engine import (
    MIN_PREFIX,
    Ambiguous,
    ContainerRef,
    ContainerRow,
    Engine,
    EngineInfo,
    HostPortUse,
    NotFound,
    registry,
)


class RealEngineReached(BaseException):
    """Not an Exception: no `except Exception` of the panel's may turn it into a message on a page."""


class FakeEngine(Engine):
    def __init__(self, name: str = "fake"):
        super().__init__(name, url="unix:///nonexistent/dockerpanel-fake-engine.sock")
        self.containers: dict[str, dict] = {}  # full ID -> the fields a row and an inspect need
        self.calls: list[tuple] = []  # (call, container ID, ...) of every action, in order

    def client(self, long: bool = False):
        raise RealEngineReached(f"a test on the fake engine '{self.name}' reached for a real Docker engine")

    # --- what tests set up ---

    def add(self, name: str, *, image: str = "busybox:latest", state: str = "running", created: int = 0) -> str:
        container_id = hashlib.sha256(name.encode()).hexdigest()
        self.containers[container_id] = {
            "id": container_id,
            "name": name,
            "image": image,
            "state": state,
            "created": created or int(time.time()) - 3600,
            "command": "sh",
        }
        return container_id

    # --- the engine's answers ---

    def events(self, since: str | None = None) -> FakeEventStream:
        """No events of its own (tests publish what they need): a stream that waits until closed."""
        return FakeEventStream()

    def info(self) -> EngineInfo:
        running = sum(1 for c in self.containers.values() if c["state"] == "running")
        return EngineInfo("27.0.0-fake", "1.47", "Fake Linux", len(self.containers), running, 1)

    def ping(self) -> str:
        return "27.0.0-fake"

    def _row(self, c: dict) -> ContainerRow:
        status = "Up 1 hour" if c["state"] == "running" else "Exited (0) 5 minutes ago"
        return ContainerRow(
            id=c["id"],
            names=[f"/{c['name']}"],
            image=c["image"],
            image_id="sha256:" + "ab" * 32,
            command=c["command"],
            created=c["created"],
            state=c["state"],
            status=status,
            ports=[],
            labels={},
        )

    def list_containers(self, all: bool = False, filters: dict | None = None, size: bool = False) -> list[ContainerRow]:
        filters = filters or {}
        rows = []
        for c in self.containers.values():
            if not all and c["state"] != "running":
                continue
            if "status" in filters and c["state"] != filters["status"]:
                continue
            if "name" in filters and filters["name"] not in c["name"]:
                continue
            if "id" in filters and not any(c["id"].startswith(i) for i in filters["id"]):
                continue
            rows.append(self._row(c))
        return rows

    def resolve_container(self, ref: str) -> ContainerRef:
        wanted = (ref or "").strip().lstrip("/")
        found = [c for c in self.containers.values() if wanted in (c["id"], c["name"])]
        if not found and len(wanted) >= MIN_PREFIX:
            found = [c for c in self.containers.values() if c["id"].startswith(wanted)]
            if len(found) > 1:
                raise Ambiguous(wanted, [(c["id"][:12], c["name"]) for c in found])
        if not found:
            raise NotFound(f"No such container: {wanted}")
        return ContainerRef(found[0]["id"], found[0]["name"], info=self.inspect_container(found[0]["id"]))

    def inspect_container(self, container_id: str) -> dict:
        c = self.containers.get(container_id)
        if c is None:
            raise NotFound(f"No such container: {container_id}")
        running = c["state"] == "running"
        return {
            "Id": c["id"],
            "Name": f"/{c['name']}",
            "Created": "2026-01-01T00:00:00.000000000Z",
            "Path": "sh",
            "Args": [],
            "Image": "sha256:" + "ab" * 32,
            "State": {
                "Status": c["state"],
                "Running": running,
                "Paused": False,
                "ExitCode": 0,
                "Pid": 1 if running else 0,
            },
            "Config": {"Image": c["image"], "Tty": False, "OpenStdin": False, "Cmd": ["sh"], "Env": [], "Labels": {}},
            "HostConfig": {"NetworkMode": "bridge", "RestartPolicy": {"Name": "no"}, "PortBindings": {}},
            "NetworkSettings": {"Ports": {}, "Networks": {}},
            "Mounts": [],
        }

    def container_top(self, container_id: str) -> dict:
        return {"Titles": ["PID", "CMD"], "Processes": [["1", "sh"]]}

    def container_diff(self, container_id: str) -> list[tuple[str, str]]:
        return []

    def published_host_ports(self) -> list[HostPortUse]:
        return []

    def container_name_taken(self, name: str) -> bool:
        return any(c["name"] == name for c in self.containers.values())

    def _set(self, call: str, container_id: str, state: str | None = None) -> None:
        if container_id not in self.containers:
            raise NotFound(f"No such container: {container_id}")
        self.calls.append((call, container_id))
        if state:
            self.containers[container_id]["state"] = state

    def stop_container(self, container_id: str, timeout: int = 10) -> None:
        self._set("stop", container_id, "exited")

    def start_container(self, container_id: str) -> None:
        self._set("start", container_id, "running")

    def restart_container(self, container_id: str, timeout: int = 10) -> None:
        self._set("restart", container_id, "running")

    def kill_container(self, container_id: str, signal: str = "KILL") -> None:
        self._set("kill", container_id, "exited")

    def remove_container(self, container_id: str, force: bool = False) -> None:
        self._set("rm", container_id)
        del self.containers[container_id]


class FakeEventStream:
    def __init__(self):
        self._closed = threading.Event()

    def __iter__(self):
        self._closed.wait()
        return iter(())

    def close(self) -> None:
        self._closed.set()


@contextmanager
def installed(engine: Engine):
    """The engine as a host of the panel (its pages under /hosts/<name>/) for the block."""
    registry.install(engine)
    try:
        yield engine
    finally:
        registry.forget_engine(engine.name)
