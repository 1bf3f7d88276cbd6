"""Writes to annotation sets. Every writer (imports, jobs, the editor, the API) goes through here,
so the same rules hold whatever the door: offsets inside the text, references resolve, schema types."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations.errors import ApplicationError, ConflictError
from annotations.formats.document import Document, ParseProblem
from annotations.formats.schema import Schema
from annotations.formats.validation import document_problems
from annotations.models import AnnotationSet, AnnotationSetStatus, Note
from annotations.signals import gold_changed

from .assignment import assigned_exists
from .document_store import annotation_set_clear, annotation_sets_write


def annotation_set_check(
    *, document: Document, schema: Schema | None, source: str = "", lines: dict[str, int] | None = None
) -> list[ParseProblem]:
    """Every rule problem of a document against a note text and a schema; empty when it may be stored."""
    return document_problems(document, schema, source=source, lines=lines or {})


def version_conflict(*, current_version: int, expected_version: int) -> ConflictError:
    """The one stale-version error, whatever the door (editor, API, services)."""
    return ConflictError(
        f"Someone else changed these annotations (now version {current_version}, you had {expected_version}). "
        "Your edit was not saved and nothing was overwritten: reload to see their changes, then redo it.",
        current_version=current_version,
    )


def annotation_set_lock(*, annotation_set: AnnotationSet, expected_version: int | None) -> AnnotationSet:
    """Lock the set's row for this transaction and check it is still at `expected_version` (None: any).

    The one version check of every write to a set. Raises ConflictError (409) when someone wrote first.
    Call inside transaction.atomic(). Only the set's row is locked (`of`): locking the joined note and project
    rows too would queue every edit of a project behind each other."""
    locked = (
        AnnotationSet.objects.select_for_update(of=("self",)).select_related("note__project")
        # Whether its person holds an assignment of the note: their edits touch it (assignment_touch), and a
        # set without one costs no query for that.
        .annotate(assigned=assigned_exists())
        .get(pk=annotation_set.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise version_conflict(current_version=locked.version, expected_version=expected_version)
    return locked


def annotation_set_replace(
    *,
    annotation_set: AnnotationSet,
    document: Document,
    schema: Schema | None,
    expected_version: int | None,
    origin: str,
    status: str | None = None,
) -> AnnotationSet:
    """Replace all annotations of a set with those of `document`, bumping its version.

    Raises ConflictError when `expected_version` is given and the set changed since the caller read it,
    ApplicationError("invalid_annotations") with the problems when the document breaks a rule.
    """
    note: Note = annotation_set.note
    if document.text != note.text:
        raise ApplicationError("text_mismatch", "The annotations were made on a different text than the note's.")
    problems = annotation_set_check(document=document, schema=schema, source=note.external_id)
    if problems:
        raise ApplicationError(
            "invalid_annotations", "; ".join(str(p) for p in problems[:20]), details=[str(p) for p in problems]
        )
    with transaction.atomic():
        locked = annotation_set_lock(annotation_set=annotation_set, expected_version=expected_version)
        annotation_set_clear(locked)
        annotation_sets_write([(locked, document)], origin=origin)
        updates = {"version": F("version") + 1, "updated_at": timezone.now()}
        if status:
            updates["status"] = status
            if status in (AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD):
                updates["submitted_at"] = timezone.now()
        AnnotationSet.objects.filter(pk=locked.pk).update(**updates)
        if (status or locked.status) in (AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD):
            project_id, note_id = note.project_id, note.pk
            transaction.on_commit(
                lambda: gold_changed.send(sender=AnnotationSet, project_id=project_id, note_ids=[note_id])
            )
    locked.refresh_from_db()
    return locked
