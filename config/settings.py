"""The single settings module. Every value that varies by deployment is read
through :mod:`config.env`, which declares each variable once."""

import hashlib
import tempfile
from datetime import timedelta
from pathlib import Path

from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

from config.domain_apps import DOMAIN_APPS, KERNEL, SPLITTABLE_APPS
from config.env import read

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = read("DEBUG")
SECRET_KEY = read("SECRET_KEY", debug=DEBUG)
ALLOWED_HOSTS = read("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = read("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "simple_history",
    "django_prometheus",
    "django_structlog",
    KERNEL,
    *DOMAIN_APPS,
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "erp.middleware.RequestIdMiddleware",
    "erp.middleware.OpsEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.CompanyTimezoneMiddleware",  # admin pages in the company's timezone
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "erp.idempotency.IdempotencyMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "core.User"

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
            ],
        },
    },
]


def _database(config: dict) -> dict:
    # django-prometheus wraps the real backends to count queries and errors.
    engine = config["ENGINE"]
    if engine in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        config["ENGINE"] = engine.replace("django.db.backends", "django_prometheus.db.backends")
    if engine.endswith("sqlite3") and config["NAME"] != ":memory:":
        config["NAME"] = str(BASE_DIR / config["NAME"])
    if engine == "django.db.backends.postgresql":
        # A database cut off by the network must fail fast, not hang a worker (or a
        # sweep visiting every database) for the kernel's TCP timeout.
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", read("DB_CONNECT_TIMEOUT"))
    config["CONN_MAX_AGE"] = read("DB_CONN_MAX_AGE")
    config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database(read("DATABASE_URL"))}
# A domain app with its own database (the proof that apps can be split).
ERP_APPS = (KERNEL, *DOMAIN_APPS)  # the project's own apps, for the kernel's checks
ERP_SPLITTABLE_APPS = frozenset(SPLITTABLE_APPS)
for _app in SPLITTABLE_APPS:
    _url = read(f"{_app.upper()}_DATABASE_URL")
    if _url:
        DATABASES[_app] = _database(_url)
DATABASE_ROUTERS = ["erp.routers.AppDatabaseRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": read("CACHE_URL")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "erp.cache.RedisCache"  # the same, reusing its clients

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "core.backends.AdminRoleBackend",  # the admin role holds every model permission
]

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Security (production values unless DEBUG) ---------------------------------
SECURE_SSL_REDIRECT = read("SECURE_SSL_REDIRECT", debug=DEBUG)
# Kubelet probes and Prometheus scrape over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = read("SECURE_HSTS_SECONDS", debug=DEBUG)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if read("USE_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
# Everything the admin and the API docs load is served from here (Swagger UI and
# ReDoc from drf-spectacular-sidecar, ReDoc without its web fonts): a page that
# tries another host, or an inline script, is refused by the browser.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        # Swagger UI and ReDoc style their elements from their scripts.
        "style-src": [csp_constants.SELF, csp_constants.UNSAFE_INLINE],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF, "data:"],
        "connect-src": [csp_constants.SELF],
        "worker-src": [csp_constants.SELF, "blob:"],  # ReDoc's search index
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    }
}
# No page of ours uses any of these browser features.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "fullscreen",
    )
}

# --- REST API conventions (see erp/) -------------------------------------------
# The largest body Django reads into memory (the idempotency middleware reads it
# to fingerprint the request): the product import's 10 MiB cap (estoque.imports.
# MAX_BYTES) plus room for a multipart envelope. Bigger bodies are refused with a
# 413 problem (erp.exceptions, erp.views.bad_request).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024 + 64 * 1024
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.JWTAuthentication",  # simplejwt's, refusing tokens of ended sessions
    ],
    "DEFAULT_PERMISSION_CLASSES": ["erp.permissions.RolePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["erp.parsers.JSONParser"],
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_PAGINATION_CLASS": "erp.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # Counted atomically, keyed on the address TRUSTED_PROXY_COUNT says is the client's.
    "DEFAULT_THROTTLE_CLASSES": ["erp.throttling.AnonThrottle", "erp.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": read("THROTTLE_ANON_RATE"),
        "user": read("THROTTLE_USER_RATE"),
        "login": read("THROTTLE_LOGIN_RATE"),
    },
    "EXCEPTION_HANDLER": "erp.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=read("JWT_ACCESS_MINUTES")),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=read("JWT_REFRESH_DAYS")),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # TokenView sends user_logged_in, which updates last_login itself.
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Claims type-checked (core/tokens.py): a malformed claim is a 401, never a 500.
    "AUTH_TOKEN_CLASSES": ("core.tokens.AccessToken",),
    "TOKEN_OBTAIN_SERIALIZER": "core.tokens.TokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "core.tokens.TokenRefreshSerializer",
    "TOKEN_BLACKLIST_SERIALIZER": "core.tokens.TokenBlacklistSerializer",
}

