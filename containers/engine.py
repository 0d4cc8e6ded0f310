"""The one seam to the Docker engine: every Docker SDK call lives here and returns plain data.

Errors leave this module as EngineError (or a subclass) with a message a person can act on.
"""

from __future__ import annotations

import codecs
import http.client
import os
import re
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import docker
import docker.errors
import docker.types.daemon
import docker.utils.json_stream
import requests.exceptions
import urllib3.exceptions
from django.conf import settings
from django.utils.translation import gettext

from containers import cli


class EngineError(Exception):
    """An engine call failed; str() is a message for the user."""


class EngineUnavailable(EngineError):
    """The engine cannot be reached at all."""

    kind = "unreachable"

    def __init__(self, address: str, detail: str):
        self.address = address
        self.detail = detail
        super().__init__(
            gettext("The Docker engine at %(address)s cannot be reached: %(detail)s")
            % {"address": address, "detail": detail}
        )


class EngineLost(EngineUnavailable):
    """The connection broke in the middle of an answer (engine killed or restarted, stream cut)."""

    kind = "lost"

    def __init__(self, address: str, detail: str):
        self.address = address
        self.detail = detail
        EngineError.__init__(
            self,
            gettext("The connection to the Docker engine at %(address)s was lost: %(detail)s")
            % {"address": address, "detail": detail},
        )


class EngineTimeout(EngineUnavailable):
    """The engine accepted the connection but did not answer in time (hung or overloaded)."""

    kind = "timeout"

    def __init__(self, address: str, seconds: float | None):
        self.address = address
        self.detail = (
            gettext("no answer within %(seconds)s s") % {"seconds": f"{seconds:g}"}
            if seconds
            else gettext("no answer within the timeout")
        )
        EngineError.__init__(
            self,
            gettext("The Docker engine at %(address)s is not answering (%(detail)s).")
            % {"address": address, "detail": self.detail},
        )


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    pass


class Ambiguous(EngineError):
    """A short ID prefix matches several containers."""

    def __init__(self, ref: str, matches: list[tuple[str, str]]):
        self.ref = ref
        self.matches = matches  # (short id, name)
        listed = ", ".join(f"{cid} ({name})" for cid, name in matches)
        super().__init__(
            gettext("'%(ref)s' matches %(count)d containers: %(listed)s. Give more characters of the ID.")
            % {"ref": ref, "count": len(matches), "listed": listed}
        )


_lock = threading.Lock()
_clients: dict[tuple[str, float], docker.DockerClient] = {}
# Connections kept per client. Every page request, fragment refresh and live-update row fetch runs
# in its own thread; with the SDK's default of 10, a burst of them overflowed the pool ("pool is
# full, discarding connection") and each discarded connection was a new one to the engine.
POOL_SIZE = 64


def address() -> str:
    """The engine address the panel uses, as the docker CLI would name it."""
    return settings.DOCKER_HOST or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def client(long: bool = False) -> docker.DockerClient:
    """A client for the configured engine, made on first use with API version negotiation.

    Page calls wait DOCKER_PAGE_TIMEOUT for an answer, long operations (pull, create, stop, remove)
    DOCKER_TIMEOUT. The calling thread's idle database connections are given back first: a request
    must not hold one while it waits on an engine that may hang.
    A failed connection is not cached, so the panel recovers by itself when the engine comes back.
    """
    _release_database()
    base_url = address()
    timeout = timeout_for(long)
    with _lock:
        cached = _clients.get((base_url, timeout))
    if cached is not None:
        return cached
    try:
        made = docker.DockerClient(base_url=base_url, version="auto", timeout=timeout, max_pool_size=POOL_SIZE)
    except Exception as e:
        raise translate(e) from e
    with _lock:
        return _clients.setdefault((base_url, timeout), made)


def timeout_for(long: bool) -> float:
    return settings.DOCKER_TIMEOUT if long else settings.DOCKER_PAGE_TIMEOUT


