"""Projects as a team's admin runs them: create (schema from a template, a conf, a copy, or none yet),
settings, archive (read-only), delete (only empty or exported; typed confirmation); each change audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from annotations.audit.models import AuditAction, AuditEvent
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.models import Note, Project, ProjectMembership
from annotations.permissions import Capability, annotation_set_edit_refusal, project_get_for_user
from annotations.services.corpus_import import text_hash
from annotations.services.projects import (
    project_archive,
    project_create,
    project_delete,
    project_delete_refusal,
    project_update,
)
from annotations.services.schemas import project_schema_get

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("lead", password="x", is_staff=True)


def _note(project, external_id="n1"):
    text = "Warfarin caused bleeding."
    return Note.objects.create(project=project, external_id=external_id, text=text, text_hash=text_hash(text))


def test_the_creator_becomes_admin_and_the_creation_is_audited(staff):
    project = project_create(by=staff, name="Team B: cardiology", template="ade", language="zh")
    assert project.slug == "team-b-cardiology" and project.language == "zh"
    assert ProjectMembership.objects.get(project=project).role == "admin"
    schema = project_schema_get(project=project)
    assert {t.name for t in schema.entity_types} >= {"Drug", "Adverse-Effect", "Dose"}
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_CHANGE, project=project)
    assert event.details["change"] == "created" and event.actor == staff


def test_people_without_the_right_cannot_create_projects(django_user_model):
    plain = django_user_model.objects.create_user("plain", password="x")
    with pytest.raises(ApplicationError) as exc:
        project_create(by=plain, name="Mine")
    assert exc.value.status == 403 and not Project.objects.exists()


def test_the_add_project_permission_lets_a_non_staff_person_create(django_user_model):
    from django.contrib.auth.models import Permission

    person = django_user_model.objects.create_user("pv-lead", password="x")
    person.user_permissions.add(Permission.objects.get(codename="add_project"))
    person = django_user_model.objects.get(pk=person.pk)  # permissions are cached per instance
    assert project_create(by=person, name="PV").memberships.get().user == person


def test_a_bad_annotation_conf_is_refused_with_file_and_line_and_nothing_is_created(staff):
    with pytest.raises(ApplicationError) as exc:
        project_create(by=staff, name="Bad", annotation_conf="[entities]\nDrug\n[relations]\nR1 Arg1:Nope, Arg2\n")
    assert "annotation.conf:" in exc.value.message
    assert not Project.objects.exists()


def test_a_copied_schema_is_the_other_projects(staff):
    first = project_create(by=staff, name="First", template="ade")
    second = project_create(by=staff, name="Second", copy_from=first)
    assert project_schema_get(project=second) == project_schema_get(project=first)


def test_without_a_schema_source_the_first_import_infers_it(staff):
    assert project_schema_get(project=project_create(by=staff, name="Later")) is None


def test_slugs_are_unique_reserved_names_refused_and_hostile_names_refused(staff):
    project_create(by=staff, name="Ward")
    assert project_create(by=staff, name="Ward").slug == "ward-2"
    with pytest.raises(ApplicationError):
        project_create(by=staff, name="x", slug="new")
    with pytest.raises(ApplicationError):
        project_create(by=staff, name="x", slug="../etc")
    with pytest.raises(ApplicationError):
        project_create(by=staff, name="bell\x07")


def test_settings_changes_are_audited_with_old_and_new_values(staff):
    project = project_create(by=staff, name="P", template="ade")
    project_update(by=staff, project=project, name="P2", ade_threshold=0.7, ade_evidence_relation_types=["Dose"])
    project.refresh_from_db()
    assert (project.name, project.ade_threshold, project.ade_evidence_relation_types) == ("P2", 0.7, ["Dose"])
    fields = AuditEvent.objects.filter(action=AuditAction.PROJECT_CHANGE).order_by("-pk").first().details["fields"]
    assert fields["name"] == ["P", "P2"] and fields["ade_threshold"] == [0.5, 0.7]
    with pytest.raises(ApplicationError, match="no relation type"):
        project_update(by=staff, project=project, ade_evidence_relation_types=["Nope"])


def test_the_evidence_setting_decides_which_relations_count_as_ade_evidence(staff):
    from annotations.services.editing import evidence_relation_types

    project = project_create(by=staff, name="P", template="ade")
    schema = project_schema_get(project=project)
    assert evidence_relation_types(schema, project) == {"Adverse-Effect"}
    project = project_update(by=staff, project=project, ade_evidence_relation_types=["Dose"])
    assert evidence_relation_types(schema, project) == {"Dose"}


def test_an_archived_project_is_read_only_and_hidden_until_unarchived(staff):
    from annotations import selectors
    from annotations.models import AnnotationSet

    project = project_create(by=staff, name="Old")
    note = _note(project)
    own = AnnotationSet.objects.create(note=note, source_kind="user", user=staff, source_name="lead", status="in_progress")
    project_archive(by=staff, project=project, archived=True)
    project.refresh_from_db()
    assert list(selectors.project_list_for_user(user=staff)) == []
    assert [p.slug for p in selectors.project_list_for_user(user=staff, archived=True)] == ["old"]
    project_get_for_user(user=staff, slug="old")  # still readable
    with pytest.raises(PermissionDenied, match="archived"):
        project_get_for_user(user=staff, slug="old", capability=Capability.ANNOTATE)
    assert annotation_set_edit_refusal(user=staff, annotation_set=own).code == "archived"
    project_archive(by=staff, project=project, archived=False)
    project_get_for_user(user=staff, slug="old", capability=Capability.MANAGE)
    changes = list(AuditEvent.objects.filter(action=AuditAction.PROJECT_CHANGE).order_by("pk")
               .values_list("details__change", flat=True))
    assert changes == ["created", "archived", "unarchived"]


def test_an_empty_project_is_deleted_after_typing_its_name(staff):
    project = project_create(by=staff, name="Scratch")
    with pytest.raises(ApplicationError, match="Type the project's short name"):
        project_delete(by=staff, project=project, confirm="scratc")
    project_delete(by=staff, project=project, confirm="scratch")
    assert not Project.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.PROJECT_CHANGE, details__change="deleted").exists()


def test_a_project_with_notes_is_deleted_only_after_an_export_newer_than_its_last_change(staff):
    project = project_create(by=staff, name="Full")
    _note(project)
    with pytest.raises(ApplicationError) as exc:
        project_delete(by=staff, project=project, confirm="full")
    assert exc.value.status == 409 and "never exported" in exc.value.message
    audit_record(action=AuditAction.EXPORT, actor=staff, project=project, object_type="export")
    assert project_delete_refusal(project=project) is None
    note = _note(project, "n2")  # a change after the export
    Note.objects.filter(pk=note.pk).update(created_at=timezone.now() + timezone.timedelta(seconds=5))
    assert "changed after its last export" in project_delete_refusal(project=project)
