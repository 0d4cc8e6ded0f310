"""GET /healthz reports the database and the engine, without login."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_ok_when_engine_and_database_answer(client, dk):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok"
    assert body["engine"]["ok"] is True
    assert body["engine"]["version"] == dk.version()["Version"]


def test_it_reports_503_with_the_error_when_the_engine_is_unreachable(client, settings):
    settings.DOCKER_HOST = "unix:///nonexistent/docker.sock"
    r = client.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["database"] == "ok"
    assert body["engine"]["ok"] is False
    assert "unix:///nonexistent/docker.sock" in body["engine"]["error"]
    assert "daemon running" in body["engine"]["error"]
