"""POST /api/projects/<slug>/notes/: a project admin creates a note; audited, never echoed or logged."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import Note
from annotations.services.corpus_import import text_hash

pytestmark = pytest.mark.django_db

TEXT = "Pt c/o itching after amoxicillin.\nRash on both arms noted; doctor informed.\n"


def url() -> str:
    return reverse("api-note-list", kwargs={"slug": "alpha"})


def test_an_admin_creates_a_note_and_the_answer_carries_its_hash_not_its_text(world, caplog):
    caplog.set_level(logging.DEBUG)
    body = {"external_id": "a3", "text": TEXT, "patient": "p7", "timestamp": "2026-05-01T07:00:00Z",
            "unit": "ward 3", "note_type": "nursing note", "author_role": "nurse", "metadata": {"bed": 4}}  # fmt: skip
    response = world.client("admin").post(url(), body, format="json")
    assert response.status_code == 201, response.data
    note = Note.objects.get(project=world.alpha, external_id="a3")
    assert note.text == TEXT and note.patient.external_id == "p7" and note.metadata == {"bed": 4}
    assert response.data["id"] == note.pk and response.data["patient"] == "p7"
    assert response.data["text_hash"] == text_hash(TEXT) and "text" not in response.data
    [event] = AuditEvent.objects.filter(action=AuditAction.NOTE_CREATE, object_type="note")
    assert (event.actor_username, event.note_id, event.details["external_id"]) == ("admin", note.pk, "a3")
    assert "itching" not in str(event.details)
    logged = "\n".join(r.getMessage() + " " + repr(r.args) for r in caplog.records) + caplog.text
    assert caplog.records and "itching" not in logged and "Rash on both" not in logged


def test_a_created_note_shows_up_in_the_note_list(world):
    client = world.client("admin")
    client.post(url(), {"external_id": "a3", "text": TEXT}, format="json")
    listed = client.get(url()).data["results"]
    assert "a3" in [n["external_id"] for n in listed]


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"external_id": "a1", "text": TEXT}, 409, "note_exists"),  # a1 exists in the world
        ({"external_id": "a3", "text": "   "}, 400, "empty_text"),
        ({"external_id": "a3"}, 400, "invalid"),
        ({"external_id": "a3", "text": TEXT, "timestamp": "yesterday"}, 400, "invalid"),
        ({"external_id": "a3", "text": TEXT, "metadata": {"who": "a\u0000b"}}, 400, "bad_metadata"),
    ],
)
def test_bad_notes_are_refused_with_a_code_and_nothing_is_stored(world, body, status, code):
    before = Note.objects.count()
    response = world.client("admin").post(url(), body, format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert Note.objects.count() == before
    assert not AuditEvent.objects.filter(object_type="note").exists()


def test_the_text_is_stored_exactly_as_sent(world):
    text = "\n  leading and trailing whitespace stay  \n"
    assert (
        world.client("admin").post(url(), {"external_id": "a3", "text": text}, format="json").status_code
        == 201
    )
    assert Note.objects.get(external_id="a3").text == text
