"""Settings for the CRM, all read from the environment (django-environ).

Every variable is documented in README.md ("Configuration"). `make run` writes development secrets
into var/.env on first run (bin/dev_env.py); in production the environment provides them and a
missing secret stops the start.
"""

import datetime
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_HASHES
from django.core.exceptions import ImproperlyConfigured
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
    "rest_framework",
    "drf_spectacular",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    # The wiring (settings, urls, Celery app, home page); its migrations created the tables that
    # kernel and operations took over.
    "crm",
    "kernel",
    # After axes and django_otp: its admin replaces theirs.
    "accounts",
    "privacy",
    # The bell's notifications: below the domain apps, which tell people things through it.
    "notifications",
    "customers",
    "interactions",
    # Deals, pipelines and the shared pool: beside interactions, on customers.
    "sales",
    "analytics",
    "operations",
    # Outbound webhooks: after the domain apps, whose events (kernel/outbox.py) it delivers.
    "webhooks",
    # Public web forms: their submissions go through the customer import's door.
    "webforms",
    # Inbound connectors: POS drop folders and mailboxes, above the domain apps they write to.
    "dropfolders",
    "mailboxes",
    # Shop connectors (Shopify, WooCommerce): after webhooks, beside it above the domain apps.
    "connectors",
    # The demo data and seed_demo: above the apps, as the wiring is.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    # Deny by default: every view needs a login unless decorated with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "privacy.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle and absolute session limits, and which sessions belong to whom (accounts).
    "accounts.middleware.SessionLifetimeMiddleware",
    # Nothing but the second step (or enrolment) until the session passed two factors.
    "accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
# Bootstrap's classes on form inputs (kernel/forms_rendering.py).
FORM_RENDERER = "kernel.forms_rendering.BootstrapFormRenderer"

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
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            # Deleted and overwritten values are zeroed in the file, not left in free pages
            # where an erased customer's data could be read back.
            "PRAGMA secure_delete=ON;"
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
# A covering index (Index(include=...), sales.Deal's board totals) is PostgreSQL's; on SQLite the
# index is made without the included column, which is what the warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Authentication ---------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out user name + address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "accounts.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session ends SESSION_COOKIE_AGE seconds after its login however busy (accounts enforces
# it: activity would otherwise keep extending it), after SESSION_IDLE_TIMEOUT seconds without
# activity (0: never), and when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Lockout after repeated failed logins (django-axes), never permanent: a cool-off always lifts
# it. Counted per user name *and* address together: one address cannot lock everybody out
# (as counting per address would let one office's NAT do), nor can anyone lock a colleague out
# everywhere by typing their name wrong (as counting per user name would). The price — a guesser
# spreading one name over many addresses gets AXES_FAILURE_LIMIT tries from each — is why
# privileged roles also need a second factor. Each try while locked restarts the cool-off.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
# The audit log records logins; axes' own access log would be a second, unbounded copy.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Masked in axes' log lines and its record of the form (the password always is).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address"]
# Axes reads REMOTE_ADDR, like the audit log: behind a proxy gunicorn sets it from the
# forwarded header (--forwarded-allow-ips), so clients cannot choose their address.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# Two-factor authentication (django-otp, TOTP): required for whoever holds one of these
# permissions (and superusers), optional for everyone else.
TWO_FACTOR_REQUIRED_PERMISSIONS = env.list(
    "TWO_FACTOR_REQUIRED_PERMISSIONS", default=["auth.change_user", "privacy.view_auditevent"]
)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="CRM")
# Administrators may remove a user's authenticator in Django admin (the recovery path), never
# read its secret.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Requests ---------------------------------------------------------------------------------
# Django's own limit on a form's body, stated so that it is a decision: the largest real form
# (a customer with 10,000 characters of notes in Chinese, kernel/free_text.py) sends under 100 KB,
# and uploads (imports) are files, which this does not count. A larger body answers 400 with
# templates/400.html before any view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

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
    ("vendor/swagger-ui", NODE_MODULES / "swagger-ui-dist"),
    # Cards dragged between the deal board's columns (static/js/deals_board.js).
    ("vendor/sortablejs", NODE_MODULES / "sortablejs"),
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
# Uploads, exports and copies hold personal data: private to the CRM's account (Django's
# default of 0644 would chmod them readable by everyone, whatever the umask in crm/__init__.py).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# --- Personal data protection -----------------------------------------------------------------
# "KEYID:KEY" entries, newest first: the first encrypts, all decrypt (see `manage.py rotate_keys`).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY")
# Data-subject requests (privacy/subjects) must be answered within this many days of receipt:
# PIPL leaves the time to the regulator's rules, the GDPR allows a month; 15 is the stricter
# figure Chinese guidance (GB/T 35273) names.
DATA_REQUEST_DUE_DAYS = env.int("DATA_REQUEST_DUE_DAYS", default=15)
# Where customers reach the product from outside (links in confirmation and marketing mail, the
# privacy page, web forms embedded on other sites): scheme and host, no trailing slash.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# How long a link to a customer's own privacy page (privacy/portal/links.py) stays valid: it is
# in every marketing mail, and an unsubscribe link must work long after the mail was sent.
PRIVACY_LINK_DAYS = env.int("PRIVACY_LINK_DAYS", default=400)
# The retention policies (privacy/retention.py, set on the Retention page) run at this hour.
RETENTION_HOUR = env.int("RETENTION_HOUR", default=3)

