"""Retention of abandoned adaptation checkpoints.

An `adapt` job that was cancelled, or failed when its worker died, leaves its directory of checkpoints on the
worker's disk (hundreds of MB for MiniLM, GB for larger encoders): a later job with the same settings continues
from them (services._carry_checkpoints). Past ADE_REVIEW_FILE_RETENTION_DAYS after the job ended nobody will,
and the directory is removed (the hourly retention beat calls `adaptation_checkpoints_expire`). A succeeded
job's directory is left alone (it may be the project's encoder), and so is any directory a project's encoder
points into.
"""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from annotations.models import Project
from inference.adaptation.selectors import ADAPT
from inference.adaptation.services import adaptation_dir
from inference.models import Job, JobState

logger = logging.getLogger(__name__)


def adaptation_checkpoints_expire(*, days: int | None = None) -> int:
    """Remove the directories of adapt jobs that ended cancelled or failed more than `days` ago (default
    ADE_REVIEW_FILE_RETENTION_DAYS; 0 keeps them). Result: the number of directories removed."""
    days = settings.ADE_REVIEW_FILE_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    in_use = [
        Path(p).resolve() for p in Project.objects.exclude(encoder_path="").values_list("encoder_path", flat=True)
    ]
    removed = 0
    jobs = Job.objects.filter(
        kind=ADAPT, state__in=(JobState.CANCELLED, JobState.FAILED), finished_at__lt=cutoff
    ).select_related("project")
    for job in jobs.iterator():
        directory = adaptation_dir(project=job.project, job=job).resolve()
        if not directory.is_dir() or any(p == directory or directory in p.parents for p in in_use):
            continue
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            removed += 1
    if removed:
        logger.info("retention: %d abandoned adaptation checkpoint folder(s) older than %d days removed", removed, days)
    return removed
