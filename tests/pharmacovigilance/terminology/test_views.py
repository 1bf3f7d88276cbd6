"""The terminology pages: the look-up fragment (POST, login, escaping of hostile term texts), the list for
site staff and project admins, the upload that loads as a job (progress, problems, Cancel), and the
editor's normalization field with its look-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotations.models import AnnotationSet, Entity, Note
from annotations.services.corpus_import import text_hash
from inference.jobs.engine import job_single_run
from inference.models import Job, JobError, JobState
from pharmacovigilance.terminology.models import Terminology
from pharmacovigilance.terminology.services import terminology_load, terminology_upload_root

from .conftest import ATC, MEDDRA_BROKEN

pytestmark = pytest.mark.django_db
LOOKUP = "/terminology/lookup/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_lookup_is_a_post_fragment_of_suggestion_buttons(people, meddra):
    _, users = people
    response = client_for(users["annotator"]).post(LOOKUP, {"system": "meddra", "q": "nosebl"})
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("terminology-lookup") == LOOKUP
    assert 'class="term-suggestions"' in html and "hx-disable" in html
    assert ('data-system="meddra" data-resource="MedDRA"\n    data-code="95000001" data-text="Nosebleed" data-level="LLT" '
            'data-pt-code="94000001"\n    data-pt-text="Epistaxis" data-version="27.0"') in html
    assert "→ PT Epistaxis (94000001)" in html


def test_lookup_refuses_get_anonymous_and_people_of_no_project(people, meddra):
    _, users = people
    assert client_for(users["annotator"]).get(LOOKUP, {"system": "meddra", "q": "rash"}).status_code == 405
    anonymous = Client().post(LOOKUP, {"system": "meddra", "q": "rash"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert client_for(users["nobody"]).post(LOOKUP, {"system": "meddra", "q": "rash"}).status_code == 403


def test_lookup_bad_input_and_nothing_loaded(people):
    _, users = people
    client = client_for(users["reviewer"])
    bad = client.post(LOOKUP, {"system": "icd10", "q": "rash"})
    assert bad.status_code == 400 and b"Choose a terminology" in bad.content
    assert client.post(LOOKUP, {"system": "meddra", "q": "x" * 201}).status_code == 400
    empty = client.post(LOOKUP, {"system": "meddra", "q": "rash"})
    assert empty.status_code == 200 and b"MedDRA is not loaded" in empty.content


def test_hostile_term_texts_are_escaped(people, staff, tmp_path):
    _, users = people
    hostile = tmp_path / "atc.csv"
    hostile.write_text('code,name\nB01AA03,"<script>alert(1)</script> warfarin"\n'
                       'B01AA04,"warfarin"" onmouseover=""alert(2)"\n', encoding="utf-8")
    terminology_load(by=staff, system="atc", version="x", files=hostile)
    html = client_for(users["annotator"]).post(LOOKUP, {"system": "atc", "q": "warfarin"}).content.decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; warfarin" in html
    assert 'onmouseover="' not in html and "&quot; onmouseover=&quot;alert(2)" in html


def test_the_list_is_for_site_staff_and_project_admins(people, staff, meddra):
    _, users = people
    page = client_for(staff).get("/terminology/")
    assert page.status_code == 200 and b'id="terminology-upload-form"' in page.content
    assert b"27.0" in page.content
    admin_page = client_for(users["admin"]).get("/terminology/")
    assert admin_page.status_code == 200 and b"27.0" in admin_page.content
    assert b'id="terminology-upload-form"' not in admin_page.content
    assert client_for(users["reviewer"]).get("/terminology/").status_code == 403
    assert Client().get("/terminology/").status_code == 302


def test_project_admins_find_the_terminologies_from_their_project_page_and_others_do_not(people):
    project, users = people
    link = b'href="/terminology/" id="terminologies-link"'
    assert link in client_for(users["admin"]).get(f"/projects/{project.slug}/").content
    for role in ("reviewer", "annotator"):
        assert link not in client_for(users[role]).get(f"/projects/{project.slug}/").content


def _upload(client, path, system="atc", version="2024", name=None):
    file = SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="application/octet-stream")
    return client.post("/terminology/load/", {"system": system, "version": version, "upload": file})


def test_an_upload_loads_as_a_job_and_the_file_is_deleted(staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client_for(staff), ATC)
    job = Job.objects.get(kind="terminology_load")
    assert response.status_code == 302 and response["Location"] == f"/terminology/loads/{job.pk}/"
    assert (job.project, job.state, job.created_by) == (None, JobState.SUCCEEDED, staff)
    assert job.message == "loaded ATC 2024 (15 terms)"
    assert Terminology.objects.get(current=True).version == "2024"
    assert not any((Path(settings.MEDIA_ROOT) / terminology_upload_root()).rglob("*.csv"))  # a licensed file is not kept
    page = client_for(staff).get(f"/terminology/loads/{job.pk}/")
    assert page.status_code == 200 and b'id="load-outcome"' in page.content and b"ATC5" in page.content
    assert b'id="cancel-load"' not in page.content


def test_a_broken_upload_fails_with_its_problems_and_loads_nothing(staff, tmp_path, django_capture_on_commit_callbacks):
    import zipfile

    archive = tmp_path / "meddra.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in MEDDRA_BROKEN.iterdir():
            z.write(path, f"MedAscii/{path.name}")
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client_for(staff), archive, system="meddra", version="27.0")
    job = Job.objects.get(kind="terminology_load")
    assert job.state == JobState.FAILED and job.message.startswith("Nothing loaded: 6 problems")
    errors = list(JobError.objects.filter(job=job).values_list("message", flat=True))
    assert "llt.asc:18: PT 94999999 is not in pt.asc" in errors and len(errors) == 6
    assert not Terminology.objects.exists()
    assert not any(p.is_file() for p in (Path(settings.MEDIA_ROOT) / terminology_upload_root()).rglob("*"))
    page = client_for(staff).get(f"/terminology/loads/{job.pk}/").content.decode()
    assert 'id="load-problems"' in page and "llt.asc:17: LLT code &#x27;9500X102&#x27;" in page


def test_uploads_are_for_site_staff_and_checked(people, staff, tmp_path):
    _, users = people
    assert _upload(client_for(users["admin"]), ATC).status_code == 403
    bad = tmp_path / "atc.exe"
    bad.write_bytes(b"MZ")
    response = _upload(client_for(staff), bad)
    assert response.status_code == 400 and b"a terminology is a .zip" in response.content
    response = _upload(client_for(staff), ATC, version="<script>")
    assert response.status_code == 400 and b"The version is 1-50 letters" in response.content
    assert not Job.objects.exists() and not any(p.is_file() for p in (Path(settings.MEDIA_ROOT) / terminology_upload_root()).rglob("*"))


def test_cancel_before_it_runs_loads_nothing(staff):
    client = client_for(staff)
    _upload(client, ATC)  # no on_commit: the job waits in the queue
    job = Job.objects.get(kind="terminology_load")
    page = client.get(f"/terminology/loads/{job.pk}/")
    assert b'id="cancel-load"' in page.content and b'hx-trigger="every 1s"' in page.content
    response = client.post(f"/terminology/loads/{job.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Cancelled" in response.content
    job_single_run(job_id=job.pk)  # the worker picks it up late: it stays cancelled
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and not Terminology.objects.exists()


def test_load_pages_are_staff_only_and_only_for_site_loads(people, staff):
    project, users = people
    other = Job.objects.create(project=project, kind="export", parameters={})
    assert client_for(staff).get(f"/terminology/loads/{other.pk}/").status_code == 404
    assert client_for(users["admin"]).get(f"/terminology/loads/{other.pk}/").status_code == 403


def test_the_editor_offers_the_look_up_in_the_normalization_field(people):
    project, users = people
    text = "Nosebleed after warfarin."
    note = Note.objects.create(project=project, external_id="n1", text=text, text_hash=text_hash(text))
    aset = AnnotationSet.objects.create(note=note, source_kind="user", user=users["annotator"],
                                        source_name="annotator", status="in_progress")
    Entity.objects.create(annotation_set=aset, local_id="T1", type="ADE", fragments=[[0, 9]], start=0, end=9,
                          text="Nosebleed")
    Entity.objects.create(annotation_set=aset, local_id="T2", type="Drug", fragments=[[16, 24]], start=16, end=24,
                          text="warfarin")
    client = client_for(users["annotator"])
    panel = client.get(f"/projects/ward/notes/{note.pk}/entities/T1/?set={aset.pk}", HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert f'hx-post="{LOOKUP}"' in html and 'data-fill-norm="#norm-value"' in html
    assert '<option value="meddra" selected>' in html
    drug = client.get(f"/projects/ward/notes/{note.pk}/entities/T2/?set={aset.pk}", HTTP_HX_REQUEST="true")
    assert '<option value="atc" selected>' in drug.content.decode()
    page = client.get(f"/projects/ward/notes/{note.pk}/?set={aset.pk}").content.decode()
    assert "js/term_lookup.js" in page


def test_an_upload_kept_in_the_bucket_loads_and_is_deleted_from_it(
    staff, bucket_settings, django_capture_on_commit_callbacks, monkeypatch
):
    client = bucket_settings.store.client()
    stored_keys = []

    def listed() -> list[str]:
        return [o["Key"] for o in client.list_objects_v2(Bucket=bucket_settings.bucket).get("Contents", [])]

    from pharmacovigilance.terminology import job_kinds

    real_load = job_kinds.terminology_load

    def load_seeing_the_bucket(**kwargs):  # what the bucket holds while the job reads the file
        stored_keys.extend(listed())
        return real_load(**kwargs)

    monkeypatch.setattr(job_kinds, "terminology_load", load_seeing_the_bucket)  # the real load, watched
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client_for(staff), ATC)
    job = Job.objects.get(kind="terminology_load")
    assert job.state == JobState.SUCCEEDED, job.message
    assert len(stored_keys) == 1 and stored_keys[0].startswith("terminologies/") and stored_keys[0].endswith("/atc.csv")
    assert listed() == []  # a licensed file is not kept, in a bucket either
    assert not (Path(settings.MEDIA_ROOT)).exists()  # nothing on this machine's disk
    page = client_for(staff).get(f"/terminology/loads/{job.pk}/").content.decode()
    assert bucket_settings.bucket not in page and stored_keys[0] not in page
