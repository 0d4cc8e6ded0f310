"""The audit log: one entry for every mutation and every refused attempt, and its filters."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django import forms
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from containers.engine import EngineError
from containers.models import AuditEntry

log = logging.getLogger(__name__)


def client_ip(request) -> str | None:
    if request is None:
        return None
    if hasattr(request, "META"):
        return request.META.get("REMOTE_ADDR") or None
    client = request.get("client") if isinstance(request, dict) else None  # an ASGI scope
    return client[0] if client else None


def record(
    request,
    action: str,
    *,
    user=None,
    target_id: str = "",
    target_name: str = "",
    params: dict | None = None,
    ok: bool = True,
    result: str = "",
) -> AuditEntry | None:
    """Write one entry. `request` is an HttpRequest or an ASGI scope (for consumers).

    Never raises: a failing audit write is logged, and must not turn a done action into an error.
    """
    if user is None and request is not None:
        user = request.user if hasattr(request, "user") else request.get("user")
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    try:
        if (not authenticated or action in REFUSALS) and flooding(client_ip(request)):
            return None
        return AuditEntry.objects.create(
            user=user if authenticated else None,
            username=user.get_username() if authenticated else "",
            action=action,
            target_id=target_id[:128],
            target_name=target_name[:255],
            params=params or {},
            ok=ok,
            result=result,
            client_ip=client_ip(request),
        )
    except Exception:
        log.exception("could not write audit entry %s %s", action, target_name or target_id)
        return None


# Refusals a hostile page can repeat with a logged-in user's cookies (a loop of foreign-origin
# sockets, forged POSTs): limited per address like the entries of clients without a login.
REFUSALS = ("websocket.refused", "csrf.refused", "session.refused")


def flooding(address: str | None) -> bool:
    """True once an address has written AUDIT_ANONYMOUS_PER_MINUTE entries without a login or
    refusals in the last minute: a client guessing usernames must not grow the table without bound."""
    since = timezone.now() - timedelta(minutes=1)
    recent = AuditEntry.objects.filter(
        Q(user__isnull=True) | Q(action__in=REFUSALS), client_ip=address, created__gte=since
    )
    return recent.count() >= settings.AUDIT_ANONYMOUS_PER_MINUTE


@contextmanager
def failure_recorded(request, action: str, **entry) -> Iterator[None]:
    """If the block raises an EngineError (the engine being down included), write the entry with
    the error's text, then let the error go on to the caller's message or error page."""
    try:
        yield
    except EngineError as e:
        record(request, action, ok=False, result=str(e), **entry)
        raise


class AuditFilter(forms.Form):
    """The filters of /audit/ and its CSV export (GET parameters)."""

    user = forms.CharField(required=False, label="User")
    action = forms.CharField(required=False, label="Action")
    target = forms.CharField(required=False, label="Target", help_text="part of a name or ID")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    result = forms.ChoiceField(
        required=False, label="Result", choices=[("", "any"), ("ok", "ok"), ("failed", "failed")]
    )

    def entries(self) -> QuerySet[AuditEntry]:
        """Matching entries, newest first; all of them when the form is invalid (errors are shown)."""
        entries = AuditEntry.objects.order_by("-created", "-id")
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("user"):
            entries = entries.filter(username=data["user"])
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("target"):
            entries = entries.filter(
                Q(target_name__icontains=data["target"]) | Q(target_id__istartswith=data["target"])
            )
        if data.get("since"):
            entries = entries.filter(created__date__gte=data["since"])
        if data.get("until"):
            entries = entries.filter(created__date__lte=data["until"])
        if data.get("result"):
            entries = entries.filter(ok=data["result"] == "ok")
        return entries
