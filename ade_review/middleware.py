"""Response headers Django 5.2 does not set itself, and the page of a file store that cannot be reached."""

from __future__ import annotations

import logging
import secrets

from django.conf import settings


def policy_with_style_nonce(policy: str, nonce: str) -> str:
    """`policy` with `'nonce-<nonce>'` added to its style-src directive (unchanged when it has none)."""
    directives = [d.strip() for d in policy.split(";")]
    return "; ".join(f"{d} 'nonce-{nonce}'" if d.split(" ", 1)[0] == "style-src" else d for d in directives if d)


class ContentSecurityPolicyMiddleware:
    """Adds the CONTENT_SECURITY_POLICY setting as a header (scripts only from this origin: htmx is served
    from static/, the API docs from drf-spectacular-sidecar's static files) and Permissions-Policy.

    Every request gets a fresh `request.csp_nonce`, added to the policy's style-src: a page's one <style>
    element carries it (`<style nonce="{{ request.csp_nonce }}">`); no other inline style runs."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy_with_style_nonce(self.policy, request.csp_nonce)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


class AuditOriginMiddleware:
    """Tells the services that audit themselves where the request came from (web page or API, and the
    client's address), for the length of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from annotations.audit.origin import AuditOrigin, audit_origin_set
        from annotations.audit.services import client_address

        door = "api" if request.path.startswith("/api/") else "web"
        with audit_origin_set(AuditOrigin(door=door, client_address=client_address(request))):
            return self.get_response(request)


class AccessDeniedAuditMiddleware:
    """Writes one `access_denied` audit record for every 403/404 on a project-scoped path (a note, patient or
    project the user may not see, or that does not exist): the path's ids, never a body. Denials are raised
    in many places (role checks, scoped lookups, DRF permissions); their responses all pass through here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code in (403, 404):
            from annotations.audit.services import audit_access_denied

            audit_access_denied(request=request, status=response.status_code)
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response the app renders (static files are served before this by
    WhiteNoise): API JSON and pages carry clinical text, which no browser or proxy cache may keep."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


class FileStoreUnreachableMiddleware:
    """A page whose file store (the S3 bucket) cannot be reached answers 503 with a page that says so, and the
    log gets one line with the error's kind only: botocore's messages name the endpoint and bucket, which
    neither the browser nor the log should carry. The API's handler does the same in JSON
    (annotations/api/exceptions.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from ade_review.storage import STORE_UNREACHABLE_MESSAGE, store_unreachable

        if not store_unreachable(exception):
            return None
        logging.getLogger("ade_review.storage").warning(
            "file store unreachable (%s) on %s %s", type(exception).__name__, request.method,
            getattr(request.resolver_match, "view_name", "") or "?")
        from django.http import HttpResponse
        from django.template import loader

        html = loader.get_template("503.html").render({"message": STORE_UNREACHABLE_MESSAGE}, request)
        return HttpResponse(html, status=503)
