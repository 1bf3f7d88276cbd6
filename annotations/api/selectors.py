"""Reads for the API. Every query is scoped to a project the caller has already been checked against,
so an id from another project is simply not found (404)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from annotations.models import AnnotationSet, Note, Project, ProjectMembership

NOTE_LIST_ORDERINGS = {
    "id": "pk",
    "-id": "-pk",
    "ade_probability": "ade_probability",
    "-ade_probability": "-ade_probability",
    "timestamp": "timestamp",
    "-timestamp": "-timestamp",
}


def project_list_for_member(*, user, archived: bool = False) -> QuerySet[ProjectMembership]:
    """The user's memberships (of archived projects when `archived`) with their projects and note counts."""
    return (
        ProjectMembership.objects.filter(user=user, project__archived_at__isnull=not archived)
        .select_related("project")
        .annotate(
            note_count=Count("project__notes", distinct=True),
            flagged_count=Count("project__notes", filter=Q(project__notes__flagged=True), distinct=True),
        )
        .order_by("project__name")
    )


def note_list(
    *,
    project: Project,
    flagged: bool | None = None,
    review_status: str | None = None,
    note_type: str | None = None,
    unit: str | None = None,
    patient: str | None = None,
    search: str | None = None,
    ordering: str = "id",
) -> QuerySet[Note]:
    """Notes of a project, filtered; the text is deferred (lists never carry clinical text)."""
    notes = Note.objects.filter(project=project).select_related("patient").defer("text", "metadata")
    if flagged is not None:
        notes = notes.filter(flagged=flagged)
    if review_status:
        notes = notes.filter(review_status=review_status)
    if note_type:
        notes = notes.filter(note_type=note_type)
    if unit:
        notes = notes.filter(unit=unit)
    if patient:
        notes = notes.filter(patient__external_id=patient)
    if search:
        notes = notes.filter(Q(external_id__icontains=search) | Q(text__icontains=search))
    order = NOTE_LIST_ORDERINGS.get(ordering, "pk")
    return notes.order_by(order, "pk") if order.lstrip("-") != "pk" else notes.order_by(order)


def note_get(*, project: Project, note_id: int) -> Note:
    return get_object_or_404(Note.objects.select_related("patient"), project=project, pk=note_id)


def annotation_set_list(*, note: Note, visible: Q | None = None) -> QuerySet[AnnotationSet]:
    """The note's sets the caller may see (`visible`: annotations.permissions.annotation_set_visibility)."""
    sets = AnnotationSet.objects.filter(note=note)
    if visible is not None:
        sets = sets.filter(visible)
    return (
        sets
        .select_related("user", "model_version", "prelabel_model_version")
        .annotate(entity_count=Count("entities"))
        .order_by("pk")
    )


def annotation_set_get(*, project: Project, annotation_set_id: int, visible: Q | None = None) -> AnnotationSet:
    """A set of the project that the caller may see (blind annotation: another person's set is a 404)."""
    sets = AnnotationSet.objects.select_related("note", "user", "model_version", "prelabel_model_version")
    if visible is not None:
        sets = sets.filter(visible)
    aset = get_object_or_404(
        sets,
        note__project=project,
        pk=annotation_set_id,
    )
    aset.note.project = project  # known already: the access rules read it
    return aset


def sign_off_list(*, note: Note, visible: Q | None = None):
    """The note's sign-offs; with `visible` (blind annotation) only those on sets the caller may see: a
    reviewer's verdict on another person's submission tells what that person said."""
    from annotations.models import SignOff

    sign_offs = SignOff.objects.filter(note=note)
    if visible is not None:
        sign_offs = sign_offs.filter(annotation_set__in=AnnotationSet.objects.filter(visible))
    return sign_offs.select_related("user").order_by("-created_at", "-pk")
