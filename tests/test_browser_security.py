"""Issue 13 in Debian's chromium: a listener on a published port gets no usable session, and the
Content-Security-Policy (no inline scripts) leaves every page working."""

from __future__ import annotations

import http.client
import re
import time

import pytest

from tests.conftest import login

pytestmark = pytest.mark.browser

# Logs each request's head to /tmp/requests and answers; `nc -ll -e` forks a handler per connection,
# so the browser's preconnects (opened, then closed without a word) cannot block the real request.
HANDLER = (
    'while IFS= read -r line; do echo "$line" >> /tmp/requests; [ "$line" = "$(printf "\\r")" ] && break; done; '
    'printf "HTTP/1.0 200 OK\\r\\nContent-Length: 9\\r\\nConnection: close\\r\\n\\r\\nlistening"'
)
LISTENER = f"printf '%s\\n' '{HANDLER}' > /handler.sh && exec nc -ll -p 80 -e sh /handler.sh"


def logged_requests(container) -> str:
    result = container.exec_run(["cat", "/tmp/requests"])
    return result.output.decode() if result.exit_code == 0 else ""


def wait_for(condition, what: str, within: float = 60):
    deadline = time.monotonic() + within
    while not (value := condition()):
        assert time.monotonic() < deadline, f"waited {within}s for {what}"
        time.sleep(0.2)
    return value


def get_from(address: str, port: int, path: str, cookie: str) -> http.client.HTTPResponse:
    """A request to the panel from another loopback address, as a replay from another machine."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(address, 0))
    conn.request("GET", path, headers={"Cookie": cookie, "Host": f"127.0.0.1:{port}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_a_listener_on_a_published_port_gets_no_usable_session(page, panel, make_container, dk):
    box = make_container(command=["sh", "-c", LISTENER], ports={"80/tcp": ("127.0.0.1", None)})
    port = dk.api.inspect_container(box.id)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
    login(page, panel, "admin")
    page.goto(f"{panel.url}/containers/{box.name}/")
    link = page.locator(f'[data-field="ports"] a[href$=":{port}/"]').first
    assert link.get_attribute("href") == f"http://localhost:{port}/"  # not the panel's 127.0.0.1
    with page.context.expect_page() as opened:
        link.click()
    wait_for(lambda: "GET / " in logged_requests(box), "the browser's request to reach the listener")
    opened.value.close()
    heard = logged_requests(box)
    assert f"Host: localhost:{port}" in heard
    assert "sessionid" not in heard
    assert "csrftoken" not in heard

    # A cookie taken anyway (as from the old links) cannot be replayed from elsewhere.
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    cookie = f"sessionid={session['value']}"
    stolen = get_from("127.0.0.2", panel.port, "/users/", cookie)
    assert stolen.status == 302
    assert stolen.getheader("Location").startswith("/accounts/login/")
    page.goto(f"{panel.url}/users/")  # and the replay ended the session
    assert "/accounts/login/" in page.url


@pytest.fixture
def strict_page(browser):
    """A page that obeys the CSP (the shared `page` fixture bypasses it for tests' own scripts)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_every_page_works_under_the_content_security_policy(strict_page, panel, make_container):
    page = strict_page
    box = make_container(command="sh", tty=True, stdin_open=True)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, panel, "admin")
    page.goto(f"{panel.url}/containers/")
    # the "Show all" filter submits itself (the handler lives in panel.js, not in an onchange)
    page.check("input[name=all]")
    page.wait_for_url(lambda url: "all=1" in url)
    # select-all (data-select-all): clicked and checked in one task, so a live refresh cannot come between
    assert page.evaluate(
        "() => { document.querySelector('[data-select-all]').click();"
        " const boxes = [...document.querySelectorAll('input[name=ids]')];"
        " return boxes.length > 0 && boxes.every((b) => b.checked); }"
    )
    page.goto(f"{panel.url}/images/")
    page.check("input[name=dangling]")
    page.wait_for_url(lambda url: "dangling=1" in url)
    for path in (
        f"/containers/{box.name}/",
        f"/containers/{box.name}/logs/",
        f"/containers/{box.name}/stats/",
        "/users/",
        "/audit/",
        "/containers/new/",
    ):
        page.goto(panel.url + path)
    page.goto(f"{panel.url}/containers/{box.name}/terminal/?cmd=sh")
    # (a selector, not wait_for_function: that evaluates a string, which this page's CSP refuses)
    page.locator("#terminal-status", has_text=re.compile(r"^Connected")).wait_for()
    # a message's close button (data-dismiss) still works
    page.goto(f"{panel.url}/containers/{box.name}/")
    page.click("form[action$='/pause/'] button")
    page.wait_for_selector(".message")
    page.click(".message button.close")
    page.wait_for_selector(".message", state="detached")
    assert violations == []
