"""/containers/<ref>/: state, network with port links, docker top, docker diff, inspect; CLI-like naming."""

import json
import re
import threading
from collections import defaultdict

import pytest

from tests.conftest import RUN_ID, RUN_LABEL, TEST_LABEL

pytestmark = pytest.mark.django_db


def test_it_shows_state_command_times_exit_code_and_restarts(viewer_client, make_container):
    c = make_container(command="sh -c 'exit 3'")
    c.wait(timeout=30)
    html = viewer_client.get(f"/containers/{c.name}/").content.decode()
    assert re.search(r'data-field="status">Exited \(3\) (Less than a second|\d+ seconds?) ago<', html)
    assert 'data-field="exit-code">3<' in html
    assert 'data-field="restart-count">0 ' in html
    assert "&quot;sh -c exit 3&quot;" in html
    assert "Finished</dt><dd>20" in html


def test_it_shows_the_network_and_links_ports_the_engine_picked(viewer_client, make_container, dk):
    c = make_container(command="httpd -f -p 80", ports={"80/tcp": None})
    info = dk.api.inspect_container(c.id)
    host_port = next(b["HostPort"] for b in info["NetworkSettings"]["Ports"]["80/tcp"] if b["HostIp"] == "0.0.0.0")
    ip = info["NetworkSettings"]["IPAddress"]
    html = viewer_client.get(f"/containers/{c.name}/", HTTP_HOST="127.0.0.1:8000").content.decode()
    assert f'data-field="ip">{ip}<' in html
    assert info["NetworkSettings"]["Gateway"] in html
    assert info["NetworkSettings"]["MacAddress"] in html
    assert "<strong>bridge</strong>" in html
    assert f'href="http://localhost:{host_port}/"' in html  # the other loopback name than the panel's
    assert f"0.0.0.0:{host_port}-&gt;80/tcp" in html


def test_it_shows_processes_with_docker_top(viewer_client, make_container):
    c = make_container(command="sleep 3600")
    html = viewer_client.get(f"/containers/{c.name}/").content.decode()
    top = html[html.index('id="section-processes"') : html.index('id="section-changes"')]
    assert "<th>PID</th>" in top
    assert "sleep 3600" in top


def test_it_says_top_needs_a_running_container(viewer_client, make_container):
    c = make_container(start=False)
    html = viewer_client.get(f"/containers/{c.name}/").content.decode()
    assert "docker top needs it running" in html


def test_it_shows_the_changes_after_writing_a_file(viewer_client, make_container, dk):
    c = make_container(command="sleep 3600")
    dk.api.exec_start(dk.api.exec_create(c.id, "sh -c 'echo hi > /tmp/written && rm /bin/vi'"))
    html = viewer_client.get(f"/containers/{c.name}/").content.decode()
    changes = html[html.index('id="section-changes"') : html.index('id="section-inspect"')]
    assert re.search(r'kind-A">A</td><td class="mono">/tmp/written<', changes)
    assert re.search(r'kind-C">C</td><td class="mono">/tmp<', changes)
    assert re.search(r'kind-D">D</td><td class="mono">/bin/vi<', changes)
    assert "only its changes" in changes


