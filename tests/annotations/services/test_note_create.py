"""Creating one note: stored like an import stores it, refused with a code when the input is bad, announced
(`notes_imported`) only once it is committed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from annotations.errors import ApplicationError
from annotations.models import Note, Patient
from annotations.services.corpus_import import project_get_or_create, text_hash
from annotations.services.notes import note_create
from annotations.signals import notes_imported

pytestmark = pytest.mark.django_db

TEXT = "  08:30 pt c/o nausea after iv vancomycin\nBP 100/60.\n"


@pytest.fixture
def project():
    return project_get_or_create(slug="ward")


@pytest.fixture
def announced():
    """The notes_imported signals sent, as (project slug, note ids, patient ids)."""
    sent = []

    def receiver(sender, project, note_ids, patient_ids, **kwargs):
        sent.append((project.slug, note_ids, patient_ids))

    notes_imported.connect(receiver, dispatch_uid="test-note-create")
    yield sent
    notes_imported.disconnect(dispatch_uid="test-note-create")


def test_a_note_is_stored_exactly_with_its_hash_patient_and_time(project):
    note = note_create(
        project=project, external_id="n1", text=TEXT, patient_external_id="p1", timestamp="2026-05-01T08:00:00+02:00",
        unit="ward 3", note_type="nursing note", author_role="nurse", metadata={"shift": "day"},
    )  # fmt: skip
    note.refresh_from_db()
    assert note.text == TEXT and note.text_hash == text_hash(TEXT)
    assert note.timestamp == datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
    assert (note.unit, note.note_type, note.author_role, note.metadata) == ("ward 3", "nursing note", "nurse",
                                                                            {"shift": "day"})  # fmt: skip
    assert note.patient.external_id == "p1" and note.patient.project == project
    again = note_create(project=project, external_id="n2", text="Slept well.", patient_external_id="p1")
    assert again.patient_id == note.patient_id and Patient.objects.filter(project=project).count() == 1
    assert again.timestamp is None and again.metadata == {}


def test_a_time_without_a_zone_is_taken_in_the_site_time_zone(project, settings):
    note = note_create(project=project, external_id="n1", text="Slept.", timestamp="2026-05-01T08:00:00")
    assert note.timestamp.tzinfo is not None


@pytest.mark.parametrize(
    "change,code",
    [
        ({"text": "  \n "}, "empty_text"),
        ({"text": "nausea\x00"}, "bad_text"),
        ({"text": "nausea \ud800"}, "bad_text"),
        ({"external_id": " "}, "bad_external_id"),
        ({"external_id": "x" * 301}, "bad_external_id"),
        ({"patient_external_id": ""}, "bad_patient"),
        ({"timestamp": "yesterday"}, "bad_timestamp"),
        ({"timestamp": "2026-13-45T99:00"}, "bad_timestamp"),
        ({"unit": "u" * 101}, "field_too_long"),
        ({"metadata": {"score": float("nan")}}, "bad_metadata"),
        ({"metadata": {"who": "a\x00b"}}, "bad_metadata"),
        ({"metadata": ["not", "an", "object"]}, "bad_metadata"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_stores_nothing(project, change, code):
    with pytest.raises(ApplicationError) as exc:
        note_create(project=project, **{"external_id": "n1", "text": "Slept well.", **change})
    assert exc.value.code == code and exc.value.status == 400
    assert not Note.objects.exists() and not Patient.objects.exists()


def test_a_note_id_may_be_used_once_per_project(project):
    note_create(project=project, external_id="n1", text="Slept well.")
    with pytest.raises(ApplicationError) as exc:
        note_create(project=project, external_id="n1", text="Another text.", patient_external_id="p9")
    assert (exc.value.code, exc.value.status) == ("note_exists", 409)
    assert not Patient.objects.exists()
    other = project_get_or_create(slug="other")
    assert note_create(project=other, external_id="n1", text="Slept well.").project == other


def test_the_note_is_announced_after_the_commit_only(project, announced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = note_create(project=project, external_id="n1", text=TEXT, patient_external_id="p1")
    assert announced == [] and len(callbacks) == 1
    callbacks[0]()
    assert announced == [("ward", [note.pk], [note.patient_id])]
    with django_capture_on_commit_callbacks(execute=True):
        lone = note_create(project=project, external_id="n2", text=TEXT)
    assert announced[-1] == ("ward", [lone.pk], [])