# --- Backups (operations/backups, README "Backups and restores") ------------------------------
# Encrypted files in BACKUP_DIR, one a night at BACKUP_HOUR:30, restored into a scratch database
# by the drill at BACKUP_DRILL_HOUR:00. BACKUP_ENCRYPTION_KEYS is "KEYID:KEY" like the field keys
# (newest first; older ones still decrypt older backups) and must be kept off this machine too:
# without it no backup can be read.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
BACKUP_ENCRYPTION_KEYS = env.list("BACKUP_ENCRYPTION_KEYS", default=[])
BACKUP_HOUR = env.int("BACKUP_HOUR", default=0)
BACKUP_DRILL_HOUR = env.int("BACKUP_DRILL_HOUR", default=5)
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=7)
BACKUP_KEEP_WEEKLY = env.int("BACKUP_KEEP_WEEKLY", default=4)
BACKUP_KEEP_MONTHLY = env.int("BACKUP_KEEP_MONTHLY", default=12)
# pg_dump's and gzip's level: 6 is their default, a good balance of time and size.
BACKUP_COMPRESSION_LEVEL = env.int("BACKUP_COMPRESSION_LEVEL", default=6)
BACKUP_RESTORE_JOBS = env.int("BACKUP_RESTORE_JOBS", default=2)
# A backup or drill still queued or running after this long without a sign of life is given up
# as interrupted (operations/backups/services.py BackupJobKind.time_limit).
BACKUP_TIMEOUT_MINUTES = env.int("BACKUP_TIMEOUT_MINUTES", default=360)
# The health endpoint and the status page call the last backup stale after this long.
BACKUP_MAX_AGE_HOURS = env.int("BACKUP_MAX_AGE_HOURS", default=26)

