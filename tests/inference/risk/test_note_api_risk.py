"""A note created through the API for a monitored patient extends that patient's risk series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from annotations.models import Patient, ProjectMembership
from annotations.services.notes import note_create
from inference.models.risk import PatientRisk, RiskPoint
from inference.risk.monitor import patient_risk_recompute, patient_risk_update

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
FIRST = "Patient resting comfortably.\nMetformin 500 mg given po."
LATER = "Pt c/o nausea after iv vancomycin.\nRash on both arms noted; doctor informed."


def series(patient) -> list[tuple[str, int]]:
    return list(
        RiskPoint.objects.filter(patient=patient)
        .order_by("sequence")
        .values_list("note__external_id", "sequence")
    )


def test_a_note_posted_through_the_api_extends_the_patients_risk_series(
    monitored_project, django_capture_on_commit_callbacks
):
    admin = get_user_model().objects.create_user("charge-nurse", password="pw-123456")
    ProjectMembership.objects.create(project=monitored_project, user=admin, role="admin")
    with django_capture_on_commit_callbacks(execute=True):
        note_create(
            project=monitored_project, external_id="n0", text=FIRST, patient_external_id="p1", timestamp=START
        )
    patient = Patient.objects.get(project=monitored_project, external_id="p1")
    before = series(patient)
    assert before and PatientRisk.objects.get(patient=patient).phrase_count == len(before)

    client = APIClient()
    client.force_authenticate(admin)
    body = {
        "external_id": "n1",
        "text": LATER,
        "patient": "p1",
        "timestamp": (START + timedelta(hours=8)).isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/projects/{monitored_project.slug}/notes/", body, format="json")
    assert response.status_code == 201, response.data

    after = series(patient)
    added = after[len(before) :]
    assert after[: len(before)] == before and added, "the series was not extended"
    assert {note for note, _ in added} == {"n1"}
    assert [seq for _, seq in after] == list(range(len(after)))
    state = PatientRisk.objects.get(patient=patient)
    assert state.phrase_count == len(after) and state.last_time == START + timedelta(hours=8)
    # a second run adds nothing, and the extended series equals a recomputation from scratch
    assert patient_risk_update(patient_id=patient.pk) == 0
    risks = list(RiskPoint.objects.filter(patient=patient).order_by("sequence").values_list("state", "risk"))
    patient_risk_recompute(patient_id=patient.pk)
    assert (
        list(RiskPoint.objects.filter(patient=patient).order_by("sequence").values_list("state", "risk"))
        == risks
    )