def _release_database() -> None:
    """Close (or give back to the pool) this thread's database connections outside transactions."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def forget_clients() -> None:
    """Drop cached clients (after the engine address changes)."""
    with _lock:
        for c in _clients.values():
            c.close()
        _clients.clear()


def _reason(e: Exception) -> str:
    text = str(e)
    if "Permission denied" in text:
        return gettext("permission denied on the engine socket (%(error)s)") % {"error": text}
    if "No such file or directory" in text or "FileNotFoundError" in text:
        return gettext("no engine socket there; is the Docker daemon running? (%(error)s)") % {"error": text}
    if "Connection refused" in text:
        return gettext("connection refused; is the Docker daemon running? (%(error)s)") % {"error": text}
    return text


# A connection that broke in the middle of an answer, at whichever layer noticed it first.
_LOST = (
    urllib3.exceptions.ProtocolError,  # IncompleteRead and "Connection broken" included
    urllib3.exceptions.DecodeError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    http.client.HTTPException,  # IncompleteRead, RemoteDisconnected, BadStatusLine
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    EOFError,
)
_TIMEOUT = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, socket.timeout, TimeoutError)
_TLS = (ssl.SSLError, requests.exceptions.SSLError, urllib3.exceptions.SSLError, docker.errors.TLSParameterError)


def translate(e: BaseException, what: str = "") -> EngineError:
    """Turn any SDK or transport exception into an EngineError with a readable message.

    Never raises: whatever broke while talking to the engine becomes an EngineError, so streamed
    answers can always end with an error event instead of an exception after the response started.
    """
    if isinstance(e, EngineError):
        return e
    prefix = f"{what}: " if what else ""
    if isinstance(e, docker.errors.NotFound):
        return NotFound(prefix + _explanation(e))
    if isinstance(e, docker.errors.APIError):
        if e.status_code == 409:
            return Conflict(prefix + _explanation(e))
        return EngineError(prefix + _explanation(e))
    chain = _chain(e)
    if any(isinstance(c, _TLS) for c in chain):
        forget_clients()
        return EngineUnavailable(address(), f"TLS handshake or certificate failed ({_first(chain, _TLS)})")
    if any(type(c).__module__.split(".")[0] == "paramiko" for c in chain):
        forget_clients()
        return EngineUnavailable(address(), f"the SSH connection failed ({type(chain[-1]).__name__}: {chain[-1]})")
    if isinstance(chain[-1], _REFUSED):  # nobody listens: not started, wrong address, no permission
        forget_clients()
        return EngineUnavailable(address(), _reason(e))
    if any(isinstance(c, _TIMEOUT) for c in chain):
        return EngineTimeout(address(), None)
    if any(isinstance(c, _LOST) for c in chain):
        forget_clients()
        lost = chain[-1]
        return EngineLost(address(), f"{type(lost).__name__}: {lost}" if str(lost) else type(lost).__name__)
    if isinstance(e, (requests.exceptions.ConnectionError, ConnectionError)):
        forget_clients()
        return EngineUnavailable(address(), _reason(e))
    if any(isinstance(c, (OSError, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)) for c in chain):
        forget_clients()
        return EngineLost(address(), f"{type(chain[-1]).__name__}: {chain[-1]}")
    if isinstance(e, docker.errors.DockerException):
        return EngineError(prefix + str(e))
    return EngineError(f"{prefix}unexpected error talking to the engine ({type(e).__name__}: {e})")


_REFUSED = (FileNotFoundError, ConnectionRefusedError, PermissionError, socket.gaierror)


def _chain(e: BaseException) -> list[BaseException]:
    """e and what it wraps, outermost first: requests wraps urllib3's error, which wraps the socket's."""
    chain = [e]
    while len(chain) < 8:
        seen = chain[-1]
        inner = next((a for a in seen.args if isinstance(a, BaseException)), None)
        inner = inner or getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if not isinstance(inner, BaseException) or inner in chain:
            break
        chain.append(inner)
    return chain


def _first(chain: list[BaseException], kinds: tuple) -> BaseException:
    return next(c for c in chain if isinstance(c, kinds))


def _explanation(e: docker.errors.APIError) -> str:
    text = e.explanation if isinstance(e.explanation, str) else str(e)
    return text or str(e)


@dataclass(frozen=True)
class EngineInfo:
    version: str
    api_version: str
    os: str
    containers: int
    running: int
    images: int


def info() -> EngineInfo:
    try:
        c = client()
        v = c.version()
        i = c.info()
    except Exception as e:
        raise translate(e) from e
    return EngineInfo(
        version=v.get("Version", ""),
        api_version=v.get("ApiVersion", ""),
        os=i.get("OperatingSystem", ""),
        containers=i.get("Containers", 0),
        running=i.get("ContainersRunning", 0),
        images=i.get("Images", 0),
    )


def ping() -> str:
    """The engine's version; raises EngineUnavailable when it cannot be reached."""
    try:
        return client().version()["Version"]
    except Exception as e:
        raise translate(e) from e


# === containers: naming and resolution ===

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


def resolve_container(ref: str) -> ContainerRef:
    """Find a container as the CLI does: full ID, then exact name, then a unique ID prefix (3+ chars).

    One engine call (GET /containers/{ref}/json, the engine applies the same order), whose answer the
    ContainerRef carries in .info. Raises NotFound (naming the ref) or Ambiguous (listing the matches).
    """
    ref = (ref or "").strip()
    if not ref or not _REF_CHARS.match(ref):
        raise NotFound(f"No such container: '{ref}' is not a valid container name or ID")
    wanted = ref.lstrip("/")
    try:
        info = client().api.inspect_container(wanted)
    except docker.errors.NotFound:
        raise NotFound(f"No such container: {wanted}{_prefix_hint(wanted)}") from None
    except docker.errors.APIError as e:
        if _AMBIGUOUS_PREFIX not in _explanation(e).lower():
            raise translate(e) from e
        return _ambiguous(wanted)
    except Exception as e:
        raise translate(e) from e
    name = (info.get("Name") or "").lstrip("/")
    if len(wanted) < MIN_PREFIX and wanted not in (info["Id"], name):
        # the engine takes any prefix; the panel wants 3 characters, so a typo of one or two
        # characters does not land on some container by chance
        raise NotFound(f"No such container: {wanted}{_prefix_hint(wanted)}")
    return ContainerRef(id=info["Id"], name=name or info["Id"][:12], info=info)


def _prefix_hint(wanted: str) -> str:
    if len(wanted) >= MIN_PREFIX:
        return ""
    return " " + gettext("(an ID prefix needs at least %(n)d characters)") % {"n": MIN_PREFIX}


