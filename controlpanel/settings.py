"""Django settings for the LeanVibe monitoring control panel.

Everything that differs between a laptop, the local stack and production comes from the
environment through the typed readers in ``controlpanel.env``; the README's configuration table
lists every variable. Defaults are the embedded ones (SQLite under ``var/``, the local stack's
ports) and are safe: ``DEBUG`` is off unless asked for, and production refuses to start without a
secret key.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from controlpanel.env import env_bool, env_int, env_list, env_str, env_time, env_url, env_urls

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
# Demo mode: the local stack (`make run`) with demo users and the demo environment. Never on in
# production; `seed_demo` refuses to run without it.
DEMO_MODE = env_bool("DEMO_MODE", False)

_secret_key = env_str("SECRET_KEY")
if not _secret_key:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off. "
            "`make run` generates one under var/; production must provide its own."
        )
    _secret_key = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY = _secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
if "*" in ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("ALLOWED_HOSTS may not contain '*' outside development (DEBUG=1).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "csp",
    "template_partials",
    "django_celery_beat",
    "controlpanel",
    "core",
    "health",
    "metrics",
    "notifications",
    "alerts",
    "firing",
    "tuning",
    "dashboards",
    "runbooks",
    "incidents",
    "checklists",
]

MIDDLEWARE = [
    "health.observability.RequestMetricsMiddleware",
    "controlpanel.middleware.PrometheusBudgetMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Every view needs a login unless it says otherwise with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "controlpanel.urls"
WSGI_APPLICATION = "controlpanel.wsgi.application"

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
                "controlpanel.context_processors.navigation",
            ],
        },
    },
]

# Database: SQLite under var/ by default, PostgreSQL (production) through DATABASE_URL.
DATABASE_URL = env_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
if _database["ENGINE"] == "django.db.backends.postgresql":
    # A health check must answer "database unreachable" in seconds, not hang for minutes.
    _database.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 3)
    _database["CONN_HEALTH_CHECKS"] = True
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite cannot create the folder its file lives in ("unable to open database file").
    if _database["NAME"] and _database["NAME"] != ":memory:":
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web, worker and beat processes read while one of them writes.
    _database.setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    _database["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    _database["OPTIONS"]["timeout"] = 20
    _database["CONN_MAX_AGE"] = 0
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC") or "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "controlpanel.staticfinders.PlotlyFinder",
]
STATIC_ROOT = VAR_DIR / "static"
# Hashed, compressed file names for production; tests and `runserver` use the plain names
# straight from the finders (no collectstatic needed).
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# Caches: in-process by default (nothing to run); Redis for the stack and production so that
# the web and worker processes share short-lived range data.
CACHE_URL = env_url("CACHE_URL", "locmem://")
if CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL.startswith("locmem"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: only redis:// and locmem:// are known.")

# Security. USE_HTTPS is on by default outside development; the local stack turns it off
# because it serves plain HTTP on 127.0.0.1.
USE_HTTPS = env_bool("USE_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = USE_HTTPS
# Probes, Prometheus's scrape and Alertmanager's webhook come over plain HTTP from inside the
# cluster; a redirect would break them.
SECURE_REDIRECT_EXEMPT = [r"^health", r"^metrics$", r"^api/alertmanager/"]
SESSION_COOKIE_SECURE = USE_HTTPS
CSRF_COOKIE_SECURE = USE_HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if USE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = USE_HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", USE_HTTPS)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from the panel's own static files (htmx,
# plotly and the page scripts are served from static/, never a CDN), no inline script, no eval.
# Styles allow inline: plotly and htmx set element styles as they draw.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username, or
# from one address, further attempts are refused for LOGIN_LOCKOUT_MINUTES. The failures live
# in the database, so every web process sees the same count; lockouts are logged (logger
# "axes") and listed in the admin under "Axes".
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address as the web server saw it; behind a proxy that sets X-Forwarded-For
# (and strips a client's own), TRUST_X_FORWARDED_FOR=1 counts failures per real client.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if TRUST_X_FORWARDED_FOR else ["REMOTE_ADDR"]
)

# External systems. Each has one module that talks to it (see the README's code map).
# One query endpoint, or the replicas of an HA pair comma-separated: queries go to one that
# answers (integrations/prometheus.py), a check is "error" only when none does.
PROMETHEUS_URL = env_urls("PROMETHEUS_URL", "http://127.0.0.1:9090")
PROMETHEUS_TIMEOUT = float(env_int("PROMETHEUS_TIMEOUT_MS", 2000, minimum=50)) / 1000
# Seconds a page may spend on Prometheus in all (charts and banner together): 1.8 leaves the
# rest of 2 s for the page itself when Prometheus hangs.
PAGE_PROMETHEUS_BUDGET = float(env_int("PAGE_PROMETHEUS_BUDGET_MS", 1800, minimum=100)) / 1000
ALERTMANAGER_URL = env_urls("ALERTMANAGER_URL", "http://127.0.0.1:9093")
ALERTMANAGER_WEBHOOK_TOKEN = env_str("ALERTMANAGER_WEBHOOK_TOKEN", "") or ""
KUBECONFIG = env_str("KUBECONFIG", "") or ""
# Where exported alerting rules are written for Prometheus to load (a volume it shares).
PROMETHEUS_RULES_DIR = Path(
    env_str("PROMETHEUS_RULES_DIR", str(VAR_DIR / "prometheus" / "rules")) or VAR_DIR
)
REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6380/0")
# The panel's address as people and Alertmanager reach it: links in exported rules
# (runbook_url) and in notifications.
PANEL_URL = env_url("PANEL_URL", "http://127.0.0.1:8000").rstrip("/")
# After a threshold change the rule file is rewritten and Prometheus reloaded through its
# lifecycle API (POST /-/reload; Prometheus started with --web.enable-lifecycle).
PROMETHEUS_RELOAD = env_bool("PROMETHEUS_RELOAD", True)

# Notifications by email go through Django's mail; SMTP is configured here.
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1") or "127.0.0.1"
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "monitoring@leanvibe.ai") or ""
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "leanvibe-demo") or "leanvibe-demo"

# Celery: Redis broker and result backend, JSON only, every task bounded in time.
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_url("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 150
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The database scheduler lets administrators edit schedules in the admin; entries below are
# synced into it when beat starts.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
HEARTBEAT_INTERVAL = env_int("HEARTBEAT_INTERVAL", 30, minimum=1)
# Seconds between evaluation cycles (15 in the demo stack).
EVALUATION_INTERVAL = env_int("EVALUATION_INTERVAL", 60, minimum=5)
# A cycle over many series is split into shard tasks, one per EVALUATION_SHARD_SERIES checks
# and at most EVALUATION_MAX_SHARDS (about the number of worker processes), which any worker
# takes and the last of which joins the cycle (``alerts.tasks``).
EVALUATION_SHARD_SERIES = env_int("EVALUATION_SHARD_SERIES", 5000, minimum=1)
EVALUATION_MAX_SHARDS = env_int("EVALUATION_MAX_SHARDS", 8, minimum=1, maximum=64)
# Seconds between refreshes of every live region of a page (static/js/live.js): the tiles,
# charts, lists and the navigation's counts. Shared by every page so that one request a round
# refreshes them all; the answers that cost Prometheus are cached and shared between viewers.
LIVE_REFRESH_SECONDS = env_int("LIVE_REFRESH_SECONDS", 15, minimum=2)
# Seconds between the checks that the stored firing alerts are the ones Alertmanager holds.
ALERTMANAGER_SYNC_INTERVAL = env_int("ALERTMANAGER_SYNC_INTERVAL", 15, minimum=5)
CELERY_BEAT_SCHEDULE = {
    "evaluate-thresholds": {
        "task": "alerts.tasks.evaluate_thresholds",
        "schedule": float(EVALUATION_INTERVAL),
        "options": {"expires": float(EVALUATION_INTERVAL)},
    },
    "record-beat-heartbeat": {
        "task": "health.tasks.record_heartbeat",
        "schedule": float(HEARTBEAT_INTERVAL),
        # A heartbeat older than one interval is worthless; never let a backlog replay them.
        "options": {"expires": float(HEARTBEAT_INTERVAL)},
    },
    # The stored firing alerts made to agree with Alertmanager when no one has /alerts/ open:
    # the navigation's counts read them.
    "sync-firing-with-alertmanager": {
        "task": "firing.tasks.sync_with_alertmanager",
        "schedule": float(ALERTMANAGER_SYNC_INTERVAL),
        "options": {"expires": float(ALERTMANAGER_SYNC_INTERVAL)},
    },
}

# Runbook actions (runbooks/). What they may touch is allowed here, not in the playbook file:
# namespaces, workloads (kind/name) and configmaps; scaling stays inside the bounds.
RUNBOOK_NAMESPACES = env_list("RUNBOOK_NAMESPACES", ["leanvibe-production"])
RUNBOOK_WORKLOADS = env_list(
    "RUNBOOK_WORKLOADS",
    ["deployment/leanvibe-backend", "deployment/redis", "statefulset/neo4j"],
)
RUNBOOK_CONFIGMAPS = env_list("RUNBOOK_CONFIGMAPS", ["leanvibe-config"])
RUNBOOK_SCALE_MIN = env_int("RUNBOOK_SCALE_MIN", 1, minimum=0)
RUNBOOK_SCALE_MAX = env_int("RUNBOOK_SCALE_MAX", 10, minimum=1)
# Where runbook actions may send a request: named targets, each with its URL and, if it has
# one, the NAME of the variable holding its credential (read when an action runs, sent to that
# URL only, never shown). The playbook and the forms name a target and at most a path on its
# host; no user value picks a host, a port or a variable (a form field that named the variable
# once sent REDIS_URL's value to a URL of the user's choosing). The API the probes time, the
# backend's own address (its /health/db), the payment provider's account endpoint.
RUNBOOK_API_URL = env_url("RUNBOOK_API_URL", "http://127.0.0.1:9200")
RUNBOOK_BACKEND_URL = env_url("RUNBOOK_BACKEND_URL", RUNBOOK_API_URL)
RUNBOOK_DEPENDENCY_URL = env_url("RUNBOOK_DEPENDENCY_URL", "https://api.stripe.com/v1/account")


def _http_target(variable: str, url: str, credential_env: str = "") -> dict[str, str]:
    """A runbook target: ``scheme://host[:port][/path]`` and nothing else. A user, password or
    query in the URL would show in every run's output; a credential is named apart."""
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.query or parts.fragment:
        # Not echoed: the value may hold a password.
        raise ImproperlyConfigured(
            f"{variable}: a runbook target is scheme://host[:port][/path], without a user, "
            "password, query or fragment."
        )
    try:
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable}={url!r} has a bad port: {exc}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ImproperlyConfigured(f"{variable}={url!r} is not an http(s) URL with a host.")
    return {"url": url, "credential_env": credential_env}


