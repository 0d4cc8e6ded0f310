"""In Debian's chromium: a live page says when its engine goes away (a private dockerd killed with
SIGKILL) and clears that by itself when the engine is back."""

import pytest

from tests.conftest import BUSYBOX, PASSWORD, login
from tests.live import PanelServer

pytestmark = pytest.mark.browser


@pytest.fixture
def panel_on_private_engine(private_engine):
    server = PanelServer(extra_env={"DOCKER_HOST": private_engine.url, "DOCKER_PAGE_TIMEOUT": "5"})
    try:
        server.start()
        server.add_user("viewer", PASSWORD, "viewer")
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["/", "/containers/"])
def test_it_shows_an_engine_down_banner_and_clears_it_when_the_engine_returns(
    page, panel_on_private_engine, private_engine, path
):
    login(page, panel_on_private_engine, "viewer")
    page.goto(panel_on_private_engine.url + path)
    page.wait_for_function("document.body.dataset.live === 'on'")
    assert page.locator(".engine-banner").count() == 0
    private_engine.kill()
    banner = page.locator(".engine-banner")
    banner.wait_for(state="visible", timeout=15_000)
    assert "The Docker engine is down" in banner.inner_text()
    private_engine.start()  # the same engine again: same socket, same data
    banner.wait_for(state="detached", timeout=60_000)
    assert page.evaluate("document.body.dataset.engine") == "up"


def test_the_logs_page_says_the_engine_was_lost_and_resumes_when_it_returns(
    page, panel_on_private_engine, private_engine
):
    private_engine.load_busybox(BUSYBOX)
    made = private_engine.docker(
        "run", "-d", "--restart", "always", "--name", "dp14-logs", BUSYBOX, "sh", "-c", "echo started; sleep 3600"
    )
    assert made.returncode == 0, made.stderr
    login(page, panel_on_private_engine, "viewer")
    page.goto(panel_on_private_engine.url + "/containers/dp14-logs/logs/")
    status = page.locator("#logs-status")
    page.locator("#logs-output", has_text="started").wait_for()
    private_engine.kill()
    page.wait_for_function("document.getElementById('logs-status').textContent.startsWith('Lost the engine')")
    assert "End of log" not in status.inner_text()
    assert "Resuming when it returns" in status.inner_text()
    private_engine.start()  # the container restarts with it (--restart always) and prints again
    page.wait_for_function(
        "document.getElementById('logs-status').textContent.includes('resumed after the engine came back')",
        timeout=60_000,
    )
    page.wait_for_function(
        "[...document.querySelectorAll('#logs-output .line')].filter(l => l.textContent.includes('started')).length >= 2",
        timeout=60_000,
    )


def test_the_terminal_offers_to_reconnect_by_itself_when_the_engine_returns(
    page, panel_on_private_engine, private_engine
):
    private_engine.load_busybox(BUSYBOX)
    made = private_engine.docker("run", "-d", "-i", "-t", "--restart", "always", "--name", "dp14-term", BUSYBOX, "sh")
    assert made.returncode == 0, made.stderr
    panel_on_private_engine.add_user("operator", PASSWORD, "operator")
    login(page, panel_on_private_engine, "operator")
    page.goto(panel_on_private_engine.url + "/containers/dp14-term/terminal/?cmd=sh")
    status = "document.getElementById('terminal-status').textContent"
    page.wait_for_function(f"window.term && {status}.startsWith('Connected')")
    page.click("#terminal")
    page.keyboard.type("echo up-$((1+1))\n")
    screen_has = (
        "(text) => { const b = window.term.buffer.active; for (let i = 0; i < b.length; i++)"
        " if (b.getLine(i).translateToString(true).trim() === text) return true; return false; }"
    )
    page.wait_for_function(screen_has, arg="up-2", timeout=30_000)  # the shell runs
    private_engine.kill()
    page.wait_for_function(f"{status}.includes('Waiting for the engine to come back')", timeout=30_000)
    assert page.locator("#terminal-reconnect").is_hidden()  # nothing to reconnect to yet
    private_engine.start()
    page.wait_for_function(f"{status}.startsWith('The engine is back')", timeout=60_000)
    reconnect = page.locator("#terminal-reconnect")
    assert reconnect.is_visible()
    for _ in range(300):  # the container restarts with its engine (--restart always)
        if private_engine.docker("inspect", "-f", "{{.State.Running}}", "dp14-term").stdout.strip() == "true":
            break
        page.wait_for_timeout(200)
    reconnect.click()
    page.wait_for_function(f"{status}.startsWith('Connected')")
    page.click("#terminal")
    page.keyboard.type("echo back-$((2+3))\n")
    page.wait_for_function(screen_has, arg="back-5", timeout=30_000)
