"""First run, health check and the dashboard."""

import dataclasses

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from containers import audit, engine
from containers.roles import role_required


@login_not_required
@never_cache
def setup(request: HttpRequest) -> HttpResponse:
    """Create the first administrator; gone (404) once any user exists."""
    if get_user_model().objects.exists():
        raise Http404("Setup is done")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            # Concurrent first-admin posts queue here (a row lock; SQLite's BEGIN IMMEDIATE does the
            # same), so the one that comes second sees the first user and makes none.
            Group.objects.select_for_update().get(name="admin")
            if get_user_model().objects.exists():
                raise Http404("Setup is done")
            user = form.save(commit=False)
            user.is_staff = True
            user.is_superuser = True
            user.save()
            user.groups.add(Group.objects.get(name="admin"))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        audit.record(request, "user.setup", target_name=user.username, params={"role": "admin"})
        return redirect("dashboard")
    return render(request, "setup.html", {"form": form})


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """ok or not for anyone (a load balancer); the engine's version and address and the errors only
    for logged-in users, since they name hosts, users and ports."""
    body: dict = {}
    healthy = True
    try:
        audit.database_writable()  # a database that only reads cannot keep the audit log
        body["database"] = "ok"
    except Exception as e:
        body["database"] = f"error: {e}"
        healthy = False
    try:
        body["engine"] = {"ok": True, "version": request.engine.ping(), "address": request.engine.address}
    except engine.EngineError as e:
        body["engine"] = {"ok": False, "error": str(e), "address": request.engine.address}
        healthy = False
    status = {"status": "ok" if healthy else "error"}
    if not request.user.is_authenticated:
        body = {}
    return JsonResponse({**status, **body}, status=200 if healthy else 503)


@role_required("viewer")
def dashboard(request: HttpRequest) -> HttpResponse:
    """The engine's counters; on an htmx request (after a live "engine-changed") just them."""
    template = "dashboard/_counts.html" if request.headers.get("HX-Request") else "dashboard.html"
    info = request.engine.info()
    # `docker info` also counts intermediate images that `docker images` does not list: count what
    # the images page lists, so both pages say the same number
    try:
        info = dataclasses.replace(info, images=len(request.engine.list_images()))
    except engine.EngineUnavailable:
        raise
    except engine.EngineError:
        pass  # `docker info`'s own count, then: the counters still show
    return render(request, template, {"info": info, "address": request.engine.address})
