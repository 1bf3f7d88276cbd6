"""Tests: real PostgreSQL and Redis on this machine unless the environment says otherwise."""

import os

import dj_database_url

from .base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-for-production"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/ade_review", conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Transactional tests end with a flush (TRUNCATE of every table); the audit table's TRUNCATE trigger
    # lets it through only for connections that say so (migration 0008). Production never sets this.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c ade_review.allow_audit_truncate=on"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
# Tests that need a real broker start a worker and set the broker explicitly (tests/conftest.py).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
STORAGES = {
    "default": FILES_STORAGE,  # noqa: F405 (base: the local disk, or the bucket when ADE_REVIEW_S3_BUCKET is set)
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ADE_REVIEW_DEMO_ALLOWED = True
# Each test process counts login failures in its own cache unless a test points CACHES at Redis.
SILENCED_SYSTEM_CHECKS = ["axes.W001"]
