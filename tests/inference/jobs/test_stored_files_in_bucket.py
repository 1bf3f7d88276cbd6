"""Uploads and exports live in the one file store: with a bucket (a real SeaweedFS), a worker process with its own
empty disk imports what the web process stored and exports into the bucket; the web process serves the download
from the bucket, byte for byte, audited; retention deletes old objects; no response shows the bucket, its
endpoint or a key."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from ade_review.storage import file_storage
from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import Note
from inference.jobs.file_retention import stored_files_expire
from inference.models import Job, JobState

from .conftest import make_notes
from .test_worker_crash import broker, wait_for, workers  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

JSONL = b"".join(
    json.dumps({"id": f"b-{i}", "text": f"Rash {i} days after amoxicillin."}).encode() + b"\n" for i in range(5)
)


def _objects(bucket_settings) -> dict[str, bytes]:
    client = bucket_settings.store.client()
    listed = client.list_objects_v2(Bucket=bucket_settings.bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket_settings.bucket, Key=o["Key"])["Body"].read() for o in listed}


def _leaks(text: str, bucket_settings, keys) -> list[str]:
    """What a response must never show: the bucket's name, its endpoint, its access key, a stored key."""
    secrets = [bucket_settings.bucket, bucket_settings.store.endpoint_url, bucket_settings.store.access_key, *keys]
    return [s for s in secrets if s in text]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_without_the_web_nodes_disk_imports_the_upload_and_exports_into_the_bucket(
    bucket_settings, broker, workers, client, project, admin_user, settings, tmp_path, monkeypatch  # noqa: F811
):
    # The web process (this one) and the worker each have their own, empty local media folder: nothing is shared
    # but the database, the broker and the bucket.
    settings.MEDIA_ROOT = tmp_path / "web-media"
    for name, value in {**bucket_settings.env, "MEDIA_ROOT": str(tmp_path / "worker-media"),
                        "ADE_REVIEW_VAR_DIR": str(tmp_path / "worker-var")}.items():
        monkeypatch.setenv(name, value)  # read by Worker.start when it builds the child's environment
    workers.start()
    client.force_login(admin_user)

    response = client.post(reverse("inference:job-list", args=[project.slug]),
                           {"kind": "import", "format": "auto", "upload": SimpleUploadedFile("ward.jsonl", JSONL)})
    assert response.status_code == 302, response.content.decode()[:2000]
    imported = Job.objects.get(kind="import")
    upload_key = imported.parameters["path"]
    assert upload_key.startswith(f"imports/{project.pk}/") and _objects(bucket_settings)[upload_key] == JSONL
    wait_for(lambda: Job.objects.get(pk=imported.pk).is_finished, 120, "the import", workers, every=0.2)
    imported.refresh_from_db()
    assert imported.state == JobState.SUCCEEDED, imported.message
    assert imported.parameters["format"] == "jsonl" and imported.parameters["format_detected"]
    assert Note.objects.filter(project=project).count() == 5

    client.post(reverse("inference:job-list", args=[project.slug]), {"kind": "export", "format": "jsonl"})
    exported = Job.objects.get(kind="export")
    wait_for(lambda: Job.objects.get(pk=exported.pk).is_finished, 120, "the export", workers, every=0.2)
    exported.refresh_from_db()
    assert exported.state == JobState.SUCCEEDED, exported.message
    key = exported.result_path
    assert key == f"exports/{project.pk}/job-{exported.pk}-{project.slug}-jsonl.zip"
    in_bucket = _objects(bucket_settings)[key]
    assert in_bucket[:2] == b"PK"

    # The web node streams it from the bucket: the same bytes, audited, through both doors.
    page = client.get(reverse("inference:job-download", args=[project.slug, exported.pk]))
    assert page.status_code == 200 and b"".join(page.streaming_content) == in_bucket
    assert page["Content-Disposition"] == f'attachment; filename="{key.rsplit("/", 1)[1]}"'
    api = APIClient()
    api.force_authenticate(user=admin_user)
    via_api = api.get(reverse("api-job-download", kwargs={"slug": project.slug, "job_id": exported.pk}))
    assert via_api.status_code == 200 and b"".join(via_api.streaming_content) == in_bucket
    downloads = AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_type="job", object_id=str(exported.pk))
    assert downloads.count() == 2
    assert downloads.filter(details__bytes=len(in_bucket)).exists()

    # Nothing of it ever touched a local disk of either process.
    for media in (tmp_path / "web-media", tmp_path / "worker-media"):
        assert not media.exists() or not any(p.is_file() for p in media.rglob("*")), media

    # No page, API answer, header or audit record shows the bucket, its endpoint or a key.
    shown = [
        client.get(reverse("inference:job-detail", args=[project.slug, exported.pk])).content.decode(),
        client.get(reverse("inference:job-detail", args=[project.slug, imported.pk])).content.decode(),
        client.get(reverse("inference:job-list", args=[project.slug])).content.decode(),
        api.get(reverse("api-job-list", kwargs={"slug": project.slug})).content.decode(),
        api.get(reverse("api-job-detail", kwargs={"slug": project.slug, "job_id": exported.pk})).content.decode(),
        api.get(reverse("api-job-detail", kwargs={"slug": project.slug, "job_id": imported.pk})).content.decode(),
        json.dumps(dict(page.items())), json.dumps(dict(via_api.items())),
        json.dumps(list(AuditEvent.objects.values_list("details", flat=True))),
    ]
    for text in shown:
        assert _leaks(text, bucket_settings, [key, upload_key]) == []
    assert _leaks(workers.logs(), bucket_settings, [key, upload_key]) == []


