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

Every job reaches a final state. Each run (planning, a chunk, an import, export or training) is guarded:
any error but a transient database one fails the job with a safe message (the error's kind, never its
text, which may quote a note or name a server path). A worker that dies cannot fail its job, so running
jobs write a heartbeat as they progress (`heartbeat_at`: each batch of a chunk, each progress update of
an import, export or training) and `jobs_reap_stale` (a beat task every minute, and job creation) fails
those whose heartbeat is older than ADE_REVIEW_JOB_LEASE_S, which also frees a stuck training job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.formats.document import Document
from annotations.models import Note, Project
from annotations.services.document_store import note_metadata
from inference.jobs.registry import JobKindSpec, JobRequest, NoteError, kind_get
from inference.jobs.selectors import note_ids_by_length, note_selection
from inference.models import FINISHED_STATES, Job, JobChunk, JobError, JobState, ModelVersion

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 50
DEFAULT_BATCH_SIZE = 16
# Errors a task retries (the database went away for a moment); everything else fails the job.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
WORKER_STOPPED = "the worker stopped"
T = TypeVar("T")


@dataclass
class ChunkOutcome:
    """What a chunk produced: predictions per note id and safe error messages per note id."""

    predictions: dict[int, object] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)


def _safe_message(exc: BaseException) -> str:
    """An error message that cannot carry note text: our own errors say what they say, others their type."""
    if isinstance(exc, NoteError):
        return f"malformed note: {exc}"
    if isinstance(exc, ApplicationError):
        return f"{exc.code}: {exc.message}"[:500]
    return f"the model failed on this note ({type(exc).__name__})"


def _failure_message(what: str, exc: BaseException) -> str:
    """Why a job failed, for people: our own errors say what they say, any other its kind only."""
    if isinstance(exc, ApplicationError):
        return f"{what} failed: {exc.code}: {exc.message}"[:1000]
    return f"{what} failed ({type(exc).__name__})"


def _guarded(job_id: int, what: str, run: Callable[[], T], default: T) -> T:
    """`run()`; on any error but a transient database one (which the task retries, and which the reaper
    catches should the retries run out) the job is failed with a safe message and `default` returned."""
    try:
        return run()
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - every job reaches a final state, whatever went wrong
        logger.error("job %s: %s failed with %s", job_id, what, type(exc).__name__, exc_info=settings.DEBUG)
        job_fail(job_id=job_id, message=_failure_message(what, exc))
        return default


def job_heartbeat(*, job_id: int) -> None:
    """Record that the worker running the job is alive (see jobs_reap_stale)."""
    Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(heartbeat_at=timezone.now())


