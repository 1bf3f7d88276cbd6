"""Jobs: creation, planning into chunks, chunk runs, cancellation, progress. Only this module moves a job
between states.

Crash safety: a model job is split into JobChunk rows (a fixed list of note ids each). A chunk task
predicts outside any transaction, then, in ONE transaction holding the job's row lock, writes its
results, its errors, marks the chunk complete and adds its counts to the job. A worker killed before
that commit leaves nothing behind (acks_late: the chunk is delivered again and redone); a chunk
delivered twice finds itself complete and writes nothing. So the job's counts are exact and every
write is idempotent (annotation sets are replaced, note scores overwritten).

Cancellation is cooperative: chunks check the job's state before starting, between batches and before
committing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations.errors import ApplicationError
from annotations.formats.document import Document
from annotations.models import Note, Project
from annotations.services.document_store import note_metadata

from ..models import FINISHED_STATES, Job, JobChunk, JobError, JobKind, JobState, ModelVersion
from ..selectors import SELECTIONS, note_ids_by_length, note_selection
from .predictor import MalformedNote, predictor_for_model_version

logger = logging.getLogger(__name__)

MODEL_KINDS = (JobKind.PRE_ANNOTATE, JobKind.CLASSIFY)
DEFAULT_CHUNK_SIZE = 50
DEFAULT_BATCH_SIZE = 16


@dataclass
class ChunkOutcome:
    """What a chunk produced: predictions per note id and safe error messages per note id."""

    predictions: dict[int, object] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)


def _safe_message(exc: BaseException) -> str:
    """An error message that cannot carry note text: our own errors say what they say, others their type."""
    if isinstance(exc, MalformedNote):
        return f"malformed note: {exc}"
    if isinstance(exc, ApplicationError):
        return f"{exc.code}: {exc.message}"[:500]
    return f"the model failed on this note ({type(exc).__name__})"


def job_create(
    *,
    project: Project,
    kind: str,
    parameters: dict | None = None,
    model_version: ModelVersion | None = None,
    created_by=None,
    any_import_path: bool = False,
) -> Job:
    """Create a queued job and enqueue its first task once the transaction commits.

    Model jobs (pre_annotate, classify) take `selection` (all | unreviewed | unlabelled | unscored | filter, with
    `filter`), `chunk_size`, `batch_size`, `quantize` ("int8"), `queue` ("gpu"); the project's active model
    version is used when none is given; pre_annotate with `score` also stores the ADE probability and
    flag. Import takes `path`, `format`; export takes `format`, `source`; train takes `start_from`
    (current | base), `epochs`, `reason` (see inference.services.retraining).
    Import paths must lie under MEDIA_ROOT/imports or ADE_REVIEW_DATA unless `any_import_path` (the CLI).
    Errors: ApplicationError with code bad_kind, no_model, bad_selection, bad_parameters, and for
    training training_busy, not_enough_gold.
    """
    parameters = dict(parameters or {})
    if kind not in JobKind.values:
        raise ApplicationError("bad_kind", f"Unknown job kind {kind!r}.")
    if kind == JobKind.TRAIN:
        from .retraining import train_parameters_check

        parameters = train_parameters_check(project=project, parameters=parameters)
    if kind in MODEL_KINDS:
        if model_version is None:
            model_version = ModelVersion.objects.filter(project=project, is_active=True).first()
        if model_version is None or model_version.project_id != project.pk:
            raise ApplicationError(
                "no_model", "This project has no model version to run; add or activate one."
            )
        parameters.setdefault("selection", "all")
        if parameters["selection"] not in SELECTIONS:
            raise ApplicationError("bad_selection", f"Unknown selection {parameters['selection']!r}.")
        note_selection(project=project, selection=parameters["selection"], filters=parameters.get("filter"))
        for key, default in (("chunk_size", DEFAULT_CHUNK_SIZE), ("batch_size", DEFAULT_BATCH_SIZE)):
            value = int(parameters.get(key) or default)
            if not 1 <= value <= 10_000:
                raise ApplicationError("bad_parameters", f"{key} must be between 1 and 10000.")
            parameters[key] = value
        if parameters.get("quantize") not in (None, "", "int8"):
            raise ApplicationError("bad_parameters", "quantize is int8 or nothing.")
    elif kind == JobKind.IMPORT:
        if not parameters.get("path") or not parameters.get("format"):
            raise ApplicationError("bad_parameters", "An import needs a path and a format.")
        from annotations.formats.registry import READERS

        if parameters["format"] not in READERS:
            raise ApplicationError(
                "bad_parameters",
                f"Unknown import format {str(parameters['format'])[:40]!r}; known: {', '.join(sorted(READERS))}.",
            )
        parameters["path"] = str(parameters["path"])
        source = Path(parameters["path"]).resolve()
        roots = [(Path(settings.MEDIA_ROOT) / "imports").resolve(), Path(settings.ADE_REVIEW_DATA).resolve()]
        if not any_import_path and not any(root == source or root in source.parents for root in roots):
            raise ApplicationError(
                "bad_parameters", "Imports are read from the server's imports or data folder."
            )
        if not source.exists():
            raise ApplicationError("bad_parameters", "The import path does not exist on the server.")
    elif kind == JobKind.EXPORT:
        parameters.setdefault("format", "jsonl")
        parameters.setdefault("source", "gold")
        from annotations.formats.registry import WRITERS
        from annotations.services.corpus_export import annotation_set_filter

        if parameters["format"] not in WRITERS:
            raise ApplicationError(
                "bad_parameters",
                f"Unknown export format {str(parameters['format'])[:40]!r}; known: {', '.join(sorted(WRITERS))}.",
            )

        annotation_set_filter(parameters["source"])
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind=kind,
            parameters=parameters,
            model_version=model_version if kind in MODEL_KINDS else None,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )
        transaction.on_commit(lambda: _enqueue_start(job.pk, kind))
    logger.info("job %s created: %s on project %s", job.pk, kind, project.slug)
    return job


def _enqueue_start(job_id: int, kind: str) -> None:
    from inference import tasks

    if kind in MODEL_KINDS:
        tasks.job_plan_task.delay(job_id)
    elif kind == JobKind.TRAIN:
        if settings.ADE_REVIEW_TRAIN_IN_THREAD and tasks.train_task.app.conf.task_always_eager:
            # Not a daemon: a command that started the job (start_job) waits for it before exiting.
            threading.Thread(target=_train_in_thread, args=(job_id,), name=f"train-job-{job_id}").start()
        else:
            tasks.train_task.delay(job_id)
    else:
        tasks.job_single_task.delay(job_id)


def _train_in_thread(job_id: int) -> None:
    """The embedded demo's stand-in for a worker: run the training task, then release this thread's
    database connection."""
    from django.db import connection

    from inference import tasks

    try:
        tasks.train_task.apply(args=(job_id,))
    finally:
        connection.close()


def _enqueue_chunks(job: Job, indexes: Sequence[int]) -> None:
    from inference import tasks

    queue = job.parameters.get("queue") or None
    for index in indexes:
        options = {"queue": queue} if queue else {}
        tasks.job_chunk_task.apply_async((job.pk, index), **options)


def job_plan(*, job_id: int) -> list[int]:
    """Split a model job into chunks of note ids (once) and enqueue the chunks not yet complete.

    Safe to run twice: chunks are created only when the job has none; pending ones are enqueued again
    (a chunk that runs twice writes once). Result: the indexes enqueued.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.state in FINISHED_STATES:
            return []
        if not job.chunks.exists():
            p = job.parameters
            notes = note_selection(project=job.project, selection=p["selection"], filters=p.get("filter"))
            ids = note_ids_by_length(notes)
            size = int(p.get("chunk_size") or DEFAULT_CHUNK_SIZE)
            JobChunk.objects.bulk_create(
                JobChunk(job=job, index=i, note_ids=ids[start : start + size])
                for i, start in enumerate(range(0, len(ids), size))
            )
            job.total = len(ids)
            job.state = JobState.RUNNING
            job.started_at = timezone.now()
            job.save(update_fields=["total", "state", "started_at"])
            if not ids:
                _finish(job)
                return []
        pending = list(job.chunks.filter(completed_at__isnull=True).values_list("index", flat=True))
        transaction.on_commit(lambda: _enqueue_chunks(job, pending))
    logger.info("job %s planned: %d notes, %d chunks to run", job_id, job.total, len(pending))
    return pending


