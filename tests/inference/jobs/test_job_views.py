"""Job pages: roles, starting, the polling fragment, cancel, errors without note text, export download."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from django.urls import reverse

from annotations.models import Note
from inference.models import Job, JobError, JobState

from .conftest import make_notes

pytestmark = pytest.mark.django_db


def test_viewer_sees_jobs_but_cannot_start_or_cancel(client, project, model_version, viewer_user):
    job = Job.objects.create(
        project=project, kind="classify", model_version=model_version, state="running", total=4
    )
    client.force_login(viewer_user)
    page = client.get(reverse("inference:job-list", args=[project.slug]))
    assert page.status_code == 200 and b"start-job" not in page.content
    assert (
        client.post(reverse("inference:job-list", args=[project.slug]), {"kind": "classify"}).status_code
        == 403
    )
    assert client.post(reverse("inference:job-cancel", args=[project.slug, job.pk])).status_code == 403
    assert client.get(reverse("inference:job-detail", args=[project.slug, job.pk])).status_code == 200


def test_non_member_gets_404(client, project, django_user_model):
    client.force_login(django_user_model.objects.create_user("eve", password="x"))
    assert client.get(reverse("inference:job-list", args=[project.slug])).status_code == 404


def test_admin_starts_a_job_and_the_fragment_stops_polling_when_finished(
    client, project, model_version, admin_user, django_capture_on_commit_callbacks
):
    make_notes(project, 6)
    bad = Note.objects.create(project=project, external_id="empty-note", text=" ", text_hash="x")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("inference:job-list", args=[project.slug]), {"kind": "pre_annotate", "selection": "all"}
        )
    job = Job.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/jobs/{job.pk}/")
    fragment = client.get(response.url, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert 'id="job-progress"' in html and "every 1s" not in html and "<html" not in html
    assert "Partially failed" in html and "empty-note" in html and "malformed note" in html
    assert JobError.objects.get(job=job).note_id == bad.pk


def test_running_job_fragment_polls_and_cancel_swaps_it(client, project, model_version, admin_user):
    job = Job.objects.create(
        project=project, kind="classify", model_version=model_version, state="running", total=4
    )
    client.force_login(admin_user)
    html = client.get(reverse("inference:job-detail", args=[project.slug, job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and "cancel-job" in html
    response = client.post(
        reverse("inference:job-cancel", args=[project.slug, job.pk]), headers={"HX-Request": "true"}
    )
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and "every 1s" not in response.content.decode()


def test_export_job_offers_its_file_to_admins(
    client, project, admin_user, viewer_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    make_notes(project, 3)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("inference:job-list", args=[project.slug]),
            {"kind": "export", "format": "jsonl", "source": "gold"},
        )
    job = Job.objects.get()
    assert (job.state, job.done) == (JobState.SUCCEEDED, 3), job.message
    url = reverse("inference:job-download", args=[project.slug, job.pk])
    assert url in client.get(reverse("inference:job-detail", args=[project.slug, job.pk])).content.decode()
    download = client.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"
    client.force_login(viewer_user)
    assert client.get(url).status_code == 403


FORMATS = Path(__file__).resolve().parents[2] / "fixtures" / "formats"


def test_admin_uploads_a_corpus_file_and_the_import_job_reads_it(
    client, project, admin_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inference.jobs.import_uploads import import_upload_root

    settings.MEDIA_ROOT = tmp_path
    client.force_login(admin_user)
    upload = SimpleUploadedFile("../../ward notes.jsonl", (FORMATS / "jsonl" / "good.jsonl").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("inference:job-list", args=[project.slug]),
            {"kind": "import", "format": "jsonl", "upload": upload},
        )
    job = Job.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/jobs/{job.pk}/")
    stored = PurePosixPath(job.parameters["path"])  # its key in the store
    # The name's directories are dropped and its odd characters replaced: the file stays in the imports folder.
    assert stored.name == "ward_notes.jsonl" and import_upload_root(project) in stored.parents
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.done == Note.objects.filter(project=project).count() > 0


def test_a_refused_upload_says_why_and_leaves_nothing_behind(
    client, project, admin_user, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    settings.ADE_REVIEW_MAX_IMPORT_BYTES = 10
    client.force_login(admin_user)
    url = reverse("inference:job-list", args=[project.slug])
    too_big = client.post(
        url, {"kind": "import", "format": "jsonl", "upload": SimpleUploadedFile("big.jsonl", b"x" * 11)}
    )
    assert too_big.status_code == 400 and "over the limit of 10" in too_big.content.decode()
    settings.ADE_REVIEW_MAX_IMPORT_BYTES = 10_000
    wrong_type = client.post(
        url, {"kind": "import", "format": "jsonl", "upload": SimpleUploadedFile("notes.exe", b"MZ")}
    )
    assert wrong_type.status_code == 400 and "an import takes" in wrong_type.content.decode()
    # Stored, then refused by the job's own checks (conll is an export format): the file is removed again.
    unknown = client.post(
        url, {"kind": "import", "format": "conll", "upload": SimpleUploadedFile("n.jsonl", b"{}\n")}
    )
    assert unknown.status_code == 400
    assert not Job.objects.exists()
    assert "Unknown import format" in unknown.content.decode()
    export_as_ade = client.post(url, {"kind": "export", "format": "ade", "source": "gold"})
    assert export_as_ade.status_code == 400 and "Unknown export format" in export_as_ade.content.decode()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
