"""The UI's language: the browser's Accept-Language (Django's LocaleMiddleware) unless the person
chose one with the top bar's switcher. A signed-in user's choice is a Preference, put into the
session at every login so that a new browser speaks it too (UserLanguageMiddleware applies it)."""

from __future__ import annotations

from django.conf import settings

from containers.models import Preference

PREFERENCE_KEY = "language"
SESSION_KEY = "panel_language"


def supported(code: str) -> bool:
    """Whether `code` is one of settings.LANGUAGES ("en", "ko")."""
    return code in dict(settings.LANGUAGES)


def remember(request, code: str) -> None:
    """Keep a signed-in user's choice for later sessions and apply it to this one."""
    Preference.objects.update_or_create(user=request.user, key=PREFERENCE_KEY, defaults={"value": code})
    request.session[SESSION_KEY] = code


def apply_at_login(sender, request, user, **kwargs) -> None:
    """user_logged_in: the user's stored language becomes this session's."""
    pref = Preference.objects.filter(user=user, key=PREFERENCE_KEY).first()
    if pref is not None and isinstance(pref.value, str) and supported(pref.value) and request is not None:
        request.session[SESSION_KEY] = pref.value
