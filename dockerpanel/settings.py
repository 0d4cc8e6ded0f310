"""DockerPanel settings: everything that varies comes from the environment (see README)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from dockerpanel.env import env, env_bool, env_int, env_list, env_number, proxy_ssl_header, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env("DOCKERPANEL_DATA", str(BASE_DIR / "data"))).resolve()

SECRET_KEY = secret_key(DATA_DIR)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for origin in CSRF_TRUSTED_ORIGINS:
    if "://" not in origin:
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS entry {origin!r} needs a scheme, e.g. https://{origin}")

# Links to published ports use this host (the machine's public address), never the panel's own
# host name: cookies are scoped by host, not port. Empty: the other loopback name when the panel is
# browsed on loopback (127.0.0.1 <-> localhost), else no link (see README "Security").
PORTS_HOST = env("PORTS_HOST")

# Behind a reverse proxy that terminates TLS (deploy/README.md): trust its X-Forwarded-Proto, so
# requests count as HTTPS (CSRF origin checks), and send cookies over HTTPS only. The image's entry
# point also makes daphne take the client address from X-Forwarded-For (audit log, login throttling).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
# HTTPS deployments: Secure, __Host- cookies, HSTS, the proxy's header (SECURE_* set one by one).
SECURE_COOKIES = env_bool("SECURE_COOKIES", BEHIND_TLS_PROXY)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES
if SECURE_COOKIES:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = proxy_ssl_header("SECURE_PROXY_SSL_HEADER") or (
    ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Sessions: absolute lifetime, idle timeout, and bound to the address that logged in.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 8 * 3600)
SESSION_BIND_ADDRESS = env_bool("SESSION_BIND_ADDRESS", True)
CSRF_FAILURE_VIEW = "containers.views.security.csrf_failure"

# Bounds on what a client may send.
MAX_URL_LENGTH = env_int("MAX_URL_LENGTH", 4096)
MAX_PORT_BINDINGS = env_int("MAX_PORT_BINDINGS", 256)
AUDIT_ANONYMOUS_PER_MINUTE = env_int("AUDIT_ANONYMOUS_PER_MINUTE", 30)

# Empty means "whatever the docker CLI would use" (DOCKER_HOST, else the default socket).
DOCKER_HOST = env("DOCKER_HOST")
DOCKER_TIMEOUT = env_number("DOCKER_TIMEOUT", "60")
# Pages wait less than long operations: a hung engine gives "not answering" quickly, not a hang.
DOCKER_PAGE_TIMEOUT = env_number("DOCKER_PAGE_TIMEOUT", "10")
# Threads for blocking engine calls from async code: short ones (pages, websocket handshakes) apart
# from long ones (pulls, deploys, downloads), so stalled long work cannot starve the short.
DOCKER_SHORT_WORKERS = int(env_number("DOCKER_SHORT_WORKERS", "16"))
DOCKER_LONG_WORKERS = int(env_number("DOCKER_LONG_WORKERS", "8"))
# The list page's CPU/memory column: at most this many engine stats streams (one thread and one
# engine connection each) at once, for the rows pages have on screen (containers/sampler.py).
STATS_MAX_STREAMS = env_int("DOCKERPANEL_STATS_MAX_STREAMS", 32)
# Bulk stop/remove: this many engine calls at once (the CLI's `docker stop a b c` stops them together)
BULK_CONCURRENCY = max(1, env_int("DOCKERPANEL_BULK_CONCURRENCY", 8))
# The container the panel runs in (ID or name); found by itself when empty (containers/own_container.py).
DOCKERPANEL_CONTAINER_ID = env("DOCKERPANEL_CONTAINER_ID")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "containers",
    "hosts",
]

MIDDLEWARE = [
    "containers.middleware.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "containers.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "containers.middleware.UserLanguageMiddleware",
    "containers.middleware.SessionGuardMiddleware",
    "containers.middleware.InterruptedAttemptsMiddleware",
    "containers.middleware.FirstRunMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "containers.middleware.EngineMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "containers.middleware.EngineErrorMiddleware",
]

ROOT_URLCONF = "dockerpanel.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% url %} that adds the page's Docker host to a host page's URL names
            "builtins": ["containers.templatetags.hosturl"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "containers.context_processors.panel",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "dockerpanel.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A bounded pool: a burst of requests waits for a connection instead of exhausting the server's.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(env_number("DATABASE_POOL_MIN_SIZE", "1")),
        "max_size": int(env_number("DATABASE_POOL_MAX_SIZE", "10")),
        "timeout": env_number("DATABASE_POOL_TIMEOUT", "10"),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads write the audit log at once: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    # redis-py 8 gives up reading after 5 s by default, the very time channels_redis blocks waiting for
    # a message (BZPOPMIN 5 s): an idle websocket would crash with a TimeoutError. Allow more.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Login throttling: lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# The UI speaks English and Korean: the browser's Accept-Language chooses, the switcher in the top
# bar overrides it (remembered per user, containers/language.py). Docker's own words stay English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
