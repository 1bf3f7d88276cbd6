"""Pre-annotation writes: one model annotation set per (note, model version), replaced on every run, and
the note's active-learning scores (and, with the job parameter `score`, its ADE probability and flag)."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from annotations.models import (
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    Note,
    Origin,
)
from annotations.services.annotation_sets import annotation_set_check
from annotations.services.document_store import annotation_sets_clear, annotation_sets_write
from annotations.services.schemas import project_schema_get
from inference.learning.annotation_queue import note_scores_write
from inference.models import Job
from inference.serving.classification import classifications_write


def pre_annotations_write(*, job: Job, notes: list[Note], predictions: dict) -> dict[int, str]:
    """Store each note's predicted document as the model version's annotation set (status pre_annotated).

    Idempotent: the set is created once per (note, model version) (the unique constraint) and its
    annotations are replaced. Call inside the chunk's transaction. Result: {note_id: message} for notes
    whose prediction broke an annotation rule (nothing is written for them).
    """
    version = job.model_version
    schema = project_schema_get(project=job.project)
    refused: dict[int, str] = {}
    accepted: list[Note] = []
    for note in notes:
        problems = annotation_set_check(
            document=predictions[note.pk].document, schema=schema, source=note.external_id
        )
        if problems:
            refused[note.pk] = (
                f"the prediction broke {len(problems)} annotation rule(s), e.g. {problems[0].message}"
            )
        else:
            accepted.append(note)
    if not accepted:
        return refused
    AnnotationSet.objects.bulk_create(
        [
            AnnotationSet(
                note=note,
                source_kind=AnnotationSetSource.MODEL,
                model_version=version,
                source_name=version.name,
                status=AnnotationSetStatus.PRE_ANNOTATED,
            )
            for note in accepted
        ],
        ignore_conflicts=True,
    )
    sets = {
        s.note_id: s
        for s in AnnotationSet.objects.select_for_update().filter(
            source_kind=AnnotationSetSource.MODEL, model_version=version, note__in=accepted
        )
    }
    annotation_sets_clear([s.pk for s in sets.values()])
    annotation_sets_write(
        [(sets[note.pk], predictions[note.pk].document) for note in accepted], origin=Origin.MODEL
    )
    AnnotationSet.objects.filter(pk__in=[s.pk for s in sets.values()]).update(
        version=F("version") + 1, status=AnnotationSetStatus.PRE_ANNOTATED, updated_at=timezone.now()
    )
    note_scores_write(job=job, notes=accepted, predictions=predictions)
    if job.parameters.get("score"):  # the same predictions also give the note's ADE probability and flag
        classifications_write(job=job, notes=accepted, predictions=predictions)
    return refused
