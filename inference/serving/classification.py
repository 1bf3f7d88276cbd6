"""Batch ADE classification writes: probability, uncertainty, the flag that puts a note in the queue, and
why it was flagged (the evidence the queue and the note page show without running the model)."""

from __future__ import annotations

import logging

from annotations.formats.document import Document
from annotations.formats.evidence import Evidence
from annotations.models import Note
from inference.core.extraction.evidence import relation_evidence, sentence_evidence
from inference.jobs.engine import job_create
from inference.jobs.selectors import projects_with_unscored_notes
from inference.models import Job, JobState

CLASSIFY = "classify"

logger = logging.getLogger(__name__)


def classifications_write(*, job: Job, notes: list[Note], predictions: dict) -> dict[int, str]:
    """Store each note's ADE probability and uncertainty; flag it when at or above the project threshold
    and no reviewer has decided it yet; store why (`note_evidence_compute`) for the flagged ones.

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
    evidence = note_evidence_compute(job=job, notes=[n for n in notes if n.flagged], predictions=predictions)
    for note in notes:
        found = evidence.get(note.pk)
        note.ade_evidence = found.to_dict() if found is not None else {}
    Note.objects.bulk_update(notes, ["ade_probability", "ade_uncertainty", "flagged", "ade_evidence"], batch_size=500)
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


def note_evidence_compute(*, job: Job, notes: list[Note], predictions: dict) -> dict[int, Evidence]:
    """Why each of `notes` (flagged ones) was flagged: the strongest predicted relation whose type can be ADE
    evidence (the schema's rule, `editing.evidence_relation_types`), else the sentence with the highest ADE
    score, each sentence scored alone by the job's model.

    Args: the job (its project's schema, its model version), the notes, {note id: NotePrediction}.
    Result: {note id: Evidence}; a note without either is left out. Reads the note texts (already loaded
    for the prediction). A failure to score sentences is logged and leaves those notes without evidence:
    an explanation never costs the chunk its classifications.
    """
    if not notes:
        return {}
    from annotations.services.editing import evidence_relation_types
    from annotations.services.schemas import project_schema_get

    types = evidence_relation_types(project_schema_get(project=job.project), job.project)
    out: dict[int, Evidence] = {}
    unexplained: list[Note] = []
    for note in notes:
        document = getattr(predictions[note.pk], "document", None)
        found = relation_evidence(document, types=types) if document is not None else None
        if found is not None:
            out[note.pk] = found
        else:
            unexplained.append(note)
    if unexplained and job.model_version_id:
        try:
            scored = sentence_evidence([n.text for n in unexplained], _sentence_scorer(job))
        except Exception:  # the model could not score sentences (files gone, a malformed sentence, ...)
            logger.exception("job %s: could not score the sentences of %d flagged notes", job.pk, len(unexplained))
        else:
            out.update({n.pk: e for n, e in zip(unexplained, scored, strict=True) if e is not None})
    return out


def _sentence_scorer(job: Job):
    """The job's model (the same cached predictor its chunks use) scoring sentences alone."""
    from inference.serving.predictor import predictor_for_model_version

    predictor = predictor_for_model_version(job.model_version, quantize=job.parameters.get("quantize") or None)

    def score(sentences: list[str]) -> list[float]:
        documents = [Document(id=f"s{i}", text=text) for i, text in enumerate(sentences)]
        return [float(p.ade_probability) for p in predictor.predict(documents, batch_size=32)]

    return score
