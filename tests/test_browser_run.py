"""In Debian's chromium: the run form fills rows from -p text, previews the command, runs, and the port opens."""

import urllib.request

import pytest

from containers.ports import free_host_port
from tests.conftest import BUSYBOX, TEMP_IMAGE_PREFIX, login, unique

pytestmark = pytest.mark.browser

HTTPD = "sh -c 'mkdir -p /www && echo It works > /www/index.html && httpd -f -p 80 -h /www'"


def test_it_runs_a_container_from_p_text_and_opens_its_port(page, panel, dk):
    login(page, panel, "admin")
    page.goto(panel.url + "/containers/new/")
    name, port = unique("browser"), free_host_port()
    page.fill("#id_image", BUSYBOX)
    page.fill("#id_name", name)
    page.fill("#id_command", HTTPD)
    page.fill("#id_publish", f"-p 127.0.0.1:{port}:80 -p 127.0.0.1::8080")
    page.press("#id_publish", "Enter")

    page.wait_for_function("document.querySelectorAll('#ports-rows tr').length === 2")
    assert page.input_value("input[name=ports-0-host_ip]") == "127.0.0.1"
    assert page.input_value("input[name=ports-0-host_port]") == str(port)
    assert page.input_value("input[name=ports-0-container_port]") == "80"
    assert page.input_value("input[name=ports-1-host_port]") == ""
    assert page.input_value("input[name=ports-1-container_port]") == "8080"
    assert page.input_value("#id_publish") == ""

    expected = f"docker run -d -i -t --name {name} -p 127.0.0.1:{port}:80 -p 127.0.0.1::8080 {BUSYBOX} {HTTPD}"
    page.wait_for_function(
        "text => document.querySelector('#run-command') && document.querySelector('#run-command').textContent === text",
        arg=expected,
    )

    # rows are added and removed in place, and the preview follows
    page.click("button[data-add-row=ports]")
    page.fill("input[name=ports-2-container_port]", "9090")
    page.wait_for_function("document.querySelector('#run-command').textContent.includes('-p 9090')")
    page.click("#ports-rows tr:nth-child(3) button[data-remove-row]")
    page.wait_for_function("text => document.querySelector('#run-command').textContent === text", arg=expected)
    assert page.input_value("#id_ports-TOTAL_FORMS") == "2"

    page.click("form#run-form button[type=submit]")
    page.wait_for_url(f"**/containers/{name}/")
    random_port = int(dk.containers.get(name).attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
    # the panel is browsed as 127.0.0.1: port links use the other loopback name (cookies are per host)
    assert page.locator(f'.messages a[href="http://localhost:{port}/"]').count() == 1
    assert page.locator(f'.messages a[href="http://localhost:{random_port}/"]').count() == 1
    page.goto(f"http://localhost:{port}/")
    assert "It works" in page.inner_text("body")


def test_it_shows_each_error_on_its_field_in_the_page(page, panel):
    login(page, panel, "admin")
    page.goto(panel.url + "/containers/new/")
    page.fill("#id_image", "Debian")
    page.fill("input[name=ports-0-container_port]", "70000")
    page.click("form#run-form button[type=submit]")
    assert "must be lowercase" in page.inner_text(".field.has-error:has(#id_image)")
    assert "out of range" in page.inner_text("#ports-rows td.has-error")


def test_it_deploys_the_official_preset_step_by_step(page, panel, dk, make_container):
    builder = make_container(command="sh -c 'mkdir -p /www && echo \"<h1>It works!</h1>\" > /www/index.html'")
    builder.wait(timeout=30)
    image = f"{TEMP_IMAGE_PREFIX}browser-httpd:2.4"
    builder.commit(repository=image.split(":")[0], tag="2.4", changes=['CMD ["httpd", "-f", "-p", "80", "-h", "/www"]'])

    login(page, panel, "admin")
    page.goto(panel.url + "/deploy/apache/")
    name = unique("apache-browser")
    form = page.locator("#deploy-official")
    form.locator("input[name=image]").fill(image)
    form.locator("input[name=name]").fill(name)
    form.locator("button[type=submit]").click()
    link = page.locator("#deploy-result a.deploy-link")
    link.wait_for()
    assert page.locator("#deploy-steps li.ok").count() == 4
    assert page.locator("#deploy-steps li[data-step=run] .step-title").inner_text().startswith("docker run -d --name")
    url = link.get_attribute("href")
    with urllib.request.urlopen(url, timeout=10) as r:
        assert "It works!" in r.read().decode()


def test_it_shows_a_failed_step_and_removes_the_container(page, panel, dk):
    login(page, panel, "admin")
    page.goto(panel.url + "/deploy/apache/")
    name = unique("apache-browser-fail")
    form = page.locator("#deploy-seed")
    form.locator("input[name=image]").fill(BUSYBOX)
    form.locator("input[name=name]").fill(name)
    form.locator("button[type=submit]").click()
    page.locator("#deploy-steps li.failed").wait_for()
    assert page.locator("#deploy-steps li.failed").get_attribute("data-step") == "update"
    assert "apt-get" in page.inner_text("#deploy-steps li.failed pre.output")
    page.click("#deploy-remove button")
    page.wait_for_url("**/deploy/apache/")
    assert f"Removed {name}." in page.inner_text(".messages")
    assert name not in {n.lstrip("/") for c in dk.api.containers(all=True) for n in c["Names"]}


def test_it_pulls_a_missing_image_with_progress_then_runs(page, panel, dk, registry_image):
    pushed = registry_image("browser-pull")

    login(page, panel, "admin")
    page.goto(panel.url + "/containers/new/")
    name = unique("browser-pull")
    page.fill("#id_image", pushed)
    page.fill("#id_name", name)
    page.fill("#id_command", "sleep 300")
    with page.expect_response(lambda r: r.url.endswith("/containers/new/pull/")) as pulled:
        page.click("form#run-form button[type=submit]")
    assert pulled.value.status == 200
    page.wait_for_url(f"**/containers/{name}/")
    assert dk.containers.get(name).status == "running"
    assert f"Started {name}." in page.inner_text(".messages")
