"""Celery tasks: take ids, call one service, safe to run twice, retry only on declared transient errors.

Every task is acks_late with reject_on_worker_lost (settings), so a worker killed mid-task leaves the
message to be delivered again; the services make a second run write nothing twice.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from annotations.signals import gold_changed
from inference.jobs import engine as jobs

logger = logging.getLogger(__name__)

# Errors worth retrying: the database or the broker went away for a moment. Anything else is a bug or a
# bad input, recorded on the job rather than retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)
RETRY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 6,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(name="inference.job_plan", **RETRY)
def job_plan_task(job_id: int) -> int:
    """Split a model job into chunks and enqueue them."""
    return len(jobs.job_plan(job_id=job_id))


@shared_task(name="inference.job_chunk", **RETRY)
def job_chunk_task(job_id: int, index: int) -> bool:
    """Predict and write one chunk of a model job (routed to the model queue: `gpu` where configured)."""
    return jobs.job_chunk_run(job_id=job_id, index=index)


@shared_task(name="inference.job_single", **RETRY)
def job_single_task(job_id: int) -> None:
    """Run a single-run job (import, export, ...)."""
    jobs.job_single_run(job_id=job_id)


@shared_task(name="inference.train", **RETRY)
def train_task(job_id: int) -> None:
    """Run a single-run job of a kind that runs where models run (training; routed to the model queue, like
    the chunks). The task keeps its historical name."""
    jobs.job_single_run(job_id=job_id)


@shared_task(name="inference.annotation_queue_rank", **RETRY)
def annotation_queue_rank_task(project_id: int) -> dict:
    """Re-rank a project's unreviewed notes for annotation (after a model job or a policy change)."""
    from annotations.models import Project
    from inference.learning.annotation_queue import annotation_queue_rank

    project = Project.objects.filter(pk=project_id).first()
    return annotation_queue_rank(project=project) if project is not None else {}


@shared_task(name="inference.retrain_maybe", **RETRY)
def retrain_maybe_task(project_id: int) -> int | None:
    """After gold changed: queue a retrain when the project's policy says enough new gold has arrived."""
    from inference.learning.retraining import retrain_maybe

    job = retrain_maybe(project_id=project_id)
    return job.pk if job is not None else None


@shared_task(name="inference.classify_new_notes", **RETRY)
def classify_new_notes_task() -> list[int]:
    """Beat: classify newly arrived (unscored) notes of projects that have an active model."""
    from inference.serving.classification import classify_new_notes

    return [job.pk for job in classify_new_notes()]


@shared_task(name="inference.jobs_reap_stale", **RETRY)
def jobs_reap_stale_task() -> list[int]:
    """Beat: fail the running jobs whose worker stopped (no heartbeat for ADE_REVIEW_JOB_LEASE_S)."""
    return jobs.jobs_reap_stale()


@shared_task(name="inference.stored_files_expire", **RETRY)
def stored_files_expire_task() -> int:
    """Beat: delete uploads and export files older than ADE_REVIEW_FILE_RETENTION_DAYS, and the checkpoints of
    adapt jobs abandoned (cancelled, failed) longer ago than that."""
    from inference.adaptation.retention import adaptation_checkpoints_expire
    from inference.jobs.file_retention import stored_files_expire

    return stored_files_expire() + adaptation_checkpoints_expire()


@receiver(gold_changed, dispatch_uid="retrain_on_gold_changed")
def retrain_on_gold_changed(sender, project_id, note_ids, **kwargs) -> None:
    """A submission, sign-off or gold set may complete the policy's count: check in a task, not in the
    request that made the change (the check reads every gold set of the project)."""
    retrain_maybe_task.delay(project_id)
