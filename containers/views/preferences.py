"""Per-user display preferences that are not about one page: the colour theme."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from containers import audit
from containers.models import Preference

THEME_KEY = "theme"
# auto follows the system's light or dark preference (prefers-color-scheme)
THEMES = {"auto": "follow the system", "light": "light", "dark": "dark"}


def theme_of(user) -> str:
    if not getattr(user, "is_authenticated", False):
        return "auto"
    pref = Preference.objects.filter(user=user, key=THEME_KEY).first()
    return pref.value if pref and pref.value in THEMES else "auto"


@require_POST
@login_required
def set_theme(request: HttpRequest) -> HttpResponse:
    """The theme toggle in the top bar: auto, light or dark, remembered for this user."""
    theme = request.POST.get("theme", "")
    back = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    if theme not in THEMES:
        messages.error(request, f"'{theme[:40]}' is not a theme: choose auto, light or dark")
        return redirect(back)
    Preference.objects.update_or_create(user=request.user, key=THEME_KEY, defaults={"value": theme})
    audit.record(request, "preference.theme", params={"theme": theme}, result=theme)
    return redirect(back)
