"""Django admin: staff inspect projects, memberships, jobs and the audit trail read-only; superusers see
everything (users included); nobody adds, changes or deletes the inspected objects there."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from annotations.audit.models import AuditEvent
from annotations.models import Project, ProjectMembership
from inference.models import Job
from pharmacovigilance.models import Case
from pharmacovigilance.terminology.models import Terminology

pytestmark = pytest.mark.django_db
INSPECTED = ("annotations/project", "annotations/projectmembership", "inference/job", "annotations/auditevent",
             "pharmacovigilance/case", "terminology/terminology")


@pytest.fixture
def objects(staff, user):
    project = Project.objects.create(slug="alpha", name="Alpha")
    membership = ProjectMembership.objects.create(project=project, user=user, role="annotator")
    job = Job.objects.create(project=project, kind="export", parameters={"format": "jsonl"}, created_by=staff)
    services.user_deactivate(actor=staff, user=user)  # an audit record
    event = AuditEvent.objects.order_by("-pk").first()
    case = Case.objects.create(project=project, reference="CASE-1", patient_identifier="PID-SECRET-7",
                               reporter="Dr Secret Reporter", narrative="SECRET NARRATIVE of the patient",
                               created_by=staff)
    terminology = Terminology.objects.create(system="meddra", version="27.0", current=True, loaded_by=staff)
    return {"annotations/project": project, "annotations/projectmembership": membership, "inference/job": job,
            "annotations/auditevent": event, "pharmacovigilance/case": case,
            "terminology/terminology": terminology}


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_see_the_inspection_pages_on_the_admin_index(staff):
    html = admin_client(staff).get("/admin/").content.decode()
    assert "You don’t have permission to view or edit anything" not in html
    for path in INSPECTED:
        assert f'href="/admin/{path}/"' in html


@pytest.mark.parametrize("path", INSPECTED)
def test_staff_view_lists_and_details_but_cannot_change_them(staff, objects, path):
    client = admin_client(staff)
    listing = client.get(f"/admin/{path}/")
    assert listing.status_code == 200
    obj = objects[path]
    detail = client.get(f"/admin/{path}/{obj.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'name="_save"' not in html and 'class="deletelink"' not in html  # a view, not a form
    assert client.get(f"/admin/{path}/add/").status_code == 403
    assert client.post(f"/admin/{path}/{obj.pk}/delete/").status_code == 403
    assert client.post(f"/admin/{path}/{obj.pk}/change/", {}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("path", INSPECTED)
def test_superusers_cannot_change_the_inspected_objects_either(superuser, objects, path):
    client = admin_client(superuser)
    assert client.get(f"/admin/{path}/").status_code == 200
    assert client.get(f"/admin/{path}/add/").status_code == 403


def test_superusers_manage_users_in_the_admin_and_plain_staff_do_not(superuser, staff):
    assert admin_client(superuser).get("/admin/auth/user/").status_code == 200
    assert admin_client(staff).get("/admin/auth/user/").status_code == 403


def test_people_who_are_not_staff_get_the_admin_login(user):
    response = admin_client(user).get("/admin/annotations/project/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_list_filters_and_search_answer(staff, objects):
    client = admin_client(staff)
    assert "alpha" in client.get("/admin/annotations/project/", {"q": "alp"}).content.decode()
    assert client.get("/admin/inference/job/", {"state__exact": "queued"}).status_code == 200
    assert client.get("/admin/annotations/auditevent/", {"action__exact": "user_change"}).status_code == 200
    assert client.get("/admin/annotations/projectmembership/", {"role__exact": "annotator"}).status_code == 200


def test_the_case_inspection_shows_no_clinical_content(staff, objects):
    """Case narratives, patient ids and reporters are PHI, read on the audited case page only."""
    client = admin_client(staff)
    case = objects["pharmacovigilance/case"]
    for url in ("/admin/pharmacovigilance/case/", f"/admin/pharmacovigilance/case/{case.pk}/change/"):
        html = client.get(url).content.decode()
        assert "CASE-1" in html
        assert "SECRET" not in html and "PID-SECRET" not in html
    # Nor can the clinical text be probed through the search box.
    assert "CASE-1" not in client.get("/admin/pharmacovigilance/case/", {"q": "SECRET"}).content.decode()
