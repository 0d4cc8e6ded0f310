"""In Debian's chromium: pulling an image shows live per-layer progress, and a bad name a form error."""

import pytest

from tests.conftest import login

pytestmark = pytest.mark.browser


def test_it_pulls_with_layer_progress_in_the_page(page, panel, dk, registry_image):
    pushed = registry_image("browserpull")

    login(page, panel, "admin")
    page.goto(panel.url + "/images/")
    page.fill("#pull-reference", "Not A Valid Name")
    page.click("#pull-form button[type=submit]")
    page.wait_for_selector("#pull-error:has-text('not a valid image reference')")

    page.fill("#pull-reference", pushed)
    page.click("#pull-form button[type=submit]")
    page.wait_for_selector(f"#pull-status:has-text('Pulled {pushed}')")
    assert page.locator("#pull-command").inner_text() == f"docker pull {pushed}"
    layers = page.locator("#pull-progress tbody tr")
    assert layers.count() >= 1
    assert "Pull complete" in layers.all_inner_texts()[-1] or "Already exists" in " ".join(layers.all_inner_texts())
    assert dk.images.get(pushed)
