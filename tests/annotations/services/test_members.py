"""Project members: add with a role, change it, remove (their work stays); a project always keeps an admin."""

from __future__ import annotations

import pytest

from annotations.audit.models import AuditAction, AuditEvent
from annotations.errors import ApplicationError
from annotations.models import AnnotationSet, Note, ProjectMembership
from annotations.services.corpus_import import text_hash
from annotations.services.members import member_add, member_remove, member_roles_apply, member_set_role
from annotations.services.projects import project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(django_user_model):
    lead = django_user_model.objects.create_user("lead", password="x", is_staff=True)
    ann = django_user_model.objects.create_user("ann", password="x")
    project = project_create(by=lead, name="Team")
    return lead, ann, project


def test_adding_changing_and_removing_a_member_is_audited_and_keeps_their_work(team):
    lead, ann, project = team
    member_add(by=lead, project=project, user=ann, role="annotator")
    text = "x"
    note = Note.objects.create(project=project, external_id="n", text=text, text_hash=text_hash(text))
    AnnotationSet.objects.create(note=note, source_kind="user", user=ann, source_name="ann", status="in_progress")
    member_set_role(by=lead, project=project, user=ann, role="reviewer")
    member_remove(by=lead, project=project, user=ann)
    assert not ProjectMembership.objects.filter(user=ann).exists()
    assert AnnotationSet.objects.filter(user=ann).count() == 1
    changes = [(e.details["change"], e.details["from"], e.details["to"])
               for e in AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE).order_by("pk")]
    assert changes == [("added", None, "annotator"), ("role", "annotator", "reviewer"), ("removed", "reviewer", None)]


def test_a_member_cannot_be_added_twice_nor_with_an_unknown_role(team):
    lead, ann, project = team
    member_add(by=lead, project=project, user=ann, role="annotator")
    with pytest.raises(ApplicationError) as exc:
        member_add(by=lead, project=project, user=ann, role="reviewer")
    assert exc.value.status == 409
    with pytest.raises(ApplicationError):
        member_set_role(by=lead, project=project, user=ann, role="owner")


def test_the_last_admin_can_be_neither_demoted_nor_removed(team):
    lead, ann, project = team
    with pytest.raises(ApplicationError, match="at least one active admin"):
        member_set_role(by=lead, project=project, user=lead, role="annotator")
    with pytest.raises(ApplicationError, match="at least one active admin"):
        member_remove(by=lead, project=project, user=lead)
    member_add(by=lead, project=project, user=ann, role="admin")
    member_remove(by=lead, project=project, user=lead)
    assert ProjectMembership.objects.get(project=project).user == ann


def test_a_deactivated_person_cannot_be_added(team):
    lead, ann, project = team
    ann.is_active = False
    ann.save()
    with pytest.raises(ApplicationError, match="deactivated"):
        member_add(by=lead, project=project, user=ann, role="annotator")


def test_directory_roles_apply_as_one_change_per_project_and_never_drop_the_last_admin(team):
    lead, ann, project = team
    member_roles_apply(by=lead, user=ann, roles={project: "reviewer"}, reason="directory")
    assert ProjectMembership.objects.get(project=project, user=ann).role == "reviewer"
    member_roles_apply(by=lead, user=lead, roles={project: None}, reason="directory")
    assert ProjectMembership.objects.get(project=project, user=lead).role == "admin"
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE, details__change="refused").exists()