def test_a_synchronous_api_export_is_stored_in_the_bucket_and_downloaded_from_it(
    bucket_settings, project, admin_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_notes(project, 3)
    api = APIClient()
    api.force_authenticate(user=admin_user)
    created = api.post(reverse("api-export-create", kwargs={"slug": project.slug}),
                       {"format": "jsonl", "source": "gold"}, format="json")
    assert created.status_code == 201, created.content
    key = f"exports/{project.pk}/{created.json()['id']}.zip"
    stored = _objects(bucket_settings)[key]
    assert created.json()["size_bytes"] == len(stored)
    download = api.get(created.json()["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == stored
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_type="export").count() == 1
    assert _leaks(created.content.decode() + json.dumps(dict(download.items())), bucket_settings, [key]) == []
    assert not (tmp_path / "media").exists()
    missing = api.get(reverse("api-export-download", kwargs={"slug": project.slug, "export_id": "0" * 32}))
    assert missing.status_code == 404


def test_an_import_never_reads_another_projects_upload_from_the_bucket(bucket_settings, project, admin_user):
    from annotations.errors import ApplicationError
    from annotations.services.corpus_import import project_get_or_create
    from inference.jobs.engine import job_create
    from inference.jobs.import_uploads import import_upload_save

    other = project_get_or_create(slug="ward-9", name="Ward 9")
    key = import_upload_save(project=other, upload=SimpleUploadedFile("n.jsonl", JSONL))
    assert _objects(bucket_settings)[key] == JSONL
    for path in (key, key.replace(f"imports/{other.pk}/", f"imports/{project.pk}/"),
                 f"imports/{project.pk}/../{other.pk}/{key.split('/', 2)[2]}", "/" + key):
        with pytest.raises(ApplicationError) as refused:
            job_create(project=project, kind="import", parameters={"path": path, "format": "jsonl"})
        assert refused.value.code == "bad_parameters" and key not in refused.value.message


def test_retention_deletes_old_objects_from_the_bucket_and_keeps_what_a_job_still_needs(
    bucket_settings, project
):
    store = file_storage()
    for key in ("imports/1/20200101T000000-0123abcd/notes.jsonl", "exports/1/job-3-ward-jsonl.zip",
                "exports/1/" + "a" * 32 + ".zip", "terminologies/20200101T000000-0123abcd/atc.csv",
                "imports/1/20200101T000000-4567abcd/queued.jsonl", "elsewhere/keep.txt"):
        store.save(key, ContentFile(b"x"))
    Job.objects.create(project=project, kind="import",
                       parameters={"path": "imports/1/20200101T000000-4567abcd/queued.jsonl", "format": "jsonl"})

    assert stored_files_expire(days=7) == 0  # all written just now
    assert stored_files_expire(days=7, now=time.time() + 8 * 86400) == 4
    assert sorted(_objects(bucket_settings)) == ["elsewhere/keep.txt",
                                                 "imports/1/20200101T000000-4567abcd/queued.jsonl"]
    assert stored_files_expire(days=0, now=time.time() + 80 * 86400) == 0  # 0 keeps files for ever


def test_a_large_export_streams_from_the_bucket_with_flat_memory_and_its_first_bytes_at_once(
    bucket_settings, client, project, admin_user
):
    from .test_import_archives import PeakRss

    size = 96 * 1024 * 1024
    key = f"exports/{project.pk}/job-1-{project.slug}-jsonl.zip"
    bucket_settings.store.client().put_object(Bucket=bucket_settings.bucket, Key=key, Body=os.urandom(size))
    job = Job.objects.create(project=project, kind="export", parameters={}, state=JobState.SUCCEEDED, result_path=key)
    client.force_login(admin_user)
    with PeakRss() as rss:
        response = client.get(reverse("inference:job-download", args=[project.slug, job.pk]))
        first = next(iter(response.streaming_content))  # the first block, before the rest is fetched
        received = len(first) + sum(len(block) for block in response.streaming_content)
    assert response.status_code == 200 and int(response["Content-Length"]) == received == size
    assert len(first) <= 1024 * 1024
    assert rss.growth < 40 * 1024 * 1024, f"RSS grew by {rss.growth / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file"


def test_a_job_result_outside_its_projects_exports_is_never_served(bucket_settings, client, project, admin_user):
    client.force_login(admin_user)
    store = file_storage()
    for key in ("imports/1/20200101T000000-0123abcd/notes.jsonl", f"exports/{project.pk + 1}/job-9-x-jsonl.zip",
                f"exports/{project.pk}/../{project.pk + 1}/job-9-x-jsonl.zip", f"/exports/{project.pk}/a.zip"):
        store.save(key.lstrip("/").replace("../", ""), ContentFile(b"PK secret"))
        job = Job.objects.create(project=project, kind="export", parameters={}, state=JobState.SUCCEEDED,
                                 result_path=key)
        assert client.get(reverse("inference:job-download", args=[project.slug, job.pk])).status_code == 404, key


def test_a_bucket_that_cannot_be_reached_answers_503_and_names_no_endpoint(settings, client, project, admin_user,
                                                                           caplog):
    """A download while the object store is down: the page and the API say so (503, nothing lost), and neither
    the response nor the log carries the endpoint, the bucket or the key (botocore's own message names them)."""
    from tests.object_store import ObjectStore, _free_ports

    (port,) = _free_ports(1)  # nothing listens there
    down = ObjectStore(endpoint_url=f"http://127.0.0.1:{port}")
    settings.STORAGES = {**settings.STORAGES, "default": down.storage_options("ade-review-down")}
    key = f"exports/{project.pk}/job-1-{project.slug}-jsonl.zip"
    job = Job.objects.create(project=project, kind="export", parameters={}, state=JobState.SUCCEEDED, result_path=key)
    client.force_login(admin_user)
    api = APIClient()
    api.force_authenticate(admin_user)
    caplog.set_level("WARNING")
    page = client.get(reverse("inference:job-download", args=[project.slug, job.pk]))
    answer = api.get(f"/api/projects/{project.slug}/jobs/{job.pk}/download/")
    assert page.status_code == 503 and b"The file store cannot be reached" in page.content
    assert answer.status_code == 503 and answer.json()["code"] == "store_unavailable"
    for text in (page.content.decode(), answer.content.decode(), caplog.text):
        assert str(port) not in text and "ade-review-down" not in text and key not in text
    assert "file store unreachable" in caplog.text
