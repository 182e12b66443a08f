"""Settings for the connector portal, read only from environment variables.

PORTAL_MODE selects the defaults:
- production (the default): every secret and server address must be set, or start-up fails.
- demo: SQLite, Celery on kombu's filesystem transport, the Keap sandbox and a generated vault
  master keyset under var/demo/. For trying the portal on one machine, never for real data.
- test: what the test suite needs; PostgreSQL and Redis addresses come from pytest's settings.

README.md has the table of every variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_mapping,
    env_secret,
    env_str,
    require,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Mode -------------------------------------------------------------------------------------

PORTAL_MODE = env_str("PORTAL_MODE", "production")
if PORTAL_MODE not in ("production", "demo", "test"):
    raise ImproperlyConfigured(
        f"Invalid PORTAL_MODE {PORTAL_MODE!r}: use production, demo or test."
    )

IS_PRODUCTION = PORTAL_MODE == "production"
IS_DEMO = PORTAL_MODE == "demo"
IS_TEST = PORTAL_MODE == "test"

DEMO_DIR = Path(env_str("DEMO_DIR", str(BASE_DIR / "var" / "demo")))

DEBUG = env_bool("DEBUG", IS_DEMO)

# --- Secrets and servers ----------------------------------------------------------------------

SECRET_KEY = env_secret("SECRET_KEY")
DATABASE_URL = env_str("DATABASE_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
VAULT_MASTER_KEYSET = env_secret("VAULT_MASTER_KEYSET")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
# Server secret for the HMAC-SHA256 digests of site keys; changing it invalidates every key.
# Outside production an empty value is replaced by a key derived from SECRET_KEY.
SITE_KEY_HMAC_KEY = env_secret("SITE_KEY_HMAC_KEY")

if IS_PRODUCTION:
    require(
        {
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": DATABASE_URL,
            "CELERY_BROKER_URL": CELERY_BROKER_URL,
            "VAULT_MASTER_KEYSET": VAULT_MASTER_KEYSET,
            "ALLOWED_HOSTS": ALLOWED_HOSTS,
            "SITE_KEY_HMAC_KEY": SITE_KEY_HMAC_KEY,
        }
    )
elif IS_DEMO:
    from config import demo

    SECRET_KEY = SECRET_KEY or demo.secret_key(DEMO_DIR)
    DATABASE_URL = DATABASE_URL or f"sqlite:///{DEMO_DIR / 'portal.sqlite3'}"
    CELERY_BROKER_URL = CELERY_BROKER_URL or "filesystem://"
    VAULT_MASTER_KEYSET = VAULT_MASTER_KEYSET or demo.master_keyset(DEMO_DIR)
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]
else:
    SECRET_KEY = SECRET_KEY or "test-only-secret-key-that-is-long-enough-for-django-checks"
    DATABASE_URL = DATABASE_URL or "postgres://postgres@127.0.0.1:5432/portal"
    CELERY_BROKER_URL = CELERY_BROKER_URL or "redis://127.0.0.1:6379/0"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]
    # An empty master keyset in test mode makes the vault generate one per process.

# --- Applications -----------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Serves the client API's documentation page from local static files.
    "ninja",
    "tenants",
    "connector",
    "portal",
]

# The sandbox emulates Keap for the demo and the tests; production never loads it.
if not IS_PRODUCTION:
    INSTALLED_APPS.append("keap_sandbox")

MIDDLEWARE = [
    "config.request_log.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

# In production WhiteNoise serves the collected static files; the demo's runserver and the
# tests' live server serve them from the apps' folders.
if IS_PRODUCTION:
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.layout",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------------

# allauth's login rate limits count in the cache, so it must be shared by every web process.
CACHE_URL = env_str("CACHE_URL")
if not CACHE_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHE_URL = CELERY_BROKER_URL

if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif IS_DEMO:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DEMO_DIR / "cache"),
        }
    }
elif IS_PRODUCTION:
    raise ImproperlyConfigured(
        "Missing required environment variable CACHE_URL: set it to a Redis URL "
        "(redis://host:6379/1) when CELERY_BROKER_URL is not a Redis URL."
    )
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts ---------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("REAUTHENTICATION_TIMEOUT_SECONDS", 15 * 60)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Connector portal")
if IS_DEMO:
    # Lets a demo visitor without an authenticator app pass two-factor prompts. allauth accepts
    # this code for every user, so it exists in demo mode only.
    MFA_TOTP_INSECURE_BYPASS_CODE = env_str("DEMO_TOTP_BYPASS_CODE", "000000")

# The adapter returns HTTP 429 for failed logins beyond allauth's limit (by default in allauth
# 65.22: 5 per address per 5 minutes, 10 per IP address per minute). allauth counts them in the
# cache configured above.
ACCOUNT_ADAPTER = "tenants.adapter.AccountAdapter"
# Refuses turning off two-factor authentication while the user owns a tenant that needs it.
MFA_ADAPTER = "tenants.mfa.MFAAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Connector portal] "

# Days an emailed invitation to a tenant stays valid.
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 7)

# allauth's pages are overridden from portal/templates/allauth/. The portal app is listed after
# allauth in INSTALLED_APPS, so its template folder is searched first through DIRS.
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "portal" / "templates"]

# --- Email ------------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10)
else:
    # Without SMTP the messages go to the process output, which suits the demo.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Keap -------------------------------------------------------------------------------------

SANDBOX_PORT = env_int("KEAP_SANDBOX_PORT", 8765)
_sandbox_root = f"http://127.0.0.1:{SANDBOX_PORT}"

# Keap's real hosts; see https://developer.infusionsoft.com/getting-started-oauth-keys
KEAP_AUTHORIZE_URL = env_str(
    "KEAP_AUTHORIZE_URL",
    f"{_sandbox_root}/app/oauth/authorize"
    if IS_DEMO
    else "https://accounts.infusionsoft.com/app/oauth/authorize",
)
KEAP_TOKEN_URL = env_str(
    "KEAP_TOKEN_URL", f"{_sandbox_root}/token" if IS_DEMO else "https://api.infusionsoft.com/token"
)
KEAP_API_BASE_URL = env_str(
    "KEAP_API_BASE_URL",
    f"{_sandbox_root}/crm/rest" if IS_DEMO else "https://api.infusionsoft.com/crm/rest",
)
# OAuth is switched off when either is empty; PAT and SAK connections work without them.
KEAP_CLIENT_ID = env_str("KEAP_CLIENT_ID")
KEAP_CLIENT_SECRET = env_secret("KEAP_CLIENT_SECRET")
if IS_DEMO:
    # The demo's sandbox registers an OAuth client with these values.
    KEAP_CLIENT_ID = KEAP_CLIENT_ID or "portal-demo-client"
    KEAP_CLIENT_SECRET = KEAP_CLIENT_SECRET or demo.oauth_client_secret(DEMO_DIR)

# Seconds. Keap documents no server-side timeout, so the read timeout is a judgement: long
# enough for a slow list call, short enough that a stuck call frees its worker.
KEAP_CONNECT_TIMEOUT = env_int("KEAP_CONNECT_TIMEOUT_SECONDS", 5)
KEAP_READ_TIMEOUT = env_int("KEAP_READ_TIMEOUT_SECONDS", 30)

PORTAL_BASE_URL = env_str(
    "PORTAL_BASE_URL",
    "http://127.0.0.1:8000" if not IS_PRODUCTION else f"https://{ALLOWED_HOSTS[0]}",
)

# --- Client sites and the client API ----------------------------------------------------------

# SITE_KEY_HMAC_KEY is read with the other secrets at the top of this file.
SITE_REQUESTS_PER_MINUTE = env_int("SITE_REQUESTS_PER_MINUTE", 600)
SITE_DENIAL_AUDIT_SECONDS = env_int("SITE_DENIAL_AUDIT_SECONDS", 60)
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 5 * 1024 * 1024)
# Django refuses to read a larger body at all, so it must allow the API's maximum.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, API_MAX_BODY_BYTES)

# --- Portal -----------------------------------------------------------------------------------

# Largest CSV file the contact import accepts, in bytes.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 2 * 1024 * 1024)
# Seconds an uploaded import waits, encrypted in the cache, for its import to start.
IMPORT_UPLOAD_TTL_SECONDS = env_int("IMPORT_UPLOAD_TTL_SECONDS", 3600)
# Days before a site key expires that the tenant's owners and admins are emailed.
SITE_KEY_EXPIRY_WARNING_DAYS = env_int("SITE_KEY_EXPIRY_WARNING_DAYS", 7)

# --- Audit log --------------------------------------------------------------------------------

# Append-only file of audit chain checkpoints; keep it outside the database's host or copy it
# off the machine, since its worth is that a database rewrite cannot change it.
# Seconds between two audit checkpoints written by Celery beat.
AUDIT_CHECKPOINT_INTERVAL_SECONDS = env_int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", 10 * 60)
AUDIT_CHECKPOINT_PATH = env_str(
    "AUDIT_CHECKPOINT_PATH", str(DEMO_DIR / "audit-checkpoints.jsonl") if IS_DEMO else ""
)

# --- Celery -----------------------------------------------------------------------------------

# Delays the code schedules (retry backoff, quota waits) stay below this many seconds, so a
# message that waits in Redis is never redelivered early to a second worker.
CELERY_MAX_COUNTDOWN = 15 * 60

CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_MAX_COUNTDOWN + 15 * 60}
if CELERY_BROKER_URL == "filesystem://":
    from config import demo

    _queue_folder = str(demo.broker_folder(DEMO_DIR))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _queue_folder,
        "data_folder_out": _queue_folder,
        "processed_folder": str(DEMO_DIR / "broker" / "processed"),
        "control_folder": str(DEMO_DIR / "broker" / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT_SECONDS", 300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"

# The refresh interval must stay under the 30 minutes that refresh_due_tokens looks ahead.
CELERY_BEAT_SCHEDULE = {
    "connector-refresh-due-tokens": {
        "task": "connector.tasks.refresh_due_tokens",
        "schedule": timedelta(minutes=10),
    },
    "connector-check-active-connections": {
        "task": "connector.tasks.check_active_connections",
        "schedule": timedelta(hours=6),
    },
    "connector-discard-stale-pending-credentials": {
        "task": "connector.tasks.discard_stale_pending_credentials",
        "schedule": timedelta(minutes=15),
    },
    "portal-warn-expiring-site-keys": {
        "task": "portal.tasks.warn_expiring_site_keys",
        "schedule": timedelta(hours=1),
    },
    "connector-sweep-jobs": {
        "task": "connector.jobs.tasks.sweep_jobs",
        "schedule": timedelta(seconds=10),
    },
    "connector-purge-job-results": {
        "task": "connector.jobs.tasks.purge_job_results",
        "schedule": timedelta(hours=1),
    },
    "audit-checkpoint": {
        "task": "tenants.tasks.write_audit_checkpoint",
        "schedule": AUDIT_CHECKPOINT_INTERVAL_SECONDS,
    },
}

# --- Jobs -------------------------------------------------------------------------------------

# docs/jobs.md describes each setting.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 8)
JOB_RETRY_BASE_SECONDS = env_float("JOB_RETRY_BASE_SECONDS", 2)
JOB_RETRY_CAP_SECONDS = env_float("JOB_RETRY_CAP_SECONDS", 300)
JOB_MAX_RATE_LIMITED_TRIES = env_int("JOB_MAX_RATE_LIMITED_TRIES", 50)
JOB_LEASE_SECONDS = env_float(
    "JOB_LEASE_SECONDS", 2 * (KEAP_CONNECT_TIMEOUT + KEAP_READ_TIMEOUT) + 30
)
JOB_DISPATCH_GRACE_SECONDS = env_float("JOB_DISPATCH_GRACE_SECONDS", 10)
JOB_PUMP_SECONDS = env_float("JOB_PUMP_SECONDS", 60)
JOB_WAKEUP_PUMPS = env_int("JOB_WAKEUP_PUMPS", 8)
JOB_BATCH_CHUNK_ROWS = env_int("JOB_BATCH_CHUNK_ROWS", 100)
JOB_BATCH_CHUNK_SECONDS = env_float("JOB_BATCH_CHUNK_SECONDS", 60)
JOB_RESULT_RETENTION_DAYS = env_int("JOB_RESULT_RETENTION_DAYS", 30)
JOB_IDEMPOTENCY_HOURS = env_int("JOB_IDEMPOTENCY_HOURS", 24)
API_MAX_WAITERS = env_int("API_MAX_WAITERS", 16)

# --- Rate limits ------------------------------------------------------------------------------

# Keap's rate limits, counted in Redis by every worker; see docs/rate-limits.md. The numeric
# values stay strings here because connector.ratelimit validates them with clear messages.
RATELIMIT_REDIS_URL = env_str("RATELIMIT_REDIS_URL")
if IS_DEMO and not RATELIMIT_REDIS_URL:
    # The demo's in-memory Redis stand-in, started by Procfile.dev (config/demo_redis.py).
    RATELIMIT_REDIS_URL = f"redis://127.0.0.1:{env_int('DEMO_REDIS_PORT', 6399)}/0"
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
# Overrides by name, for example "key_per_second=50,key_per_minute=3000".
RATELIMIT_LIMITS = env_mapping("RATELIMIT_LIMITS")
RATELIMIT_TIME_SCALE = env_str("RATELIMIT_TIME_SCALE", "1")
RATELIMIT_SAFETY_MARGIN = env_str("RATELIMIT_SAFETY_MARGIN", "0.02")
RATELIMIT_SAFETY_SECONDS = env_str("RATELIMIT_SAFETY_SECONDS", "0.5")
RATELIMIT_KEY_PREFIX = env_str("RATELIMIT_KEY_PREFIX", "ratelimit:")

# --- Internationalisation and static files ----------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security ---------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if IS_PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if env_bool("SECURE_PROXY_SSL_HEADER", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz and /readyz are probed over plain HTTP from inside the container network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Logging ----------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# Celery's own command line exports CELERY_LOG_LEVEL as a number ("40"), and processes started
# from a Celery process inherit it, so both names and numbers are accepted.
CELERY_LOG_LEVEL = env_str("CELERY_LOG_LEVEL", LOG_LEVEL).upper()
if CELERY_LOG_LEVEL.isdigit():
    CELERY_LOG_LEVEL = int(CELERY_LOG_LEVEL)
LOG_FORMAT = env_str("LOG_FORMAT", "json" if IS_PRODUCTION else "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"Invalid LOG_FORMAT {LOG_FORMAT!r}: use text or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "config.request_log.RedactSecretsFilter"},
        "request_id": {"()": "config.request_log.RequestIdFilter"},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's default configuration gives "django" and "django.server" handlers of their own,
    # which would bypass the secret filter. These entries clear them and send records to root.
    "loggers": {
        "django": {"propagate": True},
        # Django's own request logger repeats each 4xx/5xx line that ours already writes.
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
        "celery": {"level": CELERY_LOG_LEVEL},
    },
}