RUNBOOK_HTTP_TARGETS = {
    "api": _http_target("RUNBOOK_API_URL", RUNBOOK_API_URL),
    "backend": _http_target("RUNBOOK_BACKEND_URL", RUNBOOK_BACKEND_URL),
    "payments": _http_target(
        "RUNBOOK_DEPENDENCY_URL", RUNBOOK_DEPENDENCY_URL, credential_env="STRIPE_SECRET_KEY"
    ),
}
# The application cache the Redis actions act on (the demo drives traffic against db 2).
RUNBOOK_REDIS_URL = env_url("RUNBOOK_REDIS_URL", "redis://127.0.0.1:6380/2")
# Neo4j actions run only when NEO4J_URL is set (the page says so otherwise).
NEO4J_URL = env_str("NEO4J_URL", "") or ""
NEO4J_USER = env_str("NEO4J_USER", "neo4j") or "neo4j"
NEO4J_PASSWORD = env_str("NEO4J_PASSWORD", "") or ""
# Auto Scaling actions run only when a region is configured (boto3 reads the credentials).
AWS_REGION = env_str("AWS_REGION", "") or ""
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL", "") or ""
# Empty: boto3's own chain (instance role, profile). The secret may come from a file (_FILE).
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "") or ""
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "") or ""
# At most this many runs of one action per window, whoever asks: a loop of restarts is an
# incident of its own.
RUNBOOK_RATE_LIMIT = env_int("RUNBOOK_RATE_LIMIT", 5, minimum=1)
RUNBOOK_RATE_WINDOW = env_int("RUNBOOK_RATE_WINDOW", 600, minimum=1)
# Seconds an action may take: the soft limit ends it as failed with the reason; the hard limit
# kills the worker process (the sweeper then records the run as failed).
RUNBOOK_SOFT_TIME_LIMIT = env_int("RUNBOOK_SOFT_TIME_LIMIT", 60, minimum=1)
RUNBOOK_TIME_LIMIT = env_int("RUNBOOK_TIME_LIMIT", 90, minimum=2)
# A running run whose heartbeat is older than this was left by a worker that died.
# Seconds a change may wait for a second SRE before it expires (swept every 15 s): an approval
# given hours later would apply a change judged on a dry run of a cluster that has moved on.
RUNBOOK_APPROVAL_TTL = env_int("RUNBOOK_APPROVAL_TTL", 3600, minimum=60)
RUNBOOK_LOST_AFTER = env_int("RUNBOOK_LOST_AFTER", 30, minimum=5)
# Runbook actions go to their own queue: one slow cluster call must not hold up the
# evaluation cycle, and the queue can be given its own worker.
CELERY_TASK_ROUTES = {"runbooks.tasks.execute_run": {"queue": "runbooks"}}
# One message at a time per worker process: with acks_late a prefetched run would otherwise
# wait behind a long one and look stuck.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Seconds between sweeps of lost runs and unanswered approvals.
RUNBOOK_SWEEP_INTERVAL = 15.0
CELERY_BEAT_SCHEDULE["sweep-lost-runbook-runs"] = {
    "task": "runbooks.tasks.sweep_runs",
    "schedule": RUNBOOK_SWEEP_INTERVAL,
    "options": {"expires": RUNBOOK_SWEEP_INTERVAL},
}

# Maintenance checklists (checklists/). Daily runs open at this local time (TIME_ZONE); weekly,
# monthly and quarterly runs open at the same time on their first day. After downtime, beat
# opens the missed periods too, at most this many per cadence.
CHECKLIST_DAILY_AT = env_time("CHECKLIST_DAILY_AT", "00:00")
CHECKLIST_CATCH_UP = env_int("CHECKLIST_CATCH_UP", 3, minimum=1)
# Cheap when nothing is due (a few indexed queries), and it also gathers evidence for new runs
# once Prometheus answers, so a minute keeps a fresh start's runs from waiting long.
CHECKLIST_TICK_INTERVAL = 60.0
CELERY_BEAT_SCHEDULE["open-checklist-runs"] = {
    "task": "checklists.tasks.open_runs",
    "schedule": CHECKLIST_TICK_INTERVAL,
    "options": {"expires": CHECKLIST_TICK_INTERVAL},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO") or "INFO"},
}
