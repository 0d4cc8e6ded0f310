"""In Debian's chromium: first-run setup, login, and the navigation with styles loaded."""

import pytest

from tests.conftest import PASSWORD, login

pytestmark = pytest.mark.browser


def test_it_walks_a_new_user_through_setup(page, fresh_panel):
    page.goto(fresh_panel.url + "/")
    page.wait_for_url("**/setup/")
    assert page.locator("h1").inner_text() == "Welcome to DockerPanel"
    # the stylesheet is loaded: the top bar is dark
    assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") == "rgb(20, 32, 43)"
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password1]", "a-long-Passphrase-42")
    page.fill("input[name=password2]", "a-long-Passphrase-42")
    page.click("button[type=submit]")
    page.wait_for_url(fresh_panel.url + "/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator(".userbox .username").inner_text() == "alice"
    # setup is gone now
    assert page.goto(fresh_panel.url + "/setup/").status == 404


def test_it_logs_in_and_shows_the_navigation(page, panel):
    page.goto(panel.url + "/")
    page.wait_for_url("**/accounts/login/?next=/")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.locator(".form-errors").wait_for(state="visible")  # the answer to the POST, not at once
    login(page, panel, "admin")
    page.goto(panel.url + "/")
    nav = page.locator("nav.mainnav a").all_inner_texts()
    assert nav[:3] == ["Dashboard", "Containers", "Images"]
    assert "Audit log" in nav
    assert page.locator(".badge.role-admin").inner_text() == "admin"
    assert page.evaluate("typeof htmx") == "object"
    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")


def test_it_hides_admin_areas_from_a_viewer(page, panel):
    login(page, panel, "viewer")
    page.goto(panel.url + "/")
    nav = page.locator("nav.mainnav a").all_inner_texts()
    assert "Users" not in nav
    assert "Deploy" not in nav
    assert PASSWORD not in page.content()