IDEMPOTENCY_TTL = timedelta(hours=read("IDEMPOTENCY_TTL_HOURS"))

SPECTACULAR_SETTINGS = {
    "TITLE": "ERP API",
    "DESCRIPTION": "Headless ERP backend: inventory, sales, accounting and workflows.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several resources have a "status" of their own choices: each enum named after its owner.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "financeiro.models.Invoice.Status",
        "PeriodStatusEnum": "financeiro.models.FiscalPeriod.Status",
        "RunStatusEnum": "workflows.models.WorkflowRun.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "erp.schema.add_conventions",
    ],
}

# --- Login lockout (django-axes) -----------------------------------------------
TRUSTED_PROXY_COUNT = read("TRUSTED_PROXY_COUNT")
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more, not {TRUSTED_PROXY_COUNT}")
AXES_CLIENT_IP_CALLABLE = "erp.throttling.client_ip"
AXES_FAILURE_LIMIT = read("LOGIN_FAILURE_LIMIT")
AXES_COOLOFF_TIME = timedelta(minutes=read("LOGIN_COOLOFF_MINUTES"))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.api.views.lockout_response"
AXES_VERBOSE = False

SILENCED_SYSTEM_CHECKS = [
    # Lockout is per username on purpose: per-IP lockout behind an ingress or NAT
    # would let one attacker lock everyone out; the anon throttle bounds per-IP load.
    "axes.W006",
]

# --- Apps reach each other through the service registry (erp/services.py) -----
SERVICE_BACKENDS = {
    "core": {"BACKEND": "core.services.CoreServiceImpl"},
    "workflows": {"BACKEND": "workflows.services.WorkflowServiceImpl"},
    "estoque": {"BACKEND": "estoque.services.StockServiceImpl"},
    "financeiro": {"BACKEND": "financeiro.services.LedgerServiceImpl"},
    "vendas": {"BACKEND": "vendas.services.SalesServiceImpl"},
}

# --- Domain events (erp/relay.py) ----------------------------------------------
EVENTS_MAX_ATTEMPTS = read("EVENTS_MAX_ATTEMPTS")
EVENTS_RETRY_BASE_SECONDS = read("EVENTS_RETRY_BASE_SECONDS")
EVENTS_RETRY_MAX_SECONDS = read("EVENTS_RETRY_MAX_SECONDS")
EVENTS_REDELIVER_AFTER_SECONDS = read("EVENTS_REDELIVER_AFTER_SECONDS")
EVENTS_MAX_CRASHES = read("EVENTS_MAX_CRASHES")
EVENTS_OUTAGE_WINDOW_SECONDS = read("EVENTS_OUTAGE_WINDOW_SECONDS")
if EVENTS_OUTAGE_WINDOW_SECONDS < 1800:
    raise ImproperlyConfigured(
        f"EVENTS_OUTAGE_WINDOW_SECONDS must be at least 1800 (30 minutes), not {EVENTS_OUTAGE_WINDOW_SECONDS}"
    )
EVENTS_OUTAGE_RETRY_SECONDS = read("EVENTS_OUTAGE_RETRY_SECONDS")
EVENTS_SWEEP_SECONDS = read("EVENTS_SWEEP_SECONDS")
EVENTS_EMBEDDED_SWEEP = read("EVENTS_EMBEDDED_SWEEP")
EVENTS_RETENTION_DAYS = read("EVENTS_RETENTION_DAYS")


# --- estoque: the stock_replenishment workflow's deadlines (estoque/workflows.py)
def _at_least_one(name: str) -> int:
    value = read(name)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, not {value}")
    return value


ESTOQUE_REPLENISHMENT_APPROVAL_HOURS = _at_least_one("ESTOQUE_REPLENISHMENT_APPROVAL_HOURS")
ESTOQUE_REPLENISHMENT_RECEIPT_DAYS = _at_least_one("ESTOQUE_REPLENISHMENT_RECEIPT_DAYS")

