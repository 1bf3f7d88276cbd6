"""Projects and members through the API as a script of a hospital team would use them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import Project, ProjectMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(django_user_model):
    user = django_user_model.objects.create_user("lead", password="x", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_create_a_project_from_a_template_and_become_its_admin(lead):
    response = lead.post("/api/projects/", {"name": "Team B", "template": "ade", "language": "zh"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["slug"] == "team-b" and response.data["role"] == "admin" and response.data["language"] == "zh"
    schema = lead.get("/api/projects/team-b/schema/").data
    assert "Adverse-Effect" in schema["annotation_conf"]
    listed = lead.get("/api/projects/").data["results"]
    assert [p["slug"] for p in listed] == ["team-b"]


def test_a_bad_conf_is_a_400_with_file_and_line(lead):
    response = lead.post("/api/projects/", {"name": "Bad", "annotation_conf": "[relations]\nR Arg1:X\n"}, format="json")
    assert response.status_code == 400 and "annotation.conf:" in response.data["message"]
    assert not Project.objects.exists()


def test_archive_hides_the_project_and_makes_it_read_only_until_unarchived(lead):
    lead.post("/api/projects/", {"name": "Old"}, format="json")
    assert lead.patch("/api/projects/old/", {"archived": True}, format="json").data["archived_at"]
    assert lead.get("/api/projects/").data["results"] == []
    assert [p["slug"] for p in lead.get("/api/projects/?archived=true").data["results"]] == ["old"]
    refused = lead.patch("/api/projects/old/", {"name": "New name"}, format="json")
    assert refused.status_code == 403 and refused.data["code"] == "archived"
    assert lead.post("/api/projects/old/members/", {"username": "lead", "role": "admin"}, format="json").status_code == 403
    response = lead.patch("/api/projects/old/", {"archived": False, "name": "Renamed"}, format="json")
    assert response.status_code == 200 and response.data["archived_at"] is None and response.data["name"] == "Renamed"


def test_delete_needs_the_typed_short_name(lead):
    lead.post("/api/projects/", {"name": "Scratch"}, format="json")
    assert lead.delete("/api/projects/scratch/", {"confirm": "nope"}, format="json").status_code == 400
    assert lead.delete("/api/projects/scratch/", {"confirm": "scratch"}, format="json").status_code == 204
    assert not Project.objects.exists()


def test_members_are_added_re_roled_and_removed_and_the_last_admin_stays(lead, django_user_model):
    ann = django_user_model.objects.create_user("ann", password="x")
    lead.post("/api/projects/", {"name": "Team"}, format="json")
    added = lead.post("/api/projects/team/members/", {"username": "ann", "role": "annotator"}, format="json")
    assert added.status_code == 201 and added.data["role"] == "annotator" and added.data["annotated"] == 0
    assert lead.post("/api/projects/team/members/", {"username": "ann", "role": "annotator"},
                     format="json").status_code == 409
    assert lead.post("/api/projects/team/members/", {"username": "ghost", "role": "annotator"},
                     format="json").status_code == 404
    assert lead.patch(f"/api/projects/team/members/{ann.pk}/", {"role": "reviewer"}, format="json").data["role"] == "reviewer"
    me = ProjectMembership.objects.get(role="admin").user_id
    last = lead.delete(f"/api/projects/team/members/{me}/")
    assert last.status_code == 409 and last.data["code"] == "last_admin"
    listed = lead.get("/api/projects/team/members/").data
    assert listed["count"] == 2 and {m["username"] for m in listed["results"]} == {"ann", "lead"}
    assert lead.delete(f"/api/projects/team/members/{ann.pk}/").status_code == 204
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE).count() == 3


def test_the_schema_templates_are_listed(lead):
    keys = {t["key"] for t in lead.get("/api/schema-templates/").data}
    assert {"ade", "nursing-phrase-states"} <= keys