def test_it_shows_the_whole_inspect_json_with_a_copy_button(viewer_client, make_container):
    c = make_container(start=False)
    html = viewer_client.get(f"/containers/{c.name}/").content.decode()
    pre = re.search(r'<pre class="json" id="inspect-json"[^>]*>(.*?)</pre>', html, re.S).group(1)
    data = json.loads(
        pre.replace("&quot;", '"')
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
    assert data["Id"] == c.id
    assert 'data-copy-target="#inspect-json"' in html
    assert "<details>" in html


def test_it_links_terminal_attach_and_logs(operator_client, make_container):
    c = make_container()
    html = operator_client.get(f"/containers/{c.id[:12]}/").content.decode()
    for tool in ("terminal", "attach", "logs"):
        assert f'href="/containers/{c.name}/{tool}/"' in html


def test_it_answers_an_htmx_section_refresh_with_that_fragment(viewer_client, make_container):
    c = make_container()
    r = viewer_client.get(f"/containers/{c.name}/?section=state", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert html.startswith('<section class="card" id="section-state"')
    assert 'hx-trigger="engine-changed from:body"' in html
    assert "<html" not in html


def test_it_resolves_a_unique_prefix_and_names_an_unknown_ref(viewer_client, make_container):
    c = make_container(start=False)
    assert viewer_client.get(f"/containers/{c.id[:4]}/").status_code in (200, 400)  # 4 chars may be shared
    r = viewer_client.get(f"/containers/{c.id[:12]}/")
    assert r.status_code == 200
    assert c.name in r.content.decode()
    r = viewer_client.get(f"/containers/dp-test-{RUN_ID}-nobody/")
    assert r.status_code == 404
    assert f"No such container: dp-test-{RUN_ID}-nobody" in r.content.decode()


def test_it_lists_the_matches_of_an_ambiguous_prefix(viewer_client, dk):
    """Create short-lived containers until two of ours share a 3-character ID prefix (about 80 on average)."""
    labels = {TEST_LABEL: "1", RUN_LABEL: RUN_ID}
    by_prefix: dict[str, list] = defaultdict(list)
    made = []
    lock = threading.Lock()
    found: list[str] = []

    def create():
        while not found and len(made) < 600:
            c = dk.api.create_container("dockerpanel-test/busybox:latest", "true", labels=labels)
            with lock:
                made.append(c["Id"])
                by_prefix[c["Id"][:3]].append(c["Id"])
                if len(by_prefix[c["Id"][:3]]) == 2:
                    found.append(c["Id"][:3])

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert found, "no shared prefix among 600 containers"
        prefix = found[0]
        pair = by_prefix[prefix][:2]
        r = viewer_client.get(f"/containers/{prefix}/")
        assert r.status_code == 400
        html = r.content.decode()
        assert "Ambiguous container ID" in html
        for cid in pair:
            assert cid[:12] in html
    finally:
        for cid in made:
            dk.api.remove_container(cid, force=True)


def client_for(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_it_shows_only_the_buttons_the_role_allows(viewer_user, operator_user, admin_user, make_container):
    c = make_container()
    url = f"/containers/{c.name}/"
    viewer = client_for(viewer_user).get(url).content.decode()
    operator = client_for(operator_user).get(url).content.decode()
    admin = client_for(admin_user).get(url).content.decode()
    assert "/stop/" not in viewer
    assert "/terminal/" not in viewer
    assert "/logs/" in viewer
    assert "/stop/" in operator
    assert "/remove/" not in operator
    assert "/rename/" not in operator
    assert "/remove/" in admin
    assert "/rename/" in admin


def test_it_turns_an_engine_error_into_a_message_and_a_vanished_object_into_a_404(rf, admin_user):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.http import Http404

    from containers import engine
    from containers.views.containers import engine_errors

    @engine_errors("/containers/")
    def refused(request):
        raise engine.Conflict("rm: You cannot remove a running container")

    @engine_errors("/containers/")
    def vanished(request):
        raise engine.NotFound("No such container: gone")

    request = rf.post("/x/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    r = refused(request)
    assert r.status_code == 302
    assert r["Location"] == "/containers/"
    assert [str(m) for m in request._messages] == ["rm: You cannot remove a running container"]
    with pytest.raises(Http404, match="No such container: gone"):
        vanished(request)


def test_it_embeds_the_live_stats_panel(viewer_client, make_container):
    c = make_container()
    html = viewer_client.get(f"/containers/{c.name}/").content.decode()
    assert f'hx-get="/containers/{c.name}/stats/?embed=1"' in html
    panel = viewer_client.get(f"/containers/{c.name}/stats/?embed=1").content.decode()
    assert f'data-stats-ref="{c.name}"' in panel
    assert "<html" not in panel  # a fragment, not a page
