"""What makes a logged-in session usable: not idle too long, used from the address that logged in,
and its password hash still current (checked again by open websockets after a password change)."""

from __future__ import annotations

import hashlib
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model

BOUND_ADDRESS_KEY = "dockerpanel.address"
LAST_SEEN_KEY = "dockerpanel.last_seen"
# Writing last_seen on every request would save the session every time; a minute is precise enough.
LAST_SEEN_EVERY_S = 60


def session_problem(session, address: str | None, now: float | None = None) -> str:
    """Why a logged-in session may not be used any more ("" when it may): idle for longer than
    SESSION_IDLE_TIMEOUT, or sent from another address than the one that logged in."""
    now = time.time() if now is None else now
    last_seen = session.get(LAST_SEEN_KEY)
    if settings.SESSION_IDLE_TIMEOUT and last_seen and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
        return "the session was idle too long"
    bound = session.get(BOUND_ADDRESS_KEY)
    if settings.SESSION_BIND_ADDRESS and bound and bound != address:
        return f"the session belongs to {bound}, not {address}"
    return ""


def touch(session, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if now - session.get(LAST_SEEN_KEY, 0) >= LAST_SEEN_EVERY_S:
        session[LAST_SEEN_KEY] = now


def session_fingerprint(session_key: str) -> str:
    """Names a session in channel-layer messages without sending its key (which is the cookie)."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_still_valid(session_key: str | None, user) -> bool:
    """The stored session still logs `user` in (its password hash is current): for open websockets
    after a password change, which leaves the changing session valid and ends the others."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    fresh = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if fresh is None or store.get(SESSION_KEY) != str(user.pk):
        return False
    return store.get(HASH_SESSION_KEY) == fresh.get_session_auth_hash()
