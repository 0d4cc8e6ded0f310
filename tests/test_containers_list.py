"""/containers/ is `docker ps` (and `ps -a`): CLI columns, filters, sorting and the user's columns."""

import re

import pytest
from django.test import Client

from containers.models import Preference
from tests.conftest import RUN_ID, RUN_LABEL

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def listed(html: str, name: str) -> bool:
    return f'data-name="{name}"' in html


def row_html(html: str, name: str) -> str:
    m = re.search(rf'<tr data-id="[0-9a-f]+" data-name="{re.escape(name)}">(.*?)</tr>', html, re.S)
    assert m, f"no row for {name}"
    return m.group(1)


def test_it_lists_running_containers_with_the_cli_columns(viewer_client, make_container):
    c = make_container(command="sleep 3600")
    r = viewer_client.get("/containers/")
    assert r.status_code == 200
    html = r.content.decode()
    headers = re.findall(r'<th data-col="\w+"><a [^>]*>([A-Z ]+?)(?: [▲▼])?</a>', html)
    assert headers == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    # then docker stats' usage columns, filled in live by the page (not sortable links)
    assert re.findall(r'<th data-col="(cpu|mem)">([^<]+)</th>', html) == [
        ("cpu", "CPU %"),
        ("mem", "MEM USAGE / LIMIT"),
    ]
    assert '<td class="mono usage" data-col="cpu">…</td>' in row_html(html, c.name)
    row = row_html(html, c.name)
    assert c.id[:12] in row
    assert "dockerpanel-test/busybox:latest" in row
    assert "&quot;sleep 3600&quot;" in row
    assert re.search(r"(Less than a second|\d+ seconds?) ago", row)
    assert re.search(r'class="state-running">Up ', row)


def test_it_shows_stopped_containers_only_with_all(viewer_client, make_container):
    c = make_container(start=False)
    assert not listed(viewer_client.get("/containers/").content.decode(), c.name)
    html = viewer_client.get("/containers/?all=1").content.decode()
    assert "Created" in row_html(html, c.name)
    assert "docker ps -a" in html


def test_it_links_each_published_tcp_port_to_the_browsing_host(viewer_client, make_container, dk):
    c = make_container(ports={"80/tcp": None, "81/udp": None, "82/tcp": ("127.0.0.1", None)})
    ports = dk.api.inspect_container(c.id)["NetworkSettings"]["Ports"]
    p82 = ports["82/tcp"][0]["HostPort"]
    html = viewer_client.get("/containers/", HTTP_HOST="localhost:8000").content.decode()
    row = row_html(html, c.name)
    # The engine may pick different host ports for IPv4 and IPv6: each binding has its own link.
    bindings = {b["HostIp"]: b["HostPort"] for b in ports["80/tcp"]}
    assert set(bindings) == {"0.0.0.0", "::"}
    # browsed as localhost: links use 127.0.0.1 (or ::1 for the IPv6 binding), so the panel's
    # cookies never go to the port
    v4, v6 = bindings["0.0.0.0"], bindings["::"]
    assert f'<a href="http://127.0.0.1:{v4}/" target="_blank" rel="noopener">0.0.0.0:{v4}-&gt;80/tcp</a>' in row
    assert f'<a href="http://[::1]:{v6}/" target="_blank" rel="noopener">[::]:{v6}-&gt;80/tcp</a>' in row
    assert f'<a href="http://127.0.0.1:{p82}/"' in row
    assert "-&gt;81/udp" in row
    assert "/udp</a>" not in row


def test_it_filters_by_name_image_status_and_label(viewer_client, make_container):
    running = make_container(labels={"team": "blue"})
    stopped = make_container(start=False, labels={"team": "red"})
    html = viewer_client.get(f"/containers/?all=1&name={running.name}").content.decode()
    assert listed(html, running.name)
    assert not listed(html, stopped.name)
    html = viewer_client.get(f"/containers/?status=created&label={RUN_LABEL}={RUN_ID}").content.decode()
    assert listed(html, stopped.name)
    assert not listed(html, running.name)
    html = viewer_client.get(f"/containers/?all=1&label=team=blue&label={RUN_LABEL}").content.decode()
    assert listed(html, running.name)
    html = viewer_client.get("/containers/?all=1&label=team=blue").content.decode()
    assert not listed(html, stopped.name)
    html = viewer_client.get(f"/containers/?all=1&image=busybox&name={stopped.name}").content.decode()
    assert listed(html, stopped.name)
    html = viewer_client.get(f"/containers/?all=1&image=debian&name={stopped.name}").content.decode()
    assert not listed(html, stopped.name)


