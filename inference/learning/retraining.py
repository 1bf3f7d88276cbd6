"""The retrain loop: gold accumulates, a retrain is queued, the candidate is judged on held-out gold by the
gate, promoted or refused, and after a promotion the unreviewed notes are pre-annotated and re-ranked.

- `retrain_maybe` runs after every change of gold (the `gold_changed` signal, via a task): it queues a
  training job when the project's policy says enough new gold has arrived and none is queued or
  running (under the policy row's lock, so two submissions at once queue one job).
- `retrain_request` is an admin asking for one now (page, API, command).
- `train_job_run` is the job: snapshot the gold (training and held-out notes; the snapshot's time is
  where "new gold" starts counting for the next retrain), train from the current model or the base
  encoder (inference.core.extraction.pipeline_training), score the candidate and the current model on the same
  held-out notes, apply the gate, store the version (metrics, parent, training and held-out notes, the
  gate's decision) and promote it or not, all in the transaction that finishes the job. A promoted
  version then pre-annotates and scores the unreviewed notes, after which the queue is re-ranked.
Training runs in the worker, never in a request; progress goes to the job (percent, and the stage in
its message), and cancelling the job stops training at the next step.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.models import Project
from annotations.services.schemas import project_schema_get
from inference.artifacts import artifact_local, artifact_publish
from inference.core.extraction.pipeline_training import (
    GateDecision,
    PipelineTrainConfig,
    TrainingStopped,
    evaluate_pipeline,
    gate_decide,
    pipeline_calibrate,
    train_pipeline,
)
from inference.learning.selectors import (
    TRAIN,
    data_cutoff,
    examples_documents,
    last_training_job,
    training_examples,
    training_in_progress,
)
from inference.models import FINISHED_STATES, GateOutcome, Job, JobState, ModelVersion
from inference.models.learning import RetrainPolicy, StartFrom

# The serving kind run after a promotion; named, not imported: serving depends on learning (note scores).
PRE_ANNOTATE = "pre_annotate"

logger = logging.getLogger(__name__)

MIN_TRAINING_NOTES = 2
POLICY_FIELDS = (
    "retrain_every",
    "gate_metric",
    "gate_tolerance",
    "heldout_fraction",
    "epochs",
    "start_from",
    "query_strategy",
    "diversity",
    "batch_size",
    "cold_start",
)


def retrain_policy_get(*, project: Project) -> RetrainPolicy:
    """The project's policy row, created with the defaults when missing."""
    policy, _ = RetrainPolicy.objects.get_or_create(project=project)
    return policy


