"""In-browser terminals: `docker exec -it` and `docker attach` streamed over a websocket.

Protocol (same for exec and attach):
- opening (exec only): the client's first frame is text, `{"type": "open", "cmd": "...", "user": "...",
  "workdir": "...", "cols": C, "rows": R}` (all optional but the type); nothing runs before it. The
  options are not in the URL, which would put the command in access logs. `?cols=&rows=` may still
  give the first size.
- client to server: binary frames are keystrokes (raw bytes). Text frames are JSON control,
  `{"type": "resize", "cols": C, "rows": R}` or `{"type": "ack", "bytes": N}`; any other text frame
  is taken as keystrokes (xterm.js's onData gives strings).
- server to client: binary frames are terminal output, raw bytes as the engine sent them (the
  browser decodes UTF-8, so a character split across two reads still displays whole). Text frames
  are JSON status: `{"type": "exit", "code": N, "message": "..."}` (code is null when unknown),
  `{"type": "detached", "message": "..."}` (attach only: Ctrl-P Ctrl-Q) and
  `{"type": "error", "message": "..."}`; the server closes the socket after each of them. An exit or
  error because the engine went away carries `"engine": "lost"`: the page then waits for the engine
  and offers to reconnect once it answers again.

Flow control (after xterm.js's flow-control guide): the client acknowledges output it has
processed with `{"type": "ack", "bytes": N}` (N bytes since its last ack; the page acks every
ACK_EVERY bytes, from term.write's callback). While more than WINDOW bytes are unacknowledged the
server stops reading the engine socket, so a flood (`yes`) is held back by the kernel buffers and
the tty, in the container, instead of piling up in the server's memory or the browser.

Batching: output is sent as soon as it is read (with whatever the socket already holds), so a
keystroke's echo never waits. Only while a flood runs (OutputPacing: more than FLOOD_BYTES or
FLOOD_FRAMES in the last FLOOD_WINDOW_S) does the server wait BATCH_S before each frame, so that
a tty handing over a line at a time makes a few large frames, not one per line.

The output is read from the engine's hijacked socket with the event loop's own non-blocking
`sock_recv`: no thread per terminal, no read timeout, and bytes never pass through the channel layer.
When the socket closes, every process the exec started is hung up (engine.kill_terminal).
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from containers import audit, engine
from containers.consumers import PanelConsumer

CHUNK = 65536
BATCH_S = 0.004
# A flood is more than FLOOD_BYTES or FLOOD_FRAMES sent within FLOOD_WINDOW_S: then output gathers
# for BATCH_S before each frame. Below that (typing, a prompt, a short listing) it leaves at once.
FLOOD_WINDOW_S = 0.008
FLOOD_BYTES = 1024
FLOOD_FRAMES = 64
WINDOW = 256 * 1024
ACK_EVERY = 32 * 1024
DETACH_KEYS = b"\x10\x11"  # Ctrl-P Ctrl-Q, the engine's default
# Engine calls block (open, resize, exit status, clean-up); they get their own threads so a burst of
# terminals opening or closing never waits behind, or holds up, the rest of the server.
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?$")


@dataclass(frozen=True)
class ExecOptions:
    cmd: list[str]  # empty: bash if the image has it, else sh
    user: str = ""
    workdir: str = ""

    @property
    def shown_cmd(self) -> str:
        return shlex.join(self.cmd) if self.cmd else "/bin/bash"


def parse_exec_options(cmd: str = "", user: str = "", workdir: str = "") -> ExecOptions:
    """Check what the user typed for `docker exec -it [-u USER] [-w DIR] CONTAINER CMD`.

    Raises ValueError with a message for the page.
    """
    cmd, user, workdir = (cmd or "").strip(), (user or "").strip(), (workdir or "").strip()
    if len(cmd) > 1000:
        raise ValueError("The command is too long (1000 characters at most)")
    try:
        argv = shlex.split(cmd)
    except ValueError as e:
        raise ValueError(f"The command cannot be read: {e} (check the quotes)") from e
    if user and not _USER.match(user):
        raise ValueError(f"'{user}' is not a user: give a name or UID, optionally :group, as for docker exec -u")
    if workdir and (not workdir.startswith("/") or "\0" in workdir or len(workdir) > 1000):
        raise ValueError(f"'{workdir}' is not an absolute path, as docker exec -w needs")
    return ExecOptions(cmd=argv, user=user, workdir=workdir)


def cli_equivalent(container: str, options: ExecOptions) -> str:
    """The docker CLI command that opens the same terminal."""
    parts = ["docker", "exec", "-it"]
    if options.user:
        parts += ["-u", options.user]
    if options.workdir:
        parts += ["-w", options.workdir]
    return " ".join([shlex.join(parts + [container]), options.shown_cmd])


def _gather(sock, data: bytes) -> tuple[bytes, bool]:
    """Add what the socket already holds to `data`, without waiting; True once the stream ended."""
    parts = [data]
    size = len(data)
    while size < CHUNK:
        try:
            more = sock.recv(CHUNK - size)
        except BlockingIOError:
            return b"".join(parts), False
        except OSError:
            return b"".join(parts), True
        if not more:
            return b"".join(parts), True
        parts.append(more)
        size += len(more)
    return b"".join(parts), False


class OutputPacing:
    """Whether output is flooding: what was sent in the last FLOOD_WINDOW_S, by frames and bytes."""

    def __init__(self) -> None:
        self.recent: deque[tuple[float, int]] = deque()  # (when, bytes) of recent frames
        self.recent_bytes = 0

    def sent(self, now: float, size: int) -> None:
        self.recent.append((now, size))
        self.recent_bytes += size
        self._forget(now)

    def flooding(self, now: float) -> bool:
        self._forget(now)
        return len(self.recent) >= FLOOD_FRAMES or self.recent_bytes >= FLOOD_BYTES

    def _forget(self, now: float) -> None:
        while self.recent and now - self.recent[0][0] > FLOOD_WINDOW_S:
            self.recent_bytes -= self.recent.popleft()[1]


def _query(scope) -> dict[str, str]:
    raw = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
    return {k: v[-1] for k, v in raw.items()}


def _open_frame(text_data: str | None) -> dict:
    """The options of an `{"type": "open", ...}` frame; ValueError is raised later by prepare()."""
    try:
        frame = json.loads(text_data or "")
    except ValueError:
        frame = None
    if not isinstance(frame, dict) or frame.get("type") != "open":
        return {"invalid": True}
    return frame


def _size(value) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 1 <= n <= 1000 else None


class TerminalConsumer(PanelConsumer):
    """Shared pump between a websocket and a hijacked engine socket; see the module docstring."""

    role = "operator"
    action = ""
    # exec takes its options from the first frame, {"type": "open", ...}, not the URL: a URL (and
    # the command in it) lands in access logs.
    waits_for_open = False
    opening = False
    stream: engine.TerminalStream | None = None
    target: engine.TerminalTarget | None = None
    reader: asyncio.Task | None = None
    ended = False
    exit_code: int | None = None
    opened_at = 0.0

    async def start(self) -> None:
        await self.accept()
        self.window = asyncio.Event()
        self.window.set()
        self.unacked = 0
        self.last_keys = b""
        query = _query(self.scope)
        self.cols, self.rows = _size(query.get("cols")), _size(query.get("rows"))
        if not self.waits_for_open:
            await self.begin({})

    async def begin(self, options: dict) -> None:
        """Check the options, find the container and open the engine stream (or say why not)."""
        self.cols, self.rows = _size(options.get("cols")) or self.cols, _size(options.get("rows")) or self.rows
        ref = self.scope["url_route"]["kwargs"]["ref"]
        started = None
        try:
            self.prepare(options)
            self.target = await self.engine.short_call(self.find_target, ref)
            # on record before the process starts; refused if the audit log cannot be written
            started = await database_sync_to_async(audit.begin)(
                self.scope,
                self.action,
                target_id=self.target.id,
                target_name=self.target.name,
                params=self.audit_params(),
            )
            self.stream = await self.engine.short_call(self.open_stream)
        except (engine.EngineError, ValueError, audit.AuditUnavailable) as e:
            if started is not None:
                await database_sync_to_async(audit.finish)(started, ok=False, result=str(e))
            elif not isinstance(e, audit.AuditUnavailable):
                await self.record(ok=False, result=str(e), target_name=self.target.name if self.target else ref)
            error = {"type": "error", "message": str(e)}
            if isinstance(e, engine.EngineUnavailable):
                error["engine"] = "lost"  # the page waits for it and offers to reconnect
            await self.send(text_data=json.dumps(error))
            await self.close()
            return
        self.opened_at = time.monotonic()
        if self.stream.pending:
            await self.send_output(self.stream.pending)
        self.reader = asyncio.create_task(self.pump())
        await database_sync_to_async(audit.finish)(started, ok=True, result="session opened")

    def prepare(self, options: dict) -> None:
        """Check the request's options before anything runs (ValueError to refuse)."""

    def find_target(self, ref: str) -> engine.TerminalTarget:
        found = self.engine.resolve_container(ref)
        target = self.engine.terminal_target(found)
        if not target.running:
            state = target.status or "not running"
            todo = "unpause" if state == "paused" else "start"
            raise engine.Conflict(f"Container {target.name} is {state}; {todo} it to open a terminal")
        return target

    def open_stream(self) -> engine.TerminalStream:
        raise NotImplementedError

    async def send_output(self, data: bytes) -> None:
        self.unacked += len(data)
        if self.unacked >= WINDOW:
            self.window.clear()
        await self.send(bytes_data=data)

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        sock = self.stream.sock
        pacing = OutputPacing()
        eof = False
        while not eof:
            await self.window.wait()
            try:
                data = await loop.sock_recv(sock, CHUNK)
            except OSError:
                data = b""
            if not data:
                break
            if len(data) < CHUNK:
                if pacing.flooding(time.monotonic()):
                    # In a flood a tty hands over a line at a time; a few ms gathers them into one
                    # frame (a frame per line costs the server and the browser far more than the bytes).
                    await asyncio.sleep(BATCH_S)
                data, eof = _gather(sock, data)
            await self.send_output(data)
            pacing.sent(time.monotonic(), len(data))
        self.ended = True
        try:
            status = await self.engine.short_call(self.ending)
        except engine.NotFound:
            status = {"type": "exit", "code": None, "message": f"The container {self.target.name} was removed."}
        except engine.EngineError as e:
            status = {"type": "exit", "code": None, "message": str(e)}
            if isinstance(e, engine.EngineUnavailable):
                status["engine"] = "lost"  # the page waits for it and offers to reconnect
        await self.send(text_data=json.dumps(status))
        await self.close()

    def ending(self) -> dict:
        """The status frame once the engine closed the stream."""
        raise NotImplementedError

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.refused:
            return  # a refused socket runs nothing, whatever it sends
        if self.waits_for_open and not self.opening:
            self.opening = True
            await self.begin(_open_frame(text_data))
            return
        if self.stream is None or self.ended:
            return
        if bytes_data is not None:
            await self.write(bytes_data)
            return
        if text_data is None:
            return
        control = None
        if text_data.startswith("{"):
            try:
                control = json.loads(text_data)
            except ValueError:
                control = None
        if isinstance(control, dict) and control.get("type") == "resize":
            cols, rows = _size(control.get("cols")), _size(control.get("rows"))
            if cols and rows:
                self.cols, self.rows = cols, rows
                try:
                    await self.engine.short_call(self.resize, cols, rows)
                except engine.EngineError:
                    pass  # the process is ending; its exit status follows
        elif isinstance(control, dict) and control.get("type") == "ack":
            n = control.get("bytes")
            if isinstance(n, int) and n > 0:
                self.unacked = max(0, self.unacked - n)
                if self.unacked < WINDOW:
                    self.window.set()
        else:
            await self.write(text_data.encode("utf-8"))

    async def write(self, data: bytes) -> None:
        self.last_keys = (self.last_keys + data)[-len(DETACH_KEYS) :]
        try:
            await asyncio.get_running_loop().sock_sendall(self.stream.sock, data)
        except OSError:
            pass  # the engine closed the stream; pump() reports how it ended

    def resize(self, cols: int, rows: int) -> None:
        raise NotImplementedError

    async def disconnect(self, code: int) -> None:
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
        if self.stream is not None:
            try:
                await self.engine.short_call(self.release)
            except engine.EngineError as e:
                await self.record(ok=False, result=f"session closed; cleaning up failed: {e}", closing=True)
            else:
                await self.record(result="session closed", closing=True)
            self.stream = None
        await super().disconnect(code)

    def release(self) -> None:
        self.stream.close()

    def audit_params(self) -> dict:
        return {}

    async def record(self, ok: bool = True, result: str = "", target_name: str = "", closing: bool = False) -> None:
        params = self.audit_params()
        if closing:
            params["duration_s"] = round(time.monotonic() - self.opened_at, 1)
            params["exit_code"] = self.exit_code
        await database_sync_to_async(_record_session)(
            self.scope,
            self.action,
            target_id=self.target.id if self.target else "",
            target_name=target_name or (self.target.name if self.target else ""),
            params=params,
            ok=ok,
            result=result,
        )


