"""The in-browser terminal: docker exec -it and docker attach over a websocket, on a real engine."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import parse_qs

import pytest
from channels.db import database_sync_to_async

from containers.models import AuditEntry
from containers.terminal import (
    BATCH_S,
    FLOOD_BYTES,
    FLOOD_FRAMES,
    FLOOD_WINDOW_S,
    WINDOW,
    OutputPacing,
    cli_equivalent,
    parse_exec_options,
)
from tests.conftest import DEBIAN
from tests.websockets import communicator, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

KOREAN = "한글 터미널"


class Terminal:
    """A websocket client that gathers output bytes and status frames."""

    def __init__(self, ws):
        self.ws = ws
        self.output = bytearray()
        self.frames: list[bytes] = []  # output frames as they came (the last 100)
        self.status: list[dict] = []
        self.closed: int | None = None

    async def step(self, wait_s: float) -> bool:
        """Take one frame if one comes within `timeout` (receive_output's own timeout would cancel the app)."""
        deadline = time.monotonic() + wait_s
        while self.ws.output_queue.empty():
            if self.ws.future.done() or time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        msg = await self.ws.receive_output(timeout=1)
        if msg["type"] == "websocket.close":
            self.closed = msg.get("code", 1000)
        elif msg.get("bytes") is not None:
            self.output += msg["bytes"]
            self.frames = [*self.frames[-99:], msg["bytes"]]
        elif msg.get("text") is not None:
            self.status.append(json.loads(msg["text"]))
        return True

    def has(self, needle: bytes, since: int = 0) -> bool:
        """Whether `needle` arrived at or after offset `since` (searching a flood's megabytes once)."""
        return self.output.find(needle, max(0, since - len(needle))) >= 0

    async def until(self, needle: bytes, wait_s: float = 30) -> bytearray:
        deadline = time.monotonic() + wait_s
        searched = 0
        while not self.has(needle, searched):
            searched = len(self.output)
            left = deadline - time.monotonic()
            assert left > 0, f"no {needle!r} in {self.output[-500:]!r} {self.status}"
            assert self.closed is None, f"closed ({self.closed}) before {needle!r}: {self.status}"
            await self.step(left)
        return self.output

    async def until_status(self, wait_s: float = 30) -> dict:
        deadline = time.monotonic() + wait_s
        while not self.status:
            left = deadline - time.monotonic()
            assert left > 0, f"no status frame; output {self.output[-300:]!r}"
            await self.step(left)
        return self.status[0]

    async def until_quiet(self, quiet: float = 1.0, wait_s: float = 20) -> None:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and await self.step(quiet):
            pass

    async def type(self, text: str) -> None:
        await self.ws.send_to(bytes_data=text.encode())

    async def close(self) -> None:
        """Close the socket and wait (generously, for a busy machine) until the server has finished."""
        await self.ws.disconnect(timeout=15)


async def open_terminal(path: str, role: str = "operator") -> Terminal:
    """Connect; for exec, the options written as a query here go in the first frame, as the page sends them."""
    exec_path, _, query = path.partition("?")
    is_exec = exec_path.endswith("/exec/")
    ws = communicator(exec_path if is_exec else path, await session_cookie_for(role, role))
    connected, _ = await ws.connect()
    assert connected
    if is_exec:
        options = {k: v[-1] for k, v in parse_qs(query).items()}
        await ws.send_to(text_data=json.dumps({"type": "open", **options}))
    return Terminal(ws)


@pytest.fixture
def shell_box(make_container):
    """A busybox container started like `docker run -dit busybox sh`."""
    return make_container(command="sh", tty=True, stdin_open=True)


async def until_processes(container, check, wait_s: float = 30) -> list[str]:
    """The container's processes once `check(processes)` holds, polled (a busy engine is slow)."""
    deadline = time.monotonic() + wait_s
    while not check(found := await asyncio.to_thread(processes, container)):
        assert time.monotonic() < deadline, f"not so within {wait_s} s: {found}"
        await asyncio.sleep(0.2)
    return found


def processes(container) -> list[str]:
    """Command lines of the live (non-zombie) processes in a container, from /proc."""
    script = 'for d in /proc/[0-9]*; do c=$(tr "\\0" " " < $d/cmdline 2>/dev/null); [ -n "$c" ] && echo "${d#/proc/} $c"; done'
    out = container.exec_run(["sh", "-c", script]).output.decode()
    return [line for line in out.splitlines() if "/proc/[0-9]" not in line and "tr \\0" not in line]


async def test_it_runs_a_shell_and_echoes_a_computed_value(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("echo $((6*7))\n")
    await t.until(b"\r\n42\r\n")
    await t.close()


async def test_it_accepts_keystrokes_as_text_frames(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.id[:12]}/exec/?cmd=sh")
    await t.ws.send_to(text_data="echo $((6*7))\r")
    await t.until(b"\r\n42\r\n")
    await t.close()


@pytest.mark.parametrize(("image", "shell"), [(DEBIAN, b"bash"), ("dockerpanel-test/busybox:latest", b"sh")])
async def test_it_opens_bash_when_the_image_has_it_else_sh(make_container, image, shell):
    box = make_container(image=image, command="sleep 3600")
    t = await open_terminal(f"/ws/containers/{box.name}/exec/")
    await t.type("echo shell=${BASH_VERSION:+ba}sh\n")
    await t.until(b"shell=" + shell + b"\r\n")
    await t.close()


async def test_it_passes_the_size_to_the_process_and_follows_resizes(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh&cols=100&rows=30")
    await t.type("stty size\n")
    await t.until(b"30 100\r\n")
    await t.ws.send_to(text_data=json.dumps({"type": "resize", "cols": 132, "rows": 41}))
    await t.type("stty size\n")
    await t.until(b"41 132\r\n")
    await t.close()


async def test_it_carries_utf8_both_ways(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    # printf turns the octal escapes into UTF-8 in the container: the output is the program's
    octal = "".join(f"\\{b:03o}" for b in KOREAN.encode())
    await t.type(f"printf '{octal}\\n'\n")
    await t.until(KOREAN.encode() + b"\r\n")
    # typed UTF-8 reaches the process intact: it counts 3 bytes per Hangul syllable
    await t.ws.send_to(text_data="printf %s 한 | wc -c\r")
    await t.until(b"\r\n3\r\n")
    await t.close()


async def test_it_reports_the_exit_code_and_closes(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("exit 5\n")
    status = await t.until_status()
    assert status["type"] == "exit"
    assert status["code"] == 5
    await t.step(5)
    assert t.closed == 1000
    await t.close()


async def test_it_reports_the_exit_code_of_a_given_command(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=" + "sh%20-c%20%27exit%203%27")
    assert (await t.until_status())["code"] == 3
    await t.close()


@pytest.mark.parametrize("image", [DEBIAN, "dockerpanel-test/busybox:latest"])
async def test_it_leaves_no_process_behind_when_the_socket_closes(make_container, image):
    box = make_container(image=image, command="sleep 3600")
    t = await open_terminal(f"/ws/containers/{box.name}/exec/")
    await t.type("sleep 777 &\nsleep 778\n")
    await until_processes(box, lambda found: any("sleep 778" in p for p in found))
    await t.close()

    def session(p: str) -> bool:
        return "sleep 77" in p or "bash" in p or p.split(" ", 1)[1].startswith("/bin/sh ")

    left = await until_processes(box, lambda found: not any(session(p) for p in found))
    assert any("sleep 3600" in p for p in left)  # the container's own process is untouched


async def test_it_runs_as_the_given_user_in_the_given_directory(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh&user=nobody&workdir=/tmp")
    await t.type('echo "$(id -un) in $(pwd)"\n')
    await t.until(b"nobody in /tmp\r\n")
    await t.close()


async def test_it_refuses_options_it_cannot_read(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?user=bad%20user")
    status = await t.until_status()
    assert status["type"] == "error"
    assert "not a user" in status["message"]
    await t.close()
    await asyncio.to_thread(shell_box.reload)
    assert not shell_box.attrs.get("ExecIDs")  # nothing was started


async def test_it_explains_an_unknown_container():
    t = await open_terminal("/ws/containers/no-such-box-42/exec/")
    status = await t.until_status()
    assert status == {"type": "error", "message": "No such container: no-such-box-42"}
    await t.step(5)
    assert t.closed == 1000
    await t.close()


async def test_it_explains_a_container_that_is_not_running(make_container):
    box = make_container(command="sh", tty=True, stdin_open=True, start=False)
    t = await open_terminal(f"/ws/containers/{box.name}/exec/")
    status = await t.until_status()
    assert status["type"] == "error"
    assert f"Container {box.name} is created; start it" in status["message"]
    await t.close()


async def test_it_closes_an_anonymous_socket_with_4401_and_starts_nothing(shell_box):
    ws = communicator(f"/ws/containers/{shell_box.name}/exec/")
    connected, _ = await ws.connect()
    assert connected
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()
    await asyncio.to_thread(shell_box.reload)
    assert not shell_box.attrs.get("ExecIDs")


@pytest.mark.parametrize("kind", ["exec", "attach"])
async def test_it_closes_a_viewer_socket_with_4403_and_starts_nothing(shell_box, kind):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/{kind}/", role="viewer")
    await t.step(2)
    assert t.closed == 4403
    assert t.output == b""
    assert t.status == []
    await t.close()
    await asyncio.to_thread(shell_box.reload)
    assert not shell_box.attrs.get("ExecIDs")


async def test_it_tells_when_the_container_stops_during_a_session(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("echo ready\n")
    await t.until(b"ready\r\n")
    await asyncio.to_thread(shell_box.kill)
    status = await t.until_status()
    assert status["type"] == "exit"
    assert "stopped" in status["message"]
    await t.close()


async def test_it_tells_when_the_container_is_removed_during_a_session(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("echo ready\n")
    await t.until(b"ready\r\n")
    await asyncio.to_thread(shell_box.remove, force=True)
    status = await t.until_status()
    assert status["type"] == "exit"
    assert "removed" in status["message"] or "stopped" in status["message"]
    await t.close()


async def test_it_shows_why_a_command_could_not_start(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=/bin/no-such-program")
    status = await t.until_status()
    assert status["code"] == 126
    assert b"no-such-program: no such file or directory" in t.output
    await t.close()


async def test_it_keeps_an_idle_shell_longer_than_the_engine_timeout(shell_box, settings):
    settings.DOCKER_TIMEOUT = 1  # engine calls time out after 1 s; the terminal's stream must not
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("echo first\n")
    await t.until(b"first\r\n")
    await asyncio.sleep(2.5)
    await t.type("echo $((6*7))\n")
    await t.until(b"\r\n42\r\n")
    await t.close()


async def test_it_closes_the_terminal_of_a_revoked_user_and_hangs_up(shell_box):
    from channels.layers import get_channel_layer
    from django.contrib.auth.models import User

    from containers.consumers import user_group

    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("sleep 779\n")
    await until_processes(shell_box, lambda found: any("sleep 779" in p for p in found))
    user_id = await database_sync_to_async(lambda: User.objects.get(username="operator").pk)()
    await get_channel_layer().group_send(user_group(user_id), {"type": "user.revoked", "code": 4403})
    while t.closed is None:
        assert await t.step(5)
    assert t.closed == 4403
    await t.close()
    await until_processes(shell_box, lambda found: not any("sleep 779" in p for p in found))


async def test_it_records_the_session_in_the_audit_log_without_keystrokes(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh&workdir=/tmp")
    await t.type("echo secret-$((1+1))\n")
    await t.until(b"secret-2\r\n")
    await t.type("exit 4\n")
    await t.until_status()
    await t.close()
    entries = await database_sync_to_async(
        lambda: list(AuditEntry.objects.filter(action="container.exec").order_by("pk"))
    )()
    assert [e.result for e in entries] == ["session opened", "session closed"]
    closed = entries[1]
    assert closed.username == "operator"
    assert closed.target_name == shell_box.name
    assert closed.target_id == shell_box.id
    assert closed.params["cmd"] == "sh"
    assert closed.params["workdir"] == "/tmp"
    assert closed.params["exit_code"] == 4
    assert closed.params["duration_s"] >= 0
    assert "secret" not in json.dumps([e.params for e in entries]) + "".join(e.result for e in entries)


async def test_it_stops_reading_a_flood_until_the_client_catches_up(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("yes | head -c 3000000; echo; echo flood-$((2*3))-done\n")
    while len(t.output) < WINDOW / 2:  # the flood has begun (a busy machine takes its time)...
        assert await t.step(30), f"no flood: {t.output[-300:]!r} {t.status}"
    await t.until_quiet(quiet=1.5)  # ...and the server holds the rest back
    held = len(t.output)
    # without acknowledgements the server sends one window (plus one read) and waits
    assert WINDOW / 2 < held <= WINDOW + 65536
    assert b"flood-6-done" not in t.output
    # acknowledging what arrived lets the rest through
    acked = 0
    deadline = time.monotonic() + 120
    while not t.has(b"flood-6-done", acked) and time.monotonic() < deadline:
        if len(t.output) > acked:
            await t.ws.send_to(text_data=json.dumps({"type": "ack", "bytes": len(t.output) - acked}))
            acked = len(t.output)
        await t.step(2)
    assert b"flood-6-done" in t.output
    assert t.output.count(b"y") >= 1_500_000
    await t.close()


async def test_it_sends_a_keystrokes_echo_in_a_frame_of_its_own(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.until(b"# ")
    await t.until_quiet(quiet=0.5)
    for key in (b"a", b"b", b"c"):  # each typed once the previous echo arrived, as fast as a script types
        frames = len(t.frames)
        await t.type(key.decode())
        while len(t.frames) == frames:
            assert await t.step(30), f"no echo of {key!r}"
        assert t.frames[-1] == key  # sent as read, not held back for more
    await t.close()


async def test_it_gathers_a_flood_into_few_frames(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.until(b"# ")
    lines = 20_000
    await t.type(f"yes | head -n {lines}; echo gathered-$((2*3))\n")
    frames = 0
    acked = 0
    deadline = time.monotonic() + 60
    while not t.has(b"gathered-6\r\n", acked - 20) and time.monotonic() < deadline:
        if await t.step(2):
            frames += 1
        await t.ws.send_to(text_data=json.dumps({"type": "ack", "bytes": len(t.output) - acked}))
        acked = len(t.output)
    assert t.output.count(b"y\r\n") >= lines
    assert frames <= lines / 4, f"{frames} frames for {lines} lines"  # a tty hands them over one by one
    await t.close()


def test_it_sends_output_at_once_until_a_flood_runs():
    pacing = OutputPacing()
    assert not pacing.flooding(100.0)
    pacing.sent(100.0, 1)  # an echo
    assert not pacing.flooding(100.0)
    for i in range(FLOOD_FRAMES - 2):  # frame after frame, each small
        pacing.sent(100.0 + i * FLOOD_WINDOW_S / FLOOD_FRAMES, 3)
    assert not pacing.flooding(100.0 + FLOOD_WINDOW_S / 2)
    pacing.sent(100.0 + FLOOD_WINDOW_S / 2, 3)
    assert pacing.flooding(100.0 + FLOOD_WINDOW_S / 2)  # many frames in the window: gather for BATCH_S
    assert not pacing.flooding(100.0 + 2 * FLOOD_WINDOW_S)  # quiet again: at once


def test_it_takes_a_large_frame_as_the_start_of_a_flood():
    pacing = OutputPacing()
    pacing.sent(5.0, FLOOD_BYTES)
    assert pacing.flooding(5.0 + BATCH_S / 4)
    assert not pacing.flooding(5.0 + FLOOD_WINDOW_S * 1.5)


async def test_it_interrupts_a_flood_with_ctrl_c(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh")
    await t.type("yes\n")
    acked = 0
    while len(t.output) < 2_000_000:  # a browser acknowledging as it goes
        await t.step(5)
        await t.ws.send_to(text_data=json.dumps({"type": "ack", "bytes": len(t.output) - acked}))
        acked = len(t.output)
    await t.ws.send_to(bytes_data=b"\x03")
    await t.type("echo after-$((1+1))\n")
    deadline = time.monotonic() + 60
    while b"after-2\r\n" not in t.output[-200_000:] and time.monotonic() < deadline:
        await t.step(2)
        await t.ws.send_to(text_data=json.dumps({"type": "ack", "bytes": len(t.output) - acked}))
        acked = len(t.output)
    assert b"after-2\r\n" in t.output[-200_000:]
    await t.close()


async def test_it_runs_full_screen_programs(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/exec/?cmd=sh&cols=120&rows=40")
    await t.type("top\n")
    await t.until(b"PID")
    assert b"\x1b[" in t.output  # drawn with cursor addressing, as on a real terminal
    await t.type("q")
    await t.type("echo back-$((2+2))\n")
    await t.until(b"back-4\r\n")
    await t.close()


async def test_it_attaches_and_detaches_with_ctrl_p_ctrl_q(shell_box, dk):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/attach/")
    await t.type("echo $((6*7))\n")
    await t.until(b"\r\n42\r\n")
    await t.ws.send_to(bytes_data=b"\x10\x11")
    status = await t.until_status()
    assert status["type"] == "detached"
    await t.close()
    assert (await asyncio.to_thread(dk.containers.get, shell_box.id)).status == "running"
    audit = await database_sync_to_async(
        lambda: list(AuditEntry.objects.filter(action="container.attach").order_by("pk"))
    )()
    assert [(e.target_name, e.result) for e in audit] == [
        (shell_box.name, "session opened"),
        (shell_box.name, "session closed"),
    ]


async def test_it_leaves_an_attached_container_running_when_the_page_closes(shell_box, dk):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/attach/")
    await t.type("echo $((6*7))\n")
    await t.until(b"\r\n42\r\n")
    await t.close()
    await asyncio.sleep(1)
    assert (await asyncio.to_thread(dk.containers.get, shell_box.id)).status == "running"
    # and its shell still answers on the next attach
    t = await open_terminal(f"/ws/containers/{shell_box.name}/attach/")
    await t.type("echo again-$((3*3))\n")
    await t.until(b"again-9\r\n")
    await t.close()


async def test_it_stops_an_attached_container_on_exit(shell_box, dk):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/attach/")
    await t.type("exit 7\n")
    status = await t.until_status()
    assert status["type"] == "exit"
    assert status["code"] == 7
    await t.close()
    deadline = time.monotonic() + 30  # the engine records the exit a moment after the process ends
    while (status := (await asyncio.to_thread(dk.containers.get, shell_box.id)).status) != "exited":
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)


async def test_it_follows_resizes_when_attached(shell_box):
    t = await open_terminal(f"/ws/containers/{shell_box.name}/attach/?cols=90&rows=20")
    await t.type("stty size\n")
    await t.until(b"20 90\r\n")
    await t.ws.send_to(text_data=json.dumps({"type": "resize", "cols": 120, "rows": 33}))
    await t.type("stty size\n")
    await t.until(b"33 120\r\n")
    await t.ws.send_to(bytes_data=b"\x10\x11")
    await t.until_status()
    await t.close()


async def test_it_explains_that_a_container_without_a_tty_cannot_be_attached(make_container):
    box = make_container(command="sleep 3600")
    t = await open_terminal(f"/ws/containers/{box.name}/attach/")
    status = await t.until_status()
    assert status["type"] == "error"
    assert "not created with -i -t" in status["message"]
    await t.close()


def test_it_renders_the_cli_equivalent():
    assert cli_equivalent("web", parse_exec_options()) == "docker exec -it web /bin/bash"
    opts = parse_exec_options("sh -c 'ls /'", "www-data:www-data", "/var/www")
    assert cli_equivalent("web", opts) == "docker exec -it -u www-data:www-data -w /var/www web sh -c 'ls /'"
    assert opts.cmd == ["sh", "-c", "ls /"]


@pytest.mark.parametrize(
    ("cmd", "user", "workdir", "message"),
    [
        ("sh -c 'unclosed", "", "", "check the quotes"),
        ("", "root;rm", "", "not a user"),
        ("", "", "relative/dir", "not an absolute path"),
    ],
)
def test_it_refuses_bad_exec_options(cmd, user, workdir, message):
    with pytest.raises(ValueError, match=message):
        parse_exec_options(cmd, user, workdir)
