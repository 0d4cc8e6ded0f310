"""A panel in a container knows its own container: it never offers to stop or remove it, refuses
(with an audit entry) when asked anyway, and does not take a bind inside its own network for a
check of the host's ports. DOCKERPANEL_CONTAINER_ID stands in for the image here (that path is
tested in test_container_image.py)."""

import socket

import pytest
from django.contrib.messages import get_messages

from containers import engine, own_container, ports
from containers.forms import check_host_ports
from containers.models import AuditEntry

pytestmark = pytest.mark.django_db

ID = "d3866fe44b28f0617b2ccb2c0ce48cca76797ff20aaa560724206fb463ecc7a9"


def said(response) -> str:
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def state(dk, c) -> str:
    return dk.api.inspect_container(c.id)["State"]["Status"]


@pytest.fixture
def own(settings, make_container):
    """A running container the panel takes for its own."""
    c = make_container()
    settings.DOCKERPANEL_CONTAINER_ID = c.id
    return c


def test_it_finds_its_container_id_in_mountinfo_or_cgroup():
    mountinfo = (
        f"92 75 254:0 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw\n"
        f"93 75 254:0 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw\n"
    )
    assert own_container.detect(mountinfo, "0::/\n") == ID  # cgroup v2: only the mounts tell
    assert own_container.detect("", f"12:pids:/docker/{ID}\n") == ID
    assert own_container.detect("", f"1:name=systemd:/system.slice/docker-{ID}.scope\n") == ID
    assert own_container.detect("24 1 0:21 / / rw - ext4 /dev/vda rw\n", "9:name=systemd:/\n") == ""


def test_it_refuses_to_stop_pause_restart_kill_or_remove_its_own_container(admin_client, own, dk):
    for verb, data in [("stop", {}), ("pause", {}), ("restart", {}), ("kill", {}), ("remove", {"confirm": "yes"})]:
        r = admin_client.post(f"/containers/{own.name}/{verb}/", {**data, "force": "1"})
        assert r.status_code == 302
        message = said(r)
        assert message.startswith(f"{own.name} is the container this panel runs in: to {verb} it from here")
        assert "on the host instead" in message
        assert state(dk, own) == "running"
        entry = AuditEntry.objects.filter(action=f"container.{verb}").latest("id")
        assert not entry.ok
        assert entry.target_id == own.id
        assert entry.params["own_container"] is True
        assert entry.result == message


def test_it_still_stops_other_containers(admin_client, own, make_container, dk):
    other = make_container()
    r = admin_client.post(f"/containers/{other.name}/stop/", {"timeout": "0"})
    assert said(r) == f"Stopped {other.name}: docker stop -t 0 {other.name}"
    assert state(dk, other) == "exited"


def test_it_offers_no_stop_or_remove_on_its_own_pages(admin_client, own, make_container):
    other = make_container()
    page = admin_client.get(f"/containers/{own.name}/").content.decode()
    assert "This is the container the panel runs in." in page
    for verb in own_container.REFUSED:
        assert f"/containers/{own.id}/{verb}/" not in page
    assert f"/containers/{other.id}/stop/" in admin_client.get(f"/containers/{other.name}/").content.decode()
    listing = admin_client.get("/containers/").content.decode()
    own_box = listing[listing.index(f'value="{own.id[:12]}"') :].split(">", 1)[0]  # short IDs in the list
    assert "disabled" in own_box
    other_box = listing[listing.index(f'value="{other.id[:12]}"') :].split(">", 1)[0]
    assert "disabled" not in other_box


def test_it_leaves_its_own_container_out_of_bulk_stops(admin_client, own, make_container, dk):
    other = make_container()
    page = admin_client.post("/containers/bulk/", {"action": "stop", "ids": [own.id, other.id]}).content.decode()
    assert "Stop 1 selected container?" in page
    assert f'value="{other.id}"' in page
    assert f'value="{own.id}"' not in page
    assert f"Left out: {own.name} is the container this panel runs in" in page
    # A hand-made confirmation naming it anyway is refused item by item.
    r = admin_client.post(
        "/containers/bulk/", {"action": "stop", "confirm": "yes", "timeout": "0", "ids": [own.id, other.id]}
    )
    report = r.content.decode()
    assert "1 of 2 done, 1 failed" in report
    assert state(dk, own) == "running"
    assert state(dk, other) == "exited"
    assert not AuditEntry.objects.get(action="container.stop", target_id=own.id).ok
    # Nor by a short ID or its name, which the engine would take too, under another name.
    for ref in (own.id[:12], own.name):
        r = admin_client.post(
            "/containers/bulk/", {"action": "stop", "confirm": "yes", "timeout": "0", "ids": [ref], f"name-{ref}": "x"}
        )
        assert "0 of 1 done, 1 failed" in r.content.decode()
        assert state(dk, own) == "running"


def test_it_knows_its_container_by_name(settings, admin_client, make_container, dk):
    c = make_container()
    settings.DOCKERPANEL_CONTAINER_ID = c.name
    r = admin_client.post(f"/containers/{c.id[:12]}/kill/")
    assert said(r).startswith(f"{c.name} is the container this panel runs in")
    assert state(dk, c) == "running"


def test_it_probes_host_ports_only_where_a_bind_reaches_the_host(settings, make_container):
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    try:
        port = held.getsockname()[1]
        binding = ports.parse(f"-p 127.0.0.1:{port}:80")

        def problems() -> list[str]:
            found: list[str] = []
            check_host_ports(engine.default_engine(), binding, lambda index, message: found.append(message))
            return found

        # On the host (no container of this engine is the panel's): the bind probe finds the holder.
        settings.DOCKERPANEL_CONTAINER_ID = ""
        assert problems() == [f"host port 127.0.0.1:{port}/tcp is already in use by a process on this host"]
        # In a container with its own network the probe would see only that container: left to the engine.
        settings.DOCKERPANEL_CONTAINER_ID = make_container().id
        assert problems() == []
        # On the host's network it sees the host again.
        settings.DOCKERPANEL_CONTAINER_ID = make_container(network_mode="host").id
        assert problems() == [f"host port 127.0.0.1:{port}/tcp is already in use by a process on this host"]
    finally:
        held.close()
