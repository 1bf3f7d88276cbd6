"""API rate limits counted in each web process's memory (the `api_throttle` cache), not in Redis.

They only bound how hard one client may drive the API; two Redis round trips on every API request cost more
than that protection is worth (measured: about a quarter of a simple read's server time under load). Each
gunicorn worker counts on its own, so a client gets up to workers x the rate. Login throttling, which is about
security, stays in the shared cache (accounts.login_throttle)."""

from __future__ import annotations

from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class ProcessAnonRateThrottle(AnonRateThrottle):
    cache = caches["api_throttle"]


class ProcessUserRateThrottle(UserRateThrottle):
    cache = caches["api_throttle"]