def _record_session(scope, action: str, **entry) -> None:
    """The session's entries after it started: the process exists, so a failing write is only logged."""
    try:
        audit.record(scope, action, **entry)
    except audit.AuditUnavailable:
        pass  # audit.record has logged it


class ExecConsumer(TerminalConsumer):
    """/ws/containers/<ref>/exec/ : `docker exec -it`, opened by the first frame
    `{"type": "open", "cmd": "...", "user": "...", "workdir": "...", "cols": C, "rows": R}`."""

    action = "container.exec"
    options = ExecOptions(cmd=[])
    waits_for_open = True

    def prepare(self, options: dict) -> None:
        if options.get("invalid"):
            raise ValueError('The first message must be {"type": "open", "cmd": …, "user": …, "workdir": …}')
        fields = [options.get(k, "") for k in ("cmd", "user", "workdir")]
        if not all(isinstance(f, str) for f in fields):
            raise ValueError("cmd, user and workdir must be strings")
        self.options = parse_exec_options(*fields)

    def open_stream(self) -> engine.TerminalStream:
        o = self.options
        return self.engine.exec_terminal(self.target.id, o.cmd, o.user, o.workdir, self.cols or 0, self.rows or 0)

    def resize(self, cols: int, rows: int) -> None:
        self.engine.resize_exec(self.stream.exec_id, cols, rows)

    def ending(self) -> dict:
        code = self.engine.exec_exit_code(self.stream.exec_id)
        self.exit_code = code
        if code is None or code >= 128:  # killed: perhaps with the whole container, which takes a moment to show
            for _ in range(10):
                if not self.engine.terminal_target(self.target.id).running:
                    return {"type": "exit", "code": code, "message": f"The container {self.target.name} stopped."}
                time.sleep(0.1)
        return {"type": "exit", "code": code, "message": f"The process exited with code {code}."}

    def release(self) -> None:
        try:
            self.engine.kill_terminal(self.stream)  # the shell and whatever it started
        finally:
            self.stream.close()

    def audit_params(self) -> dict:
        o = self.options
        return {"cmd": o.shown_cmd if o.cmd else "/bin/bash || /bin/sh", "user": o.user, "workdir": o.workdir}


