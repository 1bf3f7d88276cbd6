"""The `agreement` job kind: a project's inter-annotator agreement (annotations.agreement.selectors.
project_agreement) computed in the background with progress and Cancel, the report stored on the job.

Started from the agreement page of a project too large to compute it inline (annotations.views.agreement),
the jobs API or `start_job`. Reads every rated note once, a chunk at a time; progress after each chunk, and
each chunk checks whether the job was cancelled. Restartable from scratch: a redelivered run recomputes it
and writes the report only in the transaction that finishes the job.
"""

from __future__ import annotations

from django.db import transaction

from annotations.agreement.selectors import project_agreement, project_rated_note_count
from inference.jobs.engine import ProgressWriter, job_finish
from inference.jobs.registry import JobKindSpec, register
from inference.jobs.selectors import JobOutcome
from inference.models import FINISHED_STATES, Job

AGREEMENT = "agreement"


class _Cancelled(Exception):
    pass


def _run(job: Job) -> None:
    total = project_rated_note_count(project=job.project)
    Job.objects.filter(pk=job.pk).update(total=total)
    write_progress = ProgressWriter(job.pk)

    def progress(done: int) -> None:
        write_progress(done, total)
        if Job.objects.filter(pk=job.pk).values_list("state", flat=True).first() in FINISHED_STATES:
            raise _Cancelled

    try:
        report = project_agreement(project=job.project, progress=progress)
    except _Cancelled:
        return
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:  # cancelled after the last check
            return
        locked.done = report.notes
        locked.total = max(total, report.notes)
        locked.parameters = {**locked.parameters, "outcome": {
            "notes": report.notes, "annotators": len(report.raters), "alpha": report.alpha,
            "entity_f1_strict": report.entity_f1_strict, "entity_f1_relaxed": report.entity_f1_relaxed,
            "report": report.to_dict()}}
        locked.save(update_fields=["done", "total", "parameters"])
        job_finish(locked, message=f"agreement of {len(report.raters)} annotator(s) over {report.notes} note(s)")


def _outcome(job: Job) -> JobOutcome:
    figures = {k: v for k, v in ((job.parameters or {}).get("outcome") or {}).items() if k != "report"}
    return JobOutcome(kind=job.kind, figures=figures, template="inference/outcomes/_agreement.html")


register(JobKindSpec(
    name=AGREEMENT,
    label="Inter-annotator agreement",
    run=_run,
    outcome=_outcome,
    # Started from the agreement page, the jobs API or start_job; the job form's fields would all be irrelevant.
    doors=frozenset({"api", "cli"}),
))
