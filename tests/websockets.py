"""Websocket test helpers: a real session cookie through the full ASGI stack."""

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore

from dockerpanel.asgi import application
from tests.conftest import make_user


@database_sync_to_async
def session_cookie_for(username: str, role: str | None) -> str:
    """Create the user (with role, or none) and a logged-in session; return the Cookie header value."""
    user = User.objects.filter(username=username).first() or make_user(username, role)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def communicator(path: str, cookie: str | None = None) -> WebsocketCommunicator:
    """A client for `path` through dockerpanel.asgi.application, from an allowed origin."""
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_close(ws: WebsocketCommunicator, within: float = 2) -> int:
    """The close code the server sends next, skipping live messages (engine events from any test)."""
    import time

    deadline = time.monotonic() + within
    while True:
        out = await ws.receive_output(timeout=max(deadline - time.monotonic(), 0.01))
        if out["type"] == "websocket.close":
            return out.get("code", 1000)
