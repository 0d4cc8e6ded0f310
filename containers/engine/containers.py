"""Containers: naming and resolution, listing, actions, create and run (`docker ps`, `inspect`, `stop`...)."""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import docker
import docker.errors
from django.utils.translation import gettext

from containers.engine.errors import Ambiguous, EngineError, NotFound, _explanation

MIN_PREFIX = 3
_REF_CHARS = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
# The engine's own rule for a new container name (validContainerNamePattern, without the slash),
# bounded: the engine takes any length, and every viewer's list page and CLI line would carry it.
MAX_NAME_LENGTH = 128
CONTAINER_NAME = re.compile(rf"^[a-zA-Z0-9][a-zA-Z0-9_.-]{{1,{MAX_NAME_LENGTH - 1}}}$")


@dataclass(frozen=True)
class ContainerRef:
    id: str
    name: str
    # The engine's inspect answer when the ref was resolved by inspecting it: callers that need
    # the container's details read them here instead of asking the engine a second time.
    info: dict | None = field(default=None, compare=False, repr=False)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def tty(self) -> bool | None:
        """Whether it was created with -t, when the inspect answer is at hand (None otherwise)."""
        return None if self.info is None else bool((self.info.get("Config") or {}).get("Tty"))


# The engine's answer when an ID prefix matches several containers (500 up to 20.10, 400 later).
_AMBIGUOUS_PREFIX = "multiple ids found with provided prefix"


def _prefix_hint(wanted: str) -> str:
    if len(wanted) >= MIN_PREFIX:
        return ""
    return " " + gettext("(an ID prefix needs at least %(n)d characters)") % {"n": MIN_PREFIX}


def match_container(rows: list[dict], ref: str) -> ContainerRef:
    """The resolution rules of resolve_container over rows of /containers/json already at hand
    (bulk actions resolve many refs against one listing)."""
    wanted = ref.strip().lstrip("/")
    by_id = [r for r in rows if r["Id"] == wanted]
    if by_id:
        return _ref_of(by_id[0])
    by_name = [r for r in rows if any(n.lstrip("/") == wanted for n in r.get("Names") or [])]
    if by_name:
        return _ref_of(by_name[0])
    if len(wanted) >= MIN_PREFIX and re.fullmatch(r"[0-9a-f]+", wanted):
        by_prefix = [r for r in rows if r["Id"].startswith(wanted)]
        if len(by_prefix) == 1:
            return _ref_of(by_prefix[0])
        if len(by_prefix) > 1:
            raise Ambiguous(wanted, [(r["Id"][:12], _name_of(r)) for r in by_prefix])
    raise NotFound(f"No such container: {wanted}{_prefix_hint(wanted)}")


def _name_of(row: dict) -> str:
    names = row.get("Names") or []
    return names[0].lstrip("/") if names else row["Id"][:12]


def _ref_of(row: dict) -> ContainerRef:
    return ContainerRef(id=row["Id"], name=_name_of(row))


@dataclass(frozen=True)
class ContainerRow:
    """One row of /containers/json, the data `docker ps` prints."""

    id: str
    names: list[str]
    image: str
    image_id: str
    command: str
    created: int
    state: str  # created, running, paused, restarting, removing, exited, dead
    status: str  # the engine's own words: "Up 3 minutes", "Exited (0) 2 hours ago"
    ports: list[dict]
    labels: dict
    # (SizeRw, SizeRootFs) in bytes, only when asked for (`docker ps -s`): the engine measures every
    # writable layer for it, which is slow
    size: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        return _name_of({"Id": self.id, "Names": self.names})


def _row(r: dict, size: bool = False) -> ContainerRow:
    return ContainerRow(
        id=r["Id"],
        names=r.get("Names") or [],
        image=r.get("Image", ""),
        image_id=r.get("ImageID", ""),
        command=r.get("Command", ""),
        created=int(r.get("Created") or 0),
        state=r.get("State", ""),
        status=r.get("Status", ""),
        ports=r.get("Ports") or [],
        labels=r.get("Labels") or {},
        # the engine leaves out a size of 0
        size=(int(r.get("SizeRw") or 0), int(r.get("SizeRootFs") or 0)) if size else None,
    )


