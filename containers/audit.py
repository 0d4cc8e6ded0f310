"""The audit log: one entry for every mutation and every refused attempt, and its filters."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django import forms
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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


class AuditUnavailable(Exception):
    """The audit log cannot be written (read-only or full data folder, database down): the action
    is refused, since it would leave no record. str() says why, for the user."""

    def __init__(self, action: str, cause: BaseException):
        self.action = action
        self.cause = cause
        super().__init__(
            f"Not done: the audit log cannot be written, so '{action}' was refused ({cause}). "
            "Check the data folder (DOCKERPANEL_DATA) or the database: is it full or read-only?"
        )


IN_PROGRESS, DONE, INTERRUPTED = "in progress", "done", "interrupted"
_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def host_of(request) -> str:
    """The Docker host a request or socket acts on: a host page's (request.engine) or a container
    socket's route; "" for the panel's own pages (users, logins, the audit log)."""
    if request is None:
        return ""
    if hasattr(request, "META"):
        from containers.links import on_host_page

        return request.engine.name if on_host_page(request) else ""
    kwargs = (request.get("url_route") or {}).get("kwargs") or {} if isinstance(request, dict) else {}
    if "host" in kwargs:
        return str(kwargs["host"])
    if "ref" in kwargs:  # a container's socket on the unprefixed routes: the default host
        from containers.engine import registry

        return registry.default_name()
    return ""


def _entry(request, action: str, user, host: str = "", **fields) -> AuditEntry:
    fields["host"] = (host or host_of(request))[:63]
    if user is None and request is not None:
        user = request.user if hasattr(request, "user") else request.get("user")
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    fields["target_id"] = fields.get("target_id", "")[:128]
    fields["target_name"] = fields.get("target_name", "")[:255]
    fields["params"] = fields.get("params") or {}
    try:
        return AuditEntry.objects.create(
            user=user if authenticated else None,
            username=user.get_username() if authenticated else "",
            action=action,
            client_ip=client_ip(request),
            **fields,
        )
    except DatabaseError as e:
        log.error("could not write audit entry %s %s: %s", action, fields["target_name"] or fields["target_id"], e)
        raise AuditUnavailable(action, e) from e


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
    host: str = "",
) -> AuditEntry | None:
    """Write one finished entry. `request` is an HttpRequest or an ASGI scope (for consumers).

    Raises AuditUnavailable when it cannot be written: callers record *before* acting (or use
    attempt()), so a failing audit log refuses the action instead of hiding it. Entries of clients
    without a login, and refusals a hostile page can repeat, are limited per address: past
    AUDIT_ANONYMOUS_PER_MINUTE they are not written (None).
    """
    if user is None and request is not None:
        user = request.user if hasattr(request, "user") else request.get("user")
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    if (not authenticated or action in REFUSALS) and flooding(client_ip(request)):
        return None
    return _entry(
        request,
        action,
        user,
        host,
        target_id=target_id,
        target_name=target_name,
        params=params,
        ok=ok,
        result=result,
    )


def begin(
    request, action: str, *, user=None, target_id: str = "", target_name: str = "", params=None, host: str = ""
) -> AuditEntry:
    """Write an attempt "in progress" before acting; raises AuditUnavailable (then do nothing).
    `host`: the Docker host acted on, when the request's own (host_of) is not it (the /hosts/ pages)."""
    return _entry(
        request,
        action,
        user,
        host,
        target_id=target_id,
        target_name=target_name,
        params=params,
        ok=False,
        result="in progress",
        state=IN_PROGRESS,
        process=_PROCESS,
    )


