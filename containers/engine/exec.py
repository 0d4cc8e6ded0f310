"""Exec and terminals: `docker exec` streams, `exec -it` and `attach` on a tty, resize, hang-up."""

from __future__ import annotations

import codecs
import select
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from containers.engine.containers import ContainerRef, _until_started
from containers.engine.errors import EngineError, NotFound

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


def _hijacked(raw, address: str) -> tuple[object, bytes, object]:
    """A plain socket carrying the SDK's hijacked connection, the bytes http.client already
    buffered past the upgrade headers, and the response to keep alive.

    On a unix:// or plain tcp:// engine that is the connection's own socket. Over TLS (an
    SSLSocket) or SSH (a paramiko channel) the event loop cannot read the connection itself, so a
    thread relays it to one end of a socket pair and the terminal reads the other (_Relay)."""
    response = getattr(raw, "_response", None)
    sock = getattr(raw, "_sock", None)
    if isinstance(sock, socket.socket) and not isinstance(sock, ssl.SSLSocket):
        sock.setblocking(False)  # also lifts the client's timeout, which would end an idle shell
        pending = b""
        if response is not None:
            try:
                pending = response.raw._fp.fp.read1(65536) or b""
            except (AttributeError, BlockingIOError, TypeError, ValueError):
                pending = b""
        return sock, pending, response
    if not hasattr(raw, "fileno") or not hasattr(raw, "sendall"):
        raise EngineError(f"The terminal cannot use the connection to {address} ({type(raw).__name__})")
    return _Relay(raw, _buffered(response, raw)).start(), b"", response


def _buffered(response, remote) -> bytes:
    """What http.client (or paramiko's file) read past the upgrade headers, without waiting for more."""
    fp = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
    if fp is None:
        return b""
    if hasattr(fp, "_rbuffer"):  # paramiko's BufferedFile, over an SSH channel
        held, fp._rbuffer = bytes(fp._rbuffer or b""), b""
        return held
    remote.setblocking(False)  # read1 answers from its buffer, else tries the socket once: not wait
    try:
        return fp.read1(65536) or b""
    except (OSError, ValueError, TypeError, AttributeError):
        return b""
    finally:
        remote.setblocking(True)


class _Relay:
    """Relays a TLS socket or an SSH channel to a plain socket pair, in one daemon thread (an
    OpenSSL connection must not be read and written from two threads at once). The terminal gets
    one end; closing it ends the relay and the connection, and the engine's end of output shuts the
    pair's end down, so the terminal sees it as from a plain socket."""

    def __init__(self, remote, pending: bytes):
        self.remote = remote
        self.pending = pending
        self.ours, self.theirs = socket.socketpair()

    def start(self) -> socket.socket:
        self.theirs.setblocking(False)
        threading.Thread(target=self._run, name="terminal-relay", daemon=True).start()
        return self.theirs

    def _run(self) -> None:
        remote, ours = self.remote, self.ours
        try:
            if self.pending:
                ours.sendall(self.pending)
            remote.setblocking(True)
            while True:
                ready = []
                if isinstance(remote, ssl.SSLSocket) and remote.pending():
                    ready = [remote]
                else:
                    ready, _, _ = select.select([remote, ours], [], [])
                if remote in ready:
                    data = remote.recv(65536)
                    if not data:
                        ours.shutdown(socket.SHUT_WR)  # the engine ended the output
                        self._drain_until_closed()
                        return
                    ours.sendall(data)
                if ours in ready:
                    data = ours.recv(65536)
                    if not data:  # the terminal closed its end
                        return
                    remote.sendall(data)
        except (OSError, EOFError, ValueError):
            pass
        finally:
            for end in (ours, remote):
                try:
                    end.close()
                except Exception:
                    pass

    def _drain_until_closed(self) -> None:
        """After the engine's end of output, wait for the terminal to close its end (a final
        keystroke written then has nowhere to go)."""
        while self.ours.recv(65536):
            pass


