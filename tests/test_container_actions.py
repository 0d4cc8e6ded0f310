"""start, stop, restart, kill, pause/unpause, rename and rm through the views, checked on the engine."""

import threading

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from containers import engine
from containers.models import AuditEntry
from tests.conftest import unique

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def said(response) -> str:
    """The message this response added (earlier unread ones are still queued before it)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def state(dk, c) -> str:
    return dk.api.inspect_container(c.id)["State"]["Status"]


def test_it_stops_and_shows_the_cli_command(operator_client, make_container, dk):
    c = make_container(command="sleep 3600")
    r = operator_client.post(f"/containers/{c.name}/stop/", {"timeout": "1"})
    assert r.status_code == 302
    assert state(dk, c) == "exited"
    assert said(r) == f"Stopped {c.name}: docker stop -t 1 {c.name}"
    entry = AuditEntry.objects.get(action="container.stop")
    assert entry.ok
    assert entry.target_id == c.id
    assert entry.params == {"timeout": "1"}


def test_it_starts_restarts_and_kills(operator_client, make_container, dk):
    c = make_container(start=False)
    r = operator_client.post(f"/containers/{c.id[:12]}/start/")
    assert said(r) == f"Started {c.name}: docker start {c.name}"
    assert state(dk, c) == "running"
    started = dk.api.inspect_container(c.id)["State"]["StartedAt"]
    operator_client.post(f"/containers/{c.name}/restart/", {"timeout": "0"})
    assert state(dk, c) == "running"
    assert dk.api.inspect_container(c.id)["State"]["StartedAt"] != started
    r = operator_client.post(f"/containers/{c.name}/kill/")
    assert said(r) == f"Killed {c.name}: docker kill {c.name}"
    assert state(dk, c) == "exited"
    assert dk.api.inspect_container(c.id)["State"]["ExitCode"] == 137


def test_it_pauses_and_unpauses(operator_client, make_container, dk):
    c = make_container()
    r = operator_client.post(f"/containers/{c.name}/pause/")
    assert said(r) == f"Paused {c.name}: docker pause {c.name}"
    assert state(dk, c) == "paused"
    page = operator_client.get("/containers/").content.decode()
    assert "(Paused)" in page
    operator_client.post(f"/containers/{c.name}/unpause/")
    assert state(dk, c) == "running"


def test_it_explains_an_action_the_engine_refuses(operator_client, make_container):
    c = make_container(start=False)
    r = operator_client.post(f"/containers/{c.name}/pause/")
    assert r.status_code == 302
    message = said(r)
    assert message.startswith(f"docker pause {c.name} failed: ")
    assert "is not running" in message
    entry = AuditEntry.objects.get(action="container.pause")
    assert not entry.ok
    assert "is not running" in entry.result


def test_it_renames(admin_client, make_container, dk):
    c = make_container(start=False)
    new = unique("renamed")
    r = admin_client.post(f"/containers/{c.name}/rename/", {"new_name": new})
    assert r["Location"] == f"/containers/{new}/"
    assert said(r) == f"Renamed {c.name} to {new}: docker rename {c.name} {new}"
    assert dk.api.inspect_container(c.id)["Name"] == f"/{new}"


def test_it_says_when_a_name_is_taken(admin_client, make_container, dk):
    a = make_container(start=False)
    b = make_container(start=False)
    r = admin_client.post(f"/containers/{a.name}/rename/", {"new_name": b.name})
    message = said(r)
    assert f"docker rename {a.name} {b.name} failed" in message
    assert "already in use" in message
    assert dk.api.inspect_container(a.id)["Name"] == f"/{a.name}"


def test_it_rejects_an_invalid_name_before_the_engine(admin_client, make_container):
    c = make_container(start=False)
    r = admin_client.post(f"/containers/{c.name}/rename/", {"new_name": "-bad name"})
    assert "is not a valid container name" in said(r)


def test_it_asks_before_removing_and_says_it_cannot_be_undone(admin_client, make_container, dk):
    c = make_container(start=False)
    r = admin_client.post(f"/containers/{c.name}/remove/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cannot be undone" in html
    assert 'name="confirm" value="yes"' in html
    assert dk.api.inspect_container(c.id)  # still there
    r = admin_client.post(f"/containers/{c.name}/remove/", {"confirm": "yes"})
    assert said(r) == f"Removed {c.name} ({c.id[:12]}): docker rm {c.name}"
    assert not dk.api.containers(all=True, filters={"id": c.id})


def test_it_needs_force_for_a_running_container(admin_client, make_container, dk):
    c = make_container()
    html = admin_client.post(f"/containers/{c.name}/remove/").content.decode()
    assert f"docker rm -f {c.name}" in html
    r = admin_client.post(f"/containers/{c.name}/remove/", {"confirm": "yes"})
    message = said(r)
    assert f"docker rm {c.name} failed" in message
    assert "docker rm -f" in message
    assert state(dk, c) == "running"
    r = admin_client.post(f"/containers/{c.name}/remove/", {"confirm": "yes", "force": "1"})
    assert said(r) == f"Removed {c.name} ({c.id[:12]}): docker rm -f {c.name}"
    assert not dk.api.containers(all=True, filters={"id": c.id})


@pytest.mark.parametrize("action", ["start", "stop", "restart", "kill", "pause", "unpause", "rename", "remove"])
def test_it_refuses_get_on_mutations(admin_client, make_container, action):
    c = make_container(start=False)
    assert admin_client.get(f"/containers/{c.name}/{action}/").status_code == 405


@pytest.mark.parametrize("action", ["start", "stop", "restart", "kill", "pause", "unpause"])
def test_it_keeps_viewers_from_operating(viewer_client, make_container, dk, action):
    c = make_container()
    assert viewer_client.post(f"/containers/{c.name}/{action}/").status_code == 403
    assert state(dk, c) == "running"


@pytest.mark.parametrize("action", ["rename", "remove"])
def test_it_keeps_operators_from_admin_actions(operator_client, make_container, dk, action):
    c = make_container()
    r = operator_client.post(f"/containers/{c.name}/{action}/", {"confirm": "yes", "force": "1", "new_name": unique()})
    assert r.status_code == 403
    assert dk.api.inspect_container(c.id)["Name"] == f"/{c.name}"
    assert AuditEntry.objects.get(action="permission.denied").ok is False


def test_it_needs_a_login_to_act(client, admin_user, make_container, dk):
    c = make_container()
    r = client.post(f"/containers/{c.name}/stop/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]
    assert state(dk, c) == "running"


def test_it_checks_csrf(admin_user, make_container, dk):
    c = make_container()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(f"/containers/{c.name}/stop/").status_code == 403
    assert state(dk, c) == "running"


def test_it_names_an_unknown_container_in_a_404(operator_client):
    r = operator_client.post("/containers/no-such-container-here/stop/")
    assert r.status_code == 404
    assert "No such container: no-such-container-here" in r.content.decode()


def test_it_sends_the_result_message_out_of_band_with_the_refreshed_list(operator_client, make_container):
    c = make_container()
    operator_client.post(f"/containers/{c.name}/pause/")
    html = operator_client.get("/containers/", HTTP_HX_REQUEST="true").content.decode()
    oob = html[html.index('<div id="messages" hx-swap-oob="beforeend">') :]
    assert f"Paused {c.name}: docker pause {c.name}" in oob
    assert "(Paused)" in html[: html.index('<div id="messages"')]


def test_a_pause_waits_for_an_exec_the_panel_is_starting_in_that_container(make_container, dk):
    """Freezing a container while runc puts an exec's process in it can hang the engine for good
    (every call touching that container waits on it), so the panel keeps its own two apart."""
    box = make_container()
    paused = threading.Event()
    with engine.default_engine().exec_gate.exec_start(box.id):  # an exec of the panel's is being started...
        pausing = threading.Thread(target=lambda: (engine.default_engine().pause_container(box.id), paused.set()))
        pausing.start()
        assert not paused.wait(1.0), "the pause went ahead while an exec was being started"
        assert dk.api.inspect_container(box.id)["State"]["Paused"] is False
    assert paused.wait(30), "the pause did not follow once the exec had started"
    pausing.join()
    assert dk.api.inspect_container(box.id)["State"]["Paused"] is True
    dk.api.unpause(box.id)
