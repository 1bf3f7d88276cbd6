"""Project administration pages as a team admin uses them: the project list, New project, settings (archive,
delete) and members (add, change a role with HTMX, remove)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotations.models import Project, ProjectMembership
from annotations.services.projects import project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(django_user_model):
    user = django_user_model.objects.create_user("lead", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_new_project_from_a_template_lands_on_its_dashboard(lead):
    page = lead.get("/")
    assert b'id="new-project"' in page.content
    response = lead.post("/projects/new/", {"name": "Cardiology", "language": "en", "ade_threshold": "0.5",
                                            "schema_source": "template", "template": "ade"})
    assert response.status_code == 302 and response["Location"] == "/projects/cardiology/"
    assert b"Cardiology" in lead.get("/").content


def test_new_project_to_be_inferred_from_a_corpus_goes_to_the_import_form(lead):
    response = lead.post("/projects/new/", {"name": "Maccrobat", "language": "en", "ade_threshold": "0.5",
                                            "schema_source": "corpus"})
    assert response["Location"] == "/projects/maccrobat/jobs/?kind=import#job-start"
    page = lead.get(response["Location"])
    assert b'<option value="import" selected>' in page.content


def test_new_project_from_uploaded_conf_files_shows_file_and_line_errors(lead):
    bad = SimpleUploadedFile("annotation.conf", b"[relations]\nR Arg1:X\n")
    response = lead.post("/projects/new/", {"name": "Conf", "language": "en", "ade_threshold": "0.5",
                                            "schema_source": "conf", "annotation_conf": bad})
    assert response.status_code == 200 and b"annotation.conf:" in response.content
    assert not Project.objects.exists()


def test_people_who_may_not_create_projects_see_no_button_and_get_403(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("plain", password="x"))
    assert b'id="new-project"' not in client.get("/").content
    assert client.get("/projects/new/").status_code == 403


def test_a_project_name_is_escaped_in_the_list(lead):
    project_create(by=lead.user, name='<img src=x onerror=alert(1)> "q"')
    page = lead.get("/").content.decode()
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_settings_save_archive_and_delete(lead):
    project_create(by=lead.user, name="Ward", template="ade")
    response = lead.post("/projects/ward/settings/", {"name": "Ward 7", "description": "", "language": "en",
                                                      "ade_threshold": "0.6",
                                                      "ade_evidence_relation_types": ["Adverse-Effect"]})
    assert response.status_code == 302
    project = Project.objects.get(slug="ward")
    assert (project.name, project.ade_threshold, project.ade_evidence_relation_types) == ("Ward 7", 0.6, ["Adverse-Effect"])
    lead.post("/projects/ward/settings/archive/", {"archived": "1"})
    assert b"Ward 7" not in lead.get("/").content and b"Ward 7" in lead.get("/?archived=1").content
    assert lead.get("/projects/ward/settings/").status_code == 200  # reachable to unarchive
    lead.post("/projects/ward/settings/delete/", {"confirm": "wrong"})
    assert Project.objects.filter(slug="ward").exists()
    lead.post("/projects/ward/settings/delete/", {"confirm": "ward"})
    assert not Project.objects.filter(slug="ward").exists()


def test_members_page_adds_changes_with_htmx_and_removes(lead, django_user_model):
    ann = django_user_model.objects.create_user("ann", password="x", first_name="Ann")
    project = project_create(by=lead.user, name="Team")
    page = lead.get("/projects/team/members/")
    assert b'<option value="ann">' in page.content
    lead.post("/projects/team/members/", {"username": "ann", "role": "annotator"})
    assert ProjectMembership.objects.get(project=project, user=ann).role == "annotator"
    row = lead.post(f"/projects/team/members/{ann.pk}/", {"role": "reviewer"}, HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and b'id="member-' in row.content and b"<html" not in row.content
    assert ProjectMembership.objects.get(project=project, user=ann).role == "reviewer"
    refused = lead.post(f"/projects/team/members/{lead.user.pk}/", {"role": "annotator"}, HTTP_HX_REQUEST="true")
    assert b"at least one active admin" in refused.content
    lead.post(f"/projects/team/members/{ann.pk}/", {"remove": "1"})
    assert not ProjectMembership.objects.filter(project=project, user=ann).exists()


def test_an_annotator_sees_the_members_but_cannot_change_them(lead, django_user_model):
    from annotations.services.members import member_add

    ann = django_user_model.objects.create_user("ann", password="x")
    project = project_create(by=lead.user, name="Team")
    member_add(by=lead.user, project=project, user=ann, role="annotator")
    client = Client()
    client.force_login(ann)
    page = client.get("/projects/team/members/")
    assert page.status_code == 200 and b'id="member-add"' not in page.content
    assert client.post("/projects/team/members/", {"username": "ann", "role": "admin"}).status_code == 403
    assert client.post(f"/projects/team/members/{ann.pk}/", {"role": "admin"}).status_code == 403
    assert client.get("/projects/team/settings/").status_code == 403