def _ambiguous(prefix: str) -> ContainerRef:
    """The engine found several containers for an ID prefix: name them (one list call, only now)."""
    if len(prefix) < MIN_PREFIX:
        raise NotFound(f"No such container: {prefix}{_prefix_hint(prefix)}")
    try:
        # Not the engine's id filter: up to 20.10 it resolves the filter through the same prefix
        # index and answers an ambiguous prefix with no rows at all. This path is rare (a person
        # typed a short prefix), so one full list is affordable here.
        rows = client().api.containers(all=True)
    except Exception as e:
        raise translate(e) from e
    matches = [r for r in rows if r["Id"].startswith(prefix)]
    if len(matches) > 1:
        raise Ambiguous(prefix, [(r["Id"][:12], _name_of(r)) for r in matches])
    if matches:  # the others were removed in between
        return resolve_container(matches[0]["Id"])
    raise NotFound(f"No such container: {prefix}")


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


# === end containers: naming and resolution ===


# === images: references and pulling ===


@dataclass(frozen=True)
class ImageReference:
    repository: str  # with the registry, if any: "127.0.0.1:5000/team/app"
    tag: str  # "latest" when none was given
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"


# digest.Algorithm's registered algorithms and the length of their hex encoding
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def parse_image_reference(text: str) -> ImageReference:
    """`name[:tag][@digest]` as `docker pull` takes it (default tag latest), checked by the grammar of
    distribution/reference that Docker uses. ValueError says what is wrong."""
    text = (text or "").strip()
    if not text:
        raise ValueError(gettext("Give an image name, such as debian:bookworm"))
    if any(ch.isspace() for ch in text):
        raise ValueError(gettext("'%(text)s' is not a valid image reference: it contains spaces") % {"text": text})
    m = cli.REFERENCE.match(text)
    if not m:
        if cli.REFERENCE.match(text.lower()):
            raise ValueError(_lowercase_error(text))
        raise ValueError(
            gettext("'%(text)s' is not a valid image reference; use name[:tag], e.g. debian:bookworm") % {"text": text}
        )
    registry = m["domain"] or ""
    if registry and not any(c in registry for c in ".:[") and registry != "localhost" and registry != registry.lower():
        # not a registry host (no dot, port or localhost) but the first path component, as Docker reads it
        raise ValueError(_lowercase_error(text))
    repository = f"{registry}/{m['path']}" if registry else m["path"]
    if re.fullmatch(r"[a-f0-9]{64}", m["path"]):
        raise ValueError(
            gettext(
                "'%(text)s' is not a valid image reference: a 64-character hexadecimal name reads as an image"
                " ID, which cannot be pulled; give the repository name"
            )
            % {"text": text}
        )
    if len(repository) > 255:
        raise ValueError(
            gettext(
                "'%(text)s…' is not a valid image reference: the repository name is %(length)d"
                " characters long, 255 at most"
            )
            % {"text": text[:40], "length": len(repository)}
        )
    digest = m["digest"] or ""
    if digest:
        algorithm, _, encoded = digest.partition(":")
        length = _DIGEST_LENGTHS.get(algorithm)
        if length is None:
            raise ValueError(
                gettext(
                    "'%(text)s' is not a valid image reference: unsupported digest algorithm '%(algorithm)s'"
                    " (sha256, sha384 or sha512)"
                )
                % {"text": text, "algorithm": algorithm}
            )
        if len(encoded) != length or encoded != encoded.lower():
            raise ValueError(
                gettext(
                    "'%(text)s' is not a valid image reference: a %(algorithm)s digest is %(length)d lowercase"
                    " hexadecimal characters, this one has %(found)d"
                )
                % {"text": text, "algorithm": algorithm, "length": length, "found": len(encoded)}
            )
    return ImageReference(repository=repository, tag=m["tag"] or "latest", digest=digest)


def _lowercase_error(text: str) -> str:
    return gettext("'%(text)s' is not a valid image reference: repository names must be lowercase ('%(hint)s')") % {
        "text": text,
        "hint": _lowercase_name(text),
    }


def _lowercase_name(text: str) -> str:
    """The reference with its repository path lowercased (the tag may have capitals), for the hint."""
    m = cli.REFERENCE.match(text.lower())
    if not m:
        return text.lower()
    registry = m["domain"] or ""
    keep = len(registry) + 1 if registry and any(c in registry for c in ".:[") else 0  # a host's case stays
    return text[:keep] + text[keep : m.end("path")].lower() + text[m.end("path") :]


def image_exists(reference: str) -> bool:
    try:
        client().api.inspect_image(reference)
        return True
    except docker.errors.ImageNotFound:
        return False
    except Exception as e:
        raise translate(e) from e


def pull(ref: ImageReference):
    """Pull an image, yielding the engine's progress events as plain dicts, like the CLI shows them.

    Each event has "id" (layer, may be empty), "status", and "current"/"total" bytes when known.
    Raises EngineError with the registry's message if the pull fails (unknown image, no registry).
    """
    tag_or_digest = ref.digest or ref.tag
    try:
        stream = client(long=True).api.pull(ref.repository, tag=tag_or_digest, stream=True, decode=True)
        for event in stream:
            if "error" in event:
                raise EngineError(_pull_error(ref, event.get("error", "")))
            detail = event.get("progressDetail") or {}
            yield {
                "id": event.get("id", ""),
                "status": event.get("status", ""),
                "current": detail.get("current"),
                "total": detail.get("total"),
            }
    except EngineError:
        raise
    except docker.errors.APIError as e:
        raise EngineError(_pull_error(ref, _explanation(e))) from e
    except Exception as e:
        raise translate(e, f"pull {ref}") from e


