"""First run: every page leads to /setup/ until the first administrator exists."""

import pytest
from django.contrib.auth.models import User

from containers.models import AuditEntry
from containers.roles import role_of

pytestmark = pytest.mark.django_db


def test_it_redirects_every_page_to_setup_while_no_user_exists(client):
    for path in ("/", "/containers/", "/accounts/login/", "/audit/"):
        r = client.get(path)
        assert r.status_code == 302, path
        assert r["Location"] == "/setup/"


def test_it_creates_the_first_administrator(client):
    r = client.get("/setup/")
    assert r.status_code == 200
    assert b"Create administrator" in r.content

    r = client.post(
        "/setup/", {"username": "alice", "password1": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42"}
    )
    assert r.status_code == 302
    alice = User.objects.get(username="alice")
    assert alice.is_superuser
    assert role_of(alice) == "admin"
    assert AuditEntry.objects.filter(action="user.setup", username="alice").exists()
    # logged in straight away
    assert client.get("/").status_code == 200


def test_it_applies_the_password_validators(client):
    r = client.post("/setup/", {"username": "alice", "password1": "123", "password2": "123"})
    assert r.status_code == 200
    assert b"This password is too short" in r.content
    assert not User.objects.exists()


def test_it_removes_setup_once_a_user_exists(client, admin_user):
    assert client.get("/setup/").status_code == 404
    r = client.post(
        "/setup/", {"username": "mallory", "password1": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42"}
    )
    assert r.status_code == 404
    assert not User.objects.filter(username="mallory").exists()


def test_it_requires_login_once_set_up(client, admin_user):
    r = client.get("/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/?next=/")


def test_it_logs_in_with_the_login_form(client, admin_user):
    r = client.post("/accounts/login/", {"username": "admin", "password": "correct-horse-battery-staple"})
    assert r.status_code == 302
    assert client.get("/").status_code == 200


def test_it_logs_out_with_post_only(admin_client):
    assert admin_client.get("/accounts/logout/").status_code == 405
    assert admin_client.post("/accounts/logout/").status_code == 302
    assert admin_client.get("/").status_code == 302