# --- Background jobs --------------------------------------------------------------------------
# Without REDIS_URL the broker is kombu's filesystem transport under ./var: jobs still run in the
# worker process, never in the request, and no extra service is needed.
REDIS_URL = env.str("REDIS_URL", default="")
# `make test` gives each of its runs a folder of its own, so that no worker of the other run or
# of `make run` in the same checkout takes a run's messages.
BROKER_DIR = Path(env.str("BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
# kombu's filesystem transport with messages written whole (kernel/jobs/broker.py).
CELERY_BROKER_TRANSPORT = None if REDIS_URL else "kernel.jobs.broker:Transport"
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
# The worker logs through LOGGING below (JSON in production) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=60)
# A running job's worker refreshes its heartbeat this often while it works
# (kernel/jobs/recovery.py); silent for JOB_STALLED_AFTER_SECONDS, the job lost its worker and
# is queued again, at most JOB_MAX_RECOVERIES times (then it fails). Several heartbeats apart,
# so a slow moment (a batch waiting for a lock) is never taken for a dead worker.
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=10)
JOB_STALLED_AFTER_SECONDS = env.int("JOB_STALLED_AFTER_SECONDS", default=60)
JOB_MAX_RECOVERIES = env.int("JOB_MAX_RECOVERIES", default=3)
if JOB_STALLED_AFTER_SECONDS < 3 * JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "JOB_STALLED_AFTER_SECONDS must be at least three JOB_HEARTBEAT_SECONDS."
    )
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
# review queue; the form warns from DEDUP_DOOR_PROBABILITY; from 200 active customers the match
# rate and u come from the data, and each EM session whose block holds DEDUP_EM_MIN_PAIRS pairs
# estimates m (customers/dedup/linkage.py); whatever cannot be estimated keeps its prior.
# DEDUP_AUTO_MERGE_PROBABILITY (unset: off) merges groups whose every pair reaches it.
DEDUP_MIN_PROBABILITY = env.float("DEDUP_MIN_PROBABILITY", default=0.8)
DEDUP_DOOR_PROBABILITY = env.float("DEDUP_DOOR_PROBABILITY", default=0.5)
DEDUP_EM_MIN_PAIRS = env.int("DEDUP_EM_MIN_PAIRS", default=1000)
DEDUP_AUTO_MERGE_PROBABILITY = env.float("DEDUP_AUTO_MERGE_PROBABILITY", default=None)
DEDUP_MEMORY_LIMIT = env.str("DEDUP_MEMORY_LIMIT", default="2GB")
DEDUP_NIGHTLY_HOUR = env.int("DEDUP_NIGHTLY_HOUR", default=2)
# The shared pool (sales/pool): defaults of its rules row (administrators change them on
# /pool/rules/): how many customers one person may own, how many days without the owner's
# activity return a customer to the pool (checked nightly at POOL_RELEASE_HOUR), and how many
# days before that the owner is warned.
POOL_CLAIM_QUOTA = env.int("POOL_CLAIM_QUOTA", default=50)
POOL_RELEASE_DAYS = env.int("POOL_RELEASE_DAYS", default=30)
POOL_WARNING_DAYS = env.int("POOL_WARNING_DAYS", default=3)
POOL_RELEASE_HOUR = env.int("POOL_RELEASE_HOUR", default=3)
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
AUDIT_VERIFY_HOUR = env.int("AUDIT_VERIFY_HOUR", default=3)
# Interactions older than INTERACTION_ARCHIVE_AFTER_DAYS (0: never; else at least 365) move
# nightly at INTERACTION_ARCHIVE_HOUR into the archive table (interactions/archive.py).
INTERACTION_ARCHIVE_AFTER_DAYS = env.int("INTERACTION_ARCHIVE_AFTER_DAYS", default=3 * 365)
INTERACTION_ARCHIVE_HOUR = env.int("INTERACTION_ARCHIVE_HOUR", default=4)
# The local hour the daily digest mail goes out (interactions/reminders.py).
DIGEST_HOUR = env.int("DIGEST_HOUR", default=8)
CELERY_BEAT_SCHEDULE = {
    # The shared pool: warn owners of idle customers, return those idle too long.
    "pool-release-nightly": {
        "task": "sales.pool.tasks.release_idle_customers",
        "schedule": crontab(hour=POOL_RELEASE_HOUR, minute=20),
    },
    "forget-idempotency-keys": {
        "task": "kernel.tasks.forget_idempotency_keys",
        "schedule": crontab(minute=15),
    },
    # Custom fields' order indexes a worker could not build when the field was saved.
    "build-custom-field-indexes": {
        "task": "customers.tasks.build_custom_field_indexes",
        "schedule": crontab(minute=40),
    },
    "worker-heartbeat": {
        "task": "kernel.tasks.record_worker_heartbeat",
        "schedule": WORKER_HEARTBEAT_SECONDS,
    },
    # Jobs whose worker died are queued again (the worker's start does the same at once).
    "recover-stalled-jobs": {
        "task": "kernel.tasks.recover_stalled_jobs",
        "schedule": 60,
    },
    # Before the other nightly jobs, so a backup holds the day as staff left it.
    "backup-nightly": {
        "task": "operations.backups.nightly_backup",
        "schedule": crontab(hour=BACKUP_HOUR, minute=30),
    },
    "restore-drill-nightly": {
        "task": "operations.backups.nightly_drill",
        "schedule": crontab(hour=BACKUP_DRILL_HOUR, minute=0),
    },
    "delete-expired-exports": {
        "task": "analytics.tasks.delete_expired_exports",
        "schedule": 3600,
    },
    "apply-retention-nightly": {
        "task": "privacy.apply_retention",
        "schedule": crontab(hour=RETENTION_HOUR, minute=15),
    },
    "delete-expired-subject-copies": {
        "task": "privacy.subjects.delete_expired_copies",
        "schedule": 3600,
    },
    "clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
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
    # The audit log's hash chain, checked every night; a broken chain raises a security alert.
    "verify-audit-chain-nightly": {
        "task": "privacy.tasks.verify_audit_chain",
        "schedule": crontab(hour=AUDIT_VERIFY_HOUR, minute=45),
    },
    # Follow-ups that fell due since the last run, announced to webhook subscribers.
    "announce-due-follow-ups": {
        "task": "interactions.tasks.announce_due_follow_ups",
        "schedule": 60,
    },
    # The bell's "follow-up due" for those that fell due since the last run
    # (interactions/reminders.py).
    "notify-due-follow-ups": {
        "task": "interactions.tasks.notify_due_follow_ups",
        "schedule": 300,
    },
    # The daily digest mail for those who asked for it, at DIGEST_HOUR local time.
    "send-daily-digests": {
        "task": "interactions.tasks.send_daily_digests",
        "schedule": crontab(hour=DIGEST_HOUR, minute=0),
    },
    # Outbox events relayed and deliveries due sent, should a kick after a commit have been
    # lost (a broker outage, a worker killed mid-run).
    "deliver-webhooks": {
        "task": "webhooks.tasks.deliver_webhooks",
        "schedule": 60,
    },
    # The webhook delivery log past WEBHOOKS_LOG_DAYS and the outbox events nothing needs.
    "forget-old-webhook-deliveries": {
        "task": "webhooks.tasks.forget_old_deliveries",
        "schedule": crontab(hour=RETENTION_HOUR, minute=45),
    },
    # Web form submissions past WEBFORMS_SUBMISSION_DAYS.
    "forget-old-form-submissions": {
        "task": "webforms.tasks.forget_old_submissions",
        "schedule": crontab(hour=RETENTION_HOUR, minute=50),
    },
    # Drop folders scanned: files that finished arriving become imports (dropfolders/scan.py).
    "scan-drop-folders": {
        "task": "dropfolders.tasks.scan_drop_folders",
        "schedule": 60,
    },
    # Mailboxes read: messages with known customers logged on their timelines.
    "poll-mailboxes": {
        "task": "mailboxes.tasks.poll_mailboxes",
        "schedule": 60,
    },
    # Shop deliveries still waiting a minute after they came (their worker died, or the
    # message to it was lost) are applied.
    "apply-waiting-shop-deliveries": {
        "task": "connectors.tasks.apply_waiting_deliveries",
        "schedule": 60,
    },
    # Raw shop deliveries past CONNECTORS_RAW_DAYS cleared, the log past CONNECTORS_LOG_DAYS.
    "forget-old-shop-deliveries": {
        "task": "connectors.tasks.forget_old_deliveries",
        "schedule": crontab(hour=RETENTION_HOUR, minute=50),
    },
    "archive-interactions-nightly": {
        "task": "interactions.tasks.archive_old_interactions",
        "schedule": crontab(hour=INTERACTION_ARCHIVE_HOUR, minute=0),
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

# --- The REST API (/api/v1/, kernel/api/) ------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_keys.ApiKeyAuthentication",
        "accounts.api_keys.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["kernel.api.permissions.ActionPermissions"],
    "DEFAULT_THROTTLE_CLASSES": ["kernel.api.throttling.CallerRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "kernel.api.pagination.IdCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "DESCRIPTION": (
        "The customer database's REST API. Authenticate with `Authorization: Bearer <API key>`; "
        "errors are RFC 9457 problem details; lists are cursor pages; updates need If-Match; "
        "POSTs accept Idempotency-Key."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Choice sets sharing a field name ("kind", "channel", "status") get names of their own,
    # the same wherever a field uses them.
    "ENUM_NAME_OVERRIDES": {
        "CustomerKindEnum": "customers.models.CustomerKind",
        "ImportKindEnum": "customers.models.ImportKind",
        "InteractionKindEnum": "interactions.models.InteractionKind",
        "SegmentKindEnum": "analytics.models.SegmentKind",
        "SalesChannelEnum": "interactions.models.SalesChannel",
        "InteractionChannelEnum": "interactions.models.InteractionChannel",
        "RequestKindEnum": "privacy.models.RequestKind",
        "JobStatusEnum": "kernel.models.JobStatus",
        "RequestStatusEnum": "privacy.models.RequestStatus",
        "TransactionStatusEnum": "interactions.models.TransactionStatus",
        "RequestChannelEnum": "privacy.models.RequestChannel",
        "SourceChannelEnum": "customers.models.SourceChannel",
        "RecordOutcomeEnum": "customers.imports.records.OUTCOMES",
    },
    # Every operation's problem responses, Idempotency-Key and links (kernel/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kernel.api.schema.document_problems",
    ],
}
# Requests per caller (an API key, or a user's browser session) and period: 429 with
# Retry-After beyond it (kernel/api/throttling.py).
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="1200/min")
# How long a POST's Idempotency-Key is remembered (kernel/api/idempotency.py).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)

# --- Outbound webhooks (webhooks/, README "Webhooks") ------------------------------------------
# Deliveries to private, loopback and link-local addresses are refused (the worker would carry
# requests into the internal network) unless this is true: by default only with DEBUG.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=DEBUG)
# A delivery is retried with exponential backoff for this long after its first try, then given
# up; a subscription whose deliveries all failed for WEBHOOKS_PAUSE_AFTER_HOURS is paused.
WEBHOOKS_RETRY_HOURS = env.int("WEBHOOKS_RETRY_HOURS", default=24)
WEBHOOKS_PAUSE_AFTER_HOURS = env.int("WEBHOOKS_PAUSE_AFTER_HOURS", default=24)
# How long the previous secret keeps signing after a rotation.
WEBHOOKS_SECRET_OVERLAP_HOURS = env.int("WEBHOOKS_SECRET_OVERLAP_HOURS", default=24)
# Deliveries sent at once by one task run, and each one's connect and read timeouts (seconds).
WEBHOOKS_CONCURRENCY = env.int("WEBHOOKS_CONCURRENCY", default=16)
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=3.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=10.0)
# Finished deliveries are kept in the log this many days (each subscription's latest always),
# then deleted nightly with the outbox events they came from (webhooks/retention.py).
WEBHOOKS_LOG_DAYS = env.int("WEBHOOKS_LOG_DAYS", default=30)

