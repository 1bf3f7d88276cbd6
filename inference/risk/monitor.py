"""Live ADR risk per patient (TD(lambda) over nursing notes, as in the Korean nursing-notes study): train a risk model, update a patient's series phrase by phrase.

The monitor keeps a running total per patient (PatientRisk), so a new note costs work in proportion to
its own phrases, not to the patient's history. A note that arrives out of time order (earlier than the
last phrase seen) makes the series be recomputed from scratch, since the running mean is order-dependent.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction

from annotations.models import Note, Patient, Project
from inference.artifacts import artifact_local, artifact_publish
from inference.core.risk.patient_risk import RiskMonitor
from inference.core.risk.phrase_classifier import STUDY_STATES
from inference.core.risk.phrases import NursingNote, split_note
from inference.core.risk.risk_bundle import RiskBundle, train_risk_bundle
from inference.models.risk import PatientRisk, RiskModel, RiskPoint

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _bundle(path: str):
    """The risk model's files (a published reference, through this worker's cache), loaded once per process."""
    with artifact_local(path) as directory:
        return RiskBundle.load(directory)


def risk_model_train(
    *,
    project: Project,
    patients,
    name: str,
    trace: str = "dutch",
    seed: int = 0,
    states: Sequence[str] = STUDY_STATES,
    phrase_model: str = "tfidf",
    phrase_options: dict | None = None,
) -> RiskModel:
    """Train a risk model on patients with annotated phrase states, store it and make it the active one.

    Args: the project; the patients (`inference.core.risk.risk_bundle.train_risk_bundle`'s records); the model's
    name; the TD trace; the seed; the state names; the phrase classifier kind (`tfidf`, `cnn`,
    `transformer`) and its options.
    Errors: `inference.core.risk.risk_bundle.InsufficientData` when there are too few patients or labels.
    """
    bundle, classifier = train_risk_bundle(
        patients, states=states, phrase_model=phrase_model, phrase_options=phrase_options, trace=trace, seed=seed
    )
    directory = Path(settings.ADE_REVIEW_MODEL_DIR) / project.slug / "risk" / name  # scratch, then the store
    bundle.save(directory, classifier)
    try:
        reference = artifact_publish(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    with transaction.atomic():
        RiskModel.objects.filter(project=project, is_active=True).update(is_active=False)
        model = RiskModel.objects.create(
            project=project,
            name=name,
            path=reference,
            state_names=list(bundle.state_names),
            state_values=list(bundle.values),
            metrics=bundle.metrics,
            synthetic=bundle.synthetic,
            is_active=True,
        )
    logger.info("risk model %s trained for project %s", name, project.slug)
    return model


def risk_model_active(*, project_id: int) -> RiskModel | None:
    return RiskModel.objects.filter(project_id=project_id, is_active=True).first()


def patient_risk_update(*, patient_id: int) -> int:
    """Extend the patient's risk series with the phrases of notes not yet seen; returns the new points.

    Safe to run twice (a note already in the series is skipped) and under concurrency (the patient's
    row is locked while its series is extended).
    """
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient_id)
        model = risk_model_active(project_id=patient.project_id)
        if model is None:
            return 0
        bundle, classifier = _bundle(model.path)
        state = PatientRisk.objects.filter(patient=patient).first()
        if state is not None and state.risk_model_id != model.pk:
            _reset(patient, state)
            state = None
        seen = RiskPoint.objects.filter(patient=patient, risk_model=model).values("note_id")
        notes = _in_time_order(Note.objects.filter(patient=patient).exclude(pk__in=seen))
        if not notes:
            return 0
        if state is not None and state.last_time and any(n.timestamp and n.timestamp < state.last_time for n in notes):
            _reset(patient, state)
            state = None
            notes = _in_time_order(Note.objects.filter(patient=patient))
        monitor = RiskMonitor(
            values=bundle.values,
            total=state.value_total if state else 0.0,
            count=state.phrase_count if state else 0,
        )
        last_time = state.last_time if state else None
        points = []
        for note in notes:
            phrases = split_note(NursingNote(id=str(note.pk), time=note.timestamp, text=note.text))
            if not phrases:
                continue
            for phrase, predicted in zip(phrases, classifier.predict([p.text for p in phrases]), strict=True):
                state_id = int(predicted)
                mean = monitor.update(state_id)
                when = phrase.time or note.timestamp
                points.append(
                    RiskPoint(
                        patient=patient,
                        note=note,
                        risk_model=model,
                        sequence=monitor.count - 1,
                        phrase_index=phrase.index,
                        start=phrase.start,
                        end=phrase.end,
                        time=when,
                        state=state_id,
                        value=bundle.values[state_id],
                        risk=bundle.probability(mean),
                    )
                )
                last_time = max(last_time, when) if last_time and when else (when or last_time)
        RiskPoint.objects.bulk_create(points)
        PatientRisk.objects.update_or_create(
            patient=patient,
            defaults={
                "risk_model": model,
                "value_total": monitor.total,
                "phrase_count": monitor.count,
                "risk": bundle.probability(monitor.risk) if monitor.count else 0.0,
                "last_time": last_time,
            },
        )
    return len(points)


def patient_risk_recompute(*, patient_id: int) -> int:
    """Rebuild the patient's series from all notes (the batch computation the incremental one must equal)."""
    with transaction.atomic():
        state = PatientRisk.objects.filter(patient_id=patient_id).first()
        _reset(Patient.objects.get(pk=patient_id), state)
    return patient_risk_update(patient_id=patient_id)


def _reset(patient: Patient, state: PatientRisk | None) -> None:
    RiskPoint.objects.filter(patient=patient).delete()
    if state is not None:
        state.delete()


def _in_time_order(notes) -> list[Note]:
    """These notes by time; notes without a time go last, in arrival order."""
    rows = list(notes.only("id", "text", "timestamp"))
    return sorted(rows, key=lambda n: (n.timestamp is None, n.timestamp or datetime.min.replace(tzinfo=UTC), n.pk))
