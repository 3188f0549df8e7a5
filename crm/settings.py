"""Settings for the CRM, all read from the environment (django-environ).

Every variable is documented in README.md ("Configuration"). `make run` writes development secrets
into var/.env on first run (bin/dev_env.py); in production the environment provides them and a
missing secret stops the start.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _
from import_export.formats.base_formats import CSV, XLSX

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# Real environment variables win over the file; the file only exists on development machines.
environ.Env.read_env(VAR_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "import_export",
    "crm",
    "privacy",
    "customers",
    "interactions",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Deny by default: every view needs a login unless decorated with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "privacy.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Without DATABASE_URL the embedded default is SQLite under ./var, in WAL mode so that the web
# server and the Celery worker can read while the other writes.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'crm.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # A file beside the database (not in memory: the Celery worker and the browser tests'
    # server open it too), so that runs against different databases never share one.
    database_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {
        "NAME": str(database_file.with_name(f"{database_file.stem}-test.sqlite3"))
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication ---------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_TZ = True
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="CN")
DEFAULT_COUNTRY = env.str("DEFAULT_COUNTRY", default=DEFAULT_PHONE_REGION)
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="CNY")

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
NODE_MODULES = BASE_DIR / "node_modules"
# Third-party front-end assets come from npm packages at build time (package.json), never a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# In development whitenoise serves straight from the finders; production serves collectstatic's
# output with compressed, hashed names.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# --- Personal data protection -----------------------------------------------------------------
# "KEYID:KEY" entries, newest first: the first encrypts, all decrypt (see `manage.py rotate_keys`).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY")

# --- Background jobs --------------------------------------------------------------------------
# Without REDIS_URL the broker is kombu's filesystem transport under ./var: jobs still run in the
# worker process, never in the request, and no extra service is needed.
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if REDIS_URL
    else {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
)
if not REDIS_URL:
    # The filesystem transport expects its folders; web and worker both load these settings.
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=60)
# Rows written per transaction by imports: a killed worker loses at most one batch.
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=2000)
# Django admin's import / export buttons (django-import-export): the formats staff use, each
# import in one transaction.
IMPORT_EXPORT_FORMATS = [CSV, XLSX]
IMPORT_EXPORT_USE_TRANSACTIONS = True
# Export files hold personal data chosen for one person: they are deleted after this many days.
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=7)
# Uploaded import files go when their job finishes; drafts never started, and failed jobs
# never resumed, are given up (and their files deleted) after this many days.
IMPORT_FILE_RETENTION_DAYS = env.int("IMPORT_FILE_RETENTION_DAYS", default=7)
# Duplicate detection (customers/dedup): pairs at or above DEDUP_MIN_PROBABILITY go to the
# review queue; the form warns from DEDUP_DOOR_PROBABILITY; with at least DEDUP_TRAINING_MIN
# active customers the model is estimated from them (EM), below that priors are used.
# DEDUP_AUTO_MERGE_PROBABILITY (unset: off) merges groups whose every pair reaches it.
DEDUP_MIN_PROBABILITY = env.float("DEDUP_MIN_PROBABILITY", default=0.8)
DEDUP_DOOR_PROBABILITY = env.float("DEDUP_DOOR_PROBABILITY", default=0.5)
DEDUP_TRAINING_MIN = env.int("DEDUP_TRAINING_MIN", default=5000)
DEDUP_AUTO_MERGE_PROBABILITY = env.float("DEDUP_AUTO_MERGE_PROBABILITY", default=None)
DEDUP_MEMORY_LIMIT = env.str("DEDUP_MEMORY_LIMIT", default="2GB")
DEDUP_NIGHTLY_HOUR = env.int("DEDUP_NIGHTLY_HOUR", default=2)
# Customer metrics (analytics/metrics.py), refreshed nightly at METRICS_HOUR: a customer whose
# last purchase is older than these many days moves to "at risk", then "churned".
LIFECYCLE_AT_RISK_DAYS = env.int("LIFECYCLE_AT_RISK_DAYS", default=180)
LIFECYCLE_CHURNED_DAYS = env.int("LIFECYCLE_CHURNED_DAYS", default=365)
METRICS_HOUR = env.int("METRICS_HOUR", default=1)
# Churn risk (analytics/churn.py), trained after the nightly metrics: a customer churns who makes
# no paid purchase within CHURN_HORIZON_DAYS; with fewer than CHURN_MIN_CUSTOMERS buyers in
# either the training or the held-out period no one is scored.
CHURN_HORIZON_DAYS = env.int("CHURN_HORIZON_DAYS", default=90)
CHURN_MIN_CUSTOMERS = env.int("CHURN_MIN_CUSTOMERS", default=500)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "crm.tasks.record_worker_heartbeat",
        "schedule": WORKER_HEARTBEAT_SECONDS,
    },
    "delete-expired-exports": {
        "task": "analytics.tasks.delete_expired_exports",
        "schedule": 3600,
    },
    "delete-abandoned-imports": {
        "task": "customers.tasks.delete_abandoned_imports",
        "schedule": 3600,
    },
    "refresh-metrics-nightly": {
        "task": "analytics.tasks.scheduled_metrics_refresh",
        "schedule": crontab(hour=METRICS_HOUR, minute=0),
    },
    # All customers every night (the model re-estimated); new and changed ones every hour.
    "find-duplicates-nightly": {
        "task": "customers.tasks.scheduled_duplicate_scan",
        "schedule": crontab(hour=DEDUP_NIGHTLY_HOUR, minute=30),
        "args": ("full",),
    },
    "find-duplicates-hourly": {
        "task": "customers.tasks.scheduled_duplicate_scan",
        "schedule": crontab(minute=15),
        "args": ("incremental",),
    },
}

_database_tag = Path(str(DATABASES["default"]["NAME"])).stem
# Without Redis, files under ./var: the web server and the worker share them, so figures the
# worker computes (dashboards warmed after the nightly run) reach the pages. Each database
# gets its own folder, so test runs on another database never read these.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / _database_tag),
            "OPTIONS": {"MAX_ENTRIES": 5_000},
        }
    )
}

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The health endpoint is probed over plain HTTP by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- Mail (password resets, and later alerts to administrators) ---------------------------------
# EMAIL_URL like smtp+tls://user:password@smtp.example.com:587; the default prints mail to the
# console, which is what development wants.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Logging ----------------------------------------------------------------------------------
# Logs carry ids and event names, never personal data: code logs `customer_id`, not names or phones.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
