"""Reads for agreement: every annotator's submitted (or signed-off gold) set of a project, note by note."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from annotations.formats.agreement import AgreementCounter, AgreementReport
from annotations.formats.document import Document
from annotations.models import AnnotationSet, AnnotationSetSource, AnnotationSetStatus, Project
from annotations.services.document_store import annotation_sets_to_documents

CHUNK_NOTES = 500


def _rated_sets(project: Project):
    # A person's work counts once it is submitted; a reviewer's sign-off turns it gold and it still counts.
    # Model and import sets are no annotator's.
    return AnnotationSet.objects.filter(
        note__project=project,
        source_kind=AnnotationSetSource.USER,
        status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD],
    )


def agreement_documents_iter(*, project: Project, chunk_notes: int = CHUNK_NOTES) -> Iterator[dict[str, Document]]:
    """Per note of the project (in note id order), each annotator's Document of it, keyed by username.

    Reads `chunk_notes` notes at a time (keyset on note id), so memory holds one chunk whatever the
    project's size; a fixed number of queries per chunk. Caller: the project's VIEW check is the view's."""
    last = 0
    while True:
        note_ids = list(
            _rated_sets(project).filter(note_id__gt=last).order_by("note_id").values_list("note_id", flat=True)
            .distinct()[:chunk_notes]
        )
        if not note_ids:
            return
        sets = list(_rated_sets(project).filter(note_id__in=note_ids).select_related("note", "user").order_by("note_id", "pk"))
        documents = annotation_sets_to_documents(sets)
        by_note: dict[int, dict[str, Document]] = defaultdict(dict)
        for s in sets:
            by_note[s.note_id][s.user.username] = documents[s.pk]
        for note_id in note_ids:
            yield by_note[note_id]
        last = note_ids[-1]


def project_agreement(*, project: Project, chunk_notes: int = CHUNK_NOTES) -> AgreementReport:
    """Agreement of the project's annotators: verdict kappa/alpha, pairwise and per-type F1, type confusion."""
    counter = AgreementCounter()
    for documents in agreement_documents_iter(project=project, chunk_notes=chunk_notes):
        counter.add_note(documents)
    return counter.report()
