"""Daily use in Debian's chromium: a phone-sized layout, dark mode, busy buttons, toasts, favicon."""

import json
import re
import time

import pytest

from tests.conftest import login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, bypass_csp=True, is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def _wide(page) -> list[str]:
    """Elements wider than the screen that make the page scroll sideways (for the message)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter((el) => {
            const r = el.getBoundingClientRect();
            if (r.right <= window.innerWidth + 1) return false;
            for (let p = el.parentElement; p; p = p.parentElement) {
              const o = getComputedStyle(p).overflowX;
              if (o === 'auto' || o === 'scroll' || o === 'hidden') return false;
            }
            return true;
        }).slice(0, 5).map((el) => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))"""
    )


def test_no_page_is_wider_than_a_phone(phone, panel, make_container):
    box = make_container(ports={"80/tcp": None}, labels={"a.very.long.label.for.layout": "x" * 60})
    login(phone, panel, "admin")
    image = "dockerpanel-test/busybox:latest"
    for path in [
        "/",
        "/containers/?all=1",
        f"/containers/{box.name}/",
        f"/containers/{box.name}/logs/",
        f"/containers/{box.name}/stats/",
        f"/containers/{box.name}/terminal/",
        "/images/",
        f"/images/{image}/",
        "/containers/new/",
        "/deploy/apache/",
        "/audit/",
        "/users/",
        "/account/password/",
    ]:
        assert phone.goto(panel.url + path).status == 200, path
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide: {_wide(phone)}"
        bar = phone.locator("header.topbar").bounding_box()
        assert bar["height"] <= 64, f"{path}: the top bar is {bar['height']}px tall"


def test_the_phone_menu_reaches_every_link_and_log_out(phone, panel):
    login(phone, panel, "admin")
    phone.goto(panel.url + "/")
    assert not phone.is_visible("text=Log out")
    phone.click("[data-menu-toggle]")
    assert phone.get_attribute("[data-menu-toggle]", "aria-expanded") == "true"
    for name in ("Containers", "Images", "Audit log", "Users", "Log out"):
        where = phone.locator("header.topbar")
        target = where.get_by_role("link" if name != "Log out" else "button", name=name, exact=True)
        assert target.is_visible(), name
        box = target.bounding_box()
        assert box["x"] >= 0, (name, box)
        assert box["x"] + box["width"] <= PHONE["width"], (name, box)
    phone.click("text=Log out")
    phone.wait_for_url(re.compile(r".*/accounts/login/.*|.*/$"))
    assert phone.goto(panel.url + "/containers/").url.startswith(panel.url + "/accounts/login/")


def _background(page) -> tuple[int, ...]:
    text = page.evaluate("getComputedStyle(document.body).backgroundColor")
    return tuple(int(v) for v in re.findall(r"\d+", text)[:3])


def test_dark_mode_follows_the_system_and_a_choice_is_remembered(browser, panel):
    dark = browser.new_context(color_scheme="dark", bypass_csp=True)
    try:
        page = dark.new_page()
        login(page, panel, "viewer")
        page.goto(panel.url + "/")
        assert sum(_background(page)) < 150, "dark system preference, dark page"
        page.select_option("#theme-choice", "light")
        page.wait_for_load_state()
        page.wait_for_function("document.documentElement.dataset.theme === 'light'")
        assert sum(_background(page)) > 600, "light chosen: light even on a dark system"
        assert page.url.endswith("/")  # back where the choice was made
    finally:
        dark.close()
    # a new session on a light system: the choice (now dark) is the user's, not the browser's
    light = browser.new_context(color_scheme="light", bypass_csp=True)
    try:
        page = light.new_page()
        login(page, panel, "viewer")
        page.goto(panel.url + "/images/")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        page.select_option("#theme-choice", "dark")
        page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
        assert sum(_background(page)) < 150
        assert "/images/" in page.url
        page.goto(panel.url + "/audit/?action=preference.theme")
        assert page.locator("table.audit tbody tr").count() >= 2
    finally:
        page.select_option("#theme-choice", "auto")
        page.wait_for_function("document.documentElement.dataset.theme === 'auto'")
        light.close()


def test_an_action_button_shows_it_works_and_cannot_be_sent_twice(page, panel, make_container):
    # busybox's sleep as PID 1 ignores SIGTERM: a stop takes its whole timeout
    box = make_container(command="sleep 3600")
    login(page, panel, "operator")
    page.goto(f"{panel.url}/containers/{box.name}/")
    page.fill("input[name=timeout]", "3")
    button = page.locator("form[action$='/stop/'] button[type=submit]")
    button.click()
    page.wait_for_function(
        "(() => { const b = document.querySelector(\"form[action$='/stop/'] button[type=submit]\");"
        " return !b || (b.getAttribute('aria-busy') === 'true' && b.disabled); })()"
    )
    # a second press while it works: refused in the page (also by dispatching the submit itself)
    page.evaluate(
        "(() => { const f = document.querySelector(\"form[action$='/stop/']\"); if (f) f.requestSubmit(); })()"
    )
    page.wait_for_url(re.compile(r".*/containers/.*"), wait_until="load")
    page.wait_for_function("!document.querySelector('[aria-busy=true]')", timeout=30_000)
    page.goto(f"{panel.url}/audit/?action=container.stop&target={box.name}")
    rows = page.locator("table.audit tbody tr", has_text=box.name)
    assert rows.count() == 1, page.inner_text("table.audit")


