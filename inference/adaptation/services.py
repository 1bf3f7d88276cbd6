"""Adapting a project's encoder: the `adapt` job's run (inference.core.adaptation.adapt_encoder on the
project's notes), making an adapted encoder the project's encoder, and rolling back to the one it was adapted
from. Every change of the project's encoder is audited (MODEL_CHANGE).

Where the adapted encoders live: a job writes `<ADE_REVIEW_MODEL_DIR>/<project>/encoders/adapt-job<id>/` on its
worker's own disk (scratch, one per job), then publishes the finished encoder to the file store
(inference.artifacts, without its checkpoints): the job's result_path and the project's encoder_path keep the
reference `artifact:<sha256>`, and any worker loads it through its own cache. A redelivered job resumes from its
own checkpoints; a new job with the same settings picks up the checkpoints of an earlier one that was cancelled
or whose worker died, when it runs on the same machine (the core checks that they come from the same notes and
settings, and starts over when not).

Settings: ADE_REVIEW_ADAPT_CONFIG (optional, a dict of AdaptationConfig fields such as device, threads,
lr, checkpoint_every, head_warmup_steps) adds to what the job's parameters set.

Lineage: each adapted directory's adaptation.json names the encoder it came from (its reference, when that was
published) and the job that made it (`name`); every model version records the encoder it was trained from
(ModelVersion.encoder, written by the retrain).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.models import Project
from inference.adaptation.selectors import (
    ADAPT,
    adaptation_job_get,
    adaptation_texts,
    encoder_info,
)
from inference.artifacts import artifact_exists, artifact_local, artifact_publish, is_reference
from inference.models import FINISHED_STATES, Job, JobState

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
# Parameters that say what a job computes: two jobs that agree on them may share checkpoints.
_RESULT_PARAMETERS = ("steps", "batch_size", "max_length", "keep_vocabulary", "min_word_count", "texts_dir")


def adaptation_dir(*, project: Project, job: Job) -> Path:
    return Path(settings.ADE_REVIEW_MODEL_DIR) / project.slug / "encoders" / f"adapt-job{job.pk}"


class _Progress:
    """Progress into the job row (percent in done/total = 100, the step and time left in its message, the
    heartbeat with it); `cancelled()` says when the job is no longer running (cancelled or reaped)."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.last_write = 0.0
        self.last_read = 0.0
        self.stopped = False

    def __call__(self, p) -> None:
        now = time.monotonic()
        if now - self.last_write < 1.0 and p.fraction < 1.0:
            return
        self.last_write = now
        Job.objects.filter(pk=self.job_id, state=JobState.RUNNING).update(
            done=min(99, int(100 * p.fraction)), message=f"adapting the encoder: {p.describe()}"[:1000],
            heartbeat_at=timezone.now(),
        )

    def cancelled(self) -> bool:
        now = time.monotonic()
        if not self.stopped and now - self.last_read >= 1.0:
            self.last_read = now
            state = Job.objects.filter(pk=self.job_id).values_list("state", flat=True).first()
            self.stopped = state != JobState.RUNNING
        return self.stopped


def _carry_checkpoints(*, job: Job, out: Path) -> int | None:
    """Move the checkpoints of the newest earlier adapt job of the project that stopped unfinished (cancelled,
    or failed when its worker died) with the same settings into `out`. Result: that job's id, or None."""
    if (out / CHECKPOINTS).exists():
        return None  # this job's own (a redelivered run)
    same = {k: job.parameters.get(k) for k in _RESULT_PARAMETERS}
    earlier = Job.objects.filter(
        project=job.project, kind=ADAPT, pk__lt=job.pk, state__in=(JobState.CANCELLED, JobState.FAILED)
    ).order_by("-pk")[:5]
    for old in earlier:
        if {k: old.parameters.get(k) for k in _RESULT_PARAMETERS} != same:
            continue
        source = adaptation_dir(project=job.project, job=old) / CHECKPOINTS
        if source.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            os.replace(source, out / CHECKPOINTS)
            return old.pk
    return None


def adapt_job_run(*, job: Job) -> None:
    """The adapt job: vocabulary extension and continued pre-training of the project's encoder on its notes
    (and a server folder of extra text, from the command line). Called by jobs.job_single_run with the job
    RUNNING. The result is recorded on the job (result_path, figures in parameters["outcome"]); with
    `adopt` the adapted encoder becomes the project's encoder."""
    from inference.core.adaptation.adapt import read_texts
    from inference.core.encoder import resolve_encoder
    from inference.jobs.engine import job_fail

    project, params = job.project, job.parameters
    Job.objects.filter(pk=job.pk).update(total=100, done=0, message="reading the notes")
    texts = adaptation_texts(project=project)
    if params.get("texts_dir"):
        texts += read_texts(params["texts_dir"])
    if not any(t.strip() for t in texts):
        job_fail(job_id=job.pk, message="the project has no notes to adapt the encoder on")
        return
    base_reference = project.encoder_path or settings.ADE_REVIEW_ENCODER or None
    with artifact_local(base_reference or "") as base_local:
        base = resolve_encoder(str(base_local) if base_reference else None)
        _adapt(job=job, texts=texts, base=base, base_reference=base_reference or "")


