"""A hung engine must not exhaust PostgreSQL: a real cluster (Debian's PostgreSQL 15) started by
the test, a private dockerd frozen with SIGSTOP, and many page requests waiting on it at once."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import PASSWORD
from tests.live import PanelServer, PostgresServer, login_session

POOL = 4
PAGES = 40


@pytest.fixture
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def panel_on_postgres(postgres, private_engine):
    server = PanelServer(
        extra_env={
            "DATABASE_URL": postgres.url,
            "DATABASE_POOL_MAX_SIZE": str(POOL),
            "DOCKER_HOST": private_engine.url,
            "DOCKER_PAGE_TIMEOUT": "8",
        }
    )
    try:
        server.start()
        server.add_user("viewer", PASSWORD, "viewer")
        server.add_user("admin", PASSWORD, "admin")
        yield server
    finally:
        server.stop()


def _connections(postgres: PostgresServer) -> int:
    # the panel's connections: to its database, not this query's own
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'dockerpanel' AND pid <> pg_backend_pid()"
    return int(postgres.psql(sql))


def _get(opener, url: str) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _log_in_to_the_audit_page(server: PanelServer, username: str) -> int:
    """Log in through the form, landing on /audit/ (no engine call): its status."""
    import http.cookiejar
    import re
    import urllib.parse

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(server.url + "/accounts/login/?next=/audit/", timeout=60).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/audit/"}
    status, page = _get(
        opener,
        urllib.request.Request(
            server.url + "/accounts/login/?next=/audit/", data=urllib.parse.urlencode(form).encode()
        ),
    )
    assert "Audit log" in page or status != 200, page[:500]
    return status


def test_it_keeps_logins_and_health_checks_working_while_pages_wait_on_a_frozen_engine(
    panel_on_postgres, postgres, private_engine
):
    server = panel_on_postgres
    opener, _ = login_session(server, "viewer", PASSWORD)
    assert _get(opener, server.url + "/containers/")[0] == 200
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:  # the panel's database connections, every 50 ms, while the pages wait
        while not done.is_set():
            samples.append(_connections(postgres))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    private_engine.freeze()
    try:
        sampler.start()
        with concurrent.futures.ThreadPoolExecutor(PAGES) as pool:
            started = time.monotonic()
            pages = [pool.submit(_get, opener, server.url + "/containers/") for _ in range(PAGES)]
            admin = _log_in_to_the_audit_page(server, "admin")
            health = _get(opener, server.url + "/healthz")  # logged in: with the details
            results = [p.result() for p in pages]
            took = time.monotonic() - started
    finally:
        done.set()
        private_engine.thaw()
    sampler.join(10)
    peak = max(samples)
    assert admin == 200  # logged in (a session written) while the pages waited
    assert health[0] == 503  # the engine is not answering...
    body = json.loads(health[1])
    assert body["database"] == "ok"  # ...but the database accepts writes
    assert "not answering" in body["engine"]["error"]
    assert peak <= POOL, f"{peak} database connections for {PAGES} waiting pages (pool {POOL})"
    assert [status for status, _ in results] == [503] * PAGES
    assert all("The Docker engine is not answering" in page for _, page in results)
    # bounded by DOCKER_PAGE_TIMEOUT (8 s): had each page held one of the 4 connections while it
    # waited, 40 pages would take 10 rounds of 8 s, and the login would have timed out
    assert took < 60
    print(
        f"\n{PAGES} pages ({len(samples)} samples) waiting on a frozen engine: peak {peak} database connections, all answered in {took:.1f} s"
    )
