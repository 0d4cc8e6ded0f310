"""Behind a TLS proxy: Secure __Host- cookies, HSTS and the proxy header, set from the environment;
and an over-long URL answered 414 by the real server (daphne), not a dropped connection."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest

from tests.conftest import PASSWORD
from tests.live import PanelServer


@pytest.fixture
def https_panel():
    server = PanelServer(
        extra_env={
            "SECURE_COOKIES": "1",
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
        }
    )
    server.start()
    server.add_user("admin", PASSWORD, "admin")
    yield server
    server.stop()


def get(server: PanelServer, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{server.port}", **(headers or {})})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_it_sets_secure_host_prefixed_cookies_and_hsts_behind_a_tls_proxy(https_panel):
    r = get(https_panel, "/accounts/login/", {"X-Forwarded-Proto": "https"})
    assert r.status == 200
    assert r.getheader("Strict-Transport-Security") == "max-age=31536000"
    cookie = r.getheader("Set-Cookie")
    assert cookie.startswith("__Host-csrftoken=")
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie
    # the request the proxy marks as https is secure; without the header it is not (no HSTS then)
    assert get(https_panel, "/accounts/login/").getheader("Strict-Transport-Security") is None

    # logging in gives a __Host- session cookie too
    page = get(https_panel, "/accounts/login/", {"X-Forwarded-Proto": "https"})
    csrf = page.getheader("Set-Cookie").split(";")[0].split("=", 1)[1]
    body = urllib.parse.urlencode({"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    conn = http.client.HTTPConnection("127.0.0.1", https_panel.port, timeout=30)
    conn.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Host": f"127.0.0.1:{https_panel.port}",
            "X-Forwarded-Proto": "https",
            "Origin": f"https://127.0.0.1:{https_panel.port}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"__Host-csrftoken={csrf}",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 302
    session = [v for k, v in response.getheaders() if k.lower() == "set-cookie" and v.startswith("__Host-sessionid=")]
    assert session, response.getheaders()
    assert "Secure" in session[0]


def test_it_answers_an_overlong_url_with_414(panel):
    r = get(panel, "/containers/?name=" + "a" * 10_000)
    assert r.status == 414
    assert get(panel, "/healthz").status == 200  # the server is fine afterwards
