"""Browser sessions end after ADE_REVIEW_SESSION_IDLE_S without a request and SESSION_COOKIE_AGE after login.

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
from django.http import HttpResponse
from django.shortcuts import resolve_url

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
            if now - last_seen > settings.ADE_REVIEW_SESSION_IDLE_S or now - started > settings.SESSION_COOKIE_AGE:
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