def _pull_error(ref: ImageReference, text: str) -> str:
    lowered = text.lower()
    if "not found" in lowered or "manifest unknown" in lowered or "does not exist" in lowered:
        return gettext("Image %(ref)s was not found in its registry: %(error)s") % {"ref": ref, "error": text}
    if "dial tcp" in lowered or "no such host" in lowered or "connection refused" in lowered or "timeout" in lowered:
        return gettext("The registry for %(ref)s cannot be reached: %(error)s") % {"ref": ref, "error": text}
    return gettext("Pulling %(ref)s failed: %(error)s") % {"ref": ref, "error": text}


# === end images: references and pulling ===


# === containers and images (issue 3) ===


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


def list_containers(all: bool = False, filters: dict | None = None, size: bool = False) -> list[ContainerRow]:
    """`docker ps [-a] [-s] [--filter ...]` in ONE /containers/json call (never an inspect per container).

    `size` is `-s` (size=1): each row's writable layer and total size, measured by the engine (slow)."""
    try:
        rows = client().api.containers(all=all, filters=filters or None, size=size)
    except Exception as e:
        raise translate(e, "list containers") from e
    return [_row(r, size) for r in rows]


def inspect_container(container_id: str) -> dict:
    """`docker inspect` of a container, as the engine's JSON."""
    try:
        return client().api.inspect_container(container_id)
    except Exception as e:
        raise translate(e, "inspect") from e


def container_top(container_id: str) -> dict:
    """`docker top`: {"Titles": [...], "Processes": [[...], ...]}; the container must be running."""
    try:
        return client().api.top(container_id)
    except Exception as e:
        raise translate(e, "top") from e


DIFF_KINDS = {0: "C", 1: "A", 2: "D"}


def container_diff(container_id: str) -> list[tuple[str, str]]:
    """`docker diff`: (A|C|D, path) of what the container's writable layer holds over its image."""
    try:
        changes = client().api.diff(container_id) or []
    except Exception as e:
        raise translate(e, "diff") from e
    return [(DIFF_KINDS.get(c.get("Kind"), "?"), c.get("Path", "")) for c in changes]


def _container_call(what: str, call) -> None:
    try:
        call(client(long=True).api)
    except Exception as e:
        raise translate(e, what) from e


# start_container (docker start) is defined once, in the run and deploy section below.


def stop_container(container_id: str, timeout: int = 10) -> None:
    _container_call("stop", lambda api: api.stop(container_id, timeout=timeout))


def restart_container(container_id: str, timeout: int = 10) -> None:
    _container_call("restart", lambda api: api.restart(container_id, timeout=timeout))


def kill_container(container_id: str, signal: str = "KILL") -> None:
    _container_call("kill", lambda api: api.kill(container_id, signal=signal))


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


exec_gate = _ExecGate()


def _until_started(api, exec_id: str, wait_s: float = 10) -> None:
    """Wait until the engine reports an exec's process running or done. (A streamed or hijacked
    exec_start answers before runc has put the process in the container; the gate must cover that.)"""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        state = api.exec_inspect(exec_id)
        if state.get("Running") or state.get("Pid") or state.get("ExitCode") is not None:
            return
        time.sleep(0.02)


def pause_container(container_id: str) -> None:
    with exec_gate.pause(container_id):
        _container_call("pause", lambda api: api.pause(container_id))


def unpause_container(container_id: str) -> None:
    _container_call("unpause", lambda api: api.unpause(container_id))


def rename_container(container_id: str, new_name: str) -> None:
    _container_call("rename", lambda api: api.rename(container_id, new_name))


def remove_container(container_id: str, force: bool = False) -> None:
    """`docker rm [-f]`; a running container without force is a Conflict saying to stop it first."""
    _container_call("rm", lambda api: api.remove_container(container_id, force=force))


@dataclass(frozen=True)
class ImageRow:
    """One image of /images/json, with every repo:tag it carries."""

    id: str  # "sha256:..."
    repo_tags: list[str]
    repo_digests: list[str]
    created: int
    size: int
    containers: int  # -1 when the engine did not count

    @property
    def dangling(self) -> bool:
        return not [t for t in self.repo_tags if t != "<none>:<none>"]


def list_images(all: bool = False) -> list[ImageRow]:
    """`docker images [-a]` in one /images/json call."""
    try:
        rows = client().api.images(all=all)
    except Exception as e:
        raise translate(e, "list images") from e
    return [
        ImageRow(
            id=r["Id"],
            repo_tags=r.get("RepoTags") or [],
            repo_digests=r.get("RepoDigests") or [],
            created=int(r.get("Created") or 0),
            size=int(r.get("Size") or 0),
            containers=int(r.get("Containers", -1)),
        )
        for r in rows
    ]


def inspect_image(ref: str) -> dict:
    """`docker image inspect`; NotFound names the image."""
    try:
        return client().api.inspect_image(ref)
    except docker.errors.ImageNotFound as e:
        raise NotFound(f"No such image: {ref}") from e
    except Exception as e:
        raise translate(e, f"inspect {ref}") from e


def image_history(ref: str) -> list[dict]:
    """`docker history`: the image's layers, newest first (Id "<missing>" for layers built elsewhere)."""
    try:
        return client().api.history(ref)
    except docker.errors.ImageNotFound as e:
        raise NotFound(f"No such image: {ref}") from e
    except Exception as e:
        raise translate(e, f"history {ref}") from e


class ImageInUse(Conflict):
    """The image cannot go: containers use it (names them and what to do)."""

    def __init__(self, message: str, users: list[ContainerRow]):
        self.users = users
        super().__init__(message)