def test_it_sorts_by_any_column(viewer_client, make_container):
    a = make_container(name=f"dp-test-{RUN_ID}-sort-a", start=False)
    b = make_container(name=f"dp-test-{RUN_ID}-sort-b", start=False)
    base = f"/containers/?all=1&name=dp-test-{RUN_ID}-sort-"
    html = viewer_client.get(base + "&sort=names&dir=asc").content.decode()
    assert html.index(a.name) < html.index(b.name)
    html = viewer_client.get(base + "&sort=names&dir=desc").content.decode()
    assert html.index(b.name) < html.index(a.name)
    html = viewer_client.get(base).content.decode()  # newest first, as docker ps
    assert html.index(b.name) < html.index(a.name)
    for column in ("id", "image", "command", "created", "status", "ports"):
        assert viewer_client.get(base + f"&sort={column}").status_code == 200


def test_it_remembers_the_chosen_columns_per_user(viewer_user, admin_user, make_container):
    make_container()
    viewer_client = client_for(viewer_user)
    r = viewer_client.post("/containers/columns/", {"columns": ["id", "status"], "next": "/containers/"})
    assert r.status_code == 302
    assert Preference.objects.get(user=viewer_user, key="containers.columns").value == ["id", "status"]
    html = viewer_client.get("/containers/").content.decode()
    assert re.findall(r'<th data-col="(\w+)">', html) == ["id", "status"]
    assert 'docker ps --format "table {{.ID}}\\t{{.Status}}"' in html
    other = client_for(admin_user).get("/containers/").content.decode()
    assert len(re.findall(r'<th data-col="(\w+)">', other)) == 9  # the CLI's seven and CPU %, MEM USAGE


def test_it_builds_the_list_from_one_engine_call(viewer_client, make_container, monkeypatch):
    from docker.api.client import APIClient

    for _ in range(3):
        make_container(start=False)
    calls = []
    real_get = APIClient._get

    def counting_get(self, url, *args, **kwargs):
        calls.append(url)
        return real_get(self, url, *args, **kwargs)

    monkeypatch.setattr(APIClient, "_get", counting_get)
    assert viewer_client.get("/containers/?all=1").status_code == 200
    engine_calls = [u for u in calls if "/containers/" in u]
    assert len(engine_calls) == 1
    assert engine_calls[0].endswith("/containers/json")


