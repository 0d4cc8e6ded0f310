"""Settings come from the environment through strict helpers that fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from dockerpanel import env

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def start_django(tmp_path, **overrides) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DOCKERPANEL_DATA": str(tmp_path), **overrides}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "dockerpanel.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_fails_at_start_on_a_bad_debug_value(tmp_path):
    out = start_django(tmp_path, DJANGO_DEBUG="maybe")
    assert out.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in out.stderr


def test_it_reads_debug_off_by_default_and_on_when_asked(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**environ, "DOCKERPANEL_DATA": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dockerpanel.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False"
    assert start_django(tmp_path, DJANGO_DEBUG="yes").stdout.strip() == "True"


def test_it_rejects_a_csrf_origin_without_scheme(tmp_path):
    out = start_django(tmp_path, CSRF_TRUSTED_ORIGINS="panel.example.test")
    assert out.returncode != 0
    assert "needs a scheme" in out.stderr


def test_it_generates_and_keeps_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    first = env.secret_key(tmp_path)
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert env.secret_key(tmp_path) == first


def test_it_reads_secrets_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "key"
    secret.write_text("s" * 40 + "\n")
    monkeypatch.setenv("DJANGO_SECRET_KEY_FILE", str(secret))
    assert env.secret_key(tmp_path / "data") == "s" * 40


def test_it_rejects_a_short_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "short")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        env.secret_key(tmp_path)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("off", False), ("0", False)])
def test_it_parses_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG") is expected


def test_it_splits_lists(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.test, b.test ,,")
    assert env.env_list("X_LIST") == ["a.test", "b.test"]


def test_it_uses_redis_for_channels_when_redis_url_is_set(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    environ = {**os.environ, "DOCKERPANEL_DATA": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dockerpanel.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environ, "REDIS_URL": "redis://127.0.0.1:6379/0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "channels_redis.core.RedisChannelLayer"


def test_it_trusts_a_tls_proxy_only_when_told(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None), settings.SESSION_COOKIE_SECURE, "
        "settings.CSRF_COOKIE_SECURE)"
    )

    def read(**overrides) -> str:
        environ = {k: v for k, v in os.environ.items() if k != "BEHIND_TLS_PROXY"}
        environ |= {"DOCKERPANEL_DATA": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dockerpanel.settings", **overrides}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True)
        return out.stdout.strip() or out.stderr

    assert read() == "None False False"
    assert read(BEHIND_TLS_PROXY="1") == "('HTTP_X_FORWARDED_PROTO', 'https') True True"
    assert "BEHIND_TLS_PROXY='sure' is not a boolean" in read(BEHIND_TLS_PROXY="sure")
