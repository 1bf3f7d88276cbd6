"""API endpoints: one per operation; each validates input, calls one service or selector, responds.

Every project-scoped endpoint resolves the project through `ProjectRole` (non-members: 404, a role without
the capability: 403) and scopes every object lookup to that project, so ids from another project are 404.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.authentication import HashedTokenAuthentication
from annotations.audit import AuditAction, audit_phi_read, audit_record
from annotations.errors import ApplicationError, ConflictError
from annotations.models import (
    AnnotationSchema,
    AnnotationSet,
    Note,
)
from annotations.models import Attribute as AttributeRow
from annotations.permissions import Capability, annotation_set_check_editable
from annotations.services import editing, review
from annotations.services.corpus_export import corpus_export
from annotations.services.notes import note_create

from . import edits, selectors
from . import serializers as s
from .exceptions import error_body
from .metadata import EndpointMetadata
from .permissions import ProjectRole

ERRORS = {
    400: OpenApiResponse(s.ErrorOutput, description="Invalid input or annotations that break a rule."),
    401: OpenApiResponse(s.ErrorOutput, description="Not authenticated."),
    403: OpenApiResponse(s.ErrorOutput, description="Your role lacks the capability."),
    404: OpenApiResponse(s.ErrorOutput, description="No such object in a project of yours."),
}
WRITE_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(s.ErrorOutput, description="Version conflict: someone else wrote first."),
    412: OpenApiResponse(s.ErrorOutput, description="If-Match does not match the current version."),
    428: OpenApiResponse(s.ErrorOutput, description="No version given (body `version`, `?version=` or If-Match)."),
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
    # Token first: an anonymous request gets 401 with `WWW-Authenticate: Token`.
    authentication_classes = [HashedTokenAuthentication, SessionAuthentication]
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

    def annotation_set(self, pk: int) -> AnnotationSet:
        return selectors.annotation_set_get(project=self.project, annotation_set_id=pk)

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


# --- projects, schema, model versions ----------------------------------------------------------------


class ProjectListView(APIView):
    pagination_class = Pagination

    @extend_schema(responses={200: s.ProjectOutput(many=True), 401: ERRORS[401], 404: ERRORS[404]})
    def get(self, request):
        """Projects you are a member of, with your role."""
        page = self.paginate_queryset(selectors.project_list_for_member(user=request.user))
        return self.get_paginated_response(s.ProjectOutput(page, many=True).data)


class ProjectDetailView(ProjectAPIView):
    @extend_schema(responses={200: s.ProjectOutput, **ERRORS})
    def get(self, request, slug):
        return Response(s.ProjectOutput({"project": self.project, "role": self.role}).data)


class SchemaView(ProjectAPIView):
    @extend_schema(responses={200: s.SchemaOutput, **ERRORS})
    def get(self, request, slug):
        """The project's annotation schema (brat annotation.conf/visual.conf semantics)."""
        stored = AnnotationSchema.objects.filter(project=self.project).first()
        if stored is None:
            raise ApplicationError("no_schema", "This project has no schema yet.", status=404)
        return Response(s.SchemaOutput(stored).data)


