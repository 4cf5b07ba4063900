"""Settings, all from environment variables (documented in README.md, "Settings").

With nothing set the site runs on SQLite in the project folder with DEBUG on.
"""

import datetime
from pathlib import Path

import dj_database_url
import jinja2
from django.core.exceptions import ImproperlyConfigured

from icdsite.env import envbool, envint, envlist, envstr
from icdsite.security import DEFAULT_POLICY

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", True)
SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-never-used-with-debug-off"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The search's trigram lookups (codes.search); harmless on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular_sidecar",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "codes",
]

MIDDLEWARE = [
    # First, so that CORS headers (and preflight answers) go out whatever else answers.
    "icdsite.cors.PublicCorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "icdsite.security.ContentSecurityPolicyMiddleware",
    "icdsite.routers.PrimaryForWritesMiddleware",
    # Last, as django-axes asks: it answers a login refused for too many failures.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "icdsite.urls"
WSGI_APPLICATION = "icdsite.wsgi.application"

# The public site's pages are Jinja2 templates (jinja2/: several times faster to render than
# Django's engine); the admin's and the API docs' are Django templates (templates/).
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "icdsite.jinja2.environment",
            # As Django's engine: a missing attribute renders empty, the text is kept as written.
            "undefined": jinja2.ChainableUndefined,
            "keep_trailing_newline": True,
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASE_URL: postgres://user:password@host:port/name (psycopg 3) or sqlite:///path/to/file.
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'icdsite.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60, minimum=0)
        )
    }
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not usable: {error}") from None
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:/// URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the site read while an import writes; a busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }

