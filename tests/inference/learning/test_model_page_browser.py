"""The model page in headless Chromium: an admin sees the versions' chart, retrains with a click, and the
new version with the gate's decision appears; the annotation queue's "next note" opens the editor."""

from __future__ import annotations

import os

import pytest

from inference.models import ModelVersion
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def login_as(browser, live_server, loop, role: str):
    """A browser page logged in through the login form as the loop's user of that role."""
    user = loop.users[role]
    user.set_password(f"pw-{role}-123")
    user.save()
    return browser_login(browser, live_server, user.username, f"pw-{role}-123")


def test_admin_retrains_from_the_model_page_and_sees_the_gate_decision(browser, live_server, loop):
    page = login_as(browser, live_server, loop, "admin")
    page.goto(f"{live_server.url}/projects/{loop.project.slug}/models/")
    assert page.locator('#model-chart g.pt[data-version="v1"]').count() == 3  # NER, RE and note F1
    assert page.locator("#versions tr[data-version]").count() == 1
    page.fill("#id_epochs", "3")
    page.click("#retrain-button")  # Celery is eager here: the job has run when the page comes back
    page.wait_for_selector('#versions tr[data-version="v2"]')
    v2 = ModelVersion.objects.get(project=loop.project, name="v2")
    row = page.locator('#versions tr[data-version="v2"] td.gate')
    assert v2.get_gate_outcome_display() in row.inner_text()
    assert page.locator('#model-chart g.pt[data-version="v2"]').count() == 3
    page.click('#versions tr[data-version="v2"] a')
    page.wait_for_selector("#training-notes")
    assert page.locator("#training-notes a").count() == v2.training_notes.count()
    page.context.close()


def test_annotator_opens_the_next_note_from_the_annotation_queue(browser, live_server, loop):
    page = login_as(browser, live_server, loop, "annotator")
    page.goto(f"{live_server.url}/projects/{loop.project.slug}/")
    page.click("#to-annotate")
    page.wait_for_selector('tr[data-rank="1"]')
    top = page.locator('tr[data-rank="1"] a.note-link').inner_text()
    page.click("#annotate-next")
    page.wait_for_selector("html[data-editor-ready]")
    assert top in page.content()
    page.context.close()


def test_without_workers_the_model_page_follows_the_training_and_shows_the_new_version(
    browser, live_server, loop, settings
):
    settings.ADE_REVIEW_JOBS_IN_THREAD = True  # the embedded demo: training in a thread, the page polls
    page = login_as(browser, live_server, loop, "admin")
    page.goto(f"{live_server.url}/projects/{loop.project.slug}/models/")
    page.fill("#id_epochs", "30")
    page.click("#retrain-button")
    page.wait_for_selector("#training-running progress")  # the request came back while training goes on
    page.wait_for_selector('#versions tr[data-version="v2"]', timeout=120_000)  # the page reloaded itself
    assert page.locator("#training-running").count() == 0
    assert page.locator('#model-chart g.pt[data-version="v2"]').count() == 3
    page.context.close()
    from inference.jobs.engine import job_threads_join

    assert job_threads_join(timeout=120)  # the follow-up pre-annotation ends before the database is reset