def _state_of(job_id: int) -> str:
    return Job.objects.filter(pk=job_id).values_list("state", flat=True).first() or JobState.CANCELLED


def _documents(note_ids: Sequence[int]) -> tuple[list[Note], list[Document]]:
    by_id = {n.pk: n for n in Note.objects.filter(pk__in=note_ids)}
    notes = [by_id[i] for i in note_ids if i in by_id]  # a note deleted since planning is simply skipped
    docs = [Document(id=n.external_id, text=n.text, metadata=note_metadata(n)) for n in notes]
    return notes, docs


def _predict_isolating(
    predictor, notes: list[Note], docs: list[Document], batch_size: int, out: ChunkOutcome
):
    """Predict a batch; if it fails, predict note by note so one bad note costs only itself."""
    try:
        for note, prediction in zip(notes, predictor.predict(docs, batch_size=batch_size), strict=True):
            out.predictions[note.pk] = prediction
        return
    except (MalformedNote, ValueError, RuntimeError, IndexError, KeyError, TypeError) as exc:
        if len(docs) == 1:
            out.errors[notes[0].pk] = _safe_message(exc)
            logger.warning("note %s failed in the model: %s", notes[0].pk, type(exc).__name__)
            return
    for note, doc in zip(notes, docs, strict=True):
        _predict_isolating(predictor, [note], [doc], batch_size, out)