def containers_using_image(image_id: str) -> list[ContainerRow]:
    """Containers created from exactly this image (one list call)."""
    return [r for r in list_containers(all=True) if r.image_id == image_id]


def ensure_dangling(image_id: str) -> None:
    """Conflict unless `image_id` is a full image ID (sha256:…) of an untagged image no container
    uses: what `docker image prune` would remove. Checked just before the removal."""
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", image_id):
        raise Conflict(
            gettext("%(id)s is not an image ID (sha256:…); prune removes dangling images by ID only")
            % {"id": image_id[:80]}
        )
    info = inspect_image(image_id)
    if info.get("RepoTags"):
        raise Conflict(
            gettext("%(id)s is tagged %(tags)s: not dangling, so prune keeps it")
            % {"id": image_id[7:19], "tags": ", ".join(info["RepoTags"])}
        )
    if containers_using_image(image_id):
        raise Conflict(gettext("%(id)s is used by a container: prune keeps it") % {"id": image_id[7:19]})


def remove_image(ref: str, force: bool = False) -> list[str]:
    """`docker rmi [-f]`: returns the engine's "Untagged:/Deleted:" lines. In use: ImageInUse."""
    try:
        done = client(long=True).api.remove_image(ref, force=force)
    except docker.errors.APIError as e:
        if e.status_code == 409:
            image_id = inspect_image(ref)["Id"]
            users = containers_using_image(image_id)
            if users:
                listed = ", ".join(f"{u.name} ({u.id[:12]}, {u.state})" for u in users)
                running = [u for u in users if u.state in ("running", "paused", "restarting")]
                fix = (
                    gettext(
                        "Stop and remove the container first; even force cannot delete an image a running container uses."
                    )
                    if running
                    else gettext(
                        "Remove the container first, or use force (which only removes the name; the layers stay for the container)."
                    )
                )
                raise ImageInUse(
                    gettext("Image %(ref)s is in use by container %(containers)s. %(fix)s")
                    % {"ref": ref, "containers": listed, "fix": fix},
                    users,
                ) from e
            raise Conflict(f"rmi {ref}: {_explanation(e)}") from e
        raise translate(e, f"rmi {ref}") from e
    except Exception as e:
        raise translate(e, f"rmi {ref}") from e
    lines = []
    for item in done or []:
        for key, value in item.items():
            lines.append(f"{key}: {value}")
    return lines


def tag_image(ref: str, target: ImageReference) -> None:
    """`docker tag SOURCE TARGET`."""
    try:
        ok = client().api.tag(ref, target.repository, tag=target.tag, force=True)
    except docker.errors.ImageNotFound as e:
        raise NotFound(f"No such image: {ref}") from e
    except Exception as e:
        raise translate(e, f"tag {ref}") from e
    if ok is False:
        raise EngineError(
            gettext("tag %(ref)s: the engine refused to tag it as %(target)s") % {"ref": ref, "target": target}
        )


# === end containers and images (issue 3) ===

# === run and deploy ===


@dataclass(frozen=True)
class PublishedPort:
    """One host address the engine bound for a container port (`docker port`)."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int

    @property
    def url(self) -> str:
        """Where to open it from this host: a wildcard binding is reached on loopback."""
        if self.host_ip in ("", "0.0.0.0"):
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


def local_image_tags() -> list[str]:
    """repo:tag of every local image, sorted, to offer in the run form."""
    try:
        rows = client().api.images()
    except Exception as e:
        raise translate(e) from e
    return sorted({t for r in rows for t in (r.get("RepoTags") or []) if t != "<none>:<none>"})


def container_name_taken(name: str) -> bool:
    try:
        rows = client().api.containers(all=True)
    except Exception as e:
        raise translate(e) from e
    return any(n.lstrip("/") == name for r in rows for n in (r.get("Names") or []))


def published_host_ports() -> list[HostPortUse]:
    """Host ports held by running containers, from /containers/json."""
    try:
        rows = client().api.containers()
    except Exception as e:
        raise translate(e) from e
    used = []
    for r in rows:
        for p in r.get("Ports") or []:
            if p.get("PublicPort"):
                used.append(HostPortUse(p.get("IP", ""), int(p["PublicPort"]), p.get("Type", "tcp"), _name_of(r)))
    return used


def create_container(
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
        c = client(long=True).containers.create(
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
        raise translate(e, f"create from {image}") from e
    return ContainerRef(id=c.id, name=c.name)


def start_container(container_id: str) -> None:
    try:
        client(long=True).api.start(container_id)
    except Exception as e:
        raise translate(e, "start") from e


def discard_container(container_id: str) -> None:
    """`docker rm -f`; a container that is already gone is fine."""
    try:
        client(long=True).api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        return
    except Exception as e:
        raise translate(e, "remove") from e


def run_container(image: str, **options) -> ContainerRef:
    """`docker run -d`: create, then start; a container that cannot start is removed again."""
    ref = create_container(image, **options)
    try:
        start_container(ref.id)
    except EngineError as e:
        try:
            discard_container(ref.id)
        except EngineError:
            pass
        raise EngineError(
            gettext("%(name)s could not start, so it was removed again. The engine said: %(error)s")
            % {"name": ref.name, "error": e}
        ) from e
    return ref


def published_ports(container_id: str) -> list[PublishedPort]:
    """The real bindings from inspect, including host ports the engine picked."""
    try:
        attrs = client().api.inspect_container(container_id)
    except Exception as e:
        raise translate(e) from e
    found = []
    for key, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        port, _, protocol = key.partition("/")
        for b in bindings or []:
            if b.get("HostPort"):
                found.append(PublishedPort(int(port), protocol or "tcp", b.get("HostIp", ""), int(b["HostPort"])))
    return sorted(found, key=lambda p: (p.container_port, p.protocol, ":" in p.host_ip, p.host_ip, p.host_port))


def network_mode(container_id: str) -> str:
    """HostConfig.NetworkMode: "host", "bridge", "default", a network's name, "container:<id>"."""
    try:
        attrs = client().api.inspect_container(container_id)
    except Exception as e:
        raise translate(e) from e
    return (attrs.get("HostConfig") or {}).get("NetworkMode") or ""


