"""Reads of the agreement jobs of a project: the latest one (its progress) and the latest result."""

from __future__ import annotations

from annotations.formats.agreement import AgreementReport
from annotations.models import Project
from inference.agreement.job_kinds import AGREEMENT
from inference.models import Job, JobState


def agreement_job_latest(*, project: Project) -> Job | None:
    """The project's most recent agreement job, whatever its state."""
    return Job.objects.filter(project=project, kind=AGREEMENT).select_related("created_by").order_by("-pk").first()


def agreement_result_latest(*, project: Project) -> tuple[Job, AgreementReport] | None:
    """The project's most recent agreement job that succeeded, with the report it stored (None: none yet)."""
    job = (Job.objects.filter(project=project, kind=AGREEMENT, state=JobState.SUCCEEDED)
           .select_related("created_by").order_by("-pk").first())
    if job is None:
        return None
    return job, AgreementReport.from_dict(job.parameters["outcome"]["report"])
