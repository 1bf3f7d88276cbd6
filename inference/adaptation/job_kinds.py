"""The `adapt` job kind: adapt the project's encoder to its notes (vocabulary extension and continued
masked-language-model pre-training; inference.adaptation.services.adapt_job_run). Admins start it from the
models page (its own form), the API (POST jobs/ with kind "adapt") or `start_job`; it runs where models run."""

from __future__ import annotations

import logging
from pathlib import Path

from annotations.errors import ApplicationError
from inference.adaptation.selectors import ADAPT, adaptation_in_progress
from inference.adaptation.services import adapt_job_run
from inference.jobs.engine import TRANSIENT_ERRORS, job_fail
from inference.jobs.registry import JobKindSpec, JobRequest, Param, register
from inference.jobs.selectors import JobOutcome
from inference.models import Job

logger = logging.getLogger(__name__)


def _prepare(request: JobRequest) -> JobRequest:
    running = adaptation_in_progress(project=request.project)
    if running is not None:
        raise ApplicationError("adapt_busy", f"An adaptation of this project's encoder is already under way (job {running.pk}).",
                               status=409)
    folder = request.parameters.get("texts_dir")
    if folder and not Path(folder).is_dir():
        raise ApplicationError("bad_parameters", "texts_dir: no such folder on the server.")
    if not folder and not request.project.notes.exists():
        raise ApplicationError("no_text", "The project has no notes to adapt the encoder on.", status=409)
    return request


def _run(job: Job) -> None:
    try:
        adapt_job_run(job=job)
    except TRANSIENT_ERRORS:
        raise  # the task retries; the run resumes from its checkpoints
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the message never carries note text
        logger.error("job %s: adaptation failed with %s", job.pk, type(exc).__name__, exc_info=True)
        job_fail(job_id=job.pk, message=f"adaptation failed ({type(exc).__name__})")


def _outcome(job: Job) -> JobOutcome:
    return JobOutcome(kind=job.kind, figures=dict((job.parameters or {}).get("outcome") or {}),
                      template="inference/outcomes/_adapt.html")


register(JobKindSpec(
    name=ADAPT,
    label="Adapt encoder",
    params=(
        Param("steps", "int", "Adapt: continued pre-training steps.", default=1000, minimum=1, maximum=100_000),
        Param("batch_size", "int", "Adapt: sequences per step.", default=16, minimum=1, maximum=256),
        Param("max_length", "int", "Adapt: tokens per sequence.", default=128, minimum=16, maximum=512),
        # Off by default so that a command-line flag can say it (--keep-vocabulary).
        Param("keep_vocabulary", "bool", "Adapt: keep the vocabulary as it is (continued pre-training only; "
              "otherwise the notes' unknown characters and frequent words are added).", default=False),
        Param("min_word_count", "int", "Adapt: a word this frequent (and split into pieces) gets a token.",
              default=5, minimum=1, maximum=100_000),
        Param("adopt", "bool", "Adapt: make the adapted encoder the project's encoder when done.", default=False),
        # A server folder only from the command line (as imports' paths: issue 13).
        Param("texts_dir", help="Adapt: a server folder of extra unlabelled .txt notes.", max_length=4096,
              doors=frozenset({"cli"})),
    ),
    prepare=_prepare,
    run=_run,
    outcome=_outcome,
    model_queue=True,
    doors=frozenset({"api", "cli"}),  # pages start it from the models page (its own form)
    audit_keys=("steps", "keep_vocabulary", "adopt"),
))