def container_labels(container_id: str) -> dict[str, str]:
    try:
        attrs = client().api.inspect_container(container_id)
    except Exception as e:
        raise translate(e) from e
    return (attrs.get("Config") or {}).get("Labels") or {}


def exec_stream(container_id: str, argv: list[str], environment: dict[str, str] | None = None):
    """`docker exec` with stdout and stderr as they come: yields {"output": text}, then {"exit_code": n}."""

    try:
        api = client(long=True).api
        created = api.exec_create(container_id, argv, stdout=True, stderr=True, tty=False, environment=environment)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with exec_gate.exec_start(container_id):
            chunks = api.exec_start(created["Id"], stream=True)
            _until_started(api, created["Id"])
        for chunk in chunks:
            text = decoder.decode(chunk)
            if text:
                yield {"output": text}
        tail = decoder.decode(b"", final=True)
        if tail:
            yield {"output": tail}
        code = api.exec_inspect(created["Id"]).get("ExitCode")
    except Exception as e:
        raise translate(e, f"exec {argv[0]}") from e
    yield {"exit_code": code}


# === end run and deploy ===


# === terminal ===

# Every process started for a terminal carries this variable (children inherit it), so closing
# the session can find and kill them all inside the container: the engine itself never does.
SESSION_ENV = "DOCKERPANEL_TERMINAL"
DEFAULT_SHELL = ["/bin/sh", "-c", "if [ -x /bin/bash ]; then exec /bin/bash; else exec /bin/sh; fi"]
_KILL_SCRIPT = r"""
m="$1=$2"
# one grep over every environ (NUL-separated entries: -z), not a process per process: cheap at scale
find_pids() { grep -lszxF "$m" /proc/[0-9]*/environ | sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'; }
pids=$(find_pids)
[ -z "$pids" ] && exit 0
kill -HUP $pids 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do
  sleep 0.1
  pids=$(find_pids)
  [ -z "$pids" ] && exit 0
done
kill -KILL $pids 2>/dev/null
exit 0
"""


@dataclass
class TerminalStream:
    """A hijacked engine connection carrying a tty: raw bytes both ways.

    `sock` is a plain socket the caller may set non-blocking; `pending` holds bytes the HTTP layer
    already read past the upgrade headers (the first prompt bytes must not be lost).
    """

    sock: object
    pending: bytes
    container_id: str
    exec_id: str = ""  # empty for an attach
    session: str = ""
    _keep: object = None  # the HTTP response; collecting it would close the socket

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        if self._keep is not None:
            try:
                self._keep.close()
            except Exception:
                pass


@dataclass(frozen=True)
class TerminalTarget:
    id: str
    name: str
    running: bool
    status: str
    tty: bool
    open_stdin: bool


def terminal_target(container: ContainerRef | str) -> TerminalTarget:
    """What a terminal page needs to know about a container: running, created with -i and -t.

    A ContainerRef that carries its inspect answer costs no engine call."""
    data = container.info if isinstance(container, ContainerRef) else None
    if data is None:
        container_id = container.id if isinstance(container, ContainerRef) else container
        try:
            data = client().api.inspect_container(container_id)
        except Exception as e:
            raise translate(e, "inspect") from e
    state = data.get("State") or {}
    config = data.get("Config") or {}
    return TerminalTarget(
        id=data["Id"],
        name=(data.get("Name") or "").lstrip("/"),
        running=bool(state.get("Running")) and not state.get("Paused"),
        status=state.get("Status", ""),
        tty=bool(config.get("Tty")),
        open_stdin=bool(config.get("OpenStdin")),
    )


def _hijacked(raw) -> tuple[object, bytes, object]:
    """The plain socket under the SDK's hijacked connection, the bytes http.client already
    buffered past the upgrade headers, and the response to keep alive."""
    response = getattr(raw, "_response", None)
    sock = getattr(raw, "_sock", None)
    if sock is None or not hasattr(sock, "fileno") or type(sock).__name__ == "SSLSocket":
        raw.close()
        raise EngineError(
            f"The terminal needs a unix:// or plain tcp:// engine address; {address()} is not supported for terminals"
        )
    sock.setblocking(False)  # also lifts the client's timeout, which would end an idle shell
    pending = b""
    if response is not None:
        try:
            pending = response.raw._fp.fp.read1(65536) or b""
        except (AttributeError, BlockingIOError, TypeError, ValueError):
            pending = b""
    return sock, pending, response


