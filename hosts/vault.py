"""Secrets at rest (TLS and SSH private keys): Fernet tokens under a key derived from SECRET_KEY.

The key is derived with HKDF, so the panel's secret itself is never the encryption key and other
uses of SECRET_KEY (sessions, CSRF) cannot be turned into it. Changing SECRET_KEY makes stored
secrets unreadable (SecretUnreadable): they must be entered again.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (SECRET_KEY changed since it was saved)."""


@functools.cache
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"dockerpanel.hosts", info=b"host secrets v1")
    return Fernet(base64.urlsafe_b64encode(derived.derive(secret_key.encode())))


def encrypt(text: str) -> str:
    """A token for `text` ("" stays ""), safe to store."""
    return _fernet(settings.SECRET_KEY).encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable("it was encrypted under another SECRET_KEY") from None
