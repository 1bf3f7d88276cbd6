"""Two middlewares: session timeouts, and "must change password".

Browser sessions end after ADE_REVIEW_SESSION_IDLE_S without a request and SESSION_COOKIE_AGE after login.

Both limits are checked here, from two timestamps kept in the session, because Django alone offers one of
them: a session that is saved pushes its own expiry forward, so SESSION_COOKIE_AGE by itself is a sliding
limit, and SESSION_SAVE_EVERY_REQUEST would write the session on every request. The last-seen time is
written at most once a minute.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve

SESSION_STARTED = "accounts_started_at"
SESSION_LAST_SEEN = "accounts_last_seen_at"
LAST_SEEN_RESOLUTION_S = 60


def session_times_start(request) -> None:
    """Start both clocks (called on every login)."""
    if hasattr(request, "session"):
        request.session[SESSION_STARTED] = request.session[SESSION_LAST_SEEN] = time.time()


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            started = session.get(SESSION_STARTED)
            last_seen = session.get(SESSION_LAST_SEEN)
            if started is None or last_seen is None:  # a session from before this middleware
                session_times_start(request)
                started = last_seen = now
            # An account deactivated during the session is signed out too: Django's ModelBackend refuses it
            # when it loads the user, but not every backend does (django-auth-ldap's get_user does not).
            if (now - last_seen > settings.ADE_REVIEW_SESSION_IDLE_S or now - started > settings.SESSION_COOKIE_AGE
                    or not user.is_active):
                logout(request)
                if request.headers.get("HX-Request"):
                    # htmx would swap the login page into a fragment: make it load the whole page instead.
                    response = HttpResponse(status=204)
                    query = urlencode({"next": request.headers.get("HX-Current-URL", "") or request.path})
                    response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?{query}"
                    return response
            elif now - last_seen >= LAST_SEEN_RESOLUTION_S:
                session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


# --- "must change password" ---------------------------------------------------------------------------

SESSION_MUST_CHANGE = "accounts_must_change_password"
SESSION_POLICY_READ = "accounts_policy_read_at"
# How often an open session re-reads its account's flag: an administrator's flag reaches a person who is
# signed in within this long, at one query per session per interval instead of one on every request.
POLICY_REREAD_S = 60
# What a person who must change their password may still open: the change itself, and signing out.
PASSWORD_CHANGE_EXEMPT = frozenset({"password_change", "password_change_done", "logout", "login"})


def must_change_password_session_start(request, user) -> None:
    """Copy the account's flag into the new session (called on every login)."""
    from .services import account_must_change_password

    if hasattr(request, "session"):
        request.session[SESSION_MUST_CHANGE] = account_must_change_password(user_id=user.pk)
        request.session[SESSION_POLICY_READ] = time.time()


def password_change_required(request) -> bool:
    """Whether the signed-in user of this request must change their password first.

    The session holds the flag, read at login and re-read every POLICY_REREAD_S; while it is set, every
    request reads it again (one query), so that a changed password lets the person go on at once."""
    from .services import account_must_change_password

    session = request.session
    now = time.time()
    flagged = session.get(SESSION_MUST_CHANGE, False)
    if flagged or now - session.get(SESSION_POLICY_READ, 0) >= POLICY_REREAD_S:
        flagged = account_must_change_password(user_id=request.user.pk)
        if flagged != session.get(SESSION_MUST_CHANGE, False):
            session[SESSION_MUST_CHANGE] = flagged
        if not flagged:
            session[SESSION_POLICY_READ] = now
    return flagged


class PasswordChangeRequiredMiddleware:
    """Sends a person whose account must change its password to the password change page on every request
    until they have (HTMX requests get HX-Redirect; the API answers 403 `password_change_required`).

    Token-authenticated API requests are refused by accounts.authentication, which DRF runs after this."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and hasattr(request, "session")
                and password_change_required(request) and not self._exempt(request)):
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _exempt(request) -> bool:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
        return match.url_name in PASSWORD_CHANGE_EXEMPT

    @staticmethod
    def _refuse(request) -> HttpResponse:
        from annotations.api.exceptions import error_body

        from .services import PASSWORD_CHANGE_REQUIRED_MESSAGE

        if request.path.startswith("/api/"):
            return JsonResponse(error_body("password_change_required", PASSWORD_CHANGE_REQUIRED_MESSAGE), status=403)
        target = resolve_url("password_change")
        if request.method == "GET" and not request.headers.get("HX-Request"):
            target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)
