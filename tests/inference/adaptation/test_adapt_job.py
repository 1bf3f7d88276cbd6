"""The `adapt` job end to end on a tiny random encoder: an admin starts it through the API, the adapted
encoder is recorded on the job, put in use with its lineage (audited) and rolled back; a job whose worker
died mid-run is picked up by the next one from its last checkpoint; the models page shows the encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import api_token_create
from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import Note, Project, ProjectMembership, ProjectRole
from annotations.services.corpus_import import project_get_or_create, text_hash
from inference.adaptation import services
from inference.adaptation.selectors import encoder_lineage
from inference.artifacts import artifact_local, is_reference
from inference.core.adaptation.synthetic import synthetic_corpus
from inference.jobs.engine import jobs_reap_stale
from inference.models import Job, JobState
from tests.factories import tiny_encoder

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = {"steps": 4, "batch_size": 4, "max_length": 48, "min_word_count": 2}


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("adapt-job-encoder"))


@pytest.fixture
def world(tmp_path, settings, encoder_dir):
    settings.ADE_REVIEW_MODEL_DIR = tmp_path / "models"
    settings.MEDIA_ROOT = tmp_path / "media"  # the file store, where versions are published
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "model-cache"
    settings.ADE_REVIEW_ADAPT_CONFIG = {"head_warmup_steps": 2, "threads": 1, "device": "cpu", "lr": 2e-3,
                                        "checkpoint_every": 2}
    project = project_get_or_create(slug="zh-ward", name="Chinese ward")
    project.encoder_path = str(encoder_dir)
    project.save(update_fields=["encoder_path"])
    for doc in synthetic_corpus(8, seed=5):
        Note.objects.create(project=project, external_id=doc.id, text=doc.text, text_hash=text_hash(doc.text))
    users = {}
    for role in (ProjectRole.ANNOTATOR, ProjectRole.ADMIN):
        user = get_user_model().objects.create_user(f"adapt-{role}", password="pw-adapt-123")
        ProjectMembership.objects.create(project=project, user=user, role=role)
        users[str(role)] = user
    return project, users


def api(user) -> APIClient:
    client = APIClient()
    _, secret = api_token_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_an_admin_adapts_uses_and_rolls_back_the_encoder_through_the_api(world, encoder_dir):
    project, users = world
    admin, annotator = api(users["admin"]), api(users["annotator"])
    jobs_url = reverse("api-job-list", kwargs={"slug": project.slug})
    assert annotator.post(jobs_url, {"kind": "adapt", "parameters": SMALL}, format="json").status_code == 403
    created = admin.post(jobs_url, {"kind": "adapt", "parameters": SMALL}, format="json")
    assert created.status_code == 201, created.content
    job = Job.objects.get(pk=created.json()["id"])
    assert job.state == JobState.SUCCEEDED, job.message
    # Published to the file store (its scratch directory on the worker is gone); the job keeps the reference.
    out = job.result_path
    assert is_reference(out) and not services.adaptation_dir(project=project, job=job).exists()
    with artifact_local(out) as files:
        assert (files / "config.json").is_file() and (files / "tokenizer.json").is_file()
        assert not (files / "checkpoints").exists()
        assert json.loads((files / "adaptation.json").read_text())["name"] == f"adapt-job{job.pk}"
    outcome = job.parameters["outcome"]
    assert outcome["unk_rate_before"] > 0.05 and outcome["unk_rate_after"] == 0.0 and outcome["steps"] == 4
    assert outcome["vocab_size_after"] > outcome["vocab_size_before"] and "perplexity_after" in outcome
    detail = admin.get(reverse("api-job-detail", kwargs={"slug": project.slug, "job_id": job.pk})).json()
    assert detail["outcome"]["unk_rate_after"] == 0.0
    project.refresh_from_db()
    assert project.encoder_path == str(encoder_dir)  # not in use until an admin says so

    encoder_url = reverse("api-encoder", kwargs={"slug": project.slug})
    state = annotator.get(encoder_url).json()
    assert state["current"]["adapted"] is False and state["can_roll_back"] is False
    adopt_url = reverse("api-encoder-adopt", kwargs={"slug": project.slug})
    assert annotator.post(adopt_url, {"job": job.pk}, format="json").status_code == 403
    assert admin.post(adopt_url, {"job": 10**9}, format="json").json()["code"] == "not_found"
    adopted = admin.post(adopt_url, {"job": job.pk}, format="json")
    assert adopted.status_code == 200, adopted.content
    state = adopted.json()
    assert state["current"]["adapted"] and state["current"]["path"] == out and state["can_roll_back"]
    assert state["current"]["name"] == f"adapt-job{job.pk}"
    assert [e["path"] for e in state["lineage"]] == [out, str(encoder_dir.resolve())]
    assert state["current"]["metrics"]["unk_rate_after"] == 0.0
    project.refresh_from_db()
    assert project.encoder_path == out
    record = AuditEvent.objects.filter(project=project, action=AuditAction.MODEL_CHANGE).latest("pk")
    assert record.details["change"] == "encoder_adopt" and record.details["adapt_job"] == job.pk
    assert record.actor == users["admin"]

    rolled = admin.post(reverse("api-encoder-rollback", kwargs={"slug": project.slug}))
    assert rolled.status_code == 200 and rolled.json()["current"]["adapted"] is False
    project.refresh_from_db()
    assert Path(project.encoder_path) == encoder_dir.resolve()
    again = admin.post(reverse("api-encoder-rollback", kwargs={"slug": project.slug}))
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_roll_back"


def test_a_job_whose_worker_died_is_continued_by_the_next_from_its_last_checkpoint(world, monkeypatch, settings):
    project, users = world
    params = {**SMALL, "steps": 6}
    calls = {"n": 0}

    def worker_dies_after_five_steps(self):
        # Asked before each of the 2 head warm-up steps and each training step: "stop" before training step 6
        # leaves the job RUNNING with no heartbeat, as a killed worker would, after the checkpoint of step 4.
        calls["n"] += 1
        return calls["n"] > 2 + 5

    monkeypatch.setattr(services._Progress, "cancelled", worker_dies_after_five_steps)
    first = api(users["admin"]).post(reverse("api-job-list", kwargs={"slug": project.slug}),
                                     {"kind": "adapt", "parameters": params}, format="json").json()
    first = Job.objects.get(pk=first["id"])
    assert first.state == JobState.RUNNING and not first.result_path
    checkpoints = services.adaptation_dir(project=project, job=first) / "checkpoints"
    assert sorted(p.name for p in checkpoints.glob("step-*"))[-1] == "step-000004"
    settings.ADE_REVIEW_JOB_LEASE_S = 1
    Job.objects.filter(pk=first.pk).update(heartbeat_at=first.started_at.replace(year=2000))
    assert jobs_reap_stale(project=project) == [first.pk]

    monkeypatch.undo()
    second = api(users["admin"]).post(reverse("api-job-list", kwargs={"slug": project.slug}),
                                      {"kind": "adapt", "parameters": params}, format="json").json()
    second = Job.objects.get(pk=second["id"])
    assert second.state == JobState.SUCCEEDED, second.message
    outcome = second.parameters["outcome"]
    assert outcome["carried_from_job"] == first.pk and outcome["resumed_from_step"] == 4 and outcome["steps"] == 6
    assert not checkpoints.exists()  # moved into the second job's directory, then removed when it finished


def test_a_second_adaptation_waits_for_the_first_and_notes_are_needed(world):
    project, users = world
    admin = api(users["admin"])
    Job.objects.create(project=project, kind="adapt", parameters=SMALL, state=JobState.RUNNING)
    busy = admin.post(reverse("api-job-list", kwargs={"slug": project.slug}), {"kind": "adapt"}, format="json")
    assert busy.status_code == 409 and busy.json()["code"] == "adapt_busy"
    empty = Project.objects.create(slug="empty-ward", name="Empty")
    ProjectMembership.objects.create(project=empty, user=users["admin"], role=ProjectRole.ADMIN)
    refused = admin.post(reverse("api-job-list", kwargs={"slug": "empty-ward"}), {"kind": "adapt"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "no_text"
    server_path = admin.post(reverse("api-job-list", kwargs={"slug": "empty-ward"}),
                             {"kind": "adapt", "parameters": {"texts_dir": "/etc"}}, format="json")
    # a server folder only from the command line: the API does not take it (the notes are still missing)
    assert server_path.json()["code"] == "no_text"
    assert not Job.objects.filter(kind="adapt", parameters__has_key="texts_dir").exists()


def test_the_models_page_shows_the_encoder_and_its_actions_to_admins(world, encoder_dir):
    project, users = world
    directory = services.adaptation_dir(project=project, job=Job(pk=999))
    directory.mkdir(parents=True)
    (directory / "config.json").write_text("{}")
    (directory / "adaptation.json").write_text(f'{{"base_encoder": "{encoder_dir}", "metrics": {{}}}}')
    done = Job.objects.create(project=project, kind="adapt", state=JobState.SUCCEEDED, result_path=str(directory),
                              parameters={"outcome": {"unk_rate_before": 0.2, "unk_rate_after": 0.0,
                                                      "perplexity_before": 900.0, "perplexity_after": 120.0}})
    page_url = reverse("inference:model-page", kwargs={"slug": project.slug})
    client = Client()
    client.force_login(users["annotator"])
    page = client.get(page_url).content.decode()
    assert 'id="encoder"' in page and encoder_dir.name in page and 'id="adapt-form"' not in page
    client.force_login(users["admin"])
    page = client.get(page_url).content.decode()
    assert 'id="adapt-form"' in page and "Use this encoder" in page and "900.0 → 120.0" in page
    response = client.post(reverse("inference:encoder-adopt", kwargs={"slug": project.slug, "job_id": done.pk}))
    assert response.status_code == 302
    page = client.get(page_url).content.decode()
    assert 'id="encoder-rollback"' in page and "Lineage:" in page
    assert encoder_lineage(path=str(directory))[1].path == str(encoder_dir)
    client.post(reverse("inference:encoder-rollback", kwargs={"slug": project.slug}))
    project.refresh_from_db()
    assert project.encoder_path == str(encoder_dir)


def test_an_encoder_adapted_from_a_published_one_names_it_and_rolls_back_to_it(world, encoder_dir, settings, tmp_path):
    from inference.artifacts import artifact_publish

    project, users = world
    base = artifact_publish(encoder_dir)  # e.g. adopted on another machine: only the reference is known here
    project.encoder_path = base
    project.save(update_fields=["encoder_path"])
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "empty-cache"  # this worker never loaded it
    admin = api(users["admin"])
    created = admin.post(reverse("api-job-list", kwargs={"slug": project.slug}),
                         {"kind": "adapt", "parameters": {**SMALL, "adopt": True}}, format="json")
    job = Job.objects.get(pk=created.json()["id"])
    assert job.state == JobState.SUCCEEDED, job.message
    project.refresh_from_db()
    assert project.encoder_path == job.result_path and is_reference(job.result_path)
    assert [e.path for e in encoder_lineage(path=project.encoder_path)] == [job.result_path, base]
    rolled = admin.post(reverse("api-encoder-rollback", kwargs={"slug": project.slug}))
    assert rolled.status_code == 200, rolled.content
    project.refresh_from_db()
    assert project.encoder_path == base
