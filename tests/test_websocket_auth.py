"""Websockets need a logged-in session; refusals are explained with close codes 4401/4403."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from dockerpanel.asgi import application
from tests.websockets import communicator, receive_close, session_cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_closes_an_anonymous_socket_with_4401():
    ws = communicator("/ws/events/")
    connected, _ = await ws.connect()
    assert connected
    out = await ws.receive_output(timeout=2)
    assert out == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()


async def test_it_closes_a_socket_without_a_role_with_4403():
    ws = communicator("/ws/events/", await session_cookie_for("outsider", None))
    connected, _ = await ws.connect()
    assert connected
    out = await ws.receive_output(timeout=2)
    assert out == {"type": "websocket.close", "code": 4403}
    await ws.disconnect()


async def test_it_accepts_a_viewer_and_relays_events():
    from channels.layers import get_channel_layer

    ws = communicator("/ws/events/", await session_cookie_for("viewer", "viewer"))
    connected, _ = await ws.connect()
    assert connected
    await get_channel_layer().group_send(
        "engine-events", {"type": "engine.event", "event": {"kind": "test", "action": "stop"}}
    )
    # engine events from other tests sharing the engine may come first
    while (message := await ws.receive_json_from(timeout=2))["kind"] != "test":
        assert message["kind"] == "engine"
    assert message == {"kind": "test", "action": "stop"}
    await ws.disconnect()


async def test_it_refuses_a_foreign_origin():
    ws = WebsocketCommunicator(application, "/ws/events/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_it_closes_the_sockets_of_a_revoked_user():
    from channels.layers import get_channel_layer

    from containers.consumers import user_group

    cookie = await session_cookie_for("viewer", "viewer")
    ws = communicator("/ws/events/", cookie)
    connected, _ = await ws.connect()
    assert connected
    user_id = await database_sync_to_async(lambda: User.objects.get(username="viewer").pk)()
    await get_channel_layer().group_send(user_group(user_id), {"type": "user.revoked", "code": 4401})
    assert await receive_close(ws) == 4401
    await ws.disconnect()
