"""Container logs: the page, the live websocket (tail, since, timestamps, stdout/stderr, follow,
floods) and the download, against real containers."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import AsyncClient

from containers import logs
from containers.watch import LogsConsumer
from tests.conftest import make_user
from tests.websockets import communicator, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_log(container, text: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while text.encode() not in container.logs():
        assert time.monotonic() < deadline, f"{text!r} never appeared in the logs"
        time.sleep(0.1)


def wait_for_log_end(container, last: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while container.logs(tail=1).strip() != last.encode():
        assert time.monotonic() < deadline, f"the log never ended with {last!r}"
        time.sleep(0.1)


async def open_logs(container, query: str = "", user: str = "viewer", role: str | None = "viewer"):
    ws = communicator(f"/ws/containers/{container.name}/logs/?{query}", await session_cookie_for(user, role))
    connected, _ = await ws.connect(timeout=30)  # a loaded machine may take seconds to accept
    assert connected
    return ws


async def read_lines(ws, until=None, wait: float = 10, seen=None) -> tuple[list[list[str]], int, bool]:
    """Lines (acknowledging each batch) until the log ends or `until(lines)` holds; also the
    dropped count and whether the log ended. Each message is added to `seen` if given."""
    lines: list[list[str]] = []
    dropped = 0
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out with {len(lines)} lines, last {lines[-3:]}"
        message = await ws.receive_json_from(timeout=left)
        if message["type"] == "end":
            return lines, dropped, True
        if seen is not None:
            seen.append(message)
        if message["type"] == "lines":
            lines.extend(message["lines"])
            dropped += message["dropped"]
            await ws.send_json_to({"type": "ack", "seq": message["seq"]})
            if until and until(lines):
                return lines, dropped, False


async def start_message(ws) -> dict:
    message = await ws.receive_json_from(timeout=10)
    assert message["type"] == "start", message
    return message


def texts(lines) -> list[str]:
    return [text for _stream, _stamp, text in lines]


# --- pages and refusals --------------------------------------------------------------------


def test_it_requires_login_for_the_logs_page(client, viewer_user, make_container):
    c = make_container()
    r = client.get(f"/containers/{c.name}/logs/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")
    assert client.get(f"/containers/{c.name}/logs/download/").status_code == 302


def test_it_refuses_the_logs_page_to_a_user_without_a_role(outsider_client, make_container):
    c = make_container()
    assert outsider_client.get(f"/containers/{c.name}/logs/").status_code == 403
    assert outsider_client.get(f"/containers/{c.name}/logs/download/").status_code == 403


def test_it_shows_the_logs_page_to_a_viewer(viewer_client, make_container):
    c = make_container()
    r = viewer_client.get(f"/containers/{c.short_id}/logs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'data-ref="{c.name}"' in html
    assert "js/logs." in html
    assert f"/containers/{c.name}/logs/download/" in html


def test_it_answers_404_for_an_unknown_container(viewer_client):
    assert viewer_client.get("/containers/dp-test-no-such-container/logs/").status_code == 404


async def test_it_closes_an_anonymous_logs_socket_with_4401(make_container):
    c = await sync_to_async(make_container)()
    ws = communicator(f"/ws/containers/{c.name}/logs/")
    connected, _ = await ws.connect(timeout=30)  # a loaded machine may take seconds to accept
    assert connected
    assert await ws.receive_output(timeout=30) == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()


async def test_it_closes_the_logs_socket_of_a_user_without_a_role_with_4403(make_container):
    c = await sync_to_async(make_container)()
    ws = await open_logs(c, user="outsider", role=None)
    assert await ws.receive_output(timeout=30) == {"type": "websocket.close", "code": 4403}
    await ws.disconnect()


async def test_it_explains_an_unknown_container_and_closes_with_4404():
    ws = communicator("/ws/containers/dp-test-nothing-here/logs/", await session_cookie_for("viewer", "viewer"))
    connected, _ = await ws.connect(timeout=30)  # a loaded machine may take seconds to accept
    assert connected
    message = await ws.receive_json_from(timeout=5)
    assert message["type"] == "error"
    assert "dp-test-nothing-here" in message["message"]
    assert await ws.receive_output(timeout=30) == {"type": "websocket.close", "code": 4404}
    await ws.disconnect()


async def test_it_explains_a_bad_tail_and_closes_with_4400(make_container):
    c = await sync_to_async(make_container)()
    ws = await open_logs(c, "tail=lots")
    message = await ws.receive_json_from(timeout=5)
    assert message == {"type": "error", "message": "tail must be a number of lines or 'all', not 'lots'"}
    assert await ws.receive_output(timeout=30) == {"type": "websocket.close", "code": 4400}
    await ws.disconnect()


# --- what the socket sends ---------------------------------------------------------------------


async def test_it_sends_the_last_lines_asked_for_with_tail(make_container):
    c = await sync_to_async(make_container)(command=["sh", "-c", "seq 1 1000; sleep 3600"])
    await sync_to_async(wait_for_log)(c, "1000\n")
    ws = await open_logs(c, "tail=10&follow=0")
    assert (await start_message(ws))["follow"] is False
    lines, dropped, ended = await read_lines(ws)
    assert ended
    assert dropped == 0
    assert texts(lines) == [str(n) for n in range(991, 1001)]
    await ws.disconnect()


async def test_it_defaults_to_the_last_500_lines(make_container):
    c = await sync_to_async(make_container)(command=["sh", "-c", "seq 1 800; sleep 3600"])
    await sync_to_async(wait_for_log)(c, "800\n")
    ws = await open_logs(c, "follow=0")
    await start_message(ws)
    lines, _, _ = await read_lines(ws)
    assert texts(lines) == [str(n) for n in range(301, 801)]
    await ws.disconnect()


async def test_it_tells_stdout_and_stderr_apart(make_container):
    c = await sync_to_async(make_container)(
        command=["sh", "-c", "echo to-out; echo to-err >&2; printf '\\033[31mred\\033[0m plain\\n'; sleep 3600"]
    )
    await sync_to_async(wait_for_log)(c, "plain")
    ws = await open_logs(c, "follow=0")
    assert (await start_message(ws))["tty"] is False
    lines, _, _ = await read_lines(ws)
    by_text = {text: stream for stream, _stamp, text in lines}
    assert by_text == {"to-out": "stdout", "to-err": "stderr", "\x1b[31mred\x1b[0m plain": "stdout"}
    await ws.disconnect()


async def test_it_shows_a_tty_container_as_one_stream(make_container):
    c = await sync_to_async(make_container)(command=["sh", "-c", "echo from-tty; echo also >&2; sleep 3600"], tty=True)
    await sync_to_async(wait_for_log)(c, "also")
    ws = await open_logs(c, "follow=0")
    assert (await start_message(ws))["tty"] is True
    lines, _, _ = await read_lines(ws)
    assert [(s, t) for s, _ts, t in lines] == [("stdout", "from-tty"), ("stdout", "also")]
    await ws.disconnect()


async def test_it_sends_timestamps_and_honours_since(make_container):
    c = await sync_to_async(make_container)(command=["sh", "-c", "echo early; sleep 2; echo late; sleep 3600"])
    await sync_to_async(wait_for_log)(c, "late")
    ws = await open_logs(c, "follow=0&timestamps=1")
    await start_message(ws)
    lines, _, _ = await read_lines(ws)
    await ws.disconnect()
    stamps = {text: stamp for _s, stamp, text in lines}
    assert set(stamps) == {"early", "late"}
    assert stamps["early"].startswith("20")
    assert stamps["early"].endswith("Z")
    # a moment between the two lines (printed two seconds apart), as a unix time
    between = logs.parse_since(stamps["early"], now=0) + 1
    ws = await open_logs(c, f"follow=0&since={between:.3f}")
    await start_message(ws)
    lines, _, _ = await read_lines(ws)
    assert texts(lines) == ["late"]
    await ws.disconnect()


async def test_it_follows_a_line_printed_after_connecting(make_container):
    script = "echo first; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo printed-after-connect; sleep 3600"
    c = await sync_to_async(make_container)(command=["sh", "-c", script])
    ws = await open_logs(c, "tail=all")
    assert (await start_message(ws))["follow"] is True
    lines, _, ended = await read_lines(ws, until=lambda lines: "first" in texts(lines))
    assert not ended
    await sync_to_async(c.exec_run)(["touch", "/tmp/go"])
    lines, _, ended = await read_lines(ws, until=lambda lines: "printed-after-connect" in texts(lines))
    assert texts(lines) == ["printed-after-connect"]
    await ws.disconnect()


async def test_it_ends_the_follow_when_the_container_stops(make_container):
    c = await sync_to_async(make_container)(command=["sh", "-c", "echo bye; sleep 1"])
    ws = await open_logs(c, "tail=all")
    await start_message(ws)
    lines, _, ended = await read_lines(ws, wait=20)
    assert ended
    assert texts(lines) == ["bye"]
    await ws.disconnect()


async def test_it_shows_a_line_that_is_not_utf8(make_container):
    # the local log driver keeps the bytes as printed (json-file would already replace them)
    c = await sync_to_async(make_container)(
        command=["sh", "-c", "printf 'caf\\351 \\377\\376 ok\\n'; echo next; sleep 3600"],
        log_config={"type": "local", "config": {}},
    )
    await sync_to_async(wait_for_log)(c, "next")
    ws = await open_logs(c, "follow=0")
    await start_message(ws)
    lines, _, _ = await read_lines(ws)
    assert texts(lines) == ["caf\ufffd \ufffd\ufffd ok", "next"]
    await ws.disconnect()


async def test_it_survives_a_flood_with_bounded_buffers_and_says_what_it_dropped(make_container, monkeypatch):
    monkeypatch.setattr(LogsConsumer, "STALL", 0.1)  # the page below is silent for 20 times that
    total = 300_000
    c = await sync_to_async(make_container)(
        command=["sh", "-c", f"seq 1 {total}; sleep 3600"],
        log_config={"type": "json-file", "config": {"max-size": "50m", "max-file": "1"}},
    )
    ws = await open_logs(c, "tail=all")
    await start_message(ws)
    # a page that stops reading: the server sends IN_FLIGHT batches, then waits for acks
    unacked = []
    for _ in range(LogsConsumer.IN_FLIGHT):
        unacked.append(await ws.receive_json_from(timeout=10))
    await asyncio.sleep(2)
    assert await ws.receive_nothing(timeout=0.5)
    shown = sum(len(m["lines"]) for m in unacked)
    dropped = sum(m["dropped"] for m in unacked)
    for m in unacked:
        await ws.send_json_to({"type": "ack", "seq": m["seq"]})
    seen = list(unacked)
    last = str(total)
    more, more_dropped, _ = await read_lines(ws, until=lambda lines: lines and lines[-1][2] == last, wait=60, seen=seen)
    shown += len(more)
    dropped += more_dropped
    await ws.disconnect()
    # every line was either shown or counted as dropped; the server never held more than BUFFER
    assert shown + dropped == total
    assert dropped > 0
    assert seen[LogsConsumer.IN_FLIGHT]["dropped"] > 0  # what the stalled page missed is counted
    assert max(m["buffered"] for m in seen) <= LogsConsumer.BUFFER
    assert max(len(m["lines"]) for m in seen) <= LogsConsumer.BATCH


async def test_it_sends_every_line_of_a_fast_log_in_order_while_the_page_acknowledges(make_container, monkeypatch):
    """The whole log read at disk speed: nothing is skipped while the page acknowledges."""
    monkeypatch.setattr(LogsConsumer, "STALL", 60)  # a loaded machine must not look like a stalled page
    total = 200_000
    c = await sync_to_async(make_container)(
        command=["sh", "-c", f"seq 1 {total}; sleep 3600"],
        log_config={"type": "json-file", "config": {"max-size": "50m", "max-file": "1"}},
    )
    await sync_to_async(wait_for_log_end)(c, str(total))
    ws = await open_logs(c, "tail=all&follow=0")
    await start_message(ws)
    lines, dropped, ended = await read_lines(ws, wait=120)
    await ws.disconnect()
    assert ended
    assert dropped == 0
    assert texts(lines) == [str(i) for i in range(1, total + 1)]


async def test_it_sends_a_flood_in_full_batches_while_earlier_ones_are_unacknowledged(make_container, monkeypatch):
    """The first batch leaves with whatever was read; until it is acknowledged only full ones follow."""
    monkeypatch.setattr(LogsConsumer, "STALL", 60)
    monkeypatch.setattr(LogsConsumer, "BATCH", 500)
    total = 50_000
    c = await sync_to_async(make_container)(
        command=["sh", "-c", f"seq 1 {total}; sleep 3600"],
        log_config={"type": "json-file", "config": {"max-size": "50m", "max-file": "1"}},
    )
    await sync_to_async(wait_for_log_end)(c, str(total))
    ws = await open_logs(c, "tail=all&follow=0")
    await start_message(ws)
    unacked = [await ws.receive_json_from(timeout=30) for _ in range(LogsConsumer.IN_FLIGHT)]
    assert [len(m["lines"]) for m in unacked[1:]] == [500] * (LogsConsumer.IN_FLIGHT - 1)
    lines = [line for m in unacked for line in m["lines"]]
    for m in unacked:
        await ws.send_json_to({"type": "ack", "seq": m["seq"]})
    more, dropped, ended = await read_lines(ws, wait=120)
    await ws.disconnect()
    assert ended
    assert dropped == 0
    assert texts(lines + more) == [str(i) for i in range(1, total + 1)]


async def test_it_follows_a_fast_producer_without_skipping_while_the_page_acknowledges(make_container, monkeypatch):
    monkeypatch.setattr(LogsConsumer, "STALL", 60)
    total = 200_000
    c = await sync_to_async(make_container)(
        command=["sh", "-c", f"echo ready; while [ ! -e /tmp/go ]; do sleep 0.05; done; seq 1 {total}; sleep 3600"],
        log_config={"type": "json-file", "config": {"max-size": "50m", "max-file": "1"}},
    )
    await sync_to_async(wait_for_log)(c, "ready")
    ws = await open_logs(c, "tail=all")
    await start_message(ws)
    await read_lines(ws, until=lambda lines: texts(lines) == ["ready"])
    await sync_to_async(c.exec_run)(["touch", "/tmp/go"])
    more, dropped, _ = await read_lines(ws, until=lambda lines: lines and lines[-1][2] == str(total), wait=120)
    await ws.disconnect()
    assert dropped == 0
    assert texts(more) == [str(i) for i in range(1, total + 1)]


# --- download ------------------------------------------------------------------------------


async def download(path: str) -> tuple[int, dict, bytes]:
    user = await User.objects.filter(username="viewer").afirst() or await sync_to_async(make_user)("viewer", "viewer")
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get(path)
    if not response.streaming:
        return response.status_code, response.headers, response.content
    body = b"".join([chunk async for chunk in response.streaming_content])
    return response.status_code, response.headers, body


async def test_it_downloads_every_line_of_the_log(make_container):
    c = await sync_to_async(make_container)(
        command=["sh", "-c", "seq 1 50000; echo on-stderr >&2; seq 50001 60000; sleep 3600"]
    )
    await sync_to_async(wait_for_log)(c, "60000\n", timeout=30)
    status, headers, body = await download(f"/containers/{c.name}/logs/download/")
    assert status == 200
    assert headers["Content-Disposition"].startswith(f'attachment; filename="{c.name}-')
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = body.decode().splitlines()
    assert [line for line in lines if line != "on-stderr"] == [str(n) for n in range(1, 60001)]
    assert "on-stderr" in lines


async def test_it_downloads_with_timestamps_and_since(make_container):
    c = await sync_to_async(make_container)(command=["sh", "-c", "echo one; echo two; sleep 3600"])
    await sync_to_async(wait_for_log)(c, "two")
    status, _, body = await download(f"/containers/{c.name}/logs/download/?timestamps=1")
    assert status == 200
    first, second = body.decode().splitlines()
    assert logs.split_timestamp(first)[1] == "one"
    assert logs.split_timestamp(second)[1] == "two"
    status, _, body = await download(f"/containers/{c.name}/logs/download/?since=2999-01-01T00:00:00Z")
    assert (status, body) == (200, b"")


async def test_it_refuses_a_bad_since_in_the_download(make_container):
    c = await sync_to_async(make_container)()
    status, _, body = await download(f"/containers/{c.name}/logs/download/?since=yesterday")
    assert status == 400
    assert b"since must be" in body


async def test_it_keeps_following_a_log_that_is_quiet_for_longer_than_the_engine_timeout(make_container, settings):
    settings.DOCKER_TIMEOUT = 1
    script = "echo before; sleep 3; echo after the quiet; sleep 3600"
    c = await sync_to_async(make_container)(command=["sh", "-c", script])
    ws = await open_logs(c, "tail=all")
    await start_message(ws)
    lines, _, ended = await read_lines(ws, until=lambda lines: "after the quiet" in texts(lines), wait=20)
    assert not ended
    assert texts(lines) == ["before", "after the quiet"]
    await ws.disconnect()


def engine_stream_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "engine-stream")


async def test_it_releases_the_engine_stream_when_the_page_goes_away(make_container):
    c = await sync_to_async(make_container)(command=["sh", "-c", "echo hello; sleep 3600"])
    before = engine_stream_threads()
    ws = await open_logs(c, "tail=all")
    await start_message(ws)
    await read_lines(ws, until=lambda lines: "hello" in texts(lines))
    assert engine_stream_threads() == before + 1
    await ws.disconnect()
    deadline = time.monotonic() + 5
    while engine_stream_threads() > before:
        assert time.monotonic() < deadline, "the reader thread still holds the engine stream"
        await asyncio.sleep(0.05)


def test_it_answers_405_to_a_post_and_404_to_a_download_of_an_unknown_container(viewer_client, make_container):
    c = make_container()
    assert viewer_client.post(f"/containers/{c.name}/logs/").status_code == 405
    assert viewer_client.post(f"/containers/{c.name}/logs/download/").status_code == 405
    assert viewer_client.get("/containers/dp-test-no-such-container/logs/download/").status_code == 404
