"""In Debian's chromium: two people on the dashboard see engine changes without reloading, a toast
names what another user did through the panel, and a deactivated user's page says why it stopped."""

import pytest

from tests.conftest import login

pytestmark = pytest.mark.browser


def open_dashboard(browser, panel, username: str):
    context = browser.new_context(viewport={"width": 1300, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, panel, username)
    page.goto(panel.url + "/")
    page.wait_for_function("document.body.dataset.live === 'on'")
    # survives only if the page is not reloaded; the fragment marker only until it is swapped
    page.evaluate("window.notReloaded = true; document.querySelector('#dashboard-counts').dataset.stale = '1'")
    return context, page


def test_it_updates_both_dashboards_when_a_container_changes(browser, panel, make_container):
    (ctx_a, admin), (ctx_v, viewer) = open_dashboard(browser, panel, "admin"), open_dashboard(browser, panel, "viewer")
    try:
        container = make_container()  # created and started with the SDK, not through the panel
        for page in (admin, viewer):
            page.wait_for_function("!document.querySelector('#dashboard-counts').dataset.stale", timeout=5_000)
            assert page.evaluate("window.notReloaded") is True
        container.stop(timeout=0)
        for page in (admin, viewer):
            page.evaluate("document.querySelector('#dashboard-counts').dataset.stale = '1'")
        for page in (admin, viewer):
            page.wait_for_function("!document.querySelector('#dashboard-counts').dataset.stale", timeout=5_000)
            assert page.evaluate("window.notReloaded") is True
    finally:
        ctx_a.close()
        ctx_v.close()


def test_it_toasts_what_another_user_did_through_the_panel(browser, panel):
    ctx_a, admin = open_dashboard(browser, panel, "admin")
    ctx_v, viewer = open_dashboard(browser, panel, "viewer")
    ctx_f = browser.new_context(bypass_csp=True)
    try:
        admin.goto(panel.url + "/users/")
        admin.fill("#add-user input[name=username]", "frank")
        admin.fill("#add-user input[name=password1]", "a-new-Passphrase-4711")
        admin.fill("#add-user input[name=password2]", "a-new-Passphrase-4711")
        admin.select_option("#add-user select[name=role]", "operator")
        admin.click("#add-user button[type=submit]")
        toast = viewer.locator(".toast", has_text="admin added user frank (operator)")
        toast.wait_for(state="visible", timeout=5_000)
        assert viewer.evaluate("window.notReloaded") is True

        # the admin deactivates frank: frank's open page is told why its live updates stopped
        frank = ctx_f.new_page()
        frank.goto(panel.url + "/accounts/login/")
        frank.fill("input[name=username]", "frank")
        frank.fill("input[name=password]", "a-new-Passphrase-4711")
        frank.click("button[type=submit]")
        frank.wait_for_url(panel.url + "/")
        frank.wait_for_function("document.body.dataset.live === 'on'")
        assert "admin added user frank" not in frank.content()  # a toast is for pages open at the time
        admin.goto(panel.url + "/users/")
        admin.once("dialog", lambda dialog: dialog.accept())
        admin.click('tr[data-user="frank"] button:has-text("Deactivate")')
        frank.locator(".toast.error", has_text="your session has ended").wait_for(state="visible", timeout=5_000)
        assert frank.evaluate("document.body.dataset.live") == "off"
        frank.reload()
        assert "/accounts/login/" in frank.url
    finally:
        for ctx in (ctx_a, ctx_v, ctx_f):
            ctx.close()


def test_it_shows_a_stop_made_by_another_user_on_the_containers_list_with_a_toast(browser, panel, make_container):
    container = make_container(command="sleep 3600")
    ctx_o = browser.new_context(bypass_csp=True)
    ctx_v = browser.new_context(bypass_csp=True)
    try:
        viewer = ctx_v.new_page()
        login(viewer, panel, "viewer")
        viewer.goto(f"{panel.url}/containers/?all=1&name={container.name}")
        viewer.wait_for_function("document.body.dataset.live === 'on'")
        viewer.evaluate("window.notReloaded = true")
        viewer.evaluate(
            "window.toastsSeen = []; new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach("
            "(n) => n.classList?.contains('toast') && window.toastsSeen.push(n.textContent))))"
            ".observe(document.body, {childList: true, subtree: true})"
        )
        status = viewer.locator(f'tr[data-name="{container.name}"] td[data-col="status"]')
        assert status.inner_text().startswith("Up ")

        operator = ctx_o.new_page()
        login(operator, panel, "operator")
        operator.goto(f"{panel.url}/containers/{container.name}/")
        operator.fill("#section-state input[name=timeout]", "0")
        operator.click("#section-state button:has-text('Stop')")

        # a toast lives 6 s: note every one as it appears, so a slow click on a busy machine misses none
        viewer.wait_for_function(
            "text => window.toastsSeen.some((t) => t.includes(text))",
            arg=f"operator stopped {container.name}",
            timeout=15_000,
        )
        viewer.wait_for_function(
            "name => document.querySelector(`tr[data-name='${name}'] td[data-col='status']`)"
            "?.innerText.startsWith('Exited')",
            arg=container.name,
            timeout=15_000,
        )
        assert viewer.evaluate("window.notReloaded") is True
    finally:
        ctx_o.close()
        ctx_v.close()