class AttachConsumer(TerminalConsumer):
    """/ws/containers/<ref>/attach/ : `docker attach` to a container made with -i -t."""

    action = "container.attach"

    def find_target(self, ref: str) -> engine.TerminalTarget:
        target = super().find_target(ref)
        if not (target.tty and target.open_stdin):
            raise engine.Conflict(
                f"Container {target.name} was not created with -i -t (an open stdin and a tty), so there is "
                "no terminal to attach to. Open a terminal (docker exec) or read its logs instead."
            )
        return target

    def open_stream(self) -> engine.TerminalStream:
        stream = self.engine.attach_terminal(self.target.id)
        if self.cols and self.rows:
            try:
                self.engine.resize_container(self.target.id, self.cols, self.rows)
            except engine.EngineError:
                pass
        return stream

    def resize(self, cols: int, rows: int) -> None:
        self.engine.resize_container(self.target.id, cols, rows)

    def ending(self) -> dict:
        detaching = self.last_keys == DETACH_KEYS
        code = self.engine.container_exit_code(self.target.id, wait_s=0.5 if detaching else 3.0)
        if code is None:
            return {"type": "detached", "message": f"Detached; {self.target.name} is still running."}
        self.exit_code = code
        return {
            "type": "exit",
            "code": code,
            "message": f"The container {self.target.name} stopped (exit code {code}).",
        }
