"""HTTP through dockerpanel.asgi.application (URL limit, Django, middleware), as daphne would call it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from channels.testing import HttpCommunicator
from django.conf import settings

from dockerpanel.asgi import application

# A CSRF secret of Django's format, set as the cookie and sent back in the form, as a browser would.
CSRF = "a" * 32


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def cookies(self) -> dict[str, str]:
        """name -> the whole Set-Cookie value."""
        found = {}
        for k, v in self.headers:
            if k.lower() == "set-cookie":
                found[v.split("=", 1)[0]] = v
        return found

    def cookie_value(self, name: str) -> str:
        value = self.cookies().get(name, "")
        match = re.match(rf"{re.escape(name)}=([^;]*)", value)
        return match[1] if match else ""


async def request(
    method: str,
    path: str,
    *,
    cookie: str = "",
    data: dict | None = None,
    host: str = "127.0.0.1:8000",
    address: str = "127.0.0.1",
    csrf: bool = True,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """One request from `address`; a POST carries a valid CSRF cookie and token unless csrf=False."""
    sent = [(b"host", host.encode())]
    cookies = [cookie] if cookie else []
    body = b""
    if method == "POST":
        fields = dict(data or {})
        if csrf:
            cookies.append(f"{settings.CSRF_COOKIE_NAME}={CSRF}")
            fields["csrfmiddlewaretoken"] = CSRF
        body = urlencode(fields, doseq=True).encode()
        sent.append((b"content-type", b"application/x-www-form-urlencoded"))
        sent.append((b"content-length", str(len(body)).encode()))
    if cookies:
        sent.append((b"cookie", "; ".join(cookies).encode()))
    sent += [(k.encode(), v.encode()) for k, v in headers or []]
    comm = HttpCommunicator(application, method, path, body=body, headers=sent)
    comm.scope["client"] = (address, 50000)
    comm.scope["server"] = ("127.0.0.1", 8000)
    if "?" in path:  # HttpCommunicator keeps the raw path out of the scope; the URL limit reads it
        comm.scope["raw_path"] = path.split("?", 1)[0].encode()
    await comm.send_input({"type": "http.request", "body": body})
    start = await comm.receive_output(timeout=120)
    assert start["type"] == "http.response.start", start
    content = b""
    while True:  # a streamed response (the CSV export) comes in parts, the last one perhaps empty
        part = await comm.receive_output(timeout=120)
        content += part.get("body", b"")
        if not part.get("more_body"):
            break
    await comm.wait(timeout=5)
    return Response(
        status=start["status"],
        headers=[(k.decode(), v.decode()) for k, v in start.get("headers", [])],
        body=content.decode("utf-8", "replace"),
    )


async def login(username: str, password: str, address: str = "127.0.0.1") -> str:
    """Log in with the form from `address`; returns the Cookie header value of the new session."""
    r = await request("POST", "/accounts/login/", data={"username": username, "password": password}, address=address)
    assert r.status == 302, r.body[:2000]
    session = r.cookie_value(settings.SESSION_COOKIE_NAME)
    assert session, r.headers
    return f"{settings.SESSION_COOKIE_NAME}={session}"
