"""Users and a clean cache for the account tests (login throttling counts in the cache)."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

# The shared cache of a multi-process deployment: a real Redis (db 13 unless the environment says otherwise).
REDIS_CACHE_URL = os.environ.get("ADE_REVIEW_TEST_CACHE_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("nurse", email="nurse@example.org", password=PASSWORD)


@pytest.fixture
def redis_cache(settings):
    """The default cache is the real Redis that several processes share (as CACHE_URL sets it in production)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_CACHE_URL}}
    cache.clear()
    yield REDIS_CACHE_URL
    cache.clear()


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", email="root@example.org", password=PASSWORD)


@pytest.fixture
def staff(db):
    """A site administrator who is not a superuser."""
    return get_user_model().objects.create_user("admin-staff", password=PASSWORD, is_staff=True)
