"""First-run redirect to /setup/; engine outages and ambiguous IDs rendered as pages, not 500s."""

from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render

from containers import audit, engine

OPEN_PREFIXES = ("/setup/", "/static/", "/healthz")


class InterruptedAttemptsMiddleware:
    """At a server process's first request, attempts a killed process left "in progress" are marked
    interrupted (audit.mark_interrupted)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        audit.mark_interrupted_at_start()
        return self.get_response(request)


class FirstRunMiddleware:
    """While no user exists, every page leads to /setup/ to create the first administrator."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            not request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
            and not get_user_model().objects.exists()
        ):
            return redirect("setup")
        return self.get_response(request)


class EngineErrorMiddleware:
    """An unreachable (or hung) engine becomes a styled 503 page naming the address and what to do;
    an audit log that cannot be written refuses the action with a 503 page saying why."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, engine.EngineUnavailable):
            template = "_engine_down.html" if request.headers.get("HX-Request") else "engine_down.html"
            return render(request, template, {"error": exception}, status=503)
        if isinstance(exception, audit.AuditUnavailable):
            template = "_audit_down.html" if request.headers.get("HX-Request") else "audit_down.html"
            return render(request, template, {"error": exception}, status=503)
        if isinstance(exception, engine.Ambiguous):
            return render(request, "ambiguous.html", {"error": exception}, status=400)
        if isinstance(exception, engine.EngineError):  # an engine answer no view expected: say it, no 500
            template = "_engine_error.html" if request.headers.get("HX-Request") else "engine_error.html"
            return render(request, template, {"error": exception}, status=502)
        return None
