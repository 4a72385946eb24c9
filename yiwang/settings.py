"""One settings file, read from the environment.

SQLite under ``var/`` is the embedded default; set ``DATABASE_URL`` (for example
``postgres://postgres@127.0.0.1:5432/yiwang``) for PostgreSQL in production.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("YIWANG_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("YIWANG_DEBUG", False)
SECRET_KEY = os.environ.get("YIWANG_SECRET_KEY", "insecure-demo-key-change-me-in-production")
ALLOWED_HOSTS = os.environ.get("YIWANG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("YIWANG_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

# Public appeals used for demo history and benchmarks; absent on some machines.
DATA_DIR = Path(os.environ.get("YIWANG_DATA_DIR", BASE_DIR.parent / "shared" / "data"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_q",
    "simple_history",
    "yiwang.core",
    "yiwang.accounts",
    "yiwang.org",
    "yiwang.workorders",
    "yiwang.exchange",
    "yiwang.open311",
    "yiwang.citizen",
    "yiwang.smartdispatch",
    "yiwang.reports",
    "yiwang.alerts",
    "yiwang.clusters",
    "yiwang.kpi",
    "yiwang.spaces",
    "yiwang.inspections",
    "yiwang.demo",
]

MIDDLEWARE = [
    "yiwang.core.middleware.release_request",  # first: frees the request when the response closes
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yiwang.core.middleware.LocaleMiddleware",  # Django's, without its per-request path lookups
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # records who changed a register row
    "yiwang.core.middleware.MessageMiddleware",  # Django's, its storage made on first use
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "yiwang.urls"
WSGI_APPLICATION = "yiwang.wsgi.application"

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
                "yiwang.menu.menu",
            ],
        },
    },
]

_sqlite_path = VAR_DIR / "yiwang.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{_sqlite_path}", conn_max_age=int(os.environ.get("YIWANG_CONN_MAX_AGE", "60"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, with the threads of a process taking turns to write (yiwang.core.sqlite).
    DATABASES["default"]["ENGINE"] = "yiwang.core.sqlite"
    # WAL lets readers and the one writer proceed together (several web server
    # workers plus the job worker); IMMEDIATE transactions take the write lock
    # up front so concurrent writers queue on busy_timeout instead of failing
    # with "database is locked" half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Connections are kept between requests as on PostgreSQL (CONN_MAX_AGE above): a new
    # one runs these PRAGMAs and registers Django's SQL functions, which under 32 clients
    # was a third of an intake's CPU (bench/intake_load.py: 6.8-7.3 -> 4.5-4.6 ms).
    # Tests use an in-memory database, as Django does for its own SQLite engine (said
    # outright: pytest-django recognises SQLite by the engine's name).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
DATABASES["default"]["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("YIWANG_STATIC_ROOT", VAR_DIR / "static"))
# Appellants' photos: outside STATIC_ROOT and never under a public URL; staff
# see them only through a permission-checked view (yiwang.citizen).
PRIVATE_MEDIA_ROOT = Path(os.environ.get("YIWANG_PRIVATE_MEDIA_ROOT", VAR_DIR / "private-media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "yiwang.accounts.auth.ApiKeyAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "yiwang.core.negotiation.ContentNegotiation",  # DRF's, reading Accept directly
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "yiwang.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "yiwang API",
    "DESCRIPTION": "12345 hotline work orders, organisation and reference data.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Work-order status appears as status, from_status and to_status: one enum, one name.
    "ENUM_NAME_OVERRIDES": {"WorkOrderStatusEnum": "yiwang.workorders.states.Status"},
}

# Background jobs: django-q2 with its ORM broker, so the same queue works on
# SQLite and PostgreSQL without another server.
Q_CLUSTER = {
    "name": "yiwang",
    "orm": "default",
    # Half the cores by default: scheduled jobs (clusters, KPI facts, sweeps) fall due
    # together, and two at once on a 2-core machine took both cores from intake
    # (bench/intake_load.py --timeline: the web server down to a third of a core).
    "workers": int(os.environ.get("YIWANG_JOB_WORKERS", max(1, (os.cpu_count() or 2) // 2))),
    # Also bounds how long a stopping cluster waits for its monitor, so keep it modest.
    "timeout": 120,
    "retry": 180,
    "max_attempts": 3,
    "catch_up": False,
    "poll": 1,
    "sync": env_bool("YIWANG_JOBS_SYNC", False),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("YIWANG_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Working hours used for deadline arithmetic (hotline units work 9:00-17:00).
WORKDAY_START_HOUR = int(os.environ.get("YIWANG_WORKDAY_START_HOUR", "9"))
WORKDAY_END_HOUR = int(os.environ.get("YIWANG_WORKDAY_END_HOUR", "17"))

# Open311 GeoReport v2: the jurisdiction_id this server answers for; requests
# naming another jurisdiction get the spec's 404 error.
OPEN311_JURISDICTION = os.environ.get("YIWANG_OPEN311_JURISDICTION", "hongkou.sh.gov.cn")

# 随申查 site codes: the public base URL printed in the QR codes (what a phone at the
# site opens), and how many hazard reports one client address may send in 10 minutes.
YIWANG_PUBLIC_BASE_URL = os.environ.get("YIWANG_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
SPACES_REPORTS_PER_CLIENT = int(os.environ.get("YIWANG_SITE_REPORTS_PER_CLIENT", "5"))

# How long a process trusts an API key it has just looked up (accounts.models._recent_keys):
# the longest a revoked key or a deactivated user may still work in another process.
API_KEY_CACHE_SECONDS = int(os.environ.get("YIWANG_API_KEY_CACHE_SECONDS", "10"))

# Intelligent dispatch: where trained classifier versions are saved, and whether the
# suggestion for a new order is computed in the request (tests, a small deployment)
# instead of by the job worker.
SMARTDISPATCH_MODELS_DIR = Path(os.environ.get("YIWANG_MODELS_DIR", VAR_DIR / "models"))
SMARTDISPATCH_INLINE = env_bool("YIWANG_DISPATCH_INLINE", False)
