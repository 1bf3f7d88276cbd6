"""A project's first model without a GPU or a wait: the CRF + Random Forest baseline trained on its gold
in seconds, registered as the active version, and run over the notes nobody has annotated so that they
are pre-annotated, scored and flagged at once. The first transformer retrain replaces it (the gate says
why: a baseline cannot be scored by the pipeline evaluator)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction

from annotations.errors import ApplicationError
from annotations.formats.schema import ADE_RELATION_NAMES
from annotations.models import Project
from inference.artifacts import artifact_publish
from inference.core.extraction.baselines.crf_rf_pipeline import CrfRfPipeline
from inference.jobs.engine import job_create
from inference.learning.selectors import examples_documents, training_examples
from inference.models import ModelVersion

logger = logging.getLogger(__name__)
MIN_GOLD = 5


def baseline_version_create(*, project: Project, name: str = "crf-rf-baseline", pre_annotate: bool = True,
                            actor=None) -> ModelVersion:
    """Train the baseline on the project's gold (the one gold rule; held-out notes included: the baseline
    is never judged by the gate), make it the active version and, when `pre_annotate`, start a
    pre-annotate job (with scoring) over the unlabelled notes.

    Errors: ApplicationError("not_enough_gold") below MIN_GOLD gold notes.
    """
    snapshot = training_examples(project=project, heldout_fraction=0.0)
    documents = examples_documents(snapshot.train + snapshot.heldout)
    if len(documents) < MIN_GOLD:
        raise ApplicationError("not_enough_gold", f"The baseline needs at least {MIN_GOLD} gold notes.")
    pipeline = CrfRfPipeline.fit(documents, ade_relation_types=ADE_RELATION_NAMES)
    directory = Path(settings.ADE_REVIEW_MODEL_DIR) / project.slug / name  # scratch, then the store
    pipeline.save(directory)
    try:
        reference = artifact_publish(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    with transaction.atomic():
        ModelVersion.objects.filter(project=project, is_active=True).update(is_active=False)
        version, _ = ModelVersion.objects.update_or_create(
            project=project, name=name,
            defaults={"path": reference, "is_active": True, "encoder": "",
                      "train_config": {"kind": "crf_rf_baseline", "gold_notes": len(documents)}},
        )
    logger.info("project %s: baseline %s trained on %d gold notes", project.slug, name, len(documents))
    if pre_annotate:
        job_create(project=project, kind="pre_annotate", parameters={"selection": "unlabelled", "score": True},
                   model_version=version, created_by=actor)
    return version
