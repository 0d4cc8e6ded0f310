"""Websocket Origin check: only the panel's own origin (scheme, host and port) and the trusted ones.

Channels' AllowedHostsOriginValidator compares host names only, so a page served on another port of
the same machine (`http://127.0.0.1:9999`, any published container port) could open a root shell
with the admin's cookies. Browsers always send Origin on websocket handshakes; we require it.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from containers import audit

DEFAULT_PORTS = {"http": "80", "https": "443"}


def normalise(origin: str) -> str:
    """`scheme://host[:port]` lower-cased, the default port dropped."""
    origin = origin.strip().lower().rstrip("/")
    scheme, sep, rest = origin.partition("://")
    if not sep or not rest or "/" in rest:
        return ""
    host, port = rest, ""
    if rest.startswith("["):
        end = rest.find("]")
        host, port = rest[: end + 1], rest[end + 2 :] if rest[end + 1 : end + 2] == ":" else ""
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    if port == DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def own_origin(scope: dict) -> str:
    """The origin a browser showing the panel sends: the handshake's scheme and Host header."""
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        return ""
    scheme = "https" if scope.get("scheme") in ("wss", "https") or _proxied_https(headers) else "http"
    return normalise(f"{scheme}://{host}")


def _proxied_https(headers: dict) -> bool:
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not header:
        return False
    name = header[0].removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    return headers.get(name, b"").decode("latin-1").split(",")[0].strip() == header[1]


def allowed(scope: dict) -> bool:
    headers = dict(scope.get("headers") or [])
    origin = normalise(headers.get(b"origin", b"").decode("latin-1"))
    if not origin:
        return False
    if origin in {normalise(o) for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    # The Host header must be one the panel answers to, or a rebinding page could name itself.
    host = split_domain_port(origin.partition("://")[2])[0]
    return origin == own_origin(scope) and validate_host(host, settings.ALLOWED_HOSTS)


class OriginValidator:
    """ASGI middleware for the websocket router: a foreign origin is refused before any consumer runs."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not allowed(scope):
            headers = dict(scope.get("headers") or [])
            await database_sync_to_async(audit.record)(
                scope,
                "websocket.refused",
                target_name=scope.get("path", "")[:255],
                params={"origin": headers.get(b"origin", b"").decode("latin-1")[:200]},
                ok=False,
                result="origin not allowed",
            )
            # As channels' validator does: refuse the handshake (the browser sees a 403).
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return None
        return await self.app(scope, receive, send)
