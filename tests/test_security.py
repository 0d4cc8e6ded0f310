"""Issue 13: what an attacker tried, through dockerpanel.asgi.application (the stack daphne serves).

One section per finding; the browser halves (a listener on a published port, the CSP) are in
test_browser_security.py.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore

from containers.models import AuditEntry
from containers.sessions import LAST_SEEN_KEY
from dockerpanel.asgi import application
from tests import asgi
from tests.conftest import PASSWORD, TEMP_IMAGE_PREFIX, make_user
from tests.websockets import communicator, receive_close, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-new-Passphrase-4711"


@database_sync_to_async
def user(username: str, role: str | None) -> User:
    found = User.objects.filter(username=username).first()
    if found:
        return found
    made = make_user(username, role)
    if role == "admin":
        made.is_superuser = made.is_staff = True
        made.save()
    return made


@database_sync_to_async
def entries(action: str, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("id"))


async def until(condition, what: str, within: float = 30):
    """Poll `condition` (sync, run in a thread) until it is truthy."""
    deadline = time.monotonic() + within
    while True:
        value = await asyncio.to_thread(condition)
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {within}s for {what}"
        await asyncio.sleep(0.1)


# --- 1. the session must not reach published container ports ---


async def test_it_links_published_ports_on_the_other_loopback_name(make_container, dk):
    c = await asyncio.to_thread(make_container, ports={"80/tcp": ("0.0.0.0", None)})
    port = dk.api.inspect_container(c.id)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
    cookie = await session_cookie_for("viewer", "viewer")
    by_ip = await asgi.request("GET", "/containers/", cookie=cookie, host="127.0.0.1:8000")
    assert f'href="http://localhost:{port}/"' in by_ip.body
    assert f'href="http://127.0.0.1:{port}/"' not in by_ip.body
    by_name = await asgi.request("GET", "/containers/", cookie=cookie, host="localhost:8000")
    assert f'href="http://127.0.0.1:{port}/"' in by_name.body
    assert f'href="http://localhost:{port}/"' not in by_name.body


async def test_it_links_ports_on_PORTS_HOST_and_never_on_the_panels_host_name(make_container, dk, settings):
    c = await asyncio.to_thread(make_container, ports={"80/tcp": ("0.0.0.0", None)})
    port = dk.api.inspect_container(c.id)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
    settings.ALLOWED_HOSTS = ["panel.example"]
    cookie = await session_cookie_for("viewer", "viewer")
    page = await asgi.request("GET", f"/containers/{c.name}/", cookie=cookie, host="panel.example")
    assert f"0.0.0.0:{port}-&gt;80/tcp" in page.body
    # served on 127.0.0.1 (the server address), browsed by name: the address is a different cookie host
    assert f'href="http://127.0.0.1:{port}/"' in page.body
    assert "http://panel.example:" not in page.body
    settings.PORTS_HOST = "docker-host.example"
    page = await asgi.request("GET", f"/containers/{c.name}/", cookie=cookie, host="panel.example")
    assert f'href="http://docker-host.example:{port}/"' in page.body
    assert "http://panel.example:" not in page.body


async def test_it_refuses_a_session_replayed_from_another_address():
    await user("admin", "admin")
    cookie = await asgi.login("admin", PASSWORD, address="10.9.8.7")
    assert (await asgi.request("GET", "/users/", cookie=cookie, address="10.9.8.7")).status == 200
    stolen = await asgi.request("GET", "/users/", cookie=cookie, address="10.9.8.99")
    assert stolen.status == 302
    assert stolen.header("Location").startswith("/accounts/login/")
    [refused] = await entries("session.refused")
    assert refused.target_name == "admin"
    assert refused.client_ip == "10.9.8.99"
    assert "belongs to 10.9.8.7" in refused.result
    # the replay ended the session: the cookie is worth nothing from its own address either
    assert (await asgi.request("GET", "/users/", cookie=cookie, address="10.9.8.7")).status == 302


async def test_a_websocket_refuses_a_session_from_another_address():
    await user("operator", "operator")
    cookie = await asgi.login("operator", PASSWORD, address="10.9.8.7")
    ws = WebsocketCommunicator(
        application,
        "/ws/events/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie.encode())],
    )
    ws.scope["client"] = ("10.9.8.99", 40000)
    connected, _ = await ws.connect()
    assert connected
    assert await receive_close(ws) == 4401
    await ws.disconnect()
    [refused] = await entries("websocket.refused")
    assert "belongs to 10.9.8.7" in refused.result


# --- 2. websocket Origin: scheme, host and port ---

ROUTES = [
    "/ws/events/",
    "/ws/containers/x/exec/",
    "/ws/containers/x/attach/",
    "/ws/containers/x/logs/",
    "/ws/containers/x/stats/",
]


def socket_from(path: str, origin: str, cookie: str, host: str = "127.0.0.1:8000") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", host.encode()), (b"cookie", cookie.encode())]
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:9999", "http://localhost:1", "https://localhost", "https://127.0.0.1:8000", ""]
)
async def test_it_refuses_another_origin_on_every_socket(path, origin):
    ws = socket_from(path, origin, await session_cookie_for("admin", "admin"))
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()
    [refused] = await entries("websocket.refused")
    assert refused.username == "admin"
    assert refused.target_name == path
    assert refused.params["origin"] == origin


async def test_it_accepts_the_panels_own_origin_and_the_trusted_ones(settings):
    cookie = await session_cookie_for("viewer", "viewer")
    for origin, host in [("http://127.0.0.1:8000", "127.0.0.1:8000"), ("http://localhost", "localhost:80")]:
        ws = socket_from("/ws/events/", origin, cookie, host=host)
        connected, _ = await ws.connect()
        assert connected, origin
        await ws.disconnect()
    settings.CSRF_TRUSTED_ORIGINS = ["https://panel.example"]
    ws = socket_from("/ws/events/", "https://panel.example", cookie)
    connected, _ = await ws.connect()
    assert connected
    await ws.disconnect()


async def test_it_refuses_a_host_header_the_panel_does_not_answer_to():
    ws = socket_from(
        "/ws/events/", "http://evil.example", await session_cookie_for("viewer", "viewer"), host="evil.example"
    )
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


# --- 3. changing your own password closes your other sessions' sockets ---


def _sleepers(container) -> list[str]:
    out = container.exec_run(["ps", "-o", "args"]).output.decode()
    return [line for line in out.splitlines() if "sleep 777" in line]


async def test_changing_your_password_closes_your_other_sessions_sockets_and_kills_their_processes(make_container):
    box = await asyncio.to_thread(make_container, command="sleep 3600")
    await user("operator", "operator")
    here = await asgi.login("operator", PASSWORD)
    elsewhere = await asgi.login("operator", PASSWORD)
    kept = communicator("/ws/events/", here)
    shell = communicator(f"/ws/containers/{box.name}/exec/", elsewhere)
    for ws in (kept, shell):
        ws.scope["client"] = ("127.0.0.1", 40000)  # where both sessions logged in from
        assert (await ws.connect())[0]
    await shell.send_to(text_data=json.dumps({"type": "open", "cmd": "sleep 777"}))
    await until(lambda: _sleepers(box), "the exec'd sleep to run")

    r = await asgi.request(
        "POST",
        "/account/password/",
        cookie=here,
        data={"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert r.status == 302
    assert await receive_close(shell, within=30) == 4401
    await shell.disconnect()
    await until(lambda: not _sleepers(box), "the exec'd process to be killed")
    # this session's own socket stays open and keeps relaying
    from channels.layers import get_channel_layer

    await get_channel_layer().group_send("engine-events", {"type": "engine.event", "event": {"kind": "test"}})
    while (await kept.receive_json_from(timeout=10))["kind"] != "test":
        pass
    await kept.disconnect()


# --- 4. recorded names come from the engine ---


async def test_bulk_stop_records_the_engines_name_not_the_forms(make_container):
    c = await asyncio.to_thread(make_container)
    cookie = await session_cookie_for("operator", "operator")
    r = await asgi.request(
        "POST",
        "/containers/bulk/",
        cookie=cookie,
        data={"action": "stop", "confirm": "yes", "timeout": "0", "ids": [c.id], f"name-{c.id}": "prod-database"},
    )
    assert r.status == 200
    assert "prod-database" not in r.body
    [entry] = await entries("container.stop")
    assert entry.target_name == c.name
    assert entry.result == f"docker stop {c.name}"


async def test_bulk_stop_with_the_engine_down_reports_and_records_every_item(settings):
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    ids = ["a" * 64, "b" * 64]
    r = await asgi.request(
        "POST",
        "/containers/bulk/",
        cookie=await session_cookie_for("operator", "operator"),
        data={"action": "stop", "confirm": "yes", "ids": ids, f"name-{ids[0]}": "prod-database"},
    )
    assert r.status == 200
    assert "0 of 2 done" in r.body
    recorded = await entries("container.stop")
    assert [(e.target_id, e.target_name, e.ok) for e in recorded] == [(i, i[:12], False) for i in ids]
    assert all("nonexistent" in e.result for e in recorded)


# --- 5. environment values are masked; revealing them is audited ---


async def test_viewers_see_environment_values_masked(make_container, dk):
    c = await asyncio.to_thread(make_container, environment={"DB_PASSWORD": "hunter2-secret"})
    image = dk.images.get(c.image.id)
    cookie = await session_cookie_for("viewer", "viewer")
    detail = await asgi.request("GET", f"/containers/{c.name}/", cookie=cookie)
    assert detail.status == 200
    assert "DB_PASSWORD=******" in detail.body
    assert "hunter2-secret" not in detail.body
    assert "Reveal environment values" not in detail.body
    image_page = await asgi.request("GET", f"/images/{image.id[7:19]}/", cookie=cookie)
    assert "PATH=******" in image_page.body
    refused = await asgi.request("POST", f"/containers/{c.name}/env/", cookie=cookie)
    assert refused.status == 403
    assert "hunter2-secret" not in refused.body


async def test_an_operator_reveals_the_environment_and_it_is_recorded(make_container):
    c = await asyncio.to_thread(make_container, environment={"DB_PASSWORD": "hunter2-secret"})
    cookie = await session_cookie_for("operator", "operator")
    assert "Reveal environment values" in (await asgi.request("GET", f"/containers/{c.name}/", cookie=cookie)).body
    r = await asgi.request("POST", f"/containers/{c.name}/env/", cookie=cookie)
    assert r.status == 200
    assert "hunter2-secret" in r.body
    [entry] = await entries("container.env_revealed")
    assert (entry.username, entry.target_name) == ("operator", c.name)
    assert "DB_PASSWORD" in entry.params["variables"]
    assert "hunter2-secret" not in json.dumps(entry.params) + entry.result


# --- 7. audit gaps ---


async def test_it_records_logins_logouts_csrf_refusals_and_refused_sockets():
    await user("viewer", "viewer")
    cookie = await asgi.login("viewer", PASSWORD, address="10.1.2.3")
    [login] = await entries("login")
    assert (login.username, login.client_ip) == ("viewer", "10.1.2.3")
    forged = await asgi.request("POST", "/account/password/", cookie=cookie, address="10.1.2.3", csrf=False)
    assert forged.status == 403
    [csrf] = await entries("csrf.refused")
    assert csrf.username == "viewer"
    assert csrf.target_name == "/account/password/"
    out = await asgi.request("POST", "/accounts/logout/", cookie=cookie, address="10.1.2.3")
    assert out.status == 302
    [logout] = await entries("logout")
    assert logout.username == "viewer"
    ws = communicator("/ws/events/")
    assert (await ws.connect())[0]
    assert await receive_close(ws) == 4401
    await ws.disconnect()
    [refused] = await entries("websocket.refused")
    assert refused.result == "not logged in"


async def test_anonymous_entries_are_rate_limited_per_address(settings):
    settings.AUDIT_ANONYMOUS_PER_MINUTE = 5
    await user("viewer", "viewer")
    for i in range(12):
        r = await asgi.request(
            "POST", "/accounts/login/", data={"username": f"guess{i}", "password": "x"}, address="10.0.0.66"
        )
        assert r.status == 200  # the form again, with its error
    assert len(await entries("login.failed", client_ip="10.0.0.66")) == 5
    await asgi.request("POST", "/accounts/login/", data={"username": "guess", "password": "x"}, address="10.0.0.67")
    assert len(await entries("login.failed", client_ip="10.0.0.67")) == 1  # another address is not held back


async def test_refused_sockets_from_a_logged_in_browser_are_rate_limited_too(settings):
    settings.AUDIT_ANONYMOUS_PER_MINUTE = 5
    cookie = await session_cookie_for("admin", "admin")
    for _ in range(8):  # a hostile page looping with the admin's cookies
        ws = socket_from("/ws/events/", "http://127.0.0.1:9999", cookie)
        assert not (await ws.connect())[0]
        await ws.disconnect()
    assert len(await entries("websocket.refused")) == 5


# --- 8. bounded input ---


async def test_rename_refuses_an_overlong_name(make_container, dk):
    c = await asyncio.to_thread(make_container)
    cookie = await session_cookie_for("admin", "admin")
    for name in ["x" * 1_000_000, "y" * 129]:
        r = await asgi.request("POST", f"/containers/{c.name}/rename/", cookie=cookie, data={"new_name": name})
        assert r.status == 302
        assert dk.api.inspect_container(c.id)["Name"] == f"/{c.name}"
        shown = f"messages={r.cookie_value('messages')}"
        page = await asgi.request("GET", r.header("Location"), cookie=f"{cookie}; {shown}")
        assert "use 2 to 128 letters" in page.body
        assert len(page.body) < 200_000
    ok = await asgi.request(
        "POST", f"/containers/{c.name}/rename/", cookie=cookie, data={"new_name": c.name[:100] + "z" * 28}
    )
    assert ok.status == 302
    assert dk.api.inspect_container(c.id)["Name"] == "/" + c.name[:100] + "z" * 28


async def test_it_caps_port_bindings_with_a_clear_message(dk, settings):
    settings.MAX_PORT_BINDINGS = 100
    cookie = await session_cookie_for("admin", "admin")
    form = {
        "image": "dockerpanel-test/busybox:latest",
        "name": "",
        "mode": "run",
        "detach": "on",
        "restart": "no",
        "ports-TOTAL_FORMS": "0",
        "ports-INITIAL_FORMS": "0",
        "env-TOTAL_FORMS": "0",
        "env-INITIAL_FORMS": "0",
    }
    preview = await asgi.request(
        "POST", "/containers/new/preview/", cookie=cookie, data={**form, "publish": "-p 1-65535:1-65535"}
    )
    assert "65535 port bindings: a container may have at most 100 (MAX_PORT_BINDINGS)" in preview.body
    before = len(dk.api.containers(all=True))
    run = await asgi.request("POST", "/containers/new/", cookie=cookie, data={**form, "publish": "-p 1-65535"})
    assert run.status == 200
    assert "65535 port bindings" in run.body
    assert len(dk.api.containers(all=True)) <= before  # nothing created (other runs may remove theirs)
    fits = await asgi.request(
        "POST", "/containers/new/preview/", cookie=cookie, data={**form, "publish": "-p 8000-8099:80-179"}
    )
    assert "-p 8000-8099:80-179" in fits.body
    assert "MAX_PORT_BINDINGS" not in fits.body


async def test_an_overlong_url_gets_414():
    r = await asgi.request("GET", "/containers/?name=" + "a" * 10_000)
    assert r.status == 414
    assert "URLs are limited to 4096 bytes" in r.body
    ws = WebsocketCommunicator(application, "/ws/events/?x=" + "a" * 10_000, headers=[(b"origin", b"http://127.0.0.1")])
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


# --- 9. prune removes only dangling images ---


def _image_exists(dk, image_id: str) -> bool:
    return any(i["Id"] == image_id for i in dk.api.images(all=True))


async def test_prune_removes_only_dangling_images(make_container, dk):
    seed = await asyncio.to_thread(make_container, command="sh -c 'head -c 64 /dev/urandom > /seed'")
    await asyncio.to_thread(seed.wait, timeout=30)
    tagged = await asyncio.to_thread(seed.commit, repository=f"{TEMP_IMAGE_PREFIX}keep", tag="v1", message="kept")
    dangling = await asyncio.to_thread(seed.commit, message="dangling")  # no repository: <none>:<none>
    assert tagged.id != dangling.id
    try:
        r = await asgi.request(
            "POST",
            "/images/prune/",
            cookie=await session_cookie_for("admin", "admin"),
            data={"confirm": "yes", "ids": [tagged.id, dangling.id, "busybox"]},
        )
        assert r.status == 200
        recorded = {e.target_id: e for e in await entries("image.prune")}
        assert _image_exists(dk, tagged.id)
        assert not _image_exists(dk, dangling.id), recorded[dangling.id].result
        assert recorded[dangling.id].ok
        assert not recorded[tagged.id].ok
        assert "not dangling, so prune keeps it" in recorded[tagged.id].result
        assert "not an image ID" in recorded["busybox"].result
    finally:
        if _image_exists(dk, dangling.id):
            dk.images.remove(dangling.id, force=True)


# --- 10. disclosure ---


async def test_anonymous_health_says_only_ok_or_not(settings):
    ok = await asgi.request("GET", "/healthz")
    assert ok.status == 200
    assert json.loads(ok.body) == {"status": "ok"}
    settings.DOCKER_HOST = "ssh://deploy@10.0.0.5:2222"
    down = await asgi.request("GET", "/healthz")
    assert down.status == 503
    assert json.loads(down.body) == {"status": "error"}
    detailed = await asgi.request("GET", "/healthz", cookie=await session_cookie_for("viewer", "viewer"))
    assert json.loads(detailed.body)["engine"]["address"] == "ssh://deploy@10.0.0.5:2222"


async def test_exec_takes_its_command_from_the_first_frame_not_the_url(make_container):
    box = await asyncio.to_thread(make_container, command="sleep 3600")
    ws = communicator(
        f"/ws/containers/{box.name}/exec/?cmd=sleep%20999", await session_cookie_for("operator", "operator")
    )
    assert (await ws.connect())[0]
    await ws.send_to(text_data=json.dumps({"type": "open", "cmd": "sh"}))
    await ws.send_to(bytes_data=b"echo $((6*7))\n")
    output = b""
    deadline = time.monotonic() + 30
    while b"42" not in output:
        assert time.monotonic() < deadline, output
        message = await ws.receive_output(timeout=30)
        output += message.get("bytes") or b""
    await ws.disconnect()
    [opened] = await entries("container.exec", result="session opened")
    assert opened.params["cmd"] == "sh"


# --- 11. hardening ---


async def test_pages_carry_a_csp_without_unsafe_inline_scripts():
    r = await asgi.request("GET", "/accounts/login/")
    policy = r.header("Content-Security-Policy")
    script = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script == "script-src 'self'"
    assert "frame-ancestors 'none'" in policy


async def test_an_idle_session_is_logged_out():
    await user("viewer", "viewer")
    cookie = await asgi.login("viewer", PASSWORD)
    assert (await asgi.request("GET", "/", cookie=cookie)).status == 200

    @database_sync_to_async
    def age(seconds: float) -> None:
        store = SessionStore(cookie.split("=", 1)[1])
        store[LAST_SEEN_KEY] = time.time() - seconds
        store.save()

    await age(7 * 3600)
    assert (await asgi.request("GET", "/", cookie=cookie)).status == 200
    await age(8 * 3600 + 60)
    r = await asgi.request("GET", "/", cookie=cookie)
    assert r.status == 302
    assert r.header("Location").startswith("/accounts/login/")
    [refused] = await entries("session.refused")
    assert refused.result == "the session was idle too long"


async def test_passwords_need_12_characters():
    await user("viewer", "viewer")
    cookie = await session_cookie_for("viewer", "viewer")
    r = await asgi.request(
        "POST",
        "/account/password/",
        cookie=cookie,
        data={"old_password": PASSWORD, "new_password1": "Xq7#pLm2vR9", "new_password2": "Xq7#pLm2vR9"},
    )
    assert r.status == 400
    assert "at least 12 characters" in r.body


async def test_csv_export_neutralises_formulas_after_a_semicolon():
    @database_sync_to_async
    def write() -> None:
        AuditEntry.objects.create(action="container.rename", target_name='web;=HYPERLINK("http://x")', params={})

    await write()
    r = await asgi.request("GET", "/audit/export.csv", cookie=await session_cookie_for("viewer", "viewer"))
    assert "web;'=HYPERLINK" in r.body
    assert "web;=HYPERLINK" not in r.body
