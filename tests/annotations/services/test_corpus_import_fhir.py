"""Notes in from the EHR through the `fhir` import format: a Bundle of 100 DocumentReferences lands as 100 notes
with their patients and times, a malformed entry is reported by its position while the others import (nothing
of it half-imported), and the same through the API upload (format named, or detected)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.models import AnnotationSet, Note, Patient, ProjectMembership, ProjectRole
from annotations.services.corpus_import import corpus_import, project_get_or_create
from inference.models import Job, JobError
from tests.annotations.formats.test_fhir import bundle, document_reference

pytestmark = pytest.mark.django_db


def hundred_with_one_malformed() -> dict:
    patients = [{"resourceType": "Patient", "id": f"p{k}", "name": [{"family": "Secret"}]} for k in range(9)]
    docs = [document_reference(i, patient=f"Patient/p{i % 9}", text=f"Note {i}: bruising on heparin.",
                               context={"practiceSetting": {"text": "Haematology"}}) for i in range(100)]
    broken = document_reference(100, content=[{"attachment": {"contentType": "text/plain", "data": "%%%"}}])
    return bundle(*patients, *docs[:50], broken, *docs[50:])


@pytest.fixture
def project():
    return project_get_or_create(slug="ehr")


def test_a_bundle_of_a_hundred_notes_round_trips_and_the_malformed_entry_is_reported(tmp_path, project):
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(hundred_with_one_malformed()), encoding="utf-8")
    report = corpus_import(project=project, path=path, fmt="fhir")
    assert (report.imported, report.skipped_documents) == (100, 1)
    assert [str(p) for p in report.skipped] == [
        "notes.json: entry[59] DocumentReference/d100: content[0].attachment.data is not valid base64"]
    notes = {n.external_id: n for n in Note.objects.filter(project=project).select_related("patient")}
    assert len(notes) == 100 and "note-0100" not in notes
    for i in range(100):
        note = notes[f"note-{i:04d}"]
        assert note.text == f"Note {i}: bruising on heparin."
        assert note.patient.external_id == f"p{i % 9}"
        assert note.timestamp == datetime(2026, 3, 1 + i % 28, i % 24, 15, tzinfo=UTC)
        assert (note.note_type, note.unit) == ("progress note", "Haematology")
        assert note.metadata["source"] == "fhir" and "Secret" not in json.dumps(note.metadata)
    assert Patient.objects.filter(project=project).count() == 9
    # Each imported note has its (empty) import set; the refused one left nothing behind.
    assert AnnotationSet.objects.filter(note__project=project).count() == 100
    again = corpus_import(project=project, path=path, fmt="fhir")
    assert (again.imported, again.already_present, again.skipped_documents) == (0, 100, 1)


def test_a_file_without_document_references_is_refused_whole(tmp_path, project):
    from annotations.formats.document import FormatError

    path = tmp_path / "patients.json"
    path.write_text(json.dumps(bundle({"resourceType": "Patient", "id": "p1"})), encoding="utf-8")
    with pytest.raises(FormatError, match="no fhir documents found"):
        corpus_import(project=project, path=path, fmt="fhir")
    assert not Note.objects.filter(project=project).exists()


@pytest.fixture
def admin_api(settings, tmp_path, project):
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = get_user_model().objects.create_user("ehr-admin", password="pw-ehr-admin-1")
    ProjectMembership.objects.create(project=project, user=admin, role=ProjectRole.ADMIN)
    api = APIClient()
    api.force_authenticate(user=admin)
    return api


@pytest.mark.parametrize("fmt,name", [("fhir", "notes.json"), ("auto", "notes.json"), ("auto", "DocumentReference.ndjson")])
def test_the_api_upload_imports_fhir(admin_api, project, django_capture_on_commit_callbacks, fmt, name):
    content = hundred_with_one_malformed()
    if name.endswith(".ndjson"):
        data = "\n".join(json.dumps(e["resource"]) for e in content["entry"]).encode("utf-8")
        where = "DocumentReference.ndjson:60:"
    else:
        data = json.dumps(content).encode("utf-8")
        where = "notes.json: entry[59]"
    with django_capture_on_commit_callbacks(execute=True):
        created = admin_api.post(reverse("api-import-upload", kwargs={"slug": project.slug}),
                                 {"format": fmt, "file": SimpleUploadedFile(name, data)}, format="multipart")
    assert created.status_code == 201, created.content
    job = Job.objects.get(pk=created.json()["id"])
    assert job.parameters["format"] == "fhir"
    assert (job.state, job.done, job.failed) == ("partially_failed", 100, 1)
    (error,) = JobError.objects.filter(job=job)
    assert error.message.startswith(where) and "not valid base64" in error.message
    assert Note.objects.filter(project=project).count() == 100
    assert Note.objects.filter(project=project, patient__external_id="p3").count() == 11
    detail = admin_api.get(reverse("api-job-detail", kwargs={"slug": project.slug, "job_id": job.pk}))
    assert detail.json()["outcome"]["imported"] == 100

