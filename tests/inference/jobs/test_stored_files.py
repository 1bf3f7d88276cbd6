"""Uploads and exports are private to the app's user (0600 / 0640) and removed after the retention period."""

from __future__ import annotations

import os
import stat
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from inference.jobs.file_retention import stored_files_expire
from inference.models import Job, JobState

from .conftest import make_notes

pytestmark = pytest.mark.django_db

JSONL = b'{"id": "n1", "text": "Aspirin, then a rash."}\n'


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_uploads_are_written_0600_and_exports_0640(
    client, project, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    old = os.umask(0o022)  # a permissive umask must not make them world-readable
    try:
        client.force_login(admin_user)
        url = reverse("inference:job-list", args=[project.slug])
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                url, {"kind": "import", "format": "jsonl", "upload": SimpleUploadedFile("n.jsonl", JSONL)}
            )
            client.post(url, {"kind": "export", "format": "jsonl", "source": "gold"})
    finally:
        os.umask(old)
    imported, exported = Job.objects.order_by("pk")
    assert imported.state == exported.state == JobState.SUCCEEDED, (imported.message, exported.message)
    (upload,) = (p for p in (tmp_path / "imports").rglob("*") if p.is_file())
    assert mode(upload) == 0o600 and mode(upload.parent) == 0o700
    export = tmp_path / exported.result_path  # a key of the store: here the local disk under MEDIA_ROOT
    assert exported.result_path == f"exports/{project.pk}/{export.name}"
    assert mode(export) == 0o640
    assert not mode(export) & stat.S_IROTH


def test_files_older_than_the_retention_period_are_removed_unless_a_job_still_needs_them(
    project, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.ADE_REVIEW_FILE_RETENTION_DAYS = 7
    old = time.time() - 8 * 86400

    def stored(rel: str, age: float | None = None):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        if age is not None:
            os.utime(path, (age, age))
        return path

    expired_upload = stored("imports/1/20200101-aa/notes.jsonl", old)
    expired_export = stored("exports/job-1-ward-jsonl.zip", old)
    expired_api_export = stored("exports/1/abc.zip", old)
    recent = stored("exports/job-2-ward-jsonl.zip")
    needed = stored("imports/1/20200101-bb/queued.jsonl", old)
    Job.objects.create(project=project, kind="import", parameters={"path": "imports/1/20200101-bb/queued.jsonl",
                                                                   "format": "jsonl"})
    outside = stored("elsewhere/keep.txt", old)

    removed = stored_files_expire()

    assert removed == 3
    for path in (expired_upload, expired_export, expired_api_export):
        assert not path.exists()
    assert not expired_upload.parent.exists()  # the upload's own folder goes with it
    assert recent.exists() and needed.exists() and outside.exists()
    settings.ADE_REVIEW_FILE_RETENTION_DAYS = 0  # 0 keeps files forever
    os.utime(recent, (old, old))
    assert stored_files_expire() == 0 and recent.exists()


def test_beat_expires_stored_files(settings, tmp_path):
    from inference.tasks import stored_files_expire_task

    settings.MEDIA_ROOT = tmp_path
    assert "inference.stored_files_expire" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert stored_files_expire_task() == 0


def test_an_expired_export_is_gone_from_its_job_page_not_an_error(
    client, project, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    settings.ADE_REVIEW_FILE_RETENTION_DAYS = 1
    make_notes(project, 2)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("inference:job-list", args=[project.slug]), {"kind": "export", "format": "jsonl"})
    job = Job.objects.get()
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=2))
    past = time.time() - 2 * 86400
    os.utime(tmp_path / job.result_path, (past, past))
    assert stored_files_expire() == 1
    assert client.get(reverse("inference:job-download", args=[project.slug, job.pk])).status_code == 404
