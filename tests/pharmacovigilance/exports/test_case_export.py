"""Case exports as jobs: admins start them (API or page), the job writes FHIR Bundles (zipped) or one E2B(R3)
batch with progress, a case that cannot be written is reported while the others are, a cancelled export leaves no
file, and every export is audited with its cases.

The case record (pharmacovigilance.models / .selectors) is built alongside; these tests stand in for its
selectors with CaseReports built directly (the job reads cases only through `case_ids_for_export` and
`case_reports_for_export`)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import e2br3
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from rest_framework.test import APIClient

from annotations.audit.models import AuditEvent
from annotations.models import Note, ProjectMembership
from annotations.services.corpus_import import project_get_or_create, text_hash
from inference.models import Job, JobError
from pharmacovigilance.core.report import CaseReaction, Coded
from pharmacovigilance.exports import job_kinds
from tests.pharmacovigilance.core.sample_reports import warfarin_bleed

pytestmark = pytest.mark.django_db



def _stored(job) -> Path:
    """An export job's file: its result is a key of the file store, here the local disk under MEDIA_ROOT."""
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / job.result_path

@pytest.fixture
def project(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    project = project_get_or_create(slug="pv")
    for external_id, text in (("demo-001", "Melaena on warfarin."), ("demo-009", "Hb 7.9 g/dL.")):
        Note.objects.create(project=project, external_id=external_id, text=text, text_hash=text_hash(text))
    return project


@pytest.fixture
def cases(monkeypatch):
    """Cases 1..n of the project as CaseReports; `cases.reports` may be replaced by a test."""

    class Cases:
        reports = {i: warfarin_bleed(f"CASE-{i:04d}") for i in range(1, 6)}
        read: list[int] = []

    def ids(*, project, case_ids, filters=None, user=None):
        found = sorted(Cases.reports) if case_ids is None else [i for i in case_ids if i in Cases.reports]
        if case_ids is not None and len(found) != len(case_ids):
            from annotations.errors import ApplicationError

            raise ApplicationError("not_found", "No such case in this project.", status=404)
        return found

    def reports(*, project, case_ids):
        for pk in case_ids:
            Cases.read.append(pk)
            yield Cases.reports[pk]

    monkeypatch.setattr(job_kinds, "case_ids_for_export", ids)
    monkeypatch.setattr(job_kinds, "case_reports_for_export", reports)
    return Cases


@pytest.fixture
def users(project):
    out = {}
    for role in ("annotator", "reviewer", "admin"):
        out[role] = get_user_model().objects.create_user(f"x-{role}", password=f"pw-{role}-1")
        ProjectMembership.objects.create(project=project, user=out[role], role=role)
    out["outsider"] = get_user_model().objects.create_user("x-outsider", password="pw-o-1")
    return out


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def start(user, project, body, capture) -> Job:
    with capture(execute=True):
        response = api(user).post(reverse("api-case-export-create", kwargs={"slug": project.slug}), body, format="json")
    assert response.status_code == 201, response.content
    return Job.objects.get(pk=response.json()["id"])


def download(user, project, job) -> tuple[str, bytes]:
    response = api(user).get(reverse("api-job-download", kwargs={"slug": project.slug, "job_id": job.pk}))
    assert response.status_code == 200
    return response["Content-Type"], b"".join(response.streaming_content)


def test_e2b_export_of_selected_cases_reads_back_and_is_audited(project, cases, users,
                                                                 django_capture_on_commit_callbacks):
    job = start(users["admin"], project, {"format": "e2b", "cases": [2, 4], "receiver": "EVHUMAN"},
                django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.kind, job.state, job.done, job.total, job.failed) == ("case_export", "succeeded", 2, 2, 0)
    assert job.message == "exported 2 case(s) as ICH E2B(R3)"
    content_type, data = download(users["admin"], project, job)
    assert content_type == "application/xml"
    batch = e2br3.parse(data)
    assert batch.receiver == "EVHUMAN" and batch.sender == "ADE-REVIEW"
    assert [i.safety_report_id for i in batch.icsrs] == ["CASE-0002", "CASE-0004"]
    icsr = batch.icsrs[0]
    assert icsr.drugs[0].product_name == "warfarin" and icsr.reactions[0].meddra.code == "10017955"
    assert icsr.reactions[0].hospitalisation is True
    assert icsr.drugs[0].relatedness[0].assessments[0].result == "Probable/Likely"
    export = AuditEvent.objects.get(action="export", object_id=str(job.pk))
    assert export.details["kind"] == "case_export" and export.details["case_ids"] == [2, 4]
    assert export.actor == users["admin"]
    assert AuditEvent.objects.filter(action="job_start", object_id=str(job.pk)).exists()
    assert AuditEvent.objects.filter(action="download", object_id=str(job.pk)).exists()


def test_fhir_export_zips_one_valid_bundle_per_case_and_text_only_on_request(project, cases, users,
                                                                             django_capture_on_commit_callbacks):
    plain = start(users["admin"], project, {"format": "fhir"}, django_capture_on_commit_callbacks)
    content_type, data = download(users["admin"], project, plain)
    assert content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == [f"CASE-{i:04d}.json" for i in range(1, 6)]
        bundles = [Bundle.model_validate_json(archive.read(n)) for n in names]
    assert [b.identifier.value for b in bundles] == [f"CASE-{i:04d}" for i in range(1, 6)]
    assert b"Melaena" not in data
    with_text = start(users["admin"], project, {"format": "fhir", "cases": [1], "include_note_text": True},
                      django_capture_on_commit_callbacks)
    _, data = download(users["admin"], project, with_text)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        bundle = json.loads(archive.read("CASE-0001.json"))
    documents = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    import base64

    assert sorted(base64.b64decode(d["content"][0]["attachment"]["data"]).decode() for d in documents) == [
        "Hb 7.9 g/dL.", "Melaena on warfarin."]
    assert AuditEvent.objects.get(action="export", object_id=str(with_text.pk)).details["include_note_text"] is True


def test_a_case_that_cannot_be_written_is_reported_and_the_others_are(project, cases, users,
                                                                      django_capture_on_commit_callbacks):
    cases.reports[3] = replace(cases.reports[3], patient_id="")
    job = start(users["admin"], project, {"format": "fhir"}, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("partially_failed", 4, 1)
    (error,) = JobError.objects.filter(job=job)
    assert error.message.startswith("case CASE-0003: ")
    with zipfile.ZipFile(_stored(job)) as archive:
        assert "CASE-0003.json" not in archive.namelist() and len(archive.namelist()) == 4


def test_e2b_warnings_name_what_a_receiver_would_refuse(project, cases, users, django_capture_on_commit_callbacks):
    cases.reports[1] = replace(cases.reports[1], reactions=(CaseReaction("R1", Coded("rash")),), causality=())
    job = start(users["admin"], project, {"format": "e2b", "cases": [1, 2]}, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.state, job.done) == ("succeeded", 2)
    assert job.parameters["outcome"]["first_warnings"] == ["case CASE-0001: reaction R1 has no MedDRA code (E.i.2.1b)"]
    page = Client()
    page.force_login(users["admin"])
    html = page.get(reverse("inference:job-detail", args=[project.slug, job.pk])).content.decode()
    assert "no MedDRA code" in html and 'id="download"' in html


def test_a_cancelled_export_leaves_no_file(project, cases, users, django_capture_on_commit_callbacks, monkeypatch,
                                          settings):
    monkeypatch.setattr(job_kinds, "CANCEL_CHECK_EVERY", 1)
    original = warfarin_bleed

    class Cancelling(dict):
        def __getitem__(self, pk):
            if pk == 3:
                Job.objects.filter(kind="case_export").update(state="cancelled")
            return original(f"CASE-{pk:04d}")

    cases.reports = Cancelling({i: None for i in range(1, 6)})
    job = start(users["admin"], project, {"format": "e2b"}, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.state == "cancelled" and not job.result_path
    assert not any((Path(settings.MEDIA_ROOT) / "exports").rglob(f"job-{job.pk}-*"))
    assert not AuditEvent.objects.filter(action="export", object_id=str(job.pk)).exists()


@pytest.mark.parametrize("role,status", [("annotator", 403), ("reviewer", 403), ("admin", 201), ("outsider", 404)])
def test_only_admins_export(project, cases, users, role, status):
    response = api(users[role]).post(reverse("api-case-export-create", kwargs={"slug": project.slug}),
                                     {"format": "e2b"}, format="json")
    assert response.status_code == status
    page = Client()
    page.force_login(users[role])
    assert page.get(reverse("case-export", args=[project.slug])).status_code == (200 if role == "admin" else status)


@pytest.mark.parametrize("body,code", [
    ({"format": "pdf"}, "invalid"),
    ({"format": "e2b", "cases": [99]}, "not_found"),
    ({"format": "e2b", "cases": ["x"]}, "invalid"),
    ({"format": "e2b", "include_note_text": True}, "bad_parameters"),
    ({"format": "e2b", "cases": []}, "invalid"),
])
def test_bad_requests_are_refused_with_a_reason(project, cases, users, body, code):
    response = api(users["admin"]).post(reverse("api-case-export-create", kwargs={"slug": project.slug}), body,
                                        format="json")
    assert response.status_code in (400, 404) and response.json()["code"] == code, response.json()
    assert not Job.objects.filter(kind="case_export").exists()


def test_the_export_page_starts_a_job_for_the_cases_the_listing_passed(project, cases, users,
                                                                      django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(users["admin"])
    url = reverse("case-export", args=[project.slug])
    page = client.get(url + "?cases=1,3").content.decode()  # the stand-in cases are not rows: the count says so
    assert 'value="1,3"' in page and "No such case in this project" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"report_format": "e2b", "cases": "1,3"})
    job = Job.objects.get(kind="case_export")
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    job.refresh_from_db()
    assert (job.state, job.done) == ("succeeded", 2)
    refused = client.post(url, {"report_format": "e2b", "cases": "1;DROP"})
    assert refused.status_code == 400 and "case ids separated by commas" in refused.content.decode()


# --- with the case record's own rows and selectors (no stand-in) ------------------------------------------------


def _case_rows(project, user, reference: str, drug: str, reaction: str, *, serious: bool = True):
    from datetime import date

    from django.utils import timezone

    from pharmacovigilance.models import Case, CaseDrug, CaseReaction, Causality

    case = Case.objects.create(project=project, reference=reference, patient_identifier="synthetic-patient-3",
                               created_by=user, serious_hospitalisation=serious, narrative=f"{drug} then {reaction}.",
                               state="assessed")
    case.notes.add(*Note.objects.filter(project=project, external_id="demo-001"))
    d = CaseDrug.objects.create(case=case, key="D1", name=drug, dose="5 mg", frequency="daily", code="B01AA03",
                                code_system="atc", code_version="2026")
    r = CaseReaction.objects.create(case=case, key="R1", term=reaction, code="10017955", code_system="meddra",
                                    code_version="27.0", onset=date(2026, 3, 4), outcome="recovered")
    Causality.objects.create(case=case, drug=d, reaction=r, who_umc="probable", naranjo_score=6,
                             naranjo_category="probable", assessed_by=user, assessed_at=timezone.now())
    return case


def test_real_cases_export_through_the_case_records_selectors(project, users, django_capture_on_commit_callbacks):
    first = _case_rows(project, users["admin"], "pv-1", "warfarin", "gastrointestinal bleeding")
    second = _case_rows(project, users["admin"], "pv-2", "heparin", "bruising", serious=False)
    _case_rows(project_get_or_create(slug="other"), users["admin"], "other-1", "warfarin", "rash")
    job = start(users["admin"], project, {"format": "e2b"}, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.state, job.done, job.total) == ("succeeded", 2, 2)
    batch = e2br3.parse(_stored(job).read_bytes())
    assert [i.safety_report_id for i in batch.icsrs] == ["pv-1", "pv-2"]
    bleed = batch.icsrs[0]
    assert bleed.drugs[0].product_name == "warfarin" and bleed.drugs[0].dosages[0].text == "5 mg, daily"
    assert (bleed.reactions[0].meddra.code, bleed.reactions[0].meddra.code_system_version) == ("10017955", "27.0")
    assert bleed.reactions[0].hospitalisation is True and batch.icsrs[1].reactions[0].hospitalisation.null_flavor
    assert [a.result for a in bleed.drugs[0].relatedness[0].assessments] == ["Probable/Likely", "Probable (score 6)"]
    # The line listing's filters: only what it shows.
    filtered = start(users["admin"], project, {"format": "fhir", "filter": {"drug": "heparin"}},
                     django_capture_on_commit_callbacks)
    filtered.refresh_from_db()
    with zipfile.ZipFile(_stored(filtered)) as archive:
        assert archive.namelist() == ["pv-2.json"]
    assert AuditEvent.objects.get(action="export", object_id=str(filtered.pk)).details["case_ids"] == [second.pk]
    assert first.pk != second.pk
    bad = api(users["admin"]).post(reverse("api-case-export-create", kwargs={"slug": project.slug}),
                                   {"format": "fhir", "filter": {"seriousness": "bogus"}}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "bad_filter"
    other = api(users["admin"]).post(reverse("api-case-export-create", kwargs={"slug": project.slug}),
                                     {"format": "fhir", "cases": [first.pk + 2]}, format="json")
    assert other.status_code == 404  # the other project's case is not this project's


def test_the_line_listings_filters_carry_over_to_the_export(project, users, django_capture_on_commit_callbacks):
    _case_rows(project, users["admin"], "pv-1", "warfarin", "gastrointestinal bleeding")
    wanted = _case_rows(project, users["admin"], "pv-2", "heparin", "bruising")
    client = Client()
    client.force_login(users["admin"])
    # The listing keeps drug words out of its address: a token in the session names them.
    listing = client.post(reverse("case-list", args=[project.slug]), {"drug": "heparin", "state": "assessed"})
    query = listing["Location"].split("?", 1)[1]
    assert "heparin" not in query
    page = client.get(reverse("case-export", args=[project.slug]) + f"?cases=all&{query}").content.decode()
    assert "1 case</strong> selected" in page and 'name="filter_drug" value="heparin"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("case-export", args=[project.slug]),
                    {"report_format": "e2b", "cases": "all", "filter_drug": "heparin", "filter_state": "assessed"})
    job = Job.objects.get(kind="case_export")
    job.refresh_from_db()
    assert job.parameters["case_filter"] == {"drug": "heparin", "state": "assessed"}
    assert (job.state, job.done) == ("succeeded", 1)
    assert [i.safety_report_id for i in e2br3.parse(_stored(job).read_bytes()).icsrs] == [wanted.reference]


def test_a_case_export_lands_in_the_bucket_and_downloads_from_it_unchanged(
    project, cases, users, bucket_settings, settings, django_capture_on_commit_callbacks
):
    job = start(users["admin"], project, {"format": "e2b", "cases": [1, 3]}, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.state == "succeeded", job.message
    assert job.result_path == f"exports/{project.pk}/job-{job.pk}-{project.slug}-cases-e2b.xml"
    client = bucket_settings.store.client()
    stored = client.get_object(Bucket=bucket_settings.bucket, Key=job.result_path)["Body"].read()
    content_type, data = download(users["admin"], project, job)
    assert content_type == "application/xml" and data == stored
    assert [i.safety_report_id for i in e2br3.parse(data).icsrs] == ["CASE-0001", "CASE-0003"]
    assert not Path(settings.MEDIA_ROOT).exists()  # nothing on this machine's disk
    detail = api(users["admin"]).get(reverse("api-job-detail", kwargs={"slug": project.slug, "job_id": job.pk}))
    for secret in (bucket_settings.bucket, bucket_settings.store.endpoint_url, job.result_path):
        assert secret not in detail.content.decode()