# --- Public web forms (webforms/, README "Web forms") ------------------------------------------
# A form page's token (webforms/tokens.py) is fresh this long: a visitor who leaves the page
# open longer is asked to send it once more, nothing lost.
WEBFORMS_TOKEN_HOURS = env.int("WEBFORMS_TOKEN_HOURS", default=12)
# How long the link confirming marketing consents (double opt-in) works after it was mailed.
WEBFORMS_CONFIRM_DAYS = env.int("WEBFORMS_CONFIRM_DAYS", default=7)
# Submissions per address and per form ("number/second|minute|hour|day", counted in the cache);
# the per-form limit caps what one form lets into the database whoever sends.
WEBFORMS_RATE_PER_ADDRESS = env.str("WEBFORMS_RATE_PER_ADDRESS", default="10/hour")
WEBFORMS_RATE_PER_FORM = env.str("WEBFORMS_RATE_PER_FORM", default="600/hour")
# The largest body a form's submission may have: the biggest real one (every field, 1,000
# characters of notes in Chinese) is under 8 KB.
WEBFORMS_MAX_BODY_BYTES = env.int("WEBFORMS_MAX_BODY_BYTES", default=32_768)
# Submissions are kept this many days (webforms/retention.py); the consents they led to stay.
WEBFORMS_SUBMISSION_DAYS = env.int("WEBFORMS_SUBMISSION_DAYS", default=365)
# --- Drop folders (dropfolders/, README "Drop folders") -----------------------------------------
# A folder named on the drop folder page is made under DROP_FOLDER_ROOT; an absolute path is
# accepted only inside one of DROP_FOLDER_ALLOWED_ROOTS (comma-separated), which only the
# server's operator sets: the worker reads and moves every file of a folder.
DROP_FOLDER_ROOT = env.path("DROP_FOLDER_ROOT", default=VAR_DIR / "drop")
DROP_FOLDER_ALLOWED_ROOTS = env.list("DROP_FOLDER_ALLOWED_ROOTS", default=[])
# Files moved to processed/ or failed/ hold personal data: deleted this many days later.
DROP_FOLDER_KEEP_DAYS = env.int("DROP_FOLDER_KEEP_DAYS", default=IMPORT_FILE_RETENTION_DAYS)