class _Heartbeat:
    """A thread that writes the job's heartbeat every few seconds while a single run goes on: training,
    scoring the held-out notes or a long export may report progress more rarely than the lease. The thread
    dies with its worker, so a dead worker's job still goes stale."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.every = max(1.0, min(60.0, settings.ADE_REVIEW_JOB_LEASE_S / 3))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self.stop.wait(self.every):
                try:
                    job_heartbeat(job_id=self.job_id)
                except Exception as exc:  # noqa: BLE001 - a missed beat is harmless; the next one tries again
                    logger.warning("job %s: heartbeat not written (%s)", self.job_id, type(exc).__name__)
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def jobs_reap_stale(*, project: Project | None = None) -> list[int]:
    """Fail the running jobs whose worker stopped: no heartbeat for ADE_REVIEW_JOB_LEASE_S seconds.

    A model job whose chunks wait in the queue for a worker (none started, or all started ones complete
    while others wait) is waiting, not abandoned, and is left alone; one with a started, unfinished
    chunk and no heartbeat is not. Result: the ids of the jobs failed (message "the worker stopped ...").
    """
    lease = settings.ADE_REVIEW_JOB_LEASE_S
    cutoff = timezone.now() - timedelta(seconds=lease)
    waiting = JobChunk.objects.filter(job=OuterRef("pk"), attempts=0, completed_at__isnull=True)
    stale = Job.objects.filter(state=JobState.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    if project is not None:
        stale = stale.filter(project=project)
    reaped = []
    for job_id in stale.exclude(Exists(waiting)).values_list("pk", flat=True):
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=job_id, state=JobState.RUNNING).first()
            beat = job and (job.heartbeat_at or job.started_at)
            if job is None or beat is None or beat >= cutoff:  # finished or alive meanwhile
                continue
            minutes = max(1, round((timezone.now() - beat).total_seconds() / 60))
            message = (
                f"{WORKER_STOPPED}: no sign of life for {minutes} min (lease {lease} s); "
                f"{job.done} of {job.total} done. Start the job again."
            )
            JobError.objects.create(job=job, note=None, message=message)
            job.state, job.finished_at, job.message = JobState.FAILED, timezone.now(), message
            job.save(update_fields=["state", "finished_at", "message"])
        logger.warning("job %s (%s) reaped: %s", job_id, job.kind, message)
        reaped.append(job_id)
    return reaped


def job_create(
    *,
    project: Project | None,
    kind: str,
    parameters: dict | None = None,
    model_version: ModelVersion | None = None,
    created_by=None,
    any_import_path: bool = False,
    door: str | None = None,
) -> Job:
    """Create a queued job and enqueue its first task once the transaction commits.

    The kind (inference.jobs.registry) says which parameters it takes and checks the request: through
    `door` ("web", "api", "cli") only the parameters that door offers, unknown ones refused; None (a
    service starting a job) any of the kind's. A kind that runs a model version takes the project's active
    one when none is given. An import reads only a file uploaded to the project unless `any_import_path`
    (the command line). Jobs of the project whose worker stopped are reaped first, so a dead training job
    does not block the next. `project` None: a site-wide job (a terminology load), for kinds that take none.
    Errors: ApplicationError with code bad_kind, bad_parameters, and what the kind's check raises
    (no_model, bad_selection, training_busy, not_enough_gold, ...).
    """
    spec = kind_get(kind)
    if door is not None and door not in spec.doors:
        raise ApplicationError("bad_kind", f"{spec.label} jobs cannot be started this way.")
    checked = spec.clean_parameters(dict(parameters or {}), door=door)
    jobs_reap_stale(project=project)
    request = JobRequest(project=project, parameters=checked, model_version=model_version,
                         any_import_path=any_import_path)
    if spec.prepare is not None:
        request = spec.prepare(request)
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind=spec.name,
            parameters=request.parameters,
            model_version=request.model_version if spec.uses_model_version else None,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )
        _audit_job(AuditAction.JOB_START, job, created_by)
        transaction.on_commit(lambda: _enqueue_start(job.pk, spec))
    logger.info("job %s created: %s on %s", job.pk, spec.name, f"project {project.slug}" if project else "the site")
    return job


def _start_task(spec: JobKindSpec):
    """The task that starts a job of this kind: a chunked kind's planning, or its single run (on the model
    queue for a kind that runs where models run, e.g. training)."""
    from inference import tasks

    if spec.chunked:
        return tasks.job_plan_task
    return tasks.train_task if spec.model_queue else tasks.job_single_task


def _enqueue_start(job_id: int, spec: JobKindSpec) -> None:
    """Send the job's first task to the workers; without a broker (the embedded demo, with
    ADE_REVIEW_JOBS_IN_THREAD) run it in a background thread of this process instead, so the request that
    started the job returns at once and its page shows the progress bar and Cancel. A job started from
    inside such a thread (training's follow-up pre-annotation) runs in that thread, after it."""
    task = _start_task(spec)
    eager = task.app.conf.task_always_eager
    if eager and settings.ADE_REVIEW_JOBS_IN_THREAD and not getattr(_in_job_thread, "active", False):
        # Not a daemon: a command that started the job waits for it (job_threads_join) before exiting.
        thread = threading.Thread(target=_run_in_thread, args=(task, job_id), name=f"{spec.name}-job-{job_id}")
        with _job_threads_lock:
            _job_threads.add(thread)
        thread.start()
    else:
        task.delay(job_id)


_in_job_thread = threading.local()
_job_threads: set[threading.Thread] = set()
_job_threads_lock = threading.Lock()


def _run_in_thread(task, job_id: int) -> None:
    """The embedded demo's stand-in for a worker: run the job's task (its chunks run eagerly, in this
    thread), then release this thread's database connection."""
    from django.db import connection

    _in_job_thread.active = True
    try:
        task.apply(args=(job_id,))
    finally:
        connection.close()
        with _job_threads_lock:
            _job_threads.discard(threading.current_thread())


def job_threads_join(*, timeout: float | None = None) -> bool:
    """Wait for the jobs running in background threads of this process (the embedded demo) to end.

    Commands that start jobs call it before they report or exit; tests call it before the database is
    reset. Args: `timeout` in seconds for all of them together (None: as long as they take).
    Result: True when none is left running.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _job_threads_lock:
            running = [t for t in _job_threads if t.is_alive() and t is not threading.current_thread()]
        if not running:
            return True
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        running[0].join(timeout=left)


def _enqueue_chunks(job: Job, indexes: Sequence[int]) -> None:
    from inference import tasks

    queue = job.parameters.get("queue") or None
    for index in indexes:
        options = {"queue": queue} if queue else {}
        tasks.job_chunk_task.apply_async((job.pk, index), **options)


def job_plan(*, job_id: int) -> list[int]:
    """Split a model job into chunks of note ids (once) and enqueue the chunks not yet complete.

    Safe to run twice: chunks are created only when the job has none; pending ones are enqueued again
    (a chunk that runs twice writes once). A model version whose files are gone fails the job here.
    Result: the indexes enqueued.
    """
    return _guarded(job_id, "planning the job", lambda: _plan(job_id), [])


def _plan(job_id: int) -> list[int]:
    job = Job.objects.select_related("model_version", "project").get(pk=job_id)
    spec = kind_get(job.kind)
    if spec.before_plan is not None:
        spec.before_plan(job)  # e.g. the model version's files are gone: fail now, not in every chunk
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
            job.started_at = job.heartbeat_at = timezone.now()
            job.save(update_fields=["total", "state", "started_at", "heartbeat_at"])
            if not ids:
                job_finish(job)
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
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever one note does to the model costs that note only
        if len(docs) == 1:
            out.errors[notes[0].pk] = _safe_message(exc)
            logger.warning("note %s failed in the model: %s", notes[0].pk, type(exc).__name__)
            return
    for note, doc in zip(notes, docs, strict=True):
        _predict_isolating(predictor, [note], [doc], batch_size, out)


def job_chunk_run(*, job_id: int, index: int) -> bool:
    """Run one chunk of a model job; returns True when this call completed it.

    Does nothing when the job is finished or cancelled or the chunk is already complete. Any error but a
    transient database one fails the job (a model that cannot be loaded, a bug), with a safe message.
    """
    return _guarded(job_id, f"chunk {index}", lambda: _chunk_run(job_id, index), False)


def _chunk_run(job_id: int, index: int) -> bool:
    with transaction.atomic():
        chunk = JobChunk.objects.select_for_update().filter(job_id=job_id, index=index).first()
        job = Job.objects.select_related("model_version", "project").filter(pk=job_id).first()
        if chunk is None or job is None or chunk.completed_at or job.state in FINISHED_STATES:
            return False
        chunk.attempts = F("attempts") + 1
        chunk.save(update_fields=["attempts"])
    job_heartbeat(job_id=job_id)
    spec = kind_get(job.kind)
    batch_size = int(job.parameters.get("batch_size") or DEFAULT_BATCH_SIZE)
    predictor = spec.predictor(job)
    notes, docs = _documents(chunk.note_ids)
    outcome = ChunkOutcome()
    for start in range(0, len(docs), batch_size):
        if _state_of(job_id) in FINISHED_STATES:
            logger.info("job %s chunk %s stopped: job is %s", job_id, index, _state_of(job_id))
            return False
        job_heartbeat(job_id=job_id)
        _predict_isolating(
            predictor,
            notes[start : start + batch_size],
            docs[start : start + batch_size],
            batch_size,
            outcome,
        )
    return job_chunk_complete(job_id=job_id, index=index, notes=notes, outcome=outcome, write=spec.write_chunk)


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
        Job.objects.filter(pk=job_id).update(
            done=F("done") + done, failed=F("failed") + len(errors), heartbeat_at=timezone.now()
        )
        job.refresh_from_db(fields=["done", "failed", "total"])
        # Notes deleted since planning count as neither done nor failed; shrink the total for them.
        missing = len(chunk.note_ids) - len(notes)
        if missing:
            Job.objects.filter(pk=job_id).update(total=F("total") - missing)
            job.refresh_from_db(fields=["total"])
        if not job.chunks.filter(completed_at__isnull=True).exists():
            job_finish(job)
    return True


def job_finish(job: Job, *, message: str = "") -> None:
    """Set the final state from the counts (call inside a transaction holding the job's lock); the kind's
    `after_finish` runs once the transaction commits, when the job did something."""
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
    after = kind_get(job.kind).after_finish
    if after is not None and job.done:
        transaction.on_commit(lambda: after(job))


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
        _audit_job(AuditAction.JOB_CANCEL, locked, user)
    logger.info("job %s cancelled", job.pk)
    return locked


def _audit_job(action: str, job: Job, user) -> None:
    """A job's start or cancel record, in the same transaction, whatever the door (page, API, command, the
    retrain policy's task): the kind and the parameters that say what it does, never a server path."""
    params = job.parameters or {}
    details = {"kind": job.kind, "model_version": job.model_version_id}
    for key in kind_get(job.kind).audit_keys:
        if key in params:
            details[key] = params[key]
    if params.get("path"):
        details["upload"] = Path(params["path"]).name
    actor = user if getattr(user, "is_authenticated", False) else None
    audit_record(action=action, actor=actor, project=job.project, object_type="job", object_id=job.pk,
                 details=details)


def job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed with a job-level error (not tied to a note)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in FINISHED_STATES:  # deleted, or finished meanwhile
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


class ProgressWriter:
    """Write progress counts to the job at most every `every` seconds."""

    def __init__(self, job_id: int, every: float = 0.5):
        self.job_id, self.every, self.last = job_id, every, 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            updates = {"done": done} if total is None else {"done": done, "total": max(total, done)}
            Job.objects.filter(pk=self.job_id, state=JobState.RUNNING).update(
                **updates, heartbeat_at=timezone.now()
            )


def job_single_run(*, job_id: int) -> None:
    """Run a single-run job (import, export, training, ...) from the start with its kind's `run` (a
    redelivered run starts over, which is safe: each kind writes its result in the transaction that
    finishes the job). Any error but a transient database one fails the job with a safe message."""
    _guarded(job_id, "the job", lambda: _single_run(job_id), None)


def _single_run(job_id: int) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update(of=("self",)).select_related("project").get(pk=job_id)
        if job.state in FINISHED_STATES:
            return
        job.errors.all().delete()
        job.state, job.done, job.failed = JobState.RUNNING, 0, 0
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["state", "started_at", "heartbeat_at", "done", "failed"])
    spec = kind_get(job.kind)
    if spec.run is None:
        job_fail(job_id=job_id, message=f"{job.kind} jobs run in chunks, not here")
        return
    with _Heartbeat(job_id):
        spec.run(job)
