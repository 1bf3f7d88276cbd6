"""The one DRF exception handler: every error answers {"code", "message", "details"}."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ade_review.storage import STORE_UNREACHABLE_MESSAGE, store_unreachable
from annotations.errors import ApplicationError


def error_body(code: str, message: str, details=None) -> dict:
    return {"code": code, "message": message, "details": details}


def api_exception_handler(exc, context):
    """ApplicationError (and ConflictError) keep their code and status; DRF and Django errors get theirs."""
    if isinstance(exc, ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        if exc.status == 409 and isinstance(exc.details, dict) and "current_version" in exc.details:
            response["ETag"] = f'"{exc.details["current_version"]}"'
        return response
    if store_unreachable(exc):  # the bucket: 503, and nothing of botocore's message (it names the endpoint)
        logging.getLogger("ade_review.storage").warning("file store unreachable (%s)", type(exc).__name__)
        return Response(error_body("store_unavailable", STORE_UNREACHABLE_MESSAGE), status=503)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling (and logging without request bodies)
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", "The request is not valid; see details.", response.data)
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        message = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        response.data = error_body(code, str(message))
    return response
