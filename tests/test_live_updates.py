"""Live updates over /ws/events/ with the in-memory channel layer: engine changes, whoever made them,
reach every open page within a second; exec noise does not; panel actions come with a sentence."""

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from containers import audit, engine, events
from tests.websockets import communicator, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _stop_listener():
    yield
    await events.stop_listener()


async def connected(username: str = "viewer", role: str = "viewer"):
    ws = communicator("/ws/events/", await session_cookie_for(username, role))
    ok, _ = await ws.connect()
    assert ok
    return ws


async def messages_about(ws, container_id: str, within: float, until_action: str = "") -> list[dict]:
    """Messages about `container_id` (others come from parallel tests) for `within` seconds, or up
    to the first with `until_action`. (A communicator's receive timeout would kill the consumer.)"""
    found = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        if await ws.receive_nothing(timeout=left, interval=0.005):
            break
        message = await ws.receive_json_from()
        if message.get("id") == container_id:
            found.append(message)
            if message.get("action") == until_action:
                break
    return found


async def next_for(ws, container_id: str, action: str, within: float = 1.0) -> dict:
    """The first message about `container_id` and `action` within `within` seconds."""
    found = await messages_about(ws, container_id, within, until_action=action)
    assert found, f"nothing about {container_id} within {within} s"
    assert found[-1]["action"] == action, f"no {action} of {container_id} within {within} s: {found}"
    return found[-1]


async def test_it_sends_a_container_stopped_with_the_sdk_to_two_clients_within_a_second(make_container):
    container = await asyncio.to_thread(make_container)
    alice = await connected("alice", "viewer")
    bob = await connected("bob", "operator")
    try:
        await asyncio.to_thread(container.kill)
        started = time.monotonic()  # the container is stopped: from now on, a second at most
        first = await next_for(alice, container.id, "die")
        second = await next_for(bob, container.id, "die")
        assert time.monotonic() - started < 1.0
        assert first == second
        assert first["kind"] == "engine"
        assert first["type"] == "container"
        assert first["name"] == container.name
        assert first["origin"] == events.ORIGIN
    finally:
        await alice.disconnect()
        await bob.disconnect()


async def test_it_runs_one_listener_for_all_sockets():
    alice = await connected("alice", "viewer")
    bob = await connected("bob", "viewer")
    try:
        first = events.ensure_listener()
        assert events.ensure_listener() is first
        assert not first.task.done()
    finally:
        await alice.disconnect()
        await bob.disconnect()


async def test_it_ignores_exec_noise(make_container):
    container = await asyncio.to_thread(make_container)
    ws = await connected()
    try:
        await asyncio.to_thread(container.exec_run, "true")
        await asyncio.to_thread(container.exec_run, "sh -c 'exit 3'")
        assert await messages_about(ws, container.id, within=1.5) == []
        # the socket still works: a real change comes through
        await asyncio.to_thread(container.pause)
        assert (await next_for(ws, container.id, "pause"))["name"] == container.name
    finally:
        await ws.disconnect()
        await asyncio.to_thread(container.unpause)


async def test_it_sends_a_health_change_but_not_the_health_check_execs(make_container):
    ws = await connected()
    try:
        probe = {"test": ["CMD", "true"], "interval": 300_000_000, "start_period": 0}
        container = await asyncio.to_thread(make_container, healthcheck=probe)
        healthy = await next_for(ws, container.id, "health_status: healthy", within=30.0)
        assert healthy["type"] == "container"
        # a probe every 0.3 s, each an exec_create/exec_start/exec_die: none of them is sent
        assert await messages_about(ws, container.id, within=1.5) == []
    finally:
        await ws.disconnect()


async def test_it_reconnects_with_since_without_losing_or_repeating_events(make_container):
    # Renames, not pause/unpause: dockerd logs a second pause or unpause of its own when containerd
    # reports the change late (moby daemon/monitor.go), so those can really come twice.
    container = await asyncio.to_thread(make_container)
    ws = await connected()
    try:
        await asyncio.to_thread(container.rename, container.name + "-a")
        await next_for(ws, container.id, "rename", within=10.0)
        listener = events.ensure_listener()
        # The stream breaks as when the engine restarts; a change happens before the reconnect.
        listener.close_stream()
        await asyncio.to_thread(container.rename, container.name + "-b")
        got = await messages_about(ws, container.id, within=10.0, until_action="rename")
        got += await messages_about(ws, container.id, within=2.0)
        assert [(m["action"], m["name"]) for m in got] == [("rename", container.name + "-b")]
    finally:
        await ws.disconnect()


