"""A Redis outage (a real redis-server stopped): websocket connects degrade to "no live updates",
say so with close code 4503 instead of failing the handshake with a 500, and recover by themselves."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.conftest import PASSWORD
from tests.live import PanelServer, RedisServer, login_session


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def panel_on_redis(redis_server):
    server = PanelServer(extra_env={"REDIS_URL": redis_server.url})
    try:
        server.start()
        server.add_user("viewer", PASSWORD, "viewer")
        yield server
    finally:
        server.stop()


async def _connect(server: PanelServer, cookie: str) -> tuple[str, list[dict], int | None]:
    """Open /ws/events/: ("open", messages so far, None) or ("closed", messages, close code)."""
    url = server.url.replace("http://", "ws://") + "/ws/events/"
    headers = {"Cookie": cookie, "Origin": server.url}
    async with websockets.connect(url, additional_headers=headers, open_timeout=30, close_timeout=5) as ws:
        messages = []
        deadline = asyncio.get_running_loop().time() + 3  # still open 3 s later (engine events may flow)
        try:
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            pass
        except websockets.ConnectionClosed as closed:
            return "closed", messages, closed.rcvd.code if closed.rcvd else None
        return "open", messages, None


async def test_it_degrades_to_no_live_updates_while_redis_is_down_and_recovers(panel_on_redis, redis_server):
    _, cookie = login_session(panel_on_redis, "viewer", PASSWORD)
    state, _, _ = await _connect(panel_on_redis, cookie)
    assert state == "open"
    redis_server.proc.terminate()
    redis_server.proc.wait(10)
    state, messages, code = await _connect(panel_on_redis, cookie)
    assert (state, code) == ("closed", 4503)
    assert messages[-1]["kind"] == "live"
    assert messages[-1]["action"] == "unavailable"
    assert "Live updates are off" in messages[-1]["message"]
    back = RedisServer()
    back.port, back.url = redis_server.port, redis_server.url  # the same address, as after a restart
    back.start()
    try:
        for _ in range(30):  # the layer reconnects on its own; wait for it rather than for a fixed time
            state, _, _ = await _connect(panel_on_redis, cookie)
            if state == "open":
                break
            await asyncio.sleep(1)
        assert state == "open"
    finally:
        back.stop()
