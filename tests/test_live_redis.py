"""Live updates across several daphne processes sharing Redis (REDIS_URL, channels_redis) and one
database: every process runs a listener, only the one holding the Redis lease publishes, so each
browser gets every change once, whichever process it is connected to; another takes over when the
leader dies, resuming from the leader's cursor."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time

import pytest
import redis
import websockets

from containers.events import lease_key
from tests.conftest import PASSWORD
from tests.live import PanelServer, RedisServer, login_session


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_panels(redis_server):
    """Processes A and B: one data folder (SQLite database, secret key), one Redis.

    Shared by the tests of this module (starting them takes seconds); the last test stops B."""
    shared = tempfile.TemporaryDirectory(prefix="dockerpanel-shared-")
    env = {"DOCKERPANEL_DATA": shared.name, "REDIS_URL": redis_server.url}
    a = PanelServer(extra_env=env).start()
    b = PanelServer(extra_env=env)
    try:
        b.start()
        a.add_user("alice", PASSWORD, "admin")
        a.add_user("bob", PASSWORD, "viewer")
        yield a, b
    finally:
        for name, server in (("A", a), ("B", b)):
            if server.log.exists():
                print(f"--- daphne {name} log ---\n{server.log.read_text()}")  # shown when a test fails
        b.stop()
        a.stop()
        shared.cleanup()
        redis.Redis.from_url(redis_server.url).flushall()


def origin_of(server: PanelServer) -> str:
    import socket

    return f"{socket.gethostname()}:{server.proc.pid}"


def leader(redis_url: str) -> str:
    value = redis.Redis.from_url(redis_url).get(lease_key("local"))
    return value.decode().rsplit(":", 1)[0] if value else ""


def wait_for(condition, within: float, what: str):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {within} s")


async def open_socket(server: PanelServer, cookie: str):
    return await websockets.connect(
        server.url.replace("http", "ws") + "/ws/events/",
        additional_headers={"Cookie": cookie},
        origin=server.url,
        open_timeout=10,
    )


async def messages(ws, within: float, about: str = "", kind: str = "engine", until=None) -> list[dict]:
    """Messages of `kind` (about container `about`) for `within` seconds or up to one matching `until`."""
    found = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if message.get("kind") == kind and (not about or message.get("id") == about):
            found.append(message)
            if until and until(message):
                break
    return found


async def test_it_sends_a_change_published_by_process_b_to_a_client_of_process_a_once(
    two_panels, redis_server, make_container
):
    a, b = two_panels
    container = await asyncio.to_thread(make_container)
    _, alice_cookie = await asyncio.to_thread(login_session, a, "alice", PASSWORD)
    _, bob_cookie = await asyncio.to_thread(login_session, b, "bob", PASSWORD)
    # B's first socket starts B's listener, which takes the lease; then A's listener stands by.
    on_b = await open_socket(b, bob_cookie)
    on_a = None
    try:
        await asyncio.to_thread(wait_for, lambda: leader(redis_server.url) == origin_of(b), 10, "B leading")
        on_a = await open_socket(a, alice_cookie)
        await asyncio.sleep(0.5)  # A's listener has started and found B leading

        await asyncio.to_thread(container.kill)
        started = time.monotonic()  # the container is stopped: from now on, a second at most
        got_a = await messages(on_a, 1.0, about=container.id, until=lambda m: m["action"] == "die")
        assert time.monotonic() - started < 1.0
        assert got_a, "client of A got nothing"
        assert got_a[-1]["action"] == "die"
        assert {m["origin"] for m in got_a} == {origin_of(b)}
        # once each, on both processes: no copy per listener
        got_a += await messages(on_a, 1.5, about=container.id)
        got_b = await messages(on_b, 1.0, about=container.id)
        keys_a = [m["key"] for m in got_a]
        assert len(keys_a) == len(set(keys_a))
        assert sorted(keys_a) == sorted(m["key"] for m in got_b)

        # exec noise reaches nobody
        await asyncio.to_thread(container.start)
        await messages(on_a, 1.0, about=container.id, until=lambda m: m["action"] == "start")
        await asyncio.to_thread(container.exec_run, "true")
        assert await messages(on_a, 1.5, about=container.id) == []
    finally:
        if on_a:
            await on_a.close()
        await on_b.close()


async def test_it_shows_a_panel_action_on_process_b_to_a_client_of_process_a(two_panels):
    a, b = two_panels
    _, bob_cookie = await asyncio.to_thread(login_session, a, "bob", PASSWORD)
    alice, _ = await asyncio.to_thread(login_session, b, "alice", PASSWORD)
    on_a = await open_socket(a, bob_cookie)
    try:

        def add_user():
            import re
            import urllib.parse

            page = alice.open(b.url + "/users/", timeout=10).read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
            form = {"csrfmiddlewaretoken": token, "username": "carol", "role": "viewer"}
            form |= {"password1": "a-new-Passphrase-4711", "password2": "a-new-Passphrase-4711"}
            alice.open(b.url + "/users/add/", data=urllib.parse.urlencode(form).encode(), timeout=10)

        await asyncio.to_thread(add_user)
        toasts = await messages(on_a, 2.0, kind="panel", until=lambda m: True)
        assert [m["text"] for m in toasts] == ["alice added user carol (viewer)"]
    finally:
        await on_a.close()


async def test_it_hands_the_listener_over_when_the_leader_dies(two_panels, redis_server, make_container):
    a, b = two_panels
    container = await asyncio.to_thread(make_container)
    _, on_a_cookie = await asyncio.to_thread(login_session, a, "bob", PASSWORD)
    _, on_b_cookie = await asyncio.to_thread(login_session, b, "bob", PASSWORD)
    on_b = await open_socket(b, on_b_cookie)
    await asyncio.to_thread(wait_for, lambda: leader(redis_server.url) == origin_of(b), 10, "B leading")
    on_a = await open_socket(a, on_a_cookie)
    try:
        await asyncio.sleep(0.5)
        # renames, not pause/unpause: dockerd may log those twice (see test_live_updates)
        name = container.name
        await asyncio.to_thread(container.rename, name + "-a")
        renamed = await messages(on_a, 10.0, about=container.id, until=lambda m: m["action"] == "rename")
        assert renamed, "client of A got nothing"
        assert renamed[-1]["origin"] == origin_of(b)
        await on_b.close()
        await asyncio.to_thread(b.stop)
        # a change while nobody leads is not lost: A resumes from B's cursor in Redis
        await asyncio.to_thread(container.rename, name + "-b")
        got = await messages(on_a, 20.0, about=container.id, until=lambda m: m["action"] == "rename")
        # and the first rename is not repeated
        assert [(m["action"], m["name"]) for m in got] == [("rename", name + "-b")]
        assert got[0]["origin"] == origin_of(a)
        assert leader(redis_server.url) == origin_of(a)
    finally:
        await on_a.close()
