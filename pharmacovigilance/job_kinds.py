"""The job kinds of the pharmacovigilance app, found by the jobs registry (inference.jobs.registry discovers each
app's `job_kinds`): the case exports."""

from pharmacovigilance.exports import job_kinds  # noqa: F401
