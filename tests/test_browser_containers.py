"""In Debian's chromium: the containers page shows a container as `docker ps` does; stopping it works."""

import re

import pytest

from tests.conftest import PASSWORD, login, unique

pytestmark = pytest.mark.browser

# The list re-renders when the engine reports changes (other tests' containers too): wait on
# selectors, which find the current row, not on element handles, which a re-render leaves behind.
# The page asks only for the rows on screen, so the wait keeps the row in view (another test's new
# containers may push it down).
HAS_NUMBERS = """sel => {
  const cell = document.querySelector(sel);
  if (!cell) return false;
  cell.closest("tr").scrollIntoView({ block: "nearest" });
  return / \\/ /.test(cell.textContent);
}"""


def mem_cell(c) -> str:
    return f'tr[data-id="{c.id}"] td[data-col="mem"]'


def test_it_lists_a_started_container_and_stops_it_from_the_page(page, panel, make_container, dk):
    c = make_container(command="sleep 3600", ports={"80/tcp": None})
    bindings = dk.api.inspect_container(c.id)["NetworkSettings"]["Ports"]["80/tcp"]
    host_port = next(b["HostPort"] for b in bindings if b["HostIp"] == "0.0.0.0")
    login(page, panel, "operator")
    page.goto(panel.url + "/containers/")
    headers = page.locator("table.containers thead th[data-col]").all_inner_texts()
    assert [h.replace("▼", "").replace("▲", "").strip() for h in headers] == [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
        "CPU %",
        "MEM USAGE / LIMIT",
    ]
    row = page.locator(f'tr[data-name="{c.name}"]')
    # usage comes from the server's background sampler, a few seconds after the page asks for the
    # rows on screen (other containers on the engine may push this one's row below the fold)
    usage = row.locator('td[data-col="mem"]')
    page.wait_for_function(HAS_NUMBERS, arg=mem_cell(c), timeout=30_000, polling=250)
    assert re.fullmatch(r"[\d.]+[KMG]?i?B / [\d.]+[KMG]i?B", usage.inner_text()), usage.inner_text()
    assert row.locator('td[data-col="id"]').inner_text() == c.id[:12]
    assert row.locator('td[data-col="image"]').inner_text() == "dockerpanel-test/busybox:latest"
    assert row.locator('td[data-col="command"]').inner_text() == '"sleep 3600"'
    assert row.locator('td[data-col="status"]').inner_text().startswith("Up ")
    assert row.locator('td[data-col="names"]').inner_text() == c.name
    link = row.locator('td[data-col="ports"] a').first
    assert link.inner_text() == f"0.0.0.0:{host_port}->80/tcp"
    # the other loopback name: never the host the panel is browsed by, whose cookies it would get
    assert link.get_attribute("href") == f"http://localhost:{host_port}/"

    row.locator('input[name="ids"]').check()
    page.click("button[value=stop]")
    page.wait_for_selector("text=Exactly these 1 container will be stopped")
    page.click("button.primary:has-text('Stop 1 container')")
    # the report streams in: each container's row comes as it finishes
    page.wait_for_selector(f'table.report tr.ok[data-id="{c.id}"]', timeout=60_000)
    assert dk.api.inspect_container(c.id)["State"]["Status"] == "exited"
    page.goto(f"{panel.url}/containers/?all=1&name={c.name}")
    status = page.locator(f'tr[data-name="{c.name}"] td[data-col="status"]').inner_text()
    assert re.match(r"Exited \(\d+\) ", status)


def test_it_stops_from_the_detail_page(page, panel, make_container, dk):
    c = make_container(command="sleep 3600")
    login(page, panel, "operator")
    page.goto(f"{panel.url}/containers/{c.name}/")
    assert page.locator('dd[data-field="status"]').inner_text().startswith("Up ")
    page.fill("#section-state input[name=timeout]", "1")
    page.click("#section-state button:has-text('Stop')")
    page.wait_for_selector(f"text=Stopped {c.name}: docker stop -t 1 {c.name}")
    assert page.locator('dd[data-field="status"]').inner_text().startswith("Exited (")
    assert dk.api.inspect_container(c.id)["State"]["Status"] == "exited"


