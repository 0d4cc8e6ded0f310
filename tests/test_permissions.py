"""The permission matrix: every role against every page, POST and websocket.

Data-driven: add a row to PAGES or SOCKETS for each new URL. Paths may name `{user_id}` (a viewer
named "target"), `{host}` (a second host, not the default), `{container}` (a running test container's name, made only for rows that use it) or
`{container_id}` (such a container's full ID).
A role below the row's `needs` gets 403 (pages) or close code 4403 (sockets), and the refusal is in
the audit log; an anonymous visitor is sent to the login page (pages) or closed with 4401 (sockets).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import User

from containers.models import AuditEntry
from tests.conftest import make_user
from tests.websockets import communicator, receive_close, session_cookie_for

ROLES = ["anonymous", "outsider", "viewer", "operator", "admin"]
# "login": any logged-in user, with or without a role.
RANK = {"anonymous": 0, "login": 1, "outsider": 1, "viewer": 2, "operator": 3, "admin": 4}
NEW_PASSWORD = "a-new-Passphrase-4711"


@dataclass(frozen=True)
class Page:
    method: str
    path: str
    needs: str
    data: dict = field(default_factory=dict)
    allowed: tuple[int, ...] = (200, 302)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


PAGES = [
    Page("GET", "/", "viewer"),
    Page("GET", "/audit/", "viewer"),
    Page("GET", "/audit/?action=user.create&page=2", "viewer"),
    Page("GET", "/audit/export.csv", "viewer"),
    Page("GET", "/users/", "admin"),
    Page(
        "POST",
        "/users/add/",
        "admin",
        {"username": "newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "role": "viewer"},
    ),
    Page("POST", "/users/{user_id}/role/", "admin", {"role": "operator"}),
    Page("POST", "/users/{user_id}/deactivate/", "admin"),
    Page("POST", "/users/{user_id}/activate/", "admin"),
    Page("GET", "/users/{user_id}/password/", "admin"),
    Page("POST", "/users/{user_id}/password/", "admin", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}),
    Page("GET", "/account/password/", "login"),
    Page("POST", "/account/theme/", "login", {"theme": "dark", "next": "/"}),
    # containers and images (issue 3), terminal (issue 4), run form and deploy (issue 5)
    Page("GET", "/containers/", "viewer"),
    # pages of the list (issue 15) and the rows a live update fetches
    Page("GET", "/containers/?all=1&sort=names&dir=desc&size=25&page=2", "viewer"),
    Page("GET", "/containers/?all=1&id={container_id}", "viewer"),
    Page("GET", "/containers/{container}/", "viewer"),
    Page("GET", "/containers/go/?ref={container}", "viewer"),
    Page("GET", "/images/", "viewer"),
    Page("POST", "/containers/{container}/stop/", "operator", {"timeout": "0"}),
    Page("POST", "/containers/{container}/pause/", "operator"),
    Page("GET", "/containers/{container}/terminal/", "operator"),
    Page("POST", "/containers/{container}/env/", "operator"),
    Page("POST", "/images/dockerpanel-test/busybox:latest/env/", "operator"),
    Page("GET", "/containers/{container}/attach/", "operator"),
    Page("GET", "/containers/new/", "admin"),
    Page("GET", "/deploy/apache/", "admin"),
    Page(
        "POST",
        "/account/password/",
        "login",
        {"old_password": "correct-horse-battery-staple", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
]

# hosts (issue 10); {host} is a second host, never the default
PAGES += [
    Page("GET", "/hosts/", "viewer"),
    Page("GET", "/hosts/add/", "admin"),
    Page("POST", "/hosts/add/", "admin", {"name": "matrix", "url": "unix:///var/run/docker.sock"}),
    Page("GET", "/hosts/{host}/settings/", "admin"),
    Page("POST", "/hosts/{host}/settings/", "admin", {"url": "unix:///var/run/docker.sock"}),
    Page("POST", "/hosts/{host}/test/", "admin"),
    Page("GET", "/hosts/{host}/key/", "admin"),
    Page("POST", "/hosts/{host}/default/", "admin"),
    Page("POST", "/hosts/{host}/remove/", "admin"),
]

SOCKETS = [
    ("/ws/events/", "viewer"),
    ("/ws/containers/{container}/exec/", "operator"),
]


def user_for(role: str) -> User | None:
    if role == "anonymous":
        return None
    user = make_user(role, None if role == "outsider" else role)
    if role == "admin":
        user.is_superuser = user.is_staff = True
        user.save()
    return user


def expand(path: str, request) -> str:
    values = {}
    if "{user_id}" in path:
        values["user_id"] = User.objects.get(username="target").pk
    if "{container}" in path:
        values["container"] = request.getfixturevalue("make_container")().name
    if "{host}" in path:
        from hosts.models import Host

        Host.default()
        values["host"] = Host.objects.create(name="second", url="unix:///var/run/docker.sock").name
    if "{container_id}" in path:
        values["container_id"] = request.getfixturevalue("make_container")().id
    return path.format(**values)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES, ids=str)
def test_it_enforces_the_role_on_every_page(client, request, page: Page, role: str):
    make_user("target", "viewer")  # also: the panel is set up (no first-run redirect)
    user = user_for(role)
    if user:
        client.force_login(user)
    path = expand(page.path, request)
    response = client.generic(page.method, path, data=_encode(page.data), content_type=_form)
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    elif RANK[role] < RANK[page.needs]:
        assert response.status_code == 403, f"{role} {page}"
        denied = AuditEntry.objects.get(action="permission.denied", username=role)
        assert denied.params["needed"] == page.needs
        assert not denied.ok
    else:
        assert response.status_code in page.allowed, f"{role} {page}: {response.status_code}"
        assert not AuditEntry.objects.filter(action="permission.denied").exists()
    if response.streaming:
        response.close()


_form = "application/x-www-form-urlencoded"


def _encode(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "needs"), SOCKETS)
async def test_it_enforces_the_role_on_every_socket(request, path: str, needs: str, role: str):
    from containers import events

    if "{container}" in path:
        container = await asyncio.to_thread(request.getfixturevalue("make_container"))
        path = path.format(container=container.name)
    cookie = None if role == "anonymous" else await session_cookie_for(role, None if role == "outsider" else role)
    ws = communicator(path, cookie)
    connected, _ = await ws.connect()
    assert connected  # accepted, then closed with a code the page can explain
    try:
        if role == "anonymous":
            assert await receive_close(ws) == 4401
        elif RANK[role] < RANK[needs]:
            assert await receive_close(ws) == 4403
        else:
            await asyncio.sleep(0.3)  # a refusal would have come by now; engine events may have
            while not ws.output_queue.empty():
                assert ws.output_queue.get_nowait()["type"] == "websocket.send"
    finally:
        await ws.disconnect()
        await events.stop_listener()


# Form pages answer GET with the form and POST with the change; every other POST row is POST-only.
FORM_PAGES = {"/account/password/", "/users/{user_id}/password/", "/hosts/add/", "/hosts/{host}/settings/"}


@pytest.mark.django_db
@pytest.mark.parametrize("page", [p for p in PAGES if p.method == "POST" and p.path not in FORM_PAGES], ids=str)
def test_it_refuses_get_on_every_post_only_url(admin_client, request, page: Page):
    make_user("target", "viewer")
    assert admin_client.get(expand(page.path, request)).status_code == 405
