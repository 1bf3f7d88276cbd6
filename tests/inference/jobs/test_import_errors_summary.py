"""Imports: the format defaults from the file, a wrong format is an error (not "Succeeded, imported 0 notes"),
and the errors are summed up by reason (unknown types once, with what to do) and paged, never cut."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.formats.brat_conf import load_schema
from annotations.models import AnnotationSchema, Note
from annotations.services.schemas import project_schema_set
from inference.models import Job, JobError, JobState

pytestmark = pytest.mark.django_db


def brat_zip(n: int, ann=lambda i: "T1\tDrug 11 22\tamoxicillin\n") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i in range(n):
            z.writestr(f"corpus/doc{i:03d}.txt", "Rash after amoxicillin.")
            z.writestr(f"corpus/doc{i:03d}.ann", ann(i))
    return SimpleUploadedFile("corpus.zip", buffer.getvalue())


@pytest.fixture
def importing(client, admin_user, settings, tmp_path, django_capture_on_commit_callbacks):
    """Start an import from the job form (tasks run in the request: no broker, no thread)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(admin_user)

    def run(project, upload, fmt="auto"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("inference:job-list", args=[project.slug]), {"kind": "import", "format": fmt, "upload": upload}
            )
        assert response.status_code == 302, response.content.decode()[:3000]
        return Job.objects.latest("pk")

    return run


def test_the_form_defaults_to_auto_and_a_zip_of_ann_and_txt_imports_as_brat(client, project, importing):
    form = client.get(reverse("inference:job-list", args=[project.slug])).content.decode()
    assert '<option value="auto" selected>' in form
    job = importing(project, brat_zip(2))
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.parameters["format"] == "brat" and job.parameters["format_detected"]
    assert Note.objects.filter(project=project).count() == 2


def test_an_explicit_format_that_finds_no_documents_fails_the_job_naming_the_file_and_the_reason(
    client, project, importing
):
    job = importing(project, brat_zip(2), fmt="jsonl")
    assert job.state == JobState.FAILED
    assert "corpus.zip: no jsonl documents found; the files look like brat" in job.message
    assert not Note.objects.filter(project=project).exists()
    assert not AnnotationSchema.objects.filter(project=project).exists()  # nothing half-imported
    page = client.get(reverse("inference:job-detail", args=[project.slug, job.pk])).content.decode()
    assert "no jsonl documents found" in page and "/media/" not in page


def test_a_file_whose_names_point_to_no_format_is_refused_on_the_form(client, project, importing, settings):
    response = client.post(
        reverse("inference:job-list", args=[project.slug]),
        {"kind": "import", "format": "auto", "upload": SimpleUploadedFile("notes.json", b"")},
    )
    assert response.status_code == 400 and not Job.objects.exists()


@pytest.fixture
def failed_import(project, importing):
    """120 documents against a schema that lacks their types: 120 skipped, reasons to sum up."""
    conf = "[entities]\nDrug\n[relations]\n[events]\n[attributes]\n"
    project_schema_set(project=project, schema=load_schema(conf), inferred=False, annotation_conf=conf)

    def ann(i: int) -> str:
        extra = "T2\tLab_value 0 4\tRash\n" if i % 10 == 0 else ""
        return "T1\tSign_symptom 11 22\tamoxicillin\n" + extra

    job = importing(project, brat_zip(120, ann))
    assert job.state == JobState.FAILED and job.failed == 120
    return job


def test_import_errors_are_summed_up_by_reason_with_each_unknown_type_once_and_what_to_do(
    client, project, failed_import
):
    page = client.get(reverse("inference:job-detail", args=[project.slug, failed_import.pk]))
    summary = page.context["error_summary"]
    assert summary.total == JobError.objects.filter(job=failed_import).count() == 132
    assert [(r.reason, r.count) for r in summary.reasons] == [("entity type not in the schema", 132)]
    assert [(u.name, u.count) for u in summary.unknown_types] == [("Lab_value", 12), ("Sign_symptom", 120)]
    html = page.content.decode()
    assert 'id="job-error-summary"' in html and html.count("<code>Sign_symptom</code>") == 1
    assert "annotation.conf" in html and "extend the project&#x27;s schema" in html


def test_the_error_list_is_paged_and_says_how_many_there_are(client, project, failed_import):
    url = reverse("inference:job-detail", args=[project.slug, failed_import.pk])
    first = client.get(url).content.decode()
    assert "Errors 1–50 of 132" in first and f'href="{url}?errors_page=2"' in first
    fragment = client.get(url, {"errors_page": 3}, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="job-errors-page">') and "Errors 101–132 of 132" in fragment
    assert fragment.count("<tr><td>") == 32 and 'id="errors-next"' not in fragment


def test_the_api_returns_the_same_summary_and_every_error_paged(project, admin_user, failed_import):
    api = APIClient()
    api.force_authenticate(user=admin_user)
    kwargs = {"slug": project.slug, "job_id": failed_import.pk}
    detail = api.get(reverse("api-job-detail", kwargs=kwargs)).json()
    assert detail["error_summary"]["reasons"] == [{"reason": "entity type not in the schema", "count": 132}]
    assert {u["name"] for u in detail["error_summary"]["unknown_types"]} == {"Lab_value", "Sign_symptom"}
    assert detail["error_summary"]["advice"] and detail["outcome"]["skipped"] == 120
    assert "outcome" not in detail["parameters"] and "path" not in detail["parameters"]
    errors = api.get(reverse("api-job-errors", kwargs=kwargs), {"page": 3}).json()
    assert errors["count"] == 132 and len(errors["results"]) == 32


def test_a_refused_archive_keeps_every_problem_instead_of_the_first_200(project, importing):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i in range(250):
            z.writestr(f"../escape{i}.txt", "x")
    job = importing(project, SimpleUploadedFile("corpus.zip", buffer.getvalue()), fmt="brat")
    assert job.state == JobState.FAILED
    assert JobError.objects.filter(job=job).count() == 250
    assert "and 249 more" in job.message


def test_the_types_an_import_lacked_are_added_in_one_click_and_the_same_upload_imports_again(
    client, project, failed_import, django_capture_on_commit_callbacks
):
    from annotations.audit.models import AuditAction, AuditEvent
    from annotations.services.schemas import project_schema_get

    page = client.get(reverse("inference:job-detail", args=[project.slug, failed_import.pk])).content.decode()
    assert "Add these 2 types to the schema and import again" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("inference:job-add-types", args=[project.slug, failed_import.pk]))
    again = Job.objects.latest("pk")
    assert response["Location"] == reverse("inference:job-detail", args=[project.slug, again.pk])
    assert again.pk != failed_import.pk and again.state == JobState.SUCCEEDED, again.message
    assert Note.objects.filter(project=project).count() == 120
    assert {"Drug", "Lab_value", "Sign_symptom"} <= {t.name for t in project_schema_get(project=project).entity_types}
    assert AuditEvent.objects.filter(action=AuditAction.SCHEMA_CHANGE, project=project).exists()
