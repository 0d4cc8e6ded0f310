"""Users (/users/, admins only) and each user's own password (/account/password/)."""

from __future__ import annotations

from contextlib import nullcontext

from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from containers import accounts, audit
from containers.roles import role_required


def errors_of(form, language: str | None = "en") -> str:
    """The form's errors on one line: in English for the audit log, or in `language` (None: the page's)."""
    with translation.override(language) if language else nullcontext():
        return "; ".join(
            f"{field}: {' '.join(errs)}" if field != "__all__" else " ".join(errs)
            for field, errs in form.errors.items()
        )


# What _refuse_self tells the admin (the audit log keeps the English sentence).
REFUSE_SELF = {
    "change the role of": gettext_lazy("You cannot change your own role; ask another administrator."),
    "deactivate": gettext_lazy("You cannot deactivate yourself; ask another administrator."),
}


def get_user_or_404(user_id: int):
    return get_object_or_404(get_user_model(), pk=user_id)


def _list(request: HttpRequest, new_form: accounts.NewUserForm, status: int = 200) -> HttpResponse:
    users = get_user_model().objects.order_by("username").prefetch_related("groups")
    rows = [{"user": u, "role": role_name(u)} for u in users]
    return render(
        request,
        "users/list.html",
        {"rows": rows, "form": new_form, "roles": accounts.ROLE_CHOICES},
        status=status,
    )


def role_name(user) -> str | None:
    """The role a user holds, also while deactivated (role_of says None for inactive users)."""
    names = {g.name for g in user.groups.all()}
    return "admin" if user.is_superuser else next((r for r, _ in reversed(accounts.ROLE_CHOICES) if r in names), None)


@role_required("admin")
def user_list(request: HttpRequest) -> HttpResponse:
    return _list(request, accounts.NewUserForm())


@require_POST
@role_required("admin")
def user_add(request: HttpRequest) -> HttpResponse:
    form = accounts.NewUserForm(request.POST)
    username = request.POST.get("username", "")
    if not form.is_valid():
        audit.record(
            request,
            "user.create",
            target_name=username,
            params={"role": request.POST.get("role", "")},
            ok=False,
            result=errors_of(form),
        )
        messages.error(request, _("User %(name)s was not added: see the form.") % {"name": username or _("(no name)")})
        return _list(request, form, status=400)
    user = form.save()
    role = form.cleaned_data["role"]
    audit.record(request, "user.create", target_id=str(user.pk), target_name=user.username, params={"role": role})
    messages.success(
        request, _("Added %(name)s as %(role)s.") % {"name": user.username, "role": accounts.ROLE_LABELS[role]}
    )
    return redirect("accounts:users")


def _refuse_self(request: HttpRequest, user, action: str, what: str) -> HttpResponse | None:
    """An admin may not lock themselves out (so one active admin always remains)."""
    if user.pk != request.user.pk:
        return None
    text = f"You cannot {what} yourself; ask another administrator."
    audit.record(request, action, target_id=str(user.pk), target_name=user.username, ok=False, result=text)
    messages.error(request, REFUSE_SELF[what])
    return redirect("accounts:users")


@require_POST
@role_required("admin")
def user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_user_or_404(user_id)
    if refused := _refuse_self(request, user, "user.role", "change the role of"):
        return refused
    form = accounts.RoleForm(request.POST)
    if not form.is_valid():
        audit.record(
            request,
            "user.role",
            target_id=str(user.pk),
            target_name=user.username,
            params={"role": request.POST.get("role", "")},
            ok=False,
            result=errors_of(form),
        )
        messages.error(
            request,
            _("Role of %(name)s not changed: %(errors)s") % {"name": user.username, "errors": errors_of(form, None)},
        )
        return redirect("accounts:users")
    role = form.cleaned_data["role"]
    previous = accounts.change_role(user, role)
    audit.record(
        request,
        "user.role",
        target_id=str(user.pk),
        target_name=user.username,
        params={"role": role, "previous": previous},
    )
    messages.success(
        request, _("%(name)s is now %(role)s.") % {"name": user.username, "role": accounts.ROLE_LABELS[role]}
    )
    return redirect("accounts:users")


@require_POST
@role_required("admin")
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_user_or_404(user_id)
    if refused := _refuse_self(request, user, "user.deactivate", "deactivate"):
        return refused
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = accounts.end_sessions(user)
    audit.record(
        request,
        "user.deactivate",
        target_id=str(user.pk),
        target_name=user.username,
        params={"sessions_ended": ended},
    )
    messages.success(
        request,
        ngettext(
            "Deactivated %(name)s: %(count)d session ended, open pages disconnected.",
            "Deactivated %(name)s: %(count)d sessions ended, open pages disconnected.",
            ended,
        )
        % {"name": user.username, "count": ended},
    )
    return redirect("accounts:users")


@require_POST
@role_required("admin")
def user_activate(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_user_or_404(user_id)
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(request, "user.activate", target_id=str(user.pk), target_name=user.username)
    messages.success(request, _("Reactivated %(name)s.") % {"name": user.username})
    return redirect("accounts:users")


@role_required("admin")
def user_password(request: HttpRequest, user_id: int) -> HttpResponse:
    """An administrator sets a new password for a user, which logs that user out everywhere."""
    user = get_user_or_404(user_id)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            ended = accounts.end_sessions(user)
            audit.record(
                request,
                "user.password_reset",
                target_id=str(user.pk),
                target_name=user.username,
                params={"sessions_ended": ended},
            )
            messages.success(
                request, _("New password set for %(name)s; their sessions were ended.") % {"name": user.username}
            )
            return redirect("accounts:users")
        audit.record(
            request,
            "user.password_reset",
            target_id=str(user.pk),
            target_name=user.username,
            ok=False,
            result=errors_of(form),
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "users/password.html", {"form": form, "target": user}, status=status)


@login_required
def own_password(request: HttpRequest) -> HttpResponse:
    """Any logged-in user changes their own password; their other sessions end."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.save()
            this_session = request.session.session_key
            # This session stays (under a new key); the others fail their session hash check from now on.
            update_session_auth_hash(request, user)
            # Open websockets of the other sessions close (a terminal's processes killed with them).
            accounts.recheck_sockets(user, keep=this_session)
            audit.record(request, "user.password", target_id=str(user.pk), target_name=user.username)
            messages.success(request, _("Your password was changed. Other sessions have been logged out."))
            return redirect("dashboard")
        audit.record(
            request,
            "user.password",
            target_id=str(request.user.pk),
            target_name=request.user.username,
            ok=False,
            result=errors_of(form),
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "account/password.html", {"form": form}, status=status)