def test_it_answers_htmx_with_the_refreshable_fragment(viewer_client, make_container):
    c = make_container()
    r = viewer_client.get("/containers/?all=1", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert html.startswith('<div id="container-list" hx-get="/containers/?all=1"')
    # refreshed on every engine change, except while the user has rows ticked for a bulk action
    # (static/js/panel.js holds the refresh back: an hx-trigger filter would need eval, which the CSP refuses)
    assert 'hx-trigger="engine-changed from:body" data-keep-while-checked="input[name=ids]:checked"' in html
    assert "<html" not in html
    assert c.name in html


def test_it_offers_run_a_container_to_admins_only(admin_user, operator_user):
    assert 'href="/containers/new/"' in client_for(admin_user).get("/containers/").content.decode()
    assert 'href="/containers/new/"' not in client_for(operator_user).get("/containers/").content.decode()


def test_it_requires_login(client, admin_user):
    r = client.get("/containers/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]


def test_it_refuses_users_without_a_role(outsider_client):
    assert outsider_client.get("/containers/").status_code == 403


def test_it_shows_an_engine_error_as_a_message_not_a_500(viewer_client):
    r = viewer_client.get("/containers/?status=bogus")
    assert r.status_code == 200
    assert "docker ps failed: list containers: Invalid filter &#x27;status=bogus&#x27;" in r.content.decode()


def test_it_shows_the_engine_down_page(viewer_client, settings):
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    r = viewer_client.get("/containers/")
    assert r.status_code == 503
    assert "unix:///nonexistent/docker.sock" in r.content.decode()


def test_the_go_to_box_opens_a_container_by_name_or_id_prefix(viewer_client, make_container):
    box = make_container()
    page = viewer_client.get("/containers/").content.decode()
    assert 'action="/containers/go/"' in page
    r = viewer_client.get("/containers/go/", {"ref": box.id[:5]})
    assert r.status_code == 302
    assert r.url == f"/containers/{box.id[:5]}/"
    assert viewer_client.get(r.url).status_code == 200  # the detail page resolves the prefix
    r = viewer_client.get("/containers/go/", {"ref": f" /{box.name} "})
    assert r.url == f"/containers/{box.name}/"
    # an unknown one: the detail page's 404 says so and links back
    r = viewer_client.get(viewer_client.get("/containers/go/", {"ref": "no-such-box-42"}).url)
    assert r.status_code == 404
    assert "no-such-box-42" in r.content.decode()
    # nothing typed: back to the list with a message
    r = viewer_client.get("/containers/go/", {"ref": ""}, follow=True)
    assert "Type a container name or the start of its ID." in r.content.decode()
    # odd characters cannot make another URL of it
    r = viewer_client.get("/containers/go/", {"ref": "../../audit/?x=1"})
    assert r.url == "/containers/..%2F..%2Faudit%2F%3Fx%3D1/"


def test_the_name_filter_also_matches_id_prefixes(viewer_client, make_container):
    box = make_container()
    other = make_container()
    prefix = box.id[:6]
    html = viewer_client.get("/containers/", {"all": "1", "name": prefix}).content.decode()
    assert listed(html, box.name)
    if not other.id.startswith(prefix):
        assert not listed(html, other.name)
    # a name is still a name
    assert listed(viewer_client.get("/containers/", {"all": "1", "name": box.name}).content.decode(), box.name)


def test_each_row_has_quick_actions_for_the_users_role(viewer_user, operator_user, make_container, dk):
    prefix = "dp-quick-" + RUN_ID[:8]
    up = make_container(name=f"{prefix}-up")
    down = make_container(name=f"{prefix}-down", start=False)
    operator = client_for(operator_user)
    html = operator.get("/containers/", {"all": "1", "name": prefix}).content.decode()
    up_row, down_row = row_html(html, up.name), row_html(html, down.name)
    assert f'href="/containers/{up.name}/logs/"' in up_row
    assert f'href="/containers/{up.name}/terminal/"' in up_row
    assert f'formaction="/containers/{up.name}/stop/"' in up_row
    assert f'formaction="/containers/{down.name}/start/"' in down_row
    assert "/terminal/" not in down_row
    viewer = client_for(viewer_user).get("/containers/", {"all": "1", "name": prefix}).content.decode()
    assert f'href="/containers/{up.name}/logs/"' in row_html(viewer, up.name)
    assert "formaction" not in row_html(viewer, up.name)
    # the row's Stop submits the list's form (its CSRF token, its way back) to the container's stop
    r = operator.post(f"/containers/{up.id}/stop/", {"timeout": "0", "next": f"/containers/?all=1&name={prefix}"})
    assert r.status_code == 302
    assert r.url == f"/containers/?all=1&name={prefix}"
    assert dk.api.inspect_container(up.id)["State"]["Status"] == "exited"


def test_it_shows_size_like_docker_ps_s_only_when_chosen(viewer_user, make_container, dk, monkeypatch):
    """SIZE is opt-in (the engine measures every writable layer for it): without it the engine is not
    asked for sizes; chosen, a container that wrote a file shows what `docker ps -s` prints."""
    import subprocess
    import time

    from docker.api.client import APIClient

    from containers import cli
    from tests.test_cli_render import DOCKER

    c = make_container(command=["sh", "-c", "dd if=/dev/zero of=/written bs=1000 count=1534 && sleep 3600"])
    deadline = time.monotonic() + 60
    while True:  # the file is written once the engine counts its 1,534,000 bytes
        row = dk.api.containers(all=True, size=True, filters={"id": c.id})[0]
        if row.get("SizeRw", 0) >= 1_534_000:
            break
        assert time.monotonic() < deadline, f"the file was not written: {row.get('SizeRw')}"
        time.sleep(0.2)
    asked: list[dict] = []
    real_get = APIClient._get

    def recording_get(self, url, *args, **kwargs):  # the real engine call, its parameters recorded
        if url.endswith("/containers/json"):
            asked.append(dict(kwargs.get("params") or {}))
        return real_get(self, url, *args, **kwargs)

    monkeypatch.setattr(APIClient, "_get", recording_get)
    viewer_client = client_for(viewer_user)
    page = f"/containers/?all=1&name={c.name}"
    html = viewer_client.get(page).content.decode()
    assert 'data-col="size"' not in row_html(html, c.name)
    assert '<th data-col="size">' not in html
    assert asked
    assert not any(p.get("size") for p in asked), asked
    # the chooser offers it, saying why it is not on by default
    assert 'name="columns" value="size"' in html
    assert "slow: the engine measures every container" in html

    viewer_client.post("/containers/columns/", {"columns": ["status", "names", "size"], "next": "/containers/"})
    asked.clear()
    html = viewer_client.get(page).content.decode()
    assert re.findall(r'<th data-col="(\w+)">', html) == ["status", "names", "size"]
    assert 'docker ps --format "table {{.Status}}\\t{{.Names}}\\t{{.Size}}"' in html
    assert asked
    assert all(p.get("size") for p in asked), asked
    cell = re.search(r'<td class="mono" data-col="size">([^<]*)</td>', row_html(html, c.name)).group(1)
    printed = subprocess.run(
        [DOCKER, "ps", "-a", "-s", "--filter", f"id={c.id}", "--format", "{{.Size}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert cell == printed
    assert cell.startswith("1.53MB (virtual ")
    row = dk.api.containers(all=True, size=True, filters={"id": c.id})[0]
    assert cell == cli.container_size(row["SizeRw"], row["SizeRootFs"])
    # and the list sorts by it
    assert viewer_client.get(page + "&sort=size&dir=desc").status_code == 200
