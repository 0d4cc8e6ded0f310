"""First-run redirect to /setup/; sessions' idle timeout and address binding; the CSP header;
engine outages and ambiguous IDs rendered as pages, not 500s."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware
from django.shortcuts import redirect, render
from django.utils import translation

from containers import audit, engine, language, sessions

# No inline script or handler anywhere (static/js holds them). Styles allow 'unsafe-inline' because
# xterm.js and htmx add <style> elements at run time; a style cannot run code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

OPEN_PREFIXES = ("/setup/", "/static/", "/healthz", "/language/", "/jsi18n/")


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


class ContentSecurityPolicyMiddleware:
    """Every response carries the panel's Content-Security-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class SessionGuardMiddleware:
    """A session idle for longer than SESSION_IDLE_TIMEOUT, or replayed from another address than the
    one that logged in, is logged out (and the attempt recorded); otherwise its last use is noted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            problem = sessions.session_problem(request.session, audit.client_ip(request))
            if problem:
                user = request.user
                request.session.flush()
                request.user = AnonymousUser()
                # Recorded as the client it came from (rate-limited per address), naming the user.
                audit.record(
                    request,
                    "session.refused",
                    target_id=str(user.pk),
                    target_name=user.get_username(),
                    ok=False,
                    result=problem,
                )
            else:
                sessions.touch(request.session)
        return self.get_response(request)


class EngineMiddleware:
    """Every view works on one Docker host, `request.engine`: the host the URL names
    (/hosts/<name>/...), or the default host for the unprefixed URLs of before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        name = view_kwargs.pop("host", None)
        try:
            request.engine = engine.engine_for(name)
        except engine.UnknownHost as e:
            raise Http404(str(e)) from None
        request.host_name = name  # None on the unprefixed URLs: links stay unprefixed (containers/links.py)
        return None


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


class UserLanguageMiddleware:
    """A signed-in user's chosen language (containers/language.py) wins over the browser's
    Accept-Language, which LocaleMiddleware applied before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = request.session.get(language.SESSION_KEY) if request.user.is_authenticated else None
        if code and language.supported(code):
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)


class GZipMiddleware(DjangoGZipMiddleware):
    """Pages and JSON compressed (a 1,000-row list is a tenth of its size); streaming responses are
    left alone, because gzip would hold back pull progress, deploy output and log lines until its
    buffer fills. Django's version pads each body with random bytes against BREACH."""

    def process_response(self, request, response):
        if response.streaming:
            return response
        return super().process_response(request, response)
