"""In Debian's chromium: a live page says when its engine goes away (a private dockerd killed with
SIGKILL) and clears that by itself when the engine is back."""

import pytest

from tests.conftest import PASSWORD, login
from tests.faults import PrivateEngine
from tests.live import PanelServer

pytestmark = pytest.mark.browser


@pytest.fixture
def private_engine():
    private = PrivateEngine().start()
    yield private
    private.stop()


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
