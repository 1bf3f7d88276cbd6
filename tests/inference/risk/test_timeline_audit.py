"""The risk timeline shows phrases of a patient's notes on hover: each view writes one audit record naming
those notes, never the phrases."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import Patient, ProjectMembership
from inference.risk.monitor import patient_risk_update

from .test_patient_risk import SHIFTS, add_note

pytestmark = pytest.mark.django_db


def test_a_timeline_view_is_recorded_once_with_the_notes_it_quotes(monitored_project, django_user_model):
    patient = Patient.objects.create(project=monitored_project, external_id="p-audit")
    notes = [add_note(monitored_project, patient, i) for i in (0, 2)]
    patient_risk_update(patient_id=patient.pk)
    nurse = django_user_model.objects.create_user("nurse", password="pw-123456")
    ProjectMembership.objects.create(project=monitored_project, user=nurse, role="reviewer")
    client = Client()
    client.force_login(nurse)
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    page = client.get(f"/projects/ward/risk/{patient.pk}/")
    assert page.status_code == 200 and b"Rash on both arms noted" in page.content
    [event] = AuditEvent.objects.filter(pk__gt=before)
    assert (event.action, event.actor, event.project) == (AuditAction.NOTE_VIEW, nurse, monitored_project)
    assert event.details["view"] == "risk_timeline"
    assert event.details["notes"] == sorted(n.pk for n in notes)
    assert event.details["patient"] == patient.pk
    stored = json.dumps(event.details)
    assert not any(line in stored for shift in SHIFTS for line in shift.split("\n"))
