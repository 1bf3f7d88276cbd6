"""What every API endpoint of every app shares: authentication (hashed tokens, then the session), the
project role check, body limits, OPTIONS metadata, pagination, the documented error responses, version
(If-Match) handling, the JSON 404, and the id converters of the API's URLs."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import JsonResponse
from django.urls import register_converter
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated

from annotations.api import selectors
from annotations.api.exceptions import error_body
from annotations.api.metadata import EndpointMetadata
from annotations.api.permissions import ProjectRole
from annotations.api.serializers import ErrorOutput
from annotations.errors import ApplicationError
from annotations.models import AnnotationSet
from annotations.permissions import Capability, annotation_set_check_editable, annotation_set_visibility

ERRORS = {
    400: OpenApiResponse(ErrorOutput, description="Invalid input or annotations that break a rule."),
    401: OpenApiResponse(ErrorOutput, description="Not authenticated."),
    403: OpenApiResponse(ErrorOutput, description="Your role lacks the capability."),
    404: OpenApiResponse(ErrorOutput, description="No such object in a project of yours."),
}
WRITE_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(ErrorOutput, description="Version conflict: someone else wrote first."),
    412: OpenApiResponse(ErrorOutput, description="If-Match does not match the current version."),
    428: OpenApiResponse(ErrorOutput, description="No version given (body `version`, `?version=` or If-Match)."),
}
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description='The ETag of the annotation set you read, e.g. "3" (alternative to `version`).',
)
VERSION_QUERY = OpenApiParameter(
    "version", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False, description="The version you read."
)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class APIView(GenericAPIView):
    # Authentication: REST_FRAMEWORK's defaults (settings), token first, so an anonymous request gets 401 with
    # `WWW-Authenticate: Token`.
    permission_classes = [IsAuthenticated]
    pagination_class = None
    metadata_class = EndpointMetadata  # OPTIONS

    def initial(self, request, *args, **kwargs):
        # DRF's parsers read the body without Django's DATA_UPLOAD_MAX_MEMORY_SIZE check: apply it here.
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = self.body_limit()
        if limit is not None and (not length.isdigit() or int(length) > limit):
            raise ApplicationError("request_too_large", f"Request bodies are limited to {limit} bytes.", status=413)
        super().initial(request, *args, **kwargs)

    def body_limit(self) -> int | None:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class ProjectAPIView(APIView):
    """Base of every project-scoped endpoint; `capabilities` maps HTTP methods to what the role needs."""

    permission_classes = [IsAuthenticated, ProjectRole]
    capabilities: dict[str, Capability] = {}

    def annotation_sets_visible(self):
        """Which sets the caller may see (blind annotation), as annotations.permissions decides."""
        return annotation_set_visibility(user=self.request.user, project=self.project, role=self.role)

    def annotation_set(self, pk: int) -> AnnotationSet:
        return selectors.annotation_set_get(project=self.project, annotation_set_id=pk,
                                            visible=self.annotation_sets_visible())

    def editable_annotation_set(self, pk: int) -> AnnotationSet:
        """The set if the caller may edit it (the one rule: annotations.permissions)."""
        aset = self.annotation_set(pk)
        annotation_set_check_editable(user=self.request.user, annotation_set=aset, role=self.role)
        return aset


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- version handling -------------------------------------------------------------------------------

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,10})"?$')


def requested_version(request, body_version: int | None) -> tuple[int, bool]:
    """The version the client read: from If-Match, the body or `?version=`; (version, from_if_match)."""
    if_match = request.headers.get("If-Match")
    if if_match:
        match = _ETAG.match(if_match.strip())
        if not match:
            raise ApplicationError("bad_if_match", 'If-Match must be an ETag of this API, e.g. "3".')
        version = int(match.group(1))
        if body_version is not None and body_version != version:
            raise ApplicationError("version_mismatch", "If-Match and the body's version disagree.")
        return version, True
    if body_version is None:
        raw = request.query_params.get("version", "")
        if raw.isdigit() and len(raw) <= 10:
            body_version = int(raw)
    if body_version is None:
        raise ApplicationError(
            "version_required",
            "Send the version you read (body `version`, `?version=` or If-Match) so that nobody's edit is lost.",
            status=428,
        )
    return body_version, False


@csrf_exempt  # it changes nothing; a CSRF refusal would answer HTML instead of the JSON 404
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


# Ids in API paths are bounded digit strings, so no lookup can overflow the database.


class DbIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class LocalIdConverter:
    regex = "[A-Za-z0-9_#*.-]{1,32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class HexIdConverter(LocalIdConverter):
    regex = "[0-9a-f]{32}"


register_converter(DbIdConverter, "dbid")
register_converter(HexIdConverter, "hexid")
register_converter(LocalIdConverter, "localid")


register_converter(DbIdConverter, "dbid")
register_converter(HexIdConverter, "hexid")
register_converter(LocalIdConverter, "localid")
