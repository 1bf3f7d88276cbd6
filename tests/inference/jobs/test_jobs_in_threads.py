"""The embedded demo (no broker): every kind of job runs in a background thread, so the request that starts it
returns at once, the job page shows the progress bar and Cancel, and the finished page says what happened."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from annotations.models import AnnotationSet, Note
from inference.jobs.engine import job_threads_join
from inference.models import Job, JobState

from .conftest import make_notes

pytestmark = pytest.mark.django_db(transaction=True)


def brat_zip(n: int = 3) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i in range(n):
            z.writestr(f"corpus/doc{i}.txt", "Rash after amoxicillin.")
            z.writestr(f"corpus/doc{i}.ann", "T1\tDrug 11 22\tamoxicillin\n")
    return buffer.getvalue()


def start(client, project, data: dict):
    response = client.post(reverse("inference:job-list", args=[project.slug]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.latest("pk"), response.url


@pytest.mark.parametrize("kind", ["pre_annotate", "classify", "export", "import"])
def test_without_a_broker_every_kind_of_job_runs_in_a_thread_and_the_page_shows_progress_and_cancel(
    kind, client, project, model_version, admin_user, job_gate, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_notes(project, 4)
    client.force_login(admin_user)
    data = {"kind": kind, "selection": "all"}
    if kind == "import":
        data = {"kind": kind, "format": "auto", "upload": SimpleUploadedFile("corpus.zip", brat_zip())}
    job, url = start(client, project, data)
    # The request came back while the job waits for its thread: queued, with the bar and Cancel on its page.
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED
    assert any(t.name == f"{kind}-job-{job.pk}" for t in threading.enumerate())
    page = client.get(url).content.decode()
    assert 'id="job-bar"' in page and 'id="cancel-job"' in page and 'hx-trigger="every 1s"' in page
    job_gate.set()
    assert job_threads_join(timeout=120)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    finished = client.get(url).content.decode()
    assert 'id="cancel-job"' not in finished and 'id="job-outcome"' in finished


def test_cancel_stops_a_job_running_in_a_thread_before_it_writes(
    client, project, model_version, admin_user, job_gate
):
    make_notes(project, 4)
    client.force_login(admin_user)
    job, url = start(client, project, {"kind": "pre_annotate", "selection": "all"})
    fragment = client.post(reverse("inference:job-cancel", args=[project.slug, job.pk]), headers={"HX-Request": "true"})
    assert 'data-state="cancelled"' in fragment.content.decode()
    job_gate.set()
    assert job_threads_join(timeout=120)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert not AnnotationSet.objects.filter(note__project=project, source_kind="model").exists()


def test_the_finished_pre_annotation_says_how_many_notes_it_flagged_and_links_them(
    client, project, model_version, admin_user, jobs_in_threads
):
    project.ade_threshold = 0.0  # every scored note is flagged
    project.save(update_fields=["ade_threshold"])
    notes = make_notes(project, 5)
    client.force_login(admin_user)
    job, url = start(client, project, {"kind": "pre_annotate", "selection": "all", "score": "on"})
    assert job_threads_join(timeout=120)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    page = client.get(url)
    html = page.content.decode()
    figures = page.context["outcome"].figures
    assert figures["flagged"] == 5 == Note.objects.filter(project=project, flagged=True).count()
    assert figures["notes"] == 5 and figures["prelabels"] >= 0
    assert "5 notes flagged" in html and "pre-label" in html
    assert f'href="{reverse("note-queue", args=[project.slug])}"' in html  # the flagged queue
    for note in notes:
        assert reverse("note-detail", args=[project.slug, note.pk]) in html


def test_the_finished_import_says_how_many_notes_it_imported_and_links_them(
    client, project, admin_user, jobs_in_threads, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(admin_user)
    upload = SimpleUploadedFile("corpus.zip", brat_zip(3))
    job, url = start(client, project, {"kind": "import", "format": "auto", "upload": upload})
    assert job_threads_join(timeout=120)
    html = client.get(url).content.decode()
    assert "3 notes imported" in html and "as brat (from the file)" in html
    assert f'{reverse("note-queue", args=[project.slug])}?all=1' in html


def test_the_finished_export_offers_its_download(client, project, admin_user, jobs_in_threads, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_notes(project, 2)
    client.force_login(admin_user)
    job, url = start(client, project, {"kind": "export", "format": "jsonl", "source": "gold"})
    assert job_threads_join(timeout=120)
    html = client.get(url).content.decode()
    assert 'id="download"' in html and "exported" in html


def test_start_job_waits_for_the_thread_of_its_job(project, model_version, jobs_in_threads):
    make_notes(project, 3)
    call_command("start_job", "--project", project.slug, "--kind", "classify", stdout=io.StringIO())
    job = Job.objects.get()
    assert job.state == JobState.SUCCEEDED and job.done == 3
