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
    Page("POST", "/accounts/logout/", "login"),
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
    # every other URL of a host's pages (issue 10: a row for every URL pattern, see the test below)
    Page("POST", "/containers/new/preview/", "admin", {"image": "dockerpanel-test/busybox:latest"}),
    Page("POST", "/containers/new/ports/", "admin", {"publish": "8080:80"}),
    Page("POST", "/containers/new/pull/", "admin", {"image": "NOT A REFERENCE"}, allowed=(200, 400)),
    Page("POST", "/containers/columns/", "viewer", {"columns": ["id", "names"]}),
    Page("POST", "/containers/bulk/", "operator", {"action": "stop", "ids": ["{container}"]}),
    Page("GET", "/containers/stats.json?ids={container_id}", "viewer"),
    Page("POST", "/containers/{container}/start/", "operator"),
    Page("POST", "/containers/{container}/restart/", "operator", {"timeout": "0"}),
    Page("POST", "/containers/{container}/kill/", "operator"),
    Page("POST", "/containers/{container}/unpause/", "operator"),
    Page("POST", "/containers/{container}/rename/", "admin", {"new_name": "-not-a-name"}),
    Page("POST", "/containers/{container}/remove/", "admin"),
    Page("GET", "/containers/{container}/logs/", "viewer"),
    Page("GET", "/containers/{container}/logs/download/?tail=5", "viewer"),
    Page("GET", "/containers/{container}/stats/", "viewer"),
    Page("GET", "/images/dockerpanel-test/busybox:latest/", "viewer"),
    Page("POST", "/images/pull/", "admin", {"image": "NOT A REFERENCE"}),
    Page("POST", "/images/prune/", "admin"),
    Page("POST", "/images/dp-permissions-no-such-image:latest/remove/", "admin", allowed=(404,)),
    Page("POST", "/images/dockerpanel-test/busybox:latest/tag/", "admin", {"target": "NOT A REFERENCE"}),
    Page("POST", "/deploy/apache/run/", "admin", {"name": ""}),
    Page("POST", "/deploy/apache/remove/", "admin", {"container": "dp-permissions-no-such-container"}, allowed=(404,)),
]

# Pages anyone may open: the login, the first-run setup, the health check, the language switch and
# the script catalog (the login page needs them). Checked below to stay reachable without a login.
PUBLIC = [
    Page("GET", "/accounts/login/", "anonymous"),
    Page("GET", "/setup/", "anonymous", allowed=(404,)),  # gone once the panel is set up
    Page("GET", "/healthz", "anonymous", allowed=(200, 503)),
    Page("POST", "/language/", "anonymous", {"language": "ko", "next": "/"}),
    Page("GET", "/jsi18n/", "anonymous"),
]

# A host's pages are mounted again under /hosts/<name>/ (the default host's name is "local"): each
# row of those is checked there too, for anonymous, the role just below the one needed, and that role.
HOST_PREFIXES = ("/containers/", "/images/", "/deploy/")
HOST_PAGES = [
    Page(p.method, "/hosts/local" + p.path, p.needs, p.data, p.allowed)
    for p in PAGES
    if p.path.startswith(HOST_PREFIXES)
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
    ("/ws/containers/{tty_container}/attach/", "operator"),
    ("/ws/containers/{container}/logs/", "viewer"),
    ("/ws/containers/{container}/stats/", "viewer"),
]
SOCKETS += [(path.replace("/ws/", "/ws/hosts/local/", 1), needs) for path, needs in SOCKETS]


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
    if "{tty_container}" in path:  # docker attach needs a container made with -i -t
        make = request.getfixturevalue("make_container")
        container = await asyncio.to_thread(make, command="sh", tty=True, stdin_open=True)
        path = path.format(tty_container=container.name)
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


def _below(needs: str) -> str:
    return {"login": "anonymous", "viewer": "outsider", "operator": "viewer", "admin": "operator"}[needs]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "role"),
    [(p, r) for p in HOST_PAGES for r in dict.fromkeys(["anonymous", _below(p.needs), p.needs])],
    ids=lambda v: str(v),
)
def test_it_enforces_the_role_on_every_page_of_a_host(client, request, page: Page, role: str):
    test_it_enforces_the_role_on_every_page(client, request, page, role)


@pytest.mark.django_db
@pytest.mark.parametrize("page", PUBLIC, ids=str)
def test_public_pages_need_no_login(client, page: Page):
    make_user("target", "viewer")  # the panel is set up
    response = client.generic(page.method, page.path, data=_encode(page.data), content_type=_form)
    assert response.status_code in page.allowed, f"{page}: {response.status_code}"
    assert not response.get("Location", "").startswith("/accounts/login/")


def _url_patterns() -> list[tuple[str, str]]:
    """(route, name) of every URL pattern, namespaces included (host:containers:detail)."""
    from django.urls import URLResolver, get_resolver

    def walk(resolver, prefix: str = "", ns: tuple = ()):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                yield from walk(p, prefix + str(p.pattern), ns + ((p.namespace,) if p.namespace else ()))
            else:
                yield prefix + str(p.pattern), ":".join((*ns, p.name or ""))

    return list(walk(get_resolver()))


def _sample(path: str) -> str:
    return path.format(user_id=1, host="other", container="box", tty_container="box", container_id="0" * 64).split("?")[
        0
    ]


def test_every_url_pattern_has_a_row_in_the_matrix():
    """A new URL fails here until it has a row in PAGES or PUBLIC (and so its role is checked)."""
    from django.urls import Resolver404, resolve

    covered = set()
    for page in PAGES + HOST_PAGES + PUBLIC:
        try:
            covered.add(resolve(_sample(page.path)).view_name)
        except Resolver404:
            pytest.fail(f"the row {page} names no URL")
    missing = sorted(f"{name} ({route})" for route, name in _url_patterns() if name not in covered)
    assert not missing, f"URL patterns without a row in the permission matrix: {missing}"


def test_every_websocket_route_has_a_row_in_the_matrix():
    from channels.routing import URLRouter
    from django.urls.resolvers import RoutePattern

    from containers.routing import websocket_urlpatterns

    routes = []
    for outer in websocket_urlpatterns:
        inner = outer.callback if isinstance(outer.callback, URLRouter) else None
        for route in inner.routes if inner else [outer]:
            routes.append(str(outer.pattern) + (str(route.pattern) if inner else ""))
    samples = [_sample(path).lstrip("/") for path, _needs in SOCKETS]
    missing = [r for r in routes if not any(RoutePattern(r, is_endpoint=True).match(s) for s in samples)]
    assert not missing, f"websocket routes without a row in SOCKETS: {missing}"
