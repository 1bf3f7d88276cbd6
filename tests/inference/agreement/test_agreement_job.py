"""Agreement of a large project as a job: the agreement page embeds the job panel above its cut-over, an admin
starts the job, the panel shows its progress with Cancel, then the stored report (the same figures and CSV as
computed inline); a cancelled job stores nothing; blind annotation and roles hold on every door."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from annotations.agreement.csv_export import agreement_csv_rows
from annotations.agreement.selectors import project_agreement
from annotations.audit.models import AuditEvent
from annotations.models import ProjectMembership
from inference.agreement import job_kinds
from inference.agreement.selectors import agreement_result_latest
from inference.models import Job
from tests.annotations.agreement.conftest import build_agreement_project

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(settings):
    settings.ADE_REVIEW_AGREEMENT_INLINE_NOTES = 10  # the fixture's 30 notes are "large"
    w = build_agreement_project()
    for name, role in (("boss", "admin"), ("rev", "reviewer")):
        w.users[name] = get_user_model().objects.create_user(name)
        ProjectMembership.objects.create(project=w.project, user=w.users[name], role=role)
    return w


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"slug": "agree", **kwargs})


def _start(client: Client, callbacks) -> Job:
    with callbacks(execute=True):
        response = client.post(_url("inference:agreement-job-start"), **HX)
    assert response.status_code == 200
    return Job.objects.filter(kind="agreement").latest("pk")


def test_a_large_projects_page_runs_the_agreement_as_a_job_and_shows_its_stored_report(
    world, django_capture_on_commit_callbacks,
):
    admin = _client(world.users["boss"])
    page = admin.get(_url("project-agreement")).content.decode()
    assert f'hx-get="{_url("inference:agreement-job")}"' in page and 'id="agreement-verdicts"' not in page
    panel = admin.get(_url("inference:agreement-job"), **HX).content.decode()
    assert "Not computed yet." in panel and 'id="agreement-job-start"' in panel

    job = _start(admin, django_capture_on_commit_callbacks)
    assert (job.state, job.done, job.total) == ("succeeded", 30, 30)
    assert AuditEvent.objects.filter(action="job_start", object_id=str(job.pk)).exists()
    _, stored = agreement_result_latest(project=world.project)
    assert stored == project_agreement(project=world.project)  # what the page would compute inline

    panel = admin.get(_url("inference:agreement-job"), **HX).content.decode()
    for section in ("agreement-verdicts", "agreement-pairs", "agreement-types", "agreement-confusion",
                    "agreement-over-time"):
        assert f'id="{section}"' in panel
    assert "<td>ann1</td><td>ann2</td>" in panel and 'id="agreement-job-start"' in panel  # compute again
    assert 'hx-trigger="every 1s"' not in panel  # finished: no more polling
    # the CSV: the page's link leads to the stored report's, which equals the inline CSV
    response = admin.get(_url("project-agreement-csv"))
    assert response.status_code == 302 and response["Location"] == _url("inference:agreement-job-csv")
    rows = list(csv.reader(io.StringIO(b"".join(admin.get(response["Location"]).streaming_content).decode())))
    assert rows == [[str(c) for c in row] for row in agreement_csv_rows(stored)]


def test_the_panel_polls_while_the_job_runs_and_offers_cancel_to_admins_only(world):
    Job.objects.create(project=world.project, kind="agreement", state="running", total=30, done=10)
    admin_panel = _client(world.users["boss"]).get(_url("inference:agreement-job"), **HX).content.decode()
    assert 'hx-trigger="every 1s"' in admin_panel and 'id="agreement-job-bar"' in admin_panel
    assert "10 of 30 notes" in admin_panel and 'id="agreement-job-cancel"' in admin_panel
    reviewer_panel = _client(world.users["rev"]).get(_url("inference:agreement-job"), **HX).content.decode()
    assert 'id="agreement-job-bar"' in reviewer_panel and 'id="agreement-job-cancel"' not in reviewer_panel
    # a second start while one runs is refused
    response = _client(world.users["boss"]).post(_url("inference:agreement-job-start"), **HX)
    assert "The agreement is being computed already." in response.content.decode()
    assert Job.objects.filter(kind="agreement").count() == 1

    response = _client(world.users["boss"]).post(_url("inference:agreement-job-cancel"), **HX)
    assert response.status_code == 200 and Job.objects.get(kind="agreement").state == "cancelled"
    assert "cancelled" in response.content.decode().lower()


def test_a_job_cancelled_while_it_reads_stores_no_report(world, monkeypatch, django_capture_on_commit_callbacks):
    real = job_kinds.project_agreement

    def cancelled_after_the_first_chunk(*, project, progress):
        def progress_then_cancel(done):
            Job.objects.filter(kind="agreement").update(state="cancelled")  # someone pressed Cancel
            progress(done)

        return real(project=project, progress=progress_then_cancel, chunk_notes=10)

    monkeypatch.setattr(job_kinds, "project_agreement", cancelled_after_the_first_chunk)
    job = _start(_client(world.users["boss"]), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.state == "cancelled" and "outcome" not in job.parameters
    assert agreement_result_latest(project=world.project) is None


@pytest.mark.parametrize(("user", "start", "panel"), [("rev", 403, 200), ("ann1", 403, 200), ("outsider", 404, 404)])
def test_only_admins_start_it_and_only_members_see_it(world, user, start, panel):
    client = _client(world.users[user])
    assert client.post(_url("inference:agreement-job-start"), **HX).status_code == start
    assert client.get(_url("inference:agreement-job"), **HX).status_code == panel
    assert not Job.objects.exists()


def test_blind_annotation_hides_the_stored_agreement_from_annotators(world, django_capture_on_commit_callbacks):
    _start(_client(world.users["boss"]), django_capture_on_commit_callbacks)
    world.project.blind_annotation = True
    world.project.save(update_fields=["blind_annotation"])
    annotator = _client(world.users["ann1"])
    for name in ("project-agreement", "inference:agreement-job", "inference:agreement-job-csv"):
        assert annotator.get(_url(name), **HX).status_code == 403, name
    assert _client(world.users["rev"]).get(_url("inference:agreement-job-csv")).status_code == 200


def test_small_projects_still_compute_inline(world, settings):
    settings.ADE_REVIEW_AGREEMENT_INLINE_NOTES = 1000
    html = _client(world.users["ann1"]).get(_url("project-agreement")).content.decode()
    assert 'id="agreement-verdicts"' in html and 'id="agreement-job"' not in html
    assert 'id="agreement-over-time"' in html and "No pair of sets submitted in the same week yet." in html
    assert 'id="agreement-time-chart"' not in html  # no submission days: no plot
