"""Login throttling: django-axes with this handler (AXES_HANDLER), counting in the shared cache.

axes sees every authentication attempt at every door (login page, admin, token endpoint: `AxesBackend`
refuses a locked-out attempt before the password is checked, its signal receivers call this handler, its
middleware turns a lockout into `lockout_response`). This handler decides what a lockout is:

- per username and client address: AXES_FAILURE_LIMIT failures (default 5);
- per client address, whatever the usernames: ADE_REVIEW_LOGIN_IP_FAILURE_LIMIT (default 20);
  (both count the failures of the last ADE_REVIEW_LOGIN_COOLOFF_MAX_S, from the first one on)
- site-wide: ADE_REVIEW_LOGIN_GLOBAL_FAILURE_LIMIT failures in a window of ADE_REVIEW_LOGIN_GLOBAL_WINDOW_S
  (default 500 in 300 s) stop every login attempt until the window ends (a guess spread over many addresses).

A lockout is a back-off, not a ban: it cools off after ADE_REVIEW_LOGIN_COOLOFF_S (default 60 s), doubling
for each repeated lockout of the same key within a day, up to ADE_REVIEW_LOGIN_COOLOFF_MAX_S (default 15 min).
Attempts while locked out are refused without counting, so nobody can keep a user locked beyond that, and a
lockout by address never locks the user out from another address. Counters live in the `default` cache:
with several processes it must be shared (production requires CACHE_URL).
"""

from __future__ import annotations

import hashlib
import math
import time

from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render

STRIKE_MEMORY_S = 24 * 3600  # how long a lockout is remembered when the next one's length is chosen
PREFIX = "login-throttle:"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _scopes(request, credentials) -> list[tuple[str, int]]:
    """The counters one failure adds to, each with its limit: (user, address) and address."""
    username = (get_client_username(request, credentials) or "").strip().lower()
    address = getattr(request, "axes_ip_address", None) or "unknown"
    return [
        (f"user-ip:{_digest(username, address)}", get_failure_limit(request, credentials)),
        (f"ip:{_digest(address)}", settings.ADE_REVIEW_LOGIN_IP_FAILURE_LIMIT),
    ]


def _global_key(now: float) -> tuple[str, int]:
    """The current window's site-wide counter and the seconds left in the window."""
    window = max(1, settings.ADE_REVIEW_LOGIN_GLOBAL_WINDOW_S)
    index = int(now // window)
    return f"{PREFIX}global:{index}", int((index + 1) * window - now) + 1


def _count(key: str, timeout: int) -> int:
    """Add one to a counter that expires `timeout` s after its first failure; atomic across processes."""
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def cooloff_seconds(strikes: int) -> int:
    """How long the `strikes`-th lockout of a key lasts: doubling from the base, capped."""
    base = max(1, settings.ADE_REVIEW_LOGIN_COOLOFF_S)
    return int(min(base * 2 ** max(0, strikes - 1), max(base, settings.ADE_REVIEW_LOGIN_COOLOFF_MAX_S)))


def locked_for(request, credentials=None) -> int:
    """Seconds until this attempt may be made (0: not locked out)."""
    now = time.time()
    keys = [f"{PREFIX}lock:{scope}" for scope, _ in _scopes(request, credentials)]
    until = [float(v) for v in cache.get_many(keys).values()]
    global_key, left = _global_key(now)
    if (cache.get(global_key) or 0) >= settings.ADE_REVIEW_LOGIN_GLOBAL_FAILURE_LIMIT:
        until.append(now + left)
    return max((math.ceil(u - now) for u in until if u > now), default=0)


def _lock(scope: str, now: float) -> float:
    strikes = _count(f"{PREFIX}strikes:{scope}", STRIKE_MEMORY_S)
    seconds = cooloff_seconds(strikes)
    cache.set(f"{PREFIX}lock:{scope}", now + seconds, timeout=seconds)
    cache.delete(f"{PREFIX}count:{scope}")  # after the cool-off, counting starts again
    return seconds


class LoginThrottleHandler(AbstractAxesHandler, AxesBaseHandler):
    """axes handler: per-(user, address), per-address and global limits with growing cool-offs."""

    def is_locked(self, request, credentials=None) -> bool:
        seconds = locked_for(request, credentials)
        if seconds:
            request.login_retry_after = seconds
        return bool(seconds)

    def get_failures(self, request, credentials=None) -> int:
        scope, _ = _scopes(request, credentials)[0]
        return cache.get(f"{PREFIX}count:{scope}") or 0

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:  # e.g. authenticate() from a script: nothing to throttle by
            return
        username = get_client_username(request, credentials)
        if request.axes_locked_out:  # refused by AxesBackend before the password was checked: not counted
            request.axes_credentials = credentials
            user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)
            return
        if self.is_whitelisted(request, credentials):
            return
        now = time.time()
        global_key, left = _global_key(now)
        _count(global_key, left)
        window = max(settings.ADE_REVIEW_LOGIN_COOLOFF_MAX_S, settings.ADE_REVIEW_LOGIN_COOLOFF_S)
        locked, most = 0, 0
        for scope, limit in _scopes(request, credentials):
            failures = _count(f"{PREFIX}count:{scope}", window)
            most = max(most, failures)
            if failures >= limit:
                locked = max(locked, _lock(scope, now))
        request.axes_failures_since_start = most
        if locked:
            request.axes_locked_out = True
            request.axes_credentials = credentials
            request.login_retry_after = locked
            user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)

    def user_logged_in(self, sender, request, user, **kwargs):
        # A success clears the (user, address) failures; address, global and strike counts stay.
        credentials = {"username": user.get_username()}
        scope, _ = _scopes(request, credentials)[0]
        cache.delete(f"{PREFIX}count:{scope}")

    def user_logged_out(self, sender, request, user, **kwargs):
        pass


LOCKED_MESSAGE = "Too many failed logins. Try again in {minutes} minute{s}."


def lockout_message(request) -> str:
    seconds = getattr(request, "login_retry_after", None) or settings.ADE_REVIEW_LOGIN_COOLOFF_S
    minutes = max(1, math.ceil(seconds / 60))
    return LOCKED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s")


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After; the API's error body under /api/, else the login page."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        from annotations.api.exceptions import error_body

        response = JsonResponse(error_body("login_locked", message), status=429)
    else:
        context = {"form": AuthenticationForm(request), "locked_message": message,
                   "next": request.POST.get("next", "") if request.method == "POST" else ""}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(getattr(request, "login_retry_after", None) or settings.ADE_REVIEW_LOGIN_COOLOFF_S)
    return response
