"""Strict readers for settings taken from the environment: a bad value fails at start-up."""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str = "") -> str:
    """A string from NAME, or from the file named by NAME_FILE (for secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as e:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {e}") from e
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int) -> int:
    raw = env(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number")
    if value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} must not be negative")
    return value


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto: https` -> ("HTTP_X_FORWARDED_PROTO", "https"), as Django wants it."""
    raw = env(name, "").strip()
    if not raw:
        return None
    header, sep, value = raw.partition(":")
    if not sep or not header.strip() or not value.strip():
        raise ImproperlyConfigured(f"{name}={raw!r} should look like 'X-Forwarded-Proto: https'")
    return "HTTP_" + header.strip().upper().replace("-", "_"), value.strip()


def env_number(name: str, default: str) -> float:
    """A positive number (seconds, counts) from NAME."""
    raw = env(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if not value > 0:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a positive number")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def secret_key(data_dir: Path) -> str:
    """DJANGO_SECRET_KEY, else a key generated once and kept in the data folder."""
    key = env("DJANGO_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("DJANGO_SECRET_KEY is shorter than 32 characters")
        return key
    path = data_dir / "secret_key"
    try:
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process wrote it first
                return path.read_text().strip()
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
        return path.read_text().strip()
    except OSError as e:
        # one line, not a traceback: the fix is the folder's, not the code's
        raise SystemExit(
            f"DockerPanel cannot start: the data folder {data_dir} cannot hold its secret key ({e.strerror}). "
            "Make it writable, or set DJANGO_SECRET_KEY and DOCKERPANEL_DATA."
        ) from None
