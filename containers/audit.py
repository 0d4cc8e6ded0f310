"""Writing the audit log: one entry for every mutation and every refused attempt."""

from __future__ import annotations

import logging

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