class ModelVersionListView(ProjectAPIView):
    @extend_schema(responses={200: s.ModelVersionOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """The project's model versions, newest first, with their held-out metrics, lineage and gate decision."""
        from inference.learning_selectors import model_version_history

        versions = model_version_history(project=self.project).order_by("-created_at", "-pk")
        return Response(s.ModelVersionOutput(versions, many=True).data)


class ModelVersionActivateView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=None, responses={200: s.ModelVersionOutput, **ERRORS})
    def post(self, request, slug, version_id):
        """Make a version the active one (a rollback); the unlabelled notes are pre-annotated again. Audited."""
        from inference.learning_selectors import model_version_get
        from inference.models import ModelVersion
        from inference.services.retraining import model_version_activate

        try:
            version = model_version_get(project=self.project, version_id=version_id)
        except ModelVersion.DoesNotExist:
            raise ApplicationError("not_found", "No such model version in this project.", status=404) from None
        version = model_version_activate(version=version, actor=request.user)
        return Response(s.ModelVersionOutput(version).data)


def _policy_data(project) -> dict:
    from inference.learning_selectors import retrain_queue_state

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
        from inference.services.retraining import retrain_policy_update

        values = validated(s.RetrainPolicyInput, request.data)
        retrain_policy_update(project=self.project, actor=request.user, **values)
        return Response(s.RetrainPolicyOutput(_policy_data(self.project)).data)


class AnnotationQueueView(ProjectAPIView):
    pagination_class = Pagination

    @extend_schema(responses={200: s.AnnotationQueueOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """Unlabelled notes in the order the project's query strategy proposes them (rank 1 first), without text."""
        from inference.learning_selectors import annotation_queue_queryset

        page = self.paginate_queryset(annotation_queue_queryset(project=self.project))
        return self.get_paginated_response(s.AnnotationQueueOutput(page, many=True).data)


# --- notes ------------------------------------------------------------------------------------------


class NoteListView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}
    pagination_class = Pagination

    @extend_schema(parameters=[s.NoteListFilterInput], responses={200: s.NoteListOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """Notes of the project (without their text), filtered and paginated."""
        filters = s.NoteListFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.note_list(project=self.project, **filters.validated_data))
        # No text, but which notes a search matched and each note's patient: audited.
        audit_phi_read(view="api_note_list", notes=page, request=request, project=self.project)
        return self.get_paginated_response(s.NoteListOutput(page, many=True).data)

    @extend_schema(
        request=s.NoteCreateInput,
        responses={201: s.NoteCreateOutput, **ERRORS,
                   409: OpenApiResponse(s.ErrorOutput, description="The project has a note with this id.")},
    )
    def post(self, request, slug):
        """Create one note (the way an import would); a monitored patient's risk is updated once it is stored.
        Audited (note_create; ids only, never the text)."""
        v = validated(s.NoteCreateInput, request.data)
        note = note_create(
            project=self.project, external_id=v["external_id"], text=v["text"],
            patient_external_id=v["patient"], timestamp=v["timestamp"], unit=v["unit"],
            note_type=v["note_type"], author_role=v["author_role"], metadata=v["metadata"], actor=request.user,
        )
        return Response(s.NoteCreateOutput(note).data, status=201)


class NoteDetailView(ProjectAPIView):
    @extend_schema(responses={200: s.NoteDetailOutput, **ERRORS})
    def get(self, request, slug, note_id):
        """One note with its text. Audited (note_view)."""
        note = selectors.note_get(project=self.project, note_id=note_id)
        audit_phi_read(view="api_note", notes=[note], request=request, project=self.project)
        return Response(s.NoteDetailOutput(note).data)


class NoteAnnotationSetListView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(responses={200: s.AnnotationSetSummaryOutput(many=True), **ERRORS})
    def get(self, request, slug, note_id):
        """The annotation sets of a note (users', models', imports')."""
        note = selectors.note_get(project=self.project, note_id=note_id)
        data = s.AnnotationSetSummaryOutput(selectors.annotation_set_list(note=note), many=True).data
        audit_phi_read(view="api_annotation_set_list", notes=[note], request=request, project=self.project)
        return Response(data)

    @extend_schema(request=None, responses={200: s.AnnotationSetSummaryOutput, **ERRORS})
    def post(self, request, slug, note_id):
        """Your own annotation set on this note; created on first call from the newest model set's annotations
        (as pending pre-labels) or empty. Idempotent."""
        note = selectors.note_get(project=self.project, note_id=note_id)
        aset = editing.annotation_set_for_editor(note=note, user=request.user)
        return Response(s.AnnotationSetSummaryOutput(aset).data, headers={"ETag": f'"{aset.version}"'})


# --- annotation sets --------------------------------------------------------------------------------


class AnnotationSetDetailView(ProjectAPIView):
    capabilities = {"PUT": Capability.ANNOTATE}

    @extend_schema(responses={200: s.AnnotationSetDetailOutput, **ERRORS})
    def get(self, request, slug, pk):
        """An annotation set with all its annotations; the ETag header carries its version."""
        aset = self.annotation_set(pk)
        document = edits.annotation_set_document(aset)
        data = s.AnnotationSetDetailOutput(aset, context={"document": document}).data
        audit_phi_read(view="api_annotation_set", notes=[aset.note_id], request=request, project=self.project,
                       details={"annotation_set": aset.pk, "version": aset.version})
        return Response(data, headers={"ETag": f'"{aset.version}"'})

    @extend_schema(request=s.AnnotationSetReplaceInput, parameters=[IF_MATCH],
                   responses={200: s.EditOutput, **WRITE_ERRORS})
    def put(self, request, slug, pk):
        """Replace every annotation of the set, if it is still at the version you read."""
        aset = self.editable_annotation_set(pk)
        data = s.AnnotationSetReplaceInput(data=request.data)
        data.is_valid(raise_exception=True)
        version, from_if_match = requested_version(request, data.validated_data.get("version"))
        try:
            updated = editing.annotation_set_replace_edit(
                annotation_set=aset, expected_version=version, user=request.user,
                status=data.validated_data.get("status"),
                change=lambda before: s.data_to_document(data.validated_data, base=before),
            )
        except ConflictError as exc:
            if from_if_match:
                raise ApplicationError("precondition_failed", exc.message, details=exc.details,
                                       status=status.HTTP_412_PRECONDITION_FAILED) from None
            raise
        data = s.EditOutput({"annotation_set": updated.pk, "version": updated.version, "id": None}).data
        return Response(data, headers={"ETag": f'"{updated.version}"'})


def edit(view: ProjectAPIView, aset: AnnotationSet, body_version, operation: str, call, *, status_code=200):
    """Run editing service `call(annotation_set, expected_version)` audited, mapping a stale If-Match to 412."""
    version, from_if_match = requested_version(view.request, body_version)
    try:
        result = call(aset, version)  # the editing service checks, writes and audits in one transaction
    except ConflictError as exc:
        if from_if_match:
            raise ApplicationError(
                "precondition_failed", exc.message, details=exc.details, status=status.HTTP_412_PRECONDITION_FAILED
            ) from None
        raise
    data = s.EditOutput({"annotation_set": aset.pk, "version": result.version, "id": result.selected}).data
    return Response(data, status=status_code, headers={"ETag": f'"{result.version}"'})


class EntityCreateView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(request=s.EntityCreateInput, parameters=[IF_MATCH], responses={201: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, pk):
        """Add an entity over `fragments` ([[start, end], ...]); its text is cut from the note."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.EntityCreateInput, request.data)
        return edit(self, aset, v.get("version"), "entity_create", lambda a, version: editing.entity_create(
            annotation_set=a, expected_version=version, type=v["type"], spans=v["fragments"], user=request.user,
        ), status_code=201)


class EntityDetailView(ProjectAPIView):
    capabilities = {"PATCH": Capability.ANNOTATE, "DELETE": Capability.ANNOTATE}

    @extend_schema(request=s.EntityUpdateInput, parameters=[IF_MATCH], responses={200: s.EditOutput, **WRITE_ERRORS})
    def patch(self, request, slug, pk, local_id):
        """Change an entity's type, attributes (name: value | true | null to remove) or normalization."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.EntityUpdateInput, request.data)
        norm = v.get("normalization")
        return edit(self, aset, v.get("version"), "entity_update", lambda a, version: editing.entity_update(
            annotation_set=a, expected_version=version, entity_id=local_id, user=request.user, type=v.get("type"),
            attributes=v.get("attributes"),
            normalization=(norm["resource"], norm["resource_id"], norm["text"]) if norm is not None else None,
        ))

    @extend_schema(request=None, parameters=[IF_MATCH, VERSION_QUERY], responses={200: s.EditOutput, **WRITE_ERRORS})
    def delete(self, request, slug, pk, local_id):
        """Delete an entity with its relations and attributes (a model pre-label is rejected instead)."""
        aset = self.editable_annotation_set(pk)
        return edit(self, aset, None, "entity_delete", lambda a, version: editing.entity_delete(
            annotation_set=a, expected_version=version, entity_id=local_id, user=request.user,
        ))


class RelationCreateView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(request=s.RelationCreateInput, parameters=[IF_MATCH],
                   responses={201: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, pk):
        """Add a relation from entity `arg1` to entity `arg2`, if the schema allows it."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.RelationCreateInput, request.data)
        return edit(self, aset, v.get("version"), "relation_create", lambda a, version: editing.relation_create(
            annotation_set=a, expected_version=version, type=v["type"], head=v["arg1"], tail=v["arg2"],
            user=request.user,
        ), status_code=201)


class RelationDetailView(ProjectAPIView):
    capabilities = {"DELETE": Capability.ANNOTATE}

    @extend_schema(request=None, parameters=[IF_MATCH, VERSION_QUERY], responses={200: s.EditOutput, **WRITE_ERRORS})
    def delete(self, request, slug, pk, local_id):
        """Delete a relation (a model pre-label relation is rejected instead)."""
        aset = self.editable_annotation_set(pk)
        return edit(self, aset, None, "relation_delete", lambda a, version: editing.relation_delete(
            annotation_set=a, expected_version=version, relation_id=local_id, user=request.user,
        ))


def _attribute(aset: AnnotationSet, local_id: str) -> AttributeRow:
    row = AttributeRow.objects.filter(annotation_set=aset, local_id=local_id, entity__isnull=False).select_related(
        "entity").first()
    if row is None:
        raise ApplicationError("not_found", f"No entity attribute {local_id} in these annotations.", status=404)
    return row


class AttributeCreateView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(request=s.AttributeCreateInput, parameters=[IF_MATCH],
                   responses={201: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, pk):
        """Set attribute `name` on entity `target` (`value` null for a binary attribute)."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.AttributeCreateInput, request.data)
        value = True if v["value"] is None else v["value"]
        return edit(self, aset, v.get("version"), "attribute_set", lambda a, version: editing.entity_update(
            annotation_set=a, expected_version=version, entity_id=v["target"], user=request.user,
            attributes={v["name"]: value},
        ), status_code=201)


class AttributeDetailView(ProjectAPIView):
    capabilities = {"PATCH": Capability.ANNOTATE, "DELETE": Capability.ANNOTATE}

    @extend_schema(request=s.AttributeUpdateInput, parameters=[IF_MATCH],
                   responses={200: s.EditOutput, **WRITE_ERRORS})
    def patch(self, request, slug, pk, local_id):
        """Change an attribute's value."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.AttributeUpdateInput, request.data)
        row = _attribute(aset, local_id)
        value = True if v["value"] is None else v["value"]
        return edit(self, aset, v.get("version"), "attribute_update", lambda a, version: editing.entity_update(
            annotation_set=a, expected_version=version, entity_id=row.entity.local_id, user=request.user,
            attributes={row.name: value},
        ))

    @extend_schema(request=None, parameters=[IF_MATCH, VERSION_QUERY], responses={200: s.EditOutput, **WRITE_ERRORS})
    def delete(self, request, slug, pk, local_id):
        aset = self.editable_annotation_set(pk)
        row = _attribute(aset, local_id)
        return edit(self, aset, None, "attribute_delete", lambda a, version: editing.entity_update(
            annotation_set=a, expected_version=version, entity_id=row.entity.local_id, user=request.user,
            attributes={row.name: None},
        ))


class PrelabelDecisionView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(request=s.VersionInput, parameters=[IF_MATCH], responses={200: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, pk, local_id, decision):
        """Accept or reject a model pre-label (entity T.. or relation R..)."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.VersionInput, request.data)
        service = editing.prelabel_accept if decision == "accept" else editing.prelabel_reject
        return edit(self, aset, v.get("version"), f"prelabel_{decision}", lambda a, version: service(
            annotation_set=a, expected_version=version, local_id=local_id, user=request.user,
        ))


class LabelView(ProjectAPIView):
    capabilities = {"PUT": Capability.ANNOTATE}

    @extend_schema(request=s.LabelInput, parameters=[IF_MATCH], responses={200: s.EditOutput, **WRITE_ERRORS})
    def put(self, request, slug, pk):
        """Set the note-level verdict (ade / no_ade / uncertain) with an optional evidence relation."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.LabelInput, request.data)
        return edit(self, aset, v.get("version"), "note_label_set", lambda a, version: editing.note_label_set(
            annotation_set=a, expected_version=version, value=v["value"], evidence=v.get("evidence"),
            user=request.user,
        ))


class SubmitView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(request=s.VersionInput, parameters=[IF_MATCH], responses={200: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, pk):
        """Submit the set for review (every pre-label decided, a verdict given, the set valid)."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.VersionInput, request.data)
        return edit(self, aset, v.get("version"), "submit", lambda a, version: editing.annotation_set_submit(
            annotation_set=a, expected_version=version, user=request.user,
        ))


class UndoView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(request=s.VersionInput, parameters=[IF_MATCH], responses={200: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, pk):
        """Undo the set's last edit."""
        aset = self.editable_annotation_set(pk)
        v = validated(s.VersionInput, request.data)
        return edit(self, aset, v.get("version"), "undo", lambda a, version: editing.edit_undo(
            annotation_set=a, expected_version=version, user=request.user,
        ))


# --- sign-offs ----------------------------------------------------------------------------------------


class SignOffView(ProjectAPIView):
    capabilities = {"POST": Capability.SIGN_OFF}

    @extend_schema(responses={200: s.SignOffOutput(many=True), **ERRORS})
    def get(self, request, slug, note_id):
        """The note's sign-offs, newest first. Audited (note_view: the reviewers' comments and verdicts)."""
        note = selectors.note_get(project=self.project, note_id=note_id)
        data = s.SignOffOutput(selectors.sign_off_list(note=note), many=True).data
        audit_phi_read(view="api_sign_offs", notes=[note], request=request, project=self.project)
        return Response(data)

    @extend_schema(request=s.SignOffInput, responses={201: s.SignOffOutput, 409: ERRORS[400], **ERRORS})
    def post(self, request, slug, note_id):
        """Decide the note: confirm or overturn the model's flag on the submitted set and version you reviewed
        (overturning needs a comment). The set becomes gold when its verdict agrees with yours, else it goes back
        to its annotator with your comment. Audited."""
        note = selectors.note_get(project=self.project, note_id=note_id)
        v = validated(s.SignOffInput, request.data)
        if "model_set" in v:
            sign_off = review.note_decide_from_model(note=note, user=request.user, decision=v["decision"],
                                                     comment=v["comment"], model_set_id=v["model_set"],
                                                     version=v["version"])
        else:
            sign_off = review.note_sign_off(note=note, user=request.user, decision=v["decision"],
                                            comment=v["comment"], annotation_set_id=v["annotation_set"],
                                            version=v["version"])
        return Response(s.SignOffOutput(sign_off).data, status=201)


# --- jobs -------------------------------------------------------------------------------------------


class JobListView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}
    pagination_class = Pagination

    @extend_schema(responses={200: s.JobOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """The project's jobs, newest first."""
        from inference.models import Job

        jobs = Job.objects.filter(project=self.project).select_related("model_version").order_by("-created_at", "-pk")
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(s.JobOutput(page, many=True).data)

    @extend_schema(request=s.JobCreateInput, responses={201: s.JobOutput, **ERRORS})
    def post(self, request, slug):
        """Start a job: pre_annotate or classify (with the active or a given model version) or export. Audited."""
        from inference.models import ModelVersion
        from inference.services.jobs import job_create

        v = validated(s.JobCreateInput, request.data)
        model_version = None
        if v.get("model_version"):
            model_version = ModelVersion.objects.filter(project=self.project, pk=v["model_version"]).first()
            if model_version is None:
                raise ApplicationError("not_found", "No such model version in this project.", status=404)
        job = job_create(project=self.project, kind=v["kind"], parameters=v["parameters"],
                         model_version=model_version, created_by=request.user)
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
        from inference.services.import_uploads import import_upload_start

        v = validated(s.ImportUploadInput, request.data)
        job = import_upload_start(project=self.project, upload=v["file"], fmt=v["format"], created_by=request.user)
        return Response(s.JobOutput(job).data, status=201)


def _job(project, job_id: int):
    from inference.models import Job

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
        from inference.selectors import job_error_list

        page = self.paginate_queryset(job_error_list(job=_job(self.project, job_id), limit=None))
        return self.get_paginated_response(s.JobErrorOutput(page, many=True).data)


class JobCancelView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=None, responses={200: s.JobOutput, **ERRORS})
    def post(self, request, slug, job_id):
        """Cancel a queued or running job. Audited."""
        from inference.services.jobs import job_cancel

        job = job_cancel(job=_job(self.project, job_id), user=request.user)
        return Response(s.JobOutput(job).data)


class JobDownloadView(ProjectAPIView):
    capabilities = {"GET": Capability.MANAGE}

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request, slug, job_id):
        """Download an export job's result. Audited (download)."""
        job = _job(self.project, job_id)
        root = (Path(settings.MEDIA_ROOT) / "exports").resolve()
        path = Path(job.result_path).resolve() if job.result_path else None
        if path is None or not path.is_file() or root not in path.parents:
            raise ApplicationError("not_found", "This job has no result to download.", status=404)
        audit_record(action=AuditAction.DOWNLOAD, request=request, project=self.project, object_type="job",
                     object_id=job.pk)
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip")


# --- exports ----------------------------------------------------------------------------------------


def export_dir(project) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(project.pk)


class ExportCreateView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=s.ExportCreateInput, responses={201: s.ExportOutput, **ERRORS})
    def post(self, request, slug):
        """Export the project synchronously as a zip (small projects; larger ones need an export job)."""
        data = s.ExportCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        limit = settings.ADE_REVIEW_API_SYNC_EXPORT_MAX_NOTES
        if Note.objects.filter(project=self.project).count() > limit:
            raise ApplicationError("export_too_large", f"More than {limit} notes: start an export job instead.")
        export_id = uuid.uuid4().hex
        out = export_dir(self.project) / f"{export_id}.zip"
        out.parent.mkdir(parents=True, exist_ok=True)
        written = corpus_export(project=self.project, out=out, fmt=v["format"], source=v["source"],
                                only_annotated=v["only_annotated"])
        audit_record(action=AuditAction.EXPORT, request=request, project=self.project, object_type="export",
                     object_id=export_id, details={"format": v["format"], "source": v["source"], "notes": written})
        payload = {"id": export_id, "format": v["format"], "source": v["source"], "notes": written,
                   "size_bytes": out.stat().st_size,
                   "download_url": request.build_absolute_uri(f"{export_id}/download/")}
        return Response(s.ExportOutput(payload).data, status=201)


class ExportDownloadView(ProjectAPIView):
    capabilities = {"GET": Capability.MANAGE}

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # a zip whatever Accept says

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request, slug, export_id):
        """Download an export (a zip). Audited (download)."""
        path = export_dir(self.project) / f"{export_id}.zip"
        if not path.is_file():
            raise ApplicationError("not_found", "No such export.", status=404)
        audit_record(action=AuditAction.DOWNLOAD, request=request, project=self.project, object_type="export",
                     object_id=export_id)
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"{self.project.slug}-{export_id}.zip",
                            content_type="application/zip")
