"""In headless Chromium on the embedded setup (no broker): an admin starts a pre-annotation from the job form,
the request returns at once to a page with the progress bar and Cancel, and the page follows the job in its
thread to the end, where it says how many notes were flagged, with links to the flagged queue and the notes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inference.models import Job
from tests.conftest import browser_login

from .conftest import make_notes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ADE_REVIEW_SCREENSHOTS", "/tmp/ade-review-screenshots"))


def test_a_pre_annotation_started_on_the_demo_shows_progress_then_the_flagged_notes_with_links(
    browser, live_server, project, model_version, admin_user, job_gate
):
    project.ade_threshold = 0.0  # every scored note is flagged
    project.save(update_fields=["ade_threshold"])
    notes = make_notes(project, 6)
    page = browser_login(browser, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/projects/{project.slug}/jobs/")
    page.select_option("#id_kind", "pre_annotate")
    page.select_option("#id_selection", "all")
    assert page.is_checked("#id_score")
    page.click("#start-job")
    page.wait_for_selector("#job-bar")
    # The request came back at once: the job waits in its thread, the bar and Cancel are on the page.
    assert page.get_attribute("#job-progress", "data-state") == "queued"
    assert page.is_visible("#cancel-job")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "job-running.png"), full_page=True)

    job_gate.set()
    page.wait_for_selector("#job-progress[data-state=succeeded]", timeout=60_000)
    assert page.is_hidden("#cancel-job")
    assert page.inner_text("#outcome-flagged") == "6 notes flagged"
    assert "pre-label" in page.inner_text("#job-outcome")
    assert page.get_attribute("#outcome-queue", "href") == f"/projects/{project.slug}/queue/"
    links = page.locator("#outcome-notes a")
    assert links.count() == 6
    assert {links.nth(i).inner_text() for i in range(6)} == {n.external_id for n in notes}
    page.screenshot(path=str(SHOTS / "job-finished.png"), full_page=True)
    links.first.click()
    page.wait_for_load_state()
    assert "/notes/" in page.url
    assert Job.objects.get().state == "succeeded"
    page.context.close()


def test_an_import_that_skips_documents_shows_the_errors_by_reason_and_pages_through_them(
    browser, live_server, project, admin_user, jobs_in_threads, settings, tmp_path
):
    from annotations.formats.brat_conf import load_schema
    from annotations.services.schemas import project_schema_set

    from .test_import_errors_summary import brat_zip

    settings.MEDIA_ROOT = tmp_path / "media"
    conf = "[entities]\nDrug\n[relations]\n[events]\n[attributes]\n"
    project_schema_set(project=project, schema=load_schema(conf), inferred=False, annotation_conf=conf)
    upload = tmp_path / "corpus.zip"
    upload.write_bytes(brat_zip(70, lambda i: "T1\tSign_symptom 11 22\tamoxicillin\n").read())
    page = browser_login(browser, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/projects/{project.slug}/jobs/")
    page.select_option("#id_kind", "import")
    assert page.input_value("#id_format") == "auto"
    page.set_input_files("#id_upload", str(upload))
    page.click("#start-job")
    page.wait_for_selector("#job-progress[data-state=failed]", timeout=60_000)
    assert "entity type not in the schema" in page.inner_text("#job-error-summary")
    assert page.inner_text("#unknown-types").count("Sign_symptom") == 1
    assert "Errors 1–50 of 70" in page.inner_text("#job-errors-pager")
    page.screenshot(path=str(SHOTS / "import-errors.png"), full_page=True)
    page.click("#errors-next")
    page.wait_for_selector("#job-errors-pager:has-text('Errors 51–70 of 70')")
    assert page.locator("#job-errors tbody tr").count() == 20
    page.context.close()
