"""The assignment API (annotations.api.assignment): settings, one's own notes and the next one, admins'
assignments by hand, unassign, reassign, release, who has what. Who may call what is the permission
matrix's (test_permissions.py); here, what each does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import NoteAssignment, Project

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(name, kwargs={"slug": "alpha", **kwargs})


def test_settings_are_read_and_changed_within_their_limits(world):
    admin = world.client("admin")
    assert admin.get(url("api-assignment-settings")).json() == {
        "annotators_per_note": 1, "blind_annotation": False, "blind_prelabels": False,
        "assignment_order": "active_learning", "assignment_timeout_hours": 72}
    changed = admin.patch(url("api-assignment-settings"), {"annotators_per_note": 3, "assignment_order": "manual"},
                          format="json")
    assert changed.status_code == 200 and changed.json()["annotators_per_note"] == 3
    for bad in ({"annotators_per_note": 11}, {"annotators_per_note": 0}, {"assignment_order": "x"},
                {"assignment_timeout_hours": -1}):
        response = admin.patch(url("api-assignment-settings"), bad, format="json")
        assert response.status_code == 400, bad
    assert Project.objects.get(slug="alpha").annotators_per_note == 3


def test_the_next_note_is_handed_out_once_and_given_back_until_done(world):
    Project.objects.filter(slug="alpha").update(annotators_per_note=2)
    annotator = world.client("annotator")
    first = annotator.post(url("api-my-assignment-next"))
    assert first.status_code == 200
    body = first.json()
    assert (body["note"], body["username"], body["state"], body["assigned_by"]) == (
        world.note_a2.pk, "annotator", "open", None)
    assert annotator.post(url("api-my-assignment-next")).json()["id"] == body["id"]
    mine = annotator.get(url("api-my-assignment-list")).json()
    assert [a["id"] for a in mine["results"]] == [body["id"]]
    NoteAssignment.objects.filter(pk=body["id"]).update(completed_at=timezone.now())
    # a1 is gold (an imported gold set): nothing else needs the annotator.
    assert annotator.post(url("api-my-assignment-next")).status_code == 204
    assert annotator.get(url("api-my-assignment-list"), {"state": "completed"}).json()["count"] == 1
    assert annotator.get(url("api-my-assignment-list"), {"state": "open"}).json()["count"] == 0


def test_admins_assign_reassign_unassign_and_see_who_has_what(world):
    Project.objects.filter(slug="alpha").update(annotators_per_note=2)
    admin, users = world.client("admin"), world.users
    made = admin.post(url("api-assignment-list"), {"user": users["annotator"].pk, "notes": [world.note_a2.pk]},
                      format="json")
    assert made.status_code == 201
    [row] = made.json()
    assert (row["note_external_id"], row["assigned_by"]) == ("a2", "admin")
    again = admin.post(url("api-assignment-list"), {"user": users["annotator"].pk, "notes": [world.note_a2.pk]},
                       format="json")
    assert again.status_code == 409 and "a2" in again.json()["message"]
    foreign = admin.post(url("api-assignment-list"), {"user": users["annotator"].pk, "notes": [world.note_b1.pk]},
                         format="json")
    assert foreign.status_code == 404
    stranger = admin.post(url("api-assignment-list"), {"user": users["outsider"].pk, "notes": [world.note_a2.pk]},
                          format="json")
    assert stranger.status_code == 400
    moved = admin.post(url("api-assignment-reassign", assignment_id=row["id"]), {"user": users["admin"].pk},
                       format="json")
    assert moved.status_code == 200 and moved.json()["username"] == "admin"
    listed = admin.get(url("api-assignment-list"), {"user": users["admin"].pk}).json()
    assert [a["note"] for a in listed["results"]] == [world.note_a2.pk]
    workload = {w["username"]: w for w in admin.get(url("api-assignment-workload")).json()}
    assert (workload["admin"]["open"], workload["annotator"]["open"]) == (1, 0)
    assert admin.delete(url("api-assignment-detail", assignment_id=moved.json()["id"])).status_code == 204
    assert not NoteAssignment.objects.exists()
    assert admin.get(url("api-assignment-detail", assignment_id=moved.json()["id"])).status_code == 404


def test_release_now_gives_stale_notes_back(world):
    old = timezone.now() - timedelta(days=4)
    stale = NoteAssignment.objects.create(note=world.note_a2, user=world.users["annotator"], touched_at=old)
    admin = world.client("admin")
    assert admin.get(url("api-assignment-list"), {"state": "stale"}).json()["count"] == 1
    assert admin.post(url("api-assignment-release-stale")).json() == {"released": 1}
    assert not NoteAssignment.objects.filter(pk=stale.pk).exists()
