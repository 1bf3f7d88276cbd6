"""Settings shared by every environment; everything that varies is read from the environment here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "annotations",
    "inference",
    "accounts",
    "pharmacovigilance",
    "pharmacovigilance.terminology",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",  # "must change password": nothing else until then
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ade_review.middleware.ContentSecurityPolicyMiddleware",
    "ade_review.middleware.AuditOriginMiddleware",
    "ade_review.middleware.AccessDeniedAuditMiddleware",
    "ade_review.middleware.NoStoreMiddleware",
    "ade_review.middleware.FileStoreUnreachableMiddleware",  # a bucket that cannot be reached: 503, not 500
    # Last, as axes asks: turns a login refused for throttling into accounts.login_throttle.lockout_response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ade_review.urls"
WSGI_APPLICATION = "ade_review.wsgi.application"

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
                "annotations.context_processors.choices",
                "inference.context_processors.choices",
            ],
        },
    },
]

VAR_DIR = Path(os.environ.get("ADE_REVIEW_VAR_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ade_review.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Every file the product writes or reads (uploads, exports, model versions, adapted encoders, terminology files)
# goes through Django's storage API, alias "default" (`ade_review.storage.file_storage`). With no bucket set it
# is the local disk under MEDIA_ROOT (the demo, small sites on one machine); with ADE_REVIEW_S3_BUCKET set it is
# an S3-compatible object store (MinIO, Ceph, SeaweedFS, a cloud bucket) through django-storages, so that web
# nodes and workers on separate machines share nothing but the database, the broker and the bucket. Credentials
# left empty fall back to boto3's own chain (AWS_* variables, an instance role).
ADE_REVIEW_S3_BUCKET = os.environ.get("ADE_REVIEW_S3_BUCKET", "")
if ADE_REVIEW_S3_BUCKET:
    FILES_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ADE_REVIEW_S3_BUCKET,
            "endpoint_url": os.environ.get("ADE_REVIEW_S3_ENDPOINT_URL") or None,
            "access_key": os.environ.get("ADE_REVIEW_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("ADE_REVIEW_S3_SECRET_ACCESS_KEY") or None,
            "region_name": os.environ.get("ADE_REVIEW_S3_REGION") or None,
            "location": os.environ.get("ADE_REVIEW_S3_PREFIX", "").strip("/"),
            # Objects are private: no ACL is sent (the bucket's own policy applies, never public-read), and
            # links, where one is handed out, are signed and short-lived.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("ADE_REVIEW_S3_URL_EXPIRE_S", "300")),
            "file_overwrite": False,
            "signature_version": "s3v4",
            # Path-style addressing: what self-hosted stores (MinIO, SeaweedFS, Ceph) answer without DNS set-up.
            "addressing_style": os.environ.get("ADE_REVIEW_S3_ADDRESSING_STYLE", "path"),
            # A file opened for reading is fetched whole into a spooled temporary file: django-storages' default
            # (0) keeps it all in memory, whatever its size; above 8 MiB it goes to this machine's temporary disk.
            "max_memory_size": 8 * 1024 * 1024,
        },
    }
else:
    FILES_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # No fixed location: it follows MEDIA_ROOT (read when used, so a changed MEDIA_ROOT is obeyed).
        "OPTIONS": {"file_permissions_mode": 0o640, "directory_permissions_mode": 0o750},
    }
STORAGES = {
    "default": FILES_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Celery: without a broker URL the tasks run in-process (the embedded demo).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", os.environ.get("REDIS_URL", ""))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    name: {"queue": os.environ.get("ADE_REVIEW_MODEL_QUEUE", "default")}
    for name in ("inference.job_chunk", "inference.train")
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
CELERY_BEAT_SCHEDULE = {
    "classify-new-notes": {"task": "inference.classify_new_notes", "schedule": 300.0},
    # Jobs whose worker stopped (no heartbeat for ADE_REVIEW_JOB_LEASE_S) are failed, so none stays running.
    "reap-stale-jobs": {"task": "inference.jobs_reap_stale", "schedule": 60.0},
    # Uploads and export files older than ADE_REVIEW_FILE_RETENTION_DAYS are deleted.
    "expire-stored-files": {"task": "inference.stored_files_expire", "schedule": 3600.0},
    # Note assignments nobody touched within their project's timeout go back to the pool (also at each hand-out).
    "release-stale-assignments": {"task": "annotations.assignments_release_stale", "schedule": 600.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotations.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "annotations.api.throttles.ProcessAnonRateThrottle",
        "annotations.api.throttles.ProcessUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
        "user": os.environ.get("API_THROTTLE_USER", "3000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ADE Review API",
    "DESCRIPTION": "Projects, notes, annotation sets (optimistic concurrency), exports, model versions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AnnotationSetStatusEnum": "annotations.models.AnnotationSetStatus",
        "WritableAnnotationSetStatusEnum": ["in_progress", "submitted", "gold"],
        "NoteLabelValueEnum": "annotations.models.NoteLabelValue",
        "ReviewStatusEnum": "annotations.models.ReviewStatus",
        "ProjectRoleEnum": "annotations.models.ProjectRole",
        # annotations.formats.registry: READERS (imports) and WRITERS (exports)
        "ImportFormatEnum": ["ade", "brat", "fhir", "jsonl", "pubtator"],
        "ExportFormatEnum": ["brat", "conll", "jsonl"],
        # pharmacovigilance.exports: a case export's format (pharmacovigilance.core.export.FORMATS)
        "CaseExportFormatEnum": ["e2b", "fhir"],
        # pharmacovigilance.core.report's vocabularies (the case API): one name per choice set.
        "CaseStateEnum": "pharmacovigilance.models.STATE_CHOICES",
        "DrugRoleEnum": "pharmacovigilance.models.ROLE_CHOICES",
        "ChallengeResultEnum": "pharmacovigilance.models.CHALLENGE_CHOICES",
        "ReactionOutcomeEnum": "pharmacovigilance.models.OUTCOME_CHOICES",
    },
}
# Login throttling: django-axes with the app's handler (accounts/login_throttle.py says the rule), counted in
# the `default` cache, which must be shared by every process (CACHE_URL; production requires it).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "accounts.login_throttle.LoginThrottleHandler"
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))  # per username and client address
AXES_COOLOFF_TIME = None  # the handler's own growing cool-off (ADE_REVIEW_LOGIN_COOLOFF_*) applies
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # attempts while locked neither count nor prolong it
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "ip_address"]]  # documents the handler's scopes
AXES_LOCKOUT_CALLABLE = "accounts.login_throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "annotations.audit.services.client_address"  # the address the audit trail records
AXES_ENABLE_ADMIN = False  # nothing is stored in axes' tables: the cache holds the counters
AXES_VERBOSE = False
ADE_REVIEW_LOGIN_IP_FAILURE_LIMIT = int(os.environ.get("ADE_REVIEW_LOGIN_IP_FAILURE_LIMIT", "20"))
ADE_REVIEW_LOGIN_GLOBAL_FAILURE_LIMIT = int(os.environ.get("ADE_REVIEW_LOGIN_GLOBAL_FAILURE_LIMIT", "500"))
ADE_REVIEW_LOGIN_GLOBAL_WINDOW_S = int(os.environ.get("ADE_REVIEW_LOGIN_GLOBAL_WINDOW_S", "300"))
ADE_REVIEW_LOGIN_COOLOFF_S = int(os.environ.get("ADE_REVIEW_LOGIN_COOLOFF_S", "60"))
ADE_REVIEW_LOGIN_COOLOFF_MAX_S = int(os.environ.get("ADE_REVIEW_LOGIN_COOLOFF_MAX_S", "900"))
# API tokens (accounts.ApiToken): lifetime of a new token; a password change revokes all of a user's tokens.
ADE_REVIEW_TOKEN_TTL_HOURS = int(os.environ.get("ADE_REVIEW_TOKEN_TTL_HOURS", str(24 * 30)))
# Browser sessions end after this long without a request, and SESSION_COOKIE_AGE after login whatever the use.
ADE_REVIEW_SESSION_IDLE_S = int(os.environ.get("ADE_REVIEW_SESSION_IDLE_S", str(30 * 60)))
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 3600)))
# Password reset mails; SMTP unless EMAIL_BACKEND says otherwise (local settings print them on the console).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ade-review@localhost")
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(3600)))
# seed_demo / seed_risk_demo write users with a known password: only where settings allow it (local, test).
ADE_REVIEW_DEMO_ALLOWED = False
# Number of reverse proxies in front of the app whose X-Forwarded-For is trusted (0: use REMOTE_ADDR only).
ADE_REVIEW_TRUSTED_PROXIES = int(os.environ.get("ADE_REVIEW_TRUSTED_PROXIES", "0"))
# Shared cache (login throttling, API throttles): set CACHE_URL=redis://... when running several processes.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    # API rate limits, per web process (annotations/api/throttles.py says why).
    "api_throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-throttle"},
}
# Synchronous API exports above this many notes are refused (use an export job).
ADE_REVIEW_API_SYNC_EXPORT_MAX_NOTES = int(os.environ.get("ADE_REVIEW_API_SYNC_EXPORT_MAX_NOTES", "5000"))

# Import limits: a corpus archive may not expand beyond this many bytes.
ADE_REVIEW_MAX_IMPORT_BYTES = int(os.environ.get("ADE_REVIEW_MAX_IMPORT_BYTES", str(2 * 1024**3)))
# One document (an archive member; a line of a JSONL file) may not expand beyond this: far below the archive's
# cap, so a zip bomb is refused from its headers and an import holds at most one document in memory.
ADE_REVIEW_MAX_IMPORT_MEMBER_BYTES = int(os.environ.get("ADE_REVIEW_MAX_IMPORT_MEMBER_BYTES", str(50 * 1024**2)))
# Terminology files (pharmacovigilance.terminology): a MedDRA or SNOMED CT release uncompressed may hold this much
# (SNOMED CT's descriptions alone are hundreds of MB); each line of them is a record, far below the line cap.
ADE_REVIEW_MAX_TERMINOLOGY_BYTES = int(os.environ.get("ADE_REVIEW_MAX_TERMINOLOGY_BYTES", str(4 * 1024**3)))
ADE_REVIEW_MAX_TERMINOLOGY_LINE_BYTES = int(os.environ.get("ADE_REVIEW_MAX_TERMINOLOGY_LINE_BYTES", str(64 * 1024)))
# Case exports as ICH E2B(R3) (pharmacovigilance.exports): the sender's identifier (N.1.3, N.2.r.2) and name (C.3.2),
# and the receiver an export names unless it is given one (N.1.4), as agreed with the regulator's gateway.
ADE_REVIEW_E2B_SENDER_ID = os.environ.get("ADE_REVIEW_E2B_SENDER_ID", "ADE-REVIEW")
ADE_REVIEW_E2B_SENDER_ORGANISATION = os.environ.get("ADE_REVIEW_E2B_SENDER_ORGANISATION", "")
ADE_REVIEW_E2B_RECEIVER_ID = os.environ.get("ADE_REVIEW_E2B_RECEIVER_ID", "ICSR-RECEIVER")
# A running job whose heartbeat (written as its chunks, lines or training steps progress) is older than this is
# failed by the reaper: its worker stopped.
ADE_REVIEW_JOB_LEASE_S = int(os.environ.get("ADE_REVIEW_JOB_LEASE_S", str(15 * 60)))
# Uploaded corpora and export files are deleted this many days after they were written (0: kept for ever).
ADE_REVIEW_FILE_RETENTION_DAYS = int(os.environ.get("ADE_REVIEW_FILE_RETENTION_DAYS", "30"))
# Up to this many notes with submitted sets the agreement page computes agreement as it answers; above, as a job.
ADE_REVIEW_AGREEMENT_INLINE_NOTES = int(os.environ.get("ADE_REVIEW_AGREEMENT_INLINE_NOTES", "1000"))
# Where the public corpora live for benchmarks and corpus tests.
ADE_REVIEW_DATA = Path(os.environ.get("ADE_REVIEW_DATA", BASE_DIR.parent / "shared" / "data"))
# Encoder directory (any local Hugging Face encoder); empty means the shipped MiniLM-L6.
ADE_REVIEW_ENCODER = os.environ.get("ADE_REVIEW_ENCODER", "")
ADE_REVIEW_MODEL_DIR = Path(os.environ.get("ADE_REVIEW_MODEL_DIR", VAR_DIR / "models"))
# Model versions and adapted encoders live in the file store (inference.artifacts) under a content hash; each
# worker copies the ones it loads into its own cache here (verified, least recently used evicted above the limit).
# ADE_REVIEW_MODEL_DIR is only the scratch space where training writes a directory before it is published.
ADE_REVIEW_MODEL_CACHE_DIR = Path(os.environ.get("ADE_REVIEW_MODEL_CACHE_DIR", VAR_DIR / "cache" / "models"))
ADE_REVIEW_MODEL_CACHE_MAX_BYTES = int(os.environ.get("ADE_REVIEW_MODEL_CACHE_MAX_BYTES", str(20 * 1024**3)))
# Retrain jobs: settings of inference.core.extraction.pipeline_training.PipelineTrainConfig (head, lr, head_lr,
# batch_size, max_length, note_epochs, threads, ...), as JSON; epochs and the start come from the
# project's retrain policy, the encoder from the project.
# Demo only (local settings, no broker): run every job (import, pre-annotation, classification, export,
# training) in a background thread of the web process, so the request returns at once and the job page
# shows progress and Cancel. Ignored when a broker is configured (workers run the jobs).
ADE_REVIEW_JOBS_IN_THREAD = False
# The default min_steps keeps a project's first retrains (a few dozen gold notes) from stopping after a
# handful of optimizer steps.
ADE_REVIEW_TRAIN_CONFIG = {"min_steps": 200, **json.loads(os.environ.get("ADE_REVIEW_TRAIN_CONFIG", "{}") or "{}")}

# Clinical text never goes into logs: the app logs ids and counts only, and request bodies are not logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "filters": {"strip_query": {"()": "ade_review.log_filters.StripQueryString"}},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's access log: paths without query strings (PHI must not reach logs).
        "django.server": {"handlers": ["console"], "filters": ["strip_query"], "level": "INFO", "propagate": False},
    },
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# No 'unsafe-inline' anywhere (issue 13): a corpus could otherwise restyle or probe the page through CSS.
# The middleware adds a fresh 'nonce-...' to style-src on every response, for the one <style> element a page
# may carry (the editor's type colours, checked by rendering.colour_css; templates use request.csp_nonce).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# --- Hospital sign-in through LDAP / Active Directory (issue 16) -------------------------------------------
# Off unless ADE_REVIEW_LDAP_URI is set (the demo and small sites keep local passwords and need no python-ldap):
# then django-auth-ldap is configured from the ADE_REVIEW_LDAP_* variables (accounts/directory/config.py reads
# and checks them; README "Hospital sign-in") and its backend is asked after the login throttle, before local
# passwords. Directory accounts have no local password, so one the directory no longer finds cannot sign in.
from accounts.directory.settings import BACKEND as _DIRECTORY_BACKEND  # noqa: E402
from accounts.directory.settings import directory_settings  # noqa: E402

globals().update(directory_settings(os.environ))
ADE_REVIEW_LDAP_ENABLED = "ADE_REVIEW_LDAP" in globals()
if ADE_REVIEW_LDAP_ENABLED:
    AUTHENTICATION_BACKENDS = [AUTHENTICATION_BACKENDS[0], _DIRECTORY_BACKEND, *AUTHENTICATION_BACKENDS[1:]]
