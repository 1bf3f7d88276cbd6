"""Every job reaches a final state: a catch-all with a safe message, model versions whose files are gone,
readers that isolate each document, brat ids that are no file names, and a reaper for jobs whose worker
stopped (which also frees a stuck training job)."""

from __future__ import annotations

import shutil
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from annotations.errors import ApplicationError
from annotations.models import Note
from annotations.services.corpus_import import text_hash
from inference.jobs.engine import job_create, jobs_reap_stale
from inference.jobs.import_uploads import import_upload_save
from inference.models import Job, JobChunk, JobError, JobState, ModelVersion

from .conftest import make_notes

pytestmark = pytest.mark.django_db


def run(django_capture_on_commit_callbacks, **kwargs) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(**kwargs)
    job.refresh_from_db()
    return job


def test_an_unexpected_error_outside_the_export_still_fails_the_job_with_a_safe_message(
    project, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "exports").write_text("a file where the exports folder should be")
    make_notes(project, 2)
    job = run(
        django_capture_on_commit_callbacks, project=project, kind="export", parameters={"format": "jsonl"}
    )
    assert job.state == JobState.FAILED, job.message
    # The store cannot make its exports folder (a file is in the way): the error's kind, never the path.
    assert job.finished_at and "NotADirectoryError" in job.message and str(tmp_path) not in job.message


def test_a_model_version_whose_directory_is_gone_fails_its_job(
    project, tmp_path, django_capture_on_commit_callbacks
):
    make_notes(project, 3)
    gone = ModelVersion.objects.create(
        project=project, name="gone", path=str(tmp_path / "deleted"), is_active=True
    )
    job = run(django_capture_on_commit_callbacks, project=project, kind="classify", model_version=gone)
    assert job.state == JobState.FAILED and "files" in job.message and "gone" in job.message, job.message
    assert str(tmp_path) not in job.message
    assert not Note.objects.filter(project=project, ade_probability__isnull=False).exists()


def test_a_model_version_with_missing_weight_files_fails_its_job(
    project, pipeline_dir, tmp_path, django_capture_on_commit_callbacks
):
    make_notes(project, 3)
    broken = tmp_path / "broken-model"
    shutil.copytree(pipeline_dir, broken)
    for child in broken.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
    version = ModelVersion.objects.create(project=project, name="broken", path=str(broken), is_active=True)
    job = run(django_capture_on_commit_callbacks, project=project, kind="pre_annotate", model_version=version)
    assert job.state == JobState.FAILED, job.message
    assert "broken" in job.message and str(tmp_path) not in job.message
    assert JobError.objects.filter(job=job, note__isnull=True).exists()


