"""Every API response that carries note text or annotations writes exactly one `note_view` audit record
naming the note(s), never the text; a refused request on a note or project writes one `access_denied`."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from annotations.audit.models import AuditAction, AuditEvent

from .conftest import TEXT_A1, TEXT_A2

pytestmark = pytest.mark.django_db


def new_events(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=before).order_by("pk"))


def last_pk() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def assert_one_read(before: int, notes, view: str) -> AuditEvent:
    [event] = new_events(before)
    assert event.action == AuditAction.NOTE_VIEW
    assert event.details["view"] == view
    assert event.details["notes"] == sorted(n.pk for n in notes)
    stored = json.dumps(event.details)
    for word in ("warfarin", "epistaxis", "metformin", TEXT_A1, TEXT_A2):
        assert word not in stored
    return event


def test_annotation_set_detail_is_recorded(world):
    before = last_pk()
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    assert world.client("reviewer").get(url).status_code == 200
    event = assert_one_read(before, [world.note_a1], "api_annotation_set")
    assert (event.note, event.actor, event.project) == (world.note_a1, world.users["reviewer"], world.alpha)
    assert event.details["annotation_set"] == world.annotator_set.pk


def test_a_notes_annotation_set_list_is_recorded(world):
    before = last_pk()
    url = reverse("api-note-annotation-sets", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})
    assert world.client("annotator").get(url).status_code == 200
    assert_one_read(before, [world.note_a1], "api_annotation_set_list")


def test_the_note_list_and_its_search_are_recorded_with_the_listed_notes(world):
    client = world.client("reviewer")
    before = last_pk()
    assert client.get(reverse("api-note-list", kwargs={"slug": "alpha"})).status_code == 200
    event = assert_one_read(before, [world.note_a1, world.note_a2], "api_note_list")
    assert event.note is None
    before = last_pk()
    response = client.get(reverse("api-note-list", kwargs={"slug": "alpha"}), {"search": "epistaxis"})
    assert [n["id"] for n in response.json()["results"]] == [world.note_a1.pk]
    assert_one_read(before, [world.note_a1], "api_note_list")


def test_a_notes_sign_offs_are_recorded(world):
    before = last_pk()
    url = reverse("api-note-sign-offs", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})
    assert world.client("reviewer").get(url).status_code == 200
    assert_one_read(before, [world.note_a1], "api_sign_offs")


def test_a_note_detail_is_recorded_once(world):
    before = last_pk()
    url = reverse("api-note-detail", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})
    assert world.client("annotator").get(url).status_code == 200
    assert assert_one_read(before, [world.note_a1], "api_note").note == world.note_a1


def test_a_note_of_another_project_is_recorded_as_denied_with_the_path_ids_only(world):
    before = last_pk()
    url = reverse("api-note-detail", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})
    assert world.client("outsider").get(url).status_code == 404
    [event] = new_events(before)
    assert event.action == AuditAction.ACCESS_DENIED
    assert (event.actor, event.project_id, event.note_id) == (world.users["outsider"], world.alpha.pk, world.note_a1.pk)
    assert event.details == {"status": 404, "method": "GET",
                             "path_ids": {"slug": "alpha", "note_id": str(world.note_a1.pk)}}


def test_a_forbidden_edit_is_recorded_as_denied(world):
    before = last_pk()
    url = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": world.reviewer_set.pk})
    response = world.client("annotator").post(url, {"version": 1, "type": "ADE", "fragments": [[0, 2]]},
                                              format="json")
    assert response.status_code == 403
    [event] = new_events(before)
    assert (event.action, event.details["status"], event.details["method"]) == (AuditAction.ACCESS_DENIED, 403, "POST")
    assert event.details["path_ids"]["pk"] == str(world.reviewer_set.pk)


def test_reads_without_note_content_write_no_record(world):
    before = last_pk()
    client = world.client("reviewer")
    assert client.get(reverse("api-project-list")).status_code == 200
    assert client.get(reverse("api-project-schema", kwargs={"slug": "alpha"})).status_code == 200
    assert new_events(before) == []
