"""Settings shared by every environment, all read from the environment here and nowhere else."""

import datetime
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config.apps.LoginLockoutConfig",  # django-axes
    "csp",
    "django_celery_beat",
    "django_htmx",
    "template_partials",
    "core",  # first of ours: its admin sets up the user admin that audit's extends
    "audit",
    "tiers",
    "coaching",
    "ops",
    "demo",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A staff write whose queued work could not reach the broker says so (core.outbox).
    "core.outbox.TellStaffMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.security.SecurityHeadersMiddleware",
    "config.security.StaffIdleExpiryMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Every login (the site's, the admin's, and any API authentication that calls config.security's
# lockout hooks) goes through django-axes first: too many wrong passwords lock the account.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# With no DATABASE_URL the site runs on a SQLite file; WAL and a busy timeout let the web
# process, the worker and beat share it.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 30}
    )
elif env.int("DATABASE_POOL_MAX_SIZE", default=0) > 0:
    # Django's own connection pool (psycopg_pool) per process: each gunicorn or Celery process keeps at most this
    # many connections open, shared between its requests (docs/speed-and-scale.md, "Past one machine"). A pool replaces
    # persistent connections.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": env.int("DATABASE_POOL_MAX_SIZE"), "timeout": 10}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "config.security.DemoPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files a browser asks for at the site's root (/favicon.ico), served by WhiteNoise as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# Uploaded files (metric imports) until they are applied; web and worker machines must share it.
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# ---------------------------------------------------------------- logins, sessions, headers
# Lockout (django-axes): the fifth wrong password for one username locks it for half an hour,
# whatever address the guesses come from, and so do five from one browser at one address, whatever
# usernames they try; staff unlock sooner in the admin (access attempts). A right password resets the count.
AXES_FAILURE_LIMIT = env.int("LADDER_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LADDER_LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", ["ip_address", "user_agent"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.security.locked_out_response"
AXES_ENABLE_ADMIN = False  # tiers.admin registers it under the staff rules, with an unlock action
AXES_DISABLE_ACCESS_LOG = True  # failed attempts are what lockout needs; successful logins are not kept
AXES_VERBOSE = False  # no log line at every start; lockouts are still logged
AXES_SENSITIVE_PARAMETERS = ["password", "token", "key"]

# Staff sessions end after this much idleness (config.security.StaffIdleExpiryMiddleware);
# creators keep Django's two weeks, on their phones.
LADDER_STAFF_SESSION_IDLE_SECONDS = env.int("LADDER_STAFF_SESSION_IDLE_MINUTES", default=30) * 60
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # the pages send the token from the template, never from the cookie
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"

# No inline script or style, no eval: everything comes from our own static files (htmx is told,
# in _base.html, to insert no indicator styles of its own and to evaluate nothing).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# Features no Ladder page uses, refused to any page or frame (config.security.SecurityHeadersMiddleware).
PERMISSIONS_POLICY = {feature: [] for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer", "microphone",
    "midi", "payment", "usb",
)}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Redis is the Celery broker. `make run` starts an embedded one and sets REDIS_URL.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# A task whose worker dies is delivered again, so every task is idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 15 * 60
CELERY_TASK_TIME_LIMIT = 20 * 60
# Progress lives in our own run models; results are kept only where a caller waits on one.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
# visibility_timeout: longer than the longest task, or Redis hands an unacked task to a second worker
# (a killed worker's chunks are sent again sooner by the run watches: tiers.refresh, coaching.services).
# Short socket timeouts: a broker that is down, or accepts connections and never answers, costs a web
# request two seconds, not a hung worker; what it was to send waits in the outbox (core.outbox).
BROKER_TIMEOUT_SECONDS = env.float("LADDER_BROKER_TIMEOUT_SECONDS", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2 * 60 * 60,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
}
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker (and beat) whose broker went away keeps reconnecting however long it takes, so work
# resumes by itself when Redis is back; never a worker that gave up and must be restarted.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue name per site, so two sites (or a test run) can share a Redis without taking each
# other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
# `/healthz?deep=1`'s probe task goes to a queue of its own, so it never waits behind refresh chunks;
# some worker must consume it (`make run` starts one; see docs/running.md, "Deploying on several machines").
# Empty: `$CELERY_QUEUE.health`, derived when the probe is sent, as the batch queue is (config.celery_app).
LADDER_HEALTH_QUEUE = env("CELERY_HEALTH_QUEUE", default="")
# Batch work (refreshes and their chunks, replays, imports, programme assignment and what-if chunks) goes to
# `$CELERY_QUEUE.batch`, consumed by workers of its own, so a night's refresh never delays what a person is waiting
# for (a creator's notification after a staff override). config/celery_app.py names the batch tasks.
CELERY_TASK_ROUTES = ("config.celery_app.route_batch_work",)
# Who may ask `/healthz?deep=1` besides logged-in staff: a caller sending this token (empty: nobody).
LADDER_HEALTH_TOKEN = env("LADDER_HEALTH_TOKEN", default="")

REST_FRAMEWORK = {
    # Bearer first: an unauthenticated call is answered 401 with WWW-Authenticate: Bearer. Session
    # auth (the site's own logins) enforces CSRF on writes.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.LadderThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
}
# Requests per token, per logged-in user, and per address without credentials. Throttling counts in the
# default cache: give several web machines a shared one (production.py uses Redis).
LADDER_API_THROTTLE_RATES = {
    "token": env("LADDER_API_RATE_TOKEN", default="600/min"),
    "user": env("LADDER_API_RATE_USER", default="300/min"),
    "anon": env("LADDER_API_RATE_ANON", default="60/min"),
}
# The largest metrics/bulk body: 10,000 rows of every field fit well within it.
LADDER_API_BULK_MAX_BYTES = env.int("LADDER_API_BULK_MAX_MB", default=16) * 1024 * 1024

SPECTACULAR_SETTINGS = {
    "TITLE": "Ladder API",
    "DESCRIPTION": "Creators' tiers, the decision ledger, refreshes, programmes and growth plans; daily metrics in bulk. "
                   "Authenticate with `Authorization: Bearer <token>` (service tokens) or a site session.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # After the enums are named: titles (labels in the reader's language) become descriptions, so what code generators
    # turn into names is the same English whatever the language (api/tests/test_generated_client.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.titles_into_descriptions"],
    "SWAGGER_UI_DIST": "SIDECAR",
    # No deep links: Swagger UI puts each operation's link inside its open/close button (a link in a button is
    # unusable by keyboard and screen readers).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # `<id:…>` (config.converters): a row id of at most 18 digits, so a longer one is a 404.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}},
    # One schema name per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "TierEnum": "tiers.choices.Tier",
        "CreatorTypeEnum": "tiers.choices.CreatorType",
        "CategoryEnum": "tiers.choices.Category",
        "InfluencerStatusEnum": "tiers.choices.InfluencerStatus",
        "RunStatusEnum": "tiers.choices.RunStatus",
        "PolicyStatusEnum": "tiers.choices.PolicyStatus",
        "EnrollmentStatusEnum": "coaching.choices.EnrollmentStatus",
        "ProductStatusEnum": "coaching.choices.ProductStatus",
        "ReviewStatusEnum": "coaching.choices.ReviewStatus",
        "ReviewSubjectEnum": "coaching.choices.ReviewSubject",
    },
}