def test_it_refreshes_the_list_on_engine_changed_unless_rows_are_ticked(page, panel, make_container, dk):
    prefix = unique("tick")  # the list is filtered to this test's rows: others' containers may fill page 1
    a = make_container(command="sleep 3600", name=prefix + "-a")
    b = make_container(command="sleep 3600", name=prefix + "-b")
    login(page, panel, "operator")
    page.goto(f"{panel.url}/containers/?all=1&name={prefix}")
    assert page.locator("#container-list").get_attribute("hx-get") == f"/containers/?all=1&name={prefix}"
    status_a = page.locator(f'tr[data-name="{a.name}"] td[data-col="status"]')
    assert status_a.inner_text().startswith("Up ")
    # A ticked row survives the live update of another row (issue 15: rows are updated in place).
    page.locator(f'tr[data-name="{b.name}"] input[name="ids"]').check()
    dk.api.stop(a.id, timeout=0)
    page.wait_for_function(
        f"document.querySelector('tr[data-name=\"{a.name}\"] td[data-col=status]').textContent.startsWith('Exited')",
        timeout=30_000,
    )
    assert page.locator(f'tr[data-name="{b.name}"] input[name="ids"]').is_checked()
    # While the user has ticked rows for a bulk action, a whole-list refresh would lose the selection: none.
    page.evaluate("document.querySelector('#container-list').dataset.stale = '1'")
    page.evaluate("document.body.dispatchEvent(new Event('engine-changed'))")
    page.wait_for_timeout(1500)
    assert page.evaluate("document.querySelector('#container-list').dataset.stale") == "1"
    assert page.locator(f'tr[data-name="{b.name}"] input[name="ids"]').is_checked()
    page.locator(f'tr[data-name="{b.name}"] input[name="ids"]').uncheck()
    page.evaluate("document.body.dispatchEvent(new Event('engine-changed'))")
    page.wait_for_function("!document.querySelector('#container-list').dataset.stale", timeout=30_000)


def test_it_asks_for_the_usage_of_the_rows_on_screen_only(browser, panel, make_container):
    prefix = unique("onscreen")
    made = [make_container(name=f"{prefix}-{i:02d}") for i in range(15)]
    first, last = made[0], made[-1]
    context = browser.new_context(viewport={"width": 1400, "height": 640}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(45_000)
    asked: list[str] = []
    page.on("request", lambda r: "/containers/stats.json" in r.url and asked.append(r.url))
    try:
        login(page, panel, "viewer")
        page.goto(f"{panel.url}/containers/?name={prefix}&sort=names&dir=asc")
        assert page.locator("table.containers tr[data-id]").count() == len(made)
        page.wait_for_function(HAS_NUMBERS, arg=mem_cell(first), polling=250)
        assert page.locator(f'tr[data-id="{last.id}"]').bounding_box()["y"] > 640  # below the fold...
        # ...so it was never asked about, and has no numbers
        assert first.id[:12] in asked[-1]
        assert all(last.id[:12] not in url for url in asked), asked
        assert " / " not in page.locator(mem_cell(last)).inner_text()
        page.wait_for_function(HAS_NUMBERS, arg=mem_cell(last), polling=250)  # scrolls it into view
        text = page.locator(mem_cell(last)).inner_text()
        assert re.fullmatch(r"[\d.]+[KMG]?i?B / [\d.]+[KMG]i?B", text), text
    finally:
        context.close()


@pytest.fixture
def one_stream_panel():
    """A panel that samples one container at a time."""
    from tests.live import PanelServer

    server = PanelServer(extra_env={"DOCKERPANEL_STATS_MAX_STREAMS": "1"}).start()
    server.add_user("viewer", PASSWORD, "viewer")
    yield server
    server.stop()


def test_it_says_which_rows_are_not_sampled_and_leaves_stopped_ones_empty(page, one_stream_panel, make_container):
    prefix = unique("bound")
    running = [make_container(name=f"{prefix}-run-{i}") for i in range(2)]
    stopped = make_container(name=f"{prefix}-stopped", start=False)
    login(page, one_stream_panel, "viewer")
    page.goto(f"{one_stream_panel.url}/containers/?all=1&name={prefix}")
    page.wait_for_function(
        "sels => { const t = sels.map(s => document.querySelector(s)?.textContent || '');"
        " return t.some(x => / \\/ /.test(x)) && t.includes('—'); }",
        arg=[mem_cell(c) for c in running],
        timeout=45_000,
        polling=250,
    )
    over = next(page.locator(mem_cell(c)) for c in running if page.locator(mem_cell(c)).inner_text() == "—")
    assert "DOCKERPANEL_STATS_MAX_STREAMS" in over.get_attribute("title")
    assert "(1, " in over.get_attribute("title")
    row = page.locator(f'tr[data-id="{stopped.id}"]')
    assert row.locator('td[data-col="mem"]').inner_text() == ""
    assert row.locator('td[data-col="cpu"]').inner_text() == ""
