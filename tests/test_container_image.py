"""The panel installed as a container, the way Docker panels are: the image from the top-level
Dockerfile (built by scripts/image.sh from the local debian:bookworm, wheels from the host), run with
the engine's socket and a fresh /data volume, healthy, first run and login over HTTP, the containers
list, an exec websocket, and its own container protected."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time

import pytest
import websockets

from tests.conftest import BUSYBOX, PASSWORD, RUN_ID, RUN_LABEL, TEST_LABEL, unique
from tests.live import Browser, build_images, free_port, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def panel_in_container(dk):
    """A container of the panel's image, as the README runs it, on a free loopback port; removed after."""
    image = build_images("panel")["panel"]
    volume = dk.volumes.create(unique("data"), labels={TEST_LABEL: "1", RUN_LABEL: RUN_ID})
    port = free_port()
    container = dk.containers.run(
        image,
        detach=True,
        name=unique("panel"),
        labels={TEST_LABEL: "1", RUN_LABEL: RUN_ID},
        ports={"8000/tcp": ("127.0.0.1", port)},
        volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock"}, volume.name: {"bind": "/data"}},
    )
    try:

        def healthy() -> bool:
            container.reload()
            if container.status == "exited":
                raise AssertionError(f"the panel's container exited:\n{container.logs().decode()}")
            return container.attrs["State"].get("Health", {}).get("Status") == "healthy"

        wait_until(healthy, 120, "the panel's container turning healthy")
        yield container, f"http://127.0.0.1:{port}", port
    finally:
        print(f"--- panel container log ---\n{container.logs().decode()[-5000:]}")  # shown when a test fails
        container.remove(force=True, v=True)
        volume.remove(force=True)


def test_it_runs_as_a_container_managing_its_engine(panel_in_container, make_container, dk):
    container, url, port = panel_in_container
    # Not root: the entry point gave its user the socket's group instead.
    top = container.top(ps_args="-o pid,uid,args")["Processes"]
    assert [uid for _, uid, args in top if "daphne" in args] == ["10001"], top

    first = Browser(url)
    assert "Create the first administrator" in first.get("/setup/")
    landed, page = first.post("/setup/", {"username": "root", "password1": PASSWORD, "password2": PASSWORD})
    assert landed == url + "/"
    assert "root" in page

    user = Browser(url)
    landed, _ = user.post("/accounts/login/", {"username": "root", "password": PASSWORD})
    assert landed == url + "/"
    other = make_container()
    listing = user.get("/containers/")
    assert f'data-name="{other.name}"' in listing
    assert f'data-name="{container.name}"' in listing
    # Its own row: the published port is a link (its host is the panel's choice), the box is disabled.
    row = listing[listing.index(f'data-name="{container.name}"') :].split("</tr>", 1)[0]
    assert re.search(rf'href="http://[^"/]+:{port}/"', row), row
    assert "data-own-container" in row
    # Static files were collected (and hashed) at build time.
    css = re.search(r'href="(/static/css/panel\.[0-9a-f]+\.css)"', listing)
    assert css, "no hashed panel.css link"
    assert "body" in user.get(css[1])

    # Its own container: no stop offered, and a stop asked for anyway is refused and it keeps running.
    detail = user.get(f"/containers/{container.name}/")
    assert "This is the container the panel runs in." in detail
    landed, page = user.post(f"/containers/{container.id}/stop/", {}, token_from=f"/containers/{container.name}/")
    assert f"{container.name} is the container this panel runs in" in page
    container.reload()
    assert container.status == "running"

    # The run form's port checks from inside: a port a container publishes is named before anything
    # is made; one a host process holds (out of this container's sight) is refused by the engine.
    form = {"mode": "run", "image": BUSYBOX, "command": "sleep 30", "restart": "no", "detach": "on"}
    form |= {"ports-TOTAL_FORMS": "0", "ports-INITIAL_FORMS": "0", "env-TOTAL_FORMS": "0", "env-INITIAL_FORMS": "0"}
    _, page = user.post("/containers/new/", {**form, "name": unique("clash"), "publish": f"-p 127.0.0.1:{port}:80"})
    assert f"host port {port}/tcp is already published by container {container.name}" in page
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        name = unique("held")
        _, page = user.post(
            "/containers/new/", {**form, "name": name, "publish": f"-p 127.0.0.1:{held.getsockname()[1]}:80"}
        )
    assert f"{name} could not start, so it was removed again." in page
    assert "address already in use" in page
    assert not dk.containers.list(all=True, filters={"name": name})

    asyncio.run(exec_echo(url, user.cookie_header(), other.name))


async def exec_echo(url: str, cookie: str, name: str) -> None:
    """`docker exec -it NAME sh` through the containerized panel's websocket: a command and its output."""
    ws = await websockets.connect(
        url.replace("http", "ws") + f"/ws/containers/{name}/exec/?cmd=sh",
        additional_headers={"Cookie": cookie},
        origin=url,
        open_timeout=30,
    )
    try:
        await ws.send(b"echo $((6 * 7))-from-the-image\n")
        seen = b""
        deadline = time.monotonic() + 30
        while b"42-from-the-image" not in seen:
            frame = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
            if isinstance(frame, bytes):
                seen += frame
            else:
                assert json.loads(frame).get("type") != "error", frame
    finally:
        await ws.close()
