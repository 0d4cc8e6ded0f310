"""Login throttling (django-axes): repeated wrong passwords lock that username out from that address
with a clear page; other users still log in; both are in the audit log."""

import pytest
from django.conf import settings

from containers.models import AuditEntry
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def log_in(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_it_locks_out_after_the_failure_limit_and_explains_it(client):
    make_user("alice", "operator")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        r = log_in(client, "alice", "wrong")
        assert r.status_code == 200
        assert b"Please enter a correct username and password" in r.content
    r = log_in(client, "alice", "wrong")
    assert r.status_code == 429
    # now even the right password is refused, with the reason and how long to wait
    r = log_in(client, "alice", PASSWORD)
    assert r.status_code == 429
    text = r.content.decode()
    assert "Too many failed logins" in text
    assert "<strong>alice</strong> is locked out from your address" in text
    assert "Wait 15 minutes" in text
    assert client.get("/").status_code == 302  # not logged in
    assert AuditEntry.objects.filter(action="login.failed", target_name="alice", ok=False).count() >= (
        settings.AXES_FAILURE_LIMIT
    )
    locked = AuditEntry.objects.filter(action="login.locked_out").first()
    assert locked.target_name == "alice"
    assert locked.client_ip == "127.0.0.1"


def test_it_still_lets_another_user_log_in_from_the_same_address(client):
    make_user("alice", "operator")
    make_user("bob", "viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 429
    r = log_in(client, "bob", PASSWORD)
    assert r.status_code == 302
    assert client.get("/").status_code == 200


def test_it_forgets_earlier_failures_after_a_successful_login(client):
    make_user("alice", "operator")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    assert log_in(client, "alice", "wrong").status_code == 200  # counting starts again