DIFF_KINDS = {0: "C", 1: "A", 2: "D"}


class _ExecGate:
    """Keeps the panel's own exec starts and pauses of the same container apart.

    A pause that freezes a container while an exec is being started in it can freeze the exec's
    `runc init` as it joins the container's cgroup: runc then waits for ever, holding dockerd's lock
    on that container, and every engine call that touches it (stats, rmi, inspect) hangs until the
    cgroup is thawed by hand. The panel starts execs of its own (terminals, the hang-up of a closed
    terminal's processes, deploy steps), so in this process a pause waits for those to have
    started, and they wait for a pause to be done. Containers are keyed by full ID.
    """

    def __init__(self, wait_s: float = 15):
        self.wait_s = wait_s
        self.changed = threading.Condition()
        self.starting: dict[str, int] = {}
        self.pausing: set[str] = set()

    @contextmanager
    def exec_start(self, container_id: str):
        with self.changed:
            self.changed.wait_for(lambda: container_id not in self.pausing, self.wait_s)
            self.starting[container_id] = self.starting.get(container_id, 0) + 1
        try:
            yield
        finally:
            with self.changed:
                self.starting[container_id] -= 1
                if not self.starting[container_id]:
                    del self.starting[container_id]
                self.changed.notify_all()

    @contextmanager
    def pause(self, container_id: str):
        with self.changed:
            self.changed.wait_for(lambda: container_id not in self.starting, self.wait_s)
            self.pausing.add(container_id)
        try:
            yield
        finally:
            with self.changed:
                self.pausing.discard(container_id)
                self.changed.notify_all()


def _until_started(api, exec_id: str, wait_s: float = 10) -> None:
    """Wait until the engine reports an exec's process running or done. (A streamed or hijacked
    exec_start answers before runc has put the process in the container; the gate must cover that.)"""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        state = api.exec_inspect(exec_id)
        if state.get("Running") or state.get("Pid") or state.get("ExitCode") is not None:
            return
        time.sleep(0.02)


