"""Shared fixtures: named users, a real Docker engine, labelled test objects and their clean-up."""

from __future__ import annotations

import uuid

import docker
import pytest
from django.contrib.auth.models import Group, User
from django.utils import translation

from containers import engine
from tests.faults import PrivateEngine

TEST_LABEL = "dockerpanel.test"
# Several test runs may share one engine (developers' worktrees): each run cleans only its own.
RUN_ID = uuid.uuid4().hex[:8]
RUN_LABEL = "dockerpanel.test.run"
BUSYBOX = "dockerpanel-test/busybox:latest"
DEBIAN = "debian:bookworm"
# Containers a test names, and images it tags or pulls, start with these so clean-up finds them
# even when the panel (not the test) created them without the labels.
NAME_PREFIX = f"dp-test-{RUN_ID}"
TEMP_IMAGE_PREFIX = f"dockerpanel-test-tmp/r{RUN_ID}-"
PASSWORD = "correct-horse-battery-staple"


def pytest_collection_modifyitems(items) -> None:
    """Every test not marked unit or browser talks to a real engine: mark it so (-m engine, -m unit)."""
    for item in items:
        if not any(item.get_closest_marker(m) for m in ("unit", "browser")):
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def dk():
    """The test's own Docker SDK client, for arranging and checking engine state."""
    client = docker.from_env(version="auto")
    yield client
    client.close()


def remove_test_objects(client) -> None:
    """Remove this run's containers, temporary images and networks."""
    mine = {c.id: c for c in client.containers.list(all=True, sparse=True, filters={"label": f"{RUN_LABEL}={RUN_ID}"})}
    for c in client.containers.list(all=True, sparse=True, filters={"name": NAME_PREFIX}):
        mine.setdefault(c.id, c)
    for c in mine.values():
        try:
            c.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
    # The raw list is one call; images.list() inspects each image and races with other runs' removals.
    for image in client.api.images():
        for tag in image.get("RepoTags") or []:
            if tag.startswith(TEMP_IMAGE_PREFIX) or tag.startswith(f"127.0.0.1:5000/{TEMP_IMAGE_PREFIX}"):
                try:
                    client.images.remove(tag, force=True)
                except docker.errors.APIError:
                    pass
    for net in client.networks.list(filters={"label": f"{RUN_LABEL}={RUN_ID}"}):
        net.remove()


@pytest.fixture(scope="session", autouse=True)
def _clean_engine_at_end(request):
    """Remove every labelled container, temp image and network after the run, failures included
    (not for a run of unit tests alone: they need no engine, and there may be none)."""
    yield
    if all(item.get_closest_marker("unit") for item in request.session.items):
        return
    client = docker.from_env(version="auto")
    try:
        remove_test_objects(client)
    finally:
        client.close()


def unique(what: str = "c") -> str:
    """A name no other test or run uses, which this run's clean-up will find."""
    return f"{NAME_PREFIX}-{what}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_container(dk):
    """Create a labelled container on the real engine: make_container(command=..., start=True, **kw)."""

    def make(image: str = BUSYBOX, command="sleep 3600", start: bool = True, name: str | None = None, **kw):
        labels = {TEST_LABEL: "1", RUN_LABEL: RUN_ID, **kw.pop("labels", {})}
        c = dk.containers.create(image, command, name=name or unique(), labels=labels, **kw)
        if start:
            c.start()
        c.reload()
        return c

    return make


@pytest.fixture(scope="session", autouse=True)
def _close_database_pools(request):
    """On PostgreSQL (make pgtest), end the other connections before the test database is dropped:
    the pool's, and those of worker threads (sync_to_async, the engine pools) that outlive tests,
    would keep the database "accessed by other users"."""
    from django.conf import settings

    if "pool" not in settings.DATABASES["default"].get("OPTIONS", {}):
        yield
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    yield
    from django.db import connections

    with blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connections["default"].close_pool()


