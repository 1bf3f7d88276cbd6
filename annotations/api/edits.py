"""Annotation-set writes for the API, each with its audit record in the same transaction.

The whole-set replace goes through `annotation_set_replace` (the validation every writer uses); the
fine-grained edits are the editor's own services (`annotations.services.editing`), wrapped here so that
each appends an audit record (before/after structure: ids, types, offsets; no text). The change and its
record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from annotations.audit import AuditAction, annotation_structure, audit_record, edit_changes_structure
from annotations.errors import ApplicationError, ConflictError
from annotations.formats.document import Document, Entity, Span
from annotations.formats.text import span_text
from annotations.models import AnnotationSet, Origin
from annotations.services.annotation_sets import annotation_set_replace
from annotations.services.document_store import annotation_sets_to_documents
from annotations.services.schemas import project_schema_get


def annotation_set_document(annotation_set: AnnotationSet) -> Document:
    """The set's annotations (with its note's text) as a Document."""
    return annotation_sets_to_documents([annotation_set])[annotation_set.pk]


def annotation_set_update(
    *,
    annotation_set: AnnotationSet,
    expected_version: int,
    change: Callable[[Document], Document],
    request=None,
    status: str | None = None,
    operation: str = "replace",
) -> AnnotationSet:
    """Apply `change` to the set's current annotations and store the result if the set is still at
    `expected_version`.

    Raises ConflictError (409) when someone else wrote first, ApplicationError when the result breaks a rule.
    """
    with transaction.atomic():
        locked = AnnotationSet.objects.select_for_update().select_related("note").get(pk=annotation_set.pk)
        if locked.version != expected_version:
            raise ConflictError(
                f"This annotation set was changed by someone else (version {locked.version}, you had "
                f"{expected_version}). Reload to see their changes; nothing of yours was saved.",
                current_version=locked.version,
            )
        before = annotation_set_document(locked)
        after = change(before)
        schema = project_schema_get(project=locked.note.project)
        updated = annotation_set_replace(
            annotation_set=locked, document=after, schema=schema, expected_version=expected_version,
            origin=Origin.HUMAN, status=status,
        )
        audit_record(
            action=AuditAction.ANNOTATION_CHANGE,
            request=request,
            project=locked.note.project,
            note=locked.note,
            object_type="annotation_set",
            object_id=locked.pk,
            details={
                "operation": operation,
                "version_before": expected_version,
                "version_after": updated.version,
                "status": updated.status,
                "before": annotation_structure(before),
                "after": annotation_structure(after),
            },
        )
    return updated


def audited_edit(*, annotation_set: AnnotationSet, request, operation: str, edit: Callable[[AnnotationSet], object]):
    """Run one fine-grained editing service (`annotations.services.editing`) under the set's row lock and
    append an audit record with the annotations it touched before and after, in the same transaction."""
    with transaction.atomic():
        locked = AnnotationSet.objects.select_for_update().select_related("note__project").get(pk=annotation_set.pk)
        # The editing services say which rows an edit touched (result.changes): the record holds those rows
        # before and after, not two copies of the whole set (a few queries, whatever the set's size).
        result = edit(locked)
        delta = edit_changes_structure(locked.pk, result.changes or {})
        before, after = delta["before"], delta["after"]
        audit_record(
            action=AuditAction.ANNOTATION_CHANGE,
            request=request,
            project=locked.note.project,
            note=locked.note,
            object_type="annotation_set",
            object_id=locked.pk,
            details={
                "operation": operation,
                "version_before": locked.version,
                "version_after": result.version,
                "before": before,
                "after": after,
            },
        )
    return result


def entity_record(document: Document, *, local_id: str, type: str, fragments, confidence=None) -> Entity:
    """An entity record on the document's text; its text is cut from the note, never taken from a client."""
    spans = tuple(Span(int(s), int(e)) for s, e in fragments)
    if any(s.start < 0 or s.end > len(document.text) or s.start >= s.end for s in spans):
        raise ApplicationError(
            "invalid_annotations", f"{local_id}: every fragment needs 0 <= start < end <= {len(document.text)}."
        )
    return Entity(local_id, type, spans, span_text(document.text, spans), confidence)
