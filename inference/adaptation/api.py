"""The encoder API: the project's encoder and its lineage, use an adapted encoder, roll back. Adaptations
start as jobs (POST jobs/ with kind "adapt")."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from annotations.api.base import ERRORS, ProjectAPIView, validated
from annotations.api.serializers import ErrorOutput
from annotations.permissions import Capability
from inference.adaptation import serializers as s
from inference.adaptation.selectors import project_encoder_state
from inference.adaptation.services import project_encoder_adopt, project_encoder_rollback

CONFLICT = OpenApiResponse(ErrorOutput, description="The encoder cannot be changed that way now (the job has not "
                          "finished, nothing to roll back to, or the encoder's files are gone).")


def _state(project):
    return s.EncoderStateOutput(project_encoder_state(project=project)).data


class EncoderView(ProjectAPIView):
    @extend_schema(responses={200: s.EncoderStateOutput, **ERRORS})
    def get(self, request, slug):
        """The encoder the project's models are trained from, with its lineage and its adaptation figures."""
        return Response(_state(self.project))


class EncoderAdoptView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=s.EncoderAdoptInput, responses={200: s.EncoderStateOutput, **ERRORS, 409: CONFLICT})
    def post(self, request, slug):
        """Make a finished adapt job's encoder the project's encoder (retrains start from it). Audited."""
        v = validated(s.EncoderAdoptInput, request.data)
        project_encoder_adopt(project=self.project, job_id=v["job"], actor=request.user)
        return Response(_state(self.project))


class EncoderRollbackView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=None, responses={200: s.EncoderStateOutput, **ERRORS, 409: CONFLICT})
    def post(self, request, slug):
        """Go back to the encoder the current one was adapted from. Audited."""
        project_encoder_rollback(project=self.project, actor=request.user)
        return Response(_state(self.project))