@pytest.fixture(autouse=True)
def _fresh_engine_client():
    """Each test starts with no Engine (some tests point DOCKER_HOST elsewhere, or change hosts, in
    a database that is rolled back after them)."""
    engine.registry.reset()
    yield
    engine.registry.reset()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request through the test client leaves its
    language active in the thread (LocaleMiddleware activates it, nothing deactivates it), and
    messages made outside a request (ports, engine, toasts) would follow it into later tests."""
    translation.deactivate()
    yield
    translation.deactivate()


def make_user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username, f"{username}@example.test", PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def admin_user(db):
    user = make_user("admin", "admin")
    user.is_superuser = user.is_staff = True
    user.save()
    return user


@pytest.fixture
def operator_user(db):
    return make_user("operator", "operator")


@pytest.fixture
def viewer_user(db):
    return make_user("viewer", "viewer")


@pytest.fixture
def outsider_user(db):
    """Logged in, but holds no role."""
    return make_user("outsider", None)


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    return _client_for(client, admin_user)


@pytest.fixture
def operator_client(client, operator_user):
    return _client_for(client, operator_user)


@pytest.fixture
def viewer_client(client, viewer_user):
    return _client_for(client, viewer_user)


@pytest.fixture
def outsider_client(client, outsider_user):
    return _client_for(client, outsider_user)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (browser downloads do not work here).

    Per module, not per session: while Playwright's sync API is open its event loop counts as
    running in the main thread, and every async test after it would fail to start its own loop."""
    from playwright.sync_api import sync_playwright

    from tests.live import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # Tests evaluate their own scripts (wait_for_function), which the panel's CSP would refuse;
    # test_browser_security.py checks the pages under the CSP in a context of its own.
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def panel():
    """A panel served by daphne with users admin/operator/viewer (password PASSWORD)."""
    from tests.live import PanelServer

    server = PanelServer().start()
    for name in ("admin", "operator", "viewer"):
        server.add_user(name, PASSWORD, name)
    yield server
    server.stop()


@pytest.fixture
def fresh_panel():
    """A panel with an empty database (first run)."""
    from tests.live import PanelServer

    server = PanelServer().start()
    yield server
    server.stop()


def login(page, panel, username: str) -> None:
    page.goto(panel.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def registry_image(dk, make_container):
    """registry_image("name") -> a reference in the local registry (127.0.0.1:5000) that is NOT local.

    Its top layer is random bytes of its own, so a pull must download it rather than find it here.
    """

    def push(name: str, size: int = 200_000) -> str:
        pushed = f"127.0.0.1:5000/{TEMP_IMAGE_PREFIX}{name}:v1"
        seed = make_container(command=f"sh -c 'head -c {size} /dev/urandom > /blob'")
        seed.wait(timeout=30)
        seed.commit(repository=pushed.rsplit(":", 1)[0], tag="v1")
        for line in dk.images.push(pushed, stream=True, decode=True):
            assert "error" not in line, line
        dk.images.remove(pushed)
        return pushed

    return push


@pytest.fixture
def private_engine():
    """A dockerd of the test's own (tests/faults.py: its own bridge, sockets and data), removed after."""
    private = PrivateEngine().start()
    try:
        yield private
    finally:
        private.stop()


# Extra engines (issue 10, tests/engines.py): started once, reused by later runs; each a ready Host.


@pytest.fixture(scope="session")
def extra_engines():
    """e2 (unix), e3 (TLS) and e2 over SSH, running; this run's labelled objects removed at the end."""
    from tests import engines

    found = engines.up()
    yield found
    for url in (found.e2_url, found.e3_sock):
        client = docker.DockerClient(base_url=url, version="auto")
        try:
            remove_test_objects(client)
        finally:
            client.close()


@pytest.fixture(scope="session")
def dk_e2(extra_engines):
    """An SDK client of e2, for arranging and checking its state."""
    client = docker.DockerClient(base_url=extra_engines.e2_url, version="auto")
    yield client
    client.close()


@pytest.fixture(scope="session")
def dk_e3(extra_engines):
    """An SDK client of e3 (through its unix socket), for arranging and checking its state."""
    client = docker.DockerClient(base_url=extra_engines.e3_sock, version="auto")
    yield client
    client.close()


@pytest.fixture
def host_e2(db, extra_engines):
    from hosts.models import Host

    return Host.objects.create(name="e2", url=extra_engines.e2_url)


@pytest.fixture
def host_e3(db, extra_engines):
    """e3 over TCP with TLS, with the right CA, client certificate and key."""
    from hosts.models import Host

    host = Host(name="e3", url=extra_engines.e3_url, tls_ca=extra_engines.read("ca"))
    host.tls_cert = extra_engines.read("cert")
    host.set_secret("tls_key", extra_engines.read("key"))
    host.save()
    return host


@pytest.fixture
def host_e2ssh(db, extra_engines):
    """e2 over SSH, its host key accepted."""
    from hosts.models import Host
    from tests.engines import ssh_host_key_line

    host = Host(name="e2ssh", url=extra_engines.ssh_url, ssh_host_key=ssh_host_key_line(extra_engines))
    host.set_secret("ssh_key", extra_engines.ssh_key)
    host.save()
    return host