def job_chunk_run(*, job_id: int, index: int) -> bool:
    """Run one chunk of a model job; returns True when this call completed it.

    Does nothing when the job is finished or cancelled or the chunk is already complete.
    """
    with transaction.atomic():
        chunk = JobChunk.objects.select_for_update().filter(job_id=job_id, index=index).first()
        job = Job.objects.select_related("model_version", "project").filter(pk=job_id).first()
        if chunk is None or job is None or chunk.completed_at or job.state in FINISHED_STATES:
            return False
        chunk.attempts = F("attempts") + 1
        chunk.save(update_fields=["attempts"])
    p = job.parameters
    batch_size = int(p.get("batch_size") or DEFAULT_BATCH_SIZE)
    predictor = predictor_for_model_version(job.model_version, quantize=p.get("quantize") or None)
    notes, docs = _documents(chunk.note_ids)
    outcome = ChunkOutcome()
    for start in range(0, len(docs), batch_size):
        if _state_of(job_id) in FINISHED_STATES:
            logger.info("job %s chunk %s stopped: job is %s", job_id, index, _state_of(job_id))
            return False
        _predict_isolating(
            predictor,
            notes[start : start + batch_size],
            docs[start : start + batch_size],
            batch_size,
            outcome,
        )
    writer = _writer(job.kind)
    return job_chunk_complete(job_id=job_id, index=index, notes=notes, outcome=outcome, write=writer)


def _writer(kind: str) -> Callable:
    if kind == JobKind.PRE_ANNOTATE:
        from .pre_annotation import pre_annotations_write

        return pre_annotations_write
    from .classification import classifications_write

    return classifications_write


