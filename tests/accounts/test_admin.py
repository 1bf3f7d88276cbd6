"""Django admin: staff inspect projects, memberships, jobs and the audit trail read-only; superusers see
everything (users included); nobody adds, changes or deletes the inspected objects there."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from annotations.audit.models import AuditEvent
from annotations.models import Project, ProjectMembership
from inference.models import Job

pytestmark = pytest.mark.django_db
INSPECTED = ("annotations/project", "annotations/projectmembership", "inference/job", "annotations/auditevent")


@pytest.fixture
def objects(staff, user):
    project = Project.objects.create(slug="alpha", name="Alpha")
    membership = ProjectMembership.objects.create(project=project, user=user, role="annotator")
    job = Job.objects.create(project=project, kind="export", parameters={"format": "jsonl"}, created_by=staff)
    services.user_deactivate(actor=staff, user=user)  # an audit record
    event = AuditEvent.objects.order_by("-pk").first()
    return {"annotations/project": project, "annotations/projectmembership": membership, "inference/job": job,
            "annotations/auditevent": event}


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
