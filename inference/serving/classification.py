"""Batch ADE classification writes: probability, uncertainty and the flag that puts a note in the queue."""

from __future__ import annotations

from annotations.models import Note
from inference.jobs.engine import job_create
from inference.jobs.selectors import projects_with_unscored_notes
from inference.models import Job, JobState

CLASSIFY = "classify"


def classifications_write(*, job: Job, notes: list[Note], predictions: dict) -> dict[int, str]:
    """Store each note's ADE probability and uncertainty; flag it when at or above the project threshold
    and no reviewer has decided it yet.

    Idempotent (values are overwritten). Call inside the chunk's transaction. Result: {} (every
    prediction that reached here is stored).
    """
    threshold = job.project.ade_threshold
    for note in notes:
        prediction = predictions[note.pk]
        note.ade_probability = min(1.0, max(0.0, float(prediction.ade_probability)))
        note.ade_uncertainty = float(prediction.uncertainty)
        # A note a reviewer has decided (its final verdict) stays out of the flagged queue.
        note.flagged = note.ade_probability >= threshold and not note.final_verdict
    Note.objects.bulk_update(notes, ["ade_probability", "ade_uncertainty", "flagged"], batch_size=500)
    if job.kind == CLASSIFY:  # pre-annotation writes its own scores (pre_annotations_write)
        from inference.learning.annotation_queue import note_scores_write

        note_scores_write(job=job, notes=notes, predictions=predictions)
    return {}


def classify_new_notes() -> list[Job]:
    """Start a classify job over unscored notes for every project with an active model and none running."""
    started = []
    for project in projects_with_unscored_notes():
        busy = Job.objects.filter(
            project=project, kind=CLASSIFY, state__in=[JobState.QUEUED, JobState.RUNNING]
        ).exists()
        if not busy:
            started.append(
                job_create(project=project, kind=CLASSIFY, parameters={"selection": "unscored"})
            )
    return started