def finish(entry: AuditEntry, *, ok: bool, result: str = "", **changes) -> None:
    """Complete an attempt once with its outcome (changes: target_id, target_name, params).

    The action has happened by now, so a failure here is logged, not raised: the entry stays
    "in progress" and is marked interrupted at the next start.
    """
    try:
        done = AuditEntry.objects.filter(pk=entry.pk, state=IN_PROGRESS).update(
            state=DONE, ok=ok, result=result, **changes
        )
    except DatabaseError:
        log.exception("could not complete audit entry %s (%s)", entry.pk, entry.action)
        return
    if done:
        from containers.events import publish_panel_entry

        for field, value in {"state": DONE, "ok": ok, "result": result, **changes}.items():
            setattr(entry, field, value)
        # the toast ("alice stopped web") once the outcome is stored, as for entries written whole
        transaction.on_commit(lambda: publish_panel_entry(entry))


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
    try:
        return recent.count() >= settings.AUDIT_ANONYMOUS_PER_MINUTE
    except DatabaseError:
        return False  # writing then fails with AuditUnavailable, which says why


@contextmanager
def attempt(request, action: str, **entry) -> Iterator[AuditEntry]:
    """Record the attempt, run the block, complete the entry with the outcome.

    An EngineError completes it as failed with the error's text and goes on to the caller; set
    `.result` (and target_id/target_name/params) on the yielded entry to word a success.
    """
    started = begin(request, action, **entry)
    started.result = ""
    try:
        yield started
    except EngineError as e:
        finish(started, ok=False, result=str(e))
        raise
    except BaseException as e:
        finish(started, ok=False, result=f"failed: {type(e).__name__}: {e}")
        raise
    finish(
        started,
        ok=True,
        result=started.result,
        target_id=started.target_id[:128],
        target_name=started.target_name[:255],
        params=started.params,
    )


def mark_interrupted() -> int:
    """Mark attempts left open by server processes on this host that no longer run; their number."""
    open_here = AuditEntry.objects.filter(state=IN_PROGRESS, process__startswith=f"{socket.gethostname()}:")
    dead = [p for p in open_here.values_list("process", flat=True).distinct() if not _alive(p)]
    if not dead:
        return 0
    return open_here.filter(process__in=dead).update(
        state=INTERRUPTED, ok=False, result="interrupted: the server process stopped before this finished"
    )


_start_lock = threading.Lock()
_started = False


def mark_interrupted_at_start() -> None:
    """mark_interrupted() once per server process, at its first request (not at import: no
    database work then); a database that is down only gets a log line, and a later try."""
    global _started
    if _started:
        return
    with _start_lock:
        if _started:
            return
        _started = True
    try:
        count = mark_interrupted()
    except DatabaseError as e:
        log.error("could not mark interrupted audit attempts: %s", e)
        _started = False
        return
    if count:
        log.warning("marked %d audit attempts left in progress by a stopped server process as interrupted", count)


def _alive(process: str) -> bool:
    pid = process.rsplit(":", 1)[-1]
    return process == _PROCESS or (pid.isdigit() and os.path.exists(f"/proc/{pid}"))


def database_writable() -> None:
    """Raise DatabaseError unless the database accepts a write (tried in a transaction rolled back)."""
    with transaction.atomic():
        AuditEntry.objects.create(action="healthz.write-check", state=DONE)
        transaction.set_rollback(True)


class AuditFilter(forms.Form):
    """The filters of /audit/ and its CSV export (GET parameters)."""

    user = forms.CharField(required=False, label=_("User"))
    action = forms.CharField(required=False, label=_("Action"))
    target = forms.CharField(required=False, label=_("Target"), help_text=_("part of a name or ID"))
    host = forms.CharField(required=False, label=_("Host"))
    since = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    result = forms.ChoiceField(
        required=False, label=_("Result"), choices=[("", _("any")), ("ok", _("ok")), ("failed", _("failed"))]
    )

    def entries(self) -> QuerySet[AuditEntry]:
        """Matching entries, newest first; all of them when the form is invalid (errors are shown)."""
        entries = AuditEntry.objects.order_by("-created", "-id")
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("user"):
            entries = entries.filter(username=data["user"])
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("host"):
            entries = entries.filter(host=data["host"])
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
