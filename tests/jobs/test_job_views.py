"""Job pages: roles, starting, the polling fragment, cancel, errors without note text, export download."""

from __future__ import annotations

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