def job_chunk_complete(
    *, job_id: int, index: int, notes: list[Note], outcome: ChunkOutcome, write: Callable
) -> bool:
    """Write a chunk's results, errors and counts in one transaction, exactly once.

    `write(job=, notes=, predictions=)` stores the predictions and returns {note_id: error message} for
    notes it refused. Result: False when the chunk was already complete or the job cancelled (nothing
    written).
    """
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(of=("self",))
            .select_related("model_version", "project")
            .get(pk=job_id)
        )
        chunk = JobChunk.objects.select_for_update().get(job_id=job_id, index=index)
        if chunk.completed_at or job.state in FINISHED_STATES:
            return False
        ok_notes = [n for n in notes if n.pk in outcome.predictions]
        refused = write(job=job, notes=ok_notes, predictions=outcome.predictions) if ok_notes else {}
        errors = {**outcome.errors, **refused}
        JobError.objects.bulk_create(
            [JobError(job=job, note_id=note_id, message=message) for note_id, message in errors.items()],
            ignore_conflicts=True,
        )
        done = len(notes) - len(errors)
        chunk.done, chunk.failed, chunk.completed_at = done, len(errors), timezone.now()
        chunk.save(update_fields=["done", "failed", "completed_at"])
        Job.objects.filter(pk=job_id).update(done=F("done") + done, failed=F("failed") + len(errors))
        job.refresh_from_db(fields=["done", "failed", "total"])
        # Notes deleted since planning count as neither done nor failed; shrink the total for them.
        missing = len(chunk.note_ids) - len(notes)
        if missing:
            Job.objects.filter(pk=job_id).update(total=F("total") - missing)
            job.refresh_from_db(fields=["total"])
        if not job.chunks.filter(completed_at__isnull=True).exists():
            _finish(job)
    return True


def _finish(job: Job, *, message: str = "") -> None:
    """Set the final state from the counts (call inside a transaction holding the job's lock)."""
    if job.failed == 0:
        job.state = JobState.SUCCEEDED
    elif job.done == 0:
        job.state = JobState.FAILED
    else:
        job.state = JobState.PARTIALLY_FAILED
    retried = job.chunks.filter(attempts__gt=1).count()
    parts = [message] if message else [f"{job.done} of {job.total} notes done, {job.failed} failed"]
    if retried:
        parts.append(f"{retried} chunk(s) ran again after an interrupted delivery (e.g. a worker was lost)")
    job.message = "; ".join(parts)
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "message", "finished_at"])
    logger.info("job %s finished: %s (%s)", job.pk, job.state, job.message)
    if job.kind in MODEL_KINDS and job.done:
        project_id = job.project_id
        transaction.on_commit(lambda: _enqueue_rank(project_id))


def _enqueue_rank(project_id: int) -> None:
    from inference import tasks

    tasks.annotation_queue_rank_task.delay(project_id)


def job_cancel(*, job: Job, user=None) -> Job:
    """Cancel a queued or running job; chunks in flight stop at their next check and write nothing.

    Errors: ApplicationError("job_finished") when the job is already finished.
    """
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            raise ApplicationError(
                "job_finished", f"This job already finished ({locked.get_state_display()})."
            )
        locked.state = JobState.CANCELLED
        locked.finished_at = timezone.now()
        who = f" by {user.username}" if getattr(user, "is_authenticated", False) else ""
        locked.message = f"cancelled{who} after {locked.done} of {locked.total} notes"
        locked.save(update_fields=["state", "finished_at", "message"])
    logger.info("job %s cancelled", job.pk)
    return locked


def job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed with a job-level error (not tied to a note)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.state in FINISHED_STATES:
            return
        JobError.objects.create(job=job, note=None, message=message[:1000])
        job.state, job.finished_at, job.message = JobState.FAILED, timezone.now(), message[:1000]
        job.save(update_fields=["state", "finished_at", "message"])


def job_progress(*, job: Job) -> dict:
    """Counts and timings for display, read fresh from the database."""
    job.refresh_from_db()
    elapsed = (
        ((job.finished_at or timezone.now()) - job.started_at).total_seconds() if job.started_at else 0.0
    )
    return {
        "id": job.pk,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "percent": job.percent,
        "finished": job.is_finished,
        "elapsed_s": round(elapsed, 1),
        "message": job.message,
    }


# Import and export: one task each, restartable from scratch (the import skips notes already present).


class _Throttled:
    """Write progress counts to the job at most every `every` seconds."""

    def __init__(self, job_id: int, every: float = 0.5):
        self.job_id, self.every, self.last = job_id, every, 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            updates = {"done": done} if total is None else {"done": done, "total": max(total, done)}
            Job.objects.filter(pk=self.job_id, state=JobState.RUNNING).update(**updates)


