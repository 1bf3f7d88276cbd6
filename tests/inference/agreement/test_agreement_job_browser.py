"""In headless Chromium on the embedded setup (jobs in a thread of the server): the agreement page of a project
above the inline cut-over says it is not computed yet; the admin presses Compute, the panel shows the progress
bar and Cancel and polls by HTMX until the report appears in place (the verdict, pair and over-time tables and
the plot), with the stored report's CSV."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from annotations.models import AnnotationSet, ProjectMembership
from inference.jobs.engine import job_threads_join
from inference.models import Job
from tests.annotations.agreement.conftest import build_agreement_project
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
PASSWORD = "agreement job browser 3"
SHOTS = Path(os.environ.get("ADE_REVIEW_SCREENSHOTS", "/tmp/ade-review-screenshots"))


@pytest.fixture
def threads(settings):
    settings.ADE_REVIEW_JOBS_IN_THREAD = True
    settings.ADE_REVIEW_AGREEMENT_INLINE_NOTES = 10
    yield
    assert job_threads_join(timeout=120), "a job thread did not end"


def test_the_admin_computes_a_large_projects_agreement_from_its_page_and_sees_it_in_place(
    browser, live_server, threads
):
    world = build_agreement_project()
    # submitted over five weeks, one annotator now and then a week behind: agreement over time has a plot
    sets = AnnotationSet.objects.filter(note__project=world.project, source_kind="user").order_by("note_id", "pk")
    for k, aset in enumerate(sets):
        aset.submitted_at = datetime(2026, 3, 2, 10, tzinfo=UTC) + timedelta(weeks=(k // 3) % 5 + (k % 7 == 0))
        aset.save(update_fields=["submitted_at"])
    admin = get_user_model().objects.create_user("boss", password=PASSWORD)
    ProjectMembership.objects.create(project=world.project, user=admin, role="admin")
    page = browser_login(browser, live_server, "boss", PASSWORD)
    page.goto(f"{live_server.url}/projects/agree/agreement/")
    page.wait_for_selector("#agreement-job-start")
    assert "Not computed yet." in page.inner_text("#agreement-job")
    page.click("#agreement-job-start")
    # The request returns at once with the job queued or running: the bar, Cancel, and the panel polling.
    page.wait_for_selector("#agreement-job-bar, #agreement-verdicts")
    page.wait_for_selector("#agreement-verdicts", timeout=60_000)
    assert page.locator("#agreement-pairs tbody tr").count() == 3
    assert page.is_visible("#agreement-time-chart") and page.locator("#agreement-periods tbody tr").count() >= 5
    assert page.get_attribute("#agreement-csv", "href") == "/projects/agree/agreement/job/agreement.csv"
    assert "Compute again" in page.inner_text("#agreement-job-start")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "agreement-job-finished.png"), full_page=True)
    job = Job.objects.get(kind="agreement")
    assert (job.state, job.done) == ("succeeded", 30)
    page.context.close()