async def test_it_closes_a_stream_that_opens_as_the_listener_stops(monkeypatch):
    """The stream opens in a thread while the loop is busy; stopping then must still close it."""
    reading, finished = threading.Event(), threading.Event()

    class Watched(engine.EventStream):
        def __iter__(self):
            reading.set()
            try:
                yield from super().__iter__()
            finally:
                finished.set()

    local = engine.default_engine()
    monkeypatch.setattr(local, "events", lambda since=None: Watched(local, since))
    events.ensure_listener()
    while not reading.is_set():  # let the listener start its thread...
        await asyncio.sleep(0.01)
        if reading.wait(0.5):  # ...then hold the loop, so it has not yet taken the new stream
            break
    await events.stop_listener()  # runs to its end without giving the loop a turn
    assert finished.wait(10), "the stream that opened as the listener stopped is still being read"


async def test_it_toasts_a_panel_action_with_who_did_it(make_container):
    ws = await connected()
    try:
        alice = await database_sync_to_async(lambda: User.objects.create_user("alice"))()
        await database_sync_to_async(audit.record)(None, "container.stop", user=alice, target_name="web")
        while (message := await ws.receive_json_from(timeout=2))["kind"] != "panel":
            pass  # engine events from other tests sharing the engine
        assert message == {
            "kind": "panel",
            "user": "alice",
            "action": "container.stop",
            "target": "web",
            "host": "",  # recorded outside any host's page
            "text": "alice stopped web",
        }
    finally:
        await ws.disconnect()


async def test_it_toasts_an_attempt_once_its_outcome_is_stored():
    """Actions are recorded as attempts before the engine is asked: the toast comes with the outcome."""
    ws = await connected()
    try:
        alice = await database_sync_to_async(lambda: User.objects.create_user("alice"))()

        def stop_web():
            with audit.attempt(None, "container.stop", user=alice, target_name="web") as entry:
                entry.result = "docker stop web"

        await database_sync_to_async(stop_web)()
        while (message := await ws.receive_json_from(timeout=2))["kind"] != "panel":
            pass  # engine events from other tests sharing the engine
        assert message["text"] == "alice stopped web"
        later = []  # once: not for the attempt as well
        deadline = time.monotonic() + 0.5
        while (left := deadline - time.monotonic()) > 0 and not await ws.receive_nothing(timeout=left):
            later.append(await ws.receive_json_from())
        assert [m for m in later if m["kind"] == "panel"] == []
    finally:
        await ws.disconnect()


async def test_it_keeps_failed_and_refused_actions_out_of_the_toasts():
    ws = await connected()
    try:
        alice = await database_sync_to_async(lambda: User.objects.create_user("alice"))()
        await database_sync_to_async(audit.record)(
            None, "container.stop", user=alice, target_name="web", ok=False, result="No such container"
        )
        await database_sync_to_async(audit.record)(None, "permission.denied", user=alice, ok=False)
        await database_sync_to_async(audit.record)(None, "container.start", user=alice, target_name="web")
        # the first panel message is the successful start: the failure and refusal were not sent
        while (message := await ws.receive_json_from(timeout=2))["kind"] != "panel":
            pass
        assert message["text"] == "alice started web"
    finally:
        await ws.disconnect()


