"""The site's error pages: 403 and 404 in the base layout with a way back, 500 plain.

A 404 says the same whatever was asked for: a non-member asking for another project's page gets exactly
the page a nonexistent project gets (the exception's message, which may name what was looked up, is never
shown). The way back is the page the user came from when it is on this site, else the project list.
"""

from __future__ import annotations

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def back_url(request: HttpRequest) -> str | None:
    """The Referer when it is a page of this site other than the one that failed, else None."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    if referer.split("?", 1)[0].endswith(request.path):
        return None
    return referer


def _render(request: HttpRequest, template: str, context: dict) -> str:
    return loader.get_template(template).render(
        {"back_url": back_url(request), "projects_url": reverse("project-list"), **context}, request
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return HttpResponseNotFound(_render(request, "404.html", {}))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # The reason names the user's own role and what it may not do (they are a member; nothing leaks).
    reason = str(exception) if exception is not None and str(exception) else ""
    return HttpResponseForbidden(_render(request, "403.html", {"reason": reason}))


def server_error(request: HttpRequest) -> HttpResponse:
    """Plain HTML without context processors: no database read while the site may be failing."""
    return HttpResponseServerError(loader.get_template("500.html").render({}))
