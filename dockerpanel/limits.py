"""ASGI middleware: an over-long URL is answered with 414 before Django or a consumer sees it."""

from __future__ import annotations

from django.conf import settings


def url_length(scope: dict) -> int:
    return len(scope.get("raw_path") or scope.get("path", "").encode()) + len(scope.get("query_string") or b"") + 1


class UrlLengthLimit:
    """Paths plus query strings longer than MAX_URL_LENGTH bytes get "414 URI Too Long"; a websocket
    handshake with one is refused."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and url_length(scope) > settings.MAX_URL_LENGTH:
            if scope["type"] == "http":
                body = f"414 URI Too Long: URLs are limited to {settings.MAX_URL_LENGTH} bytes.\n".encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 414,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", b"%d" % len(body)),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            else:
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.close", "code": 1009})
            return None
        return await self.app(scope, receive, send)
