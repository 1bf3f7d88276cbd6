"""API endpoints: one per operation; each validates input, calls one service or selector, responds.

Every project-scoped endpoint resolves the project through `ProjectRole` (non-members: 404, a role without
the capability: 403) and scopes every object lookup to that project, so ids from another project are 404.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ade_review.storage import file_storage, stored_file_put, stored_file_response, stored_key_check
from annotations.api import edits, selectors
from annotations.api import serializers as s
from annotations.api.base import (
    ERRORS,
    IF_MATCH,
    VERSION_QUERY,
    WRITE_ERRORS,
    Pagination,
    ProjectAPIView,
    requested_version,
    validated,
)
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_phi_read, audit_record
from annotations.errors import ApplicationError, ConflictError
from annotations.models import (
    AnnotationSet,
    Note,
)
from annotations.models import Attribute as AttributeRow
from annotations.permissions import Capability
from annotations.services import editing, review
from annotations.services.corpus_export import corpus_export
from annotations.services.notes import note_create

# --- projects, schema, model versions ----------------------------------------------------------------


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
        sets = selectors.annotation_set_list(note=note, visible=self.annotation_sets_visible())
        data = s.AnnotationSetSummaryOutput(sets, many=True).data
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
        data = s.SignOffOutput(selectors.sign_off_list(note=note, visible=self.annotation_sets_visible()),
                               many=True).data
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














# --- exports ----------------------------------------------------------------------------------------


def export_key(project, export_id: str) -> str:
    """Where a synchronous export is stored (the one file store: local disk or bucket); `export_id` is the
    32 hex digits the URL converter lets through."""
    return f"exports/{project.pk}/{export_id}.zip"


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
        # Written on this node's disk (a private temporary folder, removed after), then put in the store
        # whole, where any web node finds it for the download.
        with tempfile.TemporaryDirectory(prefix="ade-review-export-") as folder:
            out = Path(folder) / f"{export_id}.zip"
            written = corpus_export(project=self.project, out=out, fmt=v["format"], source=v["source"],
                                    only_annotated=v["only_annotated"])
            size = out.stat().st_size
            stored_file_put(key=export_key(self.project, export_id), local_path=out)
        audit_record(action=AuditAction.EXPORT, request=request, project=self.project, object_type="export",
                     object_id=export_id, details={"format": v["format"], "source": v["source"], "notes": written})
        payload = {"id": export_id, "format": v["format"], "source": v["source"], "notes": written,
                   "size_bytes": size,
                   "download_url": request.build_absolute_uri(f"{export_id}/download/")}
        return Response(s.ExportOutput(payload).data, status=201)


class ExportDownloadView(ProjectAPIView):
    capabilities = {"GET": Capability.MANAGE}

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # a zip whatever Accept says

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request, slug, export_id):
        """Download an export (a zip). Audited (download)."""
        key = export_key(self.project, export_id)
        if not stored_key_check(key, prefix=f"exports/{self.project.pk}") or not file_storage().exists(key):
            raise ApplicationError("not_found", "No such export.", status=404)
        audit_record(action=AuditAction.DOWNLOAD, request=request, project=self.project, object_type="export",
                     object_id=export_id)
        return stored_file_response(key, filename=f"{self.project.slug}-{export_id}.zip",
                                    content_type="application/zip")
