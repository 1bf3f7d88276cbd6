"""Reads for jobs and model versions; visibility is the caller's project role (annotations.permissions)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Length

from ade_review.storage import file_storage, stored_key_check
from annotations.errors import ApplicationError
from annotations.formats.detect import ProblemSummary, problems_summarise
from annotations.models import (
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    Note,
    Project,
    ReviewStatus,
)
from inference.jobs.registry import kind_get
from inference.models import Job, JobError, ModelVersion

SELECTIONS = ("all", "unreviewed", "unlabelled", "unscored", "filter")
FILTER_FIELDS = ("unit", "note_type", "author_role", "external_id__startswith")


def note_selection(*, project: Project, selection: str, filters: dict | None = None) -> QuerySet[Note]:
    """The notes a job works on: all, not yet reviewed, unlabelled (not reviewed and without gold: what
    annotators still have to do), not yet scored, or a field filter.

    Errors: ApplicationError("bad_selection") for an unknown selection or filter field.
    """
    notes = Note.objects.filter(project=project)
    if selection == "all":
        return notes
    if selection == "unreviewed":
        return notes.filter(review_status=ReviewStatus.UNREVIEWED)
    if selection == "unlabelled":
        return notes_unlabelled(notes)
    if selection == "unscored":
        return notes.filter(ade_probability__isnull=True)
    if selection == "filter":
        filters = {k: v for k, v in (filters or {}).items() if v not in ("", None)}
        unknown = set(filters) - set(FILTER_FIELDS)
        if unknown or not filters:
            raise ApplicationError(
                "bad_selection", f"Filter on some of {', '.join(FILTER_FIELDS)} (got {sorted(filters)})."
            )
        return notes.filter(**filters)
    raise ApplicationError(
        "bad_selection", f"Unknown selection {selection!r}; use one of {', '.join(SELECTIONS)}."
    )


def notes_unlabelled(notes: QuerySet[Note]) -> QuerySet[Note]:
    """Notes nobody has submitted and that have no gold set (an imported gold corpus is labelled)."""
    labelled = AnnotationSet.objects.filter(
        note=OuterRef("pk"), status__in=[AnnotationSetStatus.GOLD, AnnotationSetStatus.SUBMITTED]
    ).exclude(source_kind=AnnotationSetSource.MODEL)
    return notes.filter(review_status=ReviewStatus.UNREVIEWED).exclude(Exists(labelled))


def note_ids_by_length(notes: QuerySet[Note]) -> list[int]:
    """Note ids ordered by text length, so that chunks (and the batches inside them) pad little."""
    return list(notes.annotate(n=Length("text")).order_by("n", "pk").values_list("pk", flat=True))


def job_list(*, project: Project, limit: int = 50) -> QuerySet[Job]:
    return Job.objects.filter(project=project).select_related("model_version", "created_by")[:limit]


def job_get(*, project: Project, job_id: int) -> Job:
    """One job of the project (Job.DoesNotExist when it belongs elsewhere)."""
    return Job.objects.select_related("model_version", "created_by", "project").get(
        project=project, pk=job_id
    )


def job_parameters_shown(*, job: Job) -> dict:
    """A job's parameters as every response shows them: an import's server path becomes the file's name
    (`file`), so no response reveals where the server keeps its files."""
    shown = dict(job.parameters or {})
    shown.pop("outcome", None)  # what the job did: `job_outcome`, not a parameter
    path = shown.pop("path", None)
    if path:
        shown["file"] = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    return shown


def job_result_file(*, job: Job) -> str | None:
    """The stored file a finished job made for download (an export), as a key of the store, or None when it
    has none or it is gone (expired). Only files under the job's own project's exports folder
    (exports/<project id>/) count, whatever the job records: the one rule both download doors follow."""
    key = stored_key_check(job.result_path, prefix=f"exports/{job.project_id}")
    if key is None or not file_storage().exists(key):
        return None
    return key


def job_error_list(*, job: Job, limit: int | None = 200) -> QuerySet[JobError]:
    """A job's errors in the order they were found, with the note's external id only (the note text is
    never loaded); `limit` None: all of them (page them with a Paginator)."""
    errors = (
        JobError.objects.filter(job=job)
        .select_related(None)
        .order_by("pk")
        .values("pk", "message", "created_at", "note_id", "note__external_id")
    )
    return errors if limit is None else errors[:limit]


def job_error_summary(*, job: Job) -> ProblemSummary:
    """A job's errors summed up: counts per reason, each type the schema lacks once, and what to do
    (annotations.formats.detect.problems_summarise). Reads the messages only."""
    messages = JobError.objects.filter(job=job).order_by("pk").values_list("message", flat=True)
    return problems_summarise(messages.iterator(chunk_size=2000))


@dataclass(frozen=True)
class JobOutcome:
    """What a finished job did, in figures (the page and the API add the links).

    Model jobs: `notes` done, `flagged` (of those notes, flagged now; classification and scored
    pre-annotation only), `prelabels` (entities and relations in
    the model's sets of those notes), `prelabelled_notes`, `flagged_notes` (up to 10 (id, external id)
    pairs, most probable first). Imports: `imported`, `already_present`, `skipped`, `entities`,
    `relations`, `events`, `format`. Exports: `exported`, `has_file`.
    """

    kind: str
    figures: dict
    flagged_notes: tuple[tuple[int, str], ...] = ()
    template: str = ""  # the kind's partial that says it on the job page (templates/inference/outcomes/)
    verb: str = ""  # what the kind did to the notes ("pre-annotated", "classified")


def job_outcome(*, job: Job) -> JobOutcome | None:
    """What a finished job did (None while it runs): its kind's `outcome` (inference.jobs.registry)."""
    if not job.is_finished:
        return None
    report = kind_get(job.kind).outcome
    return report(job) if report is not None else JobOutcome(kind=job.kind, figures={})


def model_version_list(*, project: Project) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(project=project).order_by("-is_active", "-created_at")


def projects_with_unscored_notes() -> QuerySet[Project]:
    """Projects that have an active model and notes without an ADE probability."""
    return Project.objects.filter(
        Q(model_versions__is_active=True), Q(notes__ade_probability__isnull=True)
    ).distinct()
