"""The audit trail records reads, edits, exports, downloads and logins, holds no clinical text, and cannot
be changed or deleted: not through the model, not through querysets, not through raw SQL."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from annotations.audit.models import AppendOnlyError, AuditAction, AuditEvent
from annotations.audit.services import audit_record

from .conftest import TEXT_A1

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_note_view_is_recorded_with_actor_project_note_and_address(world):
    url = reverse("api-note-detail", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})
    assert world.client("reviewer").get(url, REMOTE_ADDR="10.1.2.3").status_code == 200
    [event] = events(AuditAction.NOTE_VIEW)
    assert (event.actor, event.project, event.note) == (world.users["reviewer"], world.alpha, world.note_a1)
    assert event.client_address == "10.1.2.3"


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(world, settings):
    url = reverse("api-note-detail", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})
    client = world.client("reviewer")
    client.get(url, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    settings.ADE_REVIEW_TRUSTED_PROXIES = 1
    client.get(url, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7")
    assert [e.client_address for e in events(AuditAction.NOTE_VIEW)] == ["10.0.0.1", "192.0.2.7"]


def test_an_edit_is_recorded_with_structure_before_and_after_and_no_text(world):
    url = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    response = world.client("annotator").post(url, {"version": 1, "type": "ADE", "fragments": [[30, 36]]},
                                              format="json")
    assert response.status_code == 201, response.data
    [event] = events(AuditAction.ANNOTATION_CHANGE)
    assert event.details["operation"] == "entity_create"
    assert (event.details["version_before"], event.details["version_after"]) == (1, 2)
    # the record holds what the edit touched: nothing before, the new entity after
    assert event.details["before"]["entities"] == []
    assert event.details["after"]["entities"] == [{"id": "T3", "type": "ADE", "fragments": [[30, 36]], "decision": "added"}]
    stored = json.dumps(event.details)
    for word in ("warfarin", "epistaxis", "severe", TEXT_A1):
        assert word not in stored


def test_a_whole_set_replace_is_recorded(world):
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    body = {"version": 1, "entities": [{"id": "T1", "type": "Drug", "fragments": [[11, 19]]}]}
    assert world.client("annotator").put(url, body, format="json").status_code == 200
    [event] = events(AuditAction.ANNOTATION_CHANGE)
    assert len(event.details["before"]["entities"]) == 2 and len(event.details["after"]["entities"]) == 1


def test_a_refused_edit_leaves_no_record(world):
    url = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    response = world.client("annotator").post(url, {"version": 1, "type": "Nonsense", "fragments": [[0, 3]]},
                                              format="json")
    assert response.status_code == 400 and response.data["code"] == "invalid_annotations"
    assert not events(AuditAction.ANNOTATION_CHANGE)


def test_an_export_and_its_download_are_recorded(world):
    client = world.client("admin")
    response = client.post(reverse("api-export-create", kwargs={"slug": "alpha"}),
                           {"format": "jsonl", "source": "gold"}, format="json")
    assert response.status_code == 201, response.data
    download = client.get(response.data["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:2] == b"PK"
    [export] = events(AuditAction.EXPORT)
    [fetched] = events(AuditAction.DOWNLOAD)
    assert export.details == {"format": "jsonl", "source": "gold", "notes": 2}
    assert export.object_id == fetched.object_id == response.data["id"]


def test_a_sign_off_and_a_job_start_are_recorded(world):
    from annotations.models import AnnotationSet

    AnnotationSet.objects.filter(pk=world.annotator_set.pk).update(status="submitted")
    url = reverse("api-note-sign-offs", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})
    body = {"decision": "confirm", "comment": "seen", "annotation_set": world.annotator_set.pk,
            "version": world.annotator_set.version}
    assert world.client("reviewer").post(url, body, format="json").status_code == 201
    url = reverse("api-job-list", kwargs={"slug": "alpha"})
    assert world.client("admin").post(url, {"kind": "classify"}, format="json").status_code == 201
    assert events(AuditAction.SIGN_OFF)[0].details["decision"] == "confirm"
    assert events(AuditAction.JOB_START)[0].details["kind"] == "classify"


def test_logins_are_recorded_failed_ones_without_an_actor(world):
    client = Client()
    response = client.post(reverse("login"), {"username": "annotator", "password": "wrong"}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200
    assert client.post(reverse("login"), {"username": "annotator", "password": "pw-annotator"}).status_code == 302
    [failure] = events(AuditAction.LOGIN_FAILURE)
    [success] = events(AuditAction.LOGIN_SUCCESS)
    assert failure.actor is None and failure.actor_username == "annotator"
    assert failure.client_address == "10.9.9.9"
    assert "wrong" not in json.dumps(failure.details)
    assert success.actor == world.users["annotator"]


def test_records_cannot_be_changed_or_deleted_through_the_orm(world):
    event = audit_record(action=AuditAction.NOTE_VIEW, actor=world.users["admin"], project=world.alpha)
    event.action = AuditAction.EXPORT
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.EXPORT)
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.NOTE_VIEW


@pytest.mark.parametrize("sql", [
    "UPDATE annotations_auditevent SET action = 'export' WHERE id = %s",
    "DELETE FROM annotations_auditevent WHERE id = %s",
])
def test_records_cannot_be_changed_or_deleted_through_raw_sql(world, sql):
    event = audit_record(action=AuditAction.NOTE_VIEW, actor=world.users["admin"], project=world.alpha)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.NOTE_VIEW


def test_deleting_a_user_or_project_keeps_their_records(world):
    audit_record(action=AuditAction.NOTE_VIEW, actor=world.users["outsider"], project=world.beta, note=world.note_b1)
    ids = (world.beta.pk, world.note_b1.pk)
    world.users["outsider"].delete()
    world.beta.delete()
    event = AuditEvent.objects.get(action=AuditAction.NOTE_VIEW)
    assert (event.actor_username, event.project_id, event.note_id) == ("outsider", *ids)


def test_admins_browse_and_export_the_trail(world):
    audit_record(action=AuditAction.NOTE_VIEW, actor=world.users["reviewer"], project=world.alpha,
                 note=world.note_a1)
    client = Client()
    client.force_login(world.users["admin"])
    page = client.get(reverse("audit-event-list", kwargs={"slug": "alpha"}), {"action": "note_view"})
    assert page.status_code == 200 and b"reviewer" in page.content
    csv_response = client.get(reverse("audit-event-export", kwargs={"slug": "alpha"}))
    body = b"".join(csv_response.streaming_content).decode()
    assert body.splitlines()[0].startswith("time,action,actor")
    assert f"note_view,reviewer,{world.alpha.pk},{world.note_a1.pk}" in body


def test_deleting_an_entity_records_it_and_its_relations_before_and_nothing_after(world):
    client = world.client("annotator")
    create = reverse("api-relation-create", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    assert client.post(create, {"version": 1, "type": "Causes", "arg1": "T1", "arg2": "T2"},
                       format="json").status_code == 201
    url = reverse("api-entity-detail", kwargs={"slug": "alpha", "pk": world.annotator_set.pk, "local_id": "T1"})
    assert client.delete(url + "?version=2").status_code == 200
    [event] = [e for e in events(AuditAction.ANNOTATION_CHANGE) if e.details["operation"] == "entity_delete"]
    assert [e["id"] for e in event.details["before"]["entities"]] == ["T1"]
    assert [(r["id"], r["arg1"], r["arg2"]) for r in event.details["before"]["relations"]] == [("R1", "T1", "T2")]
    assert event.details["after"] == {"entities": [], "relations": [], "attributes": [], "normalizations": []}
    undo = reverse("api-undo", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    assert client.post(undo, {"version": 3}, format="json").status_code == 200
    [restored] = [e for e in events(AuditAction.ANNOTATION_CHANGE) if e.details["operation"] == "undo"]
    assert [e["id"] for e in restored.details["after"]["entities"]] == ["T1"]
    assert [r["id"] for r in restored.details["after"]["relations"]] == ["R1"]