# Demo logins exist only where DEBUG is on (seed_demo refuses otherwise).
DEMO_PASSWORD = "ladder-demo"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # axes logs every login at INFO; its warnings (a failed login, a lockout) are what matters
    "loggers": {"axes": {"level": "WARNING"}},
}

# Creators per chunk task, of the tier refresh and of programme assignment; and what runs once a
# refresh has finished (coaching listens here: tiers never imports coaching).
LADDER_CHUNK_SIZE = env.int("LADDER_CHUNK_SIZE", default=5_000)
LADDER_AFTER_REFRESH = ["coaching.services.assignment_after_refresh"]
# Called with the id of a decision made outside a refresh (a staff override).
LADDER_AFTER_DECISION = ["coaching.services.assignment_after_decision"]

# Metric imports: the largest file accepted, and the most an XLSX sheet may be (its uncompressed XML):
# the reader holds a whole sheet, about its XML's size, so 80 MB (some 90,000 rows of 17 columns) keeps
# the import under 300 MB; a bigger sheet is refused with a request to save it as CSV, which streams.
LADDER_IMPORT_MAX_BYTES = env.int("LADDER_IMPORT_MAX_MB", default=1024) * 1024 * 1024
LADDER_IMPORT_XLSX_MAX_BYTES = env.int("LADDER_IMPORT_XLSX_MAX_MB", default=80) * 1024 * 1024

# The policy what-if warns when the draft would demote more than this share of the creators it previews.
LADDER_WHATIF_DEMOTION_WARNING = env.float("LADDER_WHATIF_DEMOTION_WARNING", default=0.05)
