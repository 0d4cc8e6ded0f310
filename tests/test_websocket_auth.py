"""Websockets need a logged-in session; refusals are explained with close codes 4401/4403."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from dockerpanel.asgi import application
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def session_cookie_for(username: str, role: str | None) -> str:
    user = make_user(username, role)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def communicator(path: str, cookie: str | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


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
        "engine-events", {"type": "engine.event", "event": {"kind": "container", "action": "stop"}}
    )
    assert await ws.receive_json_from(timeout=2) == {"kind": "container", "action": "stop"}
    await ws.disconnect()


async def test_it_refuses_a_foreign_origin():
    ws = WebsocketCommunicator(application, "/ws/events/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()