def exec_terminal(
    container_id: str, cmd: list[str] | None, user: str = "", workdir: str = "", cols: int = 0, rows: int = 0
) -> TerminalStream:
    """`docker exec -it` : start `cmd` (default: bash, else sh) on a tty and hand back its socket."""

    session = uuid.uuid4().hex
    api = client(long=True).api
    try:
        created = api.exec_create(
            container_id,
            cmd or DEFAULT_SHELL,
            stdin=True,
            tty=True,
            user=user,
            workdir=workdir or None,
            environment={SESSION_ENV: session, "TERM": "xterm-256color"},
        )
        exec_id = created["Id"]
        with exec_gate.exec_start(container_id):
            raw = api.exec_start(exec_id, tty=True, socket=True)
            _until_started(api, exec_id)
    except Exception as e:
        raise translate(e, "exec") from e
    sock, pending, response = _hijacked(raw)
    stream = TerminalStream(sock, pending, container_id, exec_id, session, response)
    if cols and rows:
        try:
            resize_exec(exec_id, cols, rows)
        except EngineError:
            pass  # the process may already have exited; its exit code will tell
    return stream


def attach_terminal(container_id: str) -> TerminalStream:
    """`docker attach`: the main process's tty. Ctrl-P Ctrl-Q (the engine's detach keys) ends it."""
    api = client(long=True).api
    try:
        raw = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    except Exception as e:
        raise translate(e, "attach") from e
    sock, pending, response = _hijacked(raw)
    return TerminalStream(sock, pending, container_id, _keep=response)


def resize_exec(exec_id: str, cols: int, rows: int) -> None:
    try:
        client().api.exec_resize(exec_id, height=rows, width=cols)
    except Exception as e:
        raise translate(e, "resize") from e


def resize_container(container_id: str, cols: int, rows: int) -> None:
    try:
        client().api.resize(container_id, height=rows, width=cols)
    except Exception as e:
        raise translate(e, "resize") from e


