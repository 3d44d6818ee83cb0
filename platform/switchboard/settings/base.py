"""Django settings. Every value comes from the environment through switchboard.config.

Development needs none of them: PostgreSQL and Redis default to the embedded servers in the data
folder, and the secret and encryption keys are generated once into that folder.
"""

from __future__ import annotations

import os
import secrets as _stdlib_secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from cryptography.fernet import Fernet

from switchboard import config, embedded
from switchboard.config import ConfigError

BASE_DIR = Path(__file__).resolve().parents[3]
DATA_DIR = Path(config.env_str("SWITCHBOARD_DATA_DIR") or embedded.default_data_dir()).resolve()

DEBUG = config.env_bool("SWITCHBOARD_DEBUG", False)
# Which kind of process this is (web, worker, ingest-worker, …): set by each entry point, used to
# name its database and Redis connections so an operator can tell them apart.
PROCESS_ROLE = config.env_str("SWITCHBOARD_PROCESS_ROLE", "other")


def _persisted_secret(filename: str, make: callable) -> str:
    """A development secret generated once and kept in the data folder (mode 0600)."""
    path = DATA_DIR / filename
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


SECRET_KEY = config.env_str("SWITCHBOARD_SECRET_KEY") or _persisted_secret(
    "secret_key", lambda: _stdlib_secrets.token_urlsafe(50)
)

# Fernet keys for secrets at rest (provider keys, action credentials). The first key encrypts;
# every key decrypts, so a new key is rotated in by putting it first and re-encrypting
# (`manage.py rotate_encryption_keys`) before dropping the old one.
ENCRYPTION_KEYS = config.env_list("SWITCHBOARD_ENCRYPTION_KEYS", []) or [
    _persisted_secret("encryption_key", lambda: Fernet.generate_key().decode())
]
for _index, _key in enumerate(ENCRYPTION_KEYS):
    try:
        Fernet(_key)
    except (ValueError, TypeError) as _exc:
        raise ConfigError(
            f"SWITCHBOARD_ENCRYPTION_KEYS entry #{_index + 1} is not a valid Fernet key "
            '(32 url-safe base64-encoded bytes). Generate one with: python -c "from '
            'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from _exc

ALLOWED_HOSTS = config.env_list("SWITCHBOARD_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = config.env_list("SWITCHBOARD_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_filters",
    "switchboard",
    "accounts",
    "network",
    "providers",
    "knowledge",
    "actions",
    "bots",
]

MIDDLEWARE = [
    "switchboard.request_context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.ActiveWorkspaceMiddleware",
]

ROOT_URLCONF = "switchboard.urls"
WSGI_APPLICATION = "switchboard.wsgi.application"
ASGI_APPLICATION = "switchboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.workspace",
            ],
        },
    },
]

# --- PostgreSQL -------------------------------------------------------------------------------

DATABASE_URL = config.env_url("DATABASE_URL", schemes=("postgres", "postgresql", "pgsql"))
USES_EMBEDDED_POSTGRES = DATABASE_URL is None
EMBEDDED_PGDATA = DATA_DIR / "postgres"
EMBEDDED_DATABASE_NAME = "switchboard"

if DATABASE_URL:
    try:
        _database = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    except ValueError as _exc:
        raise ConfigError(f"DATABASE_URL is not a valid database URL: {_exc}") from _exc
else:
    _database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": EMBEDDED_DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(embedded.postgres_socket_dir(EMBEDDED_PGDATA)),
        "PORT": "",
    }
# Connections are reused: a chat turn touches the database a handful of times and opening a
# connection (a new PostgreSQL backend process) costs more than all of them together. The web
# process (ASGI: every request runs in a thread of its own) uses psycopg's pool, as Django
# recommends under ASGI; requests that then wait (event streams, blocking chat calls) hand their
# connection back before waiting, so the pool's size bounds concurrent *queries*, not open
# streams. The chat worker (green threads) gets a pool of its own size (see celery_app.py); the
# ingest worker (processes) keeps one persistent, health-checked connection per process.
_database.setdefault("OPTIONS", {})
_database["CONN_MAX_AGE"] = 0
DB_POOL_TIMEOUT_SECONDS = 30
_database["OPTIONS"]["pool"] = {
    "min_size": 1,
    "max_size": config.env_int("SWITCHBOARD_DB_POOL_SIZE", 10, minimum=1, maximum=200),
    "timeout": DB_POOL_TIMEOUT_SECONDS,
}
# pg_stat_activity shows which process a connection belongs to (web, worker, …).
_database["OPTIONS"]["application_name"] = f"switchboard-{PROCESS_ROLE}"
WORKER_DB_POOL_SIZE = config.env_int("SWITCHBOARD_WORKER_DB_POOL_SIZE", 20, minimum=1, maximum=200)
WORKER_DB_CONN_MAX_AGE = config.env_int("SWITCHBOARD_DB_CONN_MAX_AGE", 600, minimum=0)
DATABASES = {"default": _database}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis and Celery ---------------------------------------------------------------------------