# --- Mailboxes (mailboxes/, README "Mailboxes") ------------------------------------------------
# Seconds an IMAP server may take to answer before a poll gives up (and tries next minute).
MAILBOX_TIMEOUT = env.float("MAILBOX_TIMEOUT", default=30.0)
# Messages read per folder and poll: a mailbox with years of mail is read over several minutes.
MAILBOX_BATCH = env.int("MAILBOX_BATCH", default=200)
# The record of polls that read something or failed is kept this many days.
MAILBOX_POLL_LOG_DAYS = env.int("MAILBOX_POLL_LOG_DAYS", default=30)
# --- Shop connectors (connectors/, README "Shops") -------------------------------------------
# The largest delivery a shop may send (bytes): larger ones are refused with 413.
CONNECTORS_MAX_BODY_BYTES = env.int("CONNECTORS_MAX_BODY_BYTES", default=2_621_440)
# A delivery still waiting this long after it came is applied by the beat's sweep; one whose
# worker died this many times fails, for an administrator to retry.
CONNECTORS_REQUEUE_AFTER_SECONDS = env.int("CONNECTORS_REQUEUE_AFTER_SECONDS", default=60)
CONNECTORS_MAX_ATTEMPTS = env.int("CONNECTORS_MAX_ATTEMPTS", default=5)
# Raw deliveries hold personal data: their bodies are cleared this many days after they were
# applied (failed ones after CONNECTORS_FAILED_RAW_DAYS, time to retry them), and the log is
# deleted after CONNECTORS_LOG_DAYS.
CONNECTORS_RAW_DAYS = env.int("CONNECTORS_RAW_DAYS", default=7)
CONNECTORS_FAILED_RAW_DAYS = env.int("CONNECTORS_FAILED_RAW_DAYS", default=30)
CONNECTORS_LOG_DAYS = env.int("CONNECTORS_LOG_DAYS", default=90)
# Objects of a shop's export applied per transaction by a backfill.
CONNECTORS_BACKFILL_BATCH = env.int("CONNECTORS_BACKFILL_BATCH", default=200)

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Everywhere, development and tests included, so that an inline script or style shows up at
# once: every script and style is a file under static/ (htmx is told not to inject its
# indicator styles, see templates/base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # The one inline handler left, by its hash: django-import-export's "select all" box on
        # the admin export page (onchange="onSelectToggleChange(event)").
        "script-src": [
            SELF,
            UNSAFE_HASHES,
            "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='",
        ],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
