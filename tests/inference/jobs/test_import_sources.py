"""Web and API imports read only what the project itself uploaded; responses never show server paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.errors import ApplicationError
from annotations.models import Note, ProjectMembership, ProjectRole
from annotations.services.corpus_import import project_get_or_create
from inference.jobs.engine import job_create
from inference.jobs.import_uploads import import_source_check, import_upload_root
from inference.models import Job

pytestmark = pytest.mark.django_db

FORMATS = Path(__file__).resolve().parents[2] / "fixtures" / "formats"
A_NOTE = '{"id": "secret-a-1", "text": "Patient A bled on warfarin."}\n'


@pytest.fixture
def two_projects(settings, tmp_path, django_capture_on_commit_callbacks):
    """Project A with an uploaded corpus; project B whose admin tries to read it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    a = project_get_or_create(slug="ward-a", name="A")
    b = project_get_or_create(slug="ward-b", name="B")
    admin_a = get_user_model().objects.create_user("anna", password="pw-anna-123")
    admin_b = get_user_model().objects.create_user("bert", password="pw-bert-123")
    ProjectMembership.objects.create(project=a, user=admin_a, role=ProjectRole.ADMIN)
    ProjectMembership.objects.create(project=b, user=admin_b, role=ProjectRole.ADMIN)
    api_a = APIClient()
    api_a.force_authenticate(user=admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(
            reverse("api-import-upload", kwargs={"slug": a.slug}),
            {"format": "jsonl", "file": SimpleUploadedFile("a.jsonl", A_NOTE.encode())},
            format="multipart",
        )
    assert created.status_code == 201, created.content
    assert Note.objects.filter(project=a, external_id="secret-a-1").exists()
    stored = Job.objects.get(pk=created.json()["id"]).parameters["path"]
    return a, b, admin_b, Path(stored), created


def test_admin_of_another_project_cannot_import_its_uploads_through_the_job_form(
    client, two_projects, settings
):
    a, b, admin_b, stored, _ = two_projects
    client.force_login(admin_b)
    url = reverse("inference:job-list", args=[b.slug])
    for path in (stored, stored.parent, import_upload_root(a), Path(settings.MEDIA_ROOT) / "imports"):
        response = client.post(url, {"kind": "import", "format": "jsonl", "path": str(path)})
        assert response.status_code == 400, path
        assert "command line" in response.content.decode()
    assert not Job.objects.filter(project=b).exists()
    assert not Note.objects.filter(project=b).exists()


def test_admin_of_another_project_cannot_import_its_uploads_through_the_api(two_projects, settings):
    a, b, admin_b, stored, _ = two_projects
    api = APIClient()
    api.force_authenticate(user=admin_b)
    url = reverse("api-job-list", kwargs={"slug": b.slug})
    for path in (stored, import_upload_root(a), Path(settings.MEDIA_ROOT) / "imports"):
        for body in (
            {"kind": "import", "parameters": {"path": str(path), "format": "jsonl"}},
            {"kind": "import", "path": str(path), "format": "jsonl"},
        ):
            response = api.post(url, body, format="json")
            assert response.status_code == 400, (path, response.content)
            assert str(settings.MEDIA_ROOT) not in response.content.decode()
    assert not Job.objects.filter(project=b).exists()
    assert not Note.objects.filter(project=b).exists()


def test_the_upload_root_check_is_one_function_that_resolves_before_it_compares(two_projects, settings):
    a, b, _, stored, _ = two_projects
    key = str(stored)  # an upload is named by its key in the store, relative: imports/<project id>/<upload>/<name>
    assert not stored.is_absolute() and stored.parts[:2] == ("imports", str(a.pk))
    assert import_source_check(project=a, path=key) == key
    for outside in (
        key,  # A's upload, seen from B
        import_upload_root(b) / ".." / str(a.pk) / stored.parent.name / stored.name,  # '..' back into A
        import_upload_root(b),  # the root itself is no file to import
        Path(settings.MEDIA_ROOT) / key,  # A's upload by its server path
        Path(settings.MEDIA_ROOT) / "imports",
    ):
        with pytest.raises(ApplicationError) as info:
            import_source_check(project=b, path=outside)
        assert info.value.code == "bad_parameters" and str(settings.MEDIA_ROOT) not in info.value.message
        assert key not in info.value.message
    # On the local disk a link in B's folder that points at A's upload is refused too (its real path is A's).
    link_key = f"{import_upload_root(b)}/20200101T000000-0123abcd/link.jsonl"
    link = Path(settings.MEDIA_ROOT) / link_key
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(Path(settings.MEDIA_ROOT) / key, link)
    with pytest.raises(ApplicationError):
        import_source_check(project=b, path=link_key)
    with pytest.raises(ApplicationError):  # job creation uses the same check whatever the door
        job_create(project=b, kind="import", parameters={"path": key, "format": "jsonl"})
    # The command line (start_job) may name any server path; a file is stored as the project's upload, so that
    # any worker reads it from the store.
    server_path = Path(settings.MEDIA_ROOT) / key
    job = job_create(
        project=b, kind="import", parameters={"path": str(server_path), "format": "jsonl"}, any_import_path=True
    )
    copied = job.parameters["path"]
    assert copied.startswith(f"imports/{b.pk}/") and copied.endswith("/a.jsonl")
    assert (Path(settings.MEDIA_ROOT) / copied).read_bytes() == server_path.read_bytes()
    folder = job_create(project=b, kind="import", parameters={"path": str(server_path.parent), "format": "jsonl"},
                        any_import_path=True)
    assert folder.parameters["path"] == str(server_path.parent)  # a folder stays a server path


def test_job_responses_show_the_upload_name_never_a_server_path(two_projects, client, settings):
    a, _, _, stored, created = two_projects
    media = str(settings.MEDIA_ROOT)
    assert media not in json.dumps(created.json())
    assert created.json()["parameters"].get("file") == "a.jsonl"
    admin_a = get_user_model().objects.get(username="anna")
    api = APIClient()
    api.force_authenticate(user=admin_a)
    job_id = created.json()["id"]
    detail = api.get(reverse("api-job-detail", kwargs={"slug": a.slug, "job_id": job_id}))
    listing = api.get(reverse("api-job-list", kwargs={"slug": a.slug}))
    assert media not in detail.content.decode() and media not in listing.content.decode()
    client.force_login(admin_a)
    for url in (
        reverse("inference:job-detail", args=[a.slug, job_id]),
        reverse("inference:job-list", args=[a.slug]),
    ):
        assert media not in client.get(url).content.decode()
