"""The host switcher in the top bar, in Debian's chromium: on a phone, and without scripts."""

import pytest

from tests.conftest import PASSWORD, login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def two_host_panel(extra_engines):
    """A panel of its own (the shared one keeps a single host) with a second host, e2."""
    from tests.live import PanelServer

    server = PanelServer().start()
    server.add_user("admin", PASSWORD, "admin")
    server.manage("addhost", "e2", extra_engines.e2_url)
    yield server
    server.stop()


def test_the_switcher_works_on_a_phone(browser, two_host_panel):
    context = browser.new_context(viewport=PHONE, bypass_csp=True, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    try:
        login(phone, two_host_panel, "admin")
        for path in ("/hosts/e2/containers/", "/hosts/e2/images/", "/"):
            assert phone.goto(two_host_panel.url + path).status == 200, path
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide"
        phone.goto(two_host_panel.url + "/hosts/e2/containers/")
        phone.click("[data-menu-toggle]")
        switcher = phone.locator("#host-choice")
        assert switcher.is_visible()
        box = switcher.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"]
        assert switcher.input_value() == "e2"
        switcher.select_option("local")  # submits by itself
        phone.wait_for_url(two_host_panel.url + "/hosts/local/containers/")
        assert phone.locator("#host-choice").input_value() == "local"
        assert phone.title().startswith("Containers · local")
    finally:
        context.close()


def test_the_switcher_works_without_scripts(browser, two_host_panel):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, two_host_panel, "admin")
        page.goto(two_host_panel.url + "/hosts/local/images/")
        page.select_option("#host-choice", "e2")
        page.locator("form.host-switcher button[type=submit]").click()
        page.wait_for_url(two_host_panel.url + "/hosts/e2/images/")
        assert page.locator("#host-choice").input_value() == "e2"
    finally:
        context.close()