@dataclass(frozen=True)
class PublishedPort:
    """One host address the engine bound for a container port (`docker port`)."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int

    @property
    def url(self) -> str:
        """Where to open it from this machine: a wildcard binding is reached on loopback."""
        return self.url_on("")

    def url_on(self, public_host: str) -> str:
        """Where to open it when the engine runs on `public_host` (a remote host's address; "" for
        this machine): a wildcard binding is reached there, a specific address as it is."""
        if self.host_ip in ("", "0.0.0.0", "::") and public_host:
            host = f"[{public_host}]" if ":" in public_host else public_host
        elif self.host_ip in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif self.host_ip == "::":
            host = "[::1]"
        elif ":" in self.host_ip:
            host = f"[{self.host_ip}]"
        else:
            host = self.host_ip
        return f"http://{host}:{self.host_port}/"


@dataclass(frozen=True)
class HostPortUse:
    host_ip: str
    host_port: int
    protocol: str
    container: str  # name of the running container that publishes it


class ContainerCalls:
    """The container calls of an Engine."""

    def resolve_container(self, ref: str) -> ContainerRef:
        """Find a container as the CLI does: full ID, then exact name, then a unique ID prefix (3+ chars).

        One engine call (GET /containers/{ref}/json, the engine applies the same order), whose answer the
        ContainerRef carries in .info. Raises NotFound (naming the ref) or Ambiguous (listing the matches).
        """
        ref = (ref or "").strip()
        if not ref or not _REF_CHARS.match(ref):
            raise NotFound(f"No such container: '{ref}' is not a valid container name or ID")
        wanted = ref.lstrip("/")
        try:
            info = self.client().api.inspect_container(wanted)
        except docker.errors.NotFound:
            raise NotFound(f"No such container: {wanted}{_prefix_hint(wanted)}") from None
        except docker.errors.APIError as e:
            if _AMBIGUOUS_PREFIX not in _explanation(e).lower():
                raise self.translate(e) from e
            return self._ambiguous(wanted)
        except Exception as e:
            raise self.translate(e) from e
        name = (info.get("Name") or "").lstrip("/")
        if len(wanted) < MIN_PREFIX and wanted not in (info["Id"], name):
            # the engine takes any prefix; the panel wants 3 characters, so a typo of one or two
            # characters does not land on some container by chance
            raise NotFound(f"No such container: {wanted}{_prefix_hint(wanted)}")
        return ContainerRef(id=info["Id"], name=name or info["Id"][:12], info=info)

    def _ambiguous(self, prefix: str) -> ContainerRef:
        """The engine found several containers for an ID prefix: name them (one list call, only now)."""
        if len(prefix) < MIN_PREFIX:
            raise NotFound(f"No such container: {prefix}{_prefix_hint(prefix)}")
        try:
            # Not the engine's id filter: up to 20.10 it resolves the filter through the same prefix
            # index and answers an ambiguous prefix with no rows at all. This path is rare (a person
            # typed a short prefix), so one full list is affordable here.
            rows = self.client().api.containers(all=True)
        except Exception as e:
            raise self.translate(e) from e
        matches = [r for r in rows if r["Id"].startswith(prefix)]
        if len(matches) > 1:
            raise Ambiguous(prefix, [(r["Id"][:12], _name_of(r)) for r in matches])
        if matches:  # the others were removed in between
            return self.resolve_container(matches[0]["Id"])
        raise NotFound(f"No such container: {prefix}")

    def list_containers(self, all: bool = False, filters: dict | None = None, size: bool = False) -> list[ContainerRow]:
        """`docker ps [-a] [-s] [--filter ...]` in ONE /containers/json call (never an inspect per container).

        `size` is `-s` (size=1): each row's writable layer and total size, measured by the engine (slow)."""
        try:
            rows = self.client().api.containers(all=all, filters=filters or None, size=size)
        except Exception as e:
            raise self.translate(e, "list containers") from e
        return [_row(r, size) for r in rows]

    def inspect_container(self, container_id: str) -> dict:
        """`docker inspect` of a container, as the engine's JSON."""
        try:
            return self.client().api.inspect_container(container_id)
        except Exception as e:
            raise self.translate(e, "inspect") from e

    def container_top(self, container_id: str) -> dict:
        """`docker top`: {"Titles": [...], "Processes": [[...], ...]}; the container must be running."""
        try:
            return self.client().api.top(container_id)
        except Exception as e:
            raise self.translate(e, "top") from e

    def container_diff(self, container_id: str) -> list[tuple[str, str]]:
        """`docker diff`: (A|C|D, path) of what the container's writable layer holds over its image."""
        try:
            changes = self.client().api.diff(container_id) or []
        except Exception as e:
            raise self.translate(e, "diff") from e
        return [(DIFF_KINDS.get(c.get("Kind"), "?"), c.get("Path", "")) for c in changes]

    def _container_call(self, what: str, call) -> None:
        try:
            call(self.client(long=True).api)
        except Exception as e:
            raise self.translate(e, what) from e

    # start_container (docker start) is defined once, in the run and deploy section below.

    def stop_container(self, container_id: str, timeout: int = 10) -> None:
        self._container_call("stop", lambda api: api.stop(container_id, timeout=timeout))

    def restart_container(self, container_id: str, timeout: int = 10) -> None:
        self._container_call("restart", lambda api: api.restart(container_id, timeout=timeout))

    def kill_container(self, container_id: str, signal: str = "KILL") -> None:
        self._container_call("kill", lambda api: api.kill(container_id, signal=signal))

    def pause_container(self, container_id: str) -> None:
        with self.exec_gate.pause(container_id):
            self._container_call("pause", lambda api: api.pause(container_id))

    def unpause_container(self, container_id: str) -> None:
        self._container_call("unpause", lambda api: api.unpause(container_id))

    def rename_container(self, container_id: str, new_name: str) -> None:
        self._container_call("rename", lambda api: api.rename(container_id, new_name))

    def remove_container(self, container_id: str, force: bool = False) -> None:
        """`docker rm [-f]`; a running container without force is a Conflict saying to stop it first."""
        self._container_call("rm", lambda api: api.remove_container(container_id, force=force))

    def container_name_taken(self, name: str) -> bool:
        try:
            rows = self.client().api.containers(all=True)
        except Exception as e:
            raise self.translate(e) from e
        return any(n.lstrip("/") == name for r in rows for n in (r.get("Names") or []))

    def published_host_ports(self) -> list[HostPortUse]:
        """Host ports held by running containers, from /containers/json."""
        try:
            rows = self.client().api.containers()
        except Exception as e:
            raise self.translate(e) from e
        used = []
        for r in rows:
            for p in r.get("Ports") or []:
                if p.get("PublicPort"):
                    used.append(HostPortUse(p.get("IP", ""), int(p["PublicPort"]), p.get("Type", "tcp"), _name_of(r)))
        return used

    def create_container(
        self,
        image: str,
        *,
        name: str = "",
        command: list[str] | None = None,
        interactive: bool = False,
        tty: bool = False,
        environment: dict[str, str] | None = None,
        restart_policy: str = "no",
        ports: dict | None = None,
        labels: dict[str, str] | None = None,
    ) -> ContainerRef:
        """`docker create`; `ports` is the SDK argument that containers.ports.to_sdk builds."""
        policy = {"Name": restart_policy} if restart_policy and restart_policy != "no" else None
        try:
            c = self.client(long=True).containers.create(
                image,
                command or None,
                name=name or None,
                stdin_open=interactive,
                tty=tty,
                environment=environment or None,
                restart_policy=policy,
                ports=ports or None,
                labels=labels or {},
                detach=True,
            )
        except Exception as e:
            raise self.translate(e, f"create from {image}") from e
        return ContainerRef(id=c.id, name=c.name)

    def start_container(self, container_id: str) -> None:
        try:
            self.client(long=True).api.start(container_id)
        except Exception as e:
            raise self.translate(e, "start") from e

    def discard_container(self, container_id: str) -> None:
        """`docker rm -f`; a container that is already gone is fine."""
        try:
            self.client(long=True).api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            return
        except Exception as e:
            raise self.translate(e, "remove") from e

    def run_container(self, image: str, **options) -> ContainerRef:
        """`docker run -d`: create, then start; a container that cannot start is removed again."""
        ref = self.create_container(image, **options)
        try:
            self.start_container(ref.id)
        except EngineError as e:
            try:
                self.discard_container(ref.id)
            except EngineError:
                pass
            raise EngineError(
                gettext("%(name)s could not start, so it was removed again. The engine said: %(error)s")
                % {"name": ref.name, "error": e}
            ) from e
        return ref

    def published_ports(self, container_id: str) -> list[PublishedPort]:
        """The real bindings from inspect, including host ports the engine picked."""
        try:
            attrs = self.client().api.inspect_container(container_id)
        except Exception as e:
            raise self.translate(e) from e
        found = []
        for key, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
            port, _, protocol = key.partition("/")
            for b in bindings or []:
                if b.get("HostPort"):
                    found.append(PublishedPort(int(port), protocol or "tcp", b.get("HostIp", ""), int(b["HostPort"])))
        return sorted(found, key=lambda p: (p.container_port, p.protocol, ":" in p.host_ip, p.host_ip, p.host_port))

    def network_mode(self, container_id: str) -> str:
        """HostConfig.NetworkMode: "host", "bridge", "default", a network's name, "container:<id>"."""
        try:
            attrs = self.client().api.inspect_container(container_id)
        except Exception as e:
            raise self.translate(e) from e
        return (attrs.get("HostConfig") or {}).get("NetworkMode") or ""

    def container_labels(self, container_id: str) -> dict[str, str]:
        try:
            attrs = self.client().api.inspect_container(container_id)
        except Exception as e:
            raise self.translate(e) from e
        return (attrs.get("Config") or {}).get("Labels") or {}

    def running_containers(self) -> list[ContainerRef]:
        """Running containers as (id, name), for the stats sampler."""
        try:
            rows = self.client().api.containers(filters={"status": "running"})
        except Exception as e:
            raise self.translate(e) from e
        return [_ref_of(r) for r in rows]
