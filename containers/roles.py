"""Roles (viewer < operator < admin) as Django groups, and the checks that enforce them."""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext_lazy

ROLES = ("viewer", "operator", "admin")
# Role names as people read them; the stored value (and the CSS class) stays the English word.
ROLE_LABELS = {"viewer": gettext_lazy("viewer"), "operator": gettext_lazy("operator"), "admin": gettext_lazy("admin")}
PERMISSION = {
    "viewer": "containers.view_panel",
    "operator": "containers.operate",
    "admin": "containers.administer",
}
# What each group is granted; a role includes the ones below it.
GRANTS = {
    "viewer": ["view_panel"],
    "operator": ["view_panel", "operate"],
    "admin": ["view_panel", "operate", "administer"],
}


def has_role(user, role: str) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.has_perm(PERMISSION[role])


def role_of(user) -> str | None:
    """The highest role the user holds, or None."""
    for role in reversed(ROLES):
        if has_role(user, role):
            return role
    return None


def forbidden(request: HttpRequest, role: str, action: str = "", target: str = ""):
    """A 403 page, recorded in the audit log as a refused attempt."""
    from containers import audit

    audit.record(
        request,
        "permission.denied",
        target_name=target,
        params={"needed": role, "action": action or request.path, "method": request.method},
        ok=False,
        result=f"{request.user} lacks the {role} role",
    )
    return render(request, "403.html", {"role": role}, status=403)


def role_required(role: str):
    """View decorator: the user must hold `role` (login is already enforced by middleware)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, role):
                return forbidden(request, role, target=str(kwargs.get("ref", "")))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def ensure_groups(**kwargs) -> None:
    """Make the role groups and their permissions if missing (after a flush, as in tests)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    ct, _ = ContentType.objects.get_or_create(app_label="containers", model="panel")
    for role, codes in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = [Permission.objects.get_or_create(content_type=ct, codename=c, defaults={"name": c})[0] for c in codes]
        group.permissions.add(*perms)
