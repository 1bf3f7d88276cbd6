"""The serving job kinds: pre-annotate notes with a model version (entities, relations, the ADE
probability) and classify them (the probability and the flag only). Both run in chunks over a selection of
notes; each chunk is written in the transaction that completes it."""

from __future__ import annotations

from annotations.errors import ApplicationError
from annotations.models import AnnotationSet, AnnotationSetSource, Entity, Note, Relation
from annotations.selectors import notes_flagged_open
from inference.artifacts import artifact_exists
from inference.jobs.engine import TRANSIENT_ERRORS
from inference.jobs.registry import JobKindSpec, JobRequest, Param, register
from inference.jobs.selectors import FILTER_FIELDS, SELECTIONS, JobOutcome, note_selection
from inference.models import Job, JobChunk, ModelVersion
from inference.serving.classification import CLASSIFY, classifications_write
from inference.serving.pre_annotation import pre_annotations_write
from inference.serving.predictor import predictor_for_model_version

PRE_ANNOTATE = "pre_annotate"


def model_version_files_check(version: ModelVersion) -> None:
    """Errors: ApplicationError `model_files_missing` when the version's files are gone from the store (or its
    local directory, for a row written before the store) (a predictor would otherwise fall back to the shipped
    encoder and score with a model nobody chose)."""
    if not version.path or not artifact_exists(version.path):
        raise ApplicationError(
            "model_files_missing",
            f"The files of model version {version.name} are gone (its directory no longer exists); "
            "register it again or activate another version.",
        )


def _prepare(request: JobRequest) -> JobRequest:
    project = request.project
    version = request.model_version
    if version is None:
        version = ModelVersion.objects.filter(project=project, is_active=True).first()
    if version is None or version.project_id != project.pk:
        raise ApplicationError("no_model", "This project has no model version to run; add or activate one.")
    request.model_version = version
    p = request.parameters
    note_selection(project=project, selection=p["selection"], filters=p.get("filter"))
    return request


def _predictor(job: Job):
    model_version_files_check(job.model_version)
    try:
        return predictor_for_model_version(job.model_version, quantize=job.parameters.get("quantize") or None)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - the version's files are there but cannot be loaded
        raise ApplicationError(
            "model_unloadable",
            f"model version {job.model_version.name} cannot be loaded: its files are missing or unreadable "
            f"({type(exc).__name__})",
        ) from exc


def _before_plan(job: Job) -> None:
    model_version_files_check(job.model_version)


def _rank_annotation_queue(job: Job) -> None:
    """New scores change what the annotation queue proposes first: re-rank it in a task."""
    from inference import tasks

    tasks.annotation_queue_rank_task.delay(job.project_id)


def _outcome(job: Job) -> JobOutcome:
    """Notes done, flagged (when the job scored) and pre-labels made, counted over the notes of its chunks."""
    note_ids = [i for ids in JobChunk.objects.filter(job=job).values_list("note_ids", flat=True) for i in ids]
    # Flagged and still waiting for a decision: what the flagged queue shows (decided and gold notes are not).
    flagged = notes_flagged_open(Note.objects.filter(pk__in=note_ids))
    figures = {"notes": job.done}
    scored = job.kind == CLASSIFY or bool((job.parameters or {}).get("score"))
    if scored:  # a pre-annotation without `score` leaves the flags as they were: it flagged nothing
        figures["flagged"] = flagged.count()
    if job.kind == PRE_ANNOTATE and job.model_version_id:
        sets = AnnotationSet.objects.filter(
            note__in=note_ids, source_kind=AnnotationSetSource.MODEL, model_version_id=job.model_version_id
        )
        figures["prelabelled_notes"] = sets.filter(entities__isnull=False).distinct().count()
        figures["prelabels"] = (
            Entity.objects.filter(annotation_set__in=sets).count()
            + Relation.objects.filter(annotation_set__in=sets).count()
        )
    top = flagged.order_by("-ade_probability", "pk").values_list("pk", "external_id")[:10] if scored else []
    return JobOutcome(kind=job.kind, figures=figures, flagged_notes=tuple(top), template="inference/outcomes/_model.html",
                      verb="pre-annotated" if job.kind == PRE_ANNOTATE else "classified")


SELECTION_PARAMS = (
    Param("selection", "choice", "Which notes: all, unreviewed, unlabelled, unscored, or filter (with filter).",
          choices=SELECTIONS, default="all", code="bad_selection"),
    Param("filter", "dict", "With selection filter: only notes with these values.", keys=FILTER_FIELDS,
          code="bad_selection"),
    Param("chunk_size", "int", "Notes per task.", default=50, minimum=1, maximum=10_000),
    Param("batch_size", "int", "Notes per model call.", default=16, minimum=1, maximum=10_000),
    Param("quantize", "choice", "int8: dynamic int8 quantization (CPU).", choices=("int8",)),
    Param("queue", help="Celery queue for the chunks, e.g. gpu.", max_length=100, doors=frozenset({"cli"})),
    Param("reason", help="Why the job runs (a service starting it says, e.g. a promotion).", doors=frozenset()),
)
COMMON = dict(prepare=_prepare, predictor=_predictor, before_plan=_before_plan, after_finish=_rank_annotation_queue,
              outcome=_outcome, uses_model_version=True)

register(JobKindSpec(
    name=PRE_ANNOTATE,
    label="Pre-annotate",
    params=(*SELECTION_PARAMS,
            Param("score", "bool", "Pre-annotate: also store each note's ADE probability and flag it "
                  "(classify always does).", label="Score and flag", form_initial=True)),
    write_chunk=pre_annotations_write,
    audit_keys=("selection", "score", "reason"),
    **COMMON,
))
register(JobKindSpec(
    name=CLASSIFY,
    label="Classify",
    params=SELECTION_PARAMS,
    write_chunk=classifications_write,
    audit_keys=("selection", "reason"),
    **COMMON,
))