# Browser features the CRM never uses, switched off for every page (crm/headers.py).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
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

# --- Mail (password resets, security alerts) ---------------------------------------------------
# EMAIL_URL like smtp+tls://user:password@smtp.example.com:587. In development (DEBUG) the
# default prints mail to the console. Without DEBUG mail must leave the machine: a reset mail
# carries a live token and an alert is there to be read, so a backend that prints mail to the
# log, keeps it in files or memory, or drops it stops the start, as a missing secret does.
_MAIL_NOT_SENT = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}
_email_url = env.str("EMAIL_URL", default="") or ("consolemail://" if DEBUG else "")
if not _email_url:
    raise ImproperlyConfigured(
        "Set EMAIL_URL to the mail server (e.g. smtp+tls://user:password@smtp.example.com:587): "
        "without DEBUG, password-reset links and security alerts must be mailed, not logged."
    )
_email = env.email_url_config(_email_url)
if not DEBUG and _email["EMAIL_BACKEND"] in _MAIL_NOT_SENT:
    raise ImproperlyConfigured(
        f"EMAIL_URL names {_email['EMAIL_BACKEND']}, which sends no mail: without DEBUG, "
        "password-reset links and security alerts would end up in the log or nowhere. "
        "Set EMAIL_URL to the mail server (e.g. smtp+tls://user:password@smtp.example.com:587)."
    )
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Security alerts (privacy/alerts.py) go to these addresses ("a@example.com,b@example.com") and
# to every active user who manages user accounts (auth.change_user) and has an e-mail address.
ADMINS = [("", address) for address in env.list("ADMINS", default=[])]
EMAIL_SUBJECT_PREFIX = env.str("EMAIL_SUBJECT_PREFIX", default="[CRM] ")
# Alert when this many failed logins for one user name, or from one IP address, fall within
# ALERT_WINDOW_MINUTES; when one export hands out more than ALERT_EXPORT_ROWS rows; when one
# user reveals ALERT_ID_REVEALS identity numbers within ALERT_ID_REVEALS_WINDOW_MINUTES.
ALERT_FAILED_LOGINS = env.int("ALERT_FAILED_LOGINS", default=10)
ALERT_WINDOW_MINUTES = env.int("ALERT_WINDOW_MINUTES", default=15)
ALERT_EXPORT_ROWS = env.int("ALERT_EXPORT_ROWS", default=10_000)
ALERT_ID_REVEALS = env.int("ALERT_ID_REVEALS", default=20)
ALERT_ID_REVEALS_WINDOW_MINUTES = env.int("ALERT_ID_REVEALS_WINDOW_MINUTES", default=60)

