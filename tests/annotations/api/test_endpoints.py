"""What the endpoints answer: lists without text, filters, page sizes, query counts, versions and ETags,
error codes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from annotations.models import AnnotationSet, Entity, Note

from .conftest import TEXT_A1, note

pytestmark = pytest.mark.django_db


def test_note_list_has_no_text_filters_and_searches(world):
    Note.objects.filter(pk=world.note_a1.pk).update(flagged=True, ade_probability=0.9)
    client = world.client("annotator")
    url = reverse("api-note-list", kwargs={"slug": "alpha"})
    everything = client.get(url).json()
    assert everything["count"] == 2 and "text" not in everything["results"][0]
    flagged = client.get(url, {"flagged": "true"}).json()
    assert [n["external_id"] for n in flagged["results"]] == ["a1"]
    found = client.get(url, {"search": "metformin"}).json()
    assert [n["external_id"] for n in found["results"]] == ["a2"]
    assert client.get(url, {"ordering": "bogus"}).json()["code"] == "invalid"


def test_page_size_is_capped_and_the_query_count_does_not_grow_with_the_page(world, django_assert_max_num_queries):
    for i in range(250):
        note(world.alpha, f"bulk{i}", f"note {i}")
    client = world.client("annotator")
    url = reverse("api-note-list", kwargs={"slug": "alpha"})
    with django_assert_max_num_queries(6):
        body = client.get(url, {"page_size": 1000}).json()
    assert len(body["results"]) == 200 and body["count"] == 252


def test_another_projects_note_is_not_found_through_a_project_of_mine(world):
    client = world.client("admin")
    url = reverse("api-note-detail", kwargs={"slug": "alpha", "note_id": world.note_b1.pk})
    response = client.get(url)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    aset = AnnotationSet.objects.create(note=world.note_b1, source_kind="import", source_name="x", status="gold")
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": aset.pk})
    assert client.get(url).status_code == 404


def test_annotation_set_get_carries_annotations_and_its_version_as_etag(world):
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    response = world.client("reviewer").get(url)
    assert response["ETag"] == '"1"'
    body = response.json()
    assert body["version"] == 1
    assert [(e["id"], e["type"], e["fragments"], e["text"]) for e in body["annotations"]["entities"]] == [
        ("T1", "Drug", [[11, 19]], "warfarin"), ("T2", "ADE", [[37, 46]], "epistaxis")]


def test_stale_if_match_is_412_missing_version_428_stale_body_version_409(world):
    url = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    client = world.client("annotator")
    body = {"type": "ADE", "fragments": [[30, 36]]}
    assert client.post(url, body, format="json").json()["code"] == "version_required"
    ok = client.post(url, body, format="json", HTTP_IF_MATCH='"1"')
    assert ok.status_code == 201 and ok["ETag"] == '"2"'
    stale = client.post(url, body, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    conflict = client.post(url, {**body, "version": 1}, format="json")
    assert conflict.status_code == 409 and conflict.json()["details"] == {"current_version": 2}
    assert Entity.objects.filter(annotation_set=world.annotator_set).count() == 3


def test_whole_set_put_validates_against_the_schema_and_takes_text_from_the_note(world):
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    client = world.client("annotator")
    bad = client.put(url, {"version": 1, "entities": [{"id": "T1", "type": "Unknown", "fragments": [[0, 7]]}]},
                     format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_annotations"
    outside = client.put(url, {"version": 1, "entities": [{"id": "T1", "type": "Drug", "fragments": [[0, 999]]}]},
                         format="json")
    assert outside.status_code == 400 and outside.json()["code"] == "invalid_annotations"
    good = client.put(url, {"version": 1, "entities": [
        {"id": "T1", "type": "Drug", "fragments": [[11, 19]]}, {"id": "T2", "type": "ADE", "fragments": [[37, 46]]}],
        "relations": [{"id": "R1", "type": "Causes", "arg1": "T1", "arg2": "T2"}], "label": "ade"}, format="json")
    assert good.status_code == 200 and good.json()["version"] == 2
    stored = Entity.objects.get(annotation_set=world.annotator_set, local_id="T2")
    assert stored.text == TEXT_A1[37:46]


def test_model_and_import_sets_are_read_only_even_for_admins(world):
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": world.import_set.pk})
    response = world.client("admin").put(url, {"version": 1, "entities": []}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "read_only_set"


def test_nobody_marks_a_set_gold_by_writing_it_not_its_author_nor_an_admin(world):
    url = reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": world.annotator_set.pk})
    for role in ("annotator", "admin"):
        response = world.client(role).put(url, {"version": 1, "status": "gold"}, format="json")
        assert response.status_code == 403 and response.json()["code"] == "forbidden_status"
    assert AnnotationSet.objects.get(pk=world.annotator_set.pk).status != "gold"


def test_unknown_api_paths_answer_json(world):
    response = world.client("admin").get("/api/nothing/here/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_jobs_start_show_and_cancel(world):
    client = world.client("admin")
    created = client.post(reverse("api-job-list", kwargs={"slug": "alpha"}), {"kind": "classify"}, format="json")
    assert created.status_code == 201 and created.json()["state"] == "queued"
    job_url = reverse("api-job-detail", kwargs={"slug": "alpha", "job_id": created.json()["id"]})
    assert client.get(job_url).json()["kind"] == "classify"
    cancelled = client.post(reverse("api-job-cancel", kwargs={"slug": "alpha", "job_id": created.json()["id"]}))
    assert cancelled.json()["state"] == "cancelled"
    again = client.post(reverse("api-job-cancel", kwargs={"slug": "alpha", "job_id": created.json()["id"]}))
    assert again.status_code == 400 and again.json()["code"] == "job_finished"
    refused = client.post(reverse("api-job-list", kwargs={"slug": "alpha"}), {"kind": "import"}, format="json")
    assert refused.status_code == 400


def test_unknown_api_paths_with_control_characters_answer_json_too(world):
    response = world.client("admin").delete("/api/projects/%0Ax/annotation-sets/4/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_corpus_upload_starts_an_import_job_that_names_broken_lines(world, django_capture_on_commit_callbacks):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from annotations.models import Note
    from inference.models import Job, JobError

    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "jsonl"
    client = world.client("admin")
    url = reverse("api-import-upload", kwargs={"slug": "alpha"})
    before = Note.objects.filter(project=world.alpha).count()
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            url,
            {"format": "jsonl", "file": SimpleUploadedFile("broken.jsonl", (fixtures / "broken.jsonl").read_bytes())},
            format="multipart",
        )
    assert created.status_code == 201, created.json()
    job = Job.objects.get(pk=created.json()["id"])
    assert job.kind == "import" and job.failed > 0 and job.state in ("partially_failed", "failed")
    error = JobError.objects.filter(job=job).first()
    assert re.match(r"broken\.jsonl:\d+: \S", error.message), error.message
    assert Note.objects.filter(project=world.alpha).count() - before == job.done
    wrong = client.post(url, {"format": "brat", "file": SimpleUploadedFile("x.exe", b"MZ")}, format="multipart")
    assert wrong.status_code == 400 and wrong.json()["code"] == "bad_upload"
    missing = client.post(url, {"format": "jsonl"}, format="multipart")
    assert missing.status_code == 400
