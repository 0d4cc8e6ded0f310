"""Pages that need no real Docker engine, on the fake one (tests/fake_engine.py): fast, and they
fail if the page reaches for a real engine."""

import pytest

from containers.models import AuditEntry
from tests.fake_engine import FakeEngine, RealEngineReached, installed

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def fake():
    with installed(FakeEngine("fake")) as engine:
        yield engine


def test_the_fake_engine_refuses_every_call_it_does_not_implement(fake):
    with pytest.raises(RealEngineReached):
        fake.list_images()


def test_a_hosts_list_shows_its_containers_as_docker_ps_does(viewer_client, fake):
    fake.add("web", image="nginx:1.27")
    fake.add("db", state="exited")
    html = viewer_client.get("/hosts/fake/containers/").content.decode()
    assert 'href="/hosts/fake/containers/web/"' in html
    assert "nginx:1.27" in html
    assert "Up 1 hour" in html
    assert "/hosts/fake/containers/db/" not in html  # docker ps without -a
    html = viewer_client.get("/hosts/fake/containers/", {"all": "1"}).content.decode()
    assert "Exited (0) 5 minutes ago" in html


def test_the_list_pages_hundreds_of_containers_on_the_server(viewer_client, fake):
    for i in range(250):
        fake.add(f"box-{i:03d}")
    html = viewer_client.get("/hosts/fake/containers/", {"sort": "names", "size": "100", "page": "3"}).content.decode()
    assert "box-200" in html
    assert "box-249" in html
    assert "box-199" not in html


def test_an_action_on_a_fake_host_reaches_that_engine_and_its_audit_entry_names_the_host(operator_client, fake):
    web = fake.add("web")
    r = operator_client.post("/hosts/fake/containers/web/stop/", {"timeout": "3"})
    assert r.status_code == 302
    assert r["Location"] == "/hosts/fake/containers/web/"
    assert fake.calls == [("stop", web)]
    assert fake.containers[web]["state"] == "exited"
    entry = AuditEntry.objects.get(action="container.stop")
    assert (entry.host, entry.target_name, entry.ok) == ("fake", "web", True)


def test_an_ambiguous_prefix_lists_the_matches(viewer_client, fake):
    fake.add("one")
    fake.add("two")
    ids = sorted(fake.containers)
    common = next(n for n in range(1, 64) if ids[0][:n] != ids[1][:n]) - 1
    if common >= 3:
        r = viewer_client.get(f"/hosts/fake/containers/{ids[0][:common]}/")
        assert r.status_code == 400
    r = viewer_client.get("/hosts/fake/containers/no-such-box/")
    assert r.status_code == 404
    assert "No such container: no-such-box" in r.content.decode()


def test_a_container_page_on_a_fake_host(viewer_client, fake):
    fake.add("web")
    html = viewer_client.get("/hosts/fake/containers/web/").content.decode()
    assert "web" in html
    assert 'hx-get="/hosts/fake/containers/' in html


@pytest.mark.django_db(transaction=True)
async def test_a_row_still_running_after_its_die_event_is_asked_for_until_it_has_stopped(fake):
    """A busy engine records a container as stopped a while after its "die" event: the page's row
    is fetched again until it shows the stop, not left running."""
    import asyncio
    import json
    import time

    from channels.layers import get_channel_layer

    from containers import events
    from tests.websockets import communicator, session_cookie_for

    web = fake.add("web")
    ws = communicator("/ws/hosts/fake/events/", await session_cookie_for("viewer", "viewer"))
    assert (await ws.connect())[0]
    try:
        await ws.send_json_to({"watch": "containers", "query": "all=1"})
        while json.loads(await ws.receive_from(timeout=10)).get("kind") != "watching":
            pass
        event = {"kind": "engine", "type": "container", "action": "die", "id": web, "time_nano": time.time_ns()}
        await get_channel_layer().group_send(events.events_group("fake"), {"type": "engine.event", "event": event})
        rows_seen = 0
        deadline = time.monotonic() + 30
        while True:
            message = json.loads(await ws.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("kind") != "rows" or web not in message["rows"]:
                continue
            rows_seen += 1
            if rows_seen == 3:  # the engine catches up only now
                fake.containers[web]["state"] = "exited"
            if "Exited" in (message["rows"][web] or ""):
                break
        assert rows_seen > 3
    finally:
        await ws.disconnect()
        await events.stop_listener()
        await asyncio.sleep(0)
