"""An unreachable engine is a styled notice with what to do, never a 500; recovery needs no restart."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_shows_a_notice_naming_the_address_and_the_fix(admin_client, settings):
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    r = admin_client.get("/")
    assert r.status_code == 503
    html = r.content.decode()
    assert "The Docker engine cannot be reached" in html
    assert "unix:///nonexistent/docker.sock" in html
    assert "No such file or directory" in html
    assert "docker</code> group" in html
    assert "DOCKER_HOST" in html
    assert "Traceback" not in html
    assert 'class="topbar"' in html  # the styled page, with navigation


def test_it_recovers_when_the_engine_comes_back(admin_client, settings):
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    assert admin_client.get("/").status_code == 503
    settings.DOCKER_HOST = ""
    r = admin_client.get("/")
    assert r.status_code == 200
    assert b"Engine" in r.content


def test_it_reports_a_tcp_engine_that_refuses(admin_client, settings):
    settings.DOCKER_HOST = "tcp://127.0.0.1:1"
    r = admin_client.get("/")
    assert r.status_code == 503
    assert b"tcp://127.0.0.1:1" in r.content
