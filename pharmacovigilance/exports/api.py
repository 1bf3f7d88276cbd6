"""The case export API: start an export job (admins). Its progress, errors and file come from the jobs API
(`/api/projects/<slug>/jobs/<id>/`, `.../errors/`, `.../download/`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotations.api.base import ERRORS, ProjectAPIView, validated
from annotations.permissions import Capability
from inference.jobs.engine import job_create
from inference.jobs.serializers import JobOutput
from pharmacovigilance.core.export import FORMATS
from pharmacovigilance.exports.job_kinds import CASE_EXPORT, MAX_IDS


class CaseExportInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(FORMATS), help_text="fhir: one FHIR R4 Bundle per case, zipped; "
                                     "e2b: one ICH E2B(R3) batch XML.")
    cases = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                  allow_empty=False, max_length=MAX_IDS,
                                  help_text="The case ids to export; all the project's cases when absent.")
    filter = serializers.DictField(child=serializers.CharField(max_length=200), required=False,
                                   help_text="The line listing's filters (drug, reaction, seriousness, who_umc, naranjo, "
                                   "date_from, date_to, dates, state): export what the listing shows.")
    include_note_text = serializers.BooleanField(default=False, help_text="FHIR only: put the source notes' text "
                                                 "in the Bundles (by default they name the notes only).")
    receiver = serializers.CharField(max_length=100, required=False, help_text="E2B only: the receiver's "
                                     "identifier (N.1.4); the site's default when absent.")


class CaseExportCreateView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=CaseExportInput, responses={201: JobOutput, **ERRORS})
    def post(self, request, slug):
        """Export cases as FHIR R4 or ICH E2B(R3): starts a job (follow it, and download its file, through the jobs
        API). Project admins only. Audited (the start, and the export with the case ids when it finishes)."""
        v = validated(CaseExportInput, request.data)
        parameters = {"report_format": v["format"], "include_note_text": v["include_note_text"],
                      "cases": ",".join(map(str, v["cases"])) if v.get("cases") else "all"}
        if v.get("receiver"):
            parameters["receiver"] = v["receiver"]
        if v.get("filter"):
            parameters["case_filter"] = v["filter"]
        job = job_create(project=self.project, kind=CASE_EXPORT, parameters=parameters, created_by=request.user,
                         door="api")
        return Response(JobOutput(job).data, status=201)
