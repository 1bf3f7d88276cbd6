"""Assignment pages (annotations.views.assignment): My notes with "Get next note", the admins' Assignments page
(who has what, assign by hand, unassign, reassign, release stale now), the assignment settings on the
project's settings page, and the links to them. List pages take a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Note, NoteAssignment, Project
from annotations.services.corpus_import import text_hash

pytestmark = pytest.mark.django_db


def _many_notes(project, n: int) -> list[Note]:
    text = "Another routine note.\n"
    return Note.objects.bulk_create([
        Note(project=project, external_id=f"bulk-{i:03d}", text=text, text_hash=text_hash(text)) for i in range(n)
    ])


def test_get_next_note_opens_the_editor_on_the_handed_out_note_and_my_notes_lists_it(client, ui):
    client.force_login(ui["users"]["annotator"])
    page = client.get("/projects/ui/my-notes/")
    assert page.status_code == 200 and b'id="get-next-note"' in page.content
    response = client.post("/projects/ui/my-notes/next/")
    assignment = NoteAssignment.objects.get(user=ui["users"]["annotator"])
    assert response.status_code == 302
    assert response["Location"] == f"/projects/ui/notes/{assignment.note_id}/"
    # The same note again while it is open.
    assert client.post("/projects/ui/my-notes/next/")["Location"] == response["Location"]
    html = client.get("/projects/ui/my-notes/").content.decode()
    assert f'data-note="{assignment.note.external_id}" data-state="open"' in html
    assert "not started" in html


def test_a_project_assigned_by_hand_says_so_instead_of_handing_out(client, ui):
    Project.objects.filter(pk=ui["project"].pk).update(assignment_order="manual")
    client.force_login(ui["users"]["annotator"])
    response = client.post("/projects/ui/my-notes/next/", follow=True)
    assert response.redirect_chain[-1][0] == "/projects/ui/my-notes/"
    assert "assigned by hand" in response.content.decode()
    assert not NoteAssignment.objects.exists()


def test_my_notes_takes_a_fixed_number_of_queries(client, ui, django_assert_num_queries):
    user = ui["users"]["annotator"]
    client.force_login(user)
    now = timezone.now()
    notes = [ui["note"], *ui["others"]]
    NoteAssignment.objects.create(note=notes[0], user=user, touched_at=now)
    with django_assert_num_queries(5):  # session, user, membership, count, the page (set status in it)
        client.get("/projects/ui/my-notes/")
    extra = _many_notes(ui["project"], 40)
    NoteAssignment.objects.bulk_create([NoteAssignment(note=n, user=user, touched_at=now) for n in extra])
    with django_assert_num_queries(5):
        response = client.get("/projects/ui/my-notes/")
    assert response.content.decode().count("data-state=") == 41
    fragment = client.get("/projects/ui/my-notes/?page=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="my-notes-rows")
    assert fragment.content.decode().lstrip().startswith('<div id="my-notes-rows">')


def test_the_assignments_page_is_for_admins_and_takes_a_fixed_number_of_queries(client, ui,
                                                                                 django_assert_num_queries):
    for role in ("annotator", "reviewer"):
        client.force_login(ui["users"][role])
        assert client.get("/projects/ui/assignments/").status_code == 403
    client.force_login(ui["users"]["admin"])
    NoteAssignment.objects.create(note=ui["note"], user=ui["users"]["annotator"], touched_at=timezone.now())
    # session, user, membership, notes page, their assignments (with set status), who has what
    with django_assert_num_queries(6):
        client.get("/projects/ui/assignments/")
    extra = _many_notes(ui["project"], 45)
    NoteAssignment.objects.bulk_create([
        NoteAssignment(note=n, user=ui["users"]["annotator2"], touched_at=timezone.now()) for n in extra])
    with django_assert_num_queries(6):
        response = client.get("/projects/ui/assignments/")
    html = response.content.decode()
    assert html.count('data-assignee="') == 44  # page one: note-ade and 43 of the new notes have one each
    assert 'id="assignments-next-page"' in html
    with django_assert_num_queries(5):  # the HTMX fragment skips who has what
        fragment = client.get("/projects/ui/assignments/?which=open", HTTP_HX_REQUEST="true",
                              HTTP_HX_TARGET="assignment-notes")
    assert fragment.content.decode().lstrip().startswith('<div id="assignment-notes">')


def test_admins_assign_by_ticking_and_typing_then_reassign_unassign_and_release(client, ui):
    users, note, others = ui["users"], ui["note"], ui["others"]
    Project.objects.filter(pk=ui["project"].pk).update(annotators_per_note=2)
    client.force_login(users["admin"])
    response = client.post("/projects/ui/assignments/assign/", {
        "user": users["annotator"].pk, "note": [note.pk], "note_ids": "note-0, note-1"}, follow=True)
    assert "3 notes assigned to annotator" in response.content.decode()
    assert set(NoteAssignment.objects.filter(user=users["annotator"]).values_list("note__external_id", flat=True)) == {
        "note-ade", "note-0", "note-1"}
    unknown = client.post("/projects/ui/assignments/assign/", {"user": users["annotator2"].pk, "note_ids": "nope"},
                          follow=True)
    assert "No such note in this project: nope" in unknown.content.decode()
    again = client.post("/projects/ui/assignments/assign/", {"user": users["annotator"].pk, "note": [note.pk]},
                        follow=True)
    assert "assigned to annotator already" in again.content.decode()
    a0 = NoteAssignment.objects.get(note=others[0])
    client.post(f"/projects/ui/assignments/{a0.pk}/reassign/", {"user": users["annotator2"].pk})
    assert NoteAssignment.objects.get(note=others[0]).user == users["annotator2"]
    a1 = NoteAssignment.objects.get(note=others[1])
    client.post(f"/projects/ui/assignments/{a1.pk}/unassign/", {"which": "open"})
    assert not NoteAssignment.objects.filter(note=others[1]).exists()
    NoteAssignment.objects.filter(note=note).update(touched_at=timezone.now() - timedelta(days=5))
    page = client.get("/projects/ui/assignments/").content.decode()
    assert "Release 1 stale assignment now" in page
    released = client.post("/projects/ui/assignments/release/", follow=True)
    assert "1 stale assignment released" in released.content.decode()
    assert not NoteAssignment.objects.filter(note=note).exists()
    # An annotator may do none of it.
    client.force_login(users["annotator"])
    for path in ("/projects/ui/assignments/assign/", "/projects/ui/assignments/release/",
                 f"/projects/ui/assignments/{a0.pk}/unassign/"):
        assert client.post(path, {"user": users["annotator"].pk, "note": [note.pk]}).status_code == 403


def test_the_settings_page_sets_the_assignment_settings(client, ui):
    client.force_login(ui["users"]["admin"])
    page = client.get("/projects/ui/settings/").content.decode()
    assert 'id="assignment-form"' in page and 'name="assignment-annotators_per_note"' in page
    response = client.post("/projects/ui/settings/assignment/", {
        "assignment-annotators_per_note": "2", "assignment-assignment_order": "random",
        "assignment-assignment_timeout_hours": "24", "assignment-blind_annotation": "on"})
    assert response.status_code == 302
    project = Project.objects.get(pk=ui["project"].pk)
    assert (project.annotators_per_note, project.assignment_order, project.assignment_timeout_hours,
            project.blind_annotation, project.blind_prelabels) == (2, "random", 24, True, False)
    bad = client.post("/projects/ui/settings/assignment/", {
        "assignment-annotators_per_note": "11", "assignment-assignment_order": "random",
        "assignment-assignment_timeout_hours": "24"})
    assert bad.status_code == 400 and "less than or equal to 10" in bad.content.decode()
    client.force_login(ui["users"]["reviewer"])
    assert client.post("/projects/ui/settings/assignment/", {"assignment-annotators_per_note": "3"}).status_code == 403


def test_the_project_navigation_links_my_notes_and_for_admins_the_assignments(client, ui):
    client.force_login(ui["users"]["annotator"])
    html = client.get("/projects/ui/").content.decode()
    assert 'id="my-notes-link"' in html and 'id="assignments-link"' not in html
    client.force_login(ui["users"]["admin"])
    html = client.get("/projects/ui/").content.decode()
    assert 'id="my-notes-link"' in html and 'href="/projects/ui/assignments/"' in html