class ExecCalls:
    """The exec and terminal calls of an Engine."""

    def exec_stream(self, container_id: str, argv: list[str], environment: dict[str, str] | None = None):
        """`docker exec` with stdout and stderr as they come: yields {"output": text}, then {"exit_code": n}."""

        try:
            api = self.client(long=True).api
            created = api.exec_create(container_id, argv, stdout=True, stderr=True, tty=False, environment=environment)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            with self.exec_gate.exec_start(container_id):
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
            raise self.translate(e, f"exec {argv[0]}") from e
        yield {"exit_code": code}

    def terminal_target(self, container: ContainerRef | str) -> TerminalTarget:
        """What a terminal page needs to know about a container: running, created with -i and -t.

        A ContainerRef that carries its inspect answer costs no engine call."""
        data = container.info if isinstance(container, ContainerRef) else None
        if data is None:
            container_id = container.id if isinstance(container, ContainerRef) else container
            try:
                data = self.client().api.inspect_container(container_id)
            except Exception as e:
                raise self.translate(e, "inspect") from e
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

    def exec_terminal(
        self, container_id: str, cmd: list[str] | None, user: str = "", workdir: str = "", cols: int = 0, rows: int = 0
    ) -> TerminalStream:
        """`docker exec -it` : start `cmd` (default: bash, else sh) on a tty and hand back its socket."""

        session = uuid.uuid4().hex
        api = self.client(long=True).api
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
            with self.exec_gate.exec_start(container_id):
                raw = api.exec_start(exec_id, tty=True, socket=True)
                _until_started(api, exec_id)
        except Exception as e:
            raise self.translate(e, "exec") from e
        sock, pending, response = _hijacked(raw, self.address)
        stream = TerminalStream(sock, pending, container_id, exec_id, session, response)
        if cols and rows:
            try:
                self.resize_exec(exec_id, cols, rows)
            except EngineError:
                pass  # the process may already have exited; its exit code will tell
        return stream

    def attach_terminal(self, container_id: str) -> TerminalStream:
        """`docker attach`: the main process's tty. Ctrl-P Ctrl-Q (the engine's detach keys) ends it."""
        api = self.client(long=True).api
        try:
            raw = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        except Exception as e:
            raise self.translate(e, "attach") from e
        sock, pending, response = _hijacked(raw, self.address)
        return TerminalStream(sock, pending, container_id, _keep=response)

    def resize_exec(self, exec_id: str, cols: int, rows: int) -> None:
        try:
            self.client().api.exec_resize(exec_id, height=rows, width=cols)
        except Exception as e:
            raise self.translate(e, "resize") from e

    def resize_container(self, container_id: str, cols: int, rows: int) -> None:
        try:
            self.client().api.resize(container_id, height=rows, width=cols)
        except Exception as e:
            raise self.translate(e, "resize") from e

    def _exit_code_when_done(self, inspect: Callable[[], dict], what: str, wait_s: float) -> int | None:
        """Poll a state dict (Running, ExitCode) briefly for the engine to notice an exit."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                state = inspect()
            except Exception as e:
                raise self.translate(e, what) from e
            if not state.get("Running"):
                return state.get("ExitCode")
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def exec_exit_code(self, exec_id: str, wait_s: float = 2.0) -> int | None:
        """The exit code of a finished exec, waiting briefly for the engine to notice; None if running."""
        return self._exit_code_when_done(lambda: self.client().api.exec_inspect(exec_id), "exec inspect", wait_s)

    def container_exit_code(self, container_id: str, wait_s: float = 2.0) -> int | None:
        """The exit code of a stopped container, or None while it still runs (after a detach)."""
        return self._exit_code_when_done(
            lambda: self.client().api.inspect_container(container_id).get("State") or {}, "inspect", wait_s
        )

    def kill_terminal(self, stream: TerminalStream) -> int:
        """Hang up the processes a terminal session started (SIGHUP, then SIGKILL after 1 s).

        Finds them by the session variable in /proc/*/environ with a second exec as root, so it works
        whether the engine is local or remote. Returns how many signals were needed (0: none left).
        """
        try:
            if not self.terminal_target(stream.container_id).running:
                return 0
            api = self.client(long=True).api
            created = api.exec_create(
                stream.container_id, ["/bin/sh", "-c", _KILL_SCRIPT, "kill", SESSION_ENV, stream.session], user="0"
            )
            with self.exec_gate.exec_start(stream.container_id):
                api.exec_start(created["Id"])
            return api.exec_inspect(created["Id"]).get("ExitCode") or 0
        except NotFound:
            return 0
        except Exception as e:
            raise self.translate(e, "kill") from e
