"""The terminal pages: an xterm.js terminal for docker exec -it and docker attach."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def shell_box(make_container):
    return make_container(command="sh", tty=True, stdin_open=True)


def test_it_shows_a_terminal_with_the_cli_equivalent(operator_client, shell_box):
    r = operator_client.get(f"/containers/{shell_box.name}/terminal/")
    assert r.status_code == 200
    html = r.content.decode()
    assert f"docker exec -it {shell_box.name} /bin/bash" in html
    assert f'data-ws="/ws/containers/{shell_box.id}/exec/"' in html
    assert "vendor/xterm" in html


def test_it_passes_the_command_user_and_workdir_on(operator_client, shell_box):
    r = operator_client.get(
        f"/containers/{shell_box.id[:12]}/terminal/", {"cmd": "sh -l", "user": "nobody", "workdir": "/tmp"}
    )
    html = r.content.decode()
    assert f"docker exec -it -u nobody -w /tmp {shell_box.name} sh -l" in html
    # the options reach the socket in its first frame (static/js/terminal.js), not in its URL
    assert f'data-ws="/ws/containers/{shell_box.id}/exec/" data-mode="exec"' in html
    assert 'data-cmd="sh -l" data-user="nobody" data-workdir="/tmp"' in html


def test_it_takes_the_options_by_post_so_they_stay_out_of_access_logs(operator_client, shell_box):
    r = operator_client.post(f"/containers/{shell_box.name}/terminal/", {"cmd": "sh -l", "user": "nobody"})
    html = r.content.decode()
    assert f"docker exec -it -u nobody {shell_box.name} sh -l" in html
    assert 'data-cmd="sh -l" data-user="nobody"' in html
    assert '<form method="post" class="term-options">' in html


def test_it_explains_bad_options_instead_of_opening(operator_client, shell_box):
    html = operator_client.get(f"/containers/{shell_box.name}/terminal/", {"workdir": "tmp"}).content.decode()
    assert "not an absolute path" in html
    assert 'id="terminal"' not in html


def test_it_says_when_the_container_is_not_running(operator_client, make_container):
    box = make_container(start=False)
    html = operator_client.get(f"/containers/{box.name}/terminal/").content.decode()
    assert "is created: start it to open a terminal" in html
    assert 'id="terminal"' not in html


def test_a_stopped_containers_terminal_and_attach_pages_offer_start(operator_client, make_container, dk):
    box = make_container(command="sh", tty=True, stdin_open=True, start=False)
    for page in ("terminal", "attach"):
        html = operator_client.get(f"/containers/{box.name}/{page}/").content.decode()
        assert f'action="/containers/{box.id}/start/"' in html, page
        assert f"Start {box.name}</button>" in html
    # Start goes back to the page it was pressed on, now with a running container
    r = operator_client.post(f"/containers/{box.id}/start/", {"next": f"/containers/{box.name}/attach/"})
    assert r.status_code == 302
    assert r.url == f"/containers/{box.name}/attach/"
    assert dk.containers.get(box.id).status == "running"
    html = operator_client.get(r.url).content.decode()
    assert 'id="terminal"' in html
    assert "start it to attach" not in html


def test_it_explains_attach_and_detach(operator_client, shell_box):
    html = operator_client.get(f"/containers/{shell_box.name}/attach/").content.decode()
    assert f"docker attach {shell_box.name}" in html
    assert "Ctrl-P</kbd> <kbd>Ctrl-Q</kbd> detaches" in html
    assert "stops the container" in html
    assert f'data-ws="/ws/containers/{shell_box.id}/attach/"' in html


def test_it_explains_that_a_container_without_a_tty_has_nothing_to_attach(operator_client, make_container):
    box = make_container(command="sleep 3600")
    html = operator_client.get(f"/containers/{box.name}/attach/").content.decode()
    assert "was not created with <code>-i -t</code>" in html
    assert 'id="terminal"' not in html


@pytest.mark.parametrize("page", ["terminal", "attach"])
def test_it_refuses_a_viewer(viewer_client, shell_box, page):
    assert viewer_client.get(f"/containers/{shell_box.name}/{page}/").status_code == 403


def test_it_answers_404_for_an_unknown_container(operator_client):
    r = operator_client.get("/containers/no-such-box-42/terminal/")
    assert r.status_code == 404
    # the 404 page links back to where one can go on
    assert 'href="/containers/?all=1"' in r.content.decode()
    assert 'href="/"' in r.content.decode()


def test_it_sends_an_anonymous_user_to_the_login_page(client, operator_user, shell_box):
    r = client.get(f"/containers/{shell_box.name}/terminal/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]