def _adapt(*, job: Job, texts: list[str], base: Path, base_reference: str) -> None:
    from inference.core.adaptation.adapt import (
        AdaptationConfig,
        AdaptationStopped,
        CheckpointMismatch,
        adapt_encoder,
    )
    from inference.core.adaptation.vocabulary import VocabularyConfig
    from inference.jobs.engine import job_fail, job_finish

    project, params = job.project, job.parameters
    out = adaptation_dir(project=project, job=job)
    carried = _carry_checkpoints(job=job, out=out)
    if carried:
        logger.info("job %s: continuing from the checkpoints of job %s", job.pk, carried)
    config = AdaptationConfig(
        encoder=str(base), out=str(out),
        steps=int(params.get("steps") or 1000),
        batch_size=int(params.get("batch_size") or 16),
        max_length=int(params.get("max_length") or 128),
        extend_vocabulary=not params.get("keep_vocabulary"),
        vocabulary=VocabularyConfig(min_word_count=int(params.get("min_word_count") or 5)),
        **getattr(settings, "ADE_REVIEW_ADAPT_CONFIG", {}),
    )
    progress = _Progress(job.pk)
    try:
        try:
            report = adapt_encoder(config, texts, progress=progress, should_cancel=progress.cancelled)
        except CheckpointMismatch:  # checkpoints carried from a job that read other notes: start over
            report = adapt_encoder(dataclasses.replace(config, resume=False), texts, progress=progress,
                                   should_cancel=progress.cancelled)
    except AdaptationStopped as exc:
        logger.info("job %s: adaptation stopped at step %s (checkpoint %s kept)", job.pk, exc.step, exc.checkpoint)
        return
    except ValueError as exc:  # the message may name server paths: the job says its kind only
        logger.error("job %s: adaptation refused: %s", job.pk, exc)
        job_fail(job_id=job.pk, message=f"adaptation failed ({type(exc).__name__}); see the worker's log")
        return
    m = report.metrics()
    reference = _publish(out=out, job=job, base_reference=base_reference)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        locked.done, locked.total, locked.result_path = 100, 100, reference
        locked.parameters = {**locked.parameters, "outcome": {
            **m, "base_encoder": encoder_info(base_reference or str(base)).name, "texts": report.texts,
            "heldout_texts": report.heldout_texts, "device": report.device,
            "vocab_size_before": report.vocabulary.get("vocab_size_before"),
            "vocab_size_after": report.vocabulary.get("vocab_size_after"),
            "carried_from_job": carried, "resumed_from_step": report.resumed_from_step,
        }}
        locked.save(update_fields=["done", "total", "result_path", "parameters"])
        ppl = (f"; held-out perplexity {m['perplexity_before']:.1f} -> {m['perplexity_after']:.1f}"
               if "perplexity_before" in m and "perplexity_after" in m else "")
        job_finish(locked, message=(
            f"encoder adapted in {report.steps} steps: +{m['added_tokens']} tokens, [UNK] characters "
            f"{m['unk_rate_before']:.1%} -> {m['unk_rate_after']:.1%}{ppl}"
        ))
        if params.get("adopt"):
            _encoder_set(project=project, path=reference, actor=locked.created_by, change="adopt", job=locked)


def _publish(*, out: Path, job: Job, base_reference: str) -> str:
    """The adapted encoder into the file store (its checkpoints left out); returns its reference. Its
    adaptation.json names the base by reference (the local path the core wrote is this worker's cache) and the
    job that made it; the scratch directory is removed once published."""
    from inference.core.adaptation.adapt import REPORT_FILE

    report_file = out / REPORT_FILE
    report = json.loads(report_file.read_text(encoding="utf-8"))
    if is_reference(base_reference):
        report["base_encoder"] = base_reference
    report["name"] = f"adapt-job{job.pk}"
    report_file.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    try:
        return artifact_publish(out, exclude=(CHECKPOINTS,))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _encoder_set(*, project: Project, path: str, actor, change: str, job: Job | None = None) -> Project:
    locked = Project.objects.select_for_update().get(pk=project.pk)
    before = encoder_info(locked.encoder_path or "")
    locked.encoder_path = path
    locked.save(update_fields=["encoder_path"])
    after = encoder_info(path)
    audit_record(
        action=AuditAction.MODEL_CHANGE, actor=actor if getattr(actor, "is_authenticated", False) else None,
        project=locked, object_type="project", object_id=locked.pk,
        details={"change": f"encoder_{change}", "from": before.name, "to": after.name,
                 **({"adapt_job": job.pk} if job is not None else {})},
    )
    project.encoder_path = path
    return locked


@transaction.atomic
def project_encoder_adopt(*, project: Project, job_id: int, actor) -> Project:
    """Make the encoder of a finished adapt job the project's encoder; the next retrain starts from it (the
    active model version keeps the encoder it was trained with). Audited.

    Errors: ApplicationError not_found (no such adapt job in the project, 404), not_ready (it did not
    succeed or its encoder is gone, 409).
    """
    try:
        job = adaptation_job_get(project=project, job_id=job_id)
    except Job.DoesNotExist:
        raise ApplicationError("not_found", "No such adaptation job in this project.", status=404) from None
    except ValueError as exc:
        raise ApplicationError("not_ready", str(exc).capitalize() + ".", status=409) from None
    return _encoder_set(project=project, path=job.result_path, actor=actor, change="adopt", job=job)


def _encoder_present(path: str) -> bool:
    return artifact_exists(path) if is_reference(path) else (Path(path) / "config.json").is_file()


@transaction.atomic
def project_encoder_rollback(*, project: Project, actor) -> Project:
    """Go back to the encoder the project's current (adapted) encoder was adapted from. Audited.

    Errors: ApplicationError nothing_to_roll_back (the encoder was not adapted, 409), encoder_missing (the
    encoder it came from is no longer on disk, 409).
    """
    current = encoder_info(project.encoder_path or "")
    if not current.adapted:
        raise ApplicationError("nothing_to_roll_back", "The project's encoder was not adapted from another one.",
                               status=409)
    if current.base and not _encoder_present(current.base):
        raise ApplicationError("encoder_missing", "The encoder it was adapted from is no longer stored.", status=409)
    return _encoder_set(project=project, path=current.base, actor=actor, change="rollback")
