"""The terminology's job kinds: registered with the jobs engine; a terminology load takes no project and
reads only an upload; proposing codes is a project's job with progress, an outcome and the audit trail."""

from __future__ import annotations

import pytest

from annotations.audit.models import AuditAction, AuditEvent
from annotations.errors import ApplicationError
from annotations.models import Normalization
from inference.jobs.engine import job_create
from inference.jobs.registry import kind_get, kinds
from inference.models import Job, JobState

from .conftest import ATC
from .test_services import _model_set

pytestmark = pytest.mark.django_db


def test_kinds_are_registered_and_the_load_has_no_project_door():
    assert kind_get("terminology_load").doors == frozenset()
    assert "terminology_load" not in [k.name for k in kinds(door="web")]
    assert "propose_codes" in [k.name for k in kinds(door="web")] and "propose_codes" in [k.name for k in kinds(door="cli")]


def test_a_load_job_takes_no_project_and_reads_only_uploads(people, staff):
    project, _ = people
    with pytest.raises(ApplicationError) as exc:
        job_create(project=None, kind="terminology_load", created_by=staff,
                   parameters={"system": "atc", "version": "1", "path": str(ATC)})
    assert exc.value.code == "bad_parameters" and "uploaded on the Terminologies page" in exc.value.message
    with pytest.raises(ApplicationError) as exc:
        job_create(project=project, kind="terminology_load", created_by=staff,
                   parameters={"system": "atc", "version": "1", "path": str(ATC)})
    assert exc.value.code == "bad_kind"
    with pytest.raises(ApplicationError):
        job_create(project=project, kind="terminology_load", door="web", parameters={})


def test_propose_codes_job(people, meddra, atc, django_capture_on_commit_callbacks):
    project, users = people
    first = _model_set(project, "Started warfarin; nosebleed overnight.", [("Drug", 8, 16), ("ADE", 18, 27)])
    second = _model_set(project, "Itchy rash on day two.", [("ADE", 0, 10)])
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(project=project, kind="propose_codes", created_by=users["admin"], door="web", parameters={})
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and (job.done, job.total) == (2, 2)
    assert job.parameters["min_score"] == 50
    assert job.parameters["outcome"] == {"sets": 2, "proposed": 3, "unmatched": 0}
    assert job.message.startswith("3 code(s) proposed in 2 of 2 model set(s)")
    assert list(Normalization.objects.filter(annotation_set=second).values_list("resource_id", "text")) == [
        ("95000007", "Itchy rash")]
    assert Normalization.objects.filter(annotation_set=first).count() == 2
    start = AuditEvent.objects.get(action=AuditAction.JOB_START)
    assert start.details["kind"] == "propose_codes" and start.details["min_score"] == 50


def test_propose_codes_needs_a_terminology(people):
    project, users = people
    with pytest.raises(ApplicationError) as exc:
        job_create(project=project, kind="propose_codes", created_by=users["admin"], door="api", parameters={})
    assert exc.value.code == "no_terminology"
    assert not Job.objects.exists()


def test_a_new_user_set_starts_from_the_proposed_codes(people, meddra, staff):
    from annotations.services.editing import annotation_set_for_editor
    from pharmacovigilance.terminology.services import normalizations_propose

    project, users = people
    model_set = _model_set(project, "Nosebleed again.", [("ADE", 0, 9)])
    normalizations_propose(by=staff, annotation_sets=[model_set])
    own = annotation_set_for_editor(note=model_set.note, user=users["annotator"])
    assert list(Normalization.objects.filter(annotation_set=own).values_list("resource", "resource_id")) == [
        ("MedDRA", "95000001")]
