"""/users/: admins add users with a role, change roles, deactivate (sessions and websockets end) and
reset passwords; everyone changes their own password. Every change, and every failed one, is audited."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from containers import events
from containers.models import AuditEntry
from containers.roles import role_of
from tests.conftest import PASSWORD, make_user
from tests.websockets import communicator, receive_close, session_cookie_for

NEW_PASSWORD = "a-new-Passphrase-4711"


@pytest.fixture
def bob(db):
    return make_user("bob", "viewer")


def entry(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("id")


@pytest.mark.django_db
def test_it_lists_users_with_their_roles_and_actions(admin_client, bob):
    r = admin_client.get("/users/")
    assert r.status_code == 200
    text = r.content.decode()
    assert '<tr data-user="bob">' in text
    assert f'action="/users/{bob.pk}/deactivate/"' in text
    assert f'href="/users/{bob.pk}/password/"' in text
    # no buttons to lock yourself out
    admin = User.objects.get(username="admin")
    assert f'action="/users/{admin.pk}/deactivate/"' not in text


@pytest.mark.django_db
def test_it_adds_a_user_with_a_role(admin_client):
    r = admin_client.post(
        "/users/add/", {"username": "carol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "role": "operator"}
    )
    assert r.status_code == 302
    carol = User.objects.get(username="carol")
    assert role_of(carol) == "operator"
    assert not carol.is_superuser
    added = entry("user.create")
    assert (added.username, added.target_name, added.params, added.ok) == ("admin", "carol", {"role": "operator"}, True)
    assert added.target_id == str(carol.pk)
    assert added.client_ip == "127.0.0.1"
    assert Client().post("/accounts/login/", {"username": "carol", "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_it_makes_an_admin_a_superuser(admin_client):
    admin_client.post(
        "/users/add/", {"username": "dave", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "role": "admin"}
    )
    dave = User.objects.get(username="dave")
    assert dave.is_superuser
    assert role_of(dave) == "admin"


@pytest.mark.django_db
def test_it_audits_a_refused_new_user(admin_client, bob):
    r = admin_client.post(
        "/users/add/", {"username": "bob", "password1": NEW_PASSWORD, "password2": "other", "role": "viewer"}
    )
    assert r.status_code == 400
    assert b"A user with that username already exists" in r.content
    failed = entry("user.create")
    assert not failed.ok
    assert "username" in failed.result
    assert "password2" in failed.result
    assert User.objects.filter(username="bob").count() == 1


@pytest.mark.django_db
def test_it_changes_a_role(admin_client, bob):
    r = admin_client.post(f"/users/{bob.pk}/role/", {"role": "operator"})
    assert r.status_code == 302
    bob = User.objects.get(pk=bob.pk)
    assert role_of(bob) == "operator"
    changed = entry("user.role")
    assert changed.params == {"role": "operator", "previous": "viewer"}
    assert changed.ok


@pytest.mark.django_db
def test_it_takes_the_admin_role_away_completely(admin_client):
    eve = make_user("eve", "admin")
    eve.is_superuser = True
    eve.save()
    admin_client.post(f"/users/{eve.pk}/role/", {"role": "viewer"})
    eve = User.objects.get(pk=eve.pk)
    assert not eve.is_superuser
    assert role_of(eve) == "viewer"


@pytest.mark.django_db
def test_it_audits_an_unknown_role(admin_client, bob):
    admin_client.post(f"/users/{bob.pk}/role/", {"role": "root"})
    assert role_of(User.objects.get(pk=bob.pk)) == "viewer"
    failed = entry("user.role")
    assert not failed.ok
    assert "root" in failed.result


@pytest.mark.django_db
def test_it_refuses_to_let_an_admin_lock_themselves_out(admin_client, admin_user):
    admin_client.post(f"/users/{admin_user.pk}/deactivate/")
    admin_client.post(f"/users/{admin_user.pk}/role/", {"role": "viewer"})
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert role_of(admin_user) == "admin"
    assert AuditEntry.objects.filter(action__in=["user.deactivate", "user.role"], ok=False).count() == 2


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_user(admin_client):
    assert admin_client.post("/users/999999/deactivate/").status_code == 404


@pytest.mark.django_db
def test_it_ends_the_sessions_of_a_deactivated_user(admin_client, bob):
    bobs = Client()
    bobs.force_login(bob)
    assert bobs.get("/").status_code == 200
    r = admin_client.post(f"/users/{bob.pk}/deactivate/")
    assert r.status_code == 302
    assert not User.objects.get(pk=bob.pk).is_active
    assert bobs.get("/").status_code == 302  # sent to the login page
    assert Client().post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 200
    done = entry("user.deactivate")
    assert done.ok
    assert done.params == {"sessions_ended": 1}
    # and back
    admin_client.post(f"/users/{bob.pk}/activate/")
    assert User.objects.get(pk=bob.pk).is_active
    assert entry("user.activate").ok


@pytest.mark.django_db(transaction=True)
async def test_it_closes_the_websockets_of_a_deactivated_user():
    cookie = await session_cookie_for("bob", "viewer")
    bob_pk = await database_sync_to_async(lambda: User.objects.get(username="bob").pk)()
    ws = communicator("/ws/events/", cookie)
    connected, _ = await ws.connect()
    assert connected
    try:

        def deactivate():
            admin = make_user("admin", "admin")
            client = Client()
            client.force_login(admin)
            return client.post(f"/users/{bob_pk}/deactivate/").status_code

        assert await database_sync_to_async(deactivate)() == 302
        assert await receive_close(ws) == 4401
        # and a new socket with the old session is refused
        again = communicator("/ws/events/", cookie)
        assert (await again.connect())[0]
        assert await receive_close(again) == 4401
        await again.disconnect()
    finally:
        await ws.disconnect()
        await events.stop_listener()


@pytest.mark.django_db(transaction=True)
async def test_it_makes_the_websockets_of_a_user_whose_role_changed_reconnect():
    cookie = await session_cookie_for("bob", "operator")
    bob_pk = await database_sync_to_async(lambda: User.objects.get(username="bob").pk)()
    ws = communicator("/ws/events/", cookie)
    assert (await ws.connect())[0]
    try:

        def demote():
            admin = make_user("admin", "admin")
            client = Client()
            client.force_login(admin)
            return client.post(f"/users/{bob_pk}/role/", {"role": "viewer"}).status_code

        assert await database_sync_to_async(demote)() == 302
        assert await receive_close(ws) == 4000
    finally:
        await ws.disconnect()
        await events.stop_listener()


@pytest.mark.django_db
def test_it_resets_a_password_and_logs_the_user_out(admin_client, bob):
    bobs = Client()
    bobs.force_login(bob)
    assert admin_client.get(f"/users/{bob.pk}/password/").status_code == 200
    r = admin_client.post(f"/users/{bob.pk}/password/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert r.status_code == 302
    assert bobs.get("/").status_code == 302
    assert Client().post("/accounts/login/", {"username": "bob", "password": NEW_PASSWORD}).status_code == 302
    reset = entry("user.password_reset")
    assert (reset.username, reset.target_name, reset.ok) == ("admin", "bob", True)
    assert NEW_PASSWORD not in str(reset.params) + reset.result


@pytest.mark.django_db
def test_it_audits_a_refused_password_reset(admin_client, bob):
    r = admin_client.post(f"/users/{bob.pk}/password/", {"new_password1": "123", "new_password2": "123"})
    assert r.status_code == 400
    assert b"This password is too short" in r.content
    failed = entry("user.password_reset")
    assert not failed.ok
    assert "too short" in failed.result


@pytest.mark.django_db
def test_it_lets_a_user_change_their_own_password(bob):
    here, elsewhere = Client(), Client()
    here.force_login(bob)
    elsewhere.force_login(bob)
    assert here.get("/account/password/").status_code == 200
    r = here.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert r.status_code == 302
    assert here.get("/").status_code == 200  # this session stays
    assert elsewhere.get("/").status_code == 302  # the other one ends
    changed = entry("user.password")
    assert (changed.username, changed.target_name, changed.ok) == ("bob", "bob", True)


@pytest.mark.django_db
def test_it_lets_a_user_without_a_role_change_their_password():
    nobody = make_user("nobody", None)
    client = Client()
    client.force_login(nobody)
    r = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert r.status_code == 302
    nobody.refresh_from_db()
    assert nobody.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_it_refuses_a_wrong_old_password(bob):
    client = Client()
    client.force_login(bob)
    r = client.post(
        "/account/password/", {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert r.status_code == 400
    assert b"Your old password was entered incorrectly" in r.content
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    assert not entry("user.password").ok
