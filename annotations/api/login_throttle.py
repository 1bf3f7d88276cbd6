"""Login throttling: after N failed logins for one username from one address, that pair is locked out for
a window. Enforced in the authentication backend, so every door (login page, admin, token endpoint) is
covered; the login page and the token endpoint answer 429 with a message while locked."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from annotations.audit import client_address

LOCKED_MESSAGE = "Too many failed logins for this account from your address. Try again in 15 minutes."


def _key(username: str, request) -> str:
    raw = f"{(username or '').strip().lower()}|{client_address(request) or ''}"
    return "login-failures:" + hashlib.sha256(raw.encode()).hexdigest()


def login_locked(*, username: str, request) -> bool:
    """Whether this username from this client address is locked out."""
    return (cache.get(_key(username, request)) or 0) >= settings.ADE_REVIEW_LOGIN_MAX_FAILURES


def login_failure_register(*, username: str, request) -> int:
    """Count one failure (the window starts at the first); returns the count."""
    key = _key(username, request)
    cache.add(key, 0, timeout=settings.ADE_REVIEW_LOGIN_WINDOW_S)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.ADE_REVIEW_LOGIN_WINDOW_S)
        return 1


def login_failures_clear(*, username: str, request) -> None:
    cache.delete(_key(username, request))


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that refuses locked-out username/address pairs and counts failures."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if login_locked(username=username, request=request):
            raise PermissionDenied(LOCKED_MESSAGE)  # authenticate() stops here and signals a failed login
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_register(username=username, request=request)
        else:
            login_failures_clear(username=username, request=request)
        return user


class ThrottledLoginView(auth_views.LoginView):
    """The login page; answers 429 with a message while the username/address pair is locked out."""

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if login_locked(username=username, request=request):
            messages.error(request, LOCKED_MESSAGE)
            response = self.render_to_response(self.get_context_data(form=self.form_class(request)))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)
