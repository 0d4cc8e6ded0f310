"""User accounts: the forms of /users/ and /account/password/, and what a change does to open sessions.

Deactivating a user or resetting their password ends their sessions and closes their websockets
(4401); a role change closes their websockets with 4000 so they reconnect under the new role.
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django import forms
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from containers import consumers
from containers.roles import ROLE_LABELS, ROLES, role_of
from containers.sessions import BOUND_ADDRESS_KEY, LAST_SEEN_KEY, session_fingerprint

log = logging.getLogger(__name__)

ROLE_CHOICES = [(r, ROLE_LABELS.get(r, r)) for r in ROLES]


class NewUserForm(UserCreationForm):
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="viewer", label=gettext_lazy("Role"))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        with transaction.atomic():
            user.save()
            set_role(user, self.cleaned_data["role"])
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


def set_role(user, role: str) -> None:
    """Put the user in exactly one role group; an admin is also a superuser (as at first run)."""
    user.is_superuser = user.is_staff = role == "admin"
    user.save(update_fields=["is_superuser", "is_staff"])
    user.groups.set([Group.objects.get(name=role)])


def change_role(user, role: str) -> str | None:
    """Set the role; returns the previous one. Open websockets reconnect to be checked again."""
    previous = role_of(user)
    set_role(user, role)
    close_sockets(user, consumers.CLOSE_ROLE_CHANGED)
    return previous


def end_sessions(user) -> int:
    """Log the user out everywhere: delete their sessions and close their websockets."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            session.delete()
            ended += 1
    close_sockets(user, consumers.CLOSE_UNAUTHENTICATED)
    return ended


def close_sockets(user, code: int) -> None:
    """Every consumer of the user (any process, via the channel layer) closes with `code`."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            consumers.user_group(user.pk), {"type": "user.revoked", "code": code}
        )
    except Exception:
        log.exception("could not close the websockets of %s", user)


def recheck_sockets(user, keep: str | None = None) -> None:
    """Every websocket of the user checks its session again; those no longer valid close with 4401.
    Sockets opened under the session key `keep` (the one that changed the password) stay."""
    message = {"type": "user.recheck", "keep": session_fingerprint(keep) if keep else ""}
    try:
        async_to_sync(get_channel_layer().group_send)(consumers.user_group(user.pk), message)
    except Exception:
        log.exception("could not recheck the websockets of %s", user)


def bind_session(sender, request, user, **kwargs) -> None:
    """Django's user_logged_in: the session belongs to the address that logged in (see sessions.py)."""
    from containers import audit

    if request is not None and hasattr(request, "session"):
        request.session[BOUND_ADDRESS_KEY] = audit.client_ip(request)
        request.session[LAST_SEEN_KEY] = time.time()


def record_logout(sender, request, user, **kwargs) -> None:
    from containers import audit

    if request is not None and user is not None:
        audit.record(request, "logout", user=user, target_id=str(user.pk), target_name=user.get_username())


def record_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    """Django's user_login_failed: a wrong password (or a locked-out attempt) in the audit log."""
    from containers import audit

    username = str(credentials.get("username", ""))
    audit.record(request, "login.failed", target_name=username, ok=False, result="wrong username or password")


def record_lockout(sender, request=None, username: str = "", ip_address: str = "", **kwargs) -> None:
    """django-axes' user_locked_out: the username is locked out from that address."""
    from containers import audit

    audit.record(
        request,
        "login.locked_out",
        target_name=username or "",
        params={"address": ip_address},
        ok=False,
        result="too many failed logins",
    )
