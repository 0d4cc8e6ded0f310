"""The login form, recorded in the audit log, and a POST that fails Django's CSRF check."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from containers import audit


class LoginView(auth_views.LoginView):
    """Django's login form; a successful login is an audit entry (failures are, via the signal)."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        audit.record(self.request, "login", user=user, target_id=str(user.pk), target_name=user.get_username())
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a 403 page, and an audit entry (rate-limited per address when anonymous)."""
    audit.record(
        request,
        "csrf.refused",
        target_name=request.path[:255],
        params={"method": request.method, "origin": request.headers.get("Origin", "")[:200]},
        ok=False,
        result=reason,
    )
    return render(request, "403.html", {"csrf": True}, status=403)
