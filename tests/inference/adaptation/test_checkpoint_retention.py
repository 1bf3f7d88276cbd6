"""Abandoned adaptation checkpoints (a cancelled or failed adapt job's folder) are removed once older than the
retention period; recent ones, succeeded jobs' folders and a folder in use as a project's encoder stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.services.corpus_import import project_get_or_create
from inference.adaptation.retention import adaptation_checkpoints_expire
from inference.adaptation.services import CHECKPOINTS, adaptation_dir
from inference.models import Job, JobState

pytestmark = pytest.mark.django_db


def _job(project, state, days_ago):
    job = Job.objects.create(project=project, kind="adapt", state=state,
                             finished_at=timezone.now() - timedelta(days=days_ago))
    folder = adaptation_dir(project=project, job=job) / CHECKPOINTS / "step-000200"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    return job, adaptation_dir(project=project, job=job)


def test_abandoned_checkpoints_are_removed_after_the_retention_period(settings, tmp_path):
    settings.ADE_REVIEW_MODEL_DIR = tmp_path / "models"
    settings.ADE_REVIEW_FILE_RETENTION_DAYS = 30
    project = project_get_or_create(slug="zh-ward", name="Chinese ward")
    _, old_cancelled = _job(project, JobState.CANCELLED, 31)
    _, old_failed = _job(project, JobState.FAILED, 40)
    _, recent_failed = _job(project, JobState.FAILED, 3)
    _, succeeded = _job(project, JobState.SUCCEEDED, 90)
    _, in_use = _job(project, JobState.FAILED, 90)
    project.encoder_path = str(in_use)
    project.save(update_fields=["encoder_path"])
    _, running = _job(project, JobState.RUNNING, 90)

    settings.MEDIA_ROOT = tmp_path / "media"  # no uploads or exports: the beat's count is the folders'
    from inference.tasks import stored_files_expire_task

    assert stored_files_expire_task() == 2  # the hourly retention beat
    assert not old_cancelled.exists() and not old_failed.exists()
    assert recent_failed.is_dir() and succeeded.is_dir() and in_use.is_dir() and running.is_dir()
    assert adaptation_checkpoints_expire() == 0  # nothing left to remove: safe to run again
    assert adaptation_checkpoints_expire(days=0) == 0  # 0 keeps them for ever
    assert recent_failed.is_dir()
