"""The learning loop's job kind: train a new model version on the project's gold and let the gate decide
whether it replaces the active one (inference.learning.retraining)."""

from __future__ import annotations

import logging

from inference.jobs.engine import TRANSIENT_ERRORS, job_fail
from inference.jobs.registry import JobKindSpec, JobRequest, Param, register
from inference.learning.retraining import train_job_run, train_parameters_check
from inference.learning.selectors import TRAIN
from inference.models import Job

logger = logging.getLogger(__name__)


def _prepare(request: JobRequest) -> JobRequest:
    request.parameters = train_parameters_check(project=request.project, parameters=request.parameters)
    return request


def _run(job: Job) -> None:

    try:
        train_job_run(job=job)
    except TRANSIENT_ERRORS:
        raise  # transient: the task retries and training starts over
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the message never carries note text
        logger.error("job %s: training failed with %s", job.pk, type(exc).__name__)
        job_fail(job_id=job.pk, message=f"training failed ({type(exc).__name__})")


register(JobKindSpec(
    name=TRAIN,
    label="Train",
    params=(
        Param("start_from", "choice", "Train: fine-tune the active model (current) or start from the encoder (base).",
              choices=("current", "base")),
        Param("epochs", "int", "Train: epochs (default: the project's retrain policy).", minimum=1, maximum=100),
        Param("reason", help="Train: why (recorded with the job).", doors=frozenset({"cli"})),
    ),
    prepare=_prepare,
    run=_run,
    model_queue=True,
    doors=frozenset({"api", "cli"}),  # pages retrain from the model page (its own form)
    audit_keys=("start_from", "epochs", "reason"),
))
