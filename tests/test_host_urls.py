"""Pages and websockets of a Docker host under /hosts/<name>/ and /ws/hosts/<name>/; the unprefixed
URLs of before mean the default host, and their links stay unprefixed."""

import json
import time

import pytest

from tests.websockets import communicator, receive_close, session_cookie_for

pytestmark = pytest.mark.django_db


def test_a_host_page_lists_that_hosts_containers_and_links_within_the_host(viewer_client, make_container):
    box = make_container()
    r = viewer_client.get("/hosts/local/containers/", {"all": "1", "name": box.name})
    assert r.status_code == 200
    html = r.content.decode()
    assert f'href="/hosts/local/containers/{box.name}/"' in html
    assert 'href="/hosts/local/images/' in html  # the IMAGE cell
    assert 'data-ws-base="/ws/hosts/local"' in html
    title = html.split("<title>")[1].split("</title>")[0]
    assert "local" in title


def test_the_unprefixed_urls_are_the_default_host_and_keep_their_links(viewer_client, make_container):
    box = make_container()
    html = viewer_client.get("/containers/", {"all": "1", "name": box.name}).content.decode()
    assert f'href="/containers/{box.name}/"' in html
    assert "/hosts/local/" not in html
    assert 'data-ws-base="/ws"' in html


def test_a_container_page_of_a_host_links_its_actions_to_that_host(operator_client, make_container):
    box = make_container()
    html = operator_client.get(f"/hosts/local/containers/{box.name}/").content.decode()
    for verb in ("stop", "restart", "pause", "kill"):
        assert f'action="/hosts/local/containers/{box.id}/{verb}/"' in html
    assert f'href="/hosts/local/containers/{box.name}/logs/"' in html
    assert f'href="/hosts/local/containers/{box.name}/terminal/"' in html


def test_an_action_on_a_host_page_comes_back_to_that_host(operator_client, make_container):
    box = make_container()
    r = operator_client.post(f"/hosts/local/containers/{box.name}/stop/", {"timeout": "0"})
    assert r.status_code == 302
    assert r["Location"] == f"/hosts/local/containers/{box.name}/"
    box.reload()
    assert box.status == "exited"


def test_the_terminal_page_of_a_host_opens_that_hosts_socket(operator_client, make_container):
    box = make_container(command="sh", tty=True, stdin_open=True)
    html = operator_client.get(f"/hosts/local/containers/{box.name}/terminal/").content.decode()
    assert f'data-ws="/ws/hosts/local/containers/{box.id}/exec/"' in html


def test_an_unknown_host_is_a_404_naming_it(viewer_client):
    r = viewer_client.get("/hosts/nowhere/containers/")
    assert r.status_code == 404
    assert "No such Docker host: nowhere" in r.content.decode()


def test_an_unknown_host_needs_a_login_first(client, admin_user):
    r = client.get("/hosts/nowhere/containers/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)
async def test_a_hosts_logs_socket_streams_that_hosts_container(make_container):
    import asyncio

    box = await asyncio.to_thread(make_container, command="sh -c 'echo hello-from-local; sleep 600'")
    ws = communicator(
        f"/ws/hosts/local/containers/{box.name}/logs/?follow=0&tail=all", await session_cookie_for("v", "viewer")
    )
    ok, _ = await ws.connect()
    assert ok
    try:
        seen = ""
        deadline = time.monotonic() + 30
        while "hello-from-local" not in seen and time.monotonic() < deadline:
            seen += await ws.receive_from(timeout=30)
        assert "hello-from-local" in seen
    finally:
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_of_an_unknown_host_is_refused_with_4404():
    ws = communicator("/ws/hosts/nowhere/events/", await session_cookie_for("v", "viewer"))
    ok, _ = await ws.connect()
    assert ok  # accepted, then closed with a code the page can explain
    assert await receive_close(ws) == 4404
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_events_socket_of_a_host_names_the_host_in_engine_events(make_container):
    import asyncio

    from containers import events

    ws = communicator("/ws/hosts/local/events/", await session_cookie_for("v", "viewer"))
    ok, _ = await ws.connect()
    assert ok
    try:
        box = await asyncio.to_thread(make_container)
        await asyncio.to_thread(box.kill)
        deadline = time.monotonic() + 60
        while True:
            message = json.loads(await ws.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("kind") == "engine" and message.get("id") == box.id:
                assert message["host"] == "local"
                break
    finally:
        await ws.disconnect()
        await events.stop_listener()


def test_the_audit_log_records_the_host_of_an_action_and_filters_by_it(operator_client, admin_client, make_container):
    from containers.models import AuditEntry

    box = make_container()
    operator_client.post(f"/hosts/local/containers/{box.name}/stop/", {"timeout": "0"})
    entry = AuditEntry.objects.get(action="container.stop", target_id=box.id)
    assert entry.host == "local"
    admin_client.post(
        "/users/add/",
        {"username": "hostless", "password1": "x-Passphrase-4711", "password2": "x-Passphrase-4711", "role": "viewer"},
    )
    assert AuditEntry.objects.get(action="user.create").host == ""  # the panel's own, on no host
    shown = admin_client.get("/audit/", {"host": "local"}).content.decode()
    assert box.name in shown
    assert '<td class="mono">user.create</td>' not in shown
    assert '<td class="mono">container.stop</td>' in shown
    from containers.audit import AuditFilter
    from containers.views.audit_log import CSV_COLUMNS, csv_row

    assert CSV_COLUMNS[-1] == "host"
    rows = [csv_row(e) for e in AuditFilter({"host": "local"}).entries()]
    assert rows
    assert all(row[-1] == "local" for row in rows)


def test_an_action_on_the_unprefixed_urls_is_recorded_for_the_default_host(operator_client, make_container):
    from containers.models import AuditEntry

    box = make_container()
    operator_client.post(f"/containers/{box.name}/stop/", {"timeout": "0"})
    assert AuditEntry.objects.get(action="container.stop", target_id=box.id).host == "local"


def test_making_another_host_the_default_moves_the_unprefixed_urls_there(admin_client, host_e2, dk_e2):
    from tests.conftest import RUN_ID, RUN_LABEL, unique

    name = unique("e2default")
    box = dk_e2.containers.create(
        "dockerpanel-test/busybox:latest", ["sleep", "600"], name=name, labels={RUN_LABEL: RUN_ID}
    )
    try:
        assert name not in admin_client.get("/containers/", {"all": "1"}).content.decode()
        assert admin_client.post("/hosts/e2/default/").status_code == 302
        html = admin_client.get("/containers/", {"all": "1", "name": name}).content.decode()
        assert f'href="/containers/{name}/"' in html  # e2's container, on the unprefixed URLs
        assert admin_client.get(f"/containers/{name}/").status_code == 200
        assert admin_client.get(f"/hosts/local/containers/{name}/").status_code == 404
    finally:
        box.remove(force=True)