def retrain_policy_update(*, project: Project, actor=None, **values) -> RetrainPolicy:
    """Change the policy (any of POLICY_FIELDS); re-ranks the queue when the ranking settings changed.
    Audited (model_change) as `actor` in the same transaction.

    Errors: ApplicationError("bad_policy") for an unknown field or a value out of range.
    """
    from django.core.exceptions import ValidationError

    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ApplicationError("bad_policy", f"Unknown policy setting(s): {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        policy = retrain_policy_get(project=project)
        policy = RetrainPolicy.objects.select_for_update().get(pk=policy.pk)
        ranking_before = (policy.query_strategy, policy.diversity, policy.batch_size, policy.cold_start)
        for key, value in values.items():
            setattr(policy, key, value)
        try:
            policy.full_clean(exclude=["project"])
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise ApplicationError("bad_policy", problems) from None
        policy.save()
        audit_record(action=AuditAction.MODEL_CHANGE, actor=actor, project=project, object_type="retrain_policy",
                     object_id=project.pk, details={"policy": values})
        if ranking_before != (policy.query_strategy, policy.diversity, policy.batch_size, policy.cold_start):
            transaction.on_commit(lambda: _enqueue_rank(project.pk))
    return policy


def _enqueue_rank(project_id: int) -> None:
    from inference import tasks

    tasks.annotation_queue_rank_task.delay(project_id)


def retrain_request(
    *, project: Project, user=None, start_from: str | None = None, epochs: int | None = None, reason: str = ""
) -> Job:
    """Queue a training job now (an admin's request). Errors: ApplicationError from job_create
    ("training_busy" when one is queued or running, "not_enough_gold", "bad_parameters")."""
    from inference.jobs.engine import job_create

    parameters: dict = {"reason": reason or "requested"}
    if start_from:
        parameters["start_from"] = start_from
    if epochs:
        parameters["epochs"] = epochs
    return job_create(project=project, kind=TRAIN, parameters=parameters, created_by=user)


def retrain_maybe(*, project_id: int) -> Job | None:
    """Queue a retrain when the policy's count of new gold notes is reached; returns the job or None."""
    from inference.jobs.engine import job_create, jobs_reap_stale

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    jobs_reap_stale(project=project)  # a training job whose worker died must not block this one for ever
    with transaction.atomic():
        policy = retrain_policy_get(project=project)
        policy = RetrainPolicy.objects.select_for_update().get(pk=policy.pk)
        if not policy.retrain_every or training_in_progress(project=project):
            return None
        snapshot = training_examples(project=project, heldout_fraction=policy.heldout_fraction)
        new = snapshot.new_since(data_cutoff(last_training_job(project=project)))
        if new < policy.retrain_every or len(snapshot.train) < MIN_TRAINING_NOTES:
            return None
        job = job_create(
            project=project,
            kind=TRAIN,
            parameters={"reason": f"{new} new gold notes (policy: every {policy.retrain_every})"},
        )
    logger.info("project %s: retrain queued (job %s) after %d new gold notes", project.slug, job.pk, new)
    return job


def train_parameters_check(*, project: Project, parameters: dict) -> dict:
    """Validate and complete a training job's parameters (called by job_create).

    Errors: ApplicationError "training_busy", "not_enough_gold", "bad_parameters".
    """
    policy = retrain_policy_get(project=project)
    if training_in_progress(project=project):
        raise ApplicationError("training_busy", "A training job is already queued or running for this project.", status=409)
    start_from = parameters.get("start_from") or policy.start_from
    if start_from not in StartFrom.values:
        raise ApplicationError("bad_parameters", "start_from is current or base.")
    try:
        epochs = int(parameters.get("epochs") or policy.epochs)
    except (TypeError, ValueError):
        raise ApplicationError("bad_parameters", "epochs must be a whole number.") from None
    if not 1 <= epochs <= 100:
        raise ApplicationError("bad_parameters", "epochs must be between 1 and 100.")
    snapshot = training_examples(project=project, heldout_fraction=policy.heldout_fraction)
    if len(snapshot.train) < MIN_TRAINING_NOTES:
        raise ApplicationError(
            "not_enough_gold",
            f"Training needs at least {MIN_TRAINING_NOTES} gold notes outside the held-out set; "
            f"this project has {len(snapshot.train)}.",
        )
    return {**parameters, "start_from": start_from, "epochs": epochs}


def _version_name(project: Project) -> str:
    taken = set(ModelVersion.objects.filter(project=project).values_list("name", flat=True))
    numbers = [int(m.group(1)) for name in taken if (m := re.fullmatch(r"v(\d+)", name))]
    n = max(numbers, default=0) + 1
    while f"v{n}" in taken:
        n += 1
    return f"v{n}"


class _Progress:
    """Training progress into the job row (percent in done/total = 100) and its stage into the message;
    raises TrainingStopped when the job was cancelled."""

    SHARE = {"ner": (0, 55), "re": (55, 85), "note": (85, 92)}

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.last = 0.0

    def stage(self, percent: int, message: str) -> None:
        # Each update is also the job's heartbeat: the reaper leaves a training job alone while it moves.
        Job.objects.filter(pk=self.job_id, state=JobState.RUNNING).update(
            done=percent, message=message, heartbeat_at=timezone.now()
        )

    def __call__(self, component: str, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        state = Job.objects.filter(pk=self.job_id).values_list("state", flat=True).first()
        if state != JobState.RUNNING:
            raise TrainingStopped
        lo, hi = self.SHARE.get(component, (0, 92))
        percent = lo + int((hi - lo) * done / max(1, total))
        self.stage(percent, f"training {component.upper()}: step {done} of {total}")


def train_job_run(*, job: Job) -> None:
    """The training job (see the module docstring). Called by jobs.job_single_run with the job RUNNING."""
    from inference.core.extraction.pipeline import Pipeline
    from inference.jobs.engine import job_fail, job_finish

    project = job.project
    params = job.parameters
    policy = retrain_policy_get(project=project)
    progress = _Progress(job.pk)
    cutoff = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        total=100, parameters={**params, "data_cutoff": cutoff.isoformat()}, message="reading the gold notes"
    )
    snapshot = training_examples(project=project, heldout_fraction=policy.heldout_fraction)
    if len(snapshot.train) < MIN_TRAINING_NOTES:
        job_fail(job_id=job.pk, message=f"only {len(snapshot.train)} gold note(s) to train on")
        return
    train_docs = examples_documents(snapshot.train)
    heldout_docs = examples_documents(snapshot.heldout)
    incumbent = ModelVersion.objects.filter(project=project, is_active=True).first()
    incumbent_pipe = None
    if incumbent is not None and incumbent.path:
        # The active version and the project's encoder come from the store through this worker's cache (a
        # worker that never saw them downloads them once); a row that still holds a local path reads it.
        with artifact_local(incumbent.path) as incumbent_dir:
            if (incumbent_dir / "pipeline.json").is_file():
                incumbent_pipe = Pipeline.load(incumbent_dir)
    start = incumbent_pipe if params.get("start_from") == StartFrom.CURRENT else None
    if start is not None and (incumbent.encoder or "") != (project.encoder_path or ""):
        # The project's encoder changed since the active version was trained (an adapted encoder was put in
        # use, or rolled back): fine-tuning that version would keep the old encoder, so start from the new one.
        start = None
    schema = project_schema_get(project=project)
    relation_types = [r for r in schema.relation_types if not r.name.startswith("<")] if schema else None
    config = PipelineTrainConfig.from_dict(
        {
            **settings.ADE_REVIEW_TRAIN_CONFIG,
            "encoder": project.encoder_path or settings.ADE_REVIEW_ENCODER or None,
            "epochs": int(params.get("epochs") or policy.epochs),
            "ner_epochs": None,
            "re_epochs": None,
            "threshold": project.ade_threshold,
            "seed": int(params.get("seed", 0)),
        }
    )
    lines: list[str] = []
    try:
        with _encoder_local(config) as local_config:  # `config` (recorded) keeps the encoder's reference
            result = train_pipeline(
                train_docs, local_config, relation_types=relation_types or None, start_from=start,
                log=lines.append, progress=progress,
            )
    except TrainingStopped:
        logger.info("job %s: training stopped (the job was cancelled)", job.pk)
        return
    except ValueError as exc:  # e.g. no entity in the gold: the project's annotations give nothing to learn
        job_fail(job_id=job.pk, message=f"training failed: {exc}")
        return
    progress.stage(93, f"scoring on {len(heldout_docs)} held-out gold notes")
    candidate = evaluate_pipeline(result.pipeline, heldout_docs)
    current = evaluate_pipeline(incumbent_pipe, heldout_docs) if incumbent_pipe is not None else None
    decision = gate_decide(policy.gate_metric, candidate, current, tolerance=policy.gate_tolerance)
    if incumbent is not None and incumbent_pipe is None:  # e.g. an encoder-only scorer registered by hand
        decision = GateDecision(
            True, decision.metric, decision.candidate, None,
            f"the active version {incumbent.name} is no NER/RE pipeline and cannot be scored on the held-out notes",
        )
    # The note probability saturates near 1.0 (a maximum over many relation candidates): fit its temperature
    # on the same held-out gold (decisions at 0.5 do not change) and record how calibrated it was.
    candidate.update(pipeline_calibrate(result.pipeline, heldout_docs))
    name = _version_name(project)
    # Written on this worker's own disk (scratch), then published to the store: the row keeps the reference, so
    # a worker on another machine loads the same files.
    directory = Path(settings.ADE_REVIEW_MODEL_DIR) / project.slug / "versions" / f"{name}-job{job.pk}"
    result.save(directory, trained_on=f"project {project.slug}, job {job.pk}", train_config=config.to_dict())
    try:
        reference = artifact_publish(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:  # cancelled while scoring: keep nothing
            return
        if decision.promote:
            ModelVersion.objects.filter(project=project, is_active=True).update(is_active=False)
        version = ModelVersion.objects.create(
            project=project,
            name=name,
            path=reference,
            encoder=project.encoder_path or "",
            metrics=candidate,
            is_active=decision.promote,
            parent=incumbent,
            training_job=locked,
            gate_outcome=GateOutcome.PROMOTED if decision.promote else GateOutcome.REFUSED,
            gate={
                **decision.to_dict(),
                "incumbent_version": incumbent.name if incumbent else None,
                "incumbent_metrics": current,
                "started_from": result.started_from,
                "heldout_documents": len(heldout_docs),
            },
            train_config={**config.to_dict(), "seconds": result.seconds, "log": lines[-20:]},
        )
        _notes_record(version, "training_notes", [e.note_id for e in snapshot.train])
        _notes_record(version, "heldout_notes", [e.note_id for e in snapshot.heldout])
        locked.done, locked.total = len(snapshot.train), len(snapshot.train)
        locked.save(update_fields=["done", "total"])
        verdict = "promoted" if decision.promote else "refused"
        job_finish(
            locked,
            message=f"{name} trained on {len(snapshot.train)} gold notes in {result.seconds:.0f} s; {verdict}: {decision.reason}",
        )
        if decision.promote:
            transaction.on_commit(lambda: _after_promotion(version.pk))
    logger.info("project %s: %s %s (%s)", project.slug, name, verdict, decision.reason)


@contextlib.contextmanager
def _encoder_local(config: PipelineTrainConfig):
    """`config` with its encoder as a local directory while training reads it (a published, adapted encoder
    comes through this worker's cache); the config is unchanged for a local path or the shipped encoder."""
    import dataclasses

    if not config.encoder:
        yield config
        return
    with artifact_local(config.encoder) as local:
        yield dataclasses.replace(config, encoder=str(local)) if str(local) != config.encoder else config


def _notes_record(version: ModelVersion, field: str, note_ids: list[int]) -> None:
    """Insert a new version's note links in batches (Django's M2M add checks existing links with one IN
    list of every id, and PostgreSQL takes at most 65,535 parameters a query)."""
    through = getattr(ModelVersion, field).through
    through.objects.bulk_create(
        [through(modelversion_id=version.pk, note_id=note_id) for note_id in note_ids], batch_size=5000
    )


def _after_promotion(version_id: int) -> None:
    """Pre-annotate and score the unlabelled notes with the promoted version (the queue is re-ranked when
    that job finishes)."""
    from inference.jobs.engine import job_create

    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    try:
        job_create(
            project=version.project,
            kind=PRE_ANNOTATE,
            parameters={"selection": "unlabelled", "score": True, "reason": f"{version.name} promoted"},
            model_version=version,
        )
    except ApplicationError as exc:  # e.g. the version was deactivated meanwhile: nothing to do
        logger.info("no pre-annotation after promoting %s: %s", version.name, exc.code)


def model_version_activate(*, version: ModelVersion, actor=None) -> ModelVersion:
    """Make a version the project's active one by hand (a rollback); pre-annotates like a promotion.
    Audited (model_change) as `actor` in the same transaction."""
    with transaction.atomic():
        audit_record(action=AuditAction.MODEL_CHANGE, actor=actor, project=version.project,
                     object_type="model_version", object_id=version.pk, details={"activated": version.name})
        ModelVersion.objects.filter(project_id=version.project_id, is_active=True).exclude(pk=version.pk).update(
            is_active=False
        )
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
        transaction.on_commit(lambda: _after_promotion(version.pk))
    version.is_active = True
    return version
