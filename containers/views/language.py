"""The top bar's language switcher (English / 한국어), for signed-in people and on the login page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from containers import audit, language


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI's language: a cookie for this browser, and for a signed-in user a preference
    applied at every later login. `next` is followed only within this site."""
    code = request.POST.get("language", "")
    if not language.supported(code):
        choices = ", ".join(c for c, _name in settings.LANGUAGES)
        return HttpResponseBadRequest(
            _("Unknown language “%(code)s”: choose one of %(choices)s.") % {"code": code[:20], "choices": choices},
            content_type="text/plain; charset=utf-8",
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    if request.user.is_authenticated:
        audit.record(request, "preference.language", params={"language": code}, result=code)
        language.remember(request, code)
    translation.activate(code)
    response = redirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
