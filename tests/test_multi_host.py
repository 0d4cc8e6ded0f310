"""Several Docker hosts on real engines (issue 10): each host's pages, actions and sockets reach
that host only; a host that dies is said so and holds up no other; the dashboard shows them all.

e2 (unix), e3 (TLS) and e2 over SSH are the shared extra engines of tests/engines.py; a host this
file kills is a PrivateEngine of its own. Everything made on an engine has this run's name prefix
and is removed after the test.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import docker
import pytest

from tests.conftest import RUN_ID, RUN_LABEL, TEST_LABEL, unique
from tests.faults import wait_for
from tests.test_run_form import form_data
from tests.websockets import communicator, session_cookie_for

BUSYBOX = "dockerpanel-test/busybox:latest"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def make_on():
    """make_on(client, name, command): a labelled busybox container on another engine, removed after."""
    made: list = []

    def make(client: docker.DockerClient, name: str, command: str, start: bool = True):
        labels = {TEST_LABEL: "1", RUN_LABEL: RUN_ID}
        box = client.containers.create(BUSYBOX, command, name=name, labels=labels)
        made.append(box)
        if start:
            box.start()
        box.reload()
        return box

    yield make
    for box in made:
        try:
            box.remove(force=True)
        except docker.errors.NotFound:
            pass


def _remove(client: docker.DockerClient, name: str) -> None:
    try:
        client.containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass


def _state(client: docker.DockerClient, name: str) -> str:
    return client.api.inspect_container(name)["State"]["Status"]


async def _stop_listeners(*names: str) -> None:
    from containers import events

    for name in names:
        await events.stop_listener(name)


# --- the same container name on two hosts ---------------------------------------------------


def test_the_same_name_on_two_hosts_is_shown_and_stopped_apart(operator_client, host_e2, dk, dk_e2, make_on):
    name = unique("same")
    local = make_on(dk, name, "sleep 3601")
    other = make_on(dk_e2, name, "sleep 3602")
    assert local.id != other.id

    here = operator_client.get("/hosts/local/containers/").content.decode()
    there = operator_client.get("/hosts/e2/containers/").content.decode()
    assert f'data-id="{local.id}"' in here
    assert f'data-id="{other.id}"' not in here
    assert f'data-id="{other.id}"' in there
    assert f'data-id="{local.id}"' not in there

    here = operator_client.get(f"/hosts/local/containers/{name}/").content.decode()
    there = operator_client.get(f"/hosts/e2/containers/{name}/").content.decode()
    assert local.id in here
    assert "sleep 3601" in here
    assert other.id not in here
    assert other.id in there
    assert "sleep 3602" in there
    assert local.id not in there

    r = operator_client.post(f"/hosts/e2/containers/{name}/stop/", {"timeout": "0"})
    assert r.status_code == 302
    assert r["Location"].startswith("/hosts/e2/")
    assert _state(dk_e2, name) == "exited"
    assert _state(dk, name) == "running"


# --- run, stop, logs and stats on the TLS and the SSH host ------------------------------------


async def _logs_say(host: str, name: str, text: str) -> str:
    ws = communicator(
        f"/ws/hosts/{host}/containers/{name}/logs/?follow=0&tail=all", await session_cookie_for("v", "viewer")
    )
    ok, _ = await ws.connect(timeout=30)
    assert ok
    try:
        seen = ""
        deadline = time.monotonic() + 60
        while text not in seen and time.monotonic() < deadline:
            seen += await ws.receive_from(timeout=max(deadline - time.monotonic(), 0.1))
        return seen
    finally:
        await ws.disconnect()


async def _a_stats_sample(host: str, name: str) -> dict:
    ws = communicator(f"/ws/hosts/{host}/containers/{name}/stats/", await session_cookie_for("v", "viewer"))
    ok, _ = await ws.connect(timeout=30)
    assert ok
    try:
        deadline = time.monotonic() + 60
        while True:
            message = await ws.receive_json_from(timeout=max(deadline - time.monotonic(), 0.1))
            assert message["type"] != "error", message
            if message["type"] == "sample":
                return message
    finally:
        await ws.disconnect()


@pytest.mark.parametrize(("host_fixture", "dk_fixture"), [("host_e3", "dk_e3"), ("host_e2ssh", "dk_e2")])
def test_run_stop_logs_and_stats_through_a_remote_host(admin_client, request, host_fixture, dk_fixture):
    host = request.getfixturevalue(host_fixture)
    dk_there = request.getfixturevalue(dk_fixture)
    name = unique("remote")
    request.addfinalizer(lambda: _remove(dk_there, name))
    hello = f"hello-{uuid.uuid4().hex[:8]}"

    r = admin_client.post(
        f"/hosts/{host.name}/containers/new/",
        form_data(image=BUSYBOX, name=name, command=f"sh -c 'echo {hello}; sleep 600'"),
    )
    assert r.status_code == 302, r.content.decode()[-2000:]
    assert r["Location"].startswith(f"/hosts/{host.name}/")
    wait_for(lambda: _state(dk_there, name) == "running", 60, f"{name} running on {host.name}")

    assert hello in asyncio.run(_logs_say(host.name, name, hello))
    sample = asyncio.run(_a_stats_sample(host.name, name))
    assert sample["usage"]
    assert sample["text"]

    r = admin_client.post(f"/hosts/{host.name}/containers/{name}/stop/", {"timeout": "0"})
    assert r.status_code == 302
    assert _state(dk_there, name) == "exited"
    page = admin_client.get(f"/hosts/{host.name}/containers/{name}/").content.decode()
    assert dk_there.containers.get(name).id in page


# --- events of one host refresh only that host's pages ---------------------------------------


async def _until_event_of(ws, box_id: str, seen: list[dict]) -> dict:
    deadline = time.monotonic() + 60
    while True:
        message = json.loads(await ws.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
        seen.append(message)
        if message.get("kind") == "engine" and message.get("id") == box_id:
            return message


def test_events_of_one_host_reach_only_that_hosts_pages(host_e2, dk, dk_e2, make_on):
    async def scenario():
        cookie = await session_cookie_for("v", "viewer")
        on_local, on_e2 = communicator("/ws/hosts/local/events/", cookie), communicator("/ws/hosts/e2/events/", cookie)
        assert (await on_local.connect(timeout=30))[0]
        assert (await on_e2.connect(timeout=30))[0]
        heard_local: list[dict] = []
        heard_e2: list[dict] = []
        try:
            here = await asyncio.to_thread(make_on, dk, unique("ev"), "sleep 600")
            await asyncio.to_thread(here.kill)
            assert (await _until_event_of(on_local, here.id, heard_local))["host"] == "local"
            there = await asyncio.to_thread(make_on, dk_e2, unique("ev"), "sleep 600")
            await asyncio.to_thread(there.kill)
            assert (await _until_event_of(on_e2, there.id, heard_e2))["host"] == "e2"
            # e2's page heard e2's container only; local's page, opened all along, never e2's
            assert not [m for m in heard_e2 if m.get("id") == here.id]
            assert not [m for m in heard_e2 if m.get("kind") == "engine" and m.get("host") not in (None, "e2")]
            while not await on_local.receive_nothing(timeout=0.5):
                heard_local.append(json.loads(await on_local.receive_from()))
            assert not [m for m in heard_local if m.get("id") == there.id]
            assert not [m for m in heard_local if m.get("kind") == "engine" and m.get("host") not in (None, "local")]
        finally:
            await on_local.disconnect()
            await on_e2.disconnect()
            await _stop_listeners("local", "e2")

    asyncio.run(scenario())


# --- a host killed while its pages are open ---------------------------------------------------


@pytest.fixture
def private_host(private_engine):
    from hosts.models import Host

    return Host.objects.create(name=f"p{uuid.uuid4().hex[:8]}", url=private_engine.url)


def test_a_killed_host_is_said_so_holds_up_no_other_and_is_used_again(admin_client, private_engine, private_host):
    dead = f"/hosts/{private_host.name}/containers/"
    assert admin_client.get(dead).status_code == 200

    async def socket_says_unreachable() -> float:
        ws = communicator(f"/ws/hosts/{private_host.name}/events/", await session_cookie_for("v", "viewer"))
        assert (await ws.connect(timeout=30))[0]
        try:
            await asyncio.to_thread(private_engine.kill)
            killed = time.monotonic()
            while True:
                message = json.loads(await ws.receive_from(timeout=max(killed + 15 - time.monotonic(), 0.1)))
                if message.get("kind") == "engine" and message.get("action") == "unreachable":
                    return time.monotonic() - killed
        finally:
            await ws.disconnect()
            await _stop_listeners(private_host.name)

    assert asyncio.run(socket_says_unreachable()) < 15

    started = time.monotonic()
    r = admin_client.get(dead)
    assert time.monotonic() - started < 15
    assert r.status_code == 503
    assert "cannot be reached" in r.content.decode()
    assert private_engine.url in r.content.decode()

    # the dead host's page asked for over and over meanwhile: the local host's pages answer as usual
    stop = threading.Event()
    from django.test import Client

    def hammer() -> None:
        other = Client()
        other.force_login(_user("admin"))
        while not stop.is_set():
            other.get(dead)

    worker = threading.Thread(target=hammer, daemon=True)
    worker.start()
    try:
        started = time.monotonic()
        r = admin_client.get("/hosts/local/containers/")
        elapsed = time.monotonic() - started
        assert r.status_code == 200
        assert elapsed < 5, f"the local host's page took {elapsed:.1f} s while another host was down"
    finally:
        stop.set()
        worker.join(60)

    private_engine.start()
    wait_for(lambda: admin_client.get(dead).status_code == 200, 60, "the host's page to work again")


def _user(username: str):
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


# --- the dashboard shows every host, one of them down -----------------------------------------


def test_the_dashboard_shows_every_host_and_answers_with_one_frozen(
    admin_client, host_e2, private_engine, private_host, settings
):
    settings.DOCKER_PAGE_TIMEOUT = 3
    r = admin_client.get("/")
    html = r.content.decode()
    assert r.status_code == 200
    for name in ("local", "e2", private_host.name):
        assert f'data-host="{name}" data-state="up"' in html
    assert f'href="/hosts/{private_host.name}/containers/"' in html

    private_engine.freeze()
    started = time.monotonic()
    r = admin_client.get("/")
    elapsed = time.monotonic() - started
    html = r.content.decode()
    assert r.status_code == 200
    assert elapsed < 3 + 5, f"the dashboard took {elapsed:.1f} s with one host frozen"
    assert f'data-host="{private_host.name}" data-state="down"' in html
    assert "is not answering" in html
    assert 'data-host="e2" data-state="up"' in html
    assert 'data-host="local" data-state="up"' in html

    private_engine.thaw()  # back: shown again at the next load, nothing cached
    wait_for(
        lambda: f'data-host="{private_host.name}" data-state="up"' in admin_client.get("/").content.decode(),
        60,
        "the thawed host on the dashboard",
    )


def test_the_dashboard_with_the_default_host_down_still_lists_the_others(admin_client, host_e2, settings):
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    r = admin_client.get("/")
    html = r.content.decode()
    assert r.status_code == 503
    assert "The Docker engine cannot be reached" in html
    assert 'data-host="local" data-state="down"' in html
    assert 'data-host="e2" data-state="up"' in html


# --- the host switcher ---------------------------------------------------------------------------


def test_the_switcher_lists_the_hosts_and_marks_this_one(viewer_client, host_e2):
    html = viewer_client.get("/hosts/e2/containers/").content.decode()
    assert 'action="/hosts/switch/"' in html
    assert '<option value="e2" selected aria-current="true">e2</option>' in html
    assert '<option value="local">local</option>' in html
    assert 'name="page" value="containers:list"' in html
    images = viewer_client.get("/hosts/e2/images/").content.decode()
    assert 'name="page" value="images:list"' in images
    assert "/hosts/switch/" not in viewer_client.get("/audit/").content.decode()  # not a host page


def test_the_switcher_leads_to_the_same_kind_of_page_on_the_chosen_host(viewer_client, host_e2, make_on, dk):
    box = make_on(dk, unique("sw"), "sleep 600")
    detail = viewer_client.get(f"/hosts/local/containers/{box.name}/").content.decode()
    assert 'name="page" value="containers:list"' in detail  # a container's page leads to the other's list
    r = viewer_client.get("/hosts/switch/", {"to": "e2", "page": "containers:list"})
    assert r.status_code == 302
    assert r["Location"] == "/hosts/e2/containers/"
    r = viewer_client.get("/hosts/switch/", {"to": "local", "page": "images:list"})
    assert r.status_code == 302
    assert r["Location"] == "/hosts/local/images/"


def test_the_switcher_refuses_an_unknown_host_or_page(viewer_client, host_e2):
    r = viewer_client.get("/hosts/switch/", {"to": "nowhere", "page": "containers:list"})
    assert r.status_code == 404
    assert "No such Docker host: nowhere" in r.content.decode()
    r = viewer_client.get("/hosts/switch/", {"to": "e2", "page": "accounts:users"})
    assert r.status_code == 400
    assert "Unknown page to switch to: accounts:users" in r.content.decode()