@pytest.mark.parametrize(
    ("action", "params", "text"),
    [
        ("container.start", {}, "alice started web"),
        ("container.restart", {}, "alice restarted web"),
        ("container.unpause", {}, "alice unpaused web"),
        ("container.remove", {}, "alice removed web"),
        ("container.run", {}, "alice ran web"),
        ("container.create", {}, "alice created web"),
        ("container.rename", {}, "alice renamed web"),
        ("image.pull", {}, "alice pulled web"),
        ("image.remove", {}, "alice removed image web"),
        ("image.tag", {}, "alice tagged image web"),
        ("deploy.apache", {}, "alice deployed the Apache demo as web"),
        ("user.role", {"role": "operator"}, "alice made web an operator"),
        ("user.deactivate", {}, "alice deactivated web"),
    ],
)
def test_it_writes_a_sentence_for_each_action(action, params, text):
    assert events.sentence("alice", action, "web", params) == text


def test_it_keeps_exec_and_attach_events_out():
    base = {"Type": "container", "Actor": {"ID": "abc", "Attributes": {"name": "web"}}, "timeNano": 1}
    for noise in ("exec_create: sh -c true", "exec_start: sh -c true", "exec_die", "attach", "resize"):
        assert engine.event_of({**base, "Action": noise}) is None
    assert engine.event_of({**base, "Action": "stop"})["name"] == "web"


def test_it_drops_events_already_published():
    cursor = events.Cursor(100)
    a = {"time_nano": 100, "id": "a", "action": "stop"}
    b = {"time_nano": 100, "id": "b", "action": "stop"}
    assert cursor.is_new(a)
    assert not cursor.is_new(a)
    assert cursor.is_new(b)
    assert not cursor.is_new({"time_nano": 99, "id": "c", "action": "stop"})
    assert cursor.is_new({"time_nano": 101, "id": "a", "action": "stop"})
    assert not events.Cursor.loads(cursor.dumps()).is_new({"time_nano": 101, "id": "a", "action": "stop"})


def test_it_serves_the_dashboard_counters_as_a_fragment_that_refreshes_on_changes(viewer_client):
    page = viewer_client.get("/").content.decode()
    assert 'hx-trigger="engine-changed from:body"' in page
    assert "js/live." in page  # live.js is on every page of a logged-in user
    r = viewer_client.get("/", headers={"HX-Request": "true"})
    assert r.status_code == 200
    fragment = r.content.decode()
    assert fragment.lstrip().startswith('<section id="dashboard-counts"')
    assert "<html" not in fragment
    assert 'hx-get="/"' in fragment
    assert 'data-count="running"' in fragment


def test_it_leaves_live_js_out_for_anonymous_visitors(client, admin_user):
    assert "js/live." not in client.get("/accounts/login/").content.decode()


class EngineProxy:
    """Stands between the panel and the engine's socket, so a test can take the engine away and back
    (as an engine restart does) without touching the engine other tests share."""

    def __init__(self, path: str, target: str):
        self.path, self.target = path, target
        self.server = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_unix_server(self.handle, self.path)

    async def handle(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.target)
        self.writers += [writer, up_writer]

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        self.server.close()
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await self.server.wait_closed()


async def test_it_follows_the_engine_through_a_restart_without_losing_or_repeating_events(
    make_container, settings, tmp_path
):
    target = engine.default_engine().address
    assert target.startswith("unix://"), "this test proxies the engine's unix socket"
    proxy = EngineProxy(str(tmp_path / "engine.sock"), target.removeprefix("unix://"))
    await proxy.start()
    settings.DOCKER_HOST = f"unix://{proxy.path}"
    container = await asyncio.to_thread(make_container)
    name = container.name
    ws = await connected()
    try:
        await asyncio.to_thread(container.rename, name + "-a")
        await next_for(ws, container.id, "rename", within=10.0)
        await proxy.stop()  # the engine goes away...
        engine_news = []
        while not any(m.get("action") == "unreachable" for m in engine_news):
            engine_news.append(await ws.receive_json_from(timeout=15))
        await asyncio.to_thread(container.rename, name + "-b")  # ...something changes meanwhile...
        await proxy.start()  # ...and it is back
        got = await messages_about(ws, container.id, within=20.0, until_action="rename")
        # the change made while away, once; the rename before it is not repeated
        assert [(m["action"], m["name"]) for m in got] == [("rename", name + "-b")]
        assert await messages_about(ws, container.id, within=1.0) == []
    finally:
        await ws.disconnect()
        await events.stop_listener()
        await proxy.stop()
