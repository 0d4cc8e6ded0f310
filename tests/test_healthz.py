"""GET /healthz says ok or not to anyone; the database and engine details only to logged-in users."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_ok_when_engine_and_database_answer(viewer_client, dk):
    r = viewer_client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok"
    assert body["engine"]["ok"] is True
    assert body["engine"]["version"] == dk.version()["Version"]


def test_it_reports_503_with_the_error_when_the_engine_is_unreachable(viewer_client, settings):
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    r = viewer_client.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["database"] == "ok"
    assert body["engine"]["ok"] is False
    assert "unix:///nonexistent/docker.sock" in body["engine"]["error"]
    assert "daemon running" in body["engine"]["error"]
