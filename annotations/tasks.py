"""The annotations app's Celery tasks (found by `app.autodiscover_tasks()`; names are stable)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(name="annotations.assignments_release_stale", autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=2, max_retries=3, acks_late=True, reject_on_worker_lost=True)
def assignments_release_stale_task() -> int:
    """Beat: give the notes of assignments nobody touched within their project's timeout back to the pool."""
    from annotations.services.assignment import assignments_release_stale

    return assignments_release_stale()
