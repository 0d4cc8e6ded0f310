"""Refusals the panel records: a POST that fails Django's CSRF check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from containers import audit


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