# --- Logging ----------------------------------------------------------------------------------
# Logs carry ids and event names, never personal data: code logs `customer_id`, not names or phones.
# Request lines are logged without their query string (the development server here, gunicorn
# in gunicorn.conf.py): whatever a link carries stays out of the logs.
# LOG_FORMAT "json" (the default without DEBUG) writes one JSON object a line — time, level,
# logger, message, traceback — for a log collector; "plain" is for people reading a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
# Server-error mails to ADMINS name the failing code without a value it held or was sent.
DEFAULT_EXCEPTION_REPORTER_FILTER = "crm.log_filters.ReportsWithoutValues"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_query_strings": {"()": "crm.log_filters.DropQueryStrings"},
        "refusals_without_traceback": {"()": "crm.log_filters.RefusalsWithoutTraceback"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "crm.log_filters.JsonLineFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "django.server",
            "filters": ["no_query_strings"],
        },
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default configuration gives this logger a console handler of its own beside
        # the root's, so in development each of its records (a 403 with its traceback) was
        # written twice. Only its other handler is kept: server errors mailed to ADMINS.
        "django": {"handlers": ["mail_admins"]},
        # A 403 is one line, without a traceback; errors keep theirs.
        "django.request": {"filters": ["refusals_without_traceback"]},
        "django.db.backends": {"level": "WARNING"},
        # Failures and lockouts (user name and address masked), not every successful login.
        "axes": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