def job_single_run(*, job_id: int) -> None:
    """Run an import, export or training job from the start (a redelivered run starts over, which is
    safe: a training job writes its model version in the transaction that finishes the job)."""
    with transaction.atomic():
        job = Job.objects.select_for_update(of=("self",)).select_related("project").get(pk=job_id)
        if job.state in FINISHED_STATES:
            return
        job.errors.all().delete()
        job.state, job.started_at, job.done, job.failed = JobState.RUNNING, timezone.now(), 0, 0
        job.save(update_fields=["state", "started_at", "done", "failed"])
    if job.kind == JobKind.IMPORT:
        _import_run(job)
    elif job.kind == JobKind.EXPORT:
        _export_run(job)
    elif job.kind == JobKind.TRAIN:
        _train_run(job)
    else:
        job_fail(job_id=job_id, message=f"{job.kind} jobs cannot run here")


def _train_run(job: Job) -> None:
    from django.db import InterfaceError, OperationalError

    from .retraining import train_job_run

    try:
        train_job_run(job=job)
    except (OperationalError, InterfaceError):
        raise  # transient: the task retries and training starts over
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the message never carries note text
        logger.error("job %s: training failed with %s", job.pk, type(exc).__name__)
        job_fail(job_id=job.pk, message=f"training failed ({type(exc).__name__})")


def _import_run(job: Job) -> None:
    from annotations.services.corpus_import import corpus_import

    p = job.parameters
    progress = _Throttled(job.pk)
    try:
        report = corpus_import(
            project=job.project,
            path=Path(p["path"]),
            fmt=p["format"],
            source_name=p.get("source_name") or "import",
            progress=lambda read, imported: progress(read),
        )
    except ApplicationError as exc:
        job_fail(job_id=job.pk, message=f"{exc.code}: {exc.message}")
        return
    except (OSError, ValueError) as exc:
        job_fail(job_id=job.pk, message=f"the import could not be read ({type(exc).__name__})")
        return
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        JobError.objects.bulk_create(
            [JobError(job=locked, note=None, message=str(problem)[:500]) for problem in report.skipped]
        )
        locked.done = report.imported + report.already_present
        locked.failed = report.skipped_documents
        locked.total = locked.done + locked.failed
        locked.save(update_fields=["done", "failed", "total"])
        _finish(locked, message=report.summary().splitlines()[0])


def _export_run(job: Job) -> None:
    from annotations.services.corpus_export import corpus_export

    p = job.parameters
    out_dir = Path(settings.MEDIA_ROOT) / "exports"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"job-{job.pk}-{job.project.slug}-{p['format']}.zip"
    total = Note.objects.filter(project=job.project).count()
    Job.objects.filter(pk=job.pk).update(total=total)
    progress = _Throttled(job.pk)
    try:
        written = corpus_export(
            project=job.project,
            out=out,
            fmt=p["format"],
            source=p["source"],
            only_annotated=bool(p.get("only_annotated")),
            progress=progress,
        )
    except ApplicationError as exc:
        job_fail(job_id=job.pk, message=f"{exc.code}: {exc.message}")
        return
    except OSError as exc:
        job_fail(job_id=job.pk, message=f"the export could not be written ({type(exc).__name__})")
        return
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        locked.done, locked.total, locked.result_path = written, max(total, written), str(out)
        locked.save(update_fields=["done", "total", "result_path"])
        _finish(locked, message=f"exported {written} notes as {p['format']} ({p['source']})")


def classify_new_notes() -> list[Job]:
    """Start a classify job over unscored notes for every project with an active model and none running."""
    from ..selectors import projects_with_unscored_notes

    started = []
    for project in projects_with_unscored_notes():
        busy = Job.objects.filter(
            project=project, kind=JobKind.CLASSIFY, state__in=[JobState.QUEUED, JobState.RUNNING]
        ).exists()
        if not busy:
            started.append(
                job_create(project=project, kind=JobKind.CLASSIFY, parameters={"selection": "unscored"})
            )
    return started