# DATABASE_REPLICA_URLS: read replicas of the primary (comma-separated URLs). Reads of public
# pages and the API go to a replica; writes, the admin and unsafe requests to the primary
# (icdsite/routers.py). In tests a replica mirrors the primary.
for number, url in enumerate(envlist("DATABASE_REPLICA_URLS", []), start=1):
    try:
        replica = dj_database_url.parse(url, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS is not usable: {error}") from None
    if replica["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS must use the primary's database engine")
    replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{number}"] = replica
DATABASE_ROUTERS = ["icdsite.routers.PrimaryReplicaRouter"]

# REDIS_URL: a shared cache for several app servers (redis://host:6379/0); else per process.
REDIS_URL = envstr("REDIS_URL", "")
# A worker's cache of answers in its own memory: thousands of compressed answers (a code page
# ~6 KB) and at most so many bytes of them (an API page of 500 codes is ~16 KB), the oldest
# going first.
LOCAL_CACHE_OPTIONS = {
    "MAX_ENTRIES": envint("LOCAL_CACHE_MAX_ENTRIES", 5_000, minimum=1),
    "MAX_BYTES": envint("LOCAL_CACHE_MAX_BYTES", 16 * 1024 * 1024, minimum=64 * 1024),
}
CACHES = {
    "default": (
        {"BACKEND": "icdsite.cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "icdsite.cache.LocMemCache",
            "OPTIONS": LOCAL_CACHE_OPTIONS,
        }
    )
}
if REDIS_URL:
    # In front of Redis, each worker keeps the answers it served last (codes.response_cache):
    # they never go stale, their keys name the releases they were made from.
    CACHES["local"] = {
        "BACKEND": "icdsite.cache.LocMemCache",
        "OPTIONS": LOCAL_CACHE_OPTIONS,
    }
# The API's rate-limit counters (codes.api.throttling): in Redis, else in files every worker of
# this server reads (a per-process cache would let each worker allow the whole rate).
CACHES["throttle"] = (
    {"BACKEND": "icdsite.cache.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": envstr("THROTTLE_CACHE_DIR", str(BASE_DIR / "var" / "throttle")),
    }
)
# How long a rendered page or API answer is kept (codes.response_cache); 0 turns it off. Its key
# names the releases it came from, so publishing never needs the cache cleared.
RESPONSE_CACHE_SECONDS = envint("RESPONSE_CACHE_SECONDS", 24 * 60 * 60, minimum=0)
# With Redis: answers a worker builds are written to it this many at a time, in one round trip
# (within a second at most; codes.response_cache.SharedWrites). 1: each as it is built.
RESPONSE_CACHE_WRITE_BATCH = envint("RESPONSE_CACHE_WRITE_BATCH", 16, minimum=1)
# How often a process reads which releases are published (codes.selection.published_releases):
# a release published by another process or app server is served within this time.
PUBLISHED_RELEASES_SECONDS = envint("PUBLISHED_RELEASES_SECONDS", 1, minimum=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# STATIC_MANIFEST=true (production, after `collectstatic`): hashed, compressed names served
# forever by whitenoise. Off by default: tests and `runserver` need no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if envbool("STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# The largest CMS file (the tabular XML) is ~10 MB; zips of it ~1 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)

# Imports in the admin: files are stored here between the upload and the background import
# (one folder per run, removed when the run ends), then read by the worker.
IMPORT_UPLOAD_DIR = Path(envstr("IMPORT_UPLOAD_DIR", str(BASE_DIR / "var" / "imports")))
IMPORT_MAX_FILE_SIZE = envint("IMPORT_MAX_FILE_SIZE", 60 * 1024 * 1024, minimum=1024)
# All the files of one upload together (a whole release, unzipped, is about 60 MB).
IMPORT_MAX_UPLOAD_SIZE = envint("IMPORT_MAX_UPLOAD_SIZE", 160 * 1024 * 1024, minimum=1024)
# A running import whose worker has not reported for this long is taken as dead (killed, crashed).
IMPORT_STALE_AFTER = envint("IMPORT_STALE_AFTER", 300, minimum=1)
DATA_UPLOAD_MAX_NUMBER_FILES = envint("DATA_UPLOAD_MAX_NUMBER_FILES", 20, minimum=1)
# Uploads above this size are streamed to a temporary file instead of held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = envint("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)

# Background tasks (the admin's imports): the database backend, run by `manage.py db_worker`.
TASKS = {"default": {"BACKEND": envstr("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# The API (/api/v1/) and the FHIR facade (/fhir/): anonymous reads, throttled; a token
# (Authorization: Token <key>, created in the admin) gets the higher user rate.
API_ANON_RATE = envstr("API_ANON_RATE", "1200/minute")
API_USER_RATE = envstr("API_USER_RATE", "12000/minute")
# Request bodies (POST validate/ and FHIR operations): 10,000 codes with dates are about 0.5 MB.
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 2 * 1024 * 1024, minimum=1024)
API_MAX_VALIDATE_ITEMS = envint("API_MAX_VALIDATE_ITEMS", 10_000, minimum=1)
# Cache-Control max-age of answers pinned to a release (release=, fy=, date= or a label in the
# path) and of answers from "the latest release", which a new publication changes.
API_CACHE_SECONDS_PINNED = envint("API_CACHE_SECONDS_PINNED", 86_400, minimum=0)
API_CACHE_SECONDS_LATEST = envint("API_CACHE_SECONDS_LATEST", 300, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["codes.api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "codes.api.throttling.AnonThrottle",
        "codes.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": API_ANON_RATE, "user": API_USER_RATE},
    # Proxies in front of the app: 0 trusts REMOTE_ADDR only (X-Forwarded-For could be forged).
    "NUM_PROXIES": envint("API_NUM_PROXIES", 0, minimum=0),
    "DEFAULT_RENDERER_CLASSES": ["codes.api.renderers.FastJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "codes.api.negotiation.RememberingContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["codes.api.parsers.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "codes.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ICD-10-CM code-set API",
    "DESCRIPTION": (
        "Lookups, search, validation and release diffs of every published ICD-10-CM release, "
        "for the release in force on a date of service. Choose the release with `fy`, `date` "
        "or `release` (default: the latest published); every answer names the release."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from this site (drf-spectacular-sidecar): no CDN, no inline script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/(api/v1|fhir)",
    "ENUM_NAME_OVERRIDES": {"ValidationReasonEnum": "codes.api.serializers.REASON_CHOICES"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "codes.fhir.schema.restore_operation_names",
    ],
}

# Security. With DEBUG off the defaults are those of a public HTTPS site (`check --deploy` is
# clean); behind a proxy that terminates TLS set TRUST_X_FORWARDED_PROTO=true.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if envbool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No inline script or style anywhere (icdsite/security.py has the default policy).
CONTENT_SECURITY_POLICY = envstr("CONTENT_SECURITY_POLICY", DEFAULT_POLICY)
# Failed logins (django-axes): after ADMIN_LOGIN_MAX_FAILURES for one address or for one user
# name, every login from that address or for that name is refused (429 with Retry-After) for
# ADMIN_LOGIN_LOCKOUT_SECONDS, whatever the password. Attempts are rows in the database, so every
# worker and app server counts the same ones, with or without Redis.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("ADMIN_LOGIN_MAX_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(
    seconds=envint("ADMIN_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_USERNAME_CALLABLE = "icdsite.logins.login_name"
AXES_CLIENT_IP_CALLABLE = "icdsite.logins.client_address"
AXES_LOCKOUT_CALLABLE = "icdsite.logins.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    # Django's own "django" logger has a console handler of its own when DEBUG is on and also
    # passes its records up to the root: every line was printed twice under `make run`.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}