# --- vendas: the credit approval's deadline (vendas/workflows.py) and how long a
# reservation may stay unsettled before the periodic task gives it back.
VENDAS_APPROVAL_HOURS = _at_least_one("VENDAS_APPROVAL_HOURS")
VENDAS_RESERVATION_TIMEOUT_SECONDS = _at_least_one("VENDAS_RESERVATION_TIMEOUT_SECONDS")

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = read("CELERY_BROKER_URL")
# No broker (quick start): run tasks in-process so nothing needs a server.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# At-least-once delivery: ack after the task ran, requeue if the worker dies,
# take one task at a time so a crash loses no prefetched work.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": read("CELERY_VISIBILITY_TIMEOUT")}
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ: replicated quorum queues, and publishes confirmed by the broker,
    # so a task the producer was told is sent survives a broker node failing.
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes every database connection after each task unless
# this is set: a new PostgreSQL connection per task would halve worker throughput.
# Connections still honour CONN_MAX_AGE and health checks (config/celery.py).
CELERY_DB_REUSE_MAX = 1000
# A task gets SoftTimeLimitExceeded after 90 s (a workflow step then fails the run,
# recorded) and is killed at 110 s: inside the worker's 120 s termination grace.
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_TASK_TIME_LIMIT = 110
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# Beat wakes at least this often, and its scheduler notes each tick: beat's
# /healthz fails after four silent intervals (config/celery.py).
CELERY_BEAT_SCHEDULER = "config.celery:WatchedScheduler"
# Beat's record of last runs, outside the source tree (which an image may mount
# read-only); one per checkout. `--schedule` overrides it (deploy passes one).
CELERY_BEAT_SCHEDULE_FILENAME = str(
    Path(tempfile.gettempdir()) / f"erp-celerybeat-schedule-{hashlib.sha256(bytes(BASE_DIR)).hexdigest()[:8]}"
)
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
# Beat's tasks travel on a queue of their own, which every worker also consumes
# (`-Q celery,erp.periodic`): a backlog of deliveries cannot hold a sweep back
# until it expires.
CELERY_PERIODIC_QUEUE = "erp.periodic"
CELERY_TASK_ROUTES = {
    task: {"queue": CELERY_PERIODIC_QUEUE}
    for task in (
        "erp.tasks.sweep_events",
        "erp.tasks.prune_events",
        "erp.tasks.purge_idempotency_keys",
        "workflows.tick",
        "vendas.release_stale_reservations",
        "financeiro.bill_month_end",
    )
}
# Each run does all the work that is due, so a run whose successor has long been
# queued behind it is discarded unrun (`expires`, seconds from beat's send). After
# twice its interval, not once: a run that waited a whole interval behind other
# periodic tasks (the queue's dedicated worker takes one at a time) still runs rather
# than expiring just as a worker reaches it; and a worker that comes back after an
# outage runs at most two of each kind, skipping the older ones.
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-keys": {
        "task": "erp.tasks.purge_idempotency_keys",
        "schedule": timedelta(hours=1),
        "options": {"expires": 2 * 3600},
    },
    "sweep-events": {
        "task": "erp.tasks.sweep_events",
        "schedule": timedelta(seconds=EVENTS_SWEEP_SECONDS),
        "options": {"expires": 2 * EVENTS_SWEEP_SECONDS},
    },
    "workflow-tick": {
        "task": "workflows.tick",
        "schedule": timedelta(seconds=EVENTS_SWEEP_SECONDS),
        "options": {"expires": 2 * EVENTS_SWEEP_SECONDS},
    },
    "release-stale-reservations": {
        "task": "vendas.release_stale_reservations",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 120},
    },
    # Month-end billing: the first run after a month ends invoices its month-end customers' shipments.
    "bill-month-end": {
        "task": "financeiro.bill_month_end",
        "schedule": timedelta(hours=1),
        "options": {"expires": 2 * 3600},
    },
    "prune-events": {
        "task": "erp.tasks.prune_events",
        "schedule": timedelta(hours=6),
        "options": {"expires": 2 * 6 * 3600},
    },
}

# --- Observability ---
WORKER_METRICS_PORT = read("WORKER_METRICS_PORT")
BEAT_METRICS_PORT = read("BEAT_METRICS_PORT")
PROMETHEUS_EXPORT_MIGRATIONS = False
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# erp.middleware.RequestIdMiddleware has already validated or generated it.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True

LOG_LEVEL = read("LOG_LEVEL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": "erp.logging.formatter",
            "format_name": read("LOG_FORMAT"),
        },
    },
    "filters": {"without_traceback": {"()": "erp.logging.WithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        "console_without_traceback": {
            "class": "logging.StreamHandler",
            "formatter": "structured",
            "filters": ["without_traceback"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django_structlog": {"level": LOG_LEVEL},
        # Axes logs every failed login with the username at WARNING already.
        "axes": {"level": "WARNING"},
        # A client's mistake refused by Django itself: one line, no traceback.
        "django.security": {"handlers": ["console_without_traceback"], "propagate": False},
    },
}

from erp.logging import configure_structlog  # noqa: E402

configure_structlog()
