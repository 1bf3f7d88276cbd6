"""Redirects from URLs that pages used to have."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods


@require_http_methods(["GET", "HEAD", "POST"])
def old_project_path(request: HttpRequest, rest: str) -> HttpResponse:
    """/p/<slug>/... -> /projects/<slug>/... with the query string, as 308 (a form posted to an old URL stays a
    POST). Reveals nothing: the target checks login and role like any page."""
    target = "/projects/" + rest
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=None):  # "//evil" in `rest`
        target = "/projects/"
    response = HttpResponse(status=308)
    response["Location"] = target
    return response
