"""What the engine seam needs of a client made by hosts.connection.make_client (issue 10), through
TLS (e3) and SSH (e2 over SSH): run, logs, stats, an exec socket, events to cancel, and an SSH
connection that comes back after it dropped."""

from __future__ import annotations

import time

import pytest

from hosts import connection
from tests.conftest import BUSYBOX, RUN_ID, RUN_LABEL, TEST_LABEL, unique
from tests.faults import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["host_e3", "host_e2ssh"])
def client(request):
    host = request.getfixturevalue(request.param)
    made = connection.make_client(host, timeout=20, pool_size=4)
    yield made
    made.close()


def _receive_until(sock, wanted: bytes) -> bytes:
    got = b""
    deadline = time.monotonic() + 30
    while wanted not in got and time.monotonic() < deadline:
        got += sock.recv(4096)
    return got


def test_a_client_runs_logs_samples_and_execs(client):
    labels = {TEST_LABEL: "1", RUN_LABEL: RUN_ID}
    container = client.containers.run(
        BUSYBOX, ["sh", "-c", "echo from-the-host; sleep 300"], detach=True, name=unique("tr"), labels=labels
    )
    try:
        wait_for(lambda: b"from-the-host" in container.logs(), 30, "the container's first line")
        sample = next(client.api.stats(container.id, stream=True, decode=True))
        assert "memory_stats" in sample
        exec_id = client.api.exec_create(container.id, ["sh"], stdin=True, tty=True)["Id"]
        raw = client.api.exec_start(exec_id, tty=True, socket=True)
        sock = getattr(raw, "_sock", raw)  # TLS: an SSLSocket itself; SSH: a paramiko Channel
        sock.sendall(b"echo sum-$((40+2))\n")
        assert b"sum-42" in _receive_until(sock, b"sum-42")
        sock.sendall(b"exit\n")
        sock.close()
        container.stop(timeout=0)
        assert container.wait(timeout=30)["StatusCode"] != 0
    finally:
        container.remove(force=True)


def test_an_event_stream_can_be_cancelled(client):
    events = client.api.events(decode=True, since=int(time.time()) - 3600, until=None)
    connection.close_stream(events)
    assert client.ping()


def test_a_dropped_ssh_connection_is_made_again(host_e2ssh):
    client = connection.make_client(host_e2ssh, timeout=20, pool_size=4)
    try:
        assert client.ping()
        client.api._custom_adapter.ssh_client.get_transport().close()  # as when the host restarts
        assert client.ping()
        assert client.version()["ApiVersion"]
    finally:
        client.close()


def test_a_client_factory_keeps_the_host_as_it_was(host_e3):
    make = connection.client_factory(host_e3)
    host_e3.url = "tcp://127.0.0.1:1"  # an edit after the factory was made changes nothing for it
    client = make(10, 4)
    try:
        assert client.ping()
    finally:
        client.close()
