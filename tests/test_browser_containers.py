"""In Debian's chromium: the containers page shows a container as `docker ps` does; stopping it works."""

import re

import pytest

from tests.conftest import login, unique

pytestmark = pytest.mark.browser


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
    # usage comes from the server's background sampler, a few seconds after the first poll
    usage = row.locator('td[data-col="mem"]')
    page.wait_for_function("el => / \\/ /.test(el.textContent)", arg=usage.element_handle(), timeout=20_000)
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
    page.wait_for_selector("table.report")
    assert page.locator(f'tr.ok[data-id="{c.id}"]').is_visible()
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
