"""Docker hosts (issue 10): the /hosts/ pages on real engines (e2 by unix socket, e3 by TLS, e2 by
SSH), the default host, the clear errors of wrong certificates and unknown or changed host keys,
and secrets that never come back out."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from containers.models import AuditEntry
from hosts import connection
from hosts.models import Host
from tests.conftest import BUSYBOX, RUN_ID, RUN_LABEL, TEST_LABEL, unique
from tests.engines import STATE, ssh_host_key_line

pytestmark = pytest.mark.django_db


def _row(html: str, name: str) -> str:
    start = html.index(f'<tr data-host="{name}"')
    return html[start : html.index("</tr>", start)]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _follow_post(client, path: str, data: dict | None = None):
    return client.post(path, data or {}, follow=True)


def _tls_form(engines, name: str, ca: str = "ca", cert: str = "cert", key: str = "key") -> dict:
    return {
        "name": name,
        "url": engines.e3_url,
        "tls_ca": engines.read(ca),
        "tls_cert": engines.read(cert),
        "tls_key": engines.read(key),
    }


def _secret_parts(pem: str) -> list[str]:
    """The key's base64 lines: none of them may appear anywhere."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


# the default host


def test_it_makes_the_default_host_local_on_first_start(viewer_client, dk, settings):
    assert not Host.objects.exists()
    response = viewer_client.get("/hosts/")
    assert response.status_code == 200
    local = Host.objects.get()
    assert (local.name, local.url, local.is_default) == ("local", "", True)
    url = settings.DOCKER_HOST or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    assert local.address == url
    row = _row(response.content.decode(), "local")
    assert 'data-state="up"' in row
    assert dk.version()["Version"] in row


def test_local_is_the_engine_named_by_DOCKER_HOST(settings, extra_engines, dk_e2):
    settings.DOCKER_HOST = extra_engines.e2_url
    local = Host.default()
    assert (local.name, local.address) == ("local", extra_engines.e2_url)
    assert connection.probe(local, 10).version == dk_e2.version()["Version"]
    settings.DOCKER_HOST = "unix:///run/dockerpanel-nowhere/docker.sock"  # followed at each use
    assert "no engine socket there" in connection.probe(local, 10).error
    assert Host.objects.count() == 1


def test_only_local_may_leave_the_url_blank(admin_client):
    response = admin_client.post("/hosts/add/", {"name": "blank", "url": ""})
    assert response.status_code == 400
    assert "Give the engine URL." in response.content.decode()
    Host.default()
    assert admin_client.post("/hosts/local/settings/", {"url": "", "public_address": "me.example"}).status_code == 302
    assert Host.default().public_address == "me.example"


