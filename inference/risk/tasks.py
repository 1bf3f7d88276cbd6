"""Celery tasks of the live risk monitor."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.dispatch import receiver

from annotations.signals import notes_imported
from inference.risk.monitor import patient_risk_update, risk_model_active


@shared_task(
    name="inference.patient_risk_update",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def patient_risk_update_task(patient_id: int) -> int:
    """Extend one patient's risk series with its new notes (idempotent)."""
    return patient_risk_update(patient_id=patient_id)


@receiver(notes_imported, dispatch_uid="risk_on_notes_imported")
def risk_on_notes_imported(sender, project, note_ids, patient_ids, **kwargs) -> None:
    """New notes of a monitored patient update that patient's risk (the import sends this after it commits)."""
    if not patient_ids or risk_model_active(project_id=project.pk) is None:
        return
    for patient_id in patient_ids:
        patient_risk_update_task.delay(patient_id)