REDIS_URL = config.env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
USES_EMBEDDED_REDIS = REDIS_URL is None
EMBEDDED_REDIS_DIR = DATA_DIR / "redis"
if REDIS_URL is None:
    REDIS_URL = f"unix://{embedded.redis_socket_path(EMBEDDED_REDIS_DIR)}?db=0"


# Connections each process's Redis pool may open (one more, of its own, follows event streams).
REDIS_POOL_SIZE = config.env_int("SWITCHBOARD_REDIS_POOL_SIZE", 50, minimum=2, maximum=10_000)


def _celery_redis_url(url: str) -> str:
    """kombu spells a unix-socket Redis as redis+socket://path?virtual_host=<db>."""
    parts = urlsplit(url)
    if parts.scheme != "unix":
        return url
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


CELERY_BROKER_URL = _celery_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
# One result-backend object per process: Celery otherwise makes one per thread, and under the chat
# worker's green threads that is one per task (a new Redis client each time).
CELERY_RESULT_BACKEND_THREAD_SAFE = True
# A task is acknowledged only when it finishes, and a task whose worker process died is put back
# at once: together they make a killed worker's turn resume instead of vanishing.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per process: prefetched tasks would wait behind a slow LLM call.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With Redis an unacknowledged task comes back only after the visibility timeout (Celery's default:
# an hour) *and* kombu's restore sweep (default: every ~100 s). Both are short here so a turn whose
# whole worker died resumes within seconds. A slow task is redelivered just the same; long tasks
# hold a lease (switchboard.leases), so the second delivery sees the first is alive and waits.
CELERY_VISIBILITY_TIMEOUT = config.env_int("SWITCHBOARD_CELERY_VISIBILITY_TIMEOUT", 30, minimum=2)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
# A lease not renewed for this long is taken to belong to a dead worker.
LEASE_SECONDS = config.env_int("SWITCHBOARD_LEASE_SECONDS", 10, minimum=1)
# The chat worker runs turns and tool calls, which spend their time waiting on the network (model
# streams, target APIs, a person approving a call): green threads (gevent) let one process hold
# hundreds of them. Ingestion is CPU-bound and runs in worker processes of its own (queue
# `ingest`). See the README's "Execution model". (Not CELERY_-prefixed on purpose: Celery would
# take a configured pool over an explicit `--pool prefork` on the command line.)
CHAT_WORKER_POOL = config.env_choice("SWITCHBOARD_WORKER_POOL", "gevent", ("gevent", "threads", "prefork"))
_DEFAULT_CONCURRENCY = {"gevent": 500, "threads": 64, "prefork": os.cpu_count() or 2}
CHAT_WORKER_CONCURRENCY = config.env_int(
    "SWITCHBOARD_WORKER_CONCURRENCY", _DEFAULT_CONCURRENCY[CHAT_WORKER_POOL], minimum=1, maximum=5000
)
# One green-thread process runs on one core, and its single consumer picks up tasks one at a time
# between the wake-ups of hundreds of streaming turns; two share the load (bench/chat_load.py).
CHAT_WORKER_PROCESSES = config.env_int(
    "SWITCHBOARD_CHAT_WORKER_PROCESSES", min(2, os.cpu_count() or 1), minimum=1, maximum=64
)
# Every task of the chat worker acknowledges its message on a broker connection of its own when it
# ends; kombu's pool for those is not blocking and allows 10 by default, so a burst of turns ending
# together would fail their acks ("Too many connections") and make the consumer reconnect.
CELERY_BROKER_TRANSPORT_OPTIONS["max_connections"] = CHAT_WORKER_CONCURRENCY + 20
INGEST_WORKER_CONCURRENCY = config.env_int(
    "SWITCHBOARD_INGEST_WORKER_CONCURRENCY", max(1, (os.cpu_count() or 2) // 2), minimum=1, maximum=256
)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Every queue, the worker that consumes it, and the tasks routed to it: the one place they are
# declared (a task not routed goes to CELERY_TASK_DEFAULT_QUEUE).
CHAT_WORKER_QUEUES = ("chat", "tools", "default")
INGEST_WORKER_QUEUES = ("ingest",)
CELERY_TASK_ROUTES = {
    "bots.tool_call_run": {"queue": "tools"},
    "knowledge.*": {"queue": "ingest"},
    "actions.*": {"queue": "tools"},
    "bots.*": {"queue": "chat"},
}

WORKER_HEARTBEAT_SECONDS = 10

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "switchboard",
    }
}