def test_it_keeps_exactly_one_default(admin_client, host_e2):
    local = Host.default()
    response = _follow_post(admin_client, "/hosts/e2/default/")
    assert "e2 is now the default host." in _messages(response)
    assert Host.default() == host_e2
    local.refresh_from_db()
    assert not local.is_default
    entry = AuditEntry.objects.get(action="host.default")
    assert (entry.target_name, entry.params["previous"], entry.ok) == ("e2", "local", True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Host.objects.filter(name="local").update(is_default=True)


def test_it_never_removes_the_default_or_the_last_host(admin_client, host_e2):
    Host.default()
    response = _follow_post(admin_client, "/hosts/local/remove/")
    assert "local is the default host; make another host the default first." in _messages(response)
    assert Host.objects.filter(name="local").exists()
    host_e2.delete()
    response = _follow_post(admin_client, "/hosts/local/remove/")
    assert "local is the only host; add another one first." in _messages(response)
    assert not AuditEntry.objects.get(action="host.remove", result__contains="only host").ok


def test_it_removes_a_host(admin_client, host_e2):
    Host.default()
    response = _follow_post(admin_client, "/hosts/e2/remove/")
    assert "Removed host e2." in _messages(response)
    assert not Host.objects.filter(name="e2").exists()
    entry = AuditEntry.objects.get(action="host.remove", ok=True)
    assert (entry.target_name, entry.host, entry.params["url"]) == ("e2", "e2", host_e2.url)


# the list: every host with its state, at once


def test_it_shows_every_host_up_with_its_engine(viewer_client, host_e2, host_e3, host_e2ssh, dk_e2, make_container):
    make_container()  # on the main engine: local counts it, e2 does not
    response = viewer_client.get("/hosts/")
    html = response.content.decode()
    info = dk_e2.info()
    for name in ("local", "e2", "e3", "e2ssh"):
        assert 'data-state="up"' in _row(html, name), _row(html, name)
    e2_row = _row(html, "e2")
    assert dk_e2.version()["Version"] in e2_row
    assert dk_e2.version()["ApiVersion"] in e2_row
    assert info["OperatingSystem"] in e2_row
    # e2 is shared with other test runs, which may add containers meanwhile: the form, not the numbers
    assert re.search(r"<td>\d+/\d+</td><td>\d+</td>", e2_row)
    assert "TLS" in _row(html, "e3")


def test_it_shows_a_host_down_and_why(viewer_client):
    Host.default()
    Host.objects.create(name="gone", url="unix:///run/dockerpanel-nowhere/docker.sock")
    row = _row(viewer_client.get("/hosts/").content.decode(), "gone")
    assert 'data-state="down"' in row
    assert "no engine socket there; is the Docker daemon running?" in row


class StalledEngine:
    """A unix socket that takes connections and never answers (a hung engine)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dp10-")
        self.path = f"{self.dir}/s.sock"
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen(64)

    def close(self):
        self.server.close()
        Path(self.path).unlink(missing_ok=True)
        Path(self.dir).rmdir()


@pytest.fixture
def stalled():
    engines = [StalledEngine() for _ in range(4)]
    yield engines
    for e in engines:
        e.close()


def test_one_hung_host_never_holds_up_the_others(viewer_client, settings, host_e2, stalled):
    settings.DOCKER_PAGE_TIMEOUT = 3
    for i, engine in enumerate(stalled):
        Host.objects.create(name=f"hung{i}", url=f"unix://{engine.path}")
    started = time.monotonic()
    html = viewer_client.get("/hosts/").content.decode()
    took = time.monotonic() - started
    assert 'data-state="up"' in _row(html, "e2")
    for i in range(len(stalled)):
        assert "is not answering (no answer within" in _row(html, f"hung{i}")
    # asked one after the other, four hung hosts would take 4 x 3 s
    assert took < 10, took


# adding, testing and the clear errors


def test_it_adds_and_tests_a_unix_host(admin_client, extra_engines, dk_e2):
    response = admin_client.post("/hosts/add/", {"name": "second", "url": extra_engines.e2_url})
    assert response.status_code == 302
    host = Host.objects.get(name="second")
    created = AuditEntry.objects.get(action="host.create")
    assert (created.target_name, created.params["url"], created.ok) == ("second", extra_engines.e2_url, True)
    response = _follow_post(admin_client, "/hosts/second/test/")
    version = dk_e2.version()
    assert (
        f"second answers: Docker Engine {version['Version']} (API {version['ApiVersion']})" in _messages(response)[-1]
    )
    tested = AuditEntry.objects.get(action="host.test")
    assert (tested.target_id, tested.host, tested.ok) == (str(host.pk), "second", True)
    assert AuditEntry.objects.get(action="host.create").host == "second"


def test_it_refuses_bad_input_with_a_clear_error(admin_client, extra_engines):
    cases = [
        ({"name": "Bad_Name", "url": "unix:///x.sock"}, "lowercase letters, digits and dashes"),
        ({"name": "add", "url": "unix:///x.sock"}, "&#x27;add&#x27; is reserved"),
        ({"name": "x", "url": "http://example.com"}, "starting with unix://, tcp:// or ssh://"),
        ({"name": "x", "url": "tcp://10.0.0.5"}, "Give the engine&#x27;s port"),
        ({"name": "x", "url": "ssh://10.0.0.5"}, "Give the SSH user"),
        ({"name": "x", "url": "ssh://root:pw@10.0.0.5"}, "Never put a password in the URL"),
        ({"name": "x", "url": extra_engines.ssh_url}, "needs the private key"),
        ({"name": "x", "url": extra_engines.ssh_url, "ssh_key": "hello"}, "not an SSH private key"),
        ({"name": "x", "url": extra_engines.e3_url, "tls_ca": extra_engines.read("ca")}, "TLS needs the CA"),
        ({**_tls_form(extra_engines, "x", key="rogue_key")}, "do not load or do not match"),
    ]
    for data, error in cases:
        response = admin_client.post("/hosts/add/", data)
        assert response.status_code == 400, data
        assert error in response.content.decode(), (data, error)
    assert not Host.objects.filter(name="x").exists()
    assert AuditEntry.objects.filter(action="host.create", ok=False).count() == len(cases)


def test_a_tls_host_works_with_the_right_certificates(admin_client, extra_engines, dk_e3):
    assert admin_client.post("/hosts/add/", _tls_form(extra_engines, "tls")).status_code == 302
    response = _follow_post(admin_client, "/hosts/tls/test/")
    assert f"tls answers: Docker Engine {dk_e3.version()['Version']}" in _messages(response)[-1]


def test_a_wrong_ca_gives_a_clear_tls_error(admin_client, extra_engines):
    # the rogue CA's client certificate goes with it, so the form itself accepts the set
    form = _tls_form(extra_engines, "badca", ca="rogue_ca", cert="rogue_cert", key="rogue_key")
    assert admin_client.post("/hosts/add/", form).status_code == 302
    response = _follow_post(admin_client, "/hosts/badca/test/")
    assert "TLS certificate verify failed: unable to get local issuer certificate" in _messages(response)[-1]
    assert "TLS certificate verify failed" in AuditEntry.objects.get(action="host.test").result
    row = _row(admin_client.get("/hosts/").content.decode(), "badca")
    assert 'data-state="down"' in row
    assert "TLS certificate verify failed" in row


def test_a_client_certificate_of_another_ca_gives_a_clear_tls_error(admin_client, extra_engines):
    form = _tls_form(extra_engines, "badcert", cert="rogue_cert", key="rogue_key")
    assert admin_client.post("/hosts/add/", form).status_code == 302
    response = _follow_post(admin_client, "/hosts/badcert/test/")
    assert "TLS handshake failed" in _messages(response)[-1]
    assert "client certificate" in _messages(response)[-1]


def _host_fingerprint() -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(STATE / "ssh" / "ssh_host_ed25519_key.pub")], capture_output=True, text=True
    ).stdout
    return out.split()[1]  # "256 SHA256:... comment (ED25519)"


def test_an_ssh_host_works_once_its_host_key_is_accepted(admin_client, extra_engines, dk_e2):
    data = {"name": "viassh", "url": extra_engines.ssh_url, "ssh_key": extra_engines.ssh_key}
    assert admin_client.post("/hosts/add/", data).status_code == 302
    response = _follow_post(admin_client, "/hosts/viassh/test/")
    port = extra_engines.ssh_url.rsplit(":", 1)[1]
    fingerprint = _host_fingerprint()
    assert _messages(response)[-1] == (
        f"viassh does not answer: The SSH host key of 127.0.0.1:{port} is not known: ssh-ed25519 {fingerprint} — "
        "accept it on the host's page if it is right."
    )
    assert response.redirect_chain[-1][0] == "/hosts/viassh/key/"
    page = response.content.decode()
    assert f"<code data-offered>ssh-ed25519 {fingerprint}</code>" in page
    line = response.context["line"]
    assert line == ssh_host_key_line(extra_engines)
    response = _follow_post(admin_client, "/hosts/viassh/key/", {"line": line})
    assert f"Accepted the SSH host key ssh-ed25519 {fingerprint} of viassh." in _messages(response)
    accepted = AuditEntry.objects.get(action="host.key_accept")
    assert accepted.params == {"fingerprint": f"ssh-ed25519 {fingerprint}", "previous": ""}
    response = _follow_post(admin_client, "/hosts/viassh/test/")
    assert f"viassh answers: Docker Engine {dk_e2.version()['Version']}" in _messages(response)[-1]


def test_it_refuses_a_key_line_for_another_host(admin_client, host_e2ssh):
    line = host_e2ssh.ssh_host_key.replace("[127.0.0.1]", "[10.9.9.9]")
    response = _follow_post(admin_client, "/hosts/e2ssh/key/", {"line": line})
    assert "not [127.0.0.1]" in _messages(response)[-1]
    assert not AuditEntry.objects.get(action="host.key_accept").ok


def test_a_changed_host_key_is_refused(viewer_client, host_e2ssh, tmp_path):
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = other.with_suffix(".pub").read_text().split()[:2]
    host_e2ssh.ssh_host_key = f"{host_e2ssh.ssh_host_key.split()[0]} {kind} {key}"
    host_e2ssh.save()
    state = connection.probe(host_e2ssh, 10)
    assert state.kind == "host-key-changed"
    assert f"it offers ssh-ed25519 {_host_fingerprint()}, not the accepted ssh-ed25519" in state.error
    assert "Refused" in state.error
    assert "has changed" in _row(viewer_client.get("/hosts/").content.decode(), "e2ssh")


# secrets


def test_secrets_never_come_back_out(admin_client, extra_engines, caplog):
    caplog.set_level(logging.DEBUG)
    tls_key, ssh_key = extra_engines.read("key"), extra_engines.ssh_key
    assert admin_client.post("/hosts/add/", _tls_form(extra_engines, "tls")).status_code == 302
    data = {"name": "viassh", "url": extra_engines.ssh_url, "ssh_key": ssh_key}
    assert admin_client.post("/hosts/add/", data).status_code == 302
    # a failed edit, which shows the form again with what was sent
    failed = admin_client.post("/hosts/viassh/settings/", {"url": "ssh://nobody", "ssh_key": ssh_key})
    assert failed.status_code == 400
    pages = [
        failed,
        admin_client.get("/hosts/"),
        admin_client.get("/hosts/tls/settings/"),
        admin_client.get("/hosts/viassh/settings/"),
        admin_client.post("/hosts/tls/test/", follow=True),
        admin_client.post("/hosts/viassh/test/", follow=True),
        admin_client.get("/audit/"),
    ]
    stored = Host.objects.get(name="tls")
    assert stored.tls_key != tls_key
    assert stored.secret("tls_key") == tls_key.strip()
    assert Host.objects.get(name="viassh").secret("ssh_key") == ssh_key.strip()
    audit_text = " ".join(f"{e.params} {e.result}" for e in AuditEntry.objects.all())
    for secret in _secret_parts(tls_key) + _secret_parts(ssh_key):
        for page in pages:
            assert secret not in page.content.decode()
        assert secret not in audit_text
        assert secret not in caplog.text
    assert "Leave blank to keep the stored key." in pages[2].content.decode()


def test_a_blank_key_keeps_the_stored_one(admin_client, host_e3):
    stored = host_e3.tls_key
    data = {"url": host_e3.url, "tls_ca": host_e3.tls_ca, "tls_cert": host_e3.tls_cert, "public_address": "e3.example"}
    assert admin_client.post("/hosts/e3/settings/", data).status_code == 302
    host_e3.refresh_from_db()
    assert (host_e3.tls_key, host_e3.public_address) == (stored, "e3.example")
    assert AuditEntry.objects.get(action="host.update").params["tls_key"] == "kept"
    assert connection.probe(host_e3, 10).up


def test_a_new_secret_key_makes_stored_keys_unreadable_with_a_clear_error(settings, host_e3):
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    state = connection.probe(host_e3, 10)
    assert not state.up
    assert "the stored TLS key cannot be read" in state.error


def test_ports_link_to_the_hosts_public_address(host_e2, host_e3, host_e2ssh, settings):
    settings.PORTS_HOST = ""
    assert host_e2.published_address() == ""
    assert host_e3.published_address() == "127.0.0.1"
    assert host_e2ssh.published_address() == "127.0.0.1"
    host_e2.public_address = "docker2.example"
    assert host_e2.published_address() == "docker2.example"


# roles


ADMIN_ONLY = [
    ("GET", "/hosts/add/"),
    ("POST", "/hosts/add/"),
    ("GET", "/hosts/e2/settings/"),
    ("POST", "/hosts/e2/settings/"),
    ("POST", "/hosts/e2/test/"),
    ("GET", "/hosts/e2/key/"),
    ("POST", "/hosts/e2/key/"),
    ("POST", "/hosts/e2/default/"),
    ("POST", "/hosts/e2/remove/"),
]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_an_admin_changes_hosts(client, request, role, host_e2):
    client.force_login(request.getfixturevalue(f"{role}_user"))
    for method, path in ADMIN_ONLY:
        data = {"name": "sneaky", "url": "unix:///x.sock", "line": "x"}
        response = client.post(path, data) if method == "POST" else client.get(path)
        assert response.status_code == 403, (method, path)
    assert list(Host.objects.exclude(name="local").values_list("name", "url", "is_default")) == [
        ("e2", host_e2.url, False)
    ]
    assert AuditEntry.objects.filter(action="permission.denied").count() == len(ADMIN_ONLY)
    assert client.get("/hosts/").status_code == 200


def test_anonymous_is_sent_to_login(client, admin_user, host_e2):
    for method, path in [("GET", "/hosts/"), *ADMIN_ONLY]:
        response = client.post(path) if method == "POST" else client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_new_address_forgets_the_accepted_host_key(admin_client, host_e2ssh, extra_engines):
    kept = {"url": host_e2ssh.url}  # same server, the stored private key kept
    assert admin_client.post("/hosts/e2ssh/settings/", kept).status_code == 302
    host_e2ssh.refresh_from_db()
    assert host_e2ssh.ssh_host_key
    moved = {"url": host_e2ssh.url.replace("127.0.0.1", "localhost")}
    assert admin_client.post("/hosts/e2ssh/settings/", moved).status_code == 302
    host_e2ssh.refresh_from_db()
    assert host_e2ssh.ssh_host_key == ""
    assert host_e2ssh.secret("ssh_key").strip() == extra_engines.ssh_key.strip()
    assert connection.probe(host_e2ssh, 10).kind == "host-key-unknown"


def test_the_top_bar_links_to_the_hosts(viewer_client):
    html = viewer_client.get("/containers/").content.decode()
    nav = html[html.index('<nav class="mainnav"') : html.index("</nav>")]
    assert '<a href="/hosts/" >Hosts</a>' in nav


# the engine registry builds each configured host's Engine from its row


@pytest.mark.parametrize("fixture", ["host_e2", "host_e3", "host_e2ssh"])
def test_a_hosts_pages_show_its_own_containers(viewer_client, request, fixture, dk_e2, dk_e3):
    host = request.getfixturevalue(fixture)
    arrange = dk_e3 if host.name == "e3" else dk_e2
    labels = {TEST_LABEL: "1", RUN_LABEL: RUN_ID}
    box = arrange.containers.create(BUSYBOX, "sleep 300", name=unique("on-" + host.name), labels=labels)
    try:
        there = viewer_client.get(f"/hosts/{host.name}/containers/?all=1")
        assert there.status_code == 200
        assert box.name in there.content.decode()
        assert box.name not in viewer_client.get("/containers/?all=1").content.decode()  # the default host's
    finally:
        box.remove(force=True)


def test_an_edited_host_gets_a_new_engine(host_e2, extra_engines):
    from containers.engine import UnknownHost, engine_for

    before = engine_for("e2")
    assert engine_for("e2") is before
    host_e2.public_address = "docker2.example"
    host_e2.save()
    after = engine_for("e2")
    assert after is not before
    assert after.public_host == "docker2.example"
    host_e2.delete()
    with pytest.raises(UnknownHost, match="No such Docker host: e2"):
        engine_for("e2")