def _upload(project, name: str, data: bytes) -> str:
    """Store `data` as the project's upload (the key its import job reads)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return import_upload_save(project=project, upload=SimpleUploadedFile(name, data))


def test_a_jsonl_line_nested_too_deep_is_one_line_error_and_the_valid_lines_are_imported(
    project, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    deep = '{"id": "deep", "text": "x", "metadata": ' + "[" * 5000 + "]" * 5000 + "}"
    lines = [
        '{"id": "ok-1", "text": "Aspirin, then a rash."}',
        deep,
        '{"id": "ok-2", "text": "Nothing new."}',
    ]
    path = _upload(project, "deep.jsonl", ("\n".join(lines) + "\n").encode())
    job = run(
        django_capture_on_commit_callbacks,
        project=project,
        kind="import",
        parameters={"path": str(path), "format": "jsonl"},
    )
    assert job.state == JobState.PARTIALLY_FAILED, job.message
    assert (job.done, job.failed) == (2, 1)
    assert set(Note.objects.filter(project=project).values_list("external_id", flat=True)) == {"ok-1", "ok-2"}
    (error,) = JobError.objects.filter(job=job).values_list("message", flat=True)
    assert error.startswith("deep.jsonl:2: ") and "nested" in error


def test_a_brat_export_of_ids_that_are_no_file_names_succeeds_with_safe_names(
    project, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    ids = [
        "a:b",
        "../up",
        "tab\tx",
        "x" * 280,
        "ok/sub",
    ]  # (PostgreSQL stores no NUL; the writer test has it)
    Note.objects.bulk_create(
        Note(project=project, external_id=i, text=f"text {n}", text_hash=text_hash(f"text {n}"))
        for n, i in enumerate(ids)
    )
    job = run(
        django_capture_on_commit_callbacks,
        project=project,
        kind="export",
        parameters={"format": "brat", "source": "gold"},
    )
    assert (job.state, job.done) == (JobState.SUCCEEDED, len(ids)), job.message
    with zipfile.ZipFile(tmp_path / job.result_path) as zf:  # a key of the store (here the disk under MEDIA_ROOT)
        names = zf.namelist()
    assert len([n for n in names if n.endswith(".txt")]) == len(ids)
    assert "ok/sub.txt" in names
    for name in names:
        assert ":" not in name and "\x00" not in name and ".." not in name.split("/") and len(name) < 255


def test_a_running_jobs_heartbeat_is_recorded_as_its_chunks_run(
    project, model_version, django_capture_on_commit_callbacks
):
    make_notes(project, 4)
    job = run(
        django_capture_on_commit_callbacks, project=project, kind="classify", parameters={"chunk_size": 2}
    )
    assert job.state == JobState.SUCCEEDED
    assert job.heartbeat_at is not None and job.heartbeat_at >= job.started_at


def _stale_job(project, kind: str, **fields) -> Job:
    old = timezone.now() - timedelta(seconds=django_settings.ADE_REVIEW_JOB_LEASE_S + 60)
    return Job.objects.create(
        project=project, kind=kind, state=JobState.RUNNING, started_at=old, heartbeat_at=old, **fields
    )


def test_the_reaper_fails_running_jobs_whose_heartbeat_is_older_than_the_lease(project, model_version):
    stale_import = _stale_job(project, "import", parameters={"path": "/x", "format": "jsonl"})
    stale_chunk = _stale_job(project, "classify", model_version=model_version, total=4)
    JobChunk.objects.create(job=stale_chunk, index=0, note_ids=[1, 2], attempts=1)
    JobChunk.objects.create(
        job=stale_chunk, index=1, note_ids=[3, 4], attempts=1, completed_at=timezone.now()
    )
    waiting = _stale_job(project, "classify", model_version=model_version, total=2)
    JobChunk.objects.create(job=waiting, index=0, note_ids=[1, 2])  # never started: waits for a worker
    fresh = Job.objects.create(
        project=project,
        kind="import",
        state=JobState.RUNNING,
        heartbeat_at=timezone.now(),
        started_at=timezone.now(),
    )
    queued = Job.objects.create(project=project, kind="import", state=JobState.QUEUED)

    reaped = jobs_reap_stale()

    assert sorted(reaped) == sorted([stale_import.pk, stale_chunk.pk])
    for job in (stale_import, stale_chunk):
        job.refresh_from_db()
        assert job.state == JobState.FAILED and "the worker stopped" in job.message and job.finished_at
        assert JobError.objects.filter(job=job, message__contains="the worker stopped").exists()
    for job, state in ((waiting, JobState.RUNNING), (fresh, JobState.RUNNING), (queued, JobState.QUEUED)):
        job.refresh_from_db()
        assert job.state == state
    assert jobs_reap_stale() == []


def test_beat_runs_the_reaper(project):
    from inference.tasks import jobs_reap_stale_task

    schedule = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "inference.jobs_reap_stale" in schedule
    stale = _stale_job(project, "export", parameters={"format": "jsonl", "source": "gold"})
    assert jobs_reap_stale_task() == [stale.pk]


def test_a_stuck_training_job_no_longer_blocks_the_next_retrain(project):
    stuck = _stale_job(project, "train", parameters={"reason": "test"})
    with pytest.raises(ApplicationError) as info:
        job_create(project=project, kind="train", parameters={})
    assert info.value.code != "training_busy"  # the project simply has no gold yet
    stuck.refresh_from_db()
    assert stuck.state == JobState.FAILED and "the worker stopped" in stuck.message
    live = Job.objects.create(
        project=project, kind="train", state=JobState.RUNNING, heartbeat_at=timezone.now()
    )
    with pytest.raises(ApplicationError) as info:
        job_create(project=project, kind="train", parameters={})
    assert info.value.code == "training_busy"
    live.delete()


def test_the_synchronous_api_export_of_an_id_with_a_colon_answers_201_not_500(
    project, admin_user, settings, tmp_path
):
    from django.urls import reverse
    from rest_framework.test import APIClient

    settings.MEDIA_ROOT = tmp_path
    Note.objects.create(project=project, external_id="ward:7", text="t", text_hash=text_hash("t"))
    api = APIClient()
    api.force_authenticate(user=admin_user)
    response = api.post(
        reverse("api-export-create", kwargs={"slug": project.slug}), {"format": "brat"}, format="json"
    )
    assert response.status_code == 201, response.content
    (written,) = (tmp_path / "exports").rglob("*.zip")
    with zipfile.ZipFile(written) as zf:
        assert [n for n in zf.namelist() if n.endswith(".txt")] == [
            n for n in zf.namelist() if n.startswith("ward_7-") and n.endswith(".txt")
        ]
