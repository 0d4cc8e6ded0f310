"""/setup/ under concurrency: exactly one first administrator, with one server process or two."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.live import PanelServer

PASSPHRASE = "a-long-Passphrase-42"


def superusers(server: PanelServer) -> list[str]:
    out = server.manage(
        "shell",
        "-c",
        "import json; from django.contrib.auth.models import User; "
        "print(json.dumps(sorted(User.objects.filter(is_superuser=True).values_list('username', flat=True))))",
    )
    return json.loads(out.strip().splitlines()[-1])


def race(servers: list[PanelServer], posts: int) -> list[int]:
    """`posts` clients each load the setup form, then all post it at the same moment."""
    ready = threading.Barrier(posts)
    statuses: list[int] = []

    def one(i: int) -> None:
        server = servers[i % len(servers)]
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(server.url + "/setup/", timeout=60).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        body = urllib.parse.urlencode(
            {"username": f"admin{i}", "password1": PASSPHRASE, "password2": PASSPHRASE, "csrfmiddlewaretoken": token}
        ).encode()
        ready.wait(timeout=60)
        try:
            statuses.append(opener.open(server.url + "/setup/", data=body, timeout=60).status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


@pytest.fixture
def two_processes():
    """Two daphne processes on one data folder (database and secret key), as behind a load balancer."""
    first = PanelServer().start()
    second = PanelServer(extra_env={"DOCKERPANEL_DATA": first.data.name})
    try:
        second.start()
        yield first, second
    finally:
        second.stop()  # its own (unused) temporary folder goes; the shared one goes with the first
        first.stop()


def test_six_concurrent_posts_to_one_process_make_one_admin(fresh_panel):
    statuses = race([fresh_panel], 6)
    assert len(superusers(fresh_panel)) == 1
    assert sorted(statuses) == [200] + [404] * 5  # the winner follows its redirect to the dashboard


def test_six_concurrent_posts_to_two_processes_make_one_admin(two_processes):
    statuses = race(list(two_processes), 6)
    assert len(superusers(two_processes[0])) == 1
    assert sorted(statuses) == [200] + [404] * 5