def _exit_code_when_done(inspect: Callable[[], dict], what: str, wait_s: float) -> int | None:
    """Poll a state dict (Running, ExitCode) briefly for the engine to notice an exit."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            state = inspect()
        except Exception as e:
            raise translate(e, what) from e
        if not state.get("Running"):
            return state.get("ExitCode")
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def exec_exit_code(exec_id: str, wait_s: float = 2.0) -> int | None:
    """The exit code of a finished exec, waiting briefly for the engine to notice; None if running."""
    return _exit_code_when_done(lambda: client().api.exec_inspect(exec_id), "exec inspect", wait_s)


def container_exit_code(container_id: str, wait_s: float = 2.0) -> int | None:
    """The exit code of a stopped container, or None while it still runs (after a detach)."""
    return _exit_code_when_done(
        lambda: client().api.inspect_container(container_id).get("State") or {}, "inspect", wait_s
    )


def kill_terminal(stream: TerminalStream) -> int:
    """Hang up the processes a terminal session started (SIGHUP, then SIGKILL after 1 s).

    Finds them by the session variable in /proc/*/environ with a second exec as root, so it works
    whether the engine is local or remote. Returns how many signals were needed (0: none left).
    """
    try:
        if not terminal_target(stream.container_id).running:
            return 0
        api = client(long=True).api
        created = api.exec_create(
            stream.container_id, ["/bin/sh", "-c", _KILL_SCRIPT, "kill", SESSION_ENV, stream.session], user="0"
        )
        with exec_gate.exec_start(stream.container_id):
            api.exec_start(created["Id"])
        return api.exec_inspect(created["Id"]).get("ExitCode") or 0
    except NotFound:
        return 0
    except Exception as e:
        raise translate(e, "kill") from e


# === end terminal ===


# === logs and stats ===

STDOUT = "stdout"
STDERR = "stderr"
_STREAM_NAMES = {1: STDOUT, 2: STDERR}


class EngineStream:
    """An open engine stream: iterate it in one thread, close() it from any thread to end it.

    Closing shuts the socket down, so a blocked read in the iterating thread returns at once.
    """

    def __init__(self, make_iterator, response):
        self._response = response
        self._iterator = make_iterator(response)
        self.closed = False
        self.lost = ""  # why the engine ended the stream early, if it did (set by its reader)

    def __iter__(self):
        return self

    def __next__(self):
        if self.closed:
            raise StopIteration
        try:
            return next(self._iterator)
        except StopIteration:
            raise
        except Exception as e:
            if self.closed:  # the socket was shut down by close(): the reader asked for the end
                raise StopIteration from None
            # the engine went away mid-stream: say so, so no page mistakes it for the end of a log
            self.close()
            raise translate(e) from e

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            # the SDK's way to find the socket under the response and shut it down
            docker.types.daemon.CancellableStream(iter(()), self._response).close()
            self._response.close()
        except Exception:
            pass  # already closed by the engine or by the reading thread

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _body_blocks(response):
    """The response body in the pieces it arrives in.

    A followed log arrives as one small HTTP chunk per line. urllib3 costs ~20 us per chunk, so the
    chunked encoding is read here straight from http.client's buffered socket reader instead.
    """
    message = response.raw._fp
    if not getattr(message, "chunked", False) or message.chunk_left is not None:
        yield from _raw_blocks(response)
        return
    fp = message.fp
    while True:
        line = fp.readline(1024)
        if not line.strip():
            # the connection ended without the last (empty) chunk: the engine went away
            raise http.client.IncompleteRead(b"", None)
        size = int(line.split(b";", 1)[0], 16)
        if size == 0:
            return
        data = fp.read(size)
        fp.read(2)  # the CRLF after each chunk
        if data:
            yield data
        if len(data) < size:
            raise http.client.IncompleteRead(data, size - len(data))


def _raw_blocks(response):
    raw = response.raw
    while True:
        data = raw.read1(65536)
        if not data:
            return
        yield data


def _multiplexed_frames(response):
    """(stream, bytes) from the engine's 8-byte-header framing (one header per log line)."""
    pending = b""
    for block in _body_blocks(response):
        data = pending + block if pending else block
        start, end = 0, len(data)
        while end - start >= 8:
            kind, size = struct.unpack_from(">BxxxL", data, start)
            if end - start - 8 < size:
                break
            if size:
                yield _STREAM_NAMES.get(kind, STDOUT), data[start + 8 : start + 8 + size]
            start += 8 + size
        pending = data[start:]


def _tty_frames(response):
    """A tty container has one stream: everything is stdout."""
    for block in _body_blocks(response):
        yield STDOUT, block


def container_tty(container_id: str) -> bool:
    """Whether the container has a tty (then its logs are one stream, not stdout and stderr)."""
    try:
        return bool(client().api.inspect_container(container_id)["Config"].get("Tty"))
    except Exception as e:
        raise translate(e, "inspect container") from e


def logs(
    container_id: str,
    *,
    follow: bool = False,
    tail: int | None = None,
    since: float | None = None,
    timestamps: bool = False,
    tty: bool | None = None,
) -> EngineStream:
    """`docker logs`: an EngineStream of (STDOUT|STDERR, bytes) chunks in the order the engine sent them.

    tail None means all lines; since is a unix time. Chunks are not lines: split them yourself.
    """
    if tty is None:
        tty = container_tty(container_id)
    params: dict = {
        "stdout": 1,
        "stderr": 1,
        "follow": 1 if follow else 0,
        "timestamps": 1 if timestamps else 0,
        "tail": "all" if tail is None else str(max(int(tail), 0)),
    }
    if since is not None:
        params["since"] = f"{since:.9f}"
    try:
        api = client().api
        response = api._get(api._url("/containers/{0}/logs", container_id), params=params, stream=True)
        api._raise_for_status(response)
        # a followed log may be quiet for longer than the client's timeout: that is not an error
        api._disable_socket_timeout(api._get_raw_response_socket(response))
    except Exception as e:
        raise translate(e, "logs") from e
    return EngineStream(_tty_frames if tty else _multiplexed_frames, response)


def stats_stream(container_id: str) -> EngineStream:
    """The engine's stats samples (raw dicts, about one a second), each with the previous one's CPU
    counters in "precpu_stats" (empty in the first sample)."""
    try:
        api = client().api
        response = api._get(api._url("/containers/{0}/stats", container_id), params={"stream": 1}, stream=True)
        api._raise_for_status(response)
        api._disable_socket_timeout(api._get_raw_response_socket(response))
    except Exception as e:
        raise translate(e, "stats") from e
    return EngineStream(lambda r: docker.utils.json_stream.json_stream(_raw_blocks(r)), response)


def stats_once(container_id: str, one_shot: bool = False) -> dict:
    """One raw stats sample. Without one_shot the engine waits for a second sample so that
    "precpu_stats" is filled (about a second); with one_shot it answers at once without it."""
    try:
        api = client().api
        params = {"stream": 0}
        if one_shot:
            params["one-shot"] = 1
        return api._result(api._get(api._url("/containers/{0}/stats", container_id), params=params), json=True)
    except Exception as e:
        raise translate(e, "stats") from e


def running_containers() -> list[ContainerRef]:
    """Running containers as (id, name), for the stats sampler."""
    try:
        rows = client().api.containers(filters={"status": "running"})
    except Exception as e:
        raise translate(e) from e
    return [_ref_of(r) for r in rows]


# === end logs and stats ===


# === events ===

# Engine events that change nothing a page shows: health-check and terminal execs, attach/resize.
QUIET_ACTIONS = ("exec_create", "exec_start", "exec_die", "exec_detach", "attach", "detach", "resize", "top")
EVENT_TYPES = ("container", "image")


class EventStream:
    """The engine's event stream as plain dicts, from its own connection so close() ends only it.

    Iteration ends (without an error) when the engine goes away or close() is called.
    """

    def __init__(self, since: str | None = None):
        try:
            self._api = docker.APIClient(base_url=address(), version="auto", timeout=settings.DOCKER_TIMEOUT)
            self._stream = self._api.events(since=since, filters={"type": list(EVENT_TYPES)}, decode=True)
        except Exception as e:
            raise translate(e, "follow engine events") from e
        self._closed = False

    def __iter__(self):
        try:
            for raw in self._stream:
                event = event_of(raw)
                if event is not None:
                    yield event
        except Exception as e:
            if not self._closed:
                raise translate(e, "follow engine events") from e

    def close(self) -> None:
        """Ends the stream, also from another thread blocked reading it."""
        self._closed = True
        try:
            self._stream.close()
        except Exception:
            pass
        self._api.close()


def event_of(raw: dict) -> dict | None:
    """A plain event dict, or None for noise (exec and other actions that change no page)."""
    action = raw.get("Action") or raw.get("status") or ""
    if action.split(":")[0].strip() in QUIET_ACTIONS:
        return None
    actor = raw.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    return {
        "type": raw.get("Type", ""),
        "action": action,
        "id": actor.get("ID", "") or raw.get("id", ""),
        "name": attributes.get("name", ""),
        "image": attributes.get("image", ""),
        "time_nano": int(raw.get("timeNano") or int(raw.get("time", 0)) * 10**9),
    }


def since_of(time_nano: int) -> str:
    """The engine's since= for an event time: inclusive, so that event is sent again."""
    return f"{time_nano // 10**9}.{time_nano % 10**9:09d}"


# === end events ===
