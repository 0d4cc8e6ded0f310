"""Terminals on remote hosts: `docker exec -it` and `docker attach` through the pages' sockets on a
TLS host (e3) and an SSH host (e2 over SSH), whose connections the event loop cannot read itself."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import RUN_ID, RUN_LABEL, unique
from tests.test_terminal import open_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def _shell(client):
    """A container started like `docker run -dit busybox sh` on that engine."""
    return client.containers.run(
        "dockerpanel-test/busybox:latest",
        "sh",
        name=unique("term"),
        tty=True,
        stdin_open=True,
        detach=True,
        labels={RUN_LABEL: RUN_ID},
    )


@pytest.fixture(params=["e3", "e2ssh"])
def remote(request):
    """(host name, a shell container on its engine): e3 is reached by TLS, e2ssh by SSH."""
    host = request.getfixturevalue(f"host_{request.param}")
    client = request.getfixturevalue("dk_e3" if request.param == "e3" else "dk_e2")
    box = _shell(client)
    yield host.name, box
    box.remove(force=True)


async def test_a_shell_on_a_remote_host_echoes_and_exits_with_its_code(remote):
    host, box = remote
    term = await open_terminal(f"/ws/hosts/{host}/containers/{box.name}/exec/?cmd=sh")
    try:
        await term.type("echo $((6*7))x\n")
        await term.until(b"42x")
        await term.type("exit 3\n")
        status = await term.until_status(60)
        assert (status["type"], status["code"]) == ("exit", 3), status
    finally:
        await term.close()


async def test_attaching_on_a_tls_host_detaches_with_ctrl_p_ctrl_q(host_e3, dk_e3):
    box = await asyncio.to_thread(_shell, dk_e3)
    try:
        term = await open_terminal(f"/ws/hosts/{host_e3.name}/containers/{box.name}/attach/")
        try:
            await term.type("echo attached-$((2+3))\n")
            await term.until(b"attached-5")
            await term.type("\x10\x11")  # Ctrl-P Ctrl-Q: the engine's detach keys
            await term.until_status(60)
        finally:
            await term.close()
        box.reload()
        assert box.status == "running"  # detached, not stopped
    finally:
        await asyncio.to_thread(box.remove, force=True)