# --- HTTP, auth, API ---------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = config.env_bool("SWITCHBOARD_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsWorkspaceMember"],
    "DEFAULT_PAGINATION_CLASS": "switchboard.api.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "switchboard.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "switchboard.api.schema.SwitchboardAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": (
        "Workspace API of Switchboard. Authenticate with `Authorization: Bearer <workspace API key>`. "
        'Errors are OpenAI-style: `{"error": {"type", "code", "message", "param"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies are documented as their serializers declare them, required fields included:
    # the views validate PATCH bodies that way (drf-spectacular would otherwise mark every field
    # optional, as DRF's generic partial_update does).
    "COMPONENT_SPLIT_PATCH": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI served from our own static files: the docs work on an offline network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Team: invitations and email ------------------------------------------------------------------

# An invitation link works once, for this many days.
ACCOUNTS_INVITATION_EXPIRY_DAYS = config.env_int("SWITCHBOARD_INVITATION_EXPIRY_DAYS", 7, minimum=1, maximum=90)
# Invitations are emailed through Django's email backends: `console` (the default) prints them in the
# web server's log, `smtp` sends them through SWITCHBOARD_EMAIL_HOST. The link is shown on screen either way.
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS[config.env_choice("SWITCHBOARD_EMAIL_BACKEND", "console", tuple(_EMAIL_BACKENDS))]
EMAIL_HOST = config.env_str("SWITCHBOARD_EMAIL_HOST", "localhost")
EMAIL_PORT = config.env_int("SWITCHBOARD_EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = config.env_str("SWITCHBOARD_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = config.env_str("SWITCHBOARD_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = config.env_bool("SWITCHBOARD_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = config.env_str("SWITCHBOARD_EMAIL_FROM", "switchboard@localhost")

# --- Static files, i18n -------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "templates" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "files"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Without `collectstatic` (development), serve straight from the source folders.
WHITENOISE_AUTOREFRESH = not STATIC_ROOT.exists()

LANGUAGE_CODE = "en"
# The UI speaks English and Simplified Chinese: the browser's preference (Accept-Language) picks
# one, the language menu in the header overrides it (a cookie for a visitor; for a signed-in person
# their account's setting, accounts.User.language, applied by accounts.middleware). The APIs speak
# English.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# One catalogue for the whole UI (switchboard.translations compiles it when a process starts).
LOCALE_PATHS = [BASE_DIR / "platform" / "switchboard" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------------------------

LOG_LEVEL = config.env_choice("SWITCHBOARD_LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOG_FORMAT = config.env_choice("SWITCHBOARD_LOG_FORMAT", "console", ("console", "json"))

from switchboard.logconfig import build_logging_config  # noqa: E402

LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --- Product limits -------------------------------------------------------------------------------

API_KEY_PREFIX = "sb-"
MAX_MESSAGE_CHARS = config.env_int("SWITCHBOARD_MAX_MESSAGE_CHARS", 32_000, minimum=1)
# Waiting on a turn (see bots/sse.py): a `: ping` comment this often keeps proxies from closing an
# idle stream; a stream lives as long as its turn, up to STREAM_MAX_SECONDS; a blocking call waits
# up to CHAT_BLOCKING_TIMEOUT_SECONDS, then answers 504 while the turn goes on.
# Text deltas after the first are gathered for up to this long before they are sent on (see
# bots/delta_batching.py); 0 sends every delta as the model produced it.
STREAM_DELTA_LINGER_MS = config.env_int("SWITCHBOARD_STREAM_DELTA_LINGER_MS", 100, minimum=0, maximum=2000)
SSE_PING_SECONDS = config.env_int("SWITCHBOARD_SSE_PING_SECONDS", 15, minimum=1, maximum=300)
STREAM_MAX_SECONDS = config.env_int("SWITCHBOARD_STREAM_MAX_SECONDS", 3600, minimum=10)
CHAT_BLOCKING_TIMEOUT_SECONDS = config.env_int("SWITCHBOARD_CHAT_BLOCKING_TIMEOUT", 600, minimum=1)
# Provider 429/5xx/timeouts: attempts per model call, and the longest Retry-After we honour.
LLM_MAX_ATTEMPTS = config.env_int("SWITCHBOARD_LLM_MAX_ATTEMPTS", 3, minimum=1, maximum=10)
LLM_MAX_RETRY_WAIT_SECONDS = config.env_int("SWITCHBOARD_LLM_MAX_RETRY_WAIT", 20, minimum=0)

# --- Knowledge bases ------------------------------------------------------------------------------

_MB = 1024 * 1024
# Largest file accepted by upload or import by URL.
KNOWLEDGE_MAX_UPLOAD_BYTES = config.env_int("SWITCHBOARD_MAX_UPLOAD_MB", 50, minimum=1, maximum=4096) * _MB
# Largest total a .docx/.xlsx may declare when unpacked (zip-bomb guard).
KNOWLEDGE_MAX_UNZIPPED_BYTES = config.env_int("SWITCHBOARD_KNOWLEDGE_MAX_UNZIPPED_MB", 256, minimum=1) * _MB
KNOWLEDGE_MAX_PDF_PAGES = config.env_int("SWITCHBOARD_KNOWLEDGE_MAX_PDF_PAGES", 2000, minimum=1)
KNOWLEDGE_MAX_TABLE_ROWS = config.env_int("SWITCHBOARD_KNOWLEDGE_MAX_TABLE_ROWS", 100_000, minimum=1)
# Hosts/networks that document import by URL may reach although they are private, in every
# workspace, on top of each workspace's network allowlist (egress allowlist syntax).
KNOWLEDGE_URL_ALLOWLIST = tuple(config.env_list("SWITCHBOARD_KNOWLEDGE_URL_ALLOWLIST", []))
# Texts per request to a provider's embedding endpoint.
KNOWLEDGE_EMBED_BATCH_SIZE = config.env_int("SWITCHBOARD_KNOWLEDGE_EMBED_BATCH", 64, minimum=1, maximum=2048)
# Up to this many chunks in the searched bases, vector search is exact (no index): perfect recall,
# and faster than a filtered HNSW scan at that size.
KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS = config.env_int("SWITCHBOARD_KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS", 20_000, minimum=0)
# The same for bases on the built-in lexical embedder, whose hashed vectors HNSW indexes poorly (see
# the benchmark notes): exact search is worth more time there.
KNOWLEDGE_LOCAL_EXACT_SEARCH_MAX_CHUNKS = config.env_int(
    "SWITCHBOARD_KNOWLEDGE_LOCAL_EXACT_SEARCH_MAX_CHUNKS", 50_000, minimum=0
)
# HNSW candidate list size for approximate vector search. 400 keeps recall@10 above 0.95 over
# 100,000 chunks of prose with the built-in embedder (0.93 at 100) for ~6 ms more.
KNOWLEDGE_HNSW_EF_SEARCH = config.env_int("SWITCHBOARD_KNOWLEDGE_HNSW_EF_SEARCH", 400, minimum=10, maximum=1000)
# Most index tuples one filtered (iterative) HNSW scan may visit.
KNOWLEDGE_HNSW_MAX_SCAN_TUPLES = config.env_int("SWITCHBOARD_KNOWLEDGE_HNSW_MAX_SCAN_TUPLES", 50_000, minimum=1000)
# Hard time limit of one document's ingestion.
KNOWLEDGE_INGEST_TIME_LIMIT_SECONDS = config.env_int("SWITCHBOARD_KNOWLEDGE_INGEST_TIME_LIMIT", 1800, minimum=10)
# First wait before retrying a document after a provider's rate limit or outage (doubles).
KNOWLEDGE_RETRY_DELAY_SECONDS = config.env_int("SWITCHBOARD_KNOWLEDGE_RETRY_DELAY", 10, minimum=1)

# --- Actions --------------------------------------------------------------------------------------

# Largest spec accepted by import (pasted, uploaded or fetched by URL).
ACTIONS_MAX_SPEC_BYTES = config.env_int("SWITCHBOARD_ACTIONS_MAX_SPEC_MB", 10, minimum=1, maximum=100) * _MB
# Operations one action may hold; the rest of a bigger spec is reported as skipped.
ACTIONS_MAX_OPERATIONS = config.env_int("SWITCHBOARD_ACTIONS_MAX_OPERATIONS", 5000, minimum=1, maximum=100_000)
# What the model is told of a response is cut to this many characters (kept valid JSON).
ACTIONS_TOOL_RESPONSE_MAX_CHARS = config.env_int(
    "SWITCHBOARD_TOOL_RESPONSE_MAX_CHARS", 16_000, minimum=500, maximum=1_000_000
)
# Largest response body read from a target API; a bigger one is an error, not a truncation.
ACTIONS_TOOL_MAX_RESPONSE_BYTES = config.env_int("SWITCHBOARD_TOOL_MAX_RESPONSE_MB", 5, minimum=1, maximum=1024) * _MB
# Overall limit of one call to a target API (connect, redirects, body).
ACTIONS_TOOL_TIMEOUT_SECONDS = float(config.env_int("SWITCHBOARD_TOOL_TIMEOUT_SECONDS", 30, minimum=1, maximum=600))
# Limit on connecting (DNS, TCP, TLS) to a target API.
ACTIONS_TOOL_CONNECT_TIMEOUT_SECONDS = float(
    config.env_int("SWITCHBOARD_TOOL_CONNECT_TIMEOUT_SECONDS", 5, minimum=1, maximum=120)
)
# Limit of fetching a spec by URL.
ACTIONS_SPEC_FETCH_TIMEOUT_SECONDS = float(
    config.env_int("SWITCHBOARD_ACTIONS_SPEC_FETCH_TIMEOUT_SECONDS", 30, minimum=1, maximum=600)
)
# Access tokens of OAuth2 servers that do not say how long they last are kept this long.
ACTIONS_OAUTH_DEFAULT_TOKEN_SECONDS = config.env_int(
    "SWITCHBOARD_ACTIONS_OAUTH_DEFAULT_TOKEN_SECONDS", 3600, minimum=30
)

# The chat widget and share page (bots.widget). A session token is short-lived (the frame gets a
# new one with its ticket); a ticket lives as long as a frame document may stay open; a visitor
# value keeps an anonymous visitor's conversations across page loads.
WIDGET_SESSION_SECONDS = config.env_int("SWITCHBOARD_WIDGET_SESSION_SECONDS", 30 * 60)
WIDGET_TICKET_SECONDS = config.env_int("SWITCHBOARD_WIDGET_TICKET_SECONDS", 12 * 60 * 60)
WIDGET_VISITOR_SECONDS = config.env_int("SWITCHBOARD_WIDGET_VISITOR_SECONDS", 180 * 24 * 60 * 60)
# New visitor sessions per IP address and minute, across bots (a floor against token farming).
WIDGET_SESSIONS_PER_IP_PER_MINUTE = config.env_int("SWITCHBOARD_WIDGET_SESSIONS_PER_IP_PER_MINUTE", 30)
# The widget's conversation list and history pages.
WIDGET_HISTORY_LIMIT = 50
# How many reverse proxies in front of the platform append to X-Forwarded-For: 0 trusts none and
# uses the connection's address (per-IP limits would otherwise be a header anyone can write).
TRUSTED_PROXY_HOPS = config.env_int("SWITCHBOARD_TRUSTED_PROXY_HOPS", 0)
# How long browsers and CDNs may cache /widget.js (a new release reaches pages within this time).
WIDGET_SCRIPT_MAX_AGE = config.env_int("SWITCHBOARD_WIDGET_SCRIPT_MAX_AGE", 300)
# How long a bot's or key's spend this month is reused before it is summed again (bots.budgets).
BUDGET_SPEND_CACHE_SECONDS = config.env_int("SWITCHBOARD_BUDGET_SPEND_CACHE_SECONDS", 30)
