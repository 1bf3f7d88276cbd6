"""The learning loop's API: model versions and rollback, the retrain policy, the annotation queue."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from annotations.api.base import ERRORS, Pagination, ProjectAPIView, validated
from annotations.errors import ApplicationError
from annotations.permissions import Capability
from inference.learning import serializers as s
from inference.learning.retraining import model_version_activate, retrain_policy_update
from inference.learning.selectors import (
    annotation_queue_queryset,
    model_version_get,
    model_version_history,
    retrain_queue_state,
)
from inference.models import ModelVersion


class ModelVersionListView(ProjectAPIView):
    @extend_schema(responses={200: s.ModelVersionOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """The project's model versions, newest first, with their held-out metrics, lineage and gate decision."""

        versions = model_version_history(project=self.project).order_by("-created_at", "-pk")
        return Response(s.ModelVersionOutput(versions, many=True).data)


class ModelVersionActivateView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=None, responses={200: s.ModelVersionOutput, **ERRORS})
    def post(self, request, slug, version_id):
        """Make a version the active one (a rollback); the unlabelled notes are pre-annotated again. Audited."""

        try:
            version = model_version_get(project=self.project, version_id=version_id)
        except ModelVersion.DoesNotExist:
            raise ApplicationError("not_found", "No such model version in this project.", status=404) from None
        version = model_version_activate(version=version, actor=request.user)
        return Response(s.ModelVersionOutput(version).data)


def _policy_data(project) -> dict:

    state = retrain_queue_state(project=project)
    p = state.policy
    return {
        **{f: getattr(p, f) for f in s.RetrainPolicyInput().fields},
        "new_gold": state.new_gold,
        "train_notes": state.train_notes,
        "heldout_notes": state.heldout_notes,
        "awaiting_adjudication": state.awaiting_adjudication,
        "training_job": state.running.pk if state.running else None,
    }


class RetrainPolicyView(ProjectAPIView):
    capabilities = {"PUT": Capability.MANAGE}

    @extend_schema(responses={200: s.RetrainPolicyOutput, **ERRORS})
    def get(self, request, slug):
        """When the project retrains, how versions are judged, how the annotation queue is ordered, and the
        retrain queue's state."""
        return Response(s.RetrainPolicyOutput(_policy_data(self.project)).data)

    @extend_schema(request=s.RetrainPolicyInput, responses={200: s.RetrainPolicyOutput, **ERRORS})
    def put(self, request, slug):
        """Change some of the policy's settings (the others stay). Audited."""

        values = validated(s.RetrainPolicyInput, request.data)
        retrain_policy_update(project=self.project, actor=request.user, **values)
        return Response(s.RetrainPolicyOutput(_policy_data(self.project)).data)


class AnnotationQueueView(ProjectAPIView):
    pagination_class = Pagination

    @extend_schema(responses={200: s.AnnotationQueueOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """Unlabelled notes in the order the project's query strategy proposes them (rank 1 first), without text."""

        page = self.paginate_queryset(annotation_queue_queryset(project=self.project))
        return self.get_paginated_response(s.AnnotationQueueOutput(page, many=True).data)
