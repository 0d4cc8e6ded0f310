"""Engine faults injected for real: a private dockerd killed (SIGKILL) or frozen (SIGSTOP), and a
fake engine socket that cuts or stalls its streams. Pages, streams and sockets say what happened,
end cleanly, and leave an audit entry; nothing hangs and the server process keeps serving."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import docker.errors
import pytest
import requests.exceptions
import urllib3.exceptions
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import AsyncClient

from containers import engine
from tests.conftest import BUSYBOX, PASSWORD, make_user
from tests.faults import FakeEngine, wait_for
from tests.live import PanelServer, login_session
from tests.websockets import communicator, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_engine(private_engine):
    """The private dockerd of tests/conftest.py, with the busybox test image."""
    private_engine.load_busybox(BUSYBOX)
    return private_engine


@pytest.fixture
def truncating_engine():
    fake = FakeEngine("truncate")
    yield fake
    fake.close()


@pytest.fixture
def stalling_engine():
    fake = FakeEngine("stall")
    yield fake
    fake.close()


# --- every failure mode is an engine error (pure translation of real exception objects) ---------


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (urllib3.exceptions.ProtocolError("Connection broken", urllib3.exceptions.IncompleteRead(10, 90)), "lost"),
        (requests.exceptions.ChunkedEncodingError(urllib3.exceptions.ProtocolError("Connection broken")), "lost"),
        (requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer")), "lost"),
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=10)"), "timeout"),
        (urllib3.exceptions.ReadTimeoutError(None, "/containers/json", "Read timed out."), "timeout"),
        (requests.exceptions.SSLError("certificate verify failed"), "unreachable"),
        (requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused")), "unreachable"),
        (docker.errors.TLSParameterError("Path to a certificate and key files must be provided"), "unreachable"),
    ],
)
def test_it_turns_every_transport_failure_into_an_engine_error(raised, kind):
    error = engine.default_engine().translate(raised)
    assert isinstance(error, engine.EngineUnavailable)
    assert error.kind == kind
    assert engine.default_engine().address in str(error)


# --- the engine lost in the middle of a streamed answer ------------------------------------------


def _post_ndjson(opener, server: PanelServer, path: str, data: dict, timeout: float = 60) -> list[dict]:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(server.url + path, data=body, headers={"Accept": "application/x-ndjson"})
    with opener.open(request, timeout=timeout) as response:
        return [json.loads(line) for line in response.read().decode().splitlines()]


def _audit_rows(server: PanelServer, action: str) -> list[tuple]:
    with sqlite3.connect(Path(server.data_dir) / "db.sqlite3") as db:
        return db.execute(
            "SELECT state, ok, result FROM containers_auditentry WHERE action = ? ORDER BY id", (action,)
        ).fetchall()


@pytest.fixture
def panel_on_truncating_engine(truncating_engine):
    server = PanelServer(extra_env={"DOCKER_HOST": truncating_engine.url, "DOCKER_PAGE_TIMEOUT": "10"}).start()
    server.add_user("admin", PASSWORD, "admin")
    yield server
    server.stop()


def test_it_ends_a_pull_cut_off_by_the_engine_with_an_error_event_and_an_audit_entry(panel_on_truncating_engine):
    server = panel_on_truncating_engine
    opener, _ = login_session(server, "admin", PASSWORD)
    csrf = _csrf(opener, server)
    for attempt in range(3):  # the server process keeps serving after each cut stream
        events = _post_ndjson(
            opener, server, "/images/pull/", {"reference": f"busybox:cut{attempt}", "csrfmiddlewaretoken": csrf}
        )
        assert events[0]["type"] == "start"
        assert any(e["type"] == "progress" for e in events), events
        assert events[-1]["type"] == "error", events
        assert "was lost" in events[-1]["message"]
    run_pull = _post_ndjson(
        opener, server, "/containers/new/pull/", {"image": "busybox:cut", "csrfmiddlewaretoken": csrf}
    )
    assert run_pull[-1]["type"] == "error"
    assert "was lost" in run_pull[-1]["message"]
    rows = _audit_rows(server, "image.pull")
    assert len(rows) == 4
    assert all(state == "done" and not ok and "was lost" in result for state, ok, result in rows), rows
    with opener.open(server.url + "/healthz", timeout=10) as r:  # logged in: with the details
        assert json.loads(r.read())["database"] == "ok"


def _csrf(opener, server: PanelServer) -> str:
    jar = next(h.cookiejar for h in opener.handlers if hasattr(h, "cookiejar"))
    return next(c.value for c in jar if c.name == "csrftoken")


async def test_it_marks_a_log_download_cut_off_by_the_engine_as_incomplete(truncating_engine, settings):
    settings.DOCKER_HOST = truncating_engine.url
    user = await sync_to_async(make_user)("viewer", "viewer")
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get("/containers/fake/logs/download/")
    assert response.status_code == 200
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert body.startswith("hello\n")
    assert body.rstrip().endswith("]")
    assert "[DockerPanel: this download is incomplete: The connection to the Docker engine" in body
    entry = await sync_to_async(lambda: list(_entries("logs.download")))()
    assert [(e.ok, e.target_name) for e in entry] == [(False, "fake")]


def _entries(action: str):
    from containers.models import AuditEntry

    return AuditEntry.objects.filter(action=action)


async def test_it_tells_a_followed_log_that_the_engine_was_lost_not_that_the_log_ended(private_engine, settings):
    settings.DOCKER_HOST = private_engine.url
    made = private_engine.docker("run", "-d", "--name", "dp14-follow", BUSYBOX, "sh", "-c", "echo hello; sleep 3600")
    assert made.returncode == 0, made.stderr
    ws = communicator("/ws/containers/dp14-follow/logs/?tail=all", await session_cookie_for("viewer", "viewer"))
    connected, _ = await ws.connect(timeout=30)
    assert connected
    assert (await ws.receive_json_from(timeout=30))["type"] == "start"
    seen = []
    while not any("hello" in line[2] for m in seen if m["type"] == "lines" for line in m["lines"]):
        seen.append(await ws.receive_json_from(timeout=30))
        if seen[-1]["type"] == "lines":
            await ws.send_json_to({"type": "ack", "seq": seen[-1]["seq"]})
    await sync_to_async(private_engine.kill)()
    message = await ws.receive_json_from(timeout=30)
    assert message["type"] == "lost", message
    assert "was lost" in message["message"]
    await ws.disconnect()


# --- a hung engine: pages answer quickly, long work cannot starve the short -------------------------


def test_it_says_a_frozen_engine_is_not_answering_within_the_page_timeout(private_engine, admin_client, settings):
    settings.DOCKER_HOST = private_engine.url
    settings.DOCKER_PAGE_TIMEOUT = 2
    assert admin_client.get("/containers/").status_code == 200
    private_engine.freeze()
    try:
        started = time.monotonic()
        r = admin_client.get("/containers/")
        took = time.monotonic() - started
    finally:
        private_engine.thaw()
    assert r.status_code == 503
    assert "The Docker engine is not answering" in r.content.decode()
    assert "DOCKER_PAGE_TIMEOUT" in r.content.decode()
    assert took < 30  # bounded by the page timeout (2 s a call), not DOCKER_TIMEOUT or forever
    engine.default_engine().forget_clients()
    assert admin_client.get("/containers/").status_code == 200  # recovers by itself


async def test_it_opens_log_sockets_while_stalled_pulls_fill_the_long_pool(stalling_engine, settings, make_container):
    settings.DOCKER_HOST = stalling_engine.url
    ref = engine.parse_image_reference("busybox:stalled")
    pulls = 2 * settings.DOCKER_LONG_WORKERS  # more than the long pool holds, and than cores + 4

    async def pull() -> str:
        try:
            async for _ in engine.default_engine().iterate_in_thread(lambda: engine.default_engine().pull(ref)):
                pass
        except engine.EngineError as e:
            return str(e)
        return "done"

    tasks = [asyncio.create_task(pull()) for _ in range(pulls)]
    await asyncio.to_thread(wait_for, lambda: len(stalling_engine.stalled) == pulls, 60, "every pull to stall")
    long_threads = [t for t in threading.enumerate() if t.name.startswith("engine-local-long")]
    assert len(long_threads) == settings.DOCKER_LONG_WORKERS  # bounded: the rest wait their turn
    settings.DOCKER_HOST = ""  # the real engine, for the socket's container
    c = await sync_to_async(make_container)(command=["sh", "-c", "echo ready; sleep 3600"])
    ws = communicator(f"/ws/containers/{c.name}/logs/?tail=all", await session_cookie_for("viewer", "viewer"))
    connected, _ = await ws.connect(timeout=30)
    assert connected
    assert (await ws.receive_json_from(timeout=30))["type"] == "start"
    await ws.disconnect()
    stalling_engine.close()  # the stalled pulls now fail, each with its own error
    results = await asyncio.wait_for(asyncio.gather(*tasks), 90)
    assert all(r != "done" for r in results)


async def test_it_records_and_reports_a_stop_while_the_engine_is_down(settings):
    settings.DOCKER_HOST = "unix:///nonexistent/dp14.sock"
    user = await sync_to_async(make_user)("operator", "operator")
    client = AsyncClient()
    await client.aforce_login(user)
    r = await client.post("/containers/web/stop/")
    assert r.status_code == 503
    entries = await sync_to_async(lambda: list(_entries("container.stop")))()
    assert [(e.ok, e.target_name, e.username) for e in entries] == [(False, "web", "operator")]
    assert "cannot be reached" in entries[0].result
    assert await User.objects.acount() == 1
