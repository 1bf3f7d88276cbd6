"""The jobs API: list and start jobs, upload a corpus to import, follow, cancel, download a result."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from ade_review.storage import stored_file_response
from annotations.api.base import ERRORS, Pagination, ProjectAPIView, validated
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.permissions import Capability
from inference.jobs import serializers as s
from inference.jobs.engine import job_cancel, job_create
from inference.jobs.import_uploads import import_upload_start
from inference.jobs.selectors import job_error_list, job_result_file
from inference.models import Job, ModelVersion


class JobListView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}
    pagination_class = Pagination

    @extend_schema(responses={200: s.JobOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """The project's jobs, newest first."""

        jobs = Job.objects.filter(project=self.project).select_related("model_version").order_by("-created_at", "-pk")
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(s.JobOutput(page, many=True).data)

    @extend_schema(request=s.JobCreateInput, responses={201: s.JobOutput, **ERRORS})
    def post(self, request, slug):
        """Start a job: pre_annotate or classify (with the active or a given model version) or export. Audited."""

        v = validated(s.JobCreateInput, request.data)
        model_version = None
        if v.get("model_version"):
            model_version = ModelVersion.objects.filter(project=self.project, pk=v["model_version"]).first()
            if model_version is None:
                raise ApplicationError("not_found", "No such model version in this project.", status=404)
        job = job_create(project=self.project, kind=v["kind"], parameters=v["parameters"],
                         model_version=model_version, created_by=request.user, door="api")
        return Response(s.JobOutput(job).data, status=201)


class ImportUploadView(ProjectAPIView):
    """A corpus file sent with the request, imported by a job (the file is stored where import jobs read)."""

    capabilities = {"POST": Capability.MANAGE}
    parser_classes = [MultiPartParser]

    def body_limit(self) -> int | None:
        # The file itself is limited below; the rest of a multipart body is a few short fields.
        return settings.ADE_REVIEW_MAX_IMPORT_BYTES + 64 * 1024

    @extend_schema(request=s.ImportUploadInput, responses={201: s.JobOutput, **ERRORS})
    def post(self, request, slug):
        """Upload a corpus (a .zip of a brat or ADE-Corpus folder, or one JSONL / PubTator file) and start its
        import job; the job's errors name the file, line and reason. Audited."""

        v = validated(s.ImportUploadInput, request.data)
        job = import_upload_start(project=self.project, upload=v["file"], fmt=v["format"], created_by=request.user)
        return Response(s.JobOutput(job).data, status=201)


def _job(project, job_id: int):
    job = Job.objects.select_related("model_version").filter(project=project, pk=job_id).first()
    if job is None:
        raise ApplicationError("not_found", "No such job in this project.", status=404)
    return job


class JobDetailView(ProjectAPIView):
    @extend_schema(responses={200: s.JobDetailOutput, **ERRORS})
    def get(self, request, slug, job_id):
        """A job's state and progress; once finished, what it did (`outcome`) and its errors summed up by reason
        (`error_summary`: counts, each type the schema lacks once, what to do)."""
        return Response(s.JobDetailOutput(_job(self.project, job_id)).data)


class JobErrorListView(ProjectAPIView):
    pagination_class = Pagination

    @extend_schema(responses={200: s.JobErrorOutput(many=True), **ERRORS})
    def get(self, request, slug, job_id):
        """All of a job's errors, in the order they were found, paged (file, line and reason; never note text)."""
        page = self.paginate_queryset(job_error_list(job=_job(self.project, job_id), limit=None))
        return self.get_paginated_response(s.JobErrorOutput(page, many=True).data)


class JobCancelView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=None, responses={200: s.JobOutput, **ERRORS})
    def post(self, request, slug, job_id):
        """Cancel a queued or running job. Audited."""

        job = job_cancel(job=_job(self.project, job_id), user=request.user)
        return Response(s.JobOutput(job).data)


class JobDownloadView(ProjectAPIView):
    capabilities = {"GET": Capability.MANAGE}

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, (200, "application/xml"): OpenApiTypes.BINARY,
                              **ERRORS})
    def get(self, request, slug, job_id):
        """Download an export job's result (a zip; a case export as E2B(R3): one XML batch). Audited (download)."""
        job = _job(self.project, job_id)
        key = job_result_file(job=job)  # streamed from the store through this node
        if key is None:
            raise ApplicationError("not_found", "This job has no result to download.", status=404)
        audit_record(action=AuditAction.DOWNLOAD, request=request, project=self.project, object_type="job",
                     object_id=job.pk)
        # Exports are zips, but for a case export as one ICH E2B(R3) batch (pharmacovigilance.exports): XML.
        content_type = "application/xml" if key.endswith(".xml") else "application/zip"
        return stored_file_response(key, content_type=content_type)
