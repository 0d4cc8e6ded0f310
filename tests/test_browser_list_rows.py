"""In Debian's chromium: the containers list follows engine events row by row (the table and the
other rows stay the same DOM nodes), its rows pushed over the page's events socket (no fetch per
event), and a hidden page does no work until it is shown again."""

import json

import pytest

from tests.conftest import login, unique

pytestmark = pytest.mark.browser

# Before the page's scripts: every websocket message is noted, and the page's visibility can be
# switched (a headless page is always "visible").
SPY = """
window.wsMessages = [];
const RealWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new RealWebSocket(...args);
  socket.addEventListener("message", (m) => window.wsMessages.push(m.data));
  return socket;
};
window.WebSocket.prototype = RealWebSocket.prototype;
Object.assign(window.WebSocket, { OPEN: 1, CLOSED: 3, CONNECTING: 0, CLOSING: 2 });
window.fakeHidden = false;
Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (window.fakeHidden ? "hidden" : "visible") });
"""

LIST_FETCHES = (
    "() => performance.getEntriesByType('resource').map((e) => e.name).filter((u) => u.includes('/containers/?'))"
)


def open_list(browser, panel, prefix: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    context.add_init_script(SPY)
    page = context.new_page()
    page.set_default_timeout(30_000)
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/containers/?all=1&name={prefix}")
    page.wait_for_function("document.body.dataset.live === 'on'")
    # the socket has been told what the list shows: rows come pushed from now on
    page.wait_for_function("window.wsMessages.some((m) => JSON.parse(m).kind === 'watching')")
    page.evaluate("window.notReloaded = true; performance.clearResourceTimings()")
    return context, page


def status_of(page, name: str) -> str:
    return page.locator(f'tr[data-name="{name}"] td[data-col="status"]').inner_text()


def wait_for_status(page, name: str, start: str) -> None:
    page.wait_for_function(
        "([name, start]) => document.querySelector(`tr[data-name='${name}'] td[data-col='status']`)"
        "?.innerText.startsWith(start)",
        arg=[name, start],
        timeout=30_000,
    )


def test_it_updates_only_the_row_of_a_container_stopped_elsewhere(browser, panel, make_container):
    prefix = unique("rows") + "-"
    stopped, other = make_container(name=prefix + "a"), make_container(name=prefix + "b")
    context, page = open_list(browser, panel, prefix)
    try:
        assert status_of(page, stopped.name).startswith("Up ")
        page.evaluate(
            "name => { window.table = document.querySelector('table.containers');"
            " window.otherRow = document.querySelector(`tr[data-name='${name}']`); }",
            other.name,
        )
        stopped.stop(timeout=0)  # through the engine, not this page
        wait_for_status(page, stopped.name, "Exited")
        assert page.evaluate("window.notReloaded") is True
        assert page.evaluate("document.querySelector('table.containers') === window.table")
        assert page.evaluate(
            "name => document.querySelector(`tr[data-name='${name}']`) === window.otherRow", other.name
        )
        pushed = [json.loads(m) for m in page.evaluate("window.wsMessages")]
        assert any(e.get("kind") == "rows" and stopped.id in e["rows"] for e in pushed)  # the row came pushed...
        fetched = page.evaluate(LIST_FETCHES)
        assert not any(stopped.id in url for url in fetched)  # ...not fetched
        assert all("id=" in url for url in fetched)  # never the whole list (others' image events: their rows only)

        other.remove(force=True)  # a container that is gone loses its row
        page.wait_for_function("name => !document.querySelector(`tr[data-name='${name}']`)", arg=other.name)
        assert page.evaluate("document.querySelector('table.containers') === window.table")
    finally:
        context.close()


def test_a_hidden_page_does_no_fetch_until_it_is_visible_again(browser, panel, make_container):
    prefix = unique("hidden") + "-"
    container = make_container(name=prefix + "a")
    context, page = open_list(browser, panel, prefix)
    try:
        page.evaluate("window.fakeHidden = true; document.dispatchEvent(new Event('visibilitychange'))")
        container.stop(timeout=0)
        page.wait_for_function(
            "id => window.wsMessages.some((m) => { const e = JSON.parse(m); return e.id === id && e.action === 'stop'; })",
            arg=container.id,
        )
        page.wait_for_timeout(1_000)  # five times the page's coalescing delay: a fetch would have started
        assert page.evaluate(LIST_FETCHES) == []
        assert status_of(page, container.name).startswith("Up ")

        page.evaluate("window.fakeHidden = false; document.dispatchEvent(new Event('visibilitychange'))")
        wait_for_status(page, container.name, "Exited")
        refreshes = [url for url in page.evaluate(LIST_FETCHES) if "id=" not in url]
        assert len(refreshes) == 1  # one refresh of the list, not one per event missed
        assert page.evaluate("window.notReloaded") is True
        seen = [json.loads(m) for m in page.evaluate("window.wsMessages")]
        assert sum(1 for e in seen if e.get("id") == container.id) >= 2  # kill/die/stop: a burst, one refresh
    finally:
        context.close()