def test_toasts_sit_in_the_page_flow_and_a_favicon_is_served(page, panel, make_container):
    box = make_container(command="sleep 3600")
    login(page, panel, "operator")
    page.goto(panel.url + "/")
    icon = page.get_attribute("link[rel=icon]", "href")
    answer = page.request.get(panel.url + icon)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")
    page.wait_for_function("document.body.dataset.live === 'on'")
    # the same user pauses a container in another tab: this page gets a toast
    other = page.context.new_page()
    other.goto(f"{panel.url}/containers/{box.name}/")
    other.click("form[action$='/pause/'] button[type=submit]")
    toast = page.locator(".toast", has_text=f"paused {box.name}")
    toast.wait_for(state="visible", timeout=15_000)
    # under the top bar, in the page's flow (it pushes the page down): it covers no button
    assert page.evaluate("document.querySelector('.toast-area').parentElement.id") == "messages"
    assert page.evaluate("getComputedStyle(document.querySelector('.toast-area')).position") == "static"
    covered = page.evaluate(
        """() => { const t = document.querySelector('.toast').getBoundingClientRect();
        return [...document.querySelectorAll('button, a, select, input')].filter((el) => {
          const r = el.getBoundingClientRect();
          return r.width && r.height && r.left < t.right && r.right > t.left && r.top < t.bottom && r.bottom > t.top;
        }).map((el) => el.outerHTML.slice(0, 80)); }"""
    )
    assert covered == []


def test_inspect_is_a_searchable_tree_that_still_copies_the_whole_json(page, panel, make_container):
    box = make_container(command="sleep 3600", labels={"team.owner": "jiwoo"})
    login(page, panel, "viewer")
    page.goto(f"{panel.url}/containers/{box.name}/")
    page.click("#section-inspect summary")
    tree = page.locator("#section-inspect .json-tree")
    tree.wait_for(state="visible")
    assert not page.is_visible("#inspect-json")  # the raw JSON is the tree's source, kept for Copy
    # the first levels are open, deeper ones folded
    assert (
        tree.locator("details.jt-node", has=page.locator("summary > .jt-key", has_text="Config")).first.get_attribute(
            "open"
        )
        is not None
    )
    page.fill("#section-inspect input[type=search]", "jiwoo")
    hit = tree.locator(".jt-row.jt-hit")
    assert hit.count() == 1
    assert hit.first.is_visible()
    assert "team.owner" in hit.first.inner_text()
    assert not tree.locator(".jt-row", has_text="Hostname").first.is_visible()
    assert page.inner_text("#section-inspect .jt-count") == "1 match"
    page.fill("#section-inspect input[type=search]", "")
    assert tree.locator(".jt-row", has_text="Hostname").first.is_visible()
    # Copy takes the whole JSON, not the tree's text
    copied = page.evaluate("document.querySelector('#inspect-json').textContent")
    assert json.loads(copied)["Id"] == box.id


def test_the_run_forms_button_says_create_in_create_mode(page, panel):
    login(page, panel, "admin")
    page.goto(panel.url + "/containers/new/")
    button = page.locator("#run-submit")
    assert button.inner_text() == "Run"
    page.check("input[name=mode][value=create]")
    assert button.inner_text() == "Create"
    page.check("input[name=mode][value=run]")
    assert button.inner_text() == "Run"
    # the form's field and the preview have distinct headings
    assert page.locator("h2", has_text="The docker command").count() == 1


def test_a_bulk_stop_reports_each_container_as_it_finishes(page, panel, make_container):
    from tests.conftest import unique

    prefix = unique("bulkstream")
    # busybox's sleep as PID 1 ignores SIGTERM (a stop takes its whole timeout); the shell traps it
    slow = make_container(name=f"{prefix}-slow", command="sleep 3600")
    fast = make_container(
        name=f"{prefix}-fast", command=["sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done"]
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, panel, "operator")
    page.goto(f"{panel.url}/containers/?name={prefix}")
    page.check(f"input[name=ids][value='{slow.id[:12]}']")
    page.check(f"input[name=ids][value='{fast.id[:12]}']")
    page.click("button[name=action][value=stop]")
    page.wait_for_url(re.compile(r".*/containers/bulk/$"))
    assert page.locator("#bulk-report").is_hidden()
    deadline = time.monotonic() + 60
    while b"ready" not in fast.logs():  # its trap is set: SIGTERM ends it at once
        assert time.monotonic() < deadline, "the fast container never got ready"
        time.sleep(0.1)
    page.click("#bulk-confirm button[type=submit]")
    fast_row = page.locator(f"#bulk-report tr[data-id='{fast.id}']")
    fast_row.wait_for(state="visible", timeout=30_000)
    # the fast one's line is on the page while the slow one still runs out its 10 s timeout
    assert page.locator(f"#bulk-report tr[data-id='{slow.id}']").count() == 0
    assert "stopped" in fast_row.inner_text()
    assert f"docker stop {fast.name}" in fast_row.inner_text()
    assert page.locator("#bulk-confirm button[type=submit]").is_disabled()  # cannot be sent twice
    page.locator(f"#bulk-report tr[data-id='{slow.id}']").wait_for(state="visible", timeout=60_000)
    page.wait_for_function("document.getElementById('bulk-status').textContent.includes('2 of 2 done')")
    summary = page.inner_text("#bulk-status")
    assert summary.startswith("Stop: 2 of 2 done. docker stop ")
    assert slow.name in summary
    assert fast.name in summary
    assert page.url.endswith("/containers/bulk/")  # the same page: streamed, not a new one
    assert errors == []
