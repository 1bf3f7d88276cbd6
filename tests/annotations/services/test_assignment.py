"""Note assignments (issue 17, annotations.services.assignment) on PostgreSQL: the settings and their limits,
the hand-out (at most k people a note, never twice to one person, only notes that need annotation, the
project's order, started notes first, none when notes are assigned by hand, one open note at a time), admins'
assignments by hand, the timeout, and the touch and completion that the assignee's edits make."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Case, Value, When
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.audit.models import AuditAction, AuditEvent
from annotations.errors import ApplicationError
from annotations.models import AnnotationSet, Note, NoteAssignment, Project, ProjectMembership
from annotations.services import editing
from annotations.services.assignment import (
    assignment_order_register,
    assignment_reassign,
    assignment_settings_update,
    assignment_unassign,
    assignments_release_stale,
    note_assign_next,
    notes_assign,
)
from annotations.services.corpus_import import text_hash
from annotations.services.members import member_add
from annotations.services.projects import project_create

pytestmark = pytest.mark.django_db

TEXT = "Rash after amoxicillin; stopped."


@pytest.fixture
def team(django_user_model):
    lead = django_user_model.objects.create_user("lead", password="x", is_staff=True)
    project = project_create(by=lead, name="Assign", template="ade")
    people = {"lead": lead}
    for name, role in (("ann1", "annotator"), ("ann2", "annotator"), ("ann3", "annotator"), ("rev", "reviewer")):
        people[name] = django_user_model.objects.create_user(name, password="x")
        member_add(by=lead, project=project, user=people[name], role=role)
    notes = [Note.objects.create(project=project, external_id=f"n{i}", text=TEXT, text_hash=text_hash(TEXT))
             for i in range(5)]
    return project, people, notes


def _settings(project, by, **values):
    return assignment_settings_update(by=by, project=project, **values)


def _next(project, user):
    project.refresh_from_db()
    return note_assign_next(by=user, project=project)


# --- settings -----------------------------------------------------------------------------------------------


def test_settings_are_for_admins_within_limits_and_audited(team):
    project, people, _ = team
    _settings(project, people["lead"], annotators_per_note=3, blind_annotation=True, assignment_order="random",
              assignment_timeout_hours=0)
    project.refresh_from_db()
    assert (project.annotators_per_note, project.blind_annotation, project.assignment_order,
            project.assignment_timeout_hours) == (3, True, "random", 0)
    event = AuditEvent.objects.filter(action=AuditAction.PROJECT_CHANGE, details__change="assignment_settings").get()
    assert event.details["fields"]["annotators_per_note"] == [1, 3]
    for bad in ({"annotators_per_note": 0}, {"annotators_per_note": 11}, {"assignment_order": "alphabetical"},
                {"assignment_timeout_hours": -1}):
        with pytest.raises(ApplicationError):
            _settings(project, people["lead"], **bad)
    for who in ("ann1", "rev"):
        with pytest.raises(ApplicationError) as refused:
            _settings(project, people[who], annotators_per_note=2)
        assert refused.value.status == 403
    project.refresh_from_db()
    assert project.annotators_per_note == 3


# --- the hand-out -------------------------------------------------------------------------------------------


def test_a_note_goes_to_at_most_k_people_and_never_twice_to_one(team):
    project, people, notes = team
    _settings(project, people["lead"], annotators_per_note=2)
    given = {}
    for name in ("ann1", "ann2", "ann3"):
        given[name] = _next(project, people[name])
    # Without a ranking the order is the notes' ids; the first note takes its two people before the next.
    assert given["ann1"].note_id == given["ann2"].note_id == notes[0].pk
    assert given["ann3"].note_id == notes[1].pk
    assert NoteAssignment.objects.filter(note=notes[0]).count() == 2
    # Holding an open note, one gets it back, not another one.
    assert _next(project, people["ann1"]).pk == given["ann1"].pk
    assert NoteAssignment.objects.filter(user=people["ann1"]).count() == 1
    # Completed, the next note is another one: never the same note twice.
    NoteAssignment.objects.filter(pk=given["ann1"].pk).update(completed_at=timezone.now())
    following = _next(project, people["ann1"])
    assert following.note_id == notes[1].pk  # ann3 holds n1: it still needs a second person
    NoteAssignment.objects.filter(pk=following.pk).update(completed_at=timezone.now())
    assert _next(project, people["ann1"]).note_id == notes[2].pk
    counts = {n.pk: NoteAssignment.objects.filter(note=n).count() for n in notes}
    assert max(counts.values()) <= 2
    assert NoteAssignment.objects.filter(user=people["ann1"]).values("note").distinct().count() == 3


def test_only_notes_that_need_annotation_are_handed_out(team):
    project, people, notes = team
    ann = people["ann1"]
    # n0: gold from an import; n1: signed off; n2: submitted by ann already; n3: someone else's set fills k=1.
    AnnotationSet.objects.create(note=notes[0], source_kind="import", source_name="gold", status="gold")
    Note.objects.filter(pk=notes[1].pk).update(review_status="signed_off")
    AnnotationSet.objects.create(note=notes[2], source_kind="user", user=ann, source_name="ann1", status="submitted")
    AnnotationSet.objects.create(note=notes[3], source_kind="user", user=people["ann2"], source_name="ann2",
                                 status="in_progress")
    assert _next(project, ann).note_id == notes[4].pk
    NoteAssignment.objects.all().update(completed_at=timezone.now())
    assert _next(project, ann) is None


def test_started_notes_come_first_then_the_registered_active_learning_order(team):
    project, people, notes = team
    _settings(project, people["lead"], annotators_per_note=2)
    ranks = {notes[3].pk: 1, notes[1].pk: 2}  # a stand-in for the learning app's ranking
    rank = Case(*[When(pk=pk, then=Value(r)) for pk, r in ranks.items()], default=Value(99))
    assignment_order_register("active_learning", lambda qs: qs.order_by(rank, "pk"))
    try:
        assert _next(project, people["ann1"]).note_id == notes[3].pk
        # ann2 gets the started note (it needs a second person), not the next-ranked fresh one.
        assert _next(project, people["ann2"]).note_id == notes[3].pk
        assert _next(project, people["ann3"]).note_id == notes[1].pk
    finally:
        from inference.learning.selectors import annotation_queue_order

        assignment_order_register("active_learning", annotation_queue_order)


def test_the_active_learning_order_is_the_annotation_queues(team):
    from inference.models import ModelVersion
    from inference.models.learning import NoteScore

    project, people, notes = team
    version = ModelVersion.objects.create(project=project, name="m", path="/nonexistent")
    for note, rank in ((notes[2], 1), (notes[4], 2)):
        NoteScore.objects.create(note=note, project=project, model_version=version, scores={}, rank=rank)
    assert _next(project, people["ann1"]).note_id == notes[2].pk
    assert _next(project, people["ann2"]).note_id == notes[4].pk
    assert _next(project, people["ann3"]).note_id == notes[0].pk  # unranked notes last, by id


def test_random_order_hands_out_every_note_once_with_k_one(team):
    project, people, notes = team
    _settings(project, people["lead"], assignment_order="random")
    seen = []
    for _ in range(len(notes)):
        a = _next(project, people["ann1"])
        seen.append(a.note_id)
        NoteAssignment.objects.filter(pk=a.pk).update(completed_at=timezone.now())
    assert sorted(seen) == sorted(n.pk for n in notes)
    assert _next(project, people["ann1"]) is None


def test_a_project_assigned_by_hand_hands_out_nothing_but_gives_held_notes_back(team):
    project, people, notes = team
    _settings(project, people["lead"], assignment_order="manual")
    assert _next(project, people["ann1"]) is None
    assert not NoteAssignment.objects.exists()
    notes_assign(by=people["lead"], project=project, notes=[notes[3], notes[1]], user=people["ann1"])
    first = _next(project, people["ann1"])
    assert first.note_id in (notes[3].pk, notes[1].pk)
    assert first.assigned_by == people["lead"]
    NoteAssignment.objects.filter(pk=first.pk).update(completed_at=timezone.now())
    second = _next(project, people["ann1"])
    assert {first.note_id, second.note_id} == {notes[1].pk, notes[3].pk}


def test_hand_outs_are_audited_and_only_for_members_who_annotate(team, django_user_model):
    project, people, _ = team
    a = _next(project, people["rev"])  # reviewers annotate too
    event = AuditEvent.objects.get(action=AuditAction.ASSIGNMENT_CHANGE)
    assert (event.note_id, event.actor_id, event.details["change"]) == (a.note_id, people["rev"].pk, "handed_out")
    stranger = django_user_model.objects.create_user("stranger", password="x")
    with pytest.raises(ApplicationError) as refused:
        note_assign_next(by=stranger, project=project)
    assert refused.value.status == 404
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    with pytest.raises(ApplicationError) as archived:
        _next(project, people["ann1"])
    assert archived.value.code == "archived"


@pytest.mark.django_db(transaction=True)
def test_two_people_taking_the_last_place_at_once_get_one_place(django_user_model):
    lead = django_user_model.objects.create_user("lead", password="x", is_staff=True)
    project = project_create(by=lead, name="Race", template="ade")
    users = []
    for i in range(4):
        users.append(django_user_model.objects.create_user(f"a{i}", password="x"))
        ProjectMembership.objects.create(project=project, user=users[-1], role="annotator")
    Note.objects.create(project=project, external_id="only", text=TEXT, text_hash=text_hash(TEXT))
    barrier = threading.Barrier(len(users))
    errors = []

    def take(user):
        try:
            barrier.wait()
            note_assign_next(by=user, project=Project.objects.get(pk=project.pk))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert NoteAssignment.objects.count() == 1


# --- by hand ------------------------------------------------------------------------------------------------


def test_admins_assign_unassign_and_reassign_named_people(team):
    project, people, notes = team
    lead = people["lead"]
    created = notes_assign(by=lead, project=project, notes=notes[:3], user=people["ann1"])
    assert len(created) == 3
    # k=1: a note that has its person is refused, whole and named.
    with pytest.raises(ApplicationError) as full:
        notes_assign(by=lead, project=project, notes=[notes[0], notes[4]], user=people["ann2"])
    assert full.value.status == 409 and "n0" in full.value.message
    assert not NoteAssignment.objects.filter(note=notes[4]).exists()
    with pytest.raises(ApplicationError):
        notes_assign(by=lead, project=project, notes=[notes[1]], user=people["ann1"])  # twice to one person
    with pytest.raises(ApplicationError) as not_admin:
        notes_assign(by=people["rev"], project=project, notes=[notes[4]], user=people["ann1"])
    assert not_admin.value.status == 403
    moved = assignment_reassign(by=lead, project=project, assignment=created[0], user=people["ann2"])
    assert (moved.note_id, moved.user, moved.assigned_by) == (notes[0].pk, people["ann2"], lead)
    assert not NoteAssignment.objects.filter(note=notes[0], user=people["ann1"]).exists()
    assignment_unassign(by=lead, project=project, assignment=created[1])
    assert not NoteAssignment.objects.filter(pk=created[1].pk).exists()
    NoteAssignment.objects.filter(pk=created[2].pk).update(completed_at=timezone.now())
    with pytest.raises(ApplicationError) as completed:
        assignment_unassign(by=lead, project=project, assignment=created[2])
    assert completed.value.code == "completed"
    changes = list(AuditEvent.objects.filter(action=AuditAction.ASSIGNMENT_CHANGE).order_by("pk")
                   .values_list("details__change", flat=True))
    assert changes == ["assigned"] * 3 + ["reassigned", "unassigned"]


def test_a_note_of_another_project_or_a_non_member_cannot_be_assigned(team, django_user_model):
    project, people, notes = team
    other = project_create(by=people["lead"], name="Other", template="ade")
    foreign = Note.objects.create(project=other, external_id="x", text=TEXT, text_hash=text_hash(TEXT))
    with pytest.raises(ApplicationError) as wrong_project:
        notes_assign(by=people["lead"], project=project, notes=[foreign], user=people["ann1"])
    assert wrong_project.value.status == 404
    stranger = django_user_model.objects.create_user("stranger", password="x")
    with pytest.raises(ApplicationError):
        notes_assign(by=people["lead"], project=project, notes=[notes[0]], user=stranger)


# --- the timeout ----------------------------------------------------------------------------------------------


def test_untouched_assignments_go_back_to_the_pool_lazily_and_by_the_beat(team):
    from annotations.tasks import assignments_release_stale_task

    project, people, notes = team
    old = timezone.now() - timedelta(hours=73)
    stale = NoteAssignment.objects.create(note=notes[0], user=people["ann1"], touched_at=old)
    fresh = NoteAssignment.objects.create(note=notes[1], user=people["ann2"], touched_at=timezone.now())
    done = NoteAssignment.objects.create(note=notes[2], user=people["ann3"], touched_at=old, completed_at=old)
    # The hand-out releases the project's stale assignments first: n0 is free again, and ann3 gets it.
    assert _next(project, people["ann3"]).note_id == notes[0].pk
    assert not NoteAssignment.objects.filter(pk=stale.pk).exists()
    assert NoteAssignment.objects.filter(pk__in=[fresh.pk, done.pk]).count() == 2
    released = AuditEvent.objects.get(action=AuditAction.ASSIGNMENT_CHANGE, details__change="released")
    assert (released.note_id, released.details["user"], released.actor_id) == (notes[0].pk, "ann1", None)
    # The beat: every project's.
    NoteAssignment.objects.filter(pk=fresh.pk).update(touched_at=old)
    assert assignments_release_stale_task() == 1
    assert not NoteAssignment.objects.filter(pk=fresh.pk).exists()
    from django.conf import settings

    assert "annotations.assignments_release_stale" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}


def test_a_timeout_of_zero_keeps_assignments_and_release_now_is_for_admins(team):
    project, people, notes = team
    _settings(project, people["lead"], assignment_timeout_hours=0)
    NoteAssignment.objects.create(note=notes[0], user=people["ann1"], touched_at=timezone.now() - timedelta(days=400))
    assert assignments_release_stale() == 0
    assert NoteAssignment.objects.count() == 1
    with pytest.raises(ApplicationError):
        assignments_release_stale(by=people["ann1"], project=project)
    _settings(project, people["lead"], assignment_timeout_hours=1)
    assert assignments_release_stale(by=people["lead"], project=project) == 1


# --- touch and completion -------------------------------------------------------------------------------------


def test_the_assignees_edits_touch_and_submitting_completes_and_reopening_opens_again(team):
    project, people, notes = team
    ann = people["ann1"]
    assignment = _next(project, ann)
    old = timezone.now() - timedelta(hours=10)
    NoteAssignment.objects.filter(pk=assignment.pk).update(touched_at=old)
    note = Note.objects.get(pk=assignment.note_id)
    result = editing.annotation_set_first_edit(
        note=note, user=ann, expected_version=0,
        edit=lambda aset, v: editing.entity_create(annotation_set=aset, expected_version=v, type="Drug",
                                                   spans=[(11, 22)], user=ann))
    assignment.refresh_from_db()
    assert assignment.touched_at > old and assignment.completed_at is None
    aset = result.annotation_set
    r = editing.note_label_set(annotation_set=aset, expected_version=result.version, value="no_ade", evidence=None,
                               user=ann)
    r = editing.annotation_set_submit(annotation_set=aset, expected_version=r.version, user=ann)
    assignment.refresh_from_db()
    assert assignment.completed_at is not None
    editing.annotation_set_reopen(annotation_set=aset, expected_version=r.version, user=ann)
    assignment.refresh_from_db()
    assert assignment.completed_at is None


def test_an_edit_without_an_assignment_costs_no_query_for_it(team):
    project, people, notes = team
    ann = people["ann1"]
    aset = editing.annotation_set_for_editor(note=notes[0], user=ann)
    aset.note = Note.objects.select_related("project").get(pk=notes[0].pk)

    def edit(span):
        version = AnnotationSet.objects.get(pk=aset.pk).version
        with CaptureQueriesContext(connection) as queries:
            editing.entity_create(annotation_set=aset, expected_version=version, type="Drug", spans=[span], user=ann)
        return [q["sql"] for q in queries.captured_queries]

    def touches(queries):
        return [q for q in queries if "noteassignment" in q and q.lstrip().upper().startswith("UPDATE")]

    edit((0, 4))  # the first edit moves the note and the set forward: more writes than the next ones
    without = edit((11, 22))
    assert touches(without) == []
    NoteAssignment.objects.create(note=notes[0], user=ann, touched_at=timezone.now() - timedelta(hours=1))
    with_assignment = edit((24, 31))
    assert len(touches(with_assignment)) == 1
    assert len(with_assignment) == len(without) + 1
