"""Celery tasks: take ids, call one service, safe to run twice, retry only on declared transient errors.

Every task is acks_late with reject_on_worker_lost (settings), so a worker killed mid-task leaves the
message to be delivered again; the services make a second run write nothing twice.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .services import jobs

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
    """Run an import or export job."""
    jobs.job_single_run(job_id=job_id)


@shared_task(name="inference.classify_new_notes", **RETRY)
def classify_new_notes_task() -> list[int]:
    """Beat: classify newly arrived (unscored) notes of projects that have an active model."""
    return [job.pk for job in jobs.classify_new_notes()]
