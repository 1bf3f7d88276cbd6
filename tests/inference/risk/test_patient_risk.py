"""Live ADR risk: the incremental monitor equals a batch recomputation, and notes arriving update it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from annotations.formats import registry
from annotations.formats.document import Document
from annotations.models import Note, Patient, ProjectMembership
from annotations.services.corpus_import import corpus_import, project_get_or_create, text_hash
from inference.models.risk import PatientRisk, RiskPoint
from inference.risk.monitor import patient_risk_recompute, patient_risk_update

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
SHIFTS = [
    "Pt c/o nausea after iv vancomycin.\nRash on both arms noted; doctor informed.",
    "Patient resting comfortably.\nMetformin 500 mg given po.",
    "Pt states feeling dizzy since morning dose.\nBP 90/60, low bp reported to Dr Kim.",
    "Slept well overnight. No complaints.",
]


def add_note(project, patient, i, *, hours=None):
    text = SHIFTS[i % len(SHIFTS)]
    return Note.objects.create(
        project=project, patient=patient, external_id=f"n{i}", text=text, text_hash=text_hash(text),
        timestamp=START + timedelta(hours=8 * i if hours is None else hours),
    )


def series(patient):
    return list(RiskPoint.objects.filter(patient=patient).order_by("sequence").values_list(
        "note__external_id", "phrase_index", "state", "risk"))


def test_incremental_updates_equal_a_batch_recomputation(monitored_project):
    patient = Patient.objects.create(project=monitored_project, external_id="p1")
    added = []
    for i in range(4):
        add_note(monitored_project, patient, i)
        added.append(patient_risk_update(patient_id=patient.pk))
    assert all(n > 0 for n in added)
    incremental = series(patient)
    state = PatientRisk.objects.get(patient=patient)
    patient_risk_recompute(patient_id=patient.pk)
    assert series(patient) == incremental
    again = PatientRisk.objects.get(patient=patient)
    assert (again.phrase_count, again.risk) == (state.phrase_count, pytest.approx(state.risk, abs=1e-12))


def test_updating_twice_adds_nothing(monitored_project):
    patient = Patient.objects.create(project=monitored_project, external_id="p1")
    add_note(monitored_project, patient, 0)
    assert patient_risk_update(patient_id=patient.pk) > 0
    assert patient_risk_update(patient_id=patient.pk) == 0


def test_a_late_note_is_placed_in_time_order(monitored_project):
    patient = Patient.objects.create(project=monitored_project, external_id="p1")
    add_note(monitored_project, patient, 1)
    patient_risk_update(patient_id=patient.pk)
    add_note(monitored_project, patient, 0)  # written earlier, arrives later
    patient_risk_update(patient_id=patient.pk)
    assert [row[0] for row in series(patient)][0] == "n0"
    assert len(series(patient)) == PatientRisk.objects.get(patient=patient).phrase_count


def test_importing_notes_updates_the_patients_risk(monitored_project, tmp_path, django_capture_on_commit_callbacks):
    documents = [
        Document(id=f"d{i}", text=SHIFTS[i], metadata={"patient": "p7", "timestamp": (START + timedelta(hours=8 * i)).isoformat()})
        for i in range(3)
    ]
    registry.write_corpus(documents, tmp_path / "notes.jsonl", "jsonl")
    with django_capture_on_commit_callbacks(execute=True):
        corpus_import(project=monitored_project, path=tmp_path / "notes.jsonl", fmt="jsonl")
    risk = PatientRisk.objects.get(patient__external_id="p7")
    assert risk.phrase_count == RiskPoint.objects.filter(patient__external_id="p7").count() > 0
    assert 0.0 <= risk.risk <= 1.0


def test_patients_are_listed_by_current_risk_for_members_only(monitored_project, django_user_model):
    for name, notes in (("low", [3]), ("high", [0, 2])):
        patient = Patient.objects.create(project=monitored_project, external_id=name)
        for i in notes:
            add_note(monitored_project, patient, i)
        patient_risk_update(patient_id=patient.pk)
    member = django_user_model.objects.create_user("nurse", password="pw-123456")
    outsider = django_user_model.objects.create_user("outsider", password="pw-123456")
    ProjectMembership.objects.create(project=monitored_project, user=member, role="reviewer")
    project_get_or_create(slug="other")
    client = Client()
    assert client.get("/projects/ward/risk/").status_code == 302  # to login
    client.force_login(outsider)
    assert client.get("/projects/ward/risk/").status_code == 404
    client.force_login(member)
    page = client.get("/projects/ward/risk/")
    assert page.status_code == 200
    risks = {p.external_id: p.risk.risk for p in Patient.objects.filter(project=monitored_project)}
    expected = sorted(risks, key=risks.get, reverse=True)
    body = page.content.decode()
    assert body.index(f">{expected[0]}<") < body.index(f">{expected[1]}<")
    timeline = client.get(f"/projects/ward/risk/{Patient.objects.get(external_id='high').pk}/")
    assert timeline.status_code == 200 and b"Synthetic data" in timeline.content
    assert b"Rash on both arms noted" in timeline.content
