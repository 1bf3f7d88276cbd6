"""The job page in headless Chromium: a running job's progress bar polls until the job finishes, then
stops; a job started from the form that fails on one note lists that note's error (never its text)."""

from __future__ import annotations

import os

import pytest

from annotations.models import Note
from inference.models import Job, JobError, JobState

from .conftest import make_notes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def page(browser):
    """A fresh page of the shared session browser (tests/conftest.py)."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def login(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()


def test_progress_bar_polls_until_the_job_finishes_and_then_shows_errors(
    page, live_server, project, model_version, admin_user
):
    notes = make_notes(project, 4)
    job = Job.objects.create(
        project=project, kind="classify", model_version=model_version, state=JobState.RUNNING, total=4, done=1
    )
    login(page, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/projects/{project.slug}/jobs/{job.pk}/")
    assert page.get_attribute("#job-bar", "value") == "25"
    assert page.is_visible("#cancel-job")

    # A worker makes progress: the page follows without a reload.
    Job.objects.filter(pk=job.pk).update(done=2)
    page.wait_for_selector('#job-bar[value="50"]', timeout=10_000)

    # ...and finishes with one failed note: polling stops and the error is listed.
    JobError.objects.create(job=job, note=notes[3], message="malformed note: the note has no text")
    Job.objects.filter(pk=job.pk).update(done=3, failed=1, state=JobState.PARTIALLY_FAILED)
    page.wait_for_selector("#job-progress[data-state=partially_failed]", timeout=10_000)
    assert page.get_attribute("#job-progress", "hx-trigger") is None
    assert page.is_hidden("#cancel-job")
    rows = page.inner_text("#job-errors")
    assert notes[3].external_id in rows and "malformed note" in rows
    assert notes[3].text not in page.content()


def test_job_started_from_the_form_lists_the_broken_note(
    page, live_server, project, model_version, admin_user
):
    make_notes(project, 5)
    Note.objects.create(project=project, external_id="blank-note-9", text="  ", text_hash="x")
    login(page, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/projects/{project.slug}/jobs/")
    page.select_option("select[name=kind]", "pre_annotate")
    page.select_option("select[name=selection]", "all")
    page.click("#start-job")
    page.wait_for_selector("#job-progress[data-state=partially_failed]", timeout=30_000)
    assert "5 of 6 done, 1 failed" in page.inner_text("#job-progress")
    assert "blank-note-9" in page.inner_text("#job-errors")
    page.goto(f"{live_server.url}/projects/{project.slug}/jobs/")
    assert "Partially failed" in page.inner_text("#job-history")


def test_admin_uploads_a_corpus_and_the_import_job_names_each_broken_line(
    page, live_server, project, admin_user, settings, tmp_path
):
    from pathlib import Path

    settings.MEDIA_ROOT = tmp_path
    broken = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "jsonl" / "broken.jsonl"
    login(page, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/projects/{project.slug}/jobs/")
    page.select_option("select[name=kind]", "import")
    page.select_option("select[name=format]", "jsonl")
    page.set_input_files("input[name=upload]", str(broken))
    page.click("#start-job")
    page.wait_for_selector("#job-progress[data-state=partially_failed]", timeout=30_000)
    job = Job.objects.get(kind="import")
    errors = page.inner_text("#job-errors")
    assert errors.count("broken.jsonl:") == JobError.objects.filter(job=job).count() >= job.failed
    # Each broken line of a JSONL file is a document of its own: the count says how many were left out.
    assert job.failed > 1 and f"of {job.done + job.failed} done, {job.failed} failed" in page.inner_text("#job-progress")
    assert job.done == Note.objects.filter(project=project).count() > 0
